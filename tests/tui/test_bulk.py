"""Bulk actions are explicit (issue 14): marks belong to their view, a bulk action lists the tickets it will
touch before it acts, acts on each only at the version listed, and says per ticket what it did and skipped.
Two agents on one SQLite desk: the app (alice) and another Desk on the same file (bob)."""

from __future__ import annotations

from tuihelp import SIZE, ready, settle, until

from deskterm.service import Change
from deskterm.tui.screens.modals import ChoiceScreen, TicketListScreen
from deskterm.tui.screens.queue import QueueScreen
from deskterm.tui.widgets.queue_table import QueueTable


def table_of(app) -> QueueTable:
    return app.screen.query_one(QueueTable)


def list_lines(app) -> list[str]:
    screen = app.screen
    assert isinstance(screen, TicketListScreen)
    return screen.lines


async def test_a_bulk_status_skips_a_ticket_that_left_the_view(make_app, other_desk):
    """Two rows marked; bob resolves one (it leaves the queue); s → open must not reopen it."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")  # unassigned: status new
        await settle(pilot)
        table = table_of(app)
        first, second = table.row_at(0), table.row_at(1)
        await pilot.press("space", "space")
        assert set(table.marked) == {first.id, second.id}
        other_desk.update(second.id, Change(status="resolved"))
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.query("OptionList"))
        await pilot.press("down", "enter")  # open
        await until(pilot, lambda: isinstance(app.screen, TicketListScreen))
        shown = list_lines(app)
        assert "status → open on 1 ticket" in app.screen.title_text
        assert any(line.startswith(f"#{first.id}") and "new" in line for line in shown)
        assert any(
            line.startswith(f"#{second.id}") and "skipped: no longer in this view (resolved" in line for line in shown
        )
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketListScreen) and not app.screen.confirm)
        result = [" ".join(line.split()) for line in list_lines(app)]
        assert result == [
            f"✓ #{first.id} status → open",
            f"✗ #{second.id} skipped: no longer in this view (resolved, unassigned)",
        ]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen) and not table.marked)
        assert app.desk.ticket(first.id).status == "open"
        assert app.desk.ticket(second.id).status == "resolved"  # not reopened by alice
        assert not any(e.author == "alice" for e in app.desk.ticket(second.id).events)


async def test_a_ticket_changed_while_the_list_is_shown_is_skipped_and_reported(make_app, other_desk):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = table_of(app)
        rows = [table.row_at(i) for i in range(3)]
        await pilot.press("space", "space", "space")
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.query("OptionList"))
        await pilot.press("home", "enter")  # P1
        await until(pilot, lambda: isinstance(app.screen, TicketListScreen))
        assert len(list_lines(app)) == 3
        other_desk.update(rows[1].id, Change(note="looking at it"))  # after alice saw the list
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketListScreen) and not app.screen.confirm)
        result = [" ".join(line.split()) for line in list_lines(app)]
        assert f"✓ #{rows[0].id} priority → P1" in result and f"✓ #{rows[2].id} priority → P1" in result
        assert any(
            line.startswith(f"✗ #{rows[1].id} skipped: changed since you saw it: internal note by bob")
            for line in result
        )
        assert "2 done, 1 skipped" in app.screen.title_text
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        assert app.desk.ticket(rows[1].id).priority == rows[1].priority
        assert {app.desk.ticket(r.id).priority for r in (rows[0], rows[2])} == {"P1"}


async def test_esc_on_the_list_changes_nothing_and_keeps_the_marks(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = table_of(app)
        rows = [table.row_at(i) for i in range(2)]
        await pilot.press("space", "space", "s")
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.query("OptionList"))
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, TicketListScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        assert {app.desk.ticket(r.id).status for r in rows} == {"new"}
        assert set(table.marked) == {r.id for r in rows}


async def test_marks_belong_to_their_view(make_app):
    """A mark made in "All open" is not assigned from another view with the cursor elsewhere."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("6")  # all open
        await settle(pilot)
        table = table_of(app)
        marked = table.row_at(0)
        await pilot.press("space")
        assert set(table.marked) == {marked.id}
        await pilot.press("2")  # unassigned
        await settle(pilot)
        assert not table.marked
        assert any(
            n.title == "Marks cleared" and "1 mark of All open cleared" in str(n.message) for n in app._notifications
        )
        assert "marked" not in str(app.screen.query_one("#queue-status").render())


