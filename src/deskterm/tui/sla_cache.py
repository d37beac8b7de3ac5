"""SLA evaluations of the tickets on screen, kept per (ticket id, version).

Evaluating replays a ticket's history; the queue does it once per version of each *visible* ticket and
then derives every later second from the cached result (``countdown.live_timer``). A new version (any
change to the ticket) is a new key, so a stale evaluation is never used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from textual.cache import LRUCache

from ..domain.calendar import epoch
from ..domain.sla import TicketSla
from .widgets.countdown import LiveTimer, live_timer

if TYPE_CHECKING:
    from ..service import Desk
    from ..store.queue import Row


class SlaCache:
    def __init__(self, desk: "Desk", size: int = 2048) -> None:
        self.desk = desk
        # (id, version) → (evaluation, evaluated at, policy calendar, warn_at)
        self._cache: LRUCache[tuple[int, int], tuple] = LRUCache(size)
        self.evaluations = 0  # how many replays were done (tests and benchmarks read it)

    def ensure(self, rows: Iterable["Row"]) -> None:
        """Evaluate the tickets among ``rows`` that have no evaluation for their version yet."""
        from ..store.queue import records

        missing = [r.id for r in rows if (r.id, r.version) not in self._cache]
        if not missing:
            return
        now = self.desk.clock.now()
        for record in records(self.desk.store, missing):
            self.put(record, now)

    def put(self, record, now) -> TicketSla:
        sla = self.desk.sla(record, at=now)
        policy = self.desk.config.policy_for(record.customer)
        self._cache[(record.id, record.version)] = (sla, epoch(now), policy.calendar, policy.warn_at)
        self.evaluations += 1
        return sla

    def timers(self, ticket_id: int, version: int, now) -> dict[str, LiveTimer] | None:
        """Every timer of a ticket as it stands at ``now``; None when not evaluated yet."""
        entry = self._cache.get((ticket_id, version))
        if entry is None:
            return None
        sla, at, calendar, warn_at = entry
        t = epoch(now)
        return {name: live_timer(timer, calendar, warn_at, at, t) for name, timer in sla.timers.items()}

    def nearest(self, ticket_id: int, version: int, now) -> LiveTimer | None:
        """The timer an agent should look at (the active one due first), else the resolution outcome."""
        entry = self._cache.get((ticket_id, version))
        if entry is None:
            return None
        sla, at, calendar, warn_at = entry
        timer = sla.nearest() or sla.timers.get("resolution")
        if timer is None:
            return None
        return live_timer(timer, calendar, warn_at, at, epoch(now))
