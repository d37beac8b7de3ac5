"""How many tickets each view holds: the tabs' counts.

The data views (every view but "breaching soon") change only with the data: ``ViewCounts`` counts them once and
then moves them by the tickets that changed. "Breaching soon" also moves with the clock: ``breaching_count``
counts it from two index ranges, and ``ViewCounts.breaching`` keeps it from the deadlines it holds, moving it by
the tickets whose instants passed (the clock's recount costs what passed, not the open tickets).
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from array import array
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, bindparam, case, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from .engine import Store
from .ids import id_array
from .models import Ticket
from .queue_conditions import data_views
from .queue_terms import (
    BREACHING_HORIZON,
    OPEN_STATUSES,
    VIEWS,
)


def _open_counts(user: str) -> dict[str, ColumnElement]:
    """The data views as conditional sums over every ticket."""
    return {v: func.sum(case((c, 1), else_=0)) for v, c in data_views(user).items()}


def data_view_counts(store: Store, user: str) -> dict[str, int]:
    """The counts of every view but "breaching soon": they change only when the data does.

    One statement, no WHERE: a sequential scan of the table (about 70 ms at 100,000 tickets) where the
    status index would cost a lookup per open ticket (about 190 ms).
    """
    sums = _open_counts(user)
    with store.engine.connect() as conn:
        values = conn.execute(select(*sums.values()).select_from(Ticket)).one()
    return {v: int(n or 0) for v, n in zip(sums, values, strict=True)}


def view_bits(user: str) -> ColumnElement[int]:
    """Which data views a ticket is in, as a number: bit n for the n-th of ``data_views`` (one home for the
    counts kept and for the queue's read of its changed tickets, queue.py ``follow``)."""
    conditions = list(data_views(user).values())
    bits: Any = case((conditions[0], 1), else_=0)
    for n, condition in enumerate(conditions[1:], start=1):
        bits = bits + case((condition, 1 << n), else_=0)
    return bits


def epoch_seconds(column: Any, sqlite: bool) -> ColumnElement[Any]:
    """An instant as epoch seconds (a float, NULL for none) computed by the database: the very float
    ``datetime.timestamp()`` gives for the instant SQLAlchemy reads (its microseconds counted, then divided by a
    million, correctly rounded, as Python's ``timedelta.total_seconds`` does), without a datetime made per row.
    SQLite keeps the text SQLAlchemy wrote (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC: ``store.types.UTCDateTime``);
    PostgreSQL's ``extract(epoch …)`` is exact (numeric) and made a double rounded once.
    ``tests/store/test_incremental.py`` compares both with ``timestamp()`` for random instants."""
    if sqlite:
        whole = func.cast(func.strftime("%s", func.substr(column, 1, 19)), Integer)
        micro = func.cast(func.substr(column, 21, 6), Integer)
        return (whole * 1_000_000 + micro) / literal(1_000_000.0, Float)
    return func.cast(func.extract("epoch", column), Float(precision=53))


class ViewCounts:
    """The counts of the data views (``data_view_counts``), kept up to date from the tickets that changed.

    ``load`` counts them with one scan and notes which views each ticket is in (a byte per ticket id, a bit per
    view: 1 MB at a million tickets); ``apply`` reads the views of the changed tickets only (one query by
    primary key) and moves the counts by the difference, so that a change costs the same at 1,000 or 1,000,000
    tickets. Thread-safe (workers call it). ``tests/store/test_incremental.py`` compares it with a full count
    after random changes, on both engines.

    The instants kept (deadline, warning, next instant of "breaching soon") are those of the tickets open when
    read, in a slot each (``_slot``: ticket id → its slot, 4 bytes an id): 24 bytes an open ticket and 4 a ticket
    of the desk, where three 8-byte arrays indexed by ticket id took 24 bytes a ticket of the desk, open or not
    (at a million tickets, 473,030 open: 15 MB instead of 24; a desk of years, few open: much less). A ticket
    keeps its slot once given one (a ticket closed has nan there).
    """

    def __init__(self, store: Store, user: str) -> None:
        self.store, self.user = store, user
        # held by ``load`` and ``apply``, and by whoever reads the deadlines kept (``deadline``, ``apply_rows``)
        self.lock = threading.Lock()
        self._views = list(data_views(user))
        self._open_bit = 1 << self._views.index("open")
        bits = self._bits = view_bits(user)
        # the changed tickets' views and instants: built once (building it costs as much as running it)
        self._of_changed = select(col(Ticket.id), bits, col(Ticket.next_due), col(Ticket.next_warn)).where(
            col(Ticket.id).in_(bindparam("ids", expanding=True))
        )
        self._masks: bytearray | None = None
        # each ticket's slot (-1: none, not open when read) in the arrays of instants below
        self._slot = array("i")
        # per slot, its ticket's deadline and warning instant as last read (epoch seconds, nan: none): what
        # "breaching soon" held it to be before a change, for the difference a change makes to that count
        self._due = array("d")
        self._warn = array("d")
        self.counts: dict[str, int] = {}
        # "breaching soon" as of an instant (``breaching``): the count, and per ticket the next instant at which it
        # may enter or leave that view (nan: none), filed by the minute (``_SOON_BUCKET``) so that the clock moving
        # on visits only the tickets whose instant passed
        self._soon_at: float | None = None  # (None: not counted since the last load)
        self._soon = 0
        self._next = array("d")  # per slot
        self._buckets: dict[int, array] = {}
        self._bucket_keys: list[int] = []  # a heap of the buckets' keys (a key may be there twice)
        self.breaching_moved = 0  # what the last ``apply`` moved the count of "breaching soon" by, at its instant
        # when (time.monotonic()) the last read of what is kept here ended (a load, or the rows of an apply): the
        # deadlines kept are those of the desk as of that instant or later (see queue.py ``follow``)
        self.read_until: float | None = None

    def load(self) -> dict[str, int]:
        """Count every view again (one scan) and note each ticket's views.

        The rows are read a batch at a time (``_LOAD_BATCH``), never all at once: at a million tickets the
        open ones' rows, each with two datetimes, held about 200 MB at the same time only to be dropped; and
        the counts come from a tally of the masks (at most one entry per combination of views), not from a
        loop over the views for each ticket."""
        with self.lock, self.store.engine.connect() as conn:
            top = conn.execute(select(func.max(col(Ticket.id)))).scalar() or 0
            size = top + 1024  # (room for the next tickets: ``apply`` grows the arrays beyond it)
            masks, slot, due, warn = bytearray(size), array("i", [-1]) * size, array("d"), array("d")
            tally = [0] * (1 << len(self._views))
            sqlite = self.store.is_sqlite
            result = conn.execution_options(stream_results=True, yield_per=_LOAD_BATCH).execute(
                # (every data view holds open tickets only; the instants as epoch seconds, made by the database:
                # two datetimes made per open ticket, then their floats, were most of this read's CPU)
                select(
                    col(Ticket.id),
                    self._bits.label("bits"),
                    epoch_seconds(col(Ticket.next_due), sqlite),
                    epoch_seconds(col(Ticket.next_warn), sqlite),
                ).where(col(Ticket.status).in_(OPEN_STATUSES))
            )
            for batch in result.partitions():
                rows: Iterable[Any] = batch
                for ticket_id, m, d, w in rows:
                    if m:
                        if ticket_id >= len(masks):  # committed since the max was read
                            grow = ticket_id + 1 - len(masks) + 1024
                            masks.extend(bytes(grow))
                            slot.extend(array("i", [-1]) * grow)
                        masks[ticket_id] = m
                        tally[m] += 1
                        slot[ticket_id] = len(due)
                        due.append(d if d is not None else _NONE)
                        warn.append(w if w is not None else _NONE)
            counts = {view: sum(k for m, k in enumerate(tally) if m >> n & 1) for n, view in enumerate(self._views)}
            self._masks, self._slot, self._due, self._warn, self.counts = masks, slot, due, warn, counts
            self._next = array("d")
            self._soon_at = None  # (counted again from these at the next ``breaching``)
            self.read_until = time.monotonic()
            return dict(counts)

    def apply(self, changed: Iterable[int], at: datetime | None = None) -> dict[str, int] | None:
        """The counts after the tickets ``changed`` changed; None before ``load``. With ``at``,
        ``breaching_moved`` is what the change moved the count of "breaching soon" by at that instant (the
        tickets' membership before, from the deadlines last read, and after)."""
        ids = sorted(set(changed))
        with self.lock:
            if self._masks is None:
                return None
            rows: dict[int, tuple] = {}
            with self.store.engine.connect() as conn:
                for i in range(0, len(ids), 900):  # SQLite's variable limit
                    found: Iterable[Any] = conn.execute(self._of_changed, {"ids": ids[i : i + 900]})
                    rows.update((r[0], tuple(r[1:])) for r in found)
            return self.apply_rows(ids, rows, at)

    @property
    def loaded(self) -> bool:
        return self._masks is not None

    def apply_rows(self, ids: Iterable[int], rows: Mapping[int, tuple], at: datetime | None = None) -> dict[str, int]:
        """``apply`` with the changed tickets' rows read already (``rows``: id → (view bits, next_due, next_warn),
        none for a ticket gone), by the caller holding ``lock``, after ``load``."""
        masks, slots, due, warn = self._masks, self._slot, self._due, self._warn
        assert masks is not None
        moved = 0
        open_bit = 1 << self._views.index("open")
        t = at.timestamp() if at is not None else None
        if t is None:
            self._soon_at = None  # (moved at no instant: "breaching soon" counted whole at the next ``breaching``)
        elif self._soon_at is not None:
            self._advance(t)  # (the clock first, then the change, at the same instant or the count's own)
        kept_at = self._soon_at  # the instant the count kept is moved at (None: not kept)
        kept_moved = 0
        for ticket_id in ids:
            if ticket_id >= len(masks):
                grow = ticket_id + 1 - len(masks) + 1024
                masks.extend(bytes(grow))
                slots.extend(array("i", [-1]) * grow)
            bits, d, w = rows.get(ticket_id, (0, None, None))  # (a ticket deleted: in no view)
            new, old = int(bits or 0), masks[ticket_id]
            new_due = d.timestamp() if d is not None else _NONE
            new_warn = w.timestamp() if w is not None else _NONE
            held = slots[ticket_id]
            old_due, old_warn = (due[held], warn[held]) if held >= 0 else (_NONE, _NONE)
            if t is not None:
                moved += _breaching(new & open_bit, new_due, new_warn, t) - _breaching(
                    old & open_bit, old_due, old_warn, t
                )
            if kept_at is not None:
                kept_moved += _breaching(new & open_bit, new_due, new_warn, kept_at) - _breaching(
                    old & open_bit, old_due, old_warn, kept_at
                )
            masks[ticket_id] = new
            if held >= 0:
                due[held], warn[held] = new_due, new_warn
            elif new:  # (open now, not when read: a slot of its own from now on)
                slots[ticket_id] = len(due)
                due.append(new_due)
                warn.append(new_warn)
            if kept_at is not None:
                self._schedule(ticket_id, kept_at)
            if old != new:
                for n, view in enumerate(self._views):
                    self.counts[view] += (new >> n & 1) - (old >> n & 1)
        self._soon += kept_moved
        self.breaching_moved = moved
        self.read_until = time.monotonic()
        return dict(self.counts)

    def breaching(self, at: datetime) -> int:
        """How many tickets "breaching soon" holds at ``at``, by the deadlines kept (those of the desk as last read:
        ``breaching_count`` gives the same then). The first call after a load visits every ticket kept; the next
        ones only the tickets whose instant (a warning starting, a deadline within the horizon, a deadline passed)
        came since the last one, so that the clock's recount costs what passed, not the open tickets (at a million
        tickets ``breaching_count`` visited every breached ticket's row: about a second). An instant up to
        ``_SET_BACK`` before the last one counted gives the count at that last one. After ``load``."""
        with self.lock:
            assert self._masks is not None
            self._advance(at.timestamp())
            return self._soon

    @property
    def breaching_known(self) -> int | None:
        """The count of "breaching soon" as of the last instant it was counted or moved to (``breaching``,
        ``apply_rows``); None when not counted since the last load."""
        return self._soon if self._soon_at is not None else None

    def _advance(self, t: float) -> None:
        """(Under ``lock``.) The count of "breaching soon" moved to the instant ``t``."""
        if self._soon_at is None or t < self._soon_at - _SET_BACK:  # (not counted yet, or the clock set back)
            self._count_all(t)
            return
        if t <= self._soon_at:  # (workers' instants a moment apart: the count stays at the later one)
            return
        masks, slots, due, warn, nxt = self._masks, self._slot, self._due, self._warn, self._next
        assert masks is not None
        since, open_bit, until = self._soon_at, self._open_bit, math.floor(t / _SOON_BUCKET)
        keys, buckets, soon = self._bucket_keys, self._buckets, self._soon
        later: set[int] = set()  # tickets of the buckets visited whose instant is still to come
        while keys and keys[0] <= until:
            key = heapq.heappop(keys)
            bucket = buckets.pop(key, None)
            if bucket is None:  # (the key was there twice)
                continue
            for ticket_id in bucket:
                at = slots[ticket_id]  # (a ticket filed has a slot: only open tickets are)
                instant = nxt[at]
                if instant != instant or math.floor(instant / _SOON_BUCKET) != key:
                    continue  # filed again elsewhere since (a change), or nothing to come
                if instant > t:
                    later.add(ticket_id)
                    continue
                m, d, w = masks[ticket_id] & open_bit, due[at], warn[at]
                soon += _breaching(m, d, w, t) - _breaching(m, d, w, since)
                self._schedule(ticket_id, t)
        for ticket_id in later:
            self._file(ticket_id, nxt[slots[ticket_id]])
        self._soon, self._soon_at = soon, t

    def _count_all(self, t: float) -> None:
        """(Under ``lock``.) Count "breaching soon" at ``t`` from every ticket kept, and file each one's next
        instant."""
        masks, slots, due, warn = self._masks, self._slot, self._due, self._warn
        assert masks is not None
        self._next = array("d", [_NONE]) * len(due)
        self._buckets, self._bucket_keys = {}, []
        open_bit, soon = self._open_bit, 0
        for ticket_id, m in enumerate(masks):
            if m & open_bit:
                at = slots[ticket_id]
                soon += _breaching(1, due[at], warn[at], t)
                self._schedule(ticket_id, t)
        self._soon, self._soon_at = soon, t

    def _schedule(self, ticket_id: int, t: float) -> None:
        """(Under ``lock``.) File the ticket under the next instant after ``t`` at which it may enter or leave
        "breaching soon" (``_breaching``'s rule: it enters when its warning starts or its deadline comes within
        the horizon, and leaves just after its deadline)."""
        at = self._slot[ticket_id]
        if at < 0:  # (never open since read: nothing to come, and nothing filed)
            return
        nxt = self._next
        if at >= len(nxt):
            nxt.extend(array("d", [_NONE]) * (at + 1 - len(nxt) + 1024))
        instant = _NONE
        assert self._masks is not None
        if self._masks[ticket_id] & self._open_bit:
            d, w = self._due[at], self._warn[at]
            for c in (w, d - _HORIZON, math.nextafter(d, math.inf)):  # (nan: no such instant, never > t)
                if c > t and not c >= instant:
                    instant = c
        nxt[at] = instant
        if instant == instant:
            self._file(ticket_id, instant)

    def _file(self, ticket_id: int, instant: float) -> None:
        key = math.floor(instant / _SOON_BUCKET)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = id_array()
            heapq.heappush(self._bucket_keys, key)
        bucket.append(ticket_id)

    def deadline(self, ticket_id: int) -> float:
        """The ticket's deadline as last read (epoch seconds; nan: none, or not an open ticket then). Under
        ``lock``."""
        slots = self._slot
        at = slots[ticket_id] if ticket_id < len(slots) else -1
        return self._due[at] if at >= 0 else _NONE

    def warning(self, ticket_id: int) -> float:
        """The ticket's warning instant as last read (as ``deadline``)."""
        slots = self._slot
        at = slots[ticket_id] if ticket_id < len(slots) else -1
        return self._warn[at] if at >= 0 else _NONE


_LOAD_BATCH = 5000  # rows read at a time by ``ViewCounts.load``
_SOON_BUCKET = 60.0  # seconds: the instants of "breaching soon" are filed by the minute
_HORIZON = BREACHING_HORIZON.total_seconds()
# an instant this much before the count's is the clock set back (counted again whole); less is two workers' clocks
# read a moment apart, and the count stays at the later instant
_SET_BACK = 5.0
_NONE = float("nan")  # no instant (a nan compares false with everything, as SQL's NULL does)


def _breaching(is_open: int, due: float, warn: float, at: float) -> int:
    """Whether a ticket is in "breaching soon" at ``at`` (``view_condition``'s rule, on epoch seconds)."""
    horizon = at + _HORIZON
    not_breached = due != due or due >= at  # (nan: no deadline)
    return int(bool(is_open) and not_breached and (warn <= at or due <= horizon))


def breaching_count(store: Store, now: datetime) -> int:
    """How many tickets "breaching soon" holds at ``now`` (about 10 ms at 100,000 tickets).

    Split in two so that each part is answered from an index: due within the horizon (the (status,
    next_due) index alone), plus warning started but not due within the horizon (the next_warn index;
    "status || ''" keeps SQLite from preferring the status index, which would visit every open ticket).
    """
    soon = now + BREACHING_HORIZON
    due = (
        select(func.count())
        .select_from(Ticket)
        .where(col(Ticket.status).in_(OPEN_STATUSES), col(Ticket.next_due) >= now, col(Ticket.next_due) <= soon)
    )
    warned = (
        select(func.count())
        .select_from(Ticket)
        .where(
            col(Ticket.next_warn) <= now,
            (col(Ticket.status) + "").in_(OPEN_STATUSES),
            or_(col(Ticket.next_due).is_(None), col(Ticket.next_due) > soon),
        )
    )
    with store.engine.connect() as conn:
        return int(conn.execute(due).scalar() or 0) + int(conn.execute(warned).scalar() or 0)


def view_counts(store: Store, user: str, now: datetime) -> dict[str, int]:
    """How many tickets each view holds (two cheap reads: see ``data_view_counts`` and ``breaching_count``)."""
    counts = {**data_view_counts(store, user), "breaching": breaching_count(store, now)}
    return {v: counts[v] for v in VIEWS}
