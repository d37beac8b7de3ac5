"""`deskterm history TICKET [--json]`: the audit trail, through the real command line (issue 6).

Every change is recorded with the OS account that made it (``pwd.getpwuid(os.geteuid())``), never a name the
user typed or the environment claims: ``USER``/``LOGNAME`` are ignored and there is no ``--author`` option.
"""

from __future__ import annotations

import json
import os
import pwd
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

# (not ``from conftest import ...``: another directory's conftest.py can shadow the module name "conftest")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = ROOT / "examples" / "deskterm.toml"


def run_cli(*args: str, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command line, in a subprocess (as tests/conftest.py's run_cli)."""
    return subprocess.run([sys.executable, "-m", "deskterm.cli", *args], input=input, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)

ME = pwd.getpwuid(os.geteuid()).pw_name
LIAR = {"USER": "mallory", "LOGNAME": "mallory", "USERNAME": "mallory"}


@pytest.fixture(scope="module")
def trail(tmp_path_factory):
    """One ticket (made through the real CLI, with USER/LOGNAME lying) with a status change with a reason,
    a two-line reply and a claim, then a priority change with a note (two events in one update)."""
    db_path = tmp_path_factory.mktemp("history") / "desk.db"
    base = ["--db", str(db_path), "--config", str(EXAMPLE_CONFIG)]

    def cli(*args: str):
        r = run_cli(*base, *args, env=LIAR)
        assert r.returncode == 0, r.stderr
        return r

    assert cli("new", "--subject", "VPN down", "--customer", "Acme", "--priority", "P3", "--ref", "EXT-9").stdout.strip() == "1"
    cli("update", "1", "--status", "open", "--reason", "customer called\nsecond line of the reason")
    cli("update", "EXT-9", "--reply", "We are on it.\nMore tomorrow.", "--assign", "me")
    cli("update", "1", "--priority", "P1", "--reason", "ward closed", "--note", "\x1b[31mred\x1b[0m \u202eevil",
        "--expect-version", "3")
    return base, db_path


def test_history_lists_every_event_with_time_os_user_change_and_first_line(trail):
    base, _ = trail
    r = run_cli(*base, "history", "1", env=LIAR)
    assert r.returncode == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert len(lines) == 1 + 5  # the creation, then one line per event
    assert all(f"  {ME}  " in line for line in lines), r.stdout
    assert "mallory" not in r.stdout
    assert lines[0].endswith("created #1 EXT-9")
    assert lines[1].endswith(f"{ME}  status new → open: customer called")
    assert lines[2].endswith(f"{ME}  reply to the customer: We are on it.")
    assert lines[3].endswith(f"{ME}  assign - → {ME}")
    assert lines[4].endswith(f"{ME}  internal note: \\x1b[31mred\\x1b[0m \\u202eevil")  # inert
    assert lines[5].endswith(f"{ME}  priority P3 → P1: ward closed")
    assert "\x1b" not in r.stdout and "\u202e" not in r.stdout
    # local time: the configuration's zone (Europe/Paris), to the second
    stamp = " ".join(lines[1].split()[:2])
    datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
    assert lines[1].split()[2] in ("CET", "CEST")


def test_history_json_matches_the_database(trail):
    base, db_path = trail
    r = run_cli(*base, "history", "EXT-9", "--json")
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
    conn = sqlite3.connect(db_path)
    try:
        authors = {a for (a,) in conn.execute("SELECT DISTINCT author FROM events")}
        created_by = {a for (a,) in conn.execute("SELECT DISTINCT created_by FROM tickets")}
    finally:
        conn.close()
    assert authors == created_by == {ME}


def test_the_author_cannot_be_typed(trail):
    base, db_path = trail
    before = db_path.read_bytes()
    r = run_cli(*base, "update", "1", "--note", "hi", "--author", "mallory")
    assert r.returncode == 2 and "--author" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert db_path.read_bytes() == before


def test_history_of_an_unknown_ticket_is_bad_input(trail):
    r = run_cli(*trail[0], "history", "999")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == "ticket 999: no such ticket"
