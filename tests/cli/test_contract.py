"""The public contract, end to end through the real command line (contract sections 2, 4, 5 and 6).

``deskterm --db X --config CFG import t.json && deskterm --db X --config CFG list --json --at T`` must
print every timer exactly as section 5 defines it. Every expected value below is computed by hand (the
arithmetic is in the comments) and written as a literal, never derived from deskterm's own code.

Configuration: tests/cli/business.toml (display zone Europe/Paris):
  gold   24x7 ("always")                       P1 15m/4h/next 1h  P2 30m/8h  P3 2h/3d  P4 8h/10d  warn 0.75
  office Europe/Paris mon 09:00-12:30,13:30-18:00, tue-thu 09:00-18:00, fri 09:00-17:00, FR holidays
                                               P1 1h/4h/next 2h   P2 2h/8h   P3 4h/1d  P4 8h/3d   warn 0.75
  ny     America/New_York mon-fri 09:00-17:00, US holidays
                                               P1 1h/4h/next 2h   P2 2h/8h   P3 4h/1d  P4 8h/3d   warn 0.5
  night  Europe/Paris sat, sun 01:00-04:00 (straddles the DST hour)
                                               P1 1h/4h           ...                           warn 0.75
A day ("d") is 24 h of counted time. Paris is +01:00 until 2026-03-29 02:00 and after 2026-10-25 03:00,
+02:00 in between; New York is -05:00 until 2026-03-08 and after 2026-11-01, -04:00 in between.

Every test runs on SQLite and on PostgreSQL (``--db`` a file, or a database URL). The business desk is imported
once per engine and only read by the tests (``module_db_url``). The commands go through the fork server of
tests/deskterm_testing.py (``cli_server``: the real ``deskterm.cli.main`` in a new process, a few tens of
milliseconds instead of a second of imports; tests/test_corpus.py checks it answers exactly as
``python -m deskterm.cli``), except the contract's own example, which runs ``python -m deskterm.cli`` itself.
"""

from __future__ import annotations

import json
import os
import pwd
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from deskterm_testing import run_cli

pytestmark = pytest.mark.engines("sqlite", "postgresql", scope="module")

HERE = Path(__file__).resolve().parent
BUSINESS = HERE / "business.toml"
EXAMPLE = HERE.parents[1] / "examples" / "deskterm.toml"
OS_USER = pwd.getpwuid(os.geteuid()).pw_name


def ok(cli: Callable, *args: str, input: str | None = None, env: dict | None = None) -> str:
    r = cli(*args, input=input, env=env)
    assert r.returncode == 0, f"deskterm {' '.join(args)} → {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def timer(due: str | None, state: str, warning: bool, remaining: int) -> dict:
    return {"due": due, "state": state, "warning": warning, "remaining_seconds": remaining}


def reply(at: str, author: str = "alice", public: bool = True, body: str = "On it.") -> dict:
    return {"at": at, "kind": "reply", "public": public, "author": author, "body": body}


def status(at: str, to: str) -> dict:
    return {"at": at, "kind": "status", "to": to}


def ticket(ref: str, customer: str, priority: str, created_at: str, *events: dict, subject: str | None = None) -> dict:
    return {
        "ref": ref,
        "subject": subject or f"ticket {ref}",
        "customer": customer,
        "priority": priority,
        "type": "incident",
        "created_at": created_at,
        "events": list(events),
    }


GOLD, OFFICE, NY, NIGHT = "Clinique Saint-Jean", "Mairie de Paris", "Acme Corp NYC", "Nightwatch"

# The contract's own section-4 example, verbatim.
CONTRACT_EXAMPLE = {
    "ref": "EXT-1042",
    "subject": "VPN down for ward B",
    "description": "…",
    "customer": "Clinique Saint-Jean",
    "priority": "P2",
    "type": "incident",
    "created_at": "2026-03-27T16:05:00+01:00",
    "events": [
        {"at": "2026-03-27T16:20:00+01:00", "kind": "reply", "public": True, "author": "alice", "body": "On it."},
        {"at": "2026-03-27T16:40:00+01:00", "kind": "status", "to": "pending"},
        {"at": "2026-03-30T09:10:00+02:00", "kind": "status", "to": "open"},
        {"at": "2026-03-30T11:00:00+02:00", "kind": "status", "to": "resolved"},
    ],
}

