"""SLA evaluations of the tickets on screen, kept per (ticket id, version).

Evaluating replays a ticket's history; the queue does it once per version of each *visible* ticket and
then derives every later second from the cached result (``domain.sla.live_timer``). A new version (any
change to the ticket) is a new key, so a stale evaluation is never used.

Evaluating needs the tickets' histories from the database (tens of milliseconds for a screenful read
cold), so the queue does it in a worker (``missing`` → ``load`` in the thread → ``store`` back on the event
loop) and meanwhile paints each row from what its ticket row already holds (``provisional``: the stored
``next_due``, ``next_warn``, ``next_timer`` and ``next_left``). The cache itself is guarded by a lock:
screens fill it from threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, cast

from textual.cache import LRUCache

from ..domain.calendar import epoch
from ..domain.sla import LiveTimer, TicketSla, live_timer

if TYPE_CHECKING:
    from ..records import TicketRecord
    from ..service import Desk
    from ..store.queue_terms import Row
    from ..timers import Timers

# (id, version) → (evaluation, evaluated at, policy calendar, warn_at, the fingerprint of the configuration used)
Entry = tuple
_WORST_FIRST = {"breached": 0, "warning": 1, "running": 2, "paused": 3, "met": 4}


class SlaCache:
    def __init__(self, desk: Desk, size: int = 2048) -> None:
        self.desk = desk
        self._cache: LRUCache[tuple[int, int], Entry] = LRUCache(size)
        self._lock = threading.Lock()  # LRUCache is not thread-safe, and workers put into it
        self._versions: dict[int, int] = {}  # ticket id → the version last evaluated
        self._fingerprint = desk.config.fingerprint  # of the configuration the evaluations were made under
        self.evaluations = 0  # how many replays were done (tests and benchmarks read it)

    def _fresh(self) -> None:
        """(Under the lock.) The app took new customers' entries from its configuration file
        (``config.CustomerEntries``): a ticket's policy may be another at the same version, and no evaluation made
        under the entries before is used again."""
        if self.desk.config.fingerprint != self._fingerprint:
            self._fingerprint = self.desk.config.fingerprint
            self._cache.clear()
            self._versions.clear()

    def has(self, ticket_id: int, version: int) -> bool:
        with self._lock:
            self._fresh()
            return (ticket_id, version) in self._cache

    def entry(self, ticket_id: int, version: int) -> Entry | None:
        with self._lock:
            self._fresh()
            return self._cache.get((ticket_id, version))

    def missing(self, rows: Iterable[Row]) -> list[Row]:
        """The rows that have no evaluation for their version yet."""
        with self._lock:
            self._fresh()
            return [r for r in rows if (r.id, r.version) not in self._cache]

    def unknown(self, ids: Iterable[int]) -> list[int]:
        """The tickets never evaluated, whatever their version (for tickets not fetched yet: no version)."""
        with self._lock:
            self._fresh()
            return [i for i in ids if i not in self._versions]

    def ensure(self, rows: Iterable[Row]) -> None:
        """Evaluate the tickets among ``rows`` that have no evaluation for their version yet (blocking: in a
        worker, or where a screenful of database reads does not matter)."""
        missing = self.missing(rows)
        if missing:
            self.store(self.load([r.id for r in missing]))

    def load(self, ids: list[int]) -> list[tuple[tuple[int, int], Entry]]:
        """Read and evaluate these tickets (thread-safe: touches no cache); ``store`` keeps the result."""
        from ..store.queue import records

        now = self.desk.clock.now()
        return [self.evaluate(record, now) for record in records(self.desk.store, ids)]

    def evaluate(self, record: TicketRecord, now: datetime) -> tuple[tuple[int, int], Entry]:
        fingerprint = self.desk.config.fingerprint
        sla = self.desk.sla(record, at=now)
        policy = self.desk.config.policy_for(record.customer)
        return (record.id, record.version), (sla, epoch(now), policy.calendar, policy.warn_at, fingerprint)

    def store(self, entries: Iterable[tuple[tuple[int, int], Entry]]) -> None:
        with self._lock:
            self._fresh()
            for key, entry in entries:
                if entry[4] != self._fingerprint:  # evaluated in a thread while the entries changed
                    continue
                self._cache[key] = entry
                self._versions[key[0]] = key[1]
                self.evaluations += 1

    def put(self, record: TicketRecord, now: datetime) -> TicketSla:
        key, entry = self.evaluate(record, now)
        self.store([(key, entry)])
        return entry[0]

    def timers(self, ticket_id: int, version: int, now) -> dict[str, LiveTimer] | None:
        """Every timer of a ticket as it stands at ``now``; None when not evaluated yet."""
        entry = self.entry(ticket_id, version)
        if entry is None:
            return None
        sla, at, calendar, warn_at, _ = entry
        t = epoch(now)
        return {name: live_timer(timer, calendar, warn_at, at, t) for name, timer in sla.timers.items()}

    def nearest(self, ticket_id: int, version: int, now) -> LiveTimer | None:
        """The timer an agent should look at now: of the active timers, the worst off (breached, then in
        warning, then running, then paused), the one with the least time left among those; else the
        resolution's outcome. By state first, so that a row shows the timer that put its ticket in its
        "time to breach" group: a ticket is in the warning group when any timer's warning has started,
        even if another, still running, is due first (then the row's first paint, from the ticket row's
        nearest deadline, is corrected by its evaluation)."""
        entry = self.entry(ticket_id, version)
        if entry is None:
            return None
        sla, at, calendar, warn_at, _ = entry
        t = epoch(now)
        active = [live_timer(timer, calendar, warn_at, at, t) for timer in sla.timers.values() if timer.active]
        if active:
            return min(active, key=lambda timer: (_WORST_FIRST[timer.state], timer.remaining))
        timer = sla.timers.get("resolution")
        return None if timer is None else live_timer(timer, calendar, warn_at, at, t)

    def provisional(self, row: Row, now: datetime) -> LiveTimer:
        """What the ticket row alone says, until the ticket is evaluated (``Desk.row_timer``: the stored deadline,
        warning instant, timer and time left). What the evaluation then says, so that painting it costs no second
        frame, but for the ticket in warning by a timer other than the one due first (see ``nearest``)."""
        return self.desk.row_timer(row, now)


class ProvisionalSla(SlaCache):
    """The countdowns of a first screenful read through the database's driver before the store is open
    (``PlainDesk.queue_head``, the app's launch): what each ticket row says (``provisional``, the timers of the
    configuration: ``Timers.row_timer``), nothing evaluated (that reads the histories through the store). The
    desk's own ``SlaCache`` replaces it once the store is open."""

    def __init__(self, timers: Timers) -> None:
        super().__init__(cast("Desk", timers))

    def missing(self, rows: Iterable[Row]) -> list[Row]:
        return []

    def unknown(self, ids: Iterable[int]) -> list[int]:
        return []
