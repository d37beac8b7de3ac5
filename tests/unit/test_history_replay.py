"""The ticket's status at an instant and its reopenings, read from its history (domain/history.py): one home
for the reports (reopen rate, backlog at the period's end) and the escalation rules (a timer's cycle)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from deskterm.domain.history import reopens, status_at
from deskterm.domain.workflow import STOPPED

STATUSES = ["new", "open", "pending", "on_hold", "resolved", "closed"]


@dataclass(frozen=True)
class Ev:
    at: object
    kind: str
    to: str | None


T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_status_and_reopens_at_instants():
    events = [
        Ev(T0, "status", "open"),
        Ev(T0 + timedelta(hours=1), "reply", None),
        Ev(T0 + timedelta(hours=2), "status", "resolved"),
        Ev(T0 + timedelta(hours=3), "status", "open"),  # reopened
        Ev(T0 + timedelta(hours=4), "status", "closed"),
    ]
    assert status_at(events, T0) == "new"  # an event at the instant itself has not happened yet
    assert status_at(events, T0 + timedelta(minutes=1)) == "open"
    assert status_at(events, T0 + timedelta(hours=2, minutes=1)) == "resolved"
    assert reopens(events, T0 + timedelta(hours=3)) == 0
    assert reopens(events, T0 + timedelta(hours=3, seconds=1)) == 1
    assert status_at(events, T0 + timedelta(days=1)) == "closed"
    # epoch seconds work the same way (the SLA engine's events)
    seconds = [Ev(int(e.at.timestamp()), e.kind, e.to) for e in events]  # type: ignore[attr-defined]
    assert reopens(seconds, int((T0 + timedelta(days=1)).timestamp())) == 1


@given(st.lists(st.sampled_from(STATUSES), max_size=12), st.integers(min_value=0, max_value=13))
def test_reopens_count_the_steps_out_of_a_stopped_status(path, cut):
    events = [Ev(i, "status", to) for i, to in enumerate(path)]
    before = ["new", *path[:cut]]
    expected = sum(1 for a, b in zip(before, before[1:], strict=False) if a in STOPPED and b not in STOPPED)
    assert reopens(events, cut) == expected
    assert status_at(events, cut) == before[-1]
