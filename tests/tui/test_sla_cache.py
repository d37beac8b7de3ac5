"""A queue row's countdown painted from the ticket row alone (``SlaCache.provisional``: next_due, next_warn,
next_timer, next_left) reads as the evaluation of the ticket's history then does, so that a row is painted
once, right, without waiting for its history: at the instant of the last change and any later one, after
every kind of change, on every calendar of the demo (24x7, office hours, New York)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tuihelp import NOW

from deskterm.service import Change
from deskterm.store.queue import QueueQuery
from deskterm.tui.sla_cache import SlaCache

LATER = (timedelta(0), timedelta(minutes=37), timedelta(hours=3, seconds=5), timedelta(days=2, hours=7))


@pytest.fixture
def desk(other_desk):
    """A Desk on the demo file, as another agent's process would have it (tests/tui/conftest.py)."""
    return other_desk


def _rows(desk, view="open"):
    query = QueueQuery(desk.store, view=view, user="alice", now=desk.clock.now())
    return query.window(0, query.count())


def _check(desk, rows) -> int:
    """Compare at several instants after the clock's; return how many were compared."""
    cache = SlaCache(desk)
    cache.ensure(rows)  # evaluated at the clock's instant; later instants derived from it, as on screen
    compared = 0
    for step in LATER:
        now = desk.clock.now() + step
        for row in rows:
            first = cache.provisional(row, now)
            evaluated = cache.nearest(row.id, row.version, now)
            if evaluated.name != row.next_timer:
                # the one case told apart: in warning by a timer that is not the one due first
                assert evaluated.state == "warning" and row.next_warn is not None and row.next_warn <= now, row
                continue
            assert (first.name, first.state, first.remaining) == (
                evaluated.name,
                evaluated.state,
                evaluated.remaining,
            ), (row, step)
            compared += 1
    return compared


def test_every_open_ticket_of_the_demo(desk):
    rows = _rows(desk)
    assert {r.next_timer for r in rows} >= {"first_response", "resolution"}
    assert any(r.next_due is None for r in rows) and any(r.next_due is not None and r.next_due < NOW for r in rows)
    assert _check(desk, rows) >= len(rows) * len(LATER) * 0.95


def test_after_each_kind_of_change(desk, clock):
    """Replies (first response met, next update started), pending (paused), a reopen, a priority change,
    resolving and reopening: each written by the service, each row read back and compared."""
    ids = [r.id for r in _rows(desk)[::7]][:30]
    steps = [
        Change(reply="On it"),
        Change(status="pending"),
        Change(priority="P1"),
        Change(status="open"),
        Change(note="internal"),
        Change(status="resolved", resolution_code="fixed"),
        Change(status="open"),
    ]
    for i, change in enumerate(steps):
        clock.advance(minutes=53)
        for tid in ids[i::2]:
            try:
                desk.update(tid, change)
            except Exception:  # noqa: BLE001 - a transition the workflow refuses leaves that ticket as it was
                pass
        rows = [r for r in QueueQuery(desk.store, view="open", user="alice", now=clock.now()).rows(ids).values()]
        assert _check(desk, [r for r in rows if r.status not in ("resolved", "closed")]) > 0


def test_a_ticket_paused_after_its_breach_counts_on_from_where_it_stopped(desk, clock):
    """Breached, then pending (paused) for a day, then open again: the time left counts from where it
    stopped, not from the deadline (the row's deadline is when it was reached, a day earlier than the
    counted time suggests)."""
    row = next(r for r in _rows(desk) if r.next_due is not None and r.next_due < NOW and r.status == "open")
    query = QueueQuery(desk.store, view="open", user="alice")
    desk.update(row.id, Change(status="pending"))
    [paused] = query.rows([row.id]).values()  # breached while paused: its deadline stays, its time left too
    assert paused.next_due < NOW and paused.next_left < 0
    assert _check(desk, [paused]) == len(LATER)
    clock.advance(days=1)
    desk.update(row.id, Change(status="open"))
    [fresh] = query.rows([row.id]).values()
    assert fresh.next_due < NOW and fresh.next_left == paused.next_left  # evaluated at the very instant it resumed
    assert _check(desk, [fresh]) == len(LATER)


def test_no_evaluation_made_under_the_configuration_before_is_used_after_it_changes(desk):
    """The app took new customers' entries from its configuration file (the fingerprint moves): what was evaluated
    before is dropped, and an evaluation a thread made under the old entries while the new ones came is not kept."""
    import dataclasses

    rows = _rows(desk)[:5]
    cache = SlaCache(desk)
    cache.ensure(rows)
    assert all(cache.entry(r.id, r.version) is not None for r in rows)
    late = cache.load([rows[0].id])  # evaluated in a thread, under the configuration before
    desk.config = dataclasses.replace(desk.config, fingerprint="edited")  # as CustomerEntries.check sets it
    assert all(cache.entry(r.id, r.version) is None for r in rows)
    assert cache.missing(rows) == rows
    cache.store(late)
    assert cache.entry(rows[0].id, rows[0].version) is None
    cache.ensure(rows)
    assert all(cache.entry(r.id, r.version)[4] == "edited" for r in rows)