TICKETS = [
    CONTRACT_EXAMPLE,
    # (2) outside business hours on the office calendar
    ticket("OFF-EVENING", OFFICE, "P2", "2026-03-10T19:30:00+01:00"),  # Tuesday evening
    ticket("OFF-LUNCH", OFFICE, "P1", "2026-03-16T12:45:00+01:00"),  # Monday, in the lunch break
    ticket("OFF-SATURDAY", OFFICE, "P3", "2026-03-14T10:00:00+01:00"),
    # (3) weekend + French public holidays
    ticket("OFF-EASTER", OFFICE, "P2", "2026-04-03T16:00:00+02:00"),  # Friday before Easter Monday 04-06
    ticket("OFF-MAY", OFFICE, "P4", "2026-04-30T17:00:00+02:00"),  # Thursday before May 1st (Fri)
    # (4) Paris DST: always calendar, office calendar, night calendar (interval across the change hour)
    ticket(
        "GOLD-SPRING",
        GOLD,
        "P1",
        "2026-03-29T00:30:00+01:00",
        reply("2026-03-29T00:40:00+01:00"),
        reply("2026-03-29T01:30:00+01:00", body="Still on it."),
    ),
    ticket("GOLD-AUTUMN", GOLD, "P2", "2026-10-24T22:00:00+02:00"),
    ticket("OFF-SPRING", OFFICE, "P2", "2026-03-27T16:00:00+01:00"),
    ticket("OFF-AUTUMN", OFFICE, "P1", "2026-10-23T16:30:00+02:00"),
    ticket("NIGHT-SPRING", NIGHT, "P1", "2026-03-28T12:00:00+01:00"),
    ticket("NIGHT-AUTUMN", NIGHT, "P1", "2026-10-24T12:00:00+02:00"),
    # (5) New York DST and a US holiday
    ticket("NY-SPRING", NY, "P2", "2026-03-06T15:00:00-05:00", reply("2026-03-06T16:00:00-05:00", author="bob")),
    ticket("NY-AUTUMN", NY, "P1", "2026-10-30T16:00:00-04:00", reply("2026-10-30T16:30:00-04:00", author="bob")),
    ticket("NY-THANKS", NY, "P2", "2026-11-25T16:00:00-05:00"),  # the day before Thanksgiving
    # (6) pending pauses resolution and next_update, never first_response
    ticket(
        "OFF-PENDING",
        OFFICE,
        "P2",
        "2026-06-09T10:00:00+02:00",
        status("2026-06-09T10:05:00+02:00", "open"),
        status("2026-06-09T11:00:00+02:00", "pending"),
        status("2026-06-10T09:30:00+02:00", "open"),
    ),
    ticket(
        "OFF-PENDING-P1",
        OFFICE,
        "P1",
        "2026-06-09T09:00:00+02:00",
        reply("2026-06-09T09:30:00+02:00"),
        status("2026-06-09T10:00:00+02:00", "pending"),
        status("2026-06-10T09:00:00+02:00", "open"),
    ),
    # (7) resolve, then reopen
    ticket(
        "GOLD-REOPEN",
        GOLD,
        "P3",
        "2026-06-08T08:00:00+02:00",
        reply("2026-06-08T08:30:00+02:00"),
        status("2026-06-08T18:00:00+02:00", "resolved"),
        status("2026-06-10T09:00:00+02:00", "open"),
    ),
    # (8) a customer message and an internal note do not stop first_response
    ticket(
        "OFF-QUIET",
        OFFICE,
        "P1",
        "2026-06-10T09:30:00+02:00",
        reply("2026-06-10T09:40:00+02:00", author="customer", body="Any news?"),
        reply("2026-06-10T09:50:00+02:00", public=False, body="Internal: waiting for the vendor."),
    ),
    # (9)/(10) breach that stays breached after a late reply, next_update after the reply; a warning
    ticket("GOLD-BREACH", GOLD, "P1", "2026-06-09T05:00:00+02:00", reply("2026-06-09T11:00:00+02:00")),
    ticket(
        "GOLD-WARN",
        GOLD,
        "P1",
        "2026-06-10T10:03:00+02:00",
        reply("2026-06-10T10:20:00+02:00"),
        status("2026-06-10T10:30:00+02:00", "resolved"),
    ),
    # (11) a closed ticket
    ticket(
        "GOLD-CLOSED",
        GOLD,
        "P4",
        "2026-05-01T10:00:00+02:00",
        reply("2026-05-01T10:30:00+02:00"),
        status("2026-05-02T10:00:00+02:00", "resolved"),
        status("2026-05-05T10:00:00+02:00", "closed"),
    ),
]

# Status of every ticket after its whole history (what `list` shows without --at).
FINAL_STATUS = {t["ref"]: "new" for t in TICKETS} | {
    "EXT-1042": "resolved",
    "OFF-PENDING": "open",
    "OFF-PENDING-P1": "open",
    "GOLD-REOPEN": "open",
    "GOLD-WARN": "resolved",
    "GOLD-CLOSED": "closed",
}


class Desk:
    """One imported database (a SQLite file or a PostgreSQL URL), and how to run the command line
    (``run_cli`` or ``cli_server.run``); `list --json --at T` results are cached per (T, options)."""

    def __init__(self, db: str, config: Path, env: dict, cli: Callable) -> None:
        self.db, self.config, self.env, self.cli = db, config, env, cli
        self._cache: dict = {}

    def run(self, *args: str) -> str:
        return ok(self.cli, "--db", self.db, "--config", str(self.config), *args, env=self.env)

    def attempt(self, *args: str):
        """The command's CompletedProcess, whatever its exit code."""
        return self.cli("--db", self.db, "--config", str(self.config), *args, env=self.env)

    def list(self, *args: str) -> list[dict]:
        if args not in self._cache:
            self._cache[args] = json.loads(self.run("list", "--json", *args))
        return self._cache[args]

    def at(self, when: str) -> dict[str, dict]:
        return {t["ref"]: t for t in self.list("--at", when)}

    def now(self) -> dict[str, dict]:
        return {t["ref"]: t for t in self.list()}


def _import(tmp: Path, db: str, config: Path, tickets: list[dict], cli: Callable) -> Desk:
    env = {
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "DESKTERM_DB": "",
        "DESKTERM_CONFIG": "",
    }
    file = tmp / "tickets.json"
    file.write_text(json.dumps(tickets, ensure_ascii=False), encoding="utf-8")
    desk = Desk(db, config, env, cli)
    assert desk.run("import", str(file)).strip() == f"imported {len(tickets)} tickets"
    return desk


@pytest.fixture(scope="module")
def desk(tmp_path_factory, module_db_url, cli_server) -> Desk:
    return _import(tmp_path_factory.mktemp("business"), module_db_url, BUSINESS, TICKETS, cli_server.run)


# -- (1) the contract's own example, on the contract's own configuration ------------------------------


CONTRACT_KEYS = ("id", "ref", "subject", "customer", "status", "priority", "type", "assignee", "group", "sla")


def test_contract_example_on_the_example_configuration(tmp_path, db_url):
    # `deskterm import` then `deskterm list --json --at`, each a real `python -m deskterm.cli` process
    d = _import(tmp_path, db_url, EXAMPLE, [CONTRACT_EXAMPLE], run_cli)
    [t] = d.list("--at", "2026-03-28T12:00:00+01:00")
    # gold P2 on "always": first_response 30m, resolution 8h (28800 s), no next_update.
    # first_response: created 16:05, due 16:05 + 30m = 16:35; replied at 16:20 → met, 30m - 15m = 900 s left.
    # resolution: ran 16:05 → 16:40 (pending) = 35m = 2100 s; 28800 - 2100 = 26700 left; paused → due null;
    #   2100 / 28800 = 0.07 < 0.75 → no warning.
    # (The contract's section-5 sample shows 26400, i.e. 40 minutes used, and status "open": neither fits its
    # own section-4 history; 26700 and "pending" are what section 5's rules give.)
    assert {k: t[k] for k in CONTRACT_KEYS} == {
        "id": 1,
        "ref": "EXT-1042",
        "subject": "VPN down for ward B",
        "customer": "Clinique Saint-Jean",
        "status": "pending",
        "priority": "P2",
        "type": "incident",
        "assignee": None,
        "group": "L1",
        "sla": {
            "policy": "gold",
            "first_response": timer("2026-03-27T16:35:00+01:00", "met", False, 900),
            "resolution": timer(None, "paused", False, 26700),
        },
    }


