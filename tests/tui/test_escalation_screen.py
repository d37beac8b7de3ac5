"""The escalation screen: order by urgency, overdue highlighting with a steppable clock, acknowledge, return to
L1, escalate further, live count and notification, the app's clock ticking while the list is rebuilt or the app
closes, and the automatic rules applied in a worker.

A reload (a key, another connection's commit) reads in a worker and then rebuilds the list over several turns
of the event loop, and the app's own one-second interval may start another one meanwhile: the tests wait for
``EscalationScreen.up_to_date`` (the newest reload is on screen), with a bound, before they look at the rows.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from tuihelp import NOW, SIZE, ready, settle

from deskterm.service import Change, Desk
from deskterm.store.engine import open_store
from deskterm.tui.screens.escalations import (
    OVERDUE_MARK,
    EscalationScreen,
    EscItem,
    TextPromptScreen,
    apply_rules_in_background,
)
from deskterm_testing import patience

# esc_config and screen_config (groups L2-network, L3-vendor; manager duty-manager) are in conftest.py


@pytest.fixture
def setup_desk(demo, esc_config):
    """bob's Desk on the same database (another agent's process)."""
    db, _, clock = demo
    store = open_store(db)
    yield Desk(store, esc_config, clock=clock, user="bob")
    store.dispose()


def open_tickets(desk: Desk, before) -> list:
    ts = [t for t in desk.tickets(["open", "new"]) if t.updated_at <= before]
    return sorted(ts, key=lambda t: t.id)


@pytest.fixture
def escalated(setup_desk, clock):
    """Three open escalations: #a raised 20 min ago (overdue), #b 5 min ago, #c 30 min ago and acknowledged."""
    desk = setup_desk
    a, b, c = open_tickets(desk, NOW - timedelta(hours=1))[:3]
    clock.set(NOW - timedelta(minutes=30))
    desk.escalate(c.id, "functional", "L2-network", "switch logs needed")
    desk.acknowledge(desk.escalations(ticket=c.id)[0].id)
    clock.set(NOW - timedelta(minutes=20))
    desk.escalate(a.id, "hierarchical", "duty-manager", "customer threatens penalties")
    clock.set(NOW - timedelta(minutes=5))
    desk.escalate(b.id, "functional", "L3-vendor", "vendor bug")
    clock.set(NOW)
    return a.id, b.id, c.id


async def until_shown(pilot, screen: EscalationScreen) -> None:
    """Wait until the screen shows its newest reload: its worker has read the rows and the list is rebuilt
    (each takes several turns of the event loop, many more on a busy machine; bounded, about 4 s at least)."""
    for _ in range(100):
        await settle(pilot)
        if screen.up_to_date:
            return
    raise AssertionError("the escalation list never showed its newest reload")


async def show(app, pilot) -> EscalationScreen:
    await ready(pilot)
    screen = EscalationScreen()
    await app.push_screen(screen)
    await until_shown(pilot, screen)
    await pilot.pause(0.05)  # the screen repaints on its own update timer
    return screen


def items(screen: EscalationScreen) -> list[EscItem]:
    return list(screen.list_view.query(EscItem))


def line_text(item: EscItem) -> str:
    return item.line.render().plain


