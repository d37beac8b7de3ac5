"""Issue 17: what the apps keep up to date from the tickets that changed, against a full recomputation.

After every random change (made through the service, as the screens and the command line make them), the feed
of ticket changes (``ChangeWatch.changes``) names the tickets changed; the view counts kept incrementally
(``ViewCounts.apply``) must equal a full count (``data_view_counts``; "breaching soon" moved by the difference
the change made at that instant, ``breaching_count``), and a queue patched with those tickets
(``QueueQuery.patched``) must hold exactly the ids, in the same order, of the same query run from scratch, in
every view (but "breaching soon", which is always run again) and both directions. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskterm.demo import generate
from deskterm.errors import DeskError
from deskterm.service import Change, NewTicket
from deskterm.store.changes import ChangeWatch
from deskterm.store.queue import QueueQuery, ViewCounts, breaching_count, data_view_counts
from deskterm.store.queue_terms import Sort

pytestmark = pytest.mark.engines("sqlite", "postgresql")

VIEWS = ("open", "mine", "unassigned", "pending", "escalated")

changes = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000),  # which ticket (modulo the desk's size)
        st.sampled_from(
            [
                Change(status="open"),
                Change(status="pending"),
                Change(status="on_hold"),
                Change(status="resolved"),
                Change(status="closed"),
                Change(assign="me"),
                Change(assign="none"),
                Change(priority="P1"),
                Change(priority="P4"),
                Change(group="L2-network"),
                Change(group="L1"),
                Change(reply="On it."),
                Change(note="checked"),
                "new",
            ]
        ),
    ),
    min_size=1,
    max_size=6,
)


@pytest.fixture
def busy(desk):
    """The desk of the fixture (alice, a frozen clock) with 40 tickets of the demo's busy queue."""
    tickets = generate(desk.clock.now(), 40, seed=3)
    for t in tickets:
        t.ref = None
    desk.import_tickets(tickets)
    return desk


def _seen(watch):
    """What the watch reports of a change just committed: PostgreSQL delivers its notification a moment after
    the commit, so it is waited for (at most 5 s)."""
    deadline = time.monotonic() + 5
    while (seen := watch.changes()) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return seen


def _fresh(desk, view: str, descending: bool) -> QueueQuery:
    return QueueQuery(desk.store, view=view, sort=Sort("due", descending), user=desk.user, now=desk.clock.now())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=changes)
def test_counts_and_queues_follow_the_feed(busy, steps):
    desk = busy
    watch = ChangeWatch(desk.store)
    counts = ViewCounts(desk.store, desk.user)
    assert counts.load() == data_view_counts(desk.store, desk.user)
    queues = {(v, d): _fresh(desk, v, d) for v in VIEWS for d in (False, True)}
    for q in queues.values():
        q.ids()
    try:
        for which, change in steps:
            desk.clock.advance(minutes=7)
            now = desk.clock.now()
            soon_before = breaching_count(desk.store, now)  # at the same instant: only the change moves it
            ids = [t.id for t in desk.tickets()]
            if change == "new":
                desk.create(NewTicket(subject="new", customer="Lyon", priority="P2", created_at=desk.clock.now()))
            else:
                try:
                    desk.update(ids[which % len(ids)], change)
                except DeskError:
                    continue  # refused by the workflow (a closed ticket): nothing was written, nothing to follow
            seen = _seen(watch)
            assert seen is not None
            assert seen.tickets is not None, "a change made through the service names its tickets"
            assert counts.apply(seen.tickets, now) == data_view_counts(desk.store, desk.user)
            assert soon_before + counts.breaching_moved == breaching_count(desk.store, now)
            for key, q in list(queues.items()):
                patched = q.patched(seen.tickets)
                assert patched is not None
                fresh = _fresh(desk, *key)
                # (the same instant: the order's groups depend on it)
                fresh = QueueQuery(desk.store, view=fresh.view, sort=fresh.sort, user=fresh.user, now=q.now)
                assert list(patched.ids()) == list(fresh.ids()), key
                queues[key] = patched
    finally:
        watch.close()


def test_an_import_of_many_tickets_reads_everything_again(busy):
    """More tickets than the feed names at once (or deadlines derived again): "any ticket" (None)."""
    desk = busy
    watch = ChangeWatch(desk.store)
    try:
        tickets = generate(desk.clock.now() - timedelta(hours=1), 1_001, seed=5)
        for t in tickets:
            t.ref = None
        desk.import_tickets(tickets)
        seen = _seen(watch)
        assert seen is not None and seen.tickets is None
        desk.update(1, Change(note="one"))
        seen = _seen(watch)
        assert seen is not None and seen.tickets == frozenset({1})
    finally:
        watch.close()