def test_contract_example_running_again_then_resolved(desk):
    # Monday 03-30 09:30+02:00 (DST since Sunday): status open since 09:10.
    # resolution used 2100 + (09:10 → 09:30 = 1200) = 3300; 28800 - 3300 = 25500 left;
    # due = 09:30 + 25500 s (7h05) = 16:35+02:00 (24x7).
    t = desk.at("2026-03-30T09:30:00+02:00")["EXT-1042"]
    assert t["status"] == "open"
    assert t["sla"] == {
        "policy": "gold",
        "first_response": timer("2026-03-27T16:35:00+01:00", "met", False, 900),
        "resolution": timer("2026-03-30T16:35:00+02:00", "running", False, 25500),
    }
    # Resolved at 11:00 (now, without --at): used 2100 + (09:10 → 11:00 = 6600) = 8700; 20100 left; met;
    # the deadline it stood under when it stopped: 11:00 + 20100 s (5h35) = 16:35+02:00.
    t = desk.now()["EXT-1042"]
    assert t["status"] == "resolved"
    assert t["sla"] == {
        "policy": "gold",
        "first_response": timer("2026-03-27T16:35:00+01:00", "met", False, 900),
        "resolution": timer("2026-03-30T16:35:00+02:00", "met", False, 20100),
    }


# -- (2) created outside business hours -----------------------------------------------------------------


def test_created_in_the_evening_counts_from_next_opening(desk):
    # Tuesday 03-10 19:30 (after 18:00): nothing counts before Wednesday 09:00 (see also the --at test below).
    # first_response 2h → Wed 11:00; resolution 8h → Wed 17:00 (Wed is 09:00-18:00).
    # Wed 10:30: used 09:00 → 10:30 = 5400; first_response 7200 - 5400 = 1800, 5400/7200 = 0.75 ≥ 0.75 → warning;
    # resolution 28800 - 5400 = 23400, 0.19 → no warning.
    t = desk.at("2026-03-11T10:30:00+01:00")["OFF-EVENING"]
    assert t["sla"] == {
        "policy": "office",
        "first_response": timer("2026-03-11T11:00:00+01:00", "running", True, 1800),
        "resolution": timer("2026-03-11T17:00:00+01:00", "running", False, 23400),
    }


def test_created_in_the_lunch_break_and_on_a_saturday(desk):
    at = desk.at("2026-03-16T13:00:00+01:00")  # Monday, still in the 12:30-13:30 break
    # OFF-LUNCH (P1, Mon 12:45): nothing counted yet; 13:30 + 1h = 14:30; 13:30 + 4h = 17:30.
    # P1 has next_update, but there was no public agent reply: absent.
    assert at["OFF-LUNCH"]["sla"] == {
        "policy": "office",
        "first_response": timer("2026-03-16T14:30:00+01:00", "running", False, 3600),
        "resolution": timer("2026-03-16T17:30:00+01:00", "running", False, 14400),
    }
    # OFF-SATURDAY (P3: 4h / 1d = 24 h counted, Sat 03-14 10:00): Monday 09:00-12:30 counted = 12600.
    # first_response 14400 - 12600 = 1800 (0.875 → warning): 13:30 + 30m = 14:00.
    # resolution 86400 - 12600 = 73800: Mon 13:30-18:00 = 16200 → 57600; Tue 9h = 32400 → 25200 = 7h;
    #   Wed 09:00 + 7h = 16:00.
    assert at["OFF-SATURDAY"]["sla"] == {
        "policy": "office",
        "first_response": timer("2026-03-16T14:00:00+01:00", "running", True, 1800),
        "resolution": timer("2026-03-18T16:00:00+01:00", "running", False, 73800),
    }


# -- (3) weekend and French public holidays -----------------------------------------------------------


def test_weekend_and_easter_monday(desk):
    # Fri 04-03 16:00 → 17:00 = 1h counted; Sat, Sun closed; Mon 04-06 Easter Monday (FR holiday) closed.
    # first_response 2h: 1h Fri + 1h Tue 04-07 → Tue 10:00. resolution 8h: 1h Fri + 7h Tue → Tue 16:00.
    # Tue 09:45: used 1h + 45m = 6300; first_response 900 left (0.875 → warning); resolution 22500 left.
    t = desk.at("2026-04-07T09:45:00+02:00")["OFF-EASTER"]
    assert t["sla"] == {
        "policy": "office",
        "first_response": timer("2026-04-07T10:00:00+02:00", "running", True, 900),
        "resolution": timer("2026-04-07T16:00:00+02:00", "running", False, 22500),
    }


def test_may_holidays(desk):
    # P4: first_response 8h, resolution 3d = 72 h counted. Thu 04-30 17:00 → 18:00 = 1h.
    # Fri 05-01 (Labour Day) closed, weekend closed. At Mon 05-04 08:00: used 3600.
    # first_response 28800 - 3600 = 25200 = 7h: Mon 09:00-12:30 (3.5h) + 13:30 + 3.5h → 17:00.
    # resolution 259200 - 3600 = 255600 = 71h: Mon 8 (8), Tue 9 (17), Wed 9 (26), Thu 05-07 9 (35),
    #   Fri 05-08 (Victory Day) closed, Mon 05-11 8 (43), Tue 9 (52), Wed 9 (61), Thu 05-14 (Ascension) closed,
    #   Fri 05-15 8 (69), Mon 05-18 09:00 + 2h → 11:00.
    t = desk.at("2026-05-04T08:00:00+02:00")["OFF-MAY"]
    assert t["sla"] == {
        "policy": "office",
        "first_response": timer("2026-05-04T17:00:00+02:00", "running", False, 25200),
        "resolution": timer("2026-05-18T11:00:00+02:00", "running", False, 255600),
    }


# -- (4) Europe/Paris daylight-saving changes ------------------------------------------------------------