async def test_order_and_overdue_highlighting_with_a_steppable_clock(make_app, screen_config, escalated, clock):
    a, b, c = escalated
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        rows = screen.rows
        assert {r.ticket_id for r in rows} == {a, b, c}
        # the unacknowledged ones first (ordered by the ticket's nearest deadline), the acknowledged last
        assert rows[-1].ticket_id == c and rows[-1].acknowledged
        desk = app.desk
        dues = []
        for r in rows[:2]:
            nearest = desk.sla(desk.ticket(r.ticket_id), NOW).nearest()
            dues.append(nearest.due if nearest and nearest.due is not None else float("inf"))
        assert dues == sorted(dues)
        by_ticket = {i.row.ticket_id: i for i in items(screen)}
        assert by_ticket[a].has_class("-overdue") and line_text(by_ticket[a]).startswith(OVERDUE_MARK)
        assert "NOT ACKED" in line_text(by_ticket[a])
        assert not by_ticket[b].has_class("-overdue") and "not acked" in line_text(by_ticket[b])
        assert not by_ticket[c].has_class("-overdue") and "✓ bob" in line_text(by_ticket[c])
        assert "L3" in line_text(by_ticket[b]) and "manager" in line_text(by_ticket[a])
        status = str(screen.query_one("#esc-status").render())
        assert "3 open escalations" in status and "2 not acknowledged" in status and "1 overdue" in status
        # five minutes later #b is past ack_within (10 min): highlighted on the next tick
        clock.advance(minutes=5)
        app.tick()
        await pilot.pause()
        assert by_ticket[b].has_class("-overdue") and "NOT ACKED" in line_text(by_ticket[b])
        assert "2 overdue" in str(screen.query_one("#esc-status").render())
        # the SLA countdown is shown and moves with the clock
        before = by_ticket[a].line.timer
        clock.advance(minutes=3)
        app.tick()
        assert before is not None and by_ticket[a].line.timer.remaining <= before.remaining


async def test_acknowledge(make_app, screen_config, escalated):
    a, b, c = escalated
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        first = screen.cursor_row
        assert first is not None and not first.acknowledged
        await pilot.press("a")
        await settle(pilot)
        record = next(e for e in app.desk.escalations(open_only=False) if e.id == first.id)
        assert record.acknowledged_by == "alice" and record.acknowledged_at == NOW
        await until_shown(pilot, screen)  # the reload the key asked for (and any the app's poll added)
        assert [r.acknowledged for r in screen.rows].count(True) == 2
        # the cursor stays on it (now below the unacknowledged one)
        assert screen.cursor_row.id == first.id
        await pilot.press("a")  # already acknowledged: refused, nothing written
        await settle(pilot)
        assert any("already acknowledged" in str(n.message) for n in app._notifications)


async def return_prompt(app, pilot, ticket_id: int):
    """The escalation list with ``r`` pressed on the third row (``ticket_id``'s): (the screen, the row)."""
    screen = await show(app, pilot)
    await pilot.press("j", "j")
    row = screen.cursor_row
    assert row.ticket_id == ticket_id
    await pilot.press("r")
    await pilot.pause()
    assert isinstance(app.screen, TextPromptScreen)
    return screen, row


async def test_return_to_l1_requires_a_note(make_app, screen_config, escalated):
    a, b, c = escalated
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        screen, row = await return_prompt(app, pilot, c)
        await pilot.press("enter")  # empty: refused by the dialog
        await pilot.pause()
        assert isinstance(app.screen, TextPromptScreen)
        await pilot.press(*"not a network issue, check the PC", "enter")
        await settle(pilot)
        assert app.screen is screen
        record = next(e for e in app.desk.escalations(open_only=False) if e.id == row.id)
        assert (record.outcome, record.note, record.closed_by) == (
            "returned",
            "not a network issue, check the PC",
            "alice",
        )
        assert app.desk.ticket(c).group == "L1"
        # written, so the reload is asked for; its rows come from a worker, and the app's interval may see
        # the commit and ask for another (the older result is then dropped): wait for the newest on screen
        await until_shown(pilot, screen)
        assert {r.ticket_id for r in screen.rows} == {a, b}
        assert {i.row.ticket_id for i in items(screen)} == {a, b}


async def test_return_to_l1_over_a_change_made_meanwhile_writes_nothing_and_asks_again(
    make_app, screen_config, escalated, setup_desk
):
    """Seen in a shift: `r` on an escalation, and while the note was typed L2 wrote on the ticket ("replaced the
    router"): the return went through over a state the agent had not seen. It now carries the ticket's version
    shown: nothing is written, the change is said, and the prompt opens again with the note, on the new state."""
    a, b, c = escalated
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        screen, row = await return_prompt(app, pilot, c)
        await pilot.press(*"check the PC")
        await asyncio.to_thread(setup_desk.update, c, Change(note="replaced the router"))
        await pilot.press("enter")
        for _ in range(100):
            await settle(pilot)
            if isinstance(app.screen, TextPromptScreen):
                break
        assert isinstance(app.screen, TextPromptScreen), app.screen
        assert app.screen.query_one("#prompt-input").value == "check the PC"
        record = next(e for e in app.desk.escalations(open_only=False) if e.id == row.id)
        assert record.closed_at is None  # nothing written
        assert any("changed since" in str(n.message) for n in app._notifications)
        await pilot.press("enter")  # on the state now shown
        await settle(pilot)
        record = next(e for e in app.desk.escalations(open_only=False) if e.id == row.id)
        assert (record.outcome, record.note) == ("returned", "check the PC")


