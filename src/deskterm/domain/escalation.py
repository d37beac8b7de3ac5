"""Escalation rules on SLA thresholds, and who an escalation goes to.

A rule fires once per (rule, ticket, timer cycle): the cycle is counted from the ticket's history (a reopen
starts a new resolution cycle; every public reply starts a new next_update cycle), so a reopened ticket can be
escalated again but a restart of the app, a second agent's app or a cron job cannot escalate it twice (the store
keeps a unique record of every firing, as iTop's stopwatch thresholds do).

Conditions, on one of the four timers:
    "resolution.at 75%"          the consumed share of the target reaches 75 %
    "first_response.before 10m"  10 minutes (counted time) or less remain
    "next_update.breached"       the timer has breached
    "customer_reply.before 10m"  a customer's message waits for an answer, 10 minutes or less remain
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .history import reopens
from .sla import CYCLIC, TIMERS, Event, TicketSla, TimerResult
from .workflow import STOPPED

FUNCTIONAL = "functional"
HIERARCHICAL = "hierarchical"
KINDS = (FUNCTIONAL, HIERARCHICAL)
LEVELS = ("L1", "L2", "L3")
MANAGER_LEVEL = "manager"

_WHEN = re.compile(
    r"^(?P<timer>[a-z_]+)\.(?:(?P<at>at)\s+(?P<pct>[0-9]+(?:\.[0-9]+)?)%"
    r"|(?P<before>before)\s+(?P<lead>\S+)|(?P<breached>breached))$"
)


@dataclass(frozen=True)
class Condition:
    timer: str
    share: float | None = None  # "at 75%" → 0.75
    lead: int | None = None  # "before 10m" → 600 seconds
    breached: bool = False

    def met_by(self, t: TimerResult) -> bool:
        if t.stopped:
            return False  # a stopped timer is not at risk any more
        if self.breached:
            return t.state == "breached"
        if self.share is not None:
            return t.consumed >= self.share * t.target
        assert self.lead is not None
        return t.remaining <= self.lead


def parse_condition(text: str, parse_duration: Callable[[str], int]) -> Condition:
    """Parse a rule's ``when``; raise ValueError with a short reason."""
    m = _WHEN.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(
            f'{text!r} is not a condition such as "resolution.at 75%", "first_response.before 10m"'
            ' or "next_update.breached"'
        )
    timer = m.group("timer")
    if timer not in TIMERS:
        raise ValueError(f"unknown timer {timer!r} (known: {', '.join(TIMERS)})")
    if m.group("at"):
        pct = float(m.group("pct"))
        if not 0 < pct <= 100:
            raise ValueError(f"{pct:g}% must be more than 0 and at most 100")
        return Condition(timer, share=pct / 100)
    if m.group("before"):
        return Condition(timer, lead=parse_duration(m.group("lead")))
    return Condition(timer, breached=True)


@dataclass(frozen=True)
class Rule:
    when: str
    condition: Condition
    action: str  # functional or hierarchical
    to: str
    reassign: bool = False
    priority: tuple[str, ...] = ()
    customer: tuple[str, ...] = ()
    policy: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    group: tuple[str, ...] = ()
    name: str = ""

    @property
    def label(self) -> str:
        """How people see the rule: its ``name`` when the configuration gives one, else its condition."""
        return self.name or self.when

    @property
    def key(self) -> str:
        """A stable identity: the same rule keeps its firings when rules are reordered or renamed."""
        text = "|".join(
            [
                self.when,
                self.action,
                self.to,
                str(self.reassign),
                *map(",".join, (self.priority, self.customer, self.policy, self.type, self.group)),
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def matches(self, *, priority: str, customer: str, policy: str, type: str, group: str) -> bool:
        for allowed, value in (
            (self.priority, priority),
            (self.customer, customer),
            (self.policy, policy),
            (self.type, type),
            (self.group, group),
        ):
            if allowed and value not in allowed:
                return False
        return True


@dataclass(frozen=True)
class Firing:
    rule: Rule
    cycle: str


def timer_cycle(timer: str, events: Sequence[Event], now: int, result: TimerResult) -> str:
    """Which cycle of a timer this is: reopens start new cycles; next_update also restarts at each reply."""
    count = reopens(events, now + 1)  # (events at ``now`` itself count: epoch seconds)
    if timer in CYCLIC:  # a new cycle at each reply (of the agent, or of the customer)
        return f"{count}:{result.started_at}"
    return str(count)


def due_firings(
    rules: Sequence[Rule], sla: TicketSla, events: Sequence[Event], now: int, *, customer: str, type: str, group: str
) -> list[Firing]:
    """The rules whose condition holds for this ticket now (the store decides whether each already fired)."""
    if sla.status in STOPPED:
        return []
    out = []
    for rule in rules:
        t = sla.timers.get(rule.condition.timer)
        if t is None or not rule.matches(
            priority=sla.priority, customer=customer, policy=sla.policy, type=type, group=group
        ):
            continue
        if rule.condition.met_by(t):
            out.append(Firing(rule, timer_cycle(rule.condition.timer, events, now, t)))
    return out


@dataclass
class EscalationSettings:
    groups: dict[str, str] = field(default_factory=lambda: {"L1": "L1"})  # group → level
    managers: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    ack_within: int = 15 * 60  # unacknowledged escalations older than this are highlighted
    bell: bool = True

    def rule(self, key: str | None) -> Rule | None:
        """The configured rule of a key (an escalation's ``rule``); None for a rule no longer configured."""
        return next((r for r in self.rules if r.key == key), None) if key else None

    def rule_label(self, key: str | None) -> str:
        """A rule's name for people (never its hash): its label, or "a rule since removed"."""
        rule = self.rule(key)
        return rule.label if rule is not None else "an automatic rule since removed from the configuration"

    def level_of(self, kind: str, target: str) -> str:
        return MANAGER_LEVEL if kind == HIERARCHICAL else self.groups.get(target, "L2")


def why_not_escalate(status: str) -> str | None:
    """Why a ticket in ``status`` cannot be escalated (None: it can): a resolved or closed ticket has nobody
    left to act on it; the screens ask this before they open the escalation dialog, the service on writing."""
    return f"it is {status}; reopen it before escalating" if status in STOPPED else None
