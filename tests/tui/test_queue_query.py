"""QueueQuery against a real demo desk: SQL order, windows and positions agree with a Python sort."""

from __future__ import annotations

import pytest

from deskterm.store.queue import OPEN_STATUSES, QueueQuery, Sort, parse_filter, view_counts

from tuihelp import NOW


@pytest.fixture
def store(demo):
    from deskterm.store.engine import open_store

    s = open_store(demo[0])
    yield s
    s.dispose()


def test_default_order_is_time_to_breach(store):
    q = QueueQuery(store, view="open", user="alice", now=NOW)
    rows = q.window(0, q.count())
    dues = [r.next_due for r in rows if r.next_due is not None]
    assert dues == sorted(dues)
    assert dues[0] < NOW  # breached tickets come first
    firsts_null = [i for i, r in enumerate(rows) if r.next_due is None]
    assert not firsts_null or firsts_null[0] == len(dues)  # no deadline: last
    assert {r.status for r in rows} <= set(OPEN_STATUSES)


@pytest.mark.parametrize("column", ["due", "priority", "status", "customer", "assignee", "age", "subject"])
@pytest.mark.parametrize("descending", [False, True])
def test_windows_and_positions_agree(store, column, descending):
    q = QueueQuery(store, view="open", sort=Sort(column, descending), user="alice", now=NOW)
    total = q.count()
    everything = q.window(0, total)
    assert len(everything) == total
    assert [r.id for r in q.window(37, 20)] == [r.id for r in everything[37:57]]
    for i in (0, 1, 36, total // 2, total - 1):
        assert q.position(everything[i].id) == i


def test_search_and_filters(store):
    q = QueueQuery(store, view="open", filters=parse_filter("vpn prio:P1,P2"), user="alice", now=NOW)
    rows = q.window(0, 500)
    assert rows and all("vpn" in r.subject.lower() and r.priority in ("P1", "P2") for r in rows)
    by_ref = QueueQuery(store, view="open", filters=parse_filter(rows[0].ref), user="alice", now=NOW).window(0, 5)
    assert [r.id for r in by_ref] == [rows[0].id]
    mine = QueueQuery(store, view="open", filters=parse_filter("assignee:me"), user="alice", now=NOW).window(0, 500)
    assert mine and {r.assignee for r in mine} == {"alice"}


def test_view_counts_match_the_views(store):
    counts = view_counts(store, "alice", NOW)
    for view, n in counts.items():
        assert QueueQuery(store, view=view, user="alice", now=NOW).count() == n
    assert counts["open"] > counts["pending"] > 0
