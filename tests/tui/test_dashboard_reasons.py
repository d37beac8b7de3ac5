"""The dashboard's top contact reasons (issue 15): on a desk that classifies its tickets, the categories of the
last 7 days, most frequent first, with their trend against the 7 days before (``reports.top_reasons``); on a
desk without categories, nothing is added."""

from __future__ import annotations

from datetime import timedelta

from test_detail import until
from textual.widgets import Static
from tuihelp import NOW, ready

from deskterm import reports
from deskterm.clock import FrozenClock
from deskterm.tui.app import DeskApp
from deskterm.tui.screens.dashboard import DashboardScreen


async def test_top_contact_reasons_on_the_demo_desk(story_demo):
    clock = FrozenClock(NOW)
    db, config = story_demo  # build_demo(tmp_path / "desk", clock=clock), built once (conftest.py)
    app = DeskApp(db=str(db), config=config, clock=clock, user="alice")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("D")
        screen = await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.data and app.screen)
        now = screen.data.now
        expected = reports.top_reasons(app.desk.tickets(), now - timedelta(days=7), now)
        assert expected and screen.data.reasons == expected
        shown = str(screen.query_one("#dash-figures", Static).render())
        assert "Top contact reasons, last 7 days" in shown
        first = expected[0]
        assert f"{first.category}" in shown and f"(was {first.previous})" in shown