def test_paris_spring_change(desk):
    at = desk.at("2026-03-29T03:20:00+02:00")  # = 01:20Z, 20 minutes after the change
    # GOLD-SPRING (always, P1): created 00:30+01:00 = 23:30Z.
    # first_response: reply at 00:40 → used 600, met, 900 - 600 = 300; due 00:45+01:00.
    # resolution: 23:30Z → 01:20Z = 1h50 = 6600 real seconds; 14400 - 6600 = 7800;
    #   due 23:30Z + 4h = 03:30Z = 05:30+02:00 (wall clock says 5h, real time is 4h).
    # next_update: cycle started by the reply at 01:30+01:00 = 00:30Z; 00:30Z → 01:20Z = 3000 used;
    #   600 left; 3000/3600 = 0.83 → warning; due 01:30Z = 03:30+02:00.
    assert at["GOLD-SPRING"]["sla"] == {
        "policy": "gold",
        "first_response": timer("2026-03-29T00:45:00+01:00", "met", False, 300),
        "resolution": timer("2026-03-29T05:30:00+02:00", "running", False, 7800),
        "next_update": timer("2026-03-29T03:30:00+02:00", "running", True, 600),
    }
    # NIGHT-SPRING (sat/sun 01:00-04:00, P1 1h/4h, created Sat 03-28 12:00, after Saturday's shift).
    # Sunday 01:00+01:00 = 00:00Z → 04:00+02:00 = 02:00Z: only 2 real hours that night.
    # At 01:20Z: used 4800. first_response reached 3600 at 01:00Z = 03:00+02:00 → breached, 3600 - 4800 = -1200.
    # resolution 14400 - 4800 = 9600: 40m (2400) left on Sunday (→ 02:00Z), then 7200 = 2h on Sat 04-04
    #   from 01:00+02:00 = 23:00Z → 01:00Z = 03:00+02:00.
    assert at["NIGHT-SPRING"]["sla"] == {
        "policy": "night",
        "first_response": timer("2026-03-29T03:00:00+02:00", "breached", False, -1200),
        "resolution": timer("2026-04-04T03:00:00+02:00", "running", False, 9600),
    }
    # OFF-SPRING (office P2, Fri 03-27 16:00+01:00): 1h counted on Friday, nothing on the weekend.
    # first_response 1h left → Mon 09:00+02:00 + 1h = 10:00+02:00.
    # resolution 7h left → Mon 09:00-12:30 (3.5h) + 13:30 + 3.5h → 17:00+02:00.
    assert at["OFF-SPRING"]["sla"] == {
        "policy": "office",
        "first_response": timer("2026-03-30T10:00:00+02:00", "running", False, 3600),
        "resolution": timer("2026-03-30T17:00:00+02:00", "running", False, 25200),
    }


def test_paris_spring_change_office_monday(desk):
    # OFF-SPRING on Monday 09:30+02:00: used 1h (Fri) + 30m = 5400; first_response 1800 left,
    # 5400/7200 = 0.75 → warning; resolution 28800 - 5400 = 23400.
    t = desk.at("2026-03-30T09:30:00+02:00")["OFF-SPRING"]
    assert t["sla"] == {
        "policy": "office",
        "first_response": timer("2026-03-30T10:00:00+02:00", "running", True, 1800),
        "resolution": timer("2026-03-30T17:00:00+02:00", "running", False, 23400),
    }


def test_paris_autumn_change(desk):
    at = desk.at("2026-10-25T02:30:00+01:00")  # = 01:30Z, the second 02:30 of the night
    # GOLD-AUTUMN (always, P2): created 22:00+02:00 = 20:00Z; 20:00Z → 01:30Z = 5h30 = 19800 used.
    # first_response 30m: reached at 20:30Z = 22:30+02:00, no reply → breached, 1800 - 19800 = -18000.
    # resolution 8h: 28800 - 19800 = 9000; due 20:00Z + 8h = 04:00Z = 05:00+01:00 (wall clock: 7h later).
    assert at["GOLD-AUTUMN"]["sla"] == {
        "policy": "gold",
        "first_response": timer("2026-10-24T22:30:00+02:00", "breached", False, -18000),
        "resolution": timer("2026-10-25T05:00:00+01:00", "running", False, 9000),
    }
    # NIGHT-AUTUMN (created Sat 10-24 12:00+02:00): Sunday 01:00+02:00 = 23:00Z → 04:00+01:00 = 03:00Z:
    # 4 real hours that night. At 01:30Z: used 2h30 = 9000.
    # first_response reached 3600 at 00:00Z = 02:00+02:00 (the first 02:00) → breached, 3600 - 9000 = -5400.
    # resolution 14400 - 9000 = 5400, 0.625 → no warning; due 23:00Z + 4h = 03:00Z = 04:00+01:00 (same night).
    assert at["NIGHT-AUTUMN"]["sla"] == {
        "policy": "night",
        "first_response": timer("2026-10-25T02:00:00+02:00", "breached", False, -5400),
        "resolution": timer("2026-10-25T04:00:00+01:00", "running", False, 5400),
    }
    # OFF-AUTUMN (office P1, Fri 10-23 16:30+02:00): 30m on Friday, nothing on the weekend: used 1800.
    # Monday 10-26 is +01:00. first_response 1800 left → Mon 09:00 + 30m = 09:30+01:00.
    # resolution 14400 - 1800 = 12600 = 3h30 → 09:00 + 3h30 = 12:30+01:00 (the end of the morning interval).
    assert at["OFF-AUTUMN"]["sla"] == {
        "policy": "office",
        "first_response": timer("2026-10-26T09:30:00+01:00", "running", False, 1800),
        "resolution": timer("2026-10-26T12:30:00+01:00", "running", False, 12600),
    }


# -- (5) America/New_York daylight-saving changes and holidays ------------------------------------------


