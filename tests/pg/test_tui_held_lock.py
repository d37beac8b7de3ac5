"""The desk is never waited on from the event loop, on PostgreSQL too (issue 14): another session (a psycopg connection
in a subprocess) holds the ticket's row (``SELECT … FOR UPDATE``) while the agent claims it from the queue. The keys
keep answering, the status line says the claim is pending, and it lands when the row is released; held past the
retry window, it is refused as "the desk is busy" (tests/tui/test_held_lock.py has the SQLite side)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))
from tuihelp import NOW, SIZE, ready, settle

from deskterm_testing import patience

HOLD = r"""
import sys
import psycopg
conn = psycopg.connect(sys.argv[1])
conn.execute("SELECT id FROM tickets WHERE id = %s FOR UPDATE", (int(sys.argv[2]),))
print("held", flush=True)
sys.stdin.readline()
conn.rollback()
conn.close()
"""


class RowHolder:
    def __init__(self, url: str, ticket: int) -> None:
        libpq = "postgresql://" + url.split("://", 1)[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, libpq, str(ticket)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "held"

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("go\n")
            self.proc.stdin.close()
            self.proc.wait(10)

    def __enter__(self) -> RowHolder:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


@pytest.fixture
def pg_demo(tmp_path, pg_url):
    from deskterm.clock import FrozenClock
    from deskterm.config import load_config
    from deskterm.dbcopy import copy_database
    from deskterm.demo import build_demo

    db, _ = build_demo(tmp_path, tickets=150, clock=FrozenClock(NOW), story=False)
    copy_database(str(db), pg_url)
    return pg_url, load_config(tmp_path / "deskterm.toml"), FrozenClock(NOW)


async def until(pilot, condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        await pilot.pause(0.05)


@pytest.mark.parametrize("window, lands", [("30", True), ("1", False)])
async def test_a_claim_waits_for_a_held_row_in_a_thread(pg_demo, monkeypatch, window, lands):
    from deskterm.tui.app import DeskApp

    monkeypatch.setenv("DESKTERM_BUSY_TIMEOUT", window)
    url, config, clock = pg_demo
    app = DeskApp(db=url, config=config, clock=clock, user="alice")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")  # unassigned
        await settle(pilot)
        table = app.screen.query_one("QueueTable")
        ticket, version = table.cursor_id, table.cursor_row.version
        with RowHolder(url, ticket) as row:
            started = time.monotonic()
            await pilot.press("c")
            await pilot.press("j")
            await pilot.press("k")
            assert time.monotonic() - started < patience(2) and table.cursor_id == ticket  # the keys answered meanwhile
            if lands:
                await until(pilot, lambda: "saving claim" in str(app.screen.query_one("#queue-status").render()), 5)
                assert app.screen.check_action("claim", ()) is None
                row.release()
            await until(pilot, lambda: not app.writes.busy())
        await settle(pilot)
        record = app.desk.ticket(ticket)
        messages = [(n.title, str(n.message)) for n in app._notifications]
        if lands:
            assert record.assignee == "alice"
            assert ("Claimed", f"#{ticket} is yours") in messages
        else:
            assert record.version == version
            refused = [m for t, m in messages if t == "Not claimed"]
            assert len(refused) == 1 and refused[0].startswith("the desk is busy: "), messages
            assert refused[0].endswith("nothing was changed, try again")
        assert app.is_running
