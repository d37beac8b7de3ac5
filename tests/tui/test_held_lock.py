"""The desk is never waited on from the event loop (issue 14): another process holds the SQLite desk's write lock (a
real ``sqlite3`` connection in a subprocess, in ``BEGIN IMMEDIATE``) while the agent claims, sets a status and
replies, on the queue and on the ticket screen. The keys keep answering (j/k move the cursor while the write
waits), the screen says a change is pending and its action keys are off until it settles, and the change lands
when the lock is released, or is refused with "the desk is busy: …" when the retry window ends. Before: the
screen froze for the whole retry window (10 s, per try)."""

from __future__ import annotations

import subprocess
import sys
import time

from tuihelp import SIZE, ready, said, settle

from deskterm.tui.screens.detail import DetailScreen
from deskterm_testing import patience

HOLD = r"""
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
sys.stdin.readline()  # released when the test says so (or when it dies: end of file)
conn.execute("ROLLBACK")
conn.close()
"""


class LockHolder:
    """Another process holding the desk's write lock until ``release()``."""

    def __init__(self, db) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "held"

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("go\n")
            self.proc.stdin.close()
            self.proc.wait(10)

    def __enter__(self) -> LockHolder:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


async def responsive(pilot, table) -> float:
    """Press j then k while the write waits: both move the cursor at once. Returns the slowest key, in seconds."""
    before = table.cursor_index
    slowest = 0.0
    for key, expected in (("j", before + 1), ("k", before)):
        started = time.monotonic()
        await pilot.press(key)
        slowest = max(slowest, time.monotonic() - started)
        assert table.cursor_index == expected
    return slowest


