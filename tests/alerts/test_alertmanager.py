"""Alertmanager notifications in, through the real HTTP listener (and stdin), on SQLite and PostgreSQL.

The listener is the one `deskterm intake alertmanager --listen` runs (``alertlisten.make_server``), on a free
loopback port, in a thread of the test; the payloads are real-shaped (tests/alerts/alertpayloads.py). The
"Done when" storm: 50 alerts of one group key make one major incident with its 50 children, the resolution
records an event on each (and resolves them, the rule says so), and repeated notifications change nothing.
"""

from __future__ import annotations

import http.client
import json
from datetime import UTC, datetime

import pytest
from alertpayloads import POLICY, alert, listening, notification, storm

from deskterm.clock import FrozenClock
from deskterm.config import parse_config
from deskterm.service import Desk
from deskterm.store.engine import open_store
from deskterm_testing import patience

pytestmark = pytest.mark.engines("sqlite", "postgresql")

TOKEN = "s3cret-token-of-the-tests"
CONFIG = (
    POLICY
    + """
[groups.L2-network]
level = "L2"

[alertmanager]
storm = 3
max_body = "64KiB"

[[alertmanager.rules]]
match = { severity = "critical" }
priority = "P1"
group = "L2-network"

[[alertmanager.rules]]
match = { severity = ["warning", "info"] }
customer = "Hébergement"
priority = "P3"
resolve = true
"""
)


@pytest.fixture
def desk(db_url):
    import tomllib

    d = Desk(
        open_store(db_url),
        parse_config(tomllib.loads(CONFIG)),
        clock=FrozenClock(datetime(2026, 11, 30, 9, 5, tzinfo=UTC)),
        user="ops",
    )
    yield d
    d.store.dispose()