def test_new_york_spring_change(desk):
    # NY-SPRING (ny P2 2h/8h): Fri 03-06 15:00-05:00; reply at 16:00-05:00 → first_response used 3600,
    # met, 3600 left, due 16:00 + 1h = 17:00-05:00 = 22:00Z = 23:00+01:00 (Paris).
    # Friday counts 15:00 → 17:00 = 2h. Monday 03-09 is EDT (-04:00) while Paris is still +01:00 (5h apart).
    # Sunday 03-08 12:00+01:00: used 7200; resolution 28800 - 7200 = 21600 = 6h → Mon 09:00 + 6h = 15:00-04:00
    #   = 19:00Z = 20:00+01:00 (ignoring New York's change would give 21:00+01:00).
    t = desk.at("2026-03-08T12:00:00+01:00")["NY-SPRING"]
    assert t["sla"] == {
        "policy": "ny",
        "first_response": timer("2026-03-06T23:00:00+01:00", "met", False, 3600),
        "resolution": timer("2026-03-09T20:00:00+01:00", "running", False, 21600),
    }


def test_new_york_autumn_change(desk):
    # NY-AUTUMN (ny P1 1h/4h/next 2h, warn 0.5): Fri 10-30 16:00-04:00; reply 16:30-04:00.
    # first_response: used 1800, met, 1800 left; due 16:30 + 30m = 17:00-04:00 = 21:00Z = 22:00+01:00
    #   (Paris is already back on +01:00 since 10-25).
    # Monday 11-02 is EST (-05:00). At Mon 10:00-05:00 = 15:00Z:
    # resolution: used 1h Fri + 1h Mon = 7200; 7200 left; 7200/14400 = 0.5 ≥ 0.5 → warning;
    #   due 10:00 + 2h = 12:00-05:00 = 17:00Z = 18:00+01:00.
    # next_update: from 16:30 Fri: 30m + 1h = 5400 used; 1800 left; warning; due 10:30-05:00 = 16:30+01:00.
    t = desk.at("2026-11-02T10:00:00-05:00")["NY-AUTUMN"]
    assert t["sla"] == {
        "policy": "ny",
        "first_response": timer("2026-10-30T22:00:00+01:00", "met", False, 1800),
        "resolution": timer("2026-11-02T18:00:00+01:00", "running", True, 7200),
        "next_update": timer("2026-11-02T16:30:00+01:00", "running", True, 1800),
    }


def test_new_york_thanksgiving(desk):
    # NY-THANKS (ny P2): Wed 11-25 16:00-05:00 → 17:00 = 1h; Thu 11-26 Thanksgiving closed.
    # At Thu 12:00-05:00: used 3600. first_response 3600 left, 0.5 ≥ 0.5 → warning;
    #   Fri 11-27 09:00 + 1h = 10:00-05:00 = 15:00Z = 16:00+01:00.
    # resolution 25200 = 7h left → Fri 16:00-05:00 = 21:00Z = 22:00+01:00; 0.125 → no warning.
    t = desk.at("2026-11-26T12:00:00-05:00")["NY-THANKS"]
    assert t["sla"] == {
        "policy": "ny",
        "first_response": timer("2026-11-27T16:00:00+01:00", "running", True, 3600),
        "resolution": timer("2026-11-27T22:00:00+01:00", "running", False, 25200),
    }


# -- (6) pending: pause and resume ---------------------------------------------------------------------


def test_pending_pauses_resolution_not_first_response(desk):
    at = desk.at("2026-06-09T11:45:00+02:00")  # Tuesday
    # OFF-PENDING (office P2): created 10:00, open 10:05, pending 11:00.
    # first_response never pauses: 10:00 → 11:45 = 6300 used; 900 left; 0.875 → warning; due 12:00.
    # resolution ran 10:00 → 11:00 = 3600; 28800 - 3600 = 25200; paused → due null.
    assert at["OFF-PENDING"]["status"] == "pending"
    assert at["OFF-PENDING"]["sla"] == {
        "policy": "office",
        "first_response": timer("2026-06-09T12:00:00+02:00", "running", True, 900),
        "resolution": timer(None, "paused", False, 25200),
    }
    # OFF-PENDING-P1 (office P1 1h/4h/next 2h): created 09:00, reply 09:30, pending 10:00.
    # first_response: met, 3600 - 1800 = 1800, due 09:30 + 30m = 10:00.
    # resolution: 09:00 → 10:00 = 3600 used, 10800 left, paused. next_update: 09:30 → 10:00 = 1800 used,
    #   5400 left, paused.
    assert at["OFF-PENDING-P1"]["status"] == "pending"
    assert at["OFF-PENDING-P1"]["sla"] == {
        "policy": "office",
        "first_response": timer("2026-06-09T10:00:00+02:00", "met", False, 1800),
        "resolution": timer(None, "paused", False, 10800),
        "next_update": timer(None, "paused", False, 5400),
    }


def test_pending_resumes_with_time_used(desk):
    at = desk.at("2026-06-10T10:15:00+02:00")  # Wednesday
    # OFF-PENDING: open again at 09:30. resolution used 3600 + (09:30 → 10:15 = 2700) = 6300; 22500 left;
    #   due 10:15 + 6h15 = 16:30.
    # first_response: reached 7200 at Tue 12:00 with no reply → breached; used Tue 10:00-18:00 (28800)
    #   + Wed 09:00-10:15 (4500) = 33300; 7200 - 33300 = -26100.
    assert at["OFF-PENDING"]["status"] == "open"
    assert at["OFF-PENDING"]["sla"] == {
        "policy": "office",
        "first_response": timer("2026-06-09T12:00:00+02:00", "breached", False, -26100),
        "resolution": timer("2026-06-10T16:30:00+02:00", "running", False, 22500),
    }
    # OFF-PENDING-P1: open again at 09:00. resolution 3600 + 4500 = 8100 used, 6300 left (0.56),
    #   due 10:15 + 1h45 = 12:00. next_update 1800 + 4500 = 6300 used, 900 left (0.875 → warning), due 10:30.
    assert at["OFF-PENDING-P1"]["sla"] == {
        "policy": "office",
        "first_response": timer("2026-06-09T10:00:00+02:00", "met", False, 1800),
        "resolution": timer("2026-06-10T12:00:00+02:00", "running", False, 6300),
        "next_update": timer("2026-06-10T10:30:00+02:00", "running", True, 900),
    }


# -- (7) resolve, then reopen --------------------------------------------------------------------------


