"""`deskterm history TICKET [--json]`: the audit trail, through the real command line (issue 6).

Every change is recorded with the OS account that made it (``pwd.getpwuid(os.geteuid())``), never a name the
user typed or the environment claims: ``USER``/``LOGNAME`` are ignored and there is no ``--author`` option.

On SQLite and on PostgreSQL: the trail is made once per engine, and the commands go through the fork server of
tests/deskterm_testing.py (``cli_server``: the real ``deskterm.cli.main`` in a new process, with the environment
given, here a lying USER; tests/test_corpus.py checks it answers exactly as ``python -m deskterm.cli``).
"""

from __future__ import annotations

import json
import os
import pwd
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from deskterm_testing import EXAMPLE_CONFIG, db_rows, db_state, is_pg

pytestmark = pytest.mark.engines("sqlite", "postgresql", scope="module")

ME = pwd.getpwuid(os.geteuid()).pw_name
LIAR = {"USER": "mallory", "LOGNAME": "mallory", "USERNAME": "mallory"}


@pytest.fixture(scope="module")
def trail(module_db_url, cli_server):
    """One ticket (made through the CLI, with USER/LOGNAME lying) with a status change with a reason,
    a two-line reply and a claim, then a priority change with a note (two events in one update)."""
    base = ["--db", module_db_url, "--config", str(EXAMPLE_CONFIG)]

    def cli(*args: str):
        r = cli_server.run(*base, *args, env=LIAR)
        assert r.returncode == 0, r.stderr
        return r

    assert (
        cli(
            "new", "--new-customer", "--subject", "VPN down", "--customer", "Acme", "--priority", "P3", "--ref", "EXT-9"
        ).stdout.strip()
        == "1"
    )
    cli("update", "1", "--status", "open", "--reason", "customer called\nsecond line of the reason")
    cli("update", "EXT-9", "--reply", "We are on it.\nMore tomorrow.", "--assign", "me")
    cli(
        "update",
        "1",
        "--priority",
        "P1",
        "--reason",
        "ward closed",
        "--note",
        "\x1b[31mred\x1b[0m \u202eevil",
        "--expect-version",
        "3",
    )
    return base, module_db_url


def test_history_lists_every_event_with_time_os_user_change_and_first_line(trail, cli_server):
    base, _ = trail
    r = cli_server.run(*base, "history", "1", env=LIAR)
    assert r.returncode == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert len(lines) == 1 + 5  # the creation, then one line per event
    assert all(f"  {ME}  " in line for line in lines), r.stdout
    assert "mallory" not in r.stdout
    assert lines[0].endswith("created #1 EXT-9")
    assert lines[1].endswith(f"{ME}  status new → open: customer called")
    assert lines[2].endswith(f"{ME}  reply to customer: We are on it.")
    assert lines[3].endswith(f"{ME}  assigned to {ME}")  # as `show` says it
    assert lines[4].endswith(f"{ME}  internal note: \\x1b[31mred\\x1b[0m \\u202eevil")  # inert
    assert lines[5].endswith(f"{ME}  priority P3 → P1: ward closed")
    assert "\x1b" not in r.stdout and "\u202e" not in r.stdout
    # local time: the configuration's zone (Europe/Paris), to the second
    stamp = " ".join(lines[1].split()[:2])
    datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
    assert lines[1].split()[2] in ("CET", "CEST")


