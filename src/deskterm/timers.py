"""The timers of a desk's tickets as its configuration counts them, from a ticket's row or its history: one home
for the service (``service.Desk``) and the plain reads of the command line (``store/plain.py``: ``show`` and
``list`` without the store's libraries), which both inherit it."""

from __future__ import annotations

from collections.abc import Container, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .domain import escalation as esc_rules
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

    # -- the automatic escalation rules: what is due (Desk.apply_rules fires it; a command checks it first) --------

    def rule_filter(self, rule: esc_rules.Rule) -> dict[str, Any]:
        """A rule's filters as the reads of candidates take them (``queries.rule_candidates``,
        ``PlainDesk.rule_candidates``): its priorities, customers, types and groups, and its policies as the
        customers the configuration gives them (or, when the default policy is one of them, all customers but
        those given another). A superset is enough: ``rule_candidate`` decides."""
        found: dict[str, Any] = {
            k: v
            for k, v in (
                ("priority", rule.priority),
                ("customer", rule.customer),
                ("type", rule.type),
                ("group", rule.group),
            )
            if v
        }
        if rule.policy:
            config = self.config
            named = {c for c, p in config.customers.items() if config.policies[p].name in rule.policy}
            if config.policies[config.default_policy].name in rule.policy:
                found["customers_not_in"] = set(config.customers) - named
            else:
                found["customers_in"] = named
        return found

    def rule_candidate(self, t: TicketRecord, now: datetime) -> bool:
        """Whether some rule may fire for this ticket now, by its row alone: now, a ticket row says the priority,
        type and group its replay would, so a ticket that no rule's filters take cannot fire (one changed after
        now, by a clock ahead of this one, is replayed as of now: its row may say what is still to come)."""
        policy = self.config.policy_for(t.customer).name
        return t.updated_at > now or any(
            r.matches(priority=t.priority, customer=t.customer, policy=policy, type=t.type, group=t.group)
            for r in self.config.escalation.rules
        )

    def due_firings(
        self, tickets: Iterable[TicketRecord], fired: Container[tuple[Any, ...]], now: datetime
    ) -> list[tuple[int, esc_rules.Firing]]:
        """What the rules fire for these tickets (with their histories) as of ``now``: (ticket id, firing), less
        what ``fired`` says fired already ((rule key, ticket id, cycle) of ``rule_firings``)."""
        rules, now_s, out = self.config.escalation.rules, epoch(now), []
        for t in tickets:
            if t.created_at > now:
                continue
            sla = self.sla(t, now)
            events = [e.for_engine() for e in t.events]
            for f in esc_rules.due_firings(rules, sla, events, now_s, customer=t.customer, type=t.type, group=t.group):
                if (f.rule.key, t.id, f.cycle) not in fired:
                    out.append((t.id, f))
        return out
