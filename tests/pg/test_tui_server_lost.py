"""The app on PostgreSQL when the server goes away and comes back (issue 14). Before: the ticket screen's reload
and the queue's background query raised OperationalError, and the app stopped, losing the unsent note, with
exit code 0. Now: a notice that stays while the server is away, writes refused with a reason, the app running,
and "Desk back" with a reload once the server answers. A throwaway server of the test's own (stopping the
session's server would cut every other test)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))
sys.path.insert(0, str(Path(__file__).parent))
from tuihelp import NOW, SIZE, ready, settle

from deskterm.service import Change, Desk, NewTicket


async def test_the_app_survives_its_server_going_away_and_coming_back(own_server, example_config):
    from deskterm.clock import FrozenClock
    from deskterm.store.engine import open_store
    from deskterm.tui.app import DeskApp
    from deskterm.tui.screens.detail import DetailScreen

    url = own_server.create_database(migrated=True)
    clock = FrozenClock(NOW)
    seed = Desk(open_store(url), example_config, clock=clock, user="bob")
    tid = seed.create(NewTicket(subject="VPN down", customer="Atelier Moreau", priority="P2", created_at=NOW)).id
    seed.store.dispose()
    app = DeskApp(db=url, config=example_config, clock=clock, user="alice")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await app.push_screen(DetailScreen(tid))
        await settle(pilot)
        await asyncio.to_thread(own_server.stop_server, "fast")
        app.poll()  # the clock's poll: the listening connection breaks, every screen reloads (and fails)
        for _ in range(50):
            await settle(pilot)
            if app.check_desk() is not None:
                break
        await pilot.pause()
        assert app.desk_problem == "the desk's server cannot be reached"
        assert any(n.title == "Desk unreachable" for n in app._notifications)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"note", "ctrl+s")
        await settle(pilot)
        assert app.is_running and app.return_code is None
        assert any(n.title in ("The desk did not answer", "Note: refused") for n in app._notifications)
        await asyncio.to_thread(own_server.start_server)
        app._listen_again()
        for _ in range(100):
            await settle(pilot)
            if app.desk_problem is None:
                break
        assert app.desk_problem is None
        assert any(n.title == "Desk back" for n in app._notifications)
        assert not any(n.title == "Desk unreachable" for n in app._notifications)
    after = Desk(open_store(url), example_config, clock=clock).ticket(tid)
    assert [e.body for e in after.events if e.kind == "reply"] == []  # the note was not half-written
    after_change = Desk(open_store(url), example_config, clock=clock, user="alice")
    after_change.update(tid, Change(note="written once the server is back"))


async def test_a_server_that_cannot_be_reached_is_said_at_once_and_once(example_config, monkeypatch):
    """The app's first screenful, read through the driver, finds the server unreachable: the app says the command
    line's one line, and the store does not try the server again (the app waited for an unreachable host's
    connect timeout twice: the driver's failure was taken for "let the store try")."""
    import deskterm.store.engine as engine
    from deskterm.clock import FrozenClock
    from deskterm.tui.app import DeskApp

    tried: list[object] = []
    open_store = engine.open_store

    def counted(*args, **kwargs):
        tried.append(args)
        return open_store(*args, **kwargs)

    monkeypatch.setattr(engine, "open_store", counted)
    app = DeskApp(db="postgresql://deskterm:s3cret@127.0.0.1:1/desk", config=example_config, clock=FrozenClock(NOW))
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(200):
            await app.workers.wait_for_complete()
            await pilot.pause()
            if app.load_error:
                break
        said = app.load_error or ""
        assert said.startswith("--db: cannot connect to postgresql+psycopg://deskterm:***@127.0.0.1:1/desk: "), said
        assert len(said.splitlines()) == 1 and "s3cret" not in said
        assert tried == []  # the store was not asked to connect again
        assert [n.title for n in app._notifications] == ["Cannot open the desk"]
        assert app.is_running and app.desk is None
        await pilot.pause()
        status = str(app.screen.query_one("#queue-status").render())
        assert status.startswith("Cannot open the desk: --db: cannot connect to"), status  # not "Opening…" for ever
