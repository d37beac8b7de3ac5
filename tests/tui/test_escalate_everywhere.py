"""Escalating from the ticket (``e``) and from the queue (``e`` on marked rows), the "Escalated" view that also
counts hierarchical escalations, and the app-wide toast and bell for an escalation raised elsewhere."""

from __future__ import annotations

import pytest
from tuihelp import SIZE, ready, settle

from deskterm.clock import os_user
from deskterm.service import Change, Desk
from deskterm.store.engine import open_store
from deskterm.tui.screens.detail import DetailScreen
from deskterm.tui.screens.escalations import EscalationScreen
from deskterm.tui.screens.modals import ChoiceScreen, TextPromptScreen, TicketListScreen
from deskterm.tui.screens.queue import QueueScreen, ViewTabs
from deskterm.tui.screens.stale import StaleDialog
from deskterm.tui.widgets.queue_table import QueueTable

LABELS = ["L2-network (L2, functional)", "L3-vendor (L3, functional)", "duty-manager (manager, hierarchical)"]


@pytest.fixture
def bob(demo, esc_config):
    """bob's Desk on the same database, with the escalation configuration (another agent's process)."""
    db, _, clock = demo
    store = open_store(db)
    yield Desk(store, esc_config, clock=clock, user="bob")
    store.dispose()


async def wait_for(pilot, cls) -> None:
    """Wait for a dialog: keys pressed before it is mounted would reach the screen below."""
    for _ in range(100):
        await pilot.pause()
        if isinstance(pilot.app.screen, cls) and pilot.app.screen.is_mounted:
            await pilot.pause()
            return
    raise AssertionError(f"{cls.__name__} did not open")


async def open_detail(pilot, ticket_id: int) -> DetailScreen:
    app = pilot.app
    await ready(pilot)
    await app.push_screen(DetailScreen(ticket_id))
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, DetailScreen) and screen.record is not None
    return screen


async def escalate_with_keys(pilot, choice_downs: int, reason: str) -> None:
    """``e``, the choice (``down`` × n from the first), then the reason."""
    await pilot.press("e")
    await wait_for(pilot, ChoiceScreen)
    assert [str(o.prompt) for o in pilot.app.screen.query_one("#choices").options] == LABELS
    await pilot.press(*["down"] * choice_downs, "enter")
    await wait_for(pilot, TextPromptScreen)
    await pilot.press(*reason, "enter")
    await settle(pilot)


def l1_tickets(desk: Desk, status: str = "open") -> list:
    return sorted((t for t in desk.tickets([status]) if t.group == "L1"), key=lambda t: t.id)


def titles(app) -> list[str]:
    return [n.title for n in app._notifications]


# -- the ticket ------------------------------------------------------------------------------------


async def test_detail_functional_escalation_moves_the_ticket(make_app, screen_config):
    app = make_app(user=None, config=screen_config)  # no user given: the OS user
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        ticket = l1_tickets(app.desk)[0]
        screen = await open_detail(pilot, ticket.id)
        await pilot.press("e")
        await wait_for(pilot, ChoiceScreen)
        await pilot.press("down", "enter")  # L3-vendor
        await wait_for(pilot, TextPromptScreen)
        await pilot.press("space", "enter")  # an empty reason is refused: the dialog stays, nothing is written
        await pilot.pause()
        assert isinstance(app.screen, TextPromptScreen)
        assert "required" in str(app.screen.query_one("#prompt-hint").render())
        assert app.desk.escalations(ticket=ticket.id) == []
        await pilot.press(*"vendor firmware bug", "enter")
        await settle(pilot)
        assert app.screen is screen
        after = app.desk.ticket(ticket.id)
        assert after.group == "L3-vendor" and after.version == ticket.version + 1
        [esc] = app.desk.escalations(ticket=ticket.id)
        assert (esc.kind, esc.level, esc.target, esc.reason, esc.created_by) == (
            "functional",
            "L3",
            "L3-vendor",
            "vendor firmware bug",
            os_user(),
        )
        event = after.events[-1]
        assert (event.kind, event.author, event.from_value, event.to) == (
            "escalate",
            os_user(),
            "functional",
            "L3-vendor",
        )
        assert "group L3-vendor" in str(screen.query_one("#detail-head").render())  # reloaded
        assert "Escalate" in titles(app)
        app.poll()  # (the app's interval may have polled already)
        await settle(pilot)
        assert app.last_escalation == esc.id  # seen, and our own escalation is no news: no toast
        assert "New escalation" not in titles(app)


async def test_detail_hierarchical_escalation_keeps_the_group(make_app, screen_config):
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        ticket = l1_tickets(app.desk)[1]
        await open_detail(pilot, ticket.id)
        await escalate_with_keys(pilot, 2, "customer asks for a manager")
        after = app.desk.ticket(ticket.id)
        assert after.group == "L1" and after.version == ticket.version + 1
        [esc] = app.desk.escalations(ticket=ticket.id)
        assert (esc.kind, esc.level, esc.target, esc.created_by) == ("hierarchical", "manager", "duty-manager", "alice")
        assert (after.events[-1].kind, after.events[-1].author) == ("escalate", "alice")


