"""Keys that no other screen test pressed (test_zz_every_key.py lists them): each is pressed here and what it
does is checked. ``ctrl+r`` is checked with the app's change poll stopped, so that only the key can bring
another agent's change to the screen."""

from __future__ import annotations

import asyncio
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from test_dashboard import desk_files  # noqa: F401  (the fixture)
from test_dashboard import show as show_dashboard
from test_escalation_screen import escalated, open_tickets, setup_desk, until_shown  # noqa: F401  (fixtures)
from test_escalation_screen import show as show_escalations
from test_handover_screen import config as handover_config  # noqa: F401  (the fixture)
from test_handover_screen import show as show_handover
from tuihelp import NOW, SIZE, ready, settle

from deskterm.records import NewTicket
from deskterm.service import Change, Desk
from deskterm.store.engine import open_store
from deskterm.store.queue_terms import VIEWS
from deskterm.tui.screens.detail import DetailScreen
from deskterm.tui.screens.modals import ChoiceScreen, TextPromptScreen


@contextmanager
def poll_stopped(app):
    """The app does not look for other connections' commits (its one-second poll) while inside."""
    watch, app.change_watch = app.change_watch, None
    try:
        yield
    finally:
        app.change_watch = watch


async def until(pilot, condition, what: str, seconds: float = 30.0) -> None:
    """Wait for ``condition`` (the dashboard's figures take seconds on a busy machine)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await settle(pilot)
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


def another_agent(demo, config=None) -> Desk:
    db, demo_config, clock = demo
    return Desk(open_store(db), config or demo_config, clock=clock, user="bob")


# -- the queue ------------------------------------------------------------------------------------------


async def test_queue_arrows_home_end_and_pages_move_the_cursor(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.table
        assert table.total > table.rows_visible > 2
        await pilot.press("down", "down")
        assert table.cursor_index == 2
        await pilot.press("up")
        assert table.cursor_index == 1
        await pilot.press("end")
        assert table.cursor_index == table.total - 1
        await pilot.press("home")
        assert table.cursor_index == 0
        await pilot.press("pagedown")
        assert table.cursor_index == table.rows_visible
        await pilot.press("pageup")
        assert table.cursor_index == 0


async def test_queue_1_is_my_tickets_shift_tab_the_view_before(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        queue = app.screen
        await pilot.press("1")
        await settle(pilot)
        assert queue.state.view == "mine"
        assert all(row.assignee == "alice" for row in (queue.table.row_at(i) for i in range(queue.table.total)))
        await pilot.press("shift+tab")  # before the first view: the last one
        await settle(pilot)
        assert queue.state.view == list(VIEWS)[-1]
        await pilot.press("shift+tab")
        await settle(pilot)
        assert queue.state.view == list(VIEWS)[-2]


async def test_queue_ctrl_r_reads_another_agents_new_ticket(make_app, demo):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("6")  # all open
        await settle(pilot)
        queue = app.screen
        with poll_stopped(app):
            before = queue.table.total
            bob = another_agent(demo)
            try:
                bob.create(
                    NewTicket(
                        subject="Printer on fire",
                        customer="Atelier Moreau",
                        priority="P1",
                        created_at=NOW - timedelta(minutes=1),
                    )
                )
            finally:
                bob.store.dispose()
            await pilot.press("ctrl+r")
            await until(pilot, lambda: queue.table.total == before + 1, "the new ticket in the queue")


@pytest.mark.parametrize("key", ["q", "ctrl+q"])
async def test_q_and_ctrl_q_quit_from_the_queue(make_app, key):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press(key)
        await pilot.pause()
        assert app._exit or not app.is_running
    assert app.return_code in (0, None)


# -- the escalation list and its prompts -----------------------------------------------------------------


async def test_escalations_k_enter_and_ctrl_r(make_app, screen_config, escalated, demo):  # noqa: F811 - a fixture imported from another test module
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show_escalations(app, pilot)
        assert len(screen.rows) >= 2
        await pilot.press("j")
        assert screen.list_view.index == 1
        await pilot.press("k")
        assert screen.list_view.index == 0
        first = screen.cursor_row
        await pilot.press("enter")
        await until(
            pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.record is not None, "the ticket opened"
        )
        assert app.screen.ticket_id == first.ticket_id
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back to the list")
        with poll_stopped(app):
            count = len(screen.rows)
            bob = another_agent(demo, screen_config)
            try:
                escalated_ids = {r.ticket_id for r in screen.rows}
                other = next(t for t in open_tickets(bob, NOW) if t.id not in escalated_ids)
                bob.escalate(other.id, "hierarchical", "duty-manager", "a fourth one")
            finally:
                bob.store.dispose()
            await pilot.press("ctrl+r")
            await until(pilot, lambda: screen.up_to_date and len(screen.rows) == count + 1, "the new escalation")


async def test_esc_in_the_escalation_reason_prompt_escalates_nothing(make_app, screen_config, demo):
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("enter")
        await until(
            pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.record is not None, "the ticket opened"
        )
        detail = app.screen
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen), "where to")
        await pilot.press("enter")  # the first target
        await until(pilot, lambda: isinstance(app.screen, TextPromptScreen), "the reason prompt")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is detail, "back to the ticket")
        assert detail.desk.escalations(ticket=detail.ticket_id) == [] or all(
            e.created_by != "alice" for e in detail.desk.escalations(ticket=detail.ticket_id)
        )


# -- the dashboard ---------------------------------------------------------------------------------------


async def test_dashboard_1_2_shift_tab_and_ctrl_r(make_app, desk_files, demo):  # noqa: F811 - a fixture imported from another test module
    db, path, config, clock = desk_files
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show_dashboard(app, pilot)
        await pilot.press("2")
        assert screen.period == "week"
        await pilot.press("1")
        assert screen.period == "today"
        await pilot.press("shift+tab")  # before today: this month
        assert screen.period == "month"
        await pilot.press("1")
        await until(pilot, lambda: screen.kpis is not None, "today's figures")
        with poll_stopped(app):
            data, resolved = screen.data, screen.kpis.resolved
            bob = another_agent(demo, config)
            try:
                ticket = next(t for t in bob.tickets(["open"]) if t.updated_at <= NOW - timedelta(minutes=5))
                clock.set(NOW - timedelta(minutes=1))  # the period ends now, excluded
                bob.update(ticket.id, Change(status="resolved", resolution_code="fixed"))
            finally:
                clock.set(NOW)
                bob.store.dispose()
            await pilot.press("ctrl+r")
            await until(
                pilot,
                lambda: screen.data is not data and screen.kpis.resolved == resolved + 1,
                "one more resolved today",
            )


# -- the handover ----------------------------------------------------------------------------------------


async def test_handover_j_k_and_ctrl_r(make_app, handover_config, demo, tmp_path):  # noqa: F811 - a fixture imported from another test module
    app = make_app(config=handover_config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show_handover(app, pilot, export_dir=tmp_path)
        options = screen.query_one("#hand-list")
        start = options.highlighted
        await pilot.press("j")
        moved = options.highlighted
        assert moved is not None and moved != start
        await pilot.press("k")
        assert options.highlighted != moved
        with poll_stopped(app):
            handover = screen.handover
            unacked = len(handover.unacknowledged)
            bob = another_agent(demo, handover_config)
            try:
                waiting = {e.ticket_id for e in handover.unacknowledged}
                other = next(t for t in bob.tickets(["open"]) if t.id not in waiting)
                bob.escalate(other.id, "hierarchical", "duty-manager", "second call")
            finally:
                bob.store.dispose()
            await pilot.press("ctrl+r")
            await until(
                pilot,
                lambda: screen.handover is not handover and len(screen.handover.unacknowledged) == unacked + 1,
                "the new escalation listed",
            )
