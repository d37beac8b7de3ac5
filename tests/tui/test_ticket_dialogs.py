"""The ticket screen's dialogs at 80x24 (issue 13, item 19): the workflow is checked before a dialog opens, `l`
offers the open major incidents and refuses a closed one, drop-down lists stay inside their dialog, and
notifications never cover the ticket."""

from __future__ import annotations

import pytest
from test_detail import notes, open_detail, sample_tickets, until
from textual.widgets import Input, OptionList, Select
from tuihelp import NOW, settle

from deskterm.service import Change
from deskterm.tui.screens.detail_modals import CloseDialog, LinkDialog, PriorityDialog, ResolveDialog, TypeDialog
from deskterm.tui.widgets.timeline import Timeline

SMALL = (80, 24)


@pytest.fixture
def tickets(other_desk) -> list[int]:
    """Ids of test_detail's sample tickets: [0] open, [1] pending, [2] new P1, [3] new."""
    ids = other_desk.import_tickets(sample_tickets(NOW))
    other_desk.store.dispose()
    return ids


async def test_close_on_a_new_ticket_says_why_before_any_dialog(make_app, tickets):
    """`X` opened the satisfaction form on a `new` ticket and refused only once it was filled in."""
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await pilot.press("X")
        await settle(pilot)
        assert app.screen is screen  # no form
        assert any(
            "Close: not possible: ticket DET-NEW: cannot go from new to closed; from new it may go to open, "
            "pending, on_hold, resolved (x resolves it first)" in m
            for m in notes(app)
        )
        assert await screen.resolve("fixed")
        await pilot.press("X")
        assert isinstance(await until(pilot, lambda: app.screen), CloseDialog)  # resolved: it may be closed
        await pilot.press("escape")
        await settle(pilot)
        assert await screen.close(None, None)
        await pilot.press("x")
        await settle(pilot)
        assert app.screen is screen
        assert any(
            "Resolve: not possible: ticket DET-NEW: cannot go from closed to resolved; from closed it may go "
            "to nothing (it is final)" in m
            for m in notes(app)
        )


async def test_link_offers_the_open_majors_first_and_refuses_a_closed_one(make_app, tickets, other_desk):
    major, done = tickets[2], tickets[0]
    other_desk.link(tickets[1], major)
    other_desk.resolve(done, "fixed")
    other_desk.close(done)
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await pilot.press("l")
        dialog = await until(pilot, lambda: isinstance(app.screen, LinkDialog) and app.screen)
        await pilot.pause()
        options = dialog.query_one("#majors", OptionList)
        offered = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert offered[0].startswith(f"#{major} Website returns 502 since 09:00 · new · 1 linked")
        assert all(not o.startswith(f"#{done} ") for o in offered)  # a closed ticket is not offered
        assert app.focused is options
        await pilot.press("enter")  # the highlighted (first) open major
        await settle(pilot)
        assert screen.record.major_id == major
        # any ticket may still be typed: a closed one is refused, with the reason
        await pilot.press("l")
        dialog = await until(pilot, lambda: isinstance(app.screen, LinkDialog) and app.screen)
        await pilot.pause()
        dialog.query_one("#major", Input).value = str(done)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert any("Link: refused: ticket DET-LONG is closed: it cannot be a major incident" in m for m in notes(app))
        assert screen.record.major_id == major
        # a major incident with linked tickets cannot itself be linked: said before the dialog opens
        app.pop_screen()
        screen = await open_detail(pilot, major)
        await pilot.press("l")
        await settle(pilot)
        assert app.screen is screen
        said = "Link: not possible: ticket DET-BREACHED is a major incident with 2 linked tickets"
        assert any(said in m for m in notes(app))


@pytest.mark.parametrize(
    "key, dialog_cls, select_ids, ticket",
    [
        ("p", PriorityDialog, ["impact", "urgency", "direct"], 3),
        ("T", TypeDialog, ["type", "classification"], 3),
        ("x", ResolveDialog, ["code"], 3),
        ("X", CloseDialog, ["csat"], 0),
    ],
)
async def test_drop_down_lists_stay_inside_their_dialog_at_80x24(
    make_app, tickets, other_desk, key, dialog_cls, select_ids, ticket
):
    """The lists drew over the dialog's border (and the ticket behind it) at 80x24."""
    other_desk.update(tickets[0], Change(status="resolved", resolution_code="fixed"))
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await open_detail(pilot, tickets[ticket])
        await pilot.press(key)
        dialog = await until(pilot, lambda: isinstance(app.screen, dialog_cls) and app.screen)
        await pilot.pause()
        box = dialog.query_one("#detail-dialog")
        for select_id in select_ids:
            select = dialog.query_one(f"#{select_id}", Select)
            select.focus()
            select.expanded = True
            await pilot.pause(0.1)
            overlay = select.query_one("SelectOverlay")
            assert overlay.region.height > 2, select_id
            inside = box.region.shrink((1, 1, 1, 1))  # within the border
            assert inside.contains_region(overlay.region), (select_id, overlay.region, box.region)
            assert box.region.bottom <= SMALL[1]
            select.expanded = False
            await pilot.pause()


async def test_notifications_take_their_own_lines_and_leave_the_newest_events_in_view(make_app, tickets):
    """Toasts covered the right half of the timeline at 80x24."""
    app = make_app()
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        screen = await open_detail(pilot, tickets[0])
        timeline = screen.query_one(Timeline)
        full = timeline.region
        await pilot.press("end")
        screen.say(
            "ticket changed by bob: status open → pending, assigned to chloe (was alice)", title="Ticket changed"
        )
        screen.say("status → pending", title="Status")
        await pilot.pause(0.3)
        toasts = list(screen.query("Toast"))
        assert len(toasts) == 2
        for toast in toasts:
            assert not toast.region.overlaps(timeline.region), (toast.region, timeline.region)
            assert "…" not in str(toast.render())  # all of the message, on the full width
        assert timeline.region.height < full.height
        assert timeline.scroll_y == timeline.max_scroll_y  # the newest event stays in view


async def test_a_notification_over_a_dialog_leaves_the_dialog_whole(make_app, tickets):
    """A toast arriving while a dialog is open (another agent's change) covered the dialog's last lines."""
    app = make_app()
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await open_detail(pilot, tickets[3])
        await pilot.press("x")  # the tallest dialog: at 80x24 it fills the screen
        dialog = await until(pilot, lambda: isinstance(app.screen, ResolveDialog) and app.screen)
        await pilot.pause()
        app.notify("ticket changed by bob: internal note", title="Ticket changed")
        await pilot.pause(0.3)
        [toast] = list(dialog.query("Toast"))
        box = dialog.query_one("#detail-dialog")
        assert not toast.region.overlaps(box.region), (toast.region, box.region)
