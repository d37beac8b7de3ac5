"""The queue screen driven by the keyboard over a real SQLite demo desk with a frozen clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tuihelp import NOW, SIZE, lines, ready, settle

from deskterm.service import NewTicket
from deskterm.store.queue import QueueQuery, Sort
from deskterm.tui.screens.detail import DetailScreen as TicketScreen  # enter opens the ticket-detail screen
from deskterm.tui.screens.queue import QueueScreen, ViewTabs
from deskterm.tui.widgets.queue_table import QueueTable, header_cell, layout
from deskterm_testing import patience


def table_of(app) -> QueueTable:
    return app.screen.query_one(QueueTable)


async def choice_open(pilot) -> None:
    """Wait for the choice dialog: keys pressed before it is mounted would reach the queue."""
    from deskterm.tui.screens.modals import ChoiceScreen

    for _ in range(100):
        await pilot.pause()
        if isinstance(pilot.app.screen, ChoiceScreen) and pilot.app.screen.query("OptionList"):
            return
    raise AssertionError("the choice dialog did not open")


async def list_open(pilot) -> None:
    """Wait for a bulk action's list of tickets."""
    from deskterm.tui.screens.modals import TicketListScreen

    for _ in range(100):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if isinstance(pilot.app.screen, TicketListScreen) and pilot.app.screen.query("OptionList"):
            return
    raise AssertionError("the list of tickets did not open")


async def test_first_screen_is_the_queue_sorted_by_time_to_breach(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, QueueScreen)
        table = table_of(app)
        rows = table.visible_rows()
        dues = [r.next_due for r in rows]
        assert dues == sorted(dues) and dues[0] < NOW  # breached first, then soonest due
        first = lines(table)[0]
        assert "✖" in first and str(rows[0].id) in first  # a breached countdown, with its symbol
        assert table.cursor_id == rows[0].id