def test_reopen_resumes_resolution_with_time_used(desk):
    # GOLD-REOPEN (gold P3 2h/3d = 259200): created Mon 06-08 08:00, reply 08:30, resolved 18:00.
    # first_response met: 7200 - 1800 = 5400, due 08:30 + 1h30 = 10:00.
    # resolution stopped after 10h = 36000: met, 223200 left, due 18:00 + 62h = Thu 06-11 08:00.
    t = desk.at("2026-06-09T11:45:00+02:00")["GOLD-REOPEN"]
    assert t["status"] == "resolved"
    assert t["sla"] == {
        "policy": "gold",
        "first_response": timer("2026-06-08T10:00:00+02:00", "met", False, 5400),
        "resolution": timer("2026-06-11T08:00:00+02:00", "met", False, 223200),
    }
    # Reopened Wed 06-10 09:00; at 10:15: used 36000 + 4500 = 40500, 259200 - 40500 = 218700 = 60h45;
    # due 10:15 + 60h45 = Fri 06-12 23:00.
    t = desk.at("2026-06-10T10:15:00+02:00")["GOLD-REOPEN"]
    assert t["status"] == "open"
    assert t["sla"] == {
        "policy": "gold",
        "first_response": timer("2026-06-08T10:00:00+02:00", "met", False, 5400),
        "resolution": timer("2026-06-12T23:00:00+02:00", "running", False, 218700),
    }


# -- (8) messages that are not a public agent reply -----------------------------------------------------


def test_customer_message_and_internal_note_do_not_stop_first_response(desk):
    # OFF-QUIET (office P1): created Wed 06-10 09:30; customer message 09:40; internal note 09:50.
    # At 10:15: first_response still running, 2700 used, 3600 - 2700 = 900 left (0.75 → warning), due 10:30.
    # resolution 14400 - 2700 = 11700, due 09:30 + 4h = 13:30. No public agent reply: no next_update.
    t = desk.at("2026-06-10T10:15:00+02:00")["OFF-QUIET"]
    assert t["status"] == "new"
    assert t["sla"] == {
        "policy": "office",
        "first_response": timer("2026-06-10T10:30:00+02:00", "running", True, 900),
        "resolution": timer("2026-06-10T13:30:00+02:00", "running", False, 11700),
    }


# -- (9)/(10) warning, breach, next_update after the first public agent reply ---------------------------


def test_breached_timers_and_next_update_after_a_late_reply(desk):
    # GOLD-BREACH (gold P1 15m/4h/next 1h), created Tue 06-09 05:00, first reply at 11:00. At 11:45:
    # first_response stopped at 11:00 after 6h = 21600 > 900: breached at 05:15, 900 - 21600 = -20700.
    # resolution: 05:00 → 11:45 = 24300 used, 14400 - 24300 = -9900, breached at 09:00; never a warning.
    # next_update: started by the reply at 11:00, 2700 used, 900 left, 0.75 → warning, due 12:00.
    t = desk.at("2026-06-09T11:45:00+02:00")["GOLD-BREACH"]
    assert t["sla"] == {
        "policy": "gold",
        "first_response": timer("2026-06-09T05:15:00+02:00", "breached", False, -20700),
        "resolution": timer("2026-06-09T09:00:00+02:00", "breached", False, -9900),
        "next_update": timer("2026-06-09T12:00:00+02:00", "running", True, 900),
    }


def test_warning_then_next_update_appears(desk):
    # GOLD-WARN (gold P1), created Wed 06-10 10:03. At 10:15: 720 used; first_response 180 left,
    # 720/900 = 0.8 → warning, due 10:18; resolution 13680 left, due 14:03. No reply yet: no next_update.
    t = desk.at("2026-06-10T10:15:00+02:00")["GOLD-WARN"]
    assert t["sla"] == {
        "policy": "gold",
        "first_response": timer("2026-06-10T10:18:00+02:00", "running", True, 180),
        "resolution": timer("2026-06-10T14:03:00+02:00", "running", False, 13680),
    }
    # Replied at 10:20 (2 minutes late), resolved at 10:30. Now:
    # first_response stopped after 17m = 1020 > 900: stays breached, -120, due 10:18.
    # resolution stopped after 27m = 1620: met, 12780 left, due 10:30 + 3h33 = 14:03.
    # next_update started at 10:20, stopped by the resolution at 10:30: met, 3000 left, due 10:30 + 50m = 11:20.
    t = desk.now()["GOLD-WARN"]
    assert t["status"] == "resolved"
    assert t["sla"] == {
        "policy": "gold",
        "first_response": timer("2026-06-10T10:18:00+02:00", "breached", False, -120),
        "resolution": timer("2026-06-10T14:03:00+02:00", "met", False, 12780),
        "next_update": timer("2026-06-10T11:20:00+02:00", "met", False, 3000),
    }


def test_breach_on_a_business_calendar(desk):
    # NY-SPRING at Tue 03-10 19:30+01:00 = 18:30Z = 14:30-04:00: used Fri 2h + Mon 8h + Tue 5h30 = 15h30
    # = 55800; 28800 - 55800 = -27000; breached when it reached 8h, Mon 15:00-04:00 = 20:00+01:00.
    t = desk.at("2026-03-10T19:30:00+01:00")["NY-SPRING"]
    assert t["sla"] == {
        "policy": "ny",
        "first_response": timer("2026-03-06T23:00:00+01:00", "met", False, 3600),
        "resolution": timer("2026-03-09T20:00:00+01:00", "breached", False, -27000),
    }


# -- (11) --status filter; closed tickets are listed without it ----------------------------------------


def test_list_lists_every_ticket_closed_included(desk):
    now = desk.now()
    assert {ref: t["status"] for ref, t in now.items()} == FINAL_STATUS
    assert len(desk.list()) == len(TICKETS)
    # GOLD-CLOSED (gold P4 8h/10d): first reply after 30m → 27000 left, due 10:30 + 7h30 = 18:00.
    # resolution stopped at resolved after 24h = 86400: 864000 - 86400 = 777600 = 9 days → 05-11 10:00.
    assert now["GOLD-CLOSED"]["sla"] == {
        "policy": "gold",
        "first_response": timer("2026-05-01T18:00:00+02:00", "met", False, 27000),
        "resolution": timer("2026-05-11T10:00:00+02:00", "met", False, 777600),
    }


