"""The timers of a desk's tickets as its configuration counts them, from a ticket's row or its history: one home
for the service (``service.Desk``) and the plain reads of the command line (``store/plain.py``: ``show`` and
``list`` without the store's libraries), which both inherit it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .domain.calendar import epoch
from .domain.sla import LiveTimer, TicketSla, evaluate, provisional_timer

if TYPE_CHECKING:
    from .clock import Clock
    from .config import Config
    from .records import TicketRecord
    from .store.queue_terms import Row


class Timers:
    config: Config
    clock: Clock

    def row_timer(self, row: Row, now: datetime) -> LiveTimer:
        """What a ticket row alone says of its nearest timer at ``now`` (``provisional_timer``): the stored
        deadline (``next_due``) and timer (``next_timer``), breached once the deadline is passed, warning from
        ``next_warn`` on, and the counted time left (``next_left`` at ``updated_at``, less what has counted
        since); no deadline: paused, ``next_left`` left. For an open ticket (its derived columns kept by every
        change and by ``rederive``) that is what replaying its history says of ``TicketSla.nearest``, without
        the replay: how the queue paints a row before its evaluation, and how ``deskterm list`` prints it."""
        return self.row_timer_at(
            row.customer,
            row.status,
            row.next_timer,
            None if row.next_due is None else epoch(row.next_due),
            row.next_left,
            None if row.next_warn is None else epoch(row.next_warn),
            None if row.updated_at is None else epoch(row.updated_at),
            epoch(now),
        )

    def row_timer_at(
        self,
        customer: str,
        status: str,
        timer: str | None,
        due: int | None,
        left: int | None,
        warn: int | None,
        updated: int | None,
        now: int,
    ) -> LiveTimer:
        """``row_timer`` on the row's instants as whole epoch seconds (``epoch``), as the plain reads give them."""
        calendar = self.config.policy_for(customer).calendar
        return provisional_timer(timer or "", status, due, left, warn, updated, calendar, now)

    def sla(self, ticket: TicketRecord, at: datetime | None = None) -> TicketSla:
        now = epoch(at or self.clock.now())
        policy = self.config.policy_for(ticket.customer)
        events = [e.for_engine() for e in ticket.events]
        return evaluate(epoch(ticket.created_at), ticket.initial_priority, events, policy, now)