async def test_sort_keys_keep_the_cursor_on_its_ticket(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = table_of(app)
        await pilot.press("j", "j", "j")
        ticket = table.cursor_id
        await pilot.press("o")  # → priority
        assert table.sort == Sort("priority")
        assert table.cursor_id == ticket and table.cursor_row.id == ticket
        prios = [r.priority for r in table.visible_rows()]
        assert prios == sorted(prios)
        await pilot.press("O")
        assert table.sort == Sort("priority", descending=True)
        assert table.cursor_id == ticket
        assert table.query_.window(0, 1)[0].priority == "P4"
        await pilot.press("G")
        assert table.cursor_index == table.total - 1
        await pilot.press("g")
        assert table.cursor_index == 0


async def test_views_and_counts(make_app, demo):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        tabs = app.screen.query_one(ViewTabs)
        desk = app.desk
        tickets = desk.tickets()
        open_ = [t for t in tickets if t.status not in ("resolved", "closed")]
        assert tabs.counts["open"] == len(open_)
        assert tabs.counts["unassigned"] == sum(1 for t in open_ if t.assignee is None)
        assert tabs.counts["mine"] == sum(1 for t in open_ if t.assignee == "alice")
        assert tabs.counts["pending"] == sum(1 for t in tickets if t.status == "pending")
        await pilot.press("2")
        table = table_of(app)
        assert table.total == tabs.counts["unassigned"]
        assert all(r.assignee is None for r in table.visible_rows())
        await pilot.press("tab")
        assert tabs.current == "breaching"
        soon = NOW + timedelta(hours=1)
        assert all(
            (r.next_warn and r.next_warn <= NOW) or (r.next_due and r.next_due <= soon) for r in table.visible_rows()
        )
        await pilot.press("5")
        assert {r.status for r in table.visible_rows()} == {"pending"}
        assert "5 Pending" in "".join(s.text for s in tabs.render().render(app.console))


async def test_incremental_search_filters_esc_and_persistence(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = table_of(app)
        everything = table.total
        await pilot.press("slash", "v", "p")
        await settle(pilot)  # the query runs in a thread while the agent types
        narrowed = table.total
        await pilot.press("n")
        await settle(pilot)
        assert everything > narrowed >= table.total > 0
        assert all("vpn" in r.subject.lower() for r in table.visible_rows())
        await pilot.press("space", *"prio:P1")
        await settle(pilot)
        assert all(r.priority == "P1" and "vpn" in r.subject.lower() for r in table.visible_rows())
        await pilot.press("enter")
        assert table.has_focus
        filtered = table.total
    # the view and filter survive a restart
    app2 = make_app()
    async with app2.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = table_of(app2)
        assert app2.screen.state.filter == "vpn prio:P1"
        assert table.total == filtered
        await pilot.press("escape")
        assert table.total == everything


async def test_search_folds_non_ascii_case_and_narrows_as_you_type(make_app, other_desk):
    [tid] = other_desk.import_tickets(
        [
            NewTicket(
                subject="PANNE ÉLECTRIQUE AU SOUS-SOL",
                customer="Banque Rhône-Alpes",
                priority="P2",
                created_at=NOW - timedelta(hours=1),
                ref="ÉLEC-1",
            )
        ]
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table, search = table_of(app), app.screen.search
        everything = table.total
        await pilot.press("slash")
        await settle(pilot)  # the prompt loads the base ids in a worker
        scanned = search.scanned
        await pilot.press("é")  # lower case: finds the upper-case subject
        await settle(pilot)
        assert search.scanned - scanned == everything  # the first character examines every ticket
        after_first = table.total
        assert table.query_.position(tid) is not None
        for ch in "lectrique":
            scanned = search.scanned
            before = table.total
            await pilot.press(ch)
            assert search.scanned - scanned <= before  # each character narrows the previous result only
            await settle(pilot)
        assert table.total <= after_first and [r.id for r in table.visible_rows()] == [tid]
        await pilot.press("space", *"RHÔNE")
        await settle(pilot)
        assert [r.id for r in table.visible_rows()] == [tid]
        scanned = search.scanned
        for _ in "électrique RHÔNE":
            await pilot.press("backspace")
        await settle(pilot)
        assert table.total == everything and search.scanned == scanned  # backspace: earlier results, kept


async def test_claim_and_refusal(make_app, other_desk):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")  # unassigned
        table = table_of(app)
        ticket = table.cursor_id
        await pilot.press("c")
        await settle(pilot)
        assert app.desk.ticket(ticket).assignee == "alice"
        # one that bob has: refused, and the notification says who has it
        await pilot.press("6")
        bobs = next(t for t in other_desk.tickets() if t.assignee not in (None, "alice") and t.status == "open")
        await pilot.press("colon", *str(bobs.id), "enter")
        await settle(pilot)  # the ticket is looked up in a thread
        assert table.cursor_id == bobs.id
        await pilot.press("c")
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert any(f"already claimed by {bobs.assignee}" in m for m in messages)


async def test_bulk_priority_and_status_on_marked_rows(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")  # unassigned: status new, may go to open
        table = table_of(app)
        chosen = [table.row_at(0).id, table.row_at(1).id]
        await pilot.press("space", "space")
        assert set(table.marked) == set(chosen)
        await pilot.press("p")
        await choice_open(pilot)
        await pilot.press("home", "enter")  # P1 is the first choice
        await list_open(pilot)  # marked: the tickets are listed first
        await pilot.press("enter")
        await settle(pilot)
        assert {app.desk.ticket(i).priority for i in chosen} == {"P1"}
        assert not table.marked
        # range mark: v here, two rows down, v again
        await pilot.press("g", "v", "j", "j", "v")
        marked = set(table.marked)
        assert len(marked) == 3
        await pilot.press("s")
        await choice_open(pilot)
        await pilot.press("down", "enter")  # new → open
        await list_open(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert {app.desk.ticket(i).status for i in marked} == {"open"}


async def test_refused_bulk_change_is_reported(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await pilot.press("s")
        await choice_open(pilot)
        await pilot.press("end", "enter")  # new → closed: the workflow refuses it
        await settle(pilot)
        assert any("skipped" in (n.title or "") for n in app._notifications)


async def test_countdown_changes_state_on_the_tick(make_app, demo, other_desk):
    """A P4 ticket of a 24x7 customer: 8 h to first response, warning after 6 h (75 %)."""
    db, config, clock = demo
    created = NOW - timedelta(hours=5, minutes=59)
    [tid] = other_desk.import_tickets(
        [
            NewTicket(
                subject="Clock test", customer="Clinique Saint-Jean", priority="P4", created_at=created, ref="CLK-1"
            )
        ]
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = table_of(app)
        await pilot.press("colon", *"CLK-1", "enter")
        await settle(pilot)  # the ticket is looked up in a thread
        assert table.cursor_id == tid
        timer = table.countdown(table.cursor_row)
        assert (timer.name, timer.state, timer.remaining) == ("first_response", "running", 2 * 3600 + 60)
        await pilot.press("3")  # breaching soon: not yet (due in 2 h, warning in 1 min)
        assert table.query_.position(tid) is None
        clock.advance(minutes=2)
        app.tick()
        await settle(pilot)
        assert table.query_.position(tid) is not None  # entered "breaching soon" in the same tick
        table.select_ticket(tid)
        timer = table.countdown(table.cursor_row)
        assert timer.state == "warning"
        line = table.cursor_index - int(table.scroll_y) + 1
        strip = table.render_line(line)
        cell = next(s for s in strip if "!" in s.text)
        assert cell.text.startswith("!") and cell.style.color is not None
        warning_colour = cell.style.color
        clock.advance(hours=2)
        app.tick()
        await settle(pilot)
        assert table.query_.position(tid) is None  # breached: it left "breaching soon"
        await pilot.press("6")
        await settle(pilot)
        assert table.select_ticket(tid)
        timer = table.countdown(table.cursor_row)
        assert timer.state == "breached" and timer.remaining == 2 * 3600 + 60 - 120 - 2 * 3600
        strip = table.render_line(table.cursor_index - int(table.scroll_y) + 1)
        cell = next(s for s in strip if "✖" in s.text)
        assert cell.style.color != warning_colour
        assert table.sla.evaluations < 200  # only visible rows were evaluated


async def test_live_refresh_from_another_connection(make_app, other_desk):
    import asyncio
    import time

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = table_of(app)
        await pilot.press("j", "j")
        ticket = table.cursor_id
        before = table.total
        new_id = other_desk.create(
            NewTicket(
                subject="Arrived from elsewhere",
                customer="Atelier Moreau",
                priority="P1",
                created_at=NOW - timedelta(hours=9),
            )
        ).id
        start = time.monotonic()
        while table.total == before and time.monotonic() - start < patience(2.5):
            await asyncio.sleep(0.1)
        assert table.total == before + 1, "a new ticket from another process shows within 2 s"
        assert time.monotonic() - start <= patience(2.0)  # 2 s on a quiet machine
        assert table.cursor_id == ticket  # the cursor stayed on its ticket
        assert table.query_.position(new_id) is not None


async def test_untrusted_subject_shows_literally(make_app, other_desk):
    evil = "[bold red]x[/] \x1b[2J\x1b]0;pwned\x07"
    other_desk.import_tickets(
        [
            NewTicket(
                subject=evil,
                customer="[i]Evil[/i] Corp",
                priority="P1",
                created_at=NOW - timedelta(days=30),
                ref="EVIL-1",
            )
        ]
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("colon", *"EVIL-1", "enter")
        await settle(pilot)  # the ticket is looked up in a thread
        table = table_of(app)
        text = lines(table)[table.cursor_index - int(table.scroll_y)]
        assert "[bold red]x[/] \\x1b[2J\\x1b]0;pw" in text  # (the rest is cut to the column)
        assert "[i]Evil[/i]" in text
        assert "\x1b" not in text and "\x07" not in text


async def test_enter_opens_the_ticket_and_esc_comes_back(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = table_of(app)
        await pilot.press("j", "j", "j", "j")
        ticket = table.cursor_id
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TicketScreen) and app.screen.ticket_id == ticket
        app.tick()
        await pilot.pause()
        assert app.screen.query("Countdown")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen)
        assert table.cursor_id == ticket


async def test_command_line_views_and_help(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("colon", *"view breaching", "enter")
        assert app.screen.state.view == "breaching"
        await pilot.press("question_mark")
        await pilot.pause()
        from deskterm.tui.screens.modals import KeysScreen

        assert isinstance(app.screen, KeysScreen)
        keys = app.screen.bindings_list
        assert any("Claim" in d for _, d in keys) and any("Freeze" in d for _, d in keys)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen)


async def test_frozen_order_keeps_rows_in_place(make_app, other_desk):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = table_of(app)
        await pilot.press("Z")
        order = [r.id for r in table.visible_rows()]
        target = table.row_at(3)
        other_desk.update(target.id, __import__("deskterm.service", fromlist=["Change"]).Change(priority="P4"))
        app.poll()
        await pilot.pause()
        assert [r.id for r in table.visible_rows()] == order
        assert table.row_at(3).priority == "P4"


async def test_command_palette_lists_the_queue_actions(make_app):
    from deskterm.tui.commands import ScreenActions

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")  # unassigned: the claim can succeed
        provider = ScreenActions(app.screen)
        hits = [hit async for hit in provider.search("claim")]
        assert hits and "Claim" in str(hits[0].text)
        found = [str(hit.text) for hit in [hit async for hit in provider.discover()]]
        assert any(t.startswith("Claim the ticket") and t.endswith("(c)") for t in found)
        assert any(t.startswith("Freeze the order") for t in found) and any(t.startswith("Sort by") for t in found)
        ticket = table_of(app).cursor_id
        await hits[0].command()
        await settle(pilot)
        assert app.desk.ticket(ticket).assignee == "alice"


def _position(table, ticket_id):
    return table.query_.position(ticket_id)


def _line_of(table, ticket_id) -> str:
    """The rendered text of a visible ticket's line (the strip's segments)."""
    y = _position(table, ticket_id) - int(table.scroll_y) + 1
    assert 1 <= y <= table.rows_visible, "the ticket is not on screen"
    return table.render_line(y)


async def _settled(pilot) -> None:
    # the re-read order arrives from a worker, and the rows it shows are then evaluated by another
    for _ in range(3):
        await settle(pilot)


def _later_due_earlier_warning(desk) -> tuple[int, int]:
    """Two 24x7 tickets: A is due later than B (2 h 01 vs 1 h) but its warning starts first (in 1 min, at
    75 % of 8 h; B's in 30 min, at 75 % of 2 h)."""
    [a, b] = desk.import_tickets(
        [
            NewTicket(
                subject="Later due, earlier warning",
                customer="Clinique Saint-Jean",
                priority="P4",
                created_at=NOW - timedelta(hours=5, minutes=59),
                ref="MOVE-A",
            ),
            NewTicket(
                subject="Sooner due, later warning",
                customer="Clinique Saint-Jean",
                priority="P3",
                created_at=NOW - timedelta(hours=1),
                ref="MOVE-B",
            ),
        ]
    )
    return a, b


async def test_a_ticket_moves_up_when_it_crosses_its_warning_then_its_breach(make_app, demo, other_desk):
    """Two 24x7 tickets: A is due later than B (2 h 01 vs 1 h) but its warning starts first (in 1 min, at
    75 % of 8 h; B's in 30 min, at 75 % of 2 h). Stepping the clock past A's warning puts A above B in
    the tick its countdown turns to warning, the cursor staying on its ticket; past A's deadline, A joins
    the breached tickets at the top."""
    db, config, clock = demo
    a, b = _later_due_earlier_warning(other_desk)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = table_of(app)
        await pilot.press("slash", *"customer:clinique", "enter")  # a short list: both on screen
        await _settled(pilot)
        await pilot.press("colon", *"MOVE-B", "enter")
        await _settled(pilot)
        assert table.cursor_id == b
        assert _position(table, b) < _position(table, a)  # neither warned yet: by deadline
        assert table.countdown(table.row_at(_position(table, a))).state == "running"

        clock.advance(minutes=2)  # past A's warning (NOW + 1 min), before B's (NOW + 30 min)
        app.tick()
        # the same tick: A's countdown is a warning (symbol and colour) before the new order arrives
        row_a = table.row_at(_position(table, a))
        assert table.countdown(row_a).state == "warning"
        cell = next(s for s in _line_of(table, a) if s.text.startswith("!"))
        assert cell.style.color is not None
        warning_colour = cell.style.color
        await _settled(pilot)
        assert _position(table, a) < _position(table, b)  # A moved above B
        assert table.cursor_id == b and table.cursor_row.id == b  # the cursor stayed on B
        now = clock.now()
        rows = table.query_.window(0, table.total)
        # above A: only breached tickets and warnings (A is in the warning group)
        assert all(
            r.next_due < now or (r.next_warn is not None and r.next_warn <= now) for r in rows[: _position(table, a)]
        )

        # now on A: past its deadline (B's passed before), A is breached, in the group at the top
        table.select_ticket(a)
        clock.advance(hours=2)  # NOW + 2 h 02 > A's deadline, NOW + 2 h 01
        app.tick()
        assert table.countdown(table.cursor_row).state == "breached"
        await _settled(pilot)
        now = clock.now()
        rows = table.query_.window(0, table.total)
        position = _position(table, a)
        assert table.cursor_id == a and table.cursor_row.id == a
        assert all(r.next_due is not None and r.next_due < now for r in rows[: position + 1])  # breached above
        assert not any(r.next_due is not None and r.next_due < now for r in rows[position + 1 :])  # none below
        assert _position(table, b) < position  # B breached first: more overdue, higher
        cell = next(s for s in _line_of(table, a) if s.text.startswith("✖"))
        assert cell.style.color not in (None, warning_colour)


async def test_frozen_order_waits_for_z(make_app, demo, other_desk):
    """``Z``: a ticket crossing its warning changes colour but keeps its place until the order is unfrozen."""
    db, config, clock = demo
    a, b = _later_due_earlier_warning(other_desk)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = table_of(app)
        await pilot.press("slash", *"customer:clinique", "enter")
        await _settled(pilot)
        await pilot.press("Z")
        order = [r.id for r in table.visible_rows()]
        clock.advance(minutes=2)
        app.tick()
        await _settled(pilot)
        assert [r.id for r in table.visible_rows()] == order  # frozen: no move
        assert table.countdown(table.row_at(_position(table, a))).state == "warning"
        assert _position(table, b) < _position(table, a)
        await pilot.press("Z")  # unfrozen: the order of now
        await _settled(pilot)
        assert _position(table, a) < _position(table, b)


async def test_keys_never_wait_for_an_evaluation(make_app, monkeypatch):
    """Rows not evaluated yet are painted at once from the ticket row (the stored deadline, warning instant,
    timer and paused time left); the evaluation, in a worker, then confirms them: the lines read the same,
    so it costs no second frame (but for a ticket in warning by a timer other than the one due first,
    whose line then names the timer in warning)."""
    import threading

    from deskterm.tui.sla_cache import SlaCache

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = table_of(app)
        gate = threading.Event()
        load = SlaCache.load

        def slow_load(self, ids):
            gate.wait(10)  # the evaluation takes as long as the test says
            return load(self, ids)

        monkeypatch.setattr(SlaCache, "load", slow_load)
        shown = []
        for key in ("G", "g"):  # the last rows (paused among them), then the first (breached, warning)
            while table.evaluating:  # the evaluations ahead of the screen, after the previous key
                await settle(pilot)
            gate.clear()
            table.sla = SlaCache(app.desk)  # nothing evaluated yet
            await pilot.press(key)
            assert table.cursor_index == (table.total - 1 if key == "G" else 0)  # handled, the evaluation blocked
            rows = table.visible_rows()
            assert all(table.countdown(r) is None for r in rows)
            before = lines(table)
            shown += before
            assert all(any(name in text[:16] for name in ("res", "resp", "upd")) for text in before)
            gate.set()
            await settle(pilot)
            await settle(pilot)
            assert not table.sla.missing(rows)
            now = app.desk.clock.now()
            for row, first, evaluated in zip(rows, before, lines(table), strict=False):
                timer = table.countdown(row, now)
                if timer.name != row.next_timer:  # the exception above, and only it
                    assert timer.state == "warning" and row.next_warn <= now, (first, evaluated)
                else:
                    assert first == evaluated
        assert {"⏸", "✖", "!"} <= {text[2] for text in shown}  # paused, breached and warning rows were seen


async def test_typing_a_search_lays_nothing_out(make_app, monkeypatch):
    """A search character repaints the prompt, the rows and the status line, and asks for no layout of the
    screen (one costs a frame of its own, 17–33 ms after the keystroke's)."""
    from textual.widget import Widget

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("slash")
        await settle(pilot)
        layouts = []
        refresh = Widget.refresh

        def spy(self, *regions, **kwargs):
            if kwargs.get("layout"):
                layouts.append(type(self).__name__)
            return refresh(self, *regions, **kwargs)

        monkeypatch.setattr(Widget, "refresh", spy)
        table = table_of(app)
        everything = table.total
        for key in ("v", "p", "backspace"):
            await pilot.press(key)
            await settle(pilot)
        assert table.total < everything  # it did narrow ("v")
        assert layouts == []


async def test_breaching_soon_takes_in_tickets_as_time_passes_without_sql(make_app, demo, other_desk, monkeypatch):
    """ "Breaching soon" follows the clock: a ticket enters in the tick its deadline comes within the hour,
    and ticks in between run no SQL for the view (it was re-run every second: ~120 ms at 100,000 tickets);
    the cursor stays on its ticket."""
    db, config, clock = demo
    # a P3 ticket of a 24x7 customer created 58 min ago: first response due in 1 h 02 (2 h), its warning in
    # 32 min (75 %): it enters "breaching soon" by its deadline, in 2 min
    [tid] = other_desk.import_tickets(
        [
            NewTicket(
                subject="Enters soon",
                customer="Clinique Saint-Jean",
                priority="P3",
                created_at=NOW - timedelta(minutes=58),
                ref="SOON-1",
            )
        ]
    )
    sql_runs = []
    original = QueueQuery.sql_ids
    monkeypatch.setattr(
        QueueQuery, "sql_ids", lambda self, progress=None: sql_runs.append(self.view) or original(self, progress)
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = table_of(app)
        await pilot.press("3")
        await _settled(pilot)
        due = other_desk.ticket(tid).next_due
        assert table.query_.position(tid) is None and table.total > 0
        cursor = table.cursor_id
        sql_runs.clear()
        for _ in range(5):  # seconds in which nothing enters: nothing is run
            clock.advance(seconds=1)
            app.tick()
            await _settled(pilot)
        assert table.query_.position(tid) is None
        clock.set(due - timedelta(hours=1))
        app.tick()
        await _settled(pilot)
        assert table.query_.position(tid) is not None  # entered at its instant
        assert table.cursor_id == cursor
        assert sql_runs == []  # taken again from the same SQL order


async def test_search_finds_a_ticket_created_elsewhere(make_app, other_desk):
    """The search's texts are the store's (``ticket_search``, written with each ticket): a ticket another agent
    created is found by its first search."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        search = app.screen.search
        await settle(pilot)
        [tid] = other_desk.import_tickets(
            [
                NewTicket(
                    subject="Imprimante bloquée au 3e",
                    customer="Atelier Moreau",
                    priority="P3",
                    created_at=NOW,
                    ref="NEW-77",
                )
            ]
        )
        app.screen.data_changed()
        await settle(pilot)
        await pilot.press("slash", *"imprimante bloquée")
        await settle(pilot)
        table = table_of(app)
        assert [r.id for r in table.visible_rows()] == [tid]
        assert search.searches >= 1


async def test_the_mouse_works_too(make_app):
    """A click on a tab chooses its view, on a column title sorts by it (again: the other way round), on a
    row puts the cursor there; a double click opens the ticket."""
    from deskterm.tui.widgets.queue_table import layout

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen, table = app.screen, table_of(app)
        tabs = screen.query_one(ViewTabs)
        start, _, key = next(span for span in tabs._spans if span[2] == "pending")
        await pilot.click(ViewTabs, offset=(start + 1 + 1, 0))  # (the tabs' padding)
        await settle(pilot)
        assert screen.state.view == "pending" and tabs.current == "pending"

        x = 0
        for col, width in layout(table.scrollable_content_region.width):
            if col.key == "customer":
                break
            x += width + 1
        await pilot.click(QueueTable, offset=(x + 2, 0))
        await settle(pilot)
        assert table.sort == Sort("customer")
        await pilot.click(QueueTable, offset=(x + 2, 0))
        await settle(pilot)
        assert table.sort == Sort("customer", descending=True)

        await pilot.click(QueueTable, offset=(20, 3))  # the third row
        assert table.cursor_index == 2
        ticket = table.cursor_id
        await pilot.double_click(QueueTable, offset=(20, 3))
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and app.screen.ticket_id == ticket


async def test_a_tick_repaints_only_the_cells_that_changed(make_app, demo, monkeypatch):
    """A minute later countdowns and ages on screen read differently, and nothing else: the tick asks for
    those cells only (the SLA and Age columns of the lines that changed), not for whole lines, and they
    hold every character that changed."""
    from textual.widget import Widget

    from deskterm.tui.widgets.queue_table import layout

    db, config, clock = demo
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = table_of(app)
        spans, x = {}, 0
        for col, w in layout(table.scrollable_content_region.width):
            spans[col.key] = (x, w)
            x += w + 1
        before = lines(table)
        asked = []
        refresh = Widget.refresh

        def spy(self, *regions, **kwargs):
            if self is table:
                asked.extend(regions)
            return refresh(self, *regions, **kwargs)

        monkeypatch.setattr(Widget, "refresh", spy)
        clock.advance(minutes=1)
        app.tick()
        monkeypatch.setattr(Widget, "refresh", refresh)
        assert asked, "a minute later, some countdown reads differently"
        assert {(r.x, r.width) for r in asked} <= {spans["due"], spans["age"]} and all(r.height == 1 for r in asked)
        await settle(pilot)
        after = lines(table)
        for y, (old, new) in enumerate(zip(before, after, strict=False), 1):
            cells = [(r.x, r.width) for r in asked if r.y == y]
            differ = [i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b]
            assert all(any(x <= i < x + w for x, w in cells) for i in differ), (old, new, cells)
        assert before != after


async def test_states_and_the_cursor_stay_apart_in_16_colours(make_app):
    """On a 16-colour terminal (the colours downgraded to the 16 standard ones, as Rich does): breached,
    warning and running countdowns keep three different colours, each visible on the row's background, and
    the cursor's row a background of its own. (Paused and met are told by their symbol and style too.)"""
    from rich.color import ColorSystem

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = table_of(app)

        def sixteen(color):
            return color.downgrade(ColorSystem.STANDARD).number

        background = sixteen(table.rich_style.bgcolor)
        states = {
            s: sixteen(table.get_component_rich_style(f"sla--{s}", partial=True).color)
            for s in ("breached", "warning", "running")
        }
        assert len(set(states.values())) == 3, states
        assert background not in states.values(), (background, states)
        cursor = table.get_component_rich_style("queue-table--cursor")
        assert sixteen(cursor.bgcolor) != background


@pytest.mark.parametrize("sort_keys", [(), ("colon", *"sort priority", "enter")])
async def test_a_ticket_leaves_breaching_soon_in_the_second_it_breaches(make_app, demo, other_desk, sort_keys):
    """Issue 13 item 12: "breaching soon" holds no breached ticket. A P3 of a 24x7 customer created 1 h 59 ago
    (first response 2 h) is in it; one second past its deadline it is breached and leaves the view, by "time
    to breach" and in another sort alike; the tab's count follows."""
    db, config, clock = demo
    [tid] = other_desk.import_tickets(
        [
            NewTicket(
                subject="Leaves soon",
                customer="Clinique Saint-Jean",
                priority="P3",
                created_at=NOW - timedelta(hours=1, minutes=59),
                ref="GONE-1",
            )
        ]
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = table_of(app)
        await pilot.press("3")
        if sort_keys:
            await pilot.press(*sort_keys)
        await _settled(pilot)
        assert table.query_.position(tid) is not None
        due = other_desk.ticket(tid).next_due
        clock.set(due + timedelta(seconds=1))
        app.tick()
        await _settled(pilot)
        assert table.query_.position(tid) is None  # breached: not "soon" any more
        app.screen.recount(data=False)
        await _settled(pilot)
        assert app.screen.counts["breaching"] == table.total
        await pilot.press("6")
        await _settled(pilot)
        assert table.query_.position(tid) is not None  # it is among the breached of "All open"


@pytest.mark.parametrize("width", [80, 120])
def test_the_sorted_column_shows_its_arrow_at_every_width(width):
    """Every column the queue can be sorted by shows ▲/▼ in its header, shortening its title if the column is
    just as wide (at 80 columns "Assignee" filled its 8 cells and the arrow was cut off)."""
    for col, w in layout(width):
        for descending, arrow in ((False, "▲"), (True, "▼")):
            cell = header_cell(col, w, col.key, descending)
            assert len(cell) == w and arrow in cell, (col.key, cell)
            assert arrow not in header_cell(col, w, "another", descending)
    assignee = next((c, w) for c, w in layout(80) if c.key == "assignee")
    assert header_cell(*assignee, "assignee", False) == "Assigne▲"