def test_status_filter_is_repeatable(desk):
    def refs(rows: list[dict]) -> list[str]:
        return sorted(t["ref"] for t in rows)

    assert refs(desk.list("--status", "resolved", "--status", "closed")) == ["EXT-1042", "GOLD-CLOSED", "GOLD-WARN"]
    # With --at, the status as it was then. On 06-09 11:45: EXT-1042 and GOLD-REOPEN resolved, OFF-PENDING and
    # OFF-PENDING-P1 pending, GOLD-CLOSED closed (left out), GOLD-BREACH new (left out).
    assert refs(desk.list("--at", "2026-06-09T11:45:00+02:00", "--status", "resolved", "--status", "pending")) == [
        "EXT-1042",
        "GOLD-REOPEN",
        "OFF-PENDING",
        "OFF-PENDING-P1",
    ]


# -- (12) --at before some tickets' creation ----------------------------------------------------------


def test_at_before_creation_leaves_the_ticket_out(desk):
    # Only NY-SPRING (03-06) existed on 03-08.
    assert sorted(desk.at("2026-03-08T12:00:00+01:00")) == ["NY-SPRING"]
    # At the very instant OFF-EVENING is created (Tue 19:30, closed) it exists, with nothing used yet:
    # first_response 2h → Wed 09:00 + 2h = 11:00; resolution 8h → Wed 17:00.
    at = desk.at("2026-03-10T19:30:00+01:00")
    assert sorted(at) == ["NY-SPRING", "OFF-EVENING"]
    assert at["OFF-EVENING"]["status"] == "new"
    assert at["OFF-EVENING"]["sla"] == {
        "policy": "office",
        "first_response": timer("2026-03-11T11:00:00+01:00", "running", False, 7200),
        "resolution": timer("2026-03-11T17:00:00+01:00", "running", False, 28800),
    }


# -- show: by ref and by id; events; unknown tickets; the plain list ------------------------------------


def test_show_by_ref_and_by_id(desk):
    by_ref = json.loads(desk.run("show", "EXT-1042", "--json"))
    by_id = json.loads(desk.run("show", str(by_ref["id"]), "--json"))
    assert by_ref == by_id
    assert by_ref["ref"] == "EXT-1042" and by_ref["version"] == 1
    assert by_ref["sla"]["resolution"] == timer("2026-03-30T16:35:00+02:00", "met", False, 20100)
    events = by_ref["events"]
    assert [e["kind"] for e in events] == ["reply", "status", "status", "status"]
    assert {k: events[0][k] for k in ("at", "kind", "author", "public", "body")} == {
        "at": "2026-03-27T16:20:00+01:00",
        "kind": "reply",
        "author": "alice",
        "public": True,
        "body": "On it.",
    }
    # The contract's status events carry no author: the importing OS user is recorded.
    assert [(e["at"], e["author"], e["to"]) for e in events[1:]] == [
        ("2026-03-27T16:40:00+01:00", OS_USER, "pending"),
        ("2026-03-30T09:10:00+02:00", OS_USER, "open"),
        ("2026-03-30T11:00:00+02:00", OS_USER, "resolved"),
    ]


def test_unknown_ticket_is_exit_2(desk):
    for args in (("show", "999", "--json"), ("update", "NO-SUCH-REF", "--note", "x")):
        r = desk.attempt(*args)
        assert r.returncode == 2, args
        assert r.stdout == ""
        assert "no such ticket" in r.stderr and "Traceback" not in r.stderr


def test_plain_list_shows_the_nearest_timer(desk):
    out = desk.run("list", "--at", "2026-03-29T03:20:00+02:00").splitlines()
    assert out[0].split() == ["ID", "PRIO", "STATUS", "LEFT", "·", "DUE", "CUSTOMER", "SUBJECT"]
    rows = {line.split()[0]: line for line in out[1:]}
    ids = {t["ref"]: str(t["id"]) for t in desk.list()}
    assert sorted(rows) == sorted(str(t["id"]) for t in desk.at("2026-03-29T03:20:00+02:00").values())

    def cells(ref: str) -> list[str]:
        line = rows[ids[ref]]
        assert line.endswith(f"ticket {ref}") or ref == "EXT-1042"
        # ID, PRIO, STATUS, then LEFT · DUE (right-aligned in 14 cells: the due time only when it differs)
        return [*line[7:20].split(), line[21:35].strip()]

    # EXT-1042: first_response met, resolution paused with 26700 s = 7h25 left.
    assert cells("EXT-1042") == ["P2", "pending", "⏸7h25"]
    assert rows[ids["EXT-1042"]].endswith("Clinique Saint-Je… VPN down for ward B")  # customer cut to 18 columns
    # GOLD-SPRING: next_update (due 03:30, 600 s) comes before resolution (05:30): 10m.
    assert cells("GOLD-SPRING") == ["P1", "new", "10m"]
    # NIGHT-SPRING: the breached first_response (-1200 s) is the one to look at: -20m.
    assert cells("NIGHT-SPRING") == ["P1", "new", "-20m"]
    # OFF-SPRING: first_response, 3600 s left: 1h00, on Monday (office hours: nothing counts on Sunday);
    # the wall-clock due time is shown beside the business time left because the two differ
    assert cells("OFF-SPRING") == ["P2", "new", "1h00 · Mon"]


# -- new / update / show through the CLI (example configuration, real clock) --------------------------------


@pytest.fixture
def live(tmp_path, db_url, cli_server) -> Desk:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return Desk(db_url, EXAMPLE, env, cli_server.run)


def _show(d: Desk, key: str, *args: str) -> dict:
    return json.loads(d.run("show", key, "--json", *args))


def _refused(d: Desk, *args: str) -> str:
    """Run a command that must be refused (exit 1, nothing on stdout, one line on stderr); return stderr."""
    r = d.attempt(*args)
    assert r.returncode == 1, (args, r.stdout, r.stderr)
    assert r.stdout == "" and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr


