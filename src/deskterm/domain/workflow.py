"""Ticket statuses and the transitions an agent may make (contract section 6)."""

from __future__ import annotations

STATUSES = ("new", "open", "pending", "on_hold", "resolved", "closed")
STOPPED = frozenset({"resolved", "closed"})  # statuses that stop the resolution timer
PAUSING = frozenset({"pending"})  # waiting on the customer pauses resolution and next_update

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("open", "pending", "on_hold", "resolved"),
    "open": ("pending", "on_hold", "resolved"),
    "pending": ("open", "on_hold", "resolved"),
    "on_hold": ("open", "pending", "resolved"),
    "resolved": ("open", "closed"),
    "closed": (),
}


class TransitionError(ValueError):
    """A status change the workflow does not allow; the message names the allowed targets."""


def check_transition(current: str, target: str) -> None:
    if target not in STATUSES:
        raise TransitionError(f"unknown status {target!r}; statuses are {', '.join(STATUSES)}")
    if target == current:
        raise TransitionError(f"the ticket is already {current}")
    allowed = TRANSITIONS[current]
    if target not in allowed:
        choices = ", ".join(allowed) if allowed else "nothing (it is final)"
        raise TransitionError(f"cannot go from {current} to {target}; from {current} it may go to {choices}")


def is_open(status: str) -> bool:
    return status not in STOPPED
