""" "Why is it due then?": the reasoning behind one timer, in pieces an agent can check by hand.

For a timer it gives the target, the calendar and its zone, every business interval that was counted
(running spans clipped to business hours), the pauses that were subtracted, and how the due instant
follows from the time left. The counted intervals add up to the consumed time, and consumed + left =
target, so the pane and the engine can never disagree: both come from the same replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from .calendar import BusinessCalendar
from .sla import Policy, TimerResult


@dataclass
class Explanation:
    timer: str
    policy: str
    calendar: str
    timezone: str
    always: bool
    target: int
    consumed: int
    remaining: int
    state: str
    due: int | None
    counted: list[tuple[int, int]] = field(default_factory=list)  # business intervals counted (epoch)
    pauses: list[tuple[int, int]] = field(default_factory=list)  # gaps between running spans
    future: list[tuple[int, int]] = field(default_factory=list)  # business intervals still to count, up to due

    @property
    def counted_seconds(self) -> int:
        return sum(b - a for a, b in self.counted)

    @property
    def future_seconds(self) -> int:
        return sum(b - a for a, b in self.future)


def explain(timer: TimerResult, policy: Policy, now: int, limit: int = 200) -> Explanation:
    """Explain ``timer`` (from ``sla.evaluate`` at ``now``) under ``policy``.

    ``limit`` caps the number of intervals listed (a 10-day target on a 24x7 calendar is one interval, on
    an office calendar about 20).
    """
    cal: BusinessCalendar = policy.calendar
    counted: list[tuple[int, int]] = []
    for a, b in timer.segments:
        counted.extend(cal.intervals(a, b))
    pauses = [(b1, a2) for (_, b1), (a2, _) in pairwise(timer.segments) if a2 > b1]
    if timer.stopped_at is None and timer.segments and timer.segments[-1][1] < now:
        pauses.append((timer.segments[-1][1], now))  # paused now
    elif timer.stopped_at is None and not timer.segments and now > timer.started_at:
        pauses.append((timer.started_at, now))
    future: list[tuple[int, int]] = []
    if timer.state == "running" and timer.due is not None and timer.due > now:
        future = list(cal.intervals(now, timer.due))
    return Explanation(
        timer=timer.name,
        policy=policy.name,
        calendar=cal.name,
        timezone="every second counts" if cal.always else cal.timezone,
        always=cal.always,
        target=timer.target,
        consumed=timer.consumed,
        remaining=timer.remaining,
        state=timer.state,
        due=timer.due,
        counted=counted[:limit],
        pauses=pauses[:limit],
        future=future[:limit],
    )