async def test_escalate_further_offers_only_higher_or_other_targets(make_app, screen_config, escalated):
    """From L2-network (functional): L3 and the manager, not L2-network itself; from the duty manager
    (hierarchical): the groups, not the duty manager; from L3-vendor, the top group: the manager only. Going
    further on the functional line closes the L2 escalation; going to the manager opens the other line beside it."""
    a, b, c = escalated
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)

        async def offered(ticket: int) -> list[str]:
            screen.list_view.index = next(i for i, r in enumerate(screen.rows) if r.ticket_id == ticket)
            await pilot.press("e")
            await pilot.pause()
            labels = [str(o.prompt) for o in app.screen.query_one("#choices").options]
            return labels

        assert await offered(a) == ["L2-network (L2, functional)", "L3-vendor (L3, functional)"]
        await pilot.press("escape")
        await pilot.pause()
        assert await offered(b) == ["duty-manager (manager, hierarchical)"]
        await pilot.press("escape")
        await pilot.pause()
        assert await offered(c) == ["L3-vendor (L3, functional)", "duty-manager (manager, hierarchical)"]
        await pilot.press("enter")  # L3-vendor
        await pilot.pause()
        assert isinstance(app.screen, TextPromptScreen)
        await pilot.press(*"switch firmware bug", "enter")
        await settle(pilot)
        old, new = sorted((e for e in app.desk.escalations(open_only=False) if e.ticket_id == c), key=lambda e: e.id)
        assert (old.target, old.outcome, old.closed_by) == ("L2-network", "escalated", "alice")
        assert (new.kind, new.level, new.target, new.created_by, new.closed_at) == (
            "functional",
            "L3",
            "L3-vendor",
            "alice",
            None,
        )
        await until_shown(pilot, screen)
        screen.list_view.index = next(i for i, r in enumerate(screen.rows) if r.ticket_id == b)
        await pilot.press("e", "enter")  # b (L3-vendor) → duty-manager: the hierarchical line opens beside it
        await pilot.pause()
        await pilot.press(*"vendor silent for 2 days", "enter")
        await settle(pilot)
        assert sorted((e.kind, e.target, e.closed_at) for e in app.desk.escalations(ticket=b)) == [
            ("functional", "L3-vendor", None),
            ("hierarchical", "duty-manager", None),
        ]
        await until_shown(pilot, screen)
        assert len(screen.rows) == 4
        # our own escalations are no news: no toast, no bell
        assert not any(n.title.startswith("New escalation") for n in app._notifications)


async def test_first_and_last_keys(make_app, screen_config, escalated):
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        assert screen.list_view.index == 0
        for last, first in (("G", "g"), ("end", "home")):
            await pilot.press(last)
            await pilot.pause()
            assert screen.list_view.index == len(screen.rows) - 1 == 2
            assert screen.cursor_row.id == screen.rows[-1].id
            await pilot.press(first)
            await pilot.pause()
            assert screen.list_view.index == 0


