"""Issue 17: the queue's keys move within the rows held; the rows ahead are read in a worker.

The table holds a window of rows around the viewport. A key that moves the cursor within it reads nothing; a
jump (``G``, ``g``, a page beyond the window) reads the viewport's rows alone on the event loop; after the
frame a worker reads the margins, and reads ahead as the viewport nears an edge of the window
(``QueueTable._prefetch``). What the table holds must always be what a full read of the same order gives: the
checks below compare it, after random keys and changes made elsewhere (hypothesis), with a query computed from
scratch. The window's margins are made small so that a desk of the tests' size has several windows.
"""

from __future__ import annotations

import asyncio
import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tuihelp import ready, settle

from deskterm.errors import Refused
from deskterm.service import Change
from deskterm.store.queue import QueueQuery
from deskterm.tui.widgets import queue_table
from deskterm.tui.widgets.queue_table import QueueTable

SIZE = (80, 24)  # 22 rows on screen


def _check(table: QueueTable) -> None:
    """The order is the one a fresh query computes, the rows held are those it reads at their places, and every
    line on screen is held."""
    shown = table.query_
    assert shown is not None
    fresh = QueueQuery(shown.store, view=shown.view, sort=shown.sort, user=shown.user, now=shown.now)
    assert list(shown.ids()) == list(fresh.ids())
    start, end, _ = table.window_span
    assert [table.row_at(i) for i in range(start, end)] == fresh.window(start, end - start)
    top = int(table.scroll_y)
    wanted = range(top, min(top + table.rows_visible, table.total))
    assert all(table.row_at(i) is not None for i in wanted), "the viewport is held"
    assert [r.id for r in table.visible_rows()] == list(fresh.ids()[wanted.start : wanted.stop])


async def _walk(app, other, steps: list[tuple[str, bool]]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.query_one(QueueTable)
        assert table.total > 2 * (table.rows_visible + 2 * queue_table._MARGIN), "several windows"
        changed = False
        for key, wait in steps:
            if key == "change":
                row = table.cursor_row
                assert row is not None
                try:
                    other.update(row.id, Change(priority="P1" if row.priority != "P1" else "P3"))
                except Refused:  # (changed already, and not followed yet: the row held says what it was)
                    pass
                changed = True
                app.poll()
            else:
                await pilot.press(key)
            if wait:
                await settle(pilot)
                _check(table)
                changed = False
            elif not changed:  # (a change elsewhere is shown once the app has followed it)
                top = int(table.scroll_y)
                held = [table.row_at(i) for i in range(top, min(top + table.rows_visible, table.total))]
                assert None not in held, "the viewport is held as soon as the key is handled"
        await settle(pilot)
        _check(table)


keys = st.sampled_from(["j", "k", "G", "g", "pagedown", "pageup", "change"])


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(keys, st.booleans()), min_size=1, max_size=30))
def test_the_rows_held_are_those_a_full_read_gives(make_app, other_desk, monkeypatch, steps):
    monkeypatch.setattr(queue_table, "_MARGIN", 8)
    monkeypatch.setattr(queue_table, "_NEAR", 4)
    asyncio.run(_walk(make_app(), other_desk, steps))


async def test_moving_within_the_rows_held_reads_nothing_on_the_loop(make_app, monkeypatch):
    """Page after page, down then up: every page's rows were read ahead by the worker; a jump reads the viewport
    alone on the loop."""
    monkeypatch.setattr(queue_table, "_MARGIN", 8)
    monkeypatch.setattr(queue_table, "_NEAR", 4)
    on_the_loop: list[int] = []
    rows = QueueQuery.rows

    def spy_rows(self, ids):
        ids = list(ids)
        if ids and threading.current_thread() is threading.main_thread():
            on_the_loop.append(len(ids))
        return rows(self, ids)

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.query_one(QueueTable)
        monkeypatch.setattr(QueueQuery, "rows", spy_rows)
        pages = table.total // table.rows_visible
        assert pages >= 4
        for key in ["pagedown"] * pages + ["pageup"] * pages + ["j"] * 50:
            await pilot.press(key)
            await settle(pilot)
        assert on_the_loop == []
        await pilot.press("G")
        assert on_the_loop and sum(on_the_loop) <= table.rows_visible, "a jump reads the viewport's rows only"
        await settle(pilot)
        _check(table)


async def test_the_strips_kept_when_the_focus_moves_are_those_painted_anew(make_app):
    """Opening the search prompt takes the focus from the table, which changes the cursor's colour alone: the table
    keeps its other lines' strips (``notify_style_update``), and keeps them when its height changes (``on_resize``).
    Every line must read as painted from nothing."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.query_one(QueueTable)
        for key in ["j", "space", "j", "slash", "escape", "k", "slash", "v", "escape", "G", "slash", "escape"]:
            await pilot.press(key)
            await settle(pilot)
            kept = [list(table.render_line(y)) for y in range(table.rows_visible + 1)]
            table.clear_strips()
            assert kept == [list(table.render_line(y)) for y in range(table.rows_visible + 1)], key