async def until(pilot, condition, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        await pilot.pause(0.05)


def notes(app) -> list[tuple[str, str]]:
    return [(n.title, str(n.message)) for n in said(app)]


async def test_claim_on_the_queue_waits_in_a_thread_and_lands_when_the_lock_is_released(make_app, demo, monkeypatch):
    monkeypatch.setenv("DESKTERM_BUSY_TIMEOUT", "30")
    db, _, _ = demo
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")  # unassigned
        await settle(pilot)
        table = app.screen.query_one("QueueTable")
        ticket = table.cursor_id
        with LockHolder(db) as lock:
            started = time.monotonic()
            await pilot.press("c")
            assert time.monotonic() - started < patience(2)  # answered: the claim waits in a thread (30 s window)
            assert app.writes.busy(app.screen)
            await pilot.pause(0.2)
            status = str(app.screen.query_one("#queue-status").render())
            assert f"saving claim #{ticket}…" in status
            assert await responsive(pilot, table) < patience(2)
            # the keys that change tickets are off until it settles; the others are not
            assert app.screen.check_action("claim", ()) is None and app.screen.check_action("set_status", ()) is None
            assert app.screen.check_action("cursor_down", ()) is True
            await pilot.pause(1.2)  # a write still pending after a second says who holds the lock
            status = str(app.screen.query_one("#queue-status").render())
            assert "holds its write lock" in status, status
            lock.release()
            await until(pilot, lambda: not app.writes.busy())
        await settle(pilot)
        assert app.desk.ticket(ticket).assignee == "alice"
        assert ("Claimed", f"#{ticket} is yours") in notes(app)
        assert app.screen.check_action("claim", ()) is True
        assert "saving" not in str(app.screen.query_one("#queue-status").render())


async def test_claim_on_a_desk_busy_for_the_whole_window_is_refused_clearly(make_app, demo, monkeypatch):
    monkeypatch.setenv("DESKTERM_BUSY_TIMEOUT", "1")
    db, _, _ = demo
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = app.screen.query_one("QueueTable")
        ticket, version = table.cursor_id, table.cursor_row.version
        with LockHolder(db):
            await pilot.press("c")
            assert await responsive(pilot, table) < patience(2)
            await until(pilot, lambda: not app.writes.busy())
            # the refusal is said on the event loop once the write's thread has given up: wait for it to show
            await until(pilot, lambda: any(t == "Not claimed" for t, _ in notes(app)))
            refused = [m for t, m in notes(app) if t == "Not claimed"]
            assert len(refused) == 1
            assert refused[0].startswith("the desk is busy: process ") and "holds its write lock" in refused[0]
            assert refused[0].endswith("nothing was changed, try again")
        await settle(pilot)
        assert app.desk.ticket(ticket).version == version  # nothing written
        assert app.is_running


async def test_status_on_the_queue_while_the_lock_is_held(make_app, demo, monkeypatch):
    from deskterm.tui.screens.modals import ChoiceScreen

    monkeypatch.setenv("DESKTERM_BUSY_TIMEOUT", "30")
    db, _, _ = demo
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")  # unassigned: status new
        await settle(pilot)
        table = app.screen.query_one("QueueTable")
        ticket = table.cursor_id
        with LockHolder(db) as lock:
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            await pilot.press("down", "enter")  # new → open
            await until(pilot, lambda: not isinstance(app.screen, ChoiceScreen))
            assert app.writes.busy()
            assert await responsive(pilot, table) < patience(2)
            lock.release()
            await until(pilot, lambda: not app.writes.busy())
        await settle(pilot)
        assert app.desk.ticket(ticket).status == "open"


async def test_jump_looks_the_ticket_up_in_a_thread(make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.query_one("QueueTable")
        target = table.row_at(5).id
        on_loop = []
        import threading

        import deskterm.store.queries as queries

        real = queries.find_ticket_id

        def spy(session, key):
            on_loop.append(threading.current_thread() is threading.main_thread())
            return real(session, key)

        monkeypatch.setattr(queries, "find_ticket_id", spy)
        await pilot.press("colon", *str(target), "enter")
        await settle(pilot)
        assert table.cursor_id == target
        assert on_loop == [False]


async def open_ticket(pilot) -> DetailScreen:
    """The ticket screen of the first unassigned ticket (status new)."""
    app = pilot.app
    await ready(pilot)
    await pilot.press("2")
    await settle(pilot)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.record is not None)
    await settle(pilot)
    return app.screen


async def still_answers(pilot, screen, waits: bool = True) -> None:
    """While the change waits: the story scrolls, w opens its pane and esc closes it (``waits``: the change waits
    for the whole retry window meanwhile, not for a shorter one that ends first)."""
    from deskterm.tui.screens.detail_modals import WhyDialog

    app = pilot.app
    await pilot.press("down", "up")
    await pilot.press("w")
    await until(pilot, lambda: isinstance(app.screen, WhyDialog), seconds=patience(5))
    await pilot.press("escape")
    await until(pilot, lambda: app.screen is screen, seconds=patience(5))
    # frozen, the keys would wait for the change: the whole retry window (30 s here), the lock held until the test
    # releases it. They waited the key gate's patience (2 s the app could run: longer in wall-clock seconds on a
    # loaded machine, keygate.CpuWait), and the pane came and went while the change still waits
    assert app.writes.busy(screen) or not waits


async def test_the_ticket_screen_claims_sets_status_and_replies_while_the_lock_is_held(make_app, demo, monkeypatch):
    from deskterm.tui.screens.detail_modals import EditorDialog
    from deskterm.tui.screens.modals import ChoiceScreen

    monkeypatch.setenv("DESKTERM_BUSY_TIMEOUT", "30")
    db, _, _ = demo
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot)
        ticket = screen.record.id
        # c: claim
        with LockHolder(db) as lock:
            await pilot.press("c")
            await until(pilot, lambda: app.writes.busy(screen), seconds=5)
            await pilot.pause(0.2)
            marker = screen.query_one("#detail-saving")
            shown = str(marker.render())
            assert marker.display and "saving claim" in shown and f"#{ticket}…" in shown, shown
            assert screen.check_action("status", ()) is None and screen.check_action("resolve", ()) is None
            # a draft's editor opens meanwhile (only the draft being sent keeps its editor closed)
            assert screen.check_action("reply", ()) is True
            await still_answers(pilot, screen)
            lock.release()
            await until(pilot, lambda: not app.writes.busy())
        await settle(pilot)
        assert screen.record.assignee == "alice"
        assert not screen.query_one("#detail-saving").display
        assert screen.check_action("status", ()) is True
        # s: status new → open
        with LockHolder(db) as lock:
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            await pilot.press("enter")  # the first allowed: open
            await until(pilot, lambda: app.writes.busy(screen), seconds=5)
            await still_answers(pilot, screen)
            lock.release()
            await until(pilot, lambda: not app.writes.busy())
        await settle(pilot)
        assert screen.record.status == "open"
        # r: a reply
        with LockHolder(db) as lock:
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, EditorDialog))
            await pilot.press(*"on it")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.writes.busy(screen), seconds=5)
            await still_answers(pilot, screen)
            lock.release()
            await until(pilot, lambda: not app.writes.busy())
        await settle(pilot)
        assert [e.body for e in app.desk.ticket(ticket).events if e.kind == "reply"][-1] == "on it"


async def test_the_ticket_screen_refuses_clearly_when_the_desk_stays_busy(make_app, demo, monkeypatch):
    monkeypatch.setenv("DESKTERM_BUSY_TIMEOUT", "1")
    db, _, _ = demo
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot)
        version = screen.record.version
        with LockHolder(db):
            await pilot.press("c")
            await still_answers(pilot, screen, waits=False)  # (a retry window of a second)
            await until(pilot, lambda: not app.writes.busy())
            await settle(pilot)
            refused = [m for t, m in notes(app) if t == "Claim: refused"]
            assert len(refused) == 1 and refused[0].startswith("the desk is busy: process ")
            assert refused[0].endswith("nothing was changed, try again")
        assert app.desk.ticket(screen.record.id).version == version
        assert app.is_running and app.screen is screen
