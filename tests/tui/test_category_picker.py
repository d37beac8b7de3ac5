"""`C` sets a ticket's category (issue 15) with a picker that completes over the taxonomy: on the ticket
screen and in the queue (the cursor's ticket, or the marked ones). A category outside the taxonomy is
refused by the service and said; nothing is written."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_detail import notes, open_detail, sample_tickets, until
from textual.widgets import Input, OptionList
from tuihelp import NOW, SIZE, ready, settle

from deskterm.domain.taxonomy import Taxonomy
from deskterm.tui.screens.detail_modals import CategoryDialog

TREE = Taxonomy.of({"network": ["vpn", "wifi"], "access": ["password", "account"], "hardware": []})


@pytest.fixture
def tickets(other_desk) -> list[int]:
    ids = other_desk.import_tickets(sample_tickets(NOW))
    other_desk.store.dispose()
    return ids


@pytest.fixture
def config(demo):
    return replace(demo[1], taxonomy=TREE)


async def test_ticket_screen_picker_completes_and_records_the_choice(make_app, tickets, config):
    app = make_app(config=config)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await pilot.press("C")
        dialog = await until(pilot, lambda: isinstance(app.screen, CategoryDialog) and app.screen)
        await pilot.pause()
        await pilot.press("a", "c")  # narrows the list to access, access/password, access/account
        await pilot.pause()
        found = dialog.query_one("#categories", OptionList)
        assert [found.get_option_at_index(i).id for i in range(found.option_count)] == [
            "access",
            "access/password",
            "access/account",
        ]
        await pilot.press("down", "down")  # into the list, then the second entry
        await pilot.press("enter")
        await settle(pilot)
        await until(pilot, lambda: screen.record.category == "access/password")
        last = app.desk.ticket(tickets[3]).events[-1]
        assert (last.kind, last.from_value, last.to, last.author) == ("category", None, "access/password", "alice")
        # typed in full, any case; enter applies
        await pilot.press("C")
        dialog = await until(pilot, lambda: isinstance(app.screen, CategoryDialog) and app.screen)
        dialog.query_one("#category", Input).value = "NETWORK/VPN"
        await pilot.press("enter")
        await until(pilot, lambda: screen.record.category == "network/vpn")
        # a category outside the taxonomy: said, nothing written
        version = screen.record.version
        await pilot.press("C")
        dialog = await until(pilot, lambda: isinstance(app.screen, CategoryDialog) and app.screen)
        dialog.query_one("#category", Input).value = "zzz"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await until(pilot, lambda: any("is not a category of the taxonomy" in m for m in notes(app)))
        assert app.desk.ticket(tickets[3]).version == version


async def test_ticket_screen_without_a_taxonomy_says_so(make_app, tickets):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await pilot.press("C")
        await settle(pilot)
        assert app.screen is screen
        assert any("no categories are configured" in m for m in notes(app))


async def test_queue_C_sets_the_cursors_ticket(make_app, config):
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        row = app.screen.table.cursor_row
        await pilot.press("C")
        dialog = await until(pilot, lambda: isinstance(app.screen, CategoryDialog) and app.screen)
        dialog.query_one("#category", Input).value = "hardware"
        await pilot.press("enter")
        await until(pilot, lambda: app.desk.ticket(row.id).category == "hardware")


async def test_a_late_change_message_does_not_undo_the_down_typed_after_it(make_app, tickets, config):
    """Typed in one burst ("net", down, down, enter: a terminal sends them at once), the field's change messages
    arrived after the downs and rebuilt the list from "n": enter took "network" instead of "network/vpn"."""
    app = make_app(config=config)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await pilot.press("C")
        dialog = await until(pilot, lambda: isinstance(app.screen, CategoryDialog) and app.screen)
        field = dialog.query_one("#category", Input)
        await pilot.press("n", "e", "t", "down", "down")
        dialog.post_message(Input.Changed(field, "n"))  # the stale message of the first letter, after the downs
        await pilot.pause()
        found = dialog.query_one("#categories", OptionList)
        assert found.get_option_at_index(found.highlighted).id == "network/vpn"
        await pilot.press("enter")
        await until(pilot, lambda: screen.record.category == "network/vpn")