async def test_e_does_not_offer_what_the_ticket_is_escalated_to_already(make_app, screen_config, bob):
    """Found in a shift in tmux: e on a ticket escalated to the duty manager offered the duty manager again
    (which only closes the open escalation and opens the same one). Each open line's target is left out, and,
    on the functional line, the groups below it; a line with nothing open is offered whole."""
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        ticket = l1_tickets(app.desk)[1]
        bob.escalate(ticket.id, "hierarchical", "duty-manager", "customer asks for a manager")
        screen = await open_detail(pilot, ticket.id)
        await pilot.press("e")
        await wait_for(pilot, ChoiceScreen)
        assert [str(o.prompt) for o in app.screen.query_one("#choices").options] == LABELS[:2]
        await pilot.press("escape")
        await settle(pilot)
        bob.escalate(ticket.id, "functional", "L3-vendor", "vendor firmware bug")  # from elsewhere: read again
        app.poll()
        await settle(pilot)
        assert screen.record is not None and screen.record.group == "L3-vendor"
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)  # nothing left to offer: said, no empty dialog
        [nowhere] = [n for n in app._notifications if n.title == "Nowhere further"]
        assert nowhere.message.startswith("nothing above L3-vendor, duty-manager in the configuration")


async def test_a_closed_ticket_is_refused_before_the_dialog_opens(make_app, screen_config, bob):
    """Found in a shift in tmux: e on a closed ticket offered the targets and the reason, then refused."""
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        ticket = l1_tickets(app.desk)[2]
        bob.resolve(ticket.id, "fixed")
        bob.close(ticket.id)
        await open_detail(pilot, ticket.id)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)  # no dialog
        [refusal] = [n for n in app._notifications if n.title == "Escalate: refused"]
        assert refusal.message == f"#{ticket.id}: it is closed; reopen it before escalating"


async def test_detail_escalation_uses_the_version_on_screen(make_app, screen_config, bob, monkeypatch):
    app = make_app(config=screen_config)
    monkeypatch.setattr(app, "poll", lambda: False)  # the app has not noticed bob's change yet
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        ticket = l1_tickets(app.desk)[2]
        await open_detail(pilot, ticket.id)
        await pilot.press("e")
        await wait_for(pilot, ChoiceScreen)
        bob.update(ticket.id, Change(note="looking at it too"))  # while alice chooses
        await pilot.press("enter")
        await wait_for(pilot, TextPromptScreen)
        await pilot.press(*"network", "enter")
        await wait_for(pilot, StaleDialog)  # nothing written yet: what changed, then apply / re-open / cancel
        assert app.screen.changes[-1].endswith("bob: internal note: looking at it too")
        await pilot.press("escape")
        await settle(pilot)
        assert app.desk.escalations(ticket=ticket.id) == []
        assert app.desk.ticket(ticket.id).group == "L1"
        assert any(n.title == "Escalate: cancelled" for n in app._notifications)


# -- the queue -------------------------------------------------------------------------------------


async def test_queue_escalates_marked_rows_each_with_its_version(make_app, screen_config, bob):
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")  # unassigned
        await settle(pilot)
        table = app.screen.query_one(QueueTable)
        rows = [table.row_at(i) for i in range(3)]
        assert all(r.group == "L1" for r in rows)
        await pilot.press("space", "space", "space")
        assert set(table.marked) == {r.id for r in rows}
        await pilot.press("e")
        await wait_for(pilot, ChoiceScreen)
        assert "3 tickets" in str(app.screen.query_one("#dialog-title").render())
        await pilot.press("enter")  # L2-network
        await wait_for(pilot, TextPromptScreen)
        await pilot.press(*"switch down", "enter")
        await wait_for(pilot, TicketListScreen)  # the tickets as they stand, listed before anything is done
        assert len(app.screen.lines) == 3
        bob.update(rows[2].id, Change(priority="P1"))  # after alice saw the list: her version of it is stale
        await pilot.press("enter")
        for _ in range(50):  # what was done and skipped, ticket by ticket
            await settle(pilot)
            if isinstance(app.screen, TicketListScreen) and not app.screen.confirm:
                break
        assert " ".join(app.screen.lines[-1].split()).startswith(
            f"✗ #{rows[2].id} skipped: changed since you saw it: priority"
        )
        await pilot.press("escape")
        for _ in range(20):
            await settle(pilot)
            if any(n.title == "Escalated" for n in app._notifications):
                break
        assert isinstance(app.screen, QueueScreen) and not table.marked
        for r in rows[:2]:
            assert app.desk.ticket(r.id).group == "L2-network"
            [esc] = app.desk.escalations(ticket=r.id)
            assert (esc.level, esc.target, esc.reason, esc.created_by) == ("L2", "L2-network", "switch down", "alice")
        assert app.desk.escalations(ticket=rows[2].id) == [] and app.desk.ticket(rows[2].id).group == "L1"


