"""Problems and their corrective actions (ITIL problem management).

A ticket of type ``problem`` may record its root cause, be marked a known error with its workaround, have
incidents linked to it (each incident to one problem at most; a problem is never linked to another problem) and
own corrective actions. An action is ``open``, then ``done`` or ``cancelled`` (final); it is **overdue** while open
after its due day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .billing import RuleError

ACTION_STATES = ("open", "done", "cancelled")


@dataclass(frozen=True)
class Action:
    id: int
    problem_id: int
    title: str
    owner: str
    due: date
    state: str = "open"
    done_on: date | None = None  # the local day it was done

    def overdue(self, today: date) -> bool:
        return self.state == "open" and self.due < today

    def late(self) -> bool:
        """Done after its due day."""
        return self.state == "done" and self.done_on is not None and self.done_on > self.due


def check_action_state(current: str, to: str) -> None:
    if to not in ACTION_STATES:
        raise RuleError(f"action: {to!r} is not one of {', '.join(ACTION_STATES)}")
    if current != "open":
        raise RuleError(f"action: {current} is final; it cannot become {to}")
    if to == "open":
        raise RuleError("action: already open")


def check_link(problem_type: str, incident_type: str, problem_key: str, incident_key: str) -> None:
    if problem_type != "problem":
        raise RuleError(f"ticket {problem_key}: not a problem (type {problem_type}); set its type to problem first")
    if incident_type == "problem":
        raise RuleError(f"ticket {incident_key}: a problem cannot be linked to another problem")
    if problem_key == incident_key:
        raise RuleError(f"ticket {incident_key}: cannot be linked to itself")


def overdue(actions: Iterable[Action], today: date) -> list[Action]:
    return sorted((a for a in actions if a.overdue(today)), key=lambda a: (a.due, a.id))