def test_history_json_matches_the_database(trail, cli_server):
    base, db = trail
    r = cli_server.run(*base, "history", "EXT-9", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["id"], data["ref"], data["version"], data["created_by"]) == (1, "EXT-9", 4, ME)
    events = data["events"]
    assert [(e["kind"], e["author"], e.get("from"), e.get("to")) for e in events] == [
        ("status", ME, "new", "open"),
        ("reply", ME, None, None),
        ("assign", ME, None, ME),
        ("reply", ME, None, None),
        ("priority", ME, "P3", "P1"),
    ]
    assert events[0]["reason"] == "customer called\nsecond line of the reason"
    assert (events[1]["public"], events[1]["body"]) == (True, "We are on it.\nMore tomorrow.")
    assert (events[3]["public"], events[3]["body"]) == (False, "\x1b[31mred\x1b[0m \u202eevil")
    for e in events:
        at = datetime.fromisoformat(e["at"])
        assert at.utcoffset() == at.astimezone(ZoneInfo("Europe/Paris")).utcoffset()
    authors = {a for (a,) in db_rows(db, "SELECT DISTINCT author FROM events")}
    created_by = {a for (a,) in db_rows(db, "SELECT DISTINCT created_by FROM tickets")}
    assert authors == created_by == {ME}


def test_the_author_cannot_be_typed(trail, cli_server):
    base, db = trail
    before = db_state(db) if is_pg(db) else Path(db).read_bytes()  # SQLite: the very bytes of the file
    r = cli_server.run(*base, "update", "1", "--note", "hi", "--author", "mallory")
    assert r.returncode == 2 and "--author" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert (db_state(db) if is_pg(db) else Path(db).read_bytes()) == before


def test_history_of_an_unknown_ticket_is_bad_input(trail, cli_server):
    r = cli_server.run(*trail[0], "history", "999")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == "ticket 999: no such ticket"


def test_show_describes_each_event_as_the_timeline_does(trail, cli_server):
    """One description of an event (``eventtext.describe``) for `show` and the ticket screen's timeline."""
    base, _ = trail
    r = cli_server.run(*base, "show", "1")
    assert r.returncode == 0, r.stderr
    heads = [line.split(f"  {ME}  ", 1)[1] for line in r.stdout.splitlines() if f"  {ME}  " in line]
    assert heads == [
        "status new → open (customer called second line of the reason)",
        "reply to customer",
        f"assigned to {ME}",
        "internal note",
        "priority P3 → P1 (ward closed)",
    ]


def test_history_says_each_kind_of_event_as_show_does(trail, cli_server):
    """Events other than a field's change (a survey reminder, survey answers, time, a problem and its corrective
    action) are said in words, the words of `show` and the ticket screen (``eventtext.describe``), never as a
    bare ``survey_reminder - → -``."""
    base, _ = trail

    def cli(*args: str) -> str:
        r = cli_server.run(*base, *args)
        assert r.returncode == 0, (args, r.stderr)
        return r.stdout.strip()

    tid = cli("new", "--subject", "Printer jams", "--customer", "Acme", "--priority", "P3")
    cli("update", tid, "--status", "resolved")
    cli("survey", tid, "--remind")
    cli("survey", tid, "--csat", "4", "--nps", "9", "--comment", "quick\nand kind")
    cli("time", tid, "25m", "--note", "cleared the rollers")
    problem = cli("new", "--subject", "Printers jam", "--customer", "Acme", "--type", "problem")
    cli("problem", problem, "--root-cause", "worn rollers", "--link", tid)
    cli("action", "add", problem, "--title", "replace the rollers", "--owner", "me", "--due", "2026-01-15")
    heads = [line.split(f"  {ME}  ", 1)[1] for line in cli("history", tid).splitlines()[1:]]
    assert heads == [
        "status new → resolved",
        "survey reminder sent",
        "satisfaction 4/5: quick",
        "recommendation (NPS) 9/10",
        "time logged 25m: cleared the rollers",
        f"linked to problem #{problem}",
    ]
    heads = [line.split(f"  {ME}  ", 1)[1] for line in cli("history", problem).splitlines()[1:]]
    assert heads == [
        "problem: root cause recorded: worn rollers",
        f"corrective action for {ME} by 2026-01-15: replace the rollers",
    ]
    shown = cli("show", problem)
    assert f"corrective action for {ME} by 2026-01-15" in shown and "problem: root cause recorded" in shown
    assert "- → -" not in cli("history", tid) + cli("history", problem)
