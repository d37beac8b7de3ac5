"""Issue 17: the queue shows its first screenful before its whole order is known (``QueueQuery.head``).

At a million tickets the whole order of "All open" takes a second or more; the app shows the first rows from a
few LIMITed reads, says "… tickets" until the order is whole, and keys work meanwhile (``G`` lands on the last
row once the order is known). The whole order is held back here by a gate on the worker's read (the real read,
run once the gate opens), so that the screen between the two can be looked at.
"""

from __future__ import annotations

import threading

from tuihelp import SIZE, lines, ready, settle

from deskterm.store.queue import QueueQuery
from deskterm.tui.screens.queue import QueueScreen
from deskterm.tui.widgets.queue_table import QueueTable
from deskterm_testing import patience


def _gate(monkeypatch) -> threading.Event:
    """Holds the whole order's read in a worker until set (the first screenful is not held)."""
    gate = threading.Event()
    real = QueueQuery.ids

    def held(self, progress=None):
        if self.complete and threading.current_thread() is not threading.main_thread():
            gate.wait(patience(20))
        return real(self, progress)

    monkeypatch.setattr(QueueQuery, "ids", held)
    return gate


async def test_the_first_rows_come_before_the_whole_order(make_app, monkeypatch):
    gate = _gate(monkeypatch)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(500):
            await pilot.pause(0.01)
            tables = app.screen.query(QueueTable)
            if tables and tables.first().loaded:
                break
        table = tables.first()
        assert isinstance(app.screen, QueueScreen)
        assert not table.query_.complete
        first = [r.id for r in table.visible_rows()]
        await pilot.pause(0.1)
        status = str(app.screen.query_one("#queue-status").render())
        assert status.startswith("… tickets"), status
        assert app.screen.counts == {}  # the tabs are counted once the order is whole
        await pilot.press("j")
        assert table.cursor_index == 1 and table.cursor_id == first[1]
        await pilot.press("G")  # the last row known for now; the last of all once the order is whole
        gate.set()
        await ready(pilot)
        await settle(pilot)
        assert table.query_.complete
        whole = QueueQuery(app.desk.store, view="open", user=app.desk.user, now=table.query_.now).ids()
        assert list(table.query_.ids()) == list(whole)
        assert table.total == len(whole) > len(first)
        assert table.cursor_id == whole[-1]
        status = str(app.screen.query_one("#queue-status").render())
        assert status.startswith(f"{len(whole)} tickets"), status
        assert first == list(whole[: len(first)])
        assert any(str(whole[-1]) in line for line in lines(table))


async def test_a_view_switch_shows_its_first_rows_at_once(make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        gate = _gate(monkeypatch)
        await pilot.press("2")  # Unassigned: its first screenful on the key's own turn
        table = app.screen.query_one(QueueTable)
        assert table.query_.view == "unassigned" and not table.query_.complete
        head = [r.id for r in table.visible_rows()]
        gate.set()
        await ready(pilot)
        await settle(pilot)
        assert table.query_.complete
        assert head == list(table.query_.ids()[: len(head)])


async def test_the_clock_does_not_drop_the_whole_order_on_its_way(make_app, monkeypatch):
    """While the first screenful is shown, an instant at which the order changes by itself (a warning starting)
    does not start the order again: that dropped the whole order on its way, and at a million tickets, where it
    takes longer than the second between two such instants, the queue never got past its first screenful."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        gate = _gate(monkeypatch)
        await pilot.press("2")
        screen, table = app.screen, app.screen.query_one(QueueTable)
        assert not table.query_.complete
        generation = screen.model.generation
        now = app.desk.clock.now()
        screen.model.resort_at = (now, None, None)  # a warning starts now: the order shown has expired
        for _ in range(3):
            screen.clock_tick(now)
            await pilot.pause()
        assert screen.model.generation == generation  # nothing started again
        gate.set()
        await ready(pilot)
        await settle(pilot)
        assert table.query_.complete and table.query_.view == "unassigned"


async def test_the_clock_starts_one_order_at_a_time(make_app, monkeypatch):
    """The whole order shown, a warning starting makes the clock arrange it again (``_resort``); while that order is
    on its way, the next ticks whose thresholds have passed too start no other: at a million tickets, where it takes
    seconds on a busy machine, each tick dropped the one on its way and started another, and none was ever shown.
    Once it has come, the next threshold starts the next."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen, table = app.screen, app.screen.query_one(QueueTable)
        assert table.query_.complete
        gate = _gate(monkeypatch)
        now = app.desk.clock.now()
        screen.model.resort_at = (now, None, None)  # a warning starts now: the order shown has expired
        screen.clock_tick(now)
        generation = screen.model.generation
        assert screen.model.in_flight
        for _ in range(3):
            screen.model.resort_at = (now, None, None)
            screen.clock_tick(now)
            await pilot.pause()
        assert screen.model.generation == generation  # the one on its way is left to come
        gate.set()
        await ready(pilot)
        await settle(pilot)
        assert not screen.model.in_flight and table.query_.complete
        screen.model.resort_at = (now, None, None)
        screen.clock_tick(now)
        assert screen.model.generation == generation + 1  # the next threshold: the next order
        await ready(pilot)


def _hold_the_store(monkeypatch) -> threading.Event:
    """Holds the store's opening (in the app's worker, after the driver's first screenful) until set."""
    from deskterm.store import engine

    gate = threading.Event()
    real = engine.open_store

    def held(*args, **kwargs):
        gate.wait(patience(20))
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "open_store", held)
    return gate


