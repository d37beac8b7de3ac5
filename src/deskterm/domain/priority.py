"""Priorities P1..P4 and the ITIL impact × urgency matrix.

Impact and urgency run from 1 (high) to 3 (low). The usual 3×3 ITIL matrix gives levels 1..5 as
impact + urgency - 1; deskterm has four priorities, so level 5 (low, low) folds into P4:

              urgency 1  urgency 2  urgency 3
    impact 1     P1         P2         P3
    impact 2     P2         P3         P4
    impact 3     P3         P4         P4
"""

from __future__ import annotations

PRIORITIES = ("P1", "P2", "P3", "P4")
TYPES = ("incident", "request", "problem", "change")
CLASSIFICATIONS = ("defect", "change_request")  # covered by the maintenance contract, or billable


def from_matrix(impact: int, urgency: int) -> str:
    if impact not in (1, 2, 3) or urgency not in (1, 2, 3):
        raise ValueError("impact and urgency must each be 1, 2 or 3")
    return f"P{min(impact + urgency - 1, 4)}"


def matrix_note(priority: str, impact: int | None, urgency: int | None) -> str | None:
    """What to say of a ticket's impact and urgency beside its priority: "impact 2 × urgency 1" when the
    matrix gives that priority; when the priority was set by hand since (a P4 raised to P2 for a VIP), the
    matrix's answer too, so that the two are not read as agreeing; None when they are not known."""
    if impact is None or urgency is None:
        return None
    note = f"impact {impact} × urgency {urgency}"
    try:
        given = from_matrix(impact, urgency)
    except ValueError:
        return note
    return note if given == priority else f"set by hand; {note} gives {given}"


def is_priority(value: object) -> bool:
    return value in PRIORITIES
