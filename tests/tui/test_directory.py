"""The queue's side of the directory of agents (issue 14): the assign prompt completes names and refuses a
typo (the ticket must not land in nobody's view), and R shows who is on shift and how many tickets each holds."""

from __future__ import annotations

from tuihelp import SIZE, ready, settle, until

from deskterm.service import Change
from deskterm.tui.widgets.queue_table import QueueTable


async def test_assign_refuses_a_typo_and_tab_completes_a_name(make_app, other_desk):
    other_desk.update(1, Change(note="bob was here"))  # bob has worked on the desk: a known agent
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await settle(pilot)
        row = app.screen.query_one(QueueTable).cursor_row
        await pilot.press("a")
        prompt = app.screen.query_one("#prompt")
        await until(pilot, lambda: prompt.suggester is not None)
        await pilot.press(*"bbo", "enter")
        await settle(pilot)
        refusal = [n for n in app._notifications if n.title == "Not assigned"]
        assert refusal and "unknown agent 'bbo' (did you mean bob?)" in str(refusal[0].message)
        assert prompt.display and app.desk.ticket(row.id).assignee is None  # still asking, nothing changed
        await pilot.press("ctrl+u", "b", "tab")
        await until(pilot, lambda: prompt.value == "bob")
        await pilot.press("enter")
        await until(pilot, lambda: app.desk.ticket(row.id).assignee == "bob")


async def test_R_shows_the_roster_and_follows_changes(make_app, other_desk):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await until(pilot, lambda: "alice" in [n for n, *_ in app.desk.roster()])  # opening starts the shift
        roster = app.screen.query_one("#roster")
        assert not roster.display
        await pilot.press("R")
        await until(pilot, lambda: "On shift: alice" in str(roster.render()))
        other_desk.shift(True)
        app.screen.data_changed()  # the live refresh the clock's poll triggers
        await until(pilot, lambda: "bob 0" in str(roster.render()))
        await pilot.press("R")
        assert not roster.display
