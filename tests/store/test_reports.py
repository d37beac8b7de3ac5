"""KPIs on a hand-built history, every figure computed by hand below (office calendar, Europe/Paris:
Mon 09:00-12:30 & 13:30-18:00, Tue-Thu 09:00-18:00, Fri 09:00-17:00; P2: first response 1h, resolution 4h).
On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from deskterm import reports
from deskterm.clock import FrozenClock
from deskterm.config import load_config
from deskterm.domain.survey import SurveyAnswer
from deskterm.importer import parse_tickets
from deskterm.service import Desk
from deskterm.store.engine import open_store

pytestmark = pytest.mark.engines("sqlite", "postgresql")

PARIS = ZoneInfo("Europe/Paris")
CONFIG = """
timezone = "Europe/Paris"
[calendars.office]
timezone = "Europe/Paris"
mon = ["09:00-12:30", "13:30-18:00"]
tue = ["09:00-18:00"]
wed = ["09:00-18:00"]
thu = ["09:00-18:00"]
fri = ["09:00-17:00"]
[policies.office]
calendar = "office"
P1 = { first_response = "30m", resolution = "2h" }
P2 = { first_response = "1h", resolution = "4h" }
P3 = { first_response = "4h", resolution = "3d" }
P4 = { first_response = "8h", resolution = "10d" }
[defaults]
policy = "office"
[groups.L2-network]
level = "L2"
"""


def ev(at: str, kind: str, **kw) -> dict:
    return {"at": at, "kind": kind, **kw}


TICKETS = [
    # A: Fri 16:30 → reply Mon 09:15 (30m + 15m = 45m business: met), resolved Mon 11:00 (30m + 2h = 2.5h: met)
    {
        "ref": "A",
        "subject": "a",
        "customer": "Lyon",
        "priority": "P2",
        "created_at": "2026-03-27T16:30:00+01:00",
        "events": [
            ev("2026-03-30T09:15:00+02:00", "reply", public=True, author="alice", body="hi"),
            ev("2026-03-30T11:00:00+02:00", "status", to="resolved", author="alice"),
        ],
    },
    # B: Mon 09:00 → escalated 09:30, reply 10:30 (1.5h: first response breached at 10:00), resolved 12:00 (3h: met)
    {
        "ref": "B",
        "subject": "b",
        "customer": "Lyon",
        "priority": "P2",
        "created_at": "2026-03-30T09:00:00+02:00",
        "events": [
            ev("2026-03-30T09:30:00+02:00", "escalate", to="L2-network", reason="router", author="alice"),
            ev("2026-03-30T10:30:00+02:00", "reply", public=True, author="alice", body="hi"),
            ev("2026-03-30T12:00:00+02:00", "status", to="resolved", author="alice"),
        ],
    },
    # C: Mon 09:00 → reply 09:10 (10m: met), resolved 10:00, reopened 11:00, resolved 14:00:
    #    resolution 1h + 1.5h (11:00-12:30) + 0.5h (13:30-14:00) = 3h: met; wall 5h
    {
        "ref": "C",
        "subject": "c",
        "customer": "Paris",
        "priority": "P2",
        "created_at": "2026-03-30T09:00:00+02:00",
        "events": [
            ev("2026-03-30T09:10:00+02:00", "reply", public=True, author="alice", body="hi"),
            ev("2026-03-30T10:00:00+02:00", "status", to="resolved", author="alice"),
            ev("2026-03-30T11:00:00+02:00", "status", to="open", author="alice"),
            ev("2026-03-30T14:00:00+02:00", "status", to="resolved", author="alice"),
        ],
    },
    # D: Tue 17:00, no reply: first response breaches at Tue 18:00 (1h of business time), still open
    {"ref": "D", "subject": "d", "customer": "Paris", "priority": "P2", "created_at": "2026-03-31T17:00:00+02:00"},
]
SINCE = datetime(2026, 3, 27, 0, 0, tzinfo=PARIS)
UNTIL = datetime(2026, 4, 1, 0, 0, tzinfo=PARIS)


@pytest.fixture
def built(tmp_path, db_url):
    cfg = tmp_path / "office.toml"
    cfg.write_text(CONFIG)
    config = load_config(cfg)
    desk = Desk(open_store(db_url), config, clock=FrozenClock(UNTIL), user="alice")
    desk.import_tickets(parse_tickets(json.dumps(TICKETS), "kpi.json", importer="alice"))
    desk.record_survey("A", SurveyAnswer(csat=5, nps=10, ces=6, comment="quick"))
    desk.rate("B", 2)  # the close dialog's CSAT alone
    desk.record_survey("C", SurveyAnswer(nps=7), author="customer")  # the NPS question alone
    yield desk, db_url, cfg
    desk.store.dispose()  # (PostgreSQL: the database is dropped after the test)


def test_every_kpi_by_hand(built):
    desk, _, _ = built
    k = reports.compute(desk.tickets(), lambda t: desk.sla(t, UNTIL), SINCE, UNTIL, desk.escalations(open_only=False))
    assert (k.opened, k.resolved, k.backlog) == (4, 3, 1)
    assert (k.compliance["first_response"].met, k.compliance["first_response"].breached) == (
        2,
        2,
    )  # A, C met; B, D breached
    assert (k.compliance["resolution"].met, k.compliance["resolution"].breached) == (3, 0)
    assert k.overall_compliance == pytest.approx(5 / 7)
    assert sorted((b["ref"], b["timer"]) for b in k.breaches) == [("B", "first_response"), ("D", "first_response")]
    # first response, business: A 2700, B 5400, C 600; wall: A Fri 16:30 → Mon 09:15 is 64h45 on the wall clock,
    # but the clocks went forward on Sunday 2026-03-29: 63h45 = 229500 real seconds; B 5400, C 600
    assert k.first_response.count == 3
    assert k.first_response.mean_business == pytest.approx((2700 + 5400 + 600) / 3)
    assert k.first_response.median_business == 2700
    assert k.first_response.mean_wall == pytest.approx((229500 + 5400 + 600) / 3)
    assert k.first_response.median_wall == 5400
    # resolution, business: A 9000, B 10800, C 10800; wall: A 66h30 less the DST hour = 235800, B 3h = 10800, C 5h = 18000
    assert k.resolution.mean_business == pytest.approx(10200)
    assert k.resolution.median_business == 10800
    assert k.resolution.mean_wall == pytest.approx((235800 + 10800 + 18000) / 3)
    assert k.resolution.median_wall == 18000
    assert k.first_contact_rate == pytest.approx(2 / 3)  # B was escalated
    assert k.reopen_rate == pytest.approx(1 / 3)  # C
    assert k.escalation_rate == pytest.approx(1 / 4)  # B of the 4 opened
    assert (k.csat_mean, k.csat_responses, k.csat_response_rate) == (3.5, 2, pytest.approx(2 / 3))
    assert k.csat_satisfied_rate == pytest.approx(1 / 2)  # A's 5; B's 2 is not
    # NPS from its own 0-10 question (never from the CSAT): A 10 promoter, C 7 passive; B did not answer it
    assert (k.promoters, k.passives, k.detractors, k.nps_responses) == (1, 1, 0, 2)
    assert k.nps == pytest.approx(50.0) and k.nps_response_rate == pytest.approx(2 / 3)
    assert (k.ces_mean, k.ces_responses, k.ces_response_rate) == (6.0, 1, pytest.approx(1 / 3))
    assert (k.defects, k.change_requests, k.unclassified) == (0, 0, 4)


def test_report_json_gives_the_same_numbers(built):
    desk, db, cfg = built
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "deskterm.cli",
            "--db",
            str(db),
            "--config",
            str(cfg),
            "report",
            "--since",
            SINCE.isoformat(),
            "--until",
            UNTIL.isoformat(),
            "--format",
            "json",
            "--by",
            "customer",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.stdout)
    k = reports.compute(
        desk.tickets(), lambda t: desk.sla(t, UNTIL), SINCE, UNTIL, desk.escalations(open_only=False), tz=PARIS
    )
    assert data["total"] == json.loads(json.dumps(k.as_dict()))
    assert sorted(data["groups"]) == ["Lyon", "Paris"]
    assert data["groups"]["Lyon"]["opened"] == 2 and data["groups"]["Paris"]["backlog"] == 1


# -- next_update: every cycle that ended in the period counts (issue 13 item 11) -----------------------------

NEXT_UPDATE_CONFIG = """
timezone = "Europe/Paris"
[calendars.always]
always = true
[policies.gold]
calendar = "always"
P1 = { first_response = "15m", resolution = "8h", next_update = "1h" }
P2 = { first_response = "30m", resolution = "8h" }
P3 = { first_response = "2h", resolution = "3d" }
P4 = { first_response = "8h", resolution = "10d" }
[defaults]
policy = "gold"
"""


def test_a_missed_next_update_stays_counted_after_the_next_reply(tmp_path, db_url):
    """Public replies at 10:00 and 12:00 on a 1-hour next-update target: the cycle 10:00-12:00 breached at
    11:00, the cycle from 12:00 is met when the ticket is resolved at 12:30. Only the last cycle used to be
    counted: 100 % and no breach."""
    cfg = tmp_path / "nu.toml"
    cfg.write_text(NEXT_UPDATE_CONFIG)
    config = load_config(cfg)

    def at(h, m=0):
        return f"2026-03-31T{h:02d}:{m:02d}:00+02:00"

    until = datetime(2026, 4, 1, 0, 0, tzinfo=PARIS)
    desk = Desk(open_store(db_url), config, clock=FrozenClock(until), user="alice")
    try:
        desk.import_tickets(
            parse_tickets(
                json.dumps(
                    [
                        {
                            "ref": "NU",
                            "subject": "s",
                            "customer": "Lyon",
                            "priority": "P1",
                            "created_at": at(9, 55),
                            "events": [
                                ev(at(10), "reply", public=True, author="alice", body="on it"),
                                ev(at(12), "reply", public=True, author="alice", body="still on it"),
                                ev(at(12, 30), "status", to="resolved", author="alice"),
                            ],
                        }
                    ]
                ),
                "nu.json",
                importer="alice",
            )
        )
        since = datetime(2026, 3, 31, 0, 0, tzinfo=PARIS)
        k = reports.compute(desk.tickets(), lambda t: desk.sla(t, until), since, until, tz=PARIS)
        c = k.compliance["next_update"]
        assert (c.met, c.breached) == (1, 1)
        assert [(b["timer"], b["at"]) for b in k.breaches] == [("next_update", "2026-03-31T11:00:00+02:00")]
        # a period that holds the breach but not the cycle's end still counts it, in the period of the breach
        k = reports.compute(
            desk.tickets(), lambda t: desk.sla(t, until), since, datetime(2026, 3, 31, 11, 30, tzinfo=PARIS), tz=PARIS
        )
        assert (k.compliance["next_update"].met, k.compliance["next_update"].breached) == (0, 1)
        # the command prints the same
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "deskterm.cli",
                "--db",
                str(db_url),
                "--config",
                str(cfg),
                "report",
                "--since",
                since.isoformat(),
                "--until",
                until.isoformat(),
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        total = json.loads(out.stdout)["total"]
        assert total["compliance"]["next_update"] == {"met": 1, "breached": 1, "rate": 0.5}
    finally:
        desk.store.dispose()


def test_handover_tells_breached_from_will_breach_and_shows_both_clocks(tmp_path, db_url):
    """Issue 13 items 9 and 12. Tuesday 08:00 in Paris, office hours from 09:00. A P1 created at 07:30 has 30 min
    of business time left, due at 09:30 on the wall clock: the handover said "due in 1h30 (09:30)" while the
    queue said 30m; it now says "30m left · due 09:30". A P2 whose first response breached 21 days ago was
    listed among those that "will breach within 8 h": it is under "Breached, still open"."""
    cfg = tmp_path / "office.toml"
    cfg.write_text(CONFIG)
    config = load_config(cfg)
    now = datetime(2026, 3, 31, 8, 0, tzinfo=PARIS)
    desk = Desk(open_store(db_url), config, clock=FrozenClock(now), user="alice")
    try:
        soon, old = desk.import_tickets(
            parse_tickets(
                json.dumps(
                    [
                        {
                            "ref": "SOON",
                            "subject": "s",
                            "customer": "Lyon",
                            "priority": "P1",
                            "created_at": "2026-03-31T07:30:00+02:00",
                        },
                        {
                            "ref": "OLD",
                            "subject": "o",
                            "customer": "Lyon",
                            "priority": "P2",
                            "created_at": "2026-03-10T10:00:00+01:00",
                        },
                    ]
                ),
                "h.json",
                importer="alice",
            )
        )
        h = reports.handover(desk.tickets(), lambda t: desk.sla(t, now), [], now, 8)
        assert [(t.id, timer, left) for t, timer, _, left in h.breaching] == [(soon, "first_response", 1800)]
        assert [(t.id, timer) for t, timer, *_ in h.breached] == [(old, "first_response")]
        md = reports.handover_markdown(h, PARIS)
        assert "## Will breach within 8 h (1)" in md and "## Breached, still open (1)" in md
        assert "first response 30m left · due 09:30, P1" in md
        assert "over · breached 2026-03-10 11:00, P2" in md  # (P2: first response 1 h, from 10:00)
    finally:
        desk.store.dispose()


def test_report_prints_its_period_in_the_configured_zone(built):
    """Issue 13 item 12: with ``timezone = "Europe/Paris"`` the report's header printed the period in UTC."""
    desk, db, cfg = built
    args = [
        sys.executable,
        "-m",
        "deskterm.cli",
        "--db",
        str(db),
        "--config",
        str(cfg),
        "report",
        "--since",
        "2026-03-27T00:00:00Z",
        "--until",
        "2026-04-01T00:00:00Z",
    ]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    assert "Period 2026-03-27 01:00 → 2026-04-01 02:00 (Europe/Paris)" in out
    assert "+00:00" not in out
    data = json.loads(subprocess.run([*args, "--format", "json"], capture_output=True, text=True, check=True).stdout)
    assert (data["total"]["since"], data["total"]["until"]) == (
        "2026-03-27T01:00:00+01:00",
        "2026-04-01T02:00:00+02:00",
    )
