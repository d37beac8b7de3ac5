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