def test_ticket_lifecycle_through_the_cli(live):
    # new prints the id; show --json: version 1, no events.
    assert (
        live.run("new", "--subject", "Mail bounces", "--customer", "Clinique Saint-Jean", "--priority", "P1").strip()
        == "1"
    )
    t = _show(live, "1")
    assert (t["id"], t["version"], t["events"]) == (1, 1, [])
    assert (t["subject"], t["customer"], t["priority"], t["status"], t["type"], t["assignee"]) == (
        "Mail bounces",
        "Clinique Saint-Jean",
        "P1",
        "new",
        "incident",
        None,
    )
    assert set(t["sla"]) == {"policy", "first_response", "resolution"}  # no next_update before a reply
    assert t["sla"]["first_response"]["state"] == "running"
    created = datetime.fromisoformat(t["created_at"])

    # A public reply: first_response met, next_update appears (gold P1: 15m / 4h / next_update 1h, 24x7).
    assert live.run("update", "1", "--reply", "We are looking into it.").strip() == "2"
    at = created + timedelta(minutes=10)  # the reply came seconds after the creation: evaluate 10 minutes in
    t = _show(live, "1", "--at", at.isoformat())
    [e] = t["events"]
    replied = datetime.fromisoformat(e["at"])
    took, since = int((replied - created).total_seconds()), int((at - replied).total_seconds())
    assert 0 <= took < 300
    sla = t["sla"]
    assert sla["first_response"] == timer((created + timedelta(minutes=15)).isoformat(), "met", False, 900 - took)
    assert sla["next_update"] == timer((replied + timedelta(hours=1)).isoformat(), "running", False, 3600 - since)
    assert sla["resolution"] == timer((created + timedelta(hours=4)).isoformat(), "running", False, 14400 - 600)

    # A transition the workflow does not allow: exit 1, the allowed targets named, nothing written.
    err = _refused(live, "update", "1", "--status", "closed", "--note", "closing")
    assert "open, pending, on_hold, resolved" in err  # from new (section 6)

    # Each change prints the new version.
    assert live.run("update", "1", "--status", "open").strip() == "3"
    assert live.run("update", "1", "--priority", "P2").strip() == "4"
    assert live.run("update", "1", "--assign", "me").strip() == "5"
    # --expect-version: stale → refused, nothing written; current → accepted.
    assert "version" in _refused(live, "update", "1", "--note", "stale", "--expect-version", "4")
    assert live.run("update", "1", "--note", "Probably the MX record.", "--expect-version", "5").strip() == "6"
    assert live.run("update", "1", "--group", "L2").strip() == "7"
    assert live.run("update", "1", "--status", "pending").strip() == "8"
    assert live.run("update", "1", "--status", "resolved").strip() == "9"
    assert live.run("update", "1", "--status", "closed").strip() == "10"
    # closed is final.
    assert "closed" in _refused(live, "update", "1", "--status", "open")

    t = _show(live, "1")
    assert t["version"] == 10
    assert (t["status"], t["priority"], t["assignee"], t["group"]) == ("closed", "P2", OS_USER, "L2")
    for e in t["events"]:
        assert e["author"] == OS_USER
        assert datetime.fromisoformat(e["at"]).utcoffset() is not None
    assert [{k: v for k, v in e.items() if k not in ("at", "author")} for e in t["events"]] == [
        {"kind": "reply", "public": True, "body": "We are looking into it."},
        {"kind": "status", "from": "new", "to": "open"},
        {"kind": "priority", "from": "P1", "to": "P2"},
        {"kind": "assign", "to": OS_USER},
        {"kind": "reply", "public": False, "body": "Probably the MX record."},
        {"kind": "group", "from": "L1", "to": "L2"},
        {"kind": "status", "from": "open", "to": "pending"},
        {"kind": "status", "from": "pending", "to": "resolved"},
        {"kind": "status", "from": "resolved", "to": "closed"},
    ]


HOSTILE = "[bold red]x[/] \x1b[2J\x1b]0;pwned\x07"


def test_hostile_subject_is_printed_inert(live):
    assert live.run("new", "--subject", HOSTILE, "--customer", "Clinique Saint-Jean").strip() == "1"
    plain_list, plain_show, as_json = live.run("list"), live.run("show", "1"), live.run("list", "--json")
    for out in (plain_list, plain_show, as_json):
        assert "\x1b" not in out and "\x07" not in out
    assert "[bold red]x[/]" in plain_list and "[bold red]x[/]" in plain_show  # shown as written, not as markup
    [t] = json.loads(as_json)
    assert t["subject"] == HOSTILE


# -- (9) `show --why`: the account the ticket screen's `w` shows, from the command line (issue 19) ------------


def test_show_why_accounts_for_the_saturday_ticket_by_hand(desk):
    # OFF-SATURDAY (office P3, created Sat 03-14 10:00), at Mon 03-16 13:00: counted Mon 09:00-12:30 (3h30);
    # first response 4h: 30m left, due 14:00 (13:30 + 30m); resolution 1d = 24h counted: 20h30 left,
    # Mon 13:30-18:00, Tue 09:00-18:00, Wed 09:00-16:00 still to count.
    out = desk.run("show", "OFF-SATURDAY", "--why", "--at", "2026-03-16T13:00:00+01:00")
    lines = out.splitlines()
    assert "policy office: customer 'Mairie de Paris' is configured with policy 'office'" in lines
    assert any(line.startswith("calendar office: business hours in Europe/Paris") for line in lines)
    first = lines.index(next(line for line in lines if line.startswith("first response — ")))
    res = lines.index(next(line for line in lines if line.startswith("resolution — ")))
    assert lines[first] == "first response — P3 target 4h00m of counted time — running"
    assert "  Mon 2026-03-16 09:00 → 12:30   3h30m" in lines[first:res]
    assert "3h30m counted + 30m left = 4h00m target → due Mon 2026-03-16 14:00" in lines[first:res]
    tail = lines[res:]
    assert lines[res] == "resolution — P3 target 24h00m of counted time (1d0h) — running"
    assert "  Mon 2026-03-16 13:30 → 18:00   4h30m" in tail
    assert "  Tue 2026-03-17 09:00 → 18:00   9h00m" in tail
    assert "  Wed 2026-03-18 09:00 → 16:00   7h00m" in tail
    assert "3h30m counted + 20h30m left = 24h00m target → due Wed 2026-03-18 16:00" in tail
    as_json = json.loads(desk.run("show", "OFF-SATURDAY", "--why", "--json", "--at", "2026-03-16T13:00:00+01:00"))
    start = lines.index(as_json["why"][0])
    assert lines[start : start + len(as_json["why"])] == as_json["why"]  # the same account in both forms
