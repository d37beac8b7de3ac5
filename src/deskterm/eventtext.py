"""One description of a ticket's event, for the ticket screen's timeline and the command line (``show``,
``history``), so that both name a thing the same way ("customer message", "reply to customer", "internal note",
"status open → pending"). Names and reasons come from outside: every value goes through ``one_line``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from .fmt import MANAGER_KINDS, one_line, work_words


def message_kind(e) -> str:
    """What a ``reply`` event is: a message from the customer, a public reply or an internal note."""
    if e.author == "customer":
        return "customer message"
    return "reply to customer" if e.public else "internal note"


def _v(value: str | None, empty: str = "none") -> str:
    return one_line(value) if value else empty


def describe(e) -> str:
    """One line for an event that is a change (``status open → pending``); for messages, what they are."""
    k = e.kind
    if k == "reply":
        return message_kind(e)
    if k == "status":
        text = f"status {_v(e.from_value, '?')} → {_v(e.to, '?')}" if e.from_value else f"status → {_v(e.to, '?')}"
        if e.to == "resolved" and e.reason:
            return f"{text} (code {one_line(e.reason)})"
        return text + (f" ({one_line(e.reason)})" if e.reason else "")
    if k == "priority":
        text = f"priority {_v(e.from_value, '?')} → {_v(e.to, '?')}" if e.from_value else f"priority → {_v(e.to, '?')}"
        return text + (f" ({one_line(e.reason)})" if e.reason else "")
    if k == "assign":
        if e.to:
            return f"assigned to {one_line(e.to)}" + (f" (was {one_line(e.from_value)})" if e.from_value else "")
        return f"unassigned (was {_v(e.from_value)})"
    if k == "group":
        return f"group {_v(e.from_value, '?')} → {_v(e.to, '?')}" + (f" ({one_line(e.reason)})" if e.reason else "")
    if k == "escalate":
        kind = f"{one_line(e.from_value)} " if e.from_value else ""
        return f"{kind}escalation to {_v(e.to, '?')}" + (f": {one_line(e.reason)}" if e.reason else "")
    if k == "de-escalate":
        return f"returned from {_v(e.from_value, '?')} to {_v(e.to, '?')}" + (
            f": {one_line(e.reason)}" if e.reason else ""
        )
    if k == "acknowledge":
        # the event's author is who pressed `a` (the OS user); ``to`` is the escalation's target
        what = one_line(e.reason) if e.reason else "escalation"  # "escalation 12"
        return f"{what} to {_v(e.to, '?')} acknowledged by {_v(e.author, '?')}"
    if k == "type":
        return f"type {_v(e.from_value)} → {_v(e.to)}"
    if k == "classification":
        return f"classification {_v(e.from_value)} → {_v(e.to)}"
    if k == "category":
        return f"category {_v(e.from_value)} → {_v(e.to)}" + (f" ({one_line(e.reason)})" if e.reason else "")
    if k in ("customer", "contact"):  # renamed, or merged into another customer (the reason says which)
        return f"{k} {_v(e.from_value)} → {_v(e.to)}" + (f" ({one_line(e.reason)})" if e.reason else "")
    if k == "link":
        if e.to:
            return f"linked to major incident #{one_line(e.to)}" + (
                f" (was #{one_line(e.from_value)})" if e.from_value else ""
            )
        return f"unlinked from major incident #{_v(e.from_value, '?')}"
    if k == "csat":
        return f"satisfaction {_v(e.to, '?')}/5"
    if k == "nps":
        return f"recommendation (NPS) {_v(e.to, '?')}/10"
    if k == "ces":
        return f"ease (CES) {_v(e.to, '?')}/7"
    if k == "survey_reminder":
        return "survey reminder sent"
    if k == "alert":
        return f"monitoring alert {_v(e.to, '?')}"
    if k in MANAGER_KINDS:  # time, change requests, problems and their corrective actions
        return work_words(k, e.from_value, e.to)
    return one_line(k) + (f" → {one_line(e.to)}" if e.to else "") + (f" ({one_line(e.reason)})" if e.reason else "")


def history_line(e) -> tuple[str, str | None]:
    """``deskterm history``'s account of an event: what happened (``describe``), and apart from it the text that
    goes with it (the message or comment, else the reason) for the caller to cut to its first line. The reason is
    given apart rather than in brackets, except an acknowledgement's, which is part of what it says."""
    if e.kind == "acknowledge" or not e.reason:
        return describe(e), e.body
    return describe(dataclasses.replace(e, reason=None)), e.body or e.reason


def with_previous_values(events: Iterable, initial_priority: str | None = None) -> list:
    """Imported history often names only the new value: fill ``from_value`` by replaying (display only)."""
    state = {"status": "new", "priority": initial_priority, "group": "L1", "escalate": None, "assign": None}
    out = []
    for e in events:
        key = "group" if e.kind == "escalate" else e.kind
        if key in state:
            if e.from_value is None and e.kind in ("status", "priority") and state[key]:
                e = dataclasses.replace(e, from_value=state[key])
            if e.to is not None or e.kind == "assign":
                state[key] = e.to
        out.append(e)
    return out
