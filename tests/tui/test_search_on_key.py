"""Issue 17: what a search character is answered with on the event loop.

The event loop never waits for the store: a search's words are matched by the store in a worker (its first
screenful first: ``QueueQuery.head``), and only a result the search index holds (typed before: backspace) is
shown at once; it, or a cleared search, is arranged on the loop only when at most ``most`` ids are held.
The rows are the same either way.
"""

from __future__ import annotations

import pytest
from tuihelp import NOW, SIZE, ready, settle

from deskterm.store.queue import QueueQuery, SearchIndex, parse_filter
from deskterm.tui.screens import queue as queue_screen
from deskterm.tui.widgets.queue_table import QueueTable


@pytest.fixture
def store(demo):
    from deskterm.store.engine import open_store

    s = open_store(demo[0])
    yield s
    s.dispose()


def test_the_index_answers_at_once_only_what_it_holds(store):
    index = SearchIndex()

    def query(text: str) -> QueueQuery:
        return QueueQuery(store, view="open", filters=parse_filter(text), user="alice", now=NOW, search=index)

    everything = query("").ids()
    index.prepare(query(""))
    assert query("v").try_ids_now(most=len(everything)) is False  # words: the store, in a worker
    searches = index.searches
    query("v").ids()
    assert index.searches == searches + 1
    held = len(query("v").ids())
    assert query("v").try_ids_now(most=held) is True  # held: backspace shows it at once
    assert query("v").try_ids_now(most=held - 1) is False  # unless there are too many to arrange on the loop
    assert query("vp").try_ids_now() is False
    assert query("").try_ids_now(most=len(everything) - 1) is False  # no words: every id arranged again
    assert query("").try_ids_now(most=len(everything)) is True
    for text in ("v", "vp", "vpn", ""):  # the same ids either way
        assert list(query(text).ids()) == list(
            QueueQuery(store, filters=parse_filter(text), user="alice", now=NOW).ids()
        )


async def test_a_costly_character_is_narrowed_in_a_worker_with_the_same_rows(make_app, monkeypatch):
    async def typed(limit: int) -> list[int]:
        monkeypatch.setattr(queue_screen, "SEARCH_ON_KEY", limit)
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await pilot.press("slash")
            await settle(pilot)
            for key in ("v", "p", "n", "backspace"):
                await pilot.press(key)
                await settle(pilot)
            table = app.screen.query_one(QueueTable)
            assert app.screen.state.filter == "vp"
            shown = [table.total, *(r.id for r in table.visible_rows())]
            await pilot.press("escape")  # cleared: the held order arranged at once, or its first rows then the rest
            await settle(pilot)
            assert table.query_.complete
            return [*shown, table.total, *(r.id for r in table.visible_rows())]

    assert await typed(0) == await typed(10**9)
