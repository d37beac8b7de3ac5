"""What a ticket's history says about it, read from its events alone.

Pure: the events are anything with ``kind``, ``author`` and ``to`` (``records.EventRecord``, ``NewEvent``),
so both the service (when a ticket is resolved) and the reports (for tickets resolved before the flag
was stored) ask here, and neither asks the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class HistoryEvent(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def author(self) -> str: ...
    @property
    def to(self) -> str | None: ...


# The kinds of event by which an agent (not the customer) handles a ticket.
_HANDLING = ("reply", "status", "priority", "assign", "type", "classification")


def first_contact(events: Iterable[HistoryEvent], resolver: str) -> bool:
    """Resolved at first contact: never escalated or moved to another group, never reassigned, and
    handled by one agent only (the resolver)."""
    agents = {resolver}
    assignees = set()
    for e in events:
        if e.kind in ("escalate", "group"):
            return False
        if e.kind == "assign" and e.to:
            assignees.add(e.to)
        if e.author != "customer" and e.kind in _HANDLING:
            agents.add(e.author)
    return len(assignees) <= 1 and len(agents) == 1
