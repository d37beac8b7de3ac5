"""The ITIL matrix, and what the ticket's head says of impact and urgency beside its priority."""

import pytest

from deskterm.domain.priority import from_matrix, matrix_note


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [(1, 1, "P1"), (1, 2, "P2"), (2, 1, "P2"), (1, 3, "P3"), (2, 2, "P3"), (3, 1, "P3"), (2, 3, "P4"), (3, 3, "P4")],
)
def test_matrix(impact, urgency, priority):
    assert from_matrix(impact, urgency) == priority
    assert matrix_note(priority, impact, urgency) == f"impact {impact} × urgency {urgency}"


def test_a_priority_set_by_hand_is_not_shown_as_the_matrix_s():
    # a P4 (impact 3 × urgency 2) raised to P2 for a VIP: the head must not read "P2 (impact 3 × urgency 2)"
    assert matrix_note("P2", 3, 2) == "set by hand; impact 3 × urgency 2 gives P4"


def test_unknown_impact_or_urgency_says_nothing():
    assert matrix_note("P3", None, None) is None
    assert matrix_note("P3", 2, None) is None