async def test_the_cursor_moves_to_the_next_row_when_its_row_leaves(make_app, screen_config, escalated, setup_desk):
    """Returned to L1 (or acknowledged, resolved elsewhere), the row leaves the list: the cursor goes to the row
    that followed it, not back to the top; the last row's successor is the row before it."""
    a, b, c = escalated
    more = [t for t in open_tickets(setup_desk, NOW) if t.id not in (a, b, c)][:2]
    for t in more:
        setup_desk.escalate(t.id, "hierarchical", "duty-manager", "more work")
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        assert len(screen.rows) == 5
        await pilot.press("j")
        await pilot.pause()
        second, third = screen.rows[1], screen.rows[2]
        await pilot.press("r")
        await pilot.pause()
        await pilot.press(*"handled by L1 after all", "enter")
        await settle(pilot)
        await until_shown(pilot, screen)
        assert second.id not in {r.id for r in screen.rows}
        assert screen.cursor_row.id == third.id and screen.list_view.index == 1
        # another agent resolves the last row's ticket: the cursor, on it, goes to the row before it
        await pilot.press("G")
        await pilot.pause()
        last, before_last = screen.rows[-1], screen.rows[-2]
        setup_desk.update(last.ticket_id, Change(status="resolved"))
        assert app.poll()
        await until_shown(pilot, screen)
        assert last.id not in {r.id for r in screen.rows}
        assert screen.cursor_row.id == before_last.id


async def test_a_resolved_ticket_leaves_the_list(make_app, screen_config, escalated, setup_desk):
    a, b, c = escalated
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        setup_desk.update(a, Change(status="resolved"))
        assert app.poll()
        await until_shown(pilot, screen)
        assert {r.ticket_id for r in screen.rows} == {b, c}
        assert "2 open escalations · 1 not acknowledged" in str(screen.query_one("#esc-status").render())


async def test_enter_opens_the_ticket(make_app, screen_config, escalated):
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        ticket = screen.cursor_row.ticket_id
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is not screen and getattr(app.screen, "ticket_id", None) == ticket
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_new_escalation_from_elsewhere_updates_the_count_and_rings(
    make_app, screen_config, escalated, setup_desk, monkeypatch
):
    a, b, c = escalated
    app = make_app(config=screen_config)
    bells = []
    monkeypatch.setattr(app, "bell", lambda: bells.append(1))
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        other = next(t for t in open_tickets(setup_desk, NOW) if t.id not in (a, b, c))
        setup_desk.escalate(other.id, "functional", "L2-network", "needs the network team")
        assert app.poll()  # what the app's interval does every second
        assert not screen.up_to_date  # the poll asked for a reload
        await until_shown(pilot, screen)
        assert len(screen.rows) == 4 and len(items(screen)) == 4
        assert "4 open escalations" in str(screen.query_one("#esc-status").render())
        assert any(n.title == "New escalation" and f"#{other.id}" in str(n.message) for n in app._notifications)
        assert bells == [1]


async def test_the_clock_ticks_while_the_list_is_rebuilt(make_app, screen_config, escalated):
    """The app's clock runs in the app's own task: it can tick between the awaits of a reload's rebuild, when an
    old item has lost its line and a new one has none yet (it raised NoMatches and stopped the app)."""
    a, b, c = escalated
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        before = str(screen.query_one("#esc-status").render())
        for _ in range(3):
            screen.data_changed()  # what the app's poll calls when another connection commits
            await app.workers.wait_for_complete()  # the rows are read: the rebuild is next
            for _turn in range(10_000):  # a tick at every turn of the event loop until the rebuild is done
                app.tick()
                if screen.up_to_date:
                    break
                await asyncio.sleep(0)
            assert screen.up_to_date
        assert {i.row.ticket_id for i in items(screen)} == {a, b, c}
        assert str(screen.query_one("#esc-status").render()) == before


async def test_the_clock_ticks_while_the_app_closes(make_app, screen_config, escalated):
    """Under run_test the app's interval still runs while the screens' widgets are removed: a tick then paints
    nothing (it raised NoMatches on the status line, failing the test at its end)."""
    app = make_app(config=screen_config)
    errors: list[Exception] = []

    async def tick_every_turn() -> None:
        while True:
            try:
                app.tick()
            except Exception as exc:  # noqa: BLE001 - recorded: the app's timer would stop the app with it
                errors.append(exc)
                return
            await asyncio.sleep(0)

    async with app.run_test(size=SIZE) as pilot:
        await show(app, pilot)
        ticker = asyncio.create_task(tick_every_turn())
    ticker.cancel()
    assert errors == []


