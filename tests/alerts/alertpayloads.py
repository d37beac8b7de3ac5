"""Real-shaped Alertmanager webhook payloads (version 4), as Alertmanager 0.27 sends them, the desk's policy
for them and the listener in a thread: the one home of what the alert tests and ``benchmarks/alerts.py`` share."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

POLICY = """
timezone = "UTC"

[calendars.always]
always = true

[policies.std]
calendar = "always"
P1 = { first_response = "15m", resolution = "4h" }
P2 = { first_response = "30m", resolution = "8h" }
P3 = { first_response = "2h",  resolution = "3d" }
P4 = { first_response = "8h",  resolution = "10d" }

[defaults]
policy = "std"
"""  # a desk's configuration up to its [alertmanager] section

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


def storm(n: int, status: str = "firing", start: int = 0) -> list[dict]:
    """``n`` alerts of one group (one rule, ``n`` instances: web-``start`` on)."""
    return [
        alert(
            "DiskFull",
            f"web-{i}:9100",
            status=status,
            fingerprint=f"{i:016x}",
            annotations={"summary": f"/var is 99% full on web-{i}"},
            severity="warning",
        )
        for i in range(start, start + n)
    ]


@contextmanager
def listening(
    desk: Any, token: str, max_body: int = 1 << 20, say: Callable[[str], None] = lambda line: None
) -> Iterator[tuple[str, int]]:
    """The listener ``deskterm intake alertmanager --listen`` runs, on a free loopback port in a thread, until
    the block ends; its (host, port)."""
    from deskterm import alertlisten

    server = alertlisten.make_server(desk, "127.0.0.1", 0, token, max_body, say)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[0], server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