@pytest.fixture
def listener(desk):
    lines: list[str] = []
    with listening(desk, TOKEN, desk.config.alertmanager.max_body, lines.append) as address:

        def post(body: bytes, token: str | None = TOKEN, method: str = "POST", headers: dict | None = None):
            conn = http.client.HTTPConnection(*address, timeout=patience(30))
            h = {"Content-Type": "application/json", **(headers or {})}
            if token is not None:
                h["Authorization"] = f"Bearer {token}"
            conn.request(method, "/alertmanager", body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            conn.close()
            return r.status, json.loads(data) if data else None

        post.lines = lines  # type: ignore[attr-defined]
        yield post


def test_a_firing_alert_opens_an_incident_mapped_by_the_rules(desk, listener) -> None:
    critical = alert(severity="critical", customer="CHU Lyon", annotations={"summary": "the host does not answer"})
    status, answer = listener(notification(critical))
    assert status == 200 and answer["taken"][0]["state"] == "ticket"
    t = desk.ticket(answer["taken"][0]["ticket"])
    assert (t.subject, t.customer, t.priority, t.group, t.status, t.created_by) == (
        "HostDown on db-1:9100: the host does not answer",
        "CHU Lyon",  # the customer label
        "P1",
        "L2-network",
        "new",
        "alertmanager",
    )
    assert "instance = db-1:9100" in t.description and "Source: http://prometheus:9090" in t.description
    # without annotations, and the second rule: its customer, its priority
    status, answer = listener(notification(alert("Load", "app-1", fingerprint="ffff000011112222", severity="info")))
    t2 = desk.ticket(answer["taken"][0]["ticket"])
    assert (t2.subject, t2.customer, t2.priority, t2.group) == ("Load on app-1", "Hébergement", "P3", "L1")
    assert listener.lines[-1] == "alertmanager: 200 1 alert: 1 ticket"


def test_repeats_change_nothing_and_a_resolution_records_an_event(desk, listener) -> None:
    body = notification(alert(severity="critical"))
    _, first = listener(body)
    tid = first["taken"][0]["ticket"]
    version = desk.ticket(tid).version
    for _ in range(3):  # Alertmanager retries, and repeats the group at each group_interval
        status, again = listener(body)
        assert status == 200 and again["taken"] == [{"state": "duplicate", "ticket": tid, "major": None}]
    assert desk.ticket(tid).version == version and len(desk.tickets()) == 1
    # the same alert firing again later (a new start) while its ticket is open: added to it
    later = alert(severity="critical", starts="2026-11-30T09:40:00Z")
    _, added = listener(notification(later))
    assert added["taken"][0] == {"state": "added", "ticket": tid, "major": None}
    # resolved: an event on the ticket; the critical rule does not resolve it (the first start is resolved)
    _, res = listener(notification(alert(severity="critical", status="resolved")))
    assert res["taken"][0]["state"] == "resolved"
    t = desk.ticket(tid)
    assert [e.to for e in t.events if e.kind == "alert"] == ["firing", "firing", "resolved"]
    assert t.status == "new"
    assert listener(notification(alert(severity="critical", status="resolved")))[1]["taken"][0]["state"] == "duplicate"
    # a resolution of an alert never seen firing: nothing to do, nothing written
    unknown = alert("Gone", fingerprint="0000000000000bad", status="resolved")
    assert listener(notification(unknown))[1]["taken"][0]["state"] == "unknown"
    assert len(desk.tickets()) == 1


def test_a_storm_of_50_alerts_makes_one_major_incident_with_its_children(desk, listener) -> None:
    alerts = storm(50)
    # Alertmanager sends the group as it grows: 10, then 20, … then all 50 alerts each time
    for n in range(10, 51, 10):
        status, _ = listener(notification(*alerts[:n], group_key="storm-group"))
        assert status == 200
    tickets = desk.tickets()
    majors = [t for t in tickets if t.created_by == "alertmanager" and t.subject.startswith("Alert storm")]
    assert len(majors) == 1 and len(tickets) == 51
    major = majors[0]
    children = desk.linked(major.id)
    assert len(children) == 50 and all(c.major_id == major.id for c in children)
    assert major.priority == "P3" and "alertname=DiskFull" in major.subject
    before = {t.id: t.version for t in desk.tickets()}
    status, again = listener(notification(*alerts, group_key="storm-group"))  # repeated: nothing changes
    assert status == 200 and {x["state"] for x in again["taken"]} == {"duplicate"}
    assert {t.id: t.version for t in desk.tickets()} == before
    # resolved, in two notifications: an event on each child; the rule resolves them, the major with the last
    resolved = storm(50, status="resolved")
    listener(notification(*resolved[:25], group_key="storm-group"))
    assert desk.ticket(major.id).status == "new"
    _, done = listener(notification(*resolved, group_key="storm-group"))
    states = [x["state"] for x in done["taken"]]
    assert states.count("duplicate") == 25 and states.count("resolved") == 25
    for c in desk.linked(major.id):
        c = desk.ticket(c.id)
        assert c.status == "resolved" and [e.to for e in c.events if e.kind == "alert"] == ["firing", "resolved"]
    assert desk.ticket(major.id).status == "resolved"
    after = {t.id: t.version for t in desk.tickets()}
    listener(notification(*resolved, group_key="storm-group"))
    assert {t.id: t.version for t in desk.tickets()} == after


@pytest.mark.parametrize(
    ("body", "headers", "token", "method", "code", "why"),
    [
        (b"{not json", {}, TOKEN, "POST", 400, "body: not JSON"),
        (b"\xff\xfe", {}, TOKEN, "POST", 400, "body: not UTF-8"),
        (b"[]", {}, TOKEN, "POST", 400, "body: not a JSON object"),
        (json.dumps({"version": "3", "groupKey": "g", "alerts": []}).encode(), {}, TOKEN, "POST", 400, "version"),
        (json.dumps({"version": "4", "alerts": [alert()]}).encode(), {}, TOKEN, "POST", 400, "groupKey: missing"),
        (json.dumps({"version": "4", "groupKey": "g", "alerts": []}).encode(), {}, TOKEN, "POST", 400, "alerts:"),
        (notification({**alert(), "status": "pending"}), {}, TOKEN, "POST", 400, "alerts[0].status"),
        (notification({**alert(), "startsAt": "yesterday"}), {}, TOKEN, "POST", 400, "alerts[0].startsAt"),
        (notification({**alert(), "labels": {"a": 1}}), {}, TOKEN, "POST", 400, "alerts[0].labels"),
        (notification({**alert(), "fingerprint": "\x1b[2J"}), {}, TOKEN, "POST", 400, "alerts[0].fingerprint"),
        (notification(alert()), {}, "wrong-token-wrong-token", "POST", 401, "bearer token"),
        (notification(alert()), {}, None, "POST", 401, "bearer token"),
        (b"", {}, TOKEN, "GET", 405, "POST"),
        (b"x" * (64 * 1024 + 1), {}, TOKEN, "POST", 413, "more than the limit"),
    ],
)
def test_hostile_requests_are_refused_with_a_reason_and_write_nothing(
    desk, listener, body, headers, token, method, code, why
) -> None:
    status, answer = listener(body, token=token, method=method, headers=headers)
    assert status == code and why in answer["error"]
    assert desk.tickets() == []
    line = listener.lines[-1]
    assert line.startswith(f"alertmanager: {code} refused: ") and "\x1b" not in line and "{not json" not in line
