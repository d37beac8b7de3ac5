"""What a ticket's history says about it, read from its events alone.

Pure: the events are anything with ``kind``, ``author`` and ``to`` (``records.EventRecord``, ``NewEvent``),
so both the service (when a ticket is resolved) and the reports (for tickets resolved before the flag
was stored) ask here, and neither asks the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from .workflow import STOPPED


class HistoryEvent(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def author(self) -> str: ...
    @property
    def to(self) -> str | None: ...


class TimedEvent(HistoryEvent, Protocol):
    @property
    def at(self) -> datetime: ...


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


SURVEY_KINDS = ("csat", "nps", "ces")  # the answers of a survey (domain/survey.py), one event per score
SURVEY_REMINDER = "survey_reminder"  # the customer was reminded of the survey


class StampedEvent(Protocol):
    """An event whose ``at`` is an instant of the caller's kind: a datetime (records) or epoch seconds (the SLA
    engine's events). Only compared with the ``until`` given along."""

    @property
    def kind(self) -> str: ...
    @property
    def to(self) -> str | None: ...
    @property
    def at(self) -> Any: ...


def status_at(events: Iterable[StampedEvent], until: Any) -> str:
    """The ticket's status just before ``until`` (events at or after it have not happened yet); events in time
    order."""
    status = "new"
    for e in events:
        if e.at >= until:
            break
        if e.kind == "status" and e.to:
            status = e.to
    return status


def reopens(events: Iterable[StampedEvent], until: Any) -> int:
    """How many times the ticket was taken back out of resolved or closed before ``until``; events in time
    order. (Each reopening starts a new cycle of the SLA's timers; a resolved ticket reopened counts in the
    reopen rate.)"""
    status, count = "new", 0
    for e in events:
        if e.at >= until:
            break
        if e.kind == "status" and e.to:
            if status in STOPPED and e.to not in STOPPED:
                count += 1
            status = e.to
    return count


def resolved_at(events: Iterable[TimedEvent]) -> datetime | None:
    """When the ticket was last resolved (or closed without being resolved first), if it was."""
    found = None
    status = "new"
    for e in events:
        if e.kind == "status" and e.to:
            if e.to in STOPPED and status not in STOPPED:
                found = e.at
            elif e.to not in STOPPED:
                found = None
            status = e.to
    return found


def survey_state(events: Iterable[HistoryEvent]) -> str:
    """The survey of the ticket's last resolution: ``none`` (not resolved now), ``asked`` (no answer yet),
    ``reminded`` (reminded once, no answer) or ``answered``. Read in the history's order: what came before the
    last resolution belongs to an earlier survey."""
    state = "none"
    status = "new"
    for e in events:
        if e.kind == "status" and e.to:
            if e.to in STOPPED and status not in STOPPED:
                state = "asked"
            elif e.to not in STOPPED:
                state = "none"
            status = e.to
        elif state != "none" and e.kind in SURVEY_KINDS:
            state = "answered"
        elif state == "asked" and e.kind == SURVEY_REMINDER:
            state = "reminded"
    return state


def survey_scores(events: Iterable[HistoryEvent]) -> dict[str, int]:
    """The latest score the ticket's history holds for each survey measure (``csat``, ``nps``, ``ces``)."""
    scores: dict[str, int] = {}
    for e in events:
        if e.kind in SURVEY_KINDS and e.to is not None and e.to.lstrip("-").isdigit():
            scores[e.kind] = int(e.to)
    return scores