async def test_a_single_ticket_change_uses_the_version_seen_when_the_key_was_pressed(make_app, other_desk):
    """No marks: s acts on the cursor's ticket at the version on screen when s was pressed, even if a live
    refresh brought a newer one meanwhile."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = table_of(app)
        row = table.cursor_row
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.query("OptionList"))
        other_desk.update(row.id, Change(status="pending"))
        next(s for s in app.screen_stack if isinstance(s, QueueScreen)).data_changed()  # the live refresh
        await settle(pilot)
        await pilot.press("down", "enter")  # open
        await until(pilot, lambda: any(n.title == "1 skipped" for n in app._notifications))
        assert app.desk.ticket(row.id).status == "pending"
        [note] = [n for n in app._notifications if n.title == "1 skipped"]
        assert "status new → pending by bob" in str(note.message)


async def test_u_undoes_the_last_bulk_change_except_where_someone_changed_since(make_app, other_desk):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = table_of(app)
        rows = [table.row_at(i) for i in range(3)]
        await pilot.press("space", "space", "space", "p")
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.query("OptionList"))
        await pilot.press("home", "enter")  # P1
        await until(pilot, lambda: isinstance(app.screen, TicketListScreen))
        await pilot.press("enter")
        await until(pilot, lambda: {app.desk.ticket(r.id).priority for r in rows} == {"P1"})
        assert any("u undoes" in str(n.message) for n in app._notifications)
        other_desk.update(rows[1].id, Change(note="bob looked at it"))  # changed since: its undo is skipped
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, TicketListScreen) and not app.screen.confirm)
        assert app.desk.ticket(rows[0].id).priority == rows[0].priority
        assert app.desk.ticket(rows[2].id).priority == rows[2].priority
        assert app.desk.ticket(rows[1].id).priority == "P1"
        assert any("skipped: changed since you saw it: internal note by bob" in line for line in app.screen.lines)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("u")  # once only
        await settle(pilot)
        assert any(n.title == "Undo" and "Nothing to undo" in str(n.message) for n in app._notifications)


async def test_L_links_the_marked_incidents_to_a_problem(make_app, other_desk):
    """Issue 18: two rows marked, L, the problem's number: the list, enter, both linked (history and service);
    a number that is no problem is refused per ticket, nothing linked."""
    from datetime import timedelta

    from tuihelp import NOW

    from deskterm.records import NewTicket

    customer = other_desk.tickets()[0].customer
    problem = other_desk.create(
        NewTicket(
            subject="Root cause", customer=customer, priority="P3", created_at=NOW - timedelta(hours=1), type="problem"
        )
    ).id
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = table_of(app)
        first, second = table.row_at(0), table.row_at(1)
        if problem in (first.id, second.id):  # the problem itself is new and unassigned: take the next rows
            first, second = table.row_at(1), table.row_at(2)
            await pilot.press("down")
        await pilot.press("space", "space")
        await pilot.press("L")
        await settle(pilot)
        for ch in str(problem):
            await pilot.press(ch)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketListScreen))
        assert f"link to problem #{problem} on 2 tickets" in app.screen.title_text
        await pilot.press("enter")  # all went through: back on the queue, a notice names the tickets
        await until(pilot, lambda: isinstance(app.screen, QueueScreen) and not table.marked)
        said = [n.message for n in app._notifications]
        assert f"link to problem #{problem} on 2 tickets: #{first.id}, #{second.id}" in said
        for t in (first.id, second.id):
            event = app.desk.ticket(t).events[-1]
            assert (event.kind, event.to, event.author) == ("problem-link", str(problem), "alice")


async def test_the_list_says_at_80_columns_which_ticket_changed_since_it_was_marked(make_app, other_desk):
    """The list's "(changed since you marked it)" came after the whole subject: at 80 columns the line is cut
    before it (a subject of 40 characters does it), and the agent saw the ticket's new state unflagged."""
    from datetime import timedelta

    from tuihelp import NOW

    from deskterm.records import NewTicket

    customer = other_desk.tickets()[0].customer
    ids = [
        other_desk.create(
            NewTicket(
                subject=f"Zanzibar {i}: the badge readers of the whole east wing stopped at noon",
                customer=customer,
                priority="P2",
                created_at=NOW - timedelta(minutes=30),
            )
        ).id
        for i in range(2)
    ]
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("slash", *"zanzibar", "enter")
        await settle(pilot)
        table = table_of(app)
        await until(pilot, lambda: {table.row_at(0).id, table.row_at(1).id} == set(ids))
        await pilot.press("space", "space")
        assert set(table.marked) == set(ids)
        changed = table.row_at(1).id
        other_desk.update(changed, Change(note="bob looked at it"))
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.query("OptionList"))
        await pilot.press("home", "enter")  # P1
        await until(pilot, lambda: isinstance(app.screen, TicketListScreen))
        await settle(pilot)
        box = app.screen.query_one("#list-lines")
        drawn = ["".join(s.text for s in box.render_line(y)) for y in range(box.size.height)]
        flagged = [line for line in drawn if f"#{changed}" in line]
        assert len(flagged) == 1 and "changed since you marked it" in flagged[0], drawn
        assert not any("changed since" in line for line in drawn if f"#{changed}" not in line)


async def test_the_status_line_counts_the_marks_as_they_are_made(make_app):
    """Seen in a shift: `space` and `v` … `v` marked rows, and the status line went on without "N marked" until
    something else redrew it (another agent's change): the agent could not see how many tickets a bulk action
    was about to list."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("6")
        await settle(pilot)

        def status() -> str:
            return str(app.screen.query_one("#queue-status").render())

        await pilot.press("space")
        await settle(pilot)
        assert "1 marked" in status(), status()
        await pilot.press("v", "j", "j", "v")
        await settle(pilot)
        assert "4 marked" in status(), status()
        await pilot.press("escape")
        await settle(pilot)
        assert "marked" not in status(), status()
