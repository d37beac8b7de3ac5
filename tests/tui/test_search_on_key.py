"""Issue 17: a search character answered on the event loop only when that is cheap.

At a million tickets the first character of a search examines every open ticket's haystack (150 ms and more):
the event loop asks the search index for an answer only when at most ``most`` tickets are to be examined and
arranged, and leaves more to a worker; the rows are the same either way.
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


def test_the_index_answers_at_once_only_within_most(store):
    index = SearchIndex()

    def query(text: str) -> QueueQuery:
        return QueueQuery(store, view="open", filters=parse_filter(text), user="alice", now=NOW, search=index)

    everything = query("").ids()
    index.prepare(query(""))
    assert query("v").try_ids_now(most=len(everything) - 1) is False  # the first character: every haystack
    scanned = index.scanned
    assert query("v").try_ids_now(most=len(everything)) is True
    assert index.scanned - scanned == len(everything)
    after_v = query("v").count()
    assert query("vp").try_ids_now(most=after_v - 1) is False  # narrowing "v": its result only
    assert query("vp").try_ids_now(most=after_v) is True
    assert query("").try_ids_now(most=len(everything) - 1) is False  # no words: every id arranged again
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
