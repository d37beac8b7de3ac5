"""The instants at which the "time to breach" order and "breaching soon" change by themselves, and the tickets
on either side of them: read from the next_due and next_warn indexes, never by scanning the view.

``next_thresholds`` tells the screen when the next ticket crosses a warning or a deadline (the only instants at
which the order changes by itself), ``next_entering`` when the next one comes within the "breaching soon"
horizon. ``due_bounds`` and ``position_by_due`` find, by bisection on a few dozen deadlines read by primary key,
where the breached, the paused and those due after an instant start in ids ordered by deadline, and where a
ticket goes in such a list (``QueueQuery.arrange``, ``later`` and ``patched`` in queue.py).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlmodel import col

from .engine import Store
from .ids import IdBits
from .models import Ticket
from .queue_terms import (
    BREACHING_HORIZON,
)


def warned_ids(conn, now: datetime) -> IdBits:
    """The tickets whose warning has started at ``now`` (the breached among them too): the next_warn index. A byte
    per ticket (store/ids.py): at a million tickets most open ones are warned, and a ``set`` of them held 30 MB."""
    found = IdBits()
    result = conn.execute(select(col(Ticket.id)).where(col(Ticket.next_warn) <= now))
    for part in result.scalars().partitions(_READ_PART):
        found.add_all(part)
    return found


_READ_PART = 16384  # ids taken from the cursor at a time


_SAMPLES = 48  # deadlines read per stretch and step: three steps find a bound among 100,000 ids


def due_bounds(conn, ids: array, now: datetime, soon: datetime | None = None) -> tuple[int, ...]:
    """In ids ordered by ``next_due, id`` (no deadline last): where the not-yet-breached start, where the
    no-deadline start and, given ``soon``, where the deadlines after ``soon`` start (before the no-deadline).
    Each step reads, by primary key and in one query for every bound, the deadlines of 48 evenly spaced ids
    of the stretch a bound is known to lie in, and narrows it to the gap between two of them: about 300
    deadlines in three queries among 100,000 ids."""

    def not_breached(due) -> bool:
        return due is None or due >= now

    def no_deadline(due) -> bool:
        return due is None

    def after_soon(due) -> bool:
        return due is None or due > soon

    tests = (not_breached, no_deadline) if soon is None else (not_breached, no_deadline, after_soon)
    # the first index where a test holds lies in lo..hi (hi: it holds nowhere before the stretch's end)
    stretches = [(0, len(ids))] * len(tests)
    dues: dict[int, datetime | None] = {}
    while any(lo < hi for lo, hi in stretches):
        picks = []
        for lo, hi in stretches:
            step = max(1, -(-(hi - lo) // _SAMPLES))
            picks.append(range(lo, hi, step))
        dues.update(deadlines(conn, sorted({ids[i] for pick in picks for i in pick if ids[i] not in dues})))
        narrowed = []
        for test, (lo, hi), pick in zip(tests, stretches, picks, strict=True):
            if lo >= hi:
                narrowed.append((lo, hi))
                continue
            first = next((i for i in pick if test(dues.get(ids[i]))), None)
            before = max((i for i in pick if first is None or i < first), default=lo - 1)
            end = hi if first is None else first
            narrowed.append((end, end) if pick.step == 1 else (before + 1, end))
        stretches = narrowed
    return tuple(lo for lo, _ in stretches)


def soon_ids(conn, now: datetime) -> set[int]:
    """The tickets due within the "breaching soon" horizon of ``now``, not yet breached: the next_due index."""
    return set(
        conn.execute(
            select(col(Ticket.id)).where(col(Ticket.next_due) >= now, col(Ticket.next_due) <= now + BREACHING_HORIZON)
        ).scalars()
    )


def breached_ids(conn, ids: Iterable[int], now: datetime) -> set[int]:
    """Those of ``ids`` whose deadline has passed at ``now`` (breached), by primary key."""
    return {i for i, due in deadlines(conn, sorted(ids)).items() if due is not None and due < now}


def position_by_due(conn, group: array, due: datetime, ticket_id: int) -> int:
    """Where (due, ticket_id) goes in a group ordered by ``next_due, id`` (none without a deadline): the
    same narrowing as ``due_bounds``, on the deadlines of a few dozen ids per step."""
    key = (due, ticket_id)
    lo, hi = 0, len(group)  # the position lies in lo..hi
    while lo < hi:
        step = max(1, -(-(hi - lo) // _SAMPLES))
        pick = range(lo, hi, step)
        dues = deadlines(conn, [group[i] for i in pick])
        after = next((i for i in pick if (dues.get(group[i]) or due, group[i]) > key), None)
        before = max((i for i in pick if after is None or i < after), default=lo - 1)
        end = hi if after is None else after
        lo, hi = (end, end) if step == 1 else (before + 1, end)
    return lo


# Built once: a statement built for each read costs as much CPU again as running it (SQLAlchemy constructs it and
# computes its cache key each time), and a change of the desk makes every open queue read deadlines a few times.
_DEADLINES = select(col(Ticket.id), col(Ticket.next_due)).where(col(Ticket.id).in_(bindparam("ids", expanding=True)))


def deadlines(conn, ids: Sequence[int]) -> dict[int, datetime | None]:
    out: dict[int, datetime | None] = {}
    for i in range(0, len(ids), 900):  # SQLite's variable limit
        out.update(conn.execute(_DEADLINES, {"ids": list(ids[i : i + 900])}).all())
    return out


# built once, as _DEADLINES: the queue asks after each change of the desk
_NEXT_WARN = select(func.min(col(Ticket.next_warn))).where(col(Ticket.next_warn) > bindparam("now"))
_NEXT_DUE = select(func.min(col(Ticket.next_due))).where(col(Ticket.next_due) >= bindparam("now"))
_NEXT_ENTERING = select(func.min(col(Ticket.next_due))).where(col(Ticket.next_due) > bindparam("after"))


def next_thresholds(store: Store, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The first warning instant after ``now`` and the first deadline at or after it, of any ticket: until
    then, no ticket changes group in the "time to breach" order by the passing of time alone (a ticket
    enters its warning *at* its warning instant, but is breached only once its deadline is *passed*).
    Two lookups at one end of an index each (well under a millisecond at 100,000 tickets)."""
    with store.engine.connect() as conn:
        warn = conn.execute(_NEXT_WARN, {"now": now}).scalar()
        due = conn.execute(_NEXT_DUE, {"now": now}).scalar()
    return warn, due  # typed by the column (min() keeps its argument's type): aware, in UTC


