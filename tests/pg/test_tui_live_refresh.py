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
        while table.total == before and time.monotonic() - start < 2.5:
            await asyncio.sleep(0.1)
        assert table.total == before + 1, "a new ticket from another host shows within 2 s"
        assert time.monotonic() - start <= 2.0
        assert table.cursor_id == ticket
        assert table.query_.position(new_id) is not None
    other.store.dispose()