async def test_the_first_rows_are_read_through_the_driver_before_the_store_opens(make_app, demo, monkeypatch):
    """The launch: the first screenful of the saved view (time to breach, no filter) is read with the database's
    driver and painted while the store's libraries are still to come; the keys typed meanwhile wait for the store,
    then act; the rows are those of the store's own read."""
    from deskterm.store.plain import QueueHead
    from deskterm.tui.sla_cache import ProvisionalSla

    db, config, clock = demo
    from deskterm.service import Desk  # (the test's own reads: the app's worker is held before the store)
    from deskterm.store.engine import open_store

    store = open_store(str(db))
    try:
        Desk(store, config, clock=clock, user="alice").rederive()  # the fingerprint the driver's reads check
    finally:
        store.dispose()
    gate = _hold_the_store(monkeypatch)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(500):
            await pilot.pause(0.01)
            tables = app.screen.query(QueueTable)
            if tables and tables.first().loaded:
                break
        table = tables.first()
        assert app.desk is None  # the store is not open: the rows came through the driver
        assert isinstance(table.query_, QueueHead) and isinstance(table.sla, ProvisionalSla)
        first = [r.id for r in table.visible_rows()]
        assert first
        await pilot.pause(0.1)
        status = str(app.screen.query_one("#queue-status").render())
        assert status.startswith("… tickets · sorted by time to breach"), status
        shown = lines(table)
        assert any(str(first[0]) in line for line in shown)
        await pilot.press("j")  # waits for the store
        assert app.desk is None and table.cursor_index == 0
        gate.set()
        await ready(pilot)
        await settle(pilot)
        assert app.desk is not None and not isinstance(table.query_, QueueHead) and table.query_.complete
        whole = QueueQuery(app.desk.store, view="open", user=app.desk.user, now=table.query_.now).ids()
        assert first == list(whole[: len(first)])
        assert table.cursor_index == 1 and table.cursor_id == whole[1]
        assert not isinstance(table.sla, ProvisionalSla)


async def test_no_driver_read_for_a_filtered_queue(make_app, demo, monkeypatch):
    """A saved filter (or sort, or "breaching soon"): the store's path shows the first rows, as before."""
    from deskterm.store.plain import QueueHead
    from deskterm.tui.state import QueueState, save_state

    save_state(QueueState(view="open", filter="prio:P1"))
    gate = _hold_the_store(monkeypatch)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        table = app.screen.query_one(QueueTable)
        assert not table.loaded and not isinstance(table.query_, QueueHead)
        gate.set()
        await ready(pilot)
        assert table.loaded and table.query_.complete
