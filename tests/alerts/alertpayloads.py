"""Real-shaped Alertmanager webhook payloads (version 4), as Alertmanager 0.27 sends them."""

from __future__ import annotations

import json

STARTS = "2026-11-30T09:00:00.123456789Z"


def alert(
    name: str = "HostDown",
    instance: str = "db-1:9100",
    status: str = "firing",
    fingerprint: str | None = "a1b2c3d4e5f60718",
    annotations: dict | None = None,
    starts: str = STARTS,
    **labels: str,
) -> dict:
    out = {
        "status": status,
        "labels": {"alertname": name, "instance": instance, "job": "node", **labels},
        "annotations": {} if annotations is None else annotations,
        "startsAt": starts,
        "endsAt": "2026-11-30T09:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0",
    }
    if fingerprint is not None:
        out["fingerprint"] = fingerprint
    return out


def notification(*alerts: dict, group_key: str = '{}/{severity="critical"}:{alertname="HostDown"}') -> bytes:
    statuses = {a["status"] for a in alerts}
    name = str(alerts[0]["labels"].get("alertname", "?"))
    body = {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": "firing" if "firing" in statuses else "resolved",
        "receiver": "deskterm",
        "groupLabels": {"alertname": name},
        "commonLabels": {"alertname": name},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }
    return json.dumps(body).encode()


def storm(n: int, status: str = "firing") -> list[dict]:
    """``n`` alerts of one group (one rule, ``n`` instances)."""
    return [
        alert(
            "DiskFull",
            f"web-{i}:9100",
            status=status,
            fingerprint=f"{i:016x}",
            annotations={"summary": f"/var is 99% full on web-{i}"},
            severity="warning",
        )
        for i in range(n)
    ]
