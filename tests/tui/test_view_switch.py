"""Issue 17: a view or a sort chosen is never ordered on the event loop.

Sorted by time to breach, a view shows its first screenful at once (``QueueQuery.head``) and its whole order
from a worker. Where there is no first screenful (another sort), the whole order came from the event loop: 60-120
ms of its CPU at 100,000 tickets, seconds at a million. It now comes from the worker too, and the keys meant for
the rows wait for it: the rows and where the cursor lands are those of the order computed from scratch.
"""

from __future__ import annotations

import threading

from tuihelp import SIZE, ready, settle

from deskterm.store.queue import QueueQuery
from deskterm.tui.widgets.queue_table import QueueTable


async def test_a_view_sorted_by_priority_is_ordered_in_a_worker(make_app, monkeypatch):
    on_the_loop: list[str] = []
    sql_ids = QueueQuery.sql_ids

    def spy(self, *args, **kwargs):
        if threading.current_thread() is threading.main_thread():
            on_the_loop.append(self.view)
        return sql_ids(self, *args, **kwargs)

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("colon", *"sort priority", "enter")
        await settle(pilot)
        table = app.screen.query_one(QueueTable)
        assert table.sort.column == "priority"
        for keys in (["tab"], ["tab", "j"], ["shift+tab", "j", "j"], ["2"], ["6", "j"]):
            monkeypatch.setattr(QueueQuery, "sql_ids", spy)
            await pilot.press(*keys)  # (the j's straight after the view's key: they wait for its rows)
            await settle(pilot)
            monkeypatch.setattr(QueueQuery, "sql_ids", sql_ids)
            shown = table.query_
            assert shown is not None and shown.complete
            fresh = QueueQuery(shown.store, view=shown.view, sort=shown.sort, user=shown.user, now=shown.now)
            ids = list(fresh.ids())
            assert list(shown.ids()) == ids
            top = int(table.scroll_y)
            assert [r.id for r in table.visible_rows()] == ids[top : top + len(table.visible_rows())]
            assert table.cursor_row is not None and table.cursor_row.id in ids
        assert on_the_loop == []
