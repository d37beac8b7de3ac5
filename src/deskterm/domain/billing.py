"""The service manager's rules: logged time, change requests, contracts and what a month costs.

- **Time**: an entry is a whole number of minutes, more than zero and at most 24 hours (``25m``, ``1h30``,
  ``2h``, ``1h30m``, ``90m``).
- **Change requests** (tickets classified ``change_request``) carry an estimate and an approval state that moves
  one step at a time: proposed → approved → delivered → invoiced; proposed or approved → rejected.
- **Contracts**: a customer's contracts never overlap; a contract's end (or renewal date) is not before its
  start; the contract of a ticket is the one in force on the day it was created.
- **Billing**: time logged on a change request that has been approved (approved, delivered, invoiced) is billed
  at the contract's rate; time on any other ticket of the contract (defects, and work not classified) uses the
  contract's included hours and is never billed; time on a change request still proposed, or rejected, is
  neither billed nor counted in the included hours (it is listed, so that nothing is hidden).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

MAX_ENTRY = 24 * 3600
APPROVAL_STATES = ("proposed", "approved", "delivered", "invoiced", "rejected")
APPROVAL_NEXT: dict[str | None, tuple[str, ...]] = {
    None: ("proposed",),
    "proposed": ("approved", "rejected"),
    "approved": ("delivered", "rejected"),
    "delivered": ("invoiced",),
    "invoiced": (),
    "rejected": (),
}
BILLABLE_STATES = ("approved", "delivered", "invoiced")

_WORK = re.compile(r"^(?:(?P<h>[0-9]{1,4})h(?P<hm>[0-9]{1,2})?m?|(?P<m>[0-9]{1,5})m)$")


class RuleError(ValueError):
    """Input that breaks one of the rules above (the message says which)."""


def parse_work(text: str) -> int:
    """``"25m"`` → 1500 seconds; ``"1h30"`` or ``"1h30m"`` → 5400. Raises RuleError naming the problem."""
    raw = text.strip().lower().replace(" ", "")
    if raw.startswith("-"):
        raise RuleError(f"{text!r}: a time entry cannot be negative")
    m = _WORK.match(raw)
    if not m:
        raise RuleError(f"{text!r} is not a duration such as 25m, 1h30 or 2h")
    if m.group("m") is not None:
        minutes = int(m.group("m"))
    else:
        extra = int(m.group("hm") or 0)
        if extra > 59:
            raise RuleError(f"{text!r}: minutes after the hours must be 0 to 59")
        minutes = int(m.group("h")) * 60 + extra
    return check_entry(minutes * 60, text)


def check_entry(seconds: int, text: object = None) -> int:
    shown = repr(text) if text is not None else f"{seconds}s"
    if seconds < 0:
        raise RuleError(f"{shown}: a time entry cannot be negative")
    if seconds == 0:
        raise RuleError(f"{shown}: a time entry must be longer than zero")
    if seconds > MAX_ENTRY:
        raise RuleError(f"{shown}: more than 24 h in one entry; log each day's work on its own")
    return seconds


def check_approval(current: str | None, to: str) -> None:
    """Refuse an approval step that is not the next one (a skipped state, a step back, an unknown state)."""
    if to not in APPROVAL_STATES:
        raise RuleError(f"approval: {to!r} is not one of {', '.join(APPROVAL_STATES)}")
    allowed = APPROVAL_NEXT[current]
    if to not in allowed:
        now = current or "not proposed"
        if not allowed:
            raise RuleError(f"approval: {now} is final; it cannot become {to}")
        raise RuleError(f"approval: {now} cannot become {to} (next: {' or '.join(allowed)})")


def hours(seconds: int) -> str:
    """Seconds as decimal hours, two places: 5400 → ``1.50``."""
    return f"{seconds / 3600:.2f}"


def amount_cents(seconds: int, rate_cents: int) -> int:
    """The price of ``seconds`` at ``rate_cents`` an hour, to the cent (half up)."""
    return (seconds * rate_cents + 1800) // 3600


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def parse_money(text: str) -> int:
    """``"95"``, ``"95.5"`` or ``"95.50"`` → cents; RuleError otherwise (no negative rate)."""
    m = re.fullmatch(r"([0-9]{1,9})(?:[.,]([0-9]{1,2}))?", text.strip())
    if not m:
        raise RuleError(f"{text!r} is not an amount such as 95 or 95.50")
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


# -- contracts ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contract:
    name: str
    customer: str
    start: date
    end: date | None = None  # the last day in force; None: open-ended
    renews: bool = False  # the end is a renewal date: the contract goes on (a new term) unless ended
    policy: str | None = None
    included_seconds: int = 0  # a month
    rate_cents: int = 0  # an hour of billable work
    scope: str = ""
    id: int | None = None

    def in_force(self, day: date) -> bool:
        """On ``day``. A contract that renews is in force after its renewal date too."""
        return self.start <= day and (self.end is None or self.renews or day <= self.end)

    def overlaps(self, other: Contract) -> bool:
        a_end = None if self.renews else self.end
        b_end = None if other.renews else other.end
        return (b_end is None or self.start <= b_end) and (a_end is None or other.start <= a_end)


def check_contract(new: Contract, existing: Iterable[Contract]) -> None:
    if new.end is not None and new.end < new.start:
        raise RuleError(f"contract {new.name!r}: ends ({new.end}) before it starts ({new.start})")
    if new.included_seconds < 0 or new.rate_cents < 0:
        raise RuleError(f"contract {new.name!r}: included hours and rate cannot be negative")
    for other in existing:
        if other.customer != new.customer:
            continue
        if other.name == new.name:
            raise RuleError(f"contract {new.name!r}: {new.customer!r} already has a contract of that name")
        if new.overlaps(other):
            until = "renewing" if other.renews else (str(other.end) if other.end else "open-ended")
            raise RuleError(
                f"contract {new.name!r}: overlaps {other.name!r} ({other.start} to {until}) of the same customer"
            )


def in_force(contracts: Iterable[Contract], day: date) -> Contract | None:
    for c in contracts:
        if c.in_force(day):
            return c
    return None


def ending_within(contracts: Iterable[Contract], today: date, days: int = 60) -> list[Contract]:
    """Contracts whose end or renewal date falls within ``days`` days from ``today`` (a decision is due)."""
    last = today + timedelta(days=days)
    return sorted((c for c in contracts if c.end is not None and today <= c.end <= last), key=lambda c: (c.end, c.name))


def churned(contracts: Sequence[Contract], first: date, last: date) -> list[Contract]:
    """Contracts that ended without renewal between ``first`` and ``last`` (inclusive) and whose customer has no
    contract in force the day after: the customer left."""
    out = []
    for c in contracts:
        if c.renews or c.end is None or not first <= c.end <= last:
            continue
        after = c.end + timedelta(days=1)
        if not any(o is not c and o.customer == c.customer and o.in_force(after) for o in contracts):
            out.append(c)
    return sorted(out, key=lambda c: (c.end or c.start, c.customer, c.name))


# -- a month's bill ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkItem:
    """The time logged in the period on one ticket of the contract."""

    ticket_id: int
    ref: str | None
    subject: str
    classification: str | None
    seconds: int
    approval: str | None = None
    estimate_seconds: int | None = None
    approval_by: str | None = None
    approval_at: str | None = None  # ISO instant, for the report
    total_seconds: int = 0  # every entry of the ticket up to the period's end


@dataclass
class ChangeLine:
    item: WorkItem
    billable: bool
    amount_cents: int


@dataclass
class Bill:
    contract: Contract
    included_used: int = 0  # seconds of covered work
    included_left: int = 0  # included - used, never below zero
    beyond_included: int = 0  # covered work beyond the included hours (not billed)
    covered: list[WorkItem] = field(default_factory=list)
    changes: list[ChangeLine] = field(default_factory=list)
    billable_seconds: int = 0
    amount_cents: int = 0


def bill(contract: Contract, items: Iterable[WorkItem]) -> Bill:
    out = Bill(contract=contract)
    for item in sorted(items, key=lambda i: i.ticket_id):
        if item.classification == "change_request":
            billable = item.approval in BILLABLE_STATES
            cents = amount_cents(item.seconds, contract.rate_cents) if billable else 0
            out.changes.append(ChangeLine(item, billable, cents))
            if billable:
                out.billable_seconds += item.seconds
                out.amount_cents += cents
        else:
            out.covered.append(item)
            out.included_used += item.seconds
    out.included_left = max(0, contract.included_seconds - out.included_used)
    out.beyond_included = max(0, out.included_used - contract.included_seconds)
    return out