async def test_queue_escalates_the_cursor_row_when_nothing_is_marked(make_app, screen_config):
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await settle(pilot)
        row = app.screen.query_one(QueueTable).cursor_row
        await escalate_with_keys(pilot, 2, "vip")
        for _ in range(20):
            await settle(pilot)
            if app.desk.escalations(ticket=row.id):
                break
        [esc] = app.desk.escalations(ticket=row.id)
        assert (esc.level, esc.target) == ("manager", "duty-manager")


# -- the "Escalated" view --------------------------------------------------------------------------


async def test_escalated_view_counts_a_hierarchical_escalation(make_app, screen_config, bob):
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        tabs = app.screen.query_one(ViewTabs)
        before = tabs.counts["escalated"]
        open_ = [t for t in app.desk.tickets() if t.status not in ("resolved", "closed")]
        assert before == sum(1 for t in open_ if t.group != "L1")  # no escalation record yet
        ticket = l1_tickets(bob)[0]
        bob.escalate(ticket.id, "hierarchical", "duty-manager", "penalties")
        assert bob.ticket(ticket.id).group == "L1"  # the group did not change
        assert app.poll()
        for _ in range(20):
            await settle(pilot)
            if tabs.counts["escalated"] != before:
                break
        assert tabs.counts["escalated"] == before + 1
        await pilot.press("4")
        await settle(pilot)
        table = app.screen.query_one(QueueTable)
        assert table.total == before + 1  # the window and the count agree
        assert ticket.id in table.query_.ids()
        # returned to L1: the escalation is closed, the ticket leaves the view
        [esc] = bob.escalations(ticket=ticket.id)
        bob.de_escalate(esc.id, "handled by phone")
        assert app.poll()
        for _ in range(20):
            await settle(pilot)
            if tabs.counts["escalated"] == before:
                break
        assert tabs.counts["escalated"] == before


# -- the app-wide notification ---------------------------------------------------------------------


async def test_escalation_from_elsewhere_toasts_and_rings_once_on_any_screen(make_app, screen_config, bob, monkeypatch):
    app = make_app(config=screen_config)
    bells = []
    monkeypatch.setattr(app, "bell", lambda: bells.append(1))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, QueueScreen)
        ticket = l1_tickets(bob)[0]
        bob.escalate(ticket.id, "functional", "L2-network", "needs [b]the network[/b] team")
        assert app.poll()
        await settle(pilot)
        assert not app.poll()  # nothing more: no second look, no second toast
        toasts = [n for n in app._notifications if n.title == "New escalation"]
        assert len(toasts) == 1 and bells == [1]
        message = str(toasts[0].message)
        assert f"#{ticket.id}" in message and "L2-network" in message and "(L2)" in message and "bob" in message
        assert "[b]the network[/b]" in message and not toasts[0].markup  # shown as written, never markup
        # on the escalation screen too, and only once (the screen no longer toasts by itself)
        await pilot.press("E")
        await settle(pilot)
        assert isinstance(app.screen, EscalationScreen)
        other = l1_tickets(bob)[0]
        bob.escalate(other.id, "hierarchical", "duty-manager", "second one")
        assert app.poll()
        for _ in range(20):
            await settle(pilot)
            if any(r.ticket_id == other.id for r in app.screen.rows):
                break
        assert any(r.ticket_id == other.id for r in app.screen.rows)  # the list still refreshes live
        toasts = [n for n in app._notifications if n.title == "New escalation"]
        assert len(toasts) == 2 and f"#{other.id}" in str(toasts[1].message) and bells == [1, 1]


async def test_no_bell_when_the_configuration_says_so(make_app, screen_config, bob, monkeypatch):
    from dataclasses import replace

    quiet = replace(screen_config, escalation=replace(screen_config.escalation, bell=False))
    app = make_app(config=quiet)
    bells = []
    monkeypatch.setattr(app, "bell", lambda: bells.append(1))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        bob.escalate(l1_tickets(bob)[0].id, "hierarchical", "duty-manager", "quietly")
        assert app.poll()
        await settle(pilot)
        assert titles(app).count("New escalation") == 1 and bells == []


async def test_new_escalations_are_looked_for_in_a_thread(make_app, screen_config, bob, monkeypatch):
    """The app's look for new escalations (after every commit it notices) reads the desk in a thread: on a server
    that stopped answering it froze the keys (issue 14: the desk is never waited on from the event loop)."""
    import threading

    import deskterm.store.queue as store_queue

    on_loop: list[bool] = []
    real = store_queue.latest_escalation_id

    def spy(store):
        on_loop.append(threading.current_thread() is threading.main_thread())
        return real(store)

    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        monkeypatch.setattr(store_queue, "latest_escalation_id", spy)
        bob.escalate(l1_tickets(bob)[0].id, "hierarchical", "duty-manager", "from elsewhere")
        assert app.poll()
        await settle(pilot)
        assert titles(app).count("New escalation") == 1
        assert on_loop and not any(on_loop)