def thresholds_after(
    before: tuple[datetime | None, datetime | None],
    changed: Iterable[tuple[datetime | None, datetime | None]],
    now: datetime,
) -> tuple[datetime | None, datetime | None]:
    """``next_thresholds`` at ``now`` after some tickets changed, without reading: the earlier of ``before`` (its
    answer at ``now`` before the change) and the changed tickets' deadlines and warning instants (``changed``:
    their (next_due, next_warn) now). Never later than a new ``next_thresholds``; earlier when the ticket that
    set a threshold moved it away, and reaching that instant then only regroups the order (nothing crossed)."""
    warn, due = before
    for d, w in changed:
        if w is not None and w > now and (warn is None or w < warn):
            warn = w
        if d is not None and d >= now and (due is None or d < due):
            due = d
    return warn, due


def next_entering(store: Store, now: datetime) -> datetime | None:
    """The first instant after ``now`` at which a ticket enters "breaching soon" because its deadline comes
    within the horizon (entering by a warning that starts is ``next_thresholds``' first instant). One
    lookup at one end of the next_due index."""
    with store.engine.connect() as conn:
        due = conn.execute(_NEXT_ENTERING, {"after": now + BREACHING_HORIZON}).scalar()
    return None if due is None else due - BREACHING_HORIZON
