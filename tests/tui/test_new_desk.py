"""The app started on a desk file that does not exist creates a new, empty desk there, and the queue says so
with where it is: a mistyped DESKTERM_DB would otherwise read as a quiet queue. Once a ticket is on the desk
(another agent's, here through the service), the queue reads as usual."""

from __future__ import annotations

from tuihelp import SIZE, ready, settle, until

from deskterm.records import NewTicket
from deskterm.service import Desk
from deskterm.store.engine import open_store
from deskterm.tui.widgets.queue_table import QueueTable


async def test_a_new_desk_is_said_with_its_place(make_app, demo, tmp_path):
    _, config, clock = demo
    file = tmp_path / "new" / "desk.db"
    app = make_app(db=file)
    assert app.new_desk_at == str(file)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.query_one(QueueTable)
        assert table.empty_text.startswith("No ticket yet: a new desk, …") or table.empty_text == (
            f"No ticket yet: a new desk, {file}"
        ), table.empty_text
        assert str(file).endswith(table.empty_text.split("…")[-1].split(", ")[-1])
        store = open_store(str(file))
        try:
            Desk(store, config, clock=clock, user="bob").create(
                NewTicket(subject="Printer down", customer="ACME", priority="P3", created_at=clock.now())
            )
        finally:
            store.dispose()
        await until(pilot, lambda: table.total == 1, what="the new ticket shown")
        await pilot.press("1")  # "Mine": empty, but the desk is no longer new
        await settle(pilot)
        await until(pilot, lambda: table.empty_text == "No ticket in My tickets", what="the usual empty text")


async def test_a_desk_that_exists_is_not_new(make_app):
    app = make_app()
    assert app.new_desk_at is None
