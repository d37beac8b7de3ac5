"""`T` in the queue opens "To triage" (issue 15): the new tickets not yet classified or routed, the suggestions
of the highlighted one computed in a worker, `a` accepts them, `C` corrects the category, `l` links to the open
major incident, `enter` opens the ticket, `ctrl+r` reloads, `esc` goes back."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from test_detail import notes, until
from textual.widgets import Input, OptionList, Static
from tuihelp import NOW, SIZE, ready, settle

from deskterm.domain.taxonomy import Taxonomy
from deskterm.records import NewEvent, NewTicket
from deskterm.service import Desk
from deskterm.store.engine import open_store
from deskterm.tui.screens.detail import DetailScreen
from deskterm.tui.screens.detail_modals import CategoryDialog
from deskterm.tui.screens.triage import TriageScreen

TREE = Taxonomy.of({"network": ["vpn", "wifi"], "access": ["password"]})


def resolved(subject: str, category: str, days: int) -> NewTicket:
    at = NOW - timedelta(days=days)
    return NewTicket(
        subject=subject,
        customer="Acme",
        priority="P2",
        created_at=at,
        category=category,
        events=[NewEvent(at=at + timedelta(hours=1), kind="status", author="bob", to="resolved", reason="fixed")],
    )


@pytest.fixture
def setup(demo):
    db, config, clock = demo
    config = replace(config, taxonomy=TREE)
    store = open_store(db)
    desk = Desk(store, config, clock=clock, user="bob")
    desk.import_tickets(
        [
            resolved("Zorglub VPN tunnel drops", "network/vpn", 10),
            resolved("Zorglub VPN gateway unreachable", "network/vpn", 9),
            resolved("Zorglub VPN client fails", "network/vpn", 8),
        ]
    )
    major = desk.create(NewTicket(subject="Zorglub VPN outage for all", customer="Acme", priority="P1", created_at=NOW))
    linked = desk.create(NewTicket(subject="Zorglub VPN down too", customer="Acme", priority="P2", created_at=NOW))
    desk.link(linked.id, major.id)
    first = desk.create(NewTicket(subject="Zorglub VPN keeps dropping", customer="Acme", priority="P3", created_at=NOW))
    second = desk.create(NewTicket(subject="Zorglub VPN slow", customer="Acme", priority="P3", created_at=NOW))
    store.dispose()
    return config, major.id, first.id, second.id


async def open_triage(pilot, ticket_id: int) -> TriageScreen:
    app = pilot.app
    await ready(pilot)
    await pilot.press("T")
    screen = await until(pilot, lambda: isinstance(app.screen, TriageScreen) and app.screen.tickets and app.screen)
    listed = screen.query_one("#triage-list", OptionList)
    listed.highlighted = [t.id for t in screen.tickets].index(ticket_id)
    await until(pilot, lambda: screen.result is not None and screen.result.ticket.id == ticket_id)
    return screen


async def test_accept_correct_link_open_reload_and_back(make_app, setup):
    config, major, first, second = setup
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_triage(pilot, first)
        pane = str(screen.query_one("#triage-pane", Static).render())
        assert "network/vpn" in pane and f"open major incident #{major}" in pane
        await pilot.press("a")
        await until(pilot, lambda: app.desk.ticket(first).category == "network/vpn")
        event = [e for e in app.desk.ticket(first).events if e.kind == "category"][-1]
        assert event.reason.startswith("triage: ") and "category network/vpn suggested" in event.reason
        # the second: the category corrected, the rest accepted with it
        await until(pilot, lambda: first not in [t.id for t in screen.tickets] or True)
        listed = screen.query_one("#triage-list", OptionList)
        await until(pilot, lambda: second in [t.id for t in screen.tickets])
        listed.highlighted = [t.id for t in screen.tickets].index(second)
        await until(pilot, lambda: screen.result is not None and screen.result.ticket.id == second)
        await pilot.press("C")
        dialog = await until(pilot, lambda: isinstance(app.screen, CategoryDialog) and app.screen)
        dialog.query_one("#category", Input).value = "network/wifi"
        await pilot.press("enter")
        await until(pilot, lambda: app.desk.ticket(second).category == "network/wifi")
        event = [e for e in app.desk.ticket(second).events if e.kind == "category"][-1]
        assert "category network/wifi chosen (suggested network/vpn)" in event.reason
        await until(pilot, lambda: screen.result is not None and screen.result.ticket.id == second)
        await pilot.press("l")
        await until(pilot, lambda: app.desk.ticket(second).major_id == major)
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is not screen
        assert not any("Traceback" in m for m in notes(app))


async def test_the_list_moves_and_its_keys_read_as_every_other_screen(make_app, setup, demo):
    """Found auditing issue 15: `j`/`k`/`g`/`G` did nothing on "To triage" (they move every other list), so
    `j j j` then `a` accepted the suggestions of the first ticket, not the one meant; its footer had no
    `? Keys`, and `?` was titled "Keys · this dialog" with the bindings' bare descriptions."""
    from textual.widgets._footer import FooterKey

    from deskterm.tui.keys import KeysScreen

    config, major, first, second = setup
    store = open_store(demo[0])
    long_subject = "Zorglub VPN: the radiology ward's workstations drop the tunnel every ten minutes since the update"
    Desk(store, config, clock=demo[2], user="bob").create(
        NewTicket(subject=long_subject, customer="Acme", priority="P3", created_at=NOW)
    )
    store.dispose()
    app = make_app(config=config)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_triage(pilot, first)
        listed = screen.query_one("#triage-list", OptionList)
        ids = [t.id for t in screen.tickets]
        assert len(ids) >= 3
        await pilot.press("g")
        await settle(pilot)
        assert listed.highlighted == 0
        await pilot.press("j", "j")
        await until(pilot, lambda: screen.result is not None and screen.result.ticket.id == ids[2])
        await pilot.press("k")
        await until(pilot, lambda: screen.result is not None and screen.result.ticket.id == ids[1])
        await pilot.press("G")
        await until(pilot, lambda: screen.result is not None and screen.result.ticket.id == ids[-1])
        keys = [w.key for w in screen.query(FooterKey)]
        assert keys and keys[0] == "question_mark"
        # at 80 columns a row is one line: a long subject is shortened, it does not wrap onto a second line
        width = listed.scrollable_content_region.width
        assert width < 80 and long_subject in [t.subject for t in screen.tickets]
        for index in range(listed.option_count):
            assert listed.get_option_at_index(index).prompt.cell_len <= width
        await pilot.press("question_mark")
        await settle(pilot)
        help_ = app.screen
        assert isinstance(help_, KeysScreen) and help_.where == "to triage"
        words = dict(help_.bindings_list)
        assert words["a"].startswith("Accept every suggestion") and words["enter"].startswith("Open the ticket")
        listed_keys = {k for e in help_.entries for k in e.keys}
        assert {"j", "k", "g", "G", "a", "C", "l", "enter", "ctrl+r", "esc"} <= listed_keys, listed_keys


async def test_the_list_and_the_suggestions_follow_other_agents_changes(make_app, setup, demo):
    """Seen in a shift: another agent changed the highlighted ticket (its priority, by phone) and `a` was refused
    ("changed since version 1 (now version 2); reload it") as often as it was pressed: the screen never read the
    ticket again. It follows the desk as the other screens do: the list, and the suggestions of the ticket shown."""
    from deskterm.service import Change

    config, major, first, second = setup
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_triage(pilot, first)
        version = screen.result.ticket.version
        store = open_store(demo[0])
        bob = Desk(store, config, clock=demo[2], user="bob")
        bob.update(first, Change(priority="P2", reason="by phone: the whole floor"))
        third = bob.create(NewTicket(subject="Zorglub VPN again", customer="Acme", priority="P3", created_at=NOW)).id
        store.dispose()
        app.poll()
        await until(pilot, lambda: third in [t.id for t in screen.tickets])
        await until(pilot, lambda: screen.result is not None and screen.result.ticket.version > version)
        assert screen.result.ticket.id == first
        await pilot.press("a")
        await until(pilot, lambda: app.desk.ticket(first).category == "network/vpn")
        assert not any("changed since" in n for n in notes(app)), notes(app)
