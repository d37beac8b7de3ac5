"""Two reloads of the ticket screen at once (the screen's own after a change, and the one another change
triggers) never show the history twice: each ``Timeline.show`` replaces the entries whole."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from textual.app import App

from deskterm.records import EventRecord
from deskterm.tui.widgets.timeline import Timeline


class _One(App):
    def compose(self):
        yield Timeline(id="t")


async def test_concurrent_shows_leave_one_copy_of_the_history():
    at = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)
    events = [EventRecord(at, "reply", "alice", public=True, body=f"reply {i}", id=i) for i in range(1, 4)]
    app = _One()
    async with app.run_test(size=(80, 24)) as pilot:
        timeline = app.query_one(Timeline)

        async def show():
            await timeline.show(at, "bob", "first", events, ZoneInfo("UTC"))

        await asyncio.gather(show(), show(), show())
        await pilot.pause()
        assert len(timeline.entries) == 1 + len(events)
        assert timeline.virtual_size.height == sum(len(lines) for lines in timeline._lines)
