"""The queue screen on PostgreSQL: a ticket created by another process (another host, as far as the
server can tell) shows within 2 seconds, as on SQLite (tests/tui/test_queue_screen.py)."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))
from tuihelp import NOW, SIZE, ready

from deskterm.service import NewTicket
from deskterm_testing import patience


@pytest.fixture
def pg_demo(tmp_path, pg_url):
    from deskterm.clock import FrozenClock
    from deskterm.config import load_config
    from deskterm.dbcopy import copy_database
    from deskterm.demo import build_demo

    db, _ = build_demo(tmp_path, tickets=150, clock=FrozenClock(NOW), story=False)
    copy_database(str(db), pg_url)
    return pg_url, load_config(tmp_path / "deskterm.toml"), FrozenClock(NOW)


async def test_live_refresh_from_another_connection_on_postgresql(pg_demo):
    from deskterm.service import Desk
    from deskterm.store.engine import open_store
    from deskterm.tui.app import DeskApp
    from deskterm.tui.screens.queue import QueueScreen  # noqa: F401  (the first screen)
    from deskterm.tui.widgets.queue_table import QueueTable

    url, config, clock = pg_demo
    other = Desk(open_store(url), config, clock=clock, user="bob")
    app = DeskApp(db=url, config=config, clock=clock, user="alice")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.query_one(QueueTable)
        await pilot.press("j", "j")
        ticket = table.cursor_id
        before = table.total
        new_id = await asyncio.to_thread(
            lambda: (
                other.create(
                    NewTicket(
                        subject="Arrived from another host",
                        customer="Atelier Moreau",
                        priority="P1",
                        created_at=NOW - timedelta(hours=9),
                    )
                ).id
            )
        )
        start = time.monotonic()
        while table.total == before and time.monotonic() - start < patience(2.5):
            await asyncio.sleep(0.1)
        assert table.total == before + 1, "a new ticket from another host shows within 2 s"
        assert time.monotonic() - start <= patience(2.0)  # 2 s on a quiet machine
        assert table.cursor_id == ticket
        assert table.query_.position(new_id) is not None
    other.store.dispose()


async def test_the_app_looks_for_new_escalations_only_when_one_was_raised(pg_demo, tmp_path):
    """PostgreSQL: a write that raised an escalation says so on a channel of its own; on the other changes the
    app does not ask the server for new escalations, and an escalation raised elsewhere is still toasted."""
    from tuihelp import until

    from deskterm.config import load_config
    from deskterm.service import Change, Desk
    from deskterm.store.engine import open_store
    from deskterm.tui.app import DeskApp
    from deskterm.tui.widgets.queue_table import QueueTable

    url, _, clock = pg_demo
    with open(tmp_path / "deskterm.toml", "a", encoding="utf-8") as fh:  # (the demo's, pg_demo's tmp_path)
        fh.write('\n[groups.L2-network]\nlevel = "L2"\n')
    config = load_config(tmp_path / "deskterm.toml")
    other = Desk(open_store(url), config, clock=clock, user="bob")
    app = DeskApp(db=url, config=config, clock=clock, user="alice")
    looks: list[int] = []
    look = app._look_for_escalations

    def counted():
        looks.append(1)
        return look()

    app._look_for_escalations = counted  # type: ignore[method-assign]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            table = app.screen.query_one(QueueTable)
            first, second = [r for r in table.visible_rows() if r.status == "open"][:2]
            await asyncio.to_thread(other.update, first.id, Change(status="on_hold"))
            await until(
                pilot,
                lambda: any(r.id == first.id and r.status == "on_hold" for r in table.visible_rows()),
                what="the change on screen",
            )
            await app.reader.idle()
            assert looks == [], "no escalation raised: none looked for"
            assert app.change_watch is not None and app.change_watch.escalated is False

            await asyncio.to_thread(other.escalate, second.id, "functional", "L2-network", "needs the network team")
            await until(
                pilot,
                lambda: any(
                    n.title == "New escalation" and f"#{second.id}" in str(n.message) for n in app._notifications
                ),
                what="the escalation toasted",
            )
            assert looks, "looked for it"
    finally:
        other.store.dispose()


async def test_an_escalation_notified_while_the_rules_run_is_looked_for_at_the_next_change(
    pg_demo, tmp_path, monkeypatch
):
    """PostgreSQL: while this app's own rules run, a change does not look for new escalations (the rules' end
    does, when they fired any); an escalation notified then is looked for at the next change, though that
    change's notification says no escalation was raised."""
    from tuihelp import until

    from deskterm.config import load_config
    from deskterm.service import Change, Desk
    from deskterm.store.engine import open_store
    from deskterm.tui.app import DeskApp
    from deskterm.tui.widgets.queue_table import QueueTable

    url, _, clock = pg_demo
    with open(tmp_path / "deskterm.toml", "a", encoding="utf-8") as fh:  # (the demo's, pg_demo's tmp_path)
        fh.write('\n[groups.L2-network]\nlevel = "L2"\n')
    config = load_config(tmp_path / "deskterm.toml")
    other = Desk(open_store(url), config, clock=clock, user="bob")
    rules_running = [False]
    monkeypatch.setattr(DeskApp, "applying_rules", property(lambda self: rules_running[0]))
    app = DeskApp(db=url, config=config, clock=clock, user="alice")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            table = app.screen.query_one(QueueTable)
            first, second = [r for r in table.visible_rows() if r.status == "open"][:2]
            rules_running[0] = True
            await asyncio.to_thread(other.escalate, second.id, "functional", "L2-network", "needs the network team")
            await until(pilot, lambda: app._escalation_unseen, what="the escalation's notification heard")
            await app.reader.idle()
            assert not any(n.title == "New escalation" for n in app._notifications)
            rules_running[0] = False
            await asyncio.to_thread(other.update, first.id, Change(status="on_hold"))
            await until(
                pilot,
                lambda: any(
                    n.title == "New escalation" and f"#{second.id}" in str(n.message) for n in app._notifications
                ),
                what="the escalation toasted at the next change",
            )
            assert not app._escalation_unseen
    finally:
        other.store.dispose()
