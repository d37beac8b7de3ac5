"""Issue 17: what the apps keep up to date from the tickets that changed, against a full recomputation.

After every random change (made through the service, as the screens and the command line make them), the feed
of ticket changes (``ChangeWatch.changes``) names the tickets changed; the view counts kept incrementally
(``ViewCounts.apply``) must equal a full count (``data_view_counts``; "breaching soon" moved by the difference
the change made at that instant, ``breaching_count``), and a queue patched with those tickets
(``QueueQuery.patched``, deadlines read by primary key; ``follow``, deadlines kept in memory by its counts) must
hold exactly the ids, in the same order, of the same query run from scratch, in every view (but "breaching
soon", which is always run again) and both directions; ``follow``'s rows, counts and next thresholds must be
those read afresh (its thresholds never later). On SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskterm.demo import generate
from deskterm.errors import DeskError
from deskterm.service import Change, NewTicket
from deskterm.store.changes import ChangeWatch
from deskterm.store.driver_reads import Reads
from deskterm.store.queue import QueueQuery, ViewCounts, breaching_count, data_view_counts, follow
from deskterm.store.queue_terms import Sort
from deskterm.store.queue_thresholds import next_thresholds
from deskterm_testing import examples

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


# the other sorts (by their key: ``QueueQuery._patch_sorted``), each in a view, one way or the other
OTHER_SORTS = [
    ("open", "priority", False),
    ("mine", "age", True),
    ("unassigned", "customer", False),
    ("open", "assignee", True),
    ("open", "subject", False),
    ("open", "status", True),
    ("escalated", "group", False),
    ("pending", "id", True),
]


def _fresh(desk, view: str, descending: bool, column: str = "due") -> QueueQuery:
    return QueueQuery(desk.store, view=view, sort=Sort(column, descending), user=desk.user, now=desk.clock.now())


@settings(max_examples=examples(5), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=changes)
def test_counts_and_queues_follow_the_feed(busy, steps):
    desk = busy
    watch = ChangeWatch(desk.store)
    counts = ViewCounts(desk.store, desk.user)
    assert counts.load() == data_view_counts(desk.store, desk.user)
    queues = {(v, d): _fresh(desk, v, d) for v in VIEWS for d in (False, True)}
    queues.update({(v, d, c): _fresh(desk, v, d, c) for v, c, d in OTHER_SORTS})
    for q in queues.values():
        q.ids()
    # ``follow``: each queue with counts of its own (as each app keeps), loaded after the order was taken
    followed = dict(queues)
    kept = {key: ViewCounts(desk.store, desk.user) for key in queues}
    for k in kept.values():
        k.load()
    thresholds = {key: next_thresholds(desk.store, q.now) for key, q in queues.items()}
    # SQLite: every other queue follows through the driver's connection alone (store/driver_reads.py), the others
    # through the store's, both compared with the full recomputation
    reads = Reads(desk.store) if desk.store.is_sqlite else None
    by_driver = {key: reads if i % 2 else None for i, key in enumerate(queues)}
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
            if not desk.store.is_sqlite:  # (a notification comes a moment after its commit: _FEED_MARGIN)
                time.sleep(0.3)
            fed_at = time.monotonic()
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
                q = followed[key]
                result = follow(
                    q,
                    seen.tickets,
                    kept[key],
                    thresholds=thresholds[key],
                    fed_at=fed_at,
                    counted_at=now,
                    near=(0, 50),
                    window=(0, 30, ()),
                    reads=by_driver[key],
                )
                assert result.query is not None and result.in_memory == (q.sort.column == "due")
                assert list(result.query.ids()) == list(fresh.ids()), key
                assert result.counts == data_view_counts(desk.store, desk.user)
                assert {i: r for i, r in result.rows.items() if i in seen.tickets} == q.rows(seen.tickets)
                window = list(result.query.ids()[:30])  # (the rows the screen would show, read with the change)
                assert {i: r for i, r in result.rows.items() if i in window} == result.query.rows(window)
                held = set(fresh.ids()).intersection(seen.tickets)
                assert {r.id for r in result.records} == held
                assert all(r.events == desk.ticket(r.id).events for r in result.records)
                truth = next_thresholds(desk.store, q.now)
                for ours, true in zip(result.thresholds, truth, strict=True):  # never later
                    assert true is None or (ours is not None and ours <= true), key
                followed[key], thresholds[key] = result.query, truth
    finally:
        watch.close()
        if reads is not None:
            reads.close()


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


clock_moves = st.lists(
    st.tuples(
        st.integers(min_value=-30, max_value=24 * 60),  # minutes the clock moves (back a little, or on)
        st.integers(min_value=0, max_value=10_000),  # which ticket changes then (modulo the desk's size)
        st.sampled_from(
            [None, Change(status="open"), Change(status="pending"), Change(priority="P1"), Change(reply="On it.")]
        ),
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=clock_moves)
def test_breaching_soon_kept_as_the_clock_moves(busy, moves):
    """``ViewCounts.breaching``: "breaching soon" kept from the deadlines held, moved by the tickets whose instant
    passed as the clock moves (on, or set back), and by the changes (``apply``) at their instant, is
    ``breaching_count`` at every instant."""
    desk = busy
    watch = ChangeWatch(desk.store)
    counts = ViewCounts(desk.store, desk.user)
    counts.load()
    try:
        assert counts.breaching(desk.clock.now()) == breaching_count(desk.store, desk.clock.now())
        for minutes, which, change in moves:
            desk.clock.advance(minutes=minutes)
            now = desk.clock.now()
            if change is not None:
                ids = [t.id for t in desk.tickets()]
                try:
                    desk.update(ids[which % len(ids)], change)
                except DeskError:
                    pass  # refused by the workflow: nothing written
                else:
                    if not desk.store.is_sqlite:
                        time.sleep(0.3)
                    seen = _seen(watch)
                    assert seen is not None and seen.tickets is not None
                    counts.apply(seen.tickets, now)
                    assert counts.breaching_known == breaching_count(desk.store, now)
            assert counts.breaching(now) == breaching_count(desk.store, now), now
    finally:
        watch.close()


def test_breaching_soon_at_the_very_instants_that_move_it(busy):
    """At a deadline a ticket is still "breaching soon", a moment after it has left; when its warning starts or
    its deadline comes within the horizon it enters: the kept count is ``breaching_count`` at each of those very
    instants, visited in order."""
    from datetime import UTC

    from deskterm.store.queue_terms import BREACHING_HORIZON

    desk = busy
    counts = ViewCounts(desk.store, desk.user)
    counts.load()
    start = desk.clock.now()
    counts.breaching(start)
    instants = set()
    for t in desk.tickets():
        for at in (t.next_due, t.next_due and t.next_due - BREACHING_HORIZON, t.next_warn):
            if at is not None and at.replace(tzinfo=at.tzinfo or UTC) > start:
                instants.add(at.replace(tzinfo=at.tzinfo or UTC))
    assert instants, "the desk has deadlines to come"
    for at in sorted(instants)[:40]:
        for moment in (at - timedelta(microseconds=1), at, at + timedelta(seconds=1)):
            desk.clock.set(max(moment, desk.clock.now()))
            now = desk.clock.now()
            assert counts.breaching(now) == breaching_count(desk.store, now), (at, moment)


instants = (
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)) | st.none()
)


@settings(max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stamps=st.lists(st.tuples(instants, instants), min_size=1, max_size=8))
def test_the_first_count_keeps_the_deadlines_timestamp_gives(busy, stamps):
    """``ViewCounts.load`` has the database turn each open ticket's instants into epoch seconds
    (``epoch_seconds``): they must be the floats ``datetime.timestamp()`` gives for what SQLAlchemy reads, which
    ``apply`` keeps and what ``follow`` compares them with (microseconds included)."""
    from sqlalchemy import select, update

    from deskterm.store.models import Ticket, core
    from deskterm.store.queue_terms import OPEN_STATUSES

    desk = busy
    t = core(Ticket).c
    with desk.store.engine.begin() as conn:
        open_ids = [i for (i,) in conn.execute(select(t.id).where(t.status.in_(OPEN_STATUSES)).order_by(t.id))]
        for ticket_id, (due, warn) in zip(open_ids, stamps, strict=False):
            conn.execute(update(core(Ticket)).where(t.id == ticket_id).values(next_due=due, next_warn=warn))
        read = conn.execute(select(t.id, t.next_due, t.next_warn).where(t.id.in_(open_ids)))
        stored = {i: (d, w) for i, d, w in read}
    counts = ViewCounts(desk.store, desk.user)
    counts.load()
    for ticket_id, (due, warn) in stored.items():
        for instant, kept in ((due, counts.deadline(ticket_id)), (warn, counts.warning(ticket_id))):
            if instant is None:
                assert math.isnan(kept)
            else:
                assert kept == instant.timestamp(), (instant, kept)