async def test_apply_rules_in_background(make_app, esc_config, setup_desk, clock):
    app = make_app(config=esc_config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await settle(pilot)  # the running app applies the rules itself as soon as the store is open
        expected = [
            t
            for t in app.desk.tickets(["new", "open", "pending", "on_hold"])
            if t.priority == "P1" and app.desk.sla(t, NOW).timers["resolution"].state == "breached"
        ]
        assert expected  # the demo has breached P1 tickets
        records = app.desk.escalations()
        assert {e.ticket_id for e in records} == {t.id for t in expected}
        assert all((e.level, e.target, e.rule is not None) == ("manager", "duty-manager", True) for e in records)
        again = apply_rules_in_background(app)  # what the app's 30-second interval runs
        assert again is not None
        await again.wait()
        assert again.result == []  # idempotent: each (rule, ticket, cycle) fired once
        assert len(app.desk.escalations()) == len(records)


async def test_apply_rules_before_the_store_is_open_does_nothing(make_app):
    app = make_app()
    assert apply_rules_in_background(app) is None


@pytest.mark.parametrize(
    "size,no_color",
    [((80, 24), False), ((120, 40), False), ((80, 24), True)],
    ids=["80x24", "120x40", "80x24-no_color"],
)
def test_escalation_snapshot(snap_compare, make_app, screen_config, escalated, monkeypatch, size, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")  # read when the app is created: the » marker and NOT ACKED remain
    app = make_app(config=screen_config)

    async def run_before(pilot) -> None:
        await show(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_a_rule_firing_on_many_tickets_is_one_toast_naming_the_rule(make_app, esc_config, setup_desk, demo):
    """At start the app applies the rules: what one rule raised to one target is one toast, naming the rule by
    its `name` (else its `when`), never by its key; the escalation list names it too."""
    from dataclasses import replace

    from deskterm.service import NewTicket

    rule = replace(esc_config.escalation.rules[0], name="P1 past resolution")
    config = replace(esc_config, escalation=replace(esc_config.escalation, rules=(rule,)))
    for i in range(3):  # P1 tickets ten days old: their resolution target (hours) is breached
        setup_desk.create(
            NewTicket(
                subject=f"Outage {i}", customer="Atelier Moreau", priority="P1", created_at=NOW - timedelta(days=10)
            )
        )
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for _ in range(100):  # the rules run in a worker; the app's poll announces what they raised
            await settle(pilot)
            app.poll()
            if any(n.title.startswith("New escalation") for n in app._notifications):
                break
        fired = app.desk.escalations()
        assert len(fired) >= 3 and all(e.rule == rule.key for e in fired)
        toasts = [str(n.message) for n in app._notifications if n.title.startswith("New escalation")]
        assert toasts == [toasts[0]] and toasts[0].startswith(
            f"{len(fired)} tickets escalated by rule 'P1 past resolution' → duty-manager (manager): #"
        )
        assert rule.key not in toasts[0]
        screen = EscalationScreen()
        await app.push_screen(screen)
        await until_shown(pilot, screen)
        assert "(rule 'P1 past resolution')" in str(screen.query_one("#esc-detail").render())


async def test_acknowledging_on_a_busy_desk_does_not_freeze_the_screen(
    make_app, screen_config, escalated, demo, monkeypatch
):
    """Another writer holds the desk's write lock: `a` waits for it in a thread, the keys still work meanwhile,
    and the acknowledgement lands once the lock is released (it froze the screen for the retry window)."""
    import sqlite3
    import time

    monkeypatch.setenv("DESKTERM_BUSY_TIMEOUT", "5")
    db, _, _ = demo
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        first = screen.cursor_row
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            started = time.monotonic()
            await pilot.press("a")
            await pilot.press("j")
            assert time.monotonic() - started < patience(2)
            assert screen.list_view.index == 1  # the screen answered while the write waited
            # it says so, and its writing keys wait for it to settle
            assert f"saving acknowledgement of escalation {first.id}" in str(screen.query_one("#esc-status").render())
            assert screen.check_action("acknowledge", ()) is None and screen.check_action("cursor_down", ()) is True
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        await settle(pilot)
        record = next(e for e in app.desk.escalations(open_only=False) if e.id == first.id)
        assert record.acknowledged_by == "alice"
        assert any(n.title == "Acknowledged" for n in app._notifications)


def _shown(screen: EscalationScreen) -> list[tuple[int, int, int, bool]]:
    """The list as it stands: (escalation, ticket, the ticket's version, acknowledged), in order, rows and items."""
    rows = [(r.id, r.ticket_id, r.version, r.acknowledged) for r in screen.rows]
    assert [(i.row.id, i.line.row.version) for i in items(screen)] == [(r[0], r[2]) for r in rows]
    return rows


async def test_changes_elsewhere_read_only_the_changed_tickets(make_app, screen_config, escalated, setup_desk):
    """Issue 17: another agent's change reads again only the open escalations of the tickets it changed (not
    every open escalation), redraws the lines in place when the order holds, and shows what a whole reload
    shows."""
    a, b, c = escalated
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        asked: list[object] = []
        read = app.desk.escalations

        def spy(*args, **kwargs):
            asked.append(kwargs.get("tickets"))
            return read(*args, **kwargs)

        app.desk.escalations = spy  # type: ignore[method-assign]
        before = {i.row.id: i for i in items(screen)}
        painted: list[int] = []
        paint = screen._paint

        def painting(item, now, ack_within):
            painted.append(item.row.ticket_id)
            return paint(item, now, ack_within)

        screen._paint = painting  # type: ignore[method-assign]
        app.signals.clock_tick.unsubscribe(screen)  # (the app's clock draws every line each second)
        other = next(t for t in open_tickets(setup_desk, NOW) if t.id not in (a, b, c))
        setup_desk.update(b, Change(note="called the vendor"))  # its row stays where it is, at a new version
        setup_desk.update(other.id, Change(note="nothing to escalate here"))
        assert app.poll()
        await until_shown(pilot, screen)
        assert asked == [frozenset({b, other.id})]
        assert {i.row.id: i for i in items(screen)} == before  # the same items: nothing laid out again
        assert painted == [b]  # only the changed ticket's line is drawn again
        patched = _shown(screen)
        assert next(r for r in patched if r[1] == b)[2] == setup_desk.ticket(b).version
        await pilot.pause()
        shown = [line_text(i) for i in items(screen)], str(screen.query_one("#esc-status").render())
        screen.clock_tick(app.desk.clock.now())  # every line drawn again reads the same
        await pilot.pause()
        assert ([line_text(i) for i in items(screen)], str(screen.query_one("#esc-status").render())) == shown
        # an acknowledgement elsewhere moves its row (acknowledged last) and a new escalation adds one
        setup_desk.acknowledge(setup_desk.escalations(ticket=a)[0].id)
        setup_desk.escalate(other.id, "functional", "L2-network", "needs the network team")
        assert app.poll()
        await until_shown(pilot, screen)
        assert asked[1:] == [frozenset({a, other.id})]
        patched = _shown(screen)
        assert len(patched) == 4 and [r[3] for r in patched] == [False, False, True, True]  # acknowledged last
        screen.reload()  # every open escalation read again: the same list
        await until_shown(pilot, screen)
        assert asked[2:] == [None]
        assert _shown(screen) == patched


async def test_a_notification_leaves_the_escalation_details_whole_at_80x24(make_app, screen_config, escalated):
    """Found auditing issue 13 at 80x24: the toast of `a` ("Acknowledged") covered the right half of the details
    of the escalation under the cursor (who raised it, when, why) for its lifetime, as toasts did on the ticket."""
    app = make_app(config=screen_config)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await show(app, pilot)
        await pilot.press("a")
        await settle(pilot)
        await until_shown(pilot, screen)
        await pilot.pause(0.3)
        toasts = list(screen.query("Toast"))
        assert toasts
        detail = screen.query_one("#esc-detail")
        assert detail.region.height > 0
        for toast in toasts:
            assert not toast.region.overlaps(detail.region), (toast.region, detail.region)
            assert not toast.region.overlaps(screen.query_one("#esc-list").region)
