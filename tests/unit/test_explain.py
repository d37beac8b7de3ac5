"""The explanation pane's figures add up: counted intervals + what is left = the target."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import holidays

from deskterm.domain.calendar import BusinessCalendar, epoch
from deskterm.domain.explain import explain
from deskterm.domain.sla import Event, Policy, Targets, evaluate

PARIS = ZoneInfo("Europe/Paris")
OFFICE = BusinessCalendar(
    "office",
    "Europe/Paris",
    {0: ((540, 750), (810, 1080)), 1: ((540, 1080),), 2: ((540, 1080),), 3: ((540, 1080),), 4: ((540, 1020),)},
    holidays.country_holidays("FR"),
    frozenset(),
)
POLICY = Policy("gold-office", OFFICE, {p: Targets(3600, 20 * 3600) for p in ("P1", "P2", "P3", "P4")}, 0.75)


def at(*a: int) -> int:
    return epoch(datetime(*a, tzinfo=PARIS))


def test_weekend_holiday_and_pause_add_up_to_the_target():
    # Thursday 2026-04-02 16:00, pending Friday 10:00 → Tuesday 10:00 (weekend and Easter Monday inside)
    created = at(2026, 4, 2, 16, 0)
    events = [
        Event(at(2026, 4, 2, 16, 30), "reply", True, "alice"),
        Event(at(2026, 4, 3, 10, 0), "status", to="pending"),
        Event(at(2026, 4, 7, 10, 0), "status", to="open"),
    ]
    now = at(2026, 4, 7, 12, 0)
    sla = evaluate(created, "P3", events, POLICY, now)
    res = sla.timers["resolution"]
    ex = explain(res, POLICY, now)
    # counted: Thu 16:00-18:00 (2h) + Fri 09:00-10:00 (1h) + Tue 10:00-12:00 (2h) = 5h
    assert ex.counted_seconds == res.consumed == 5 * 3600
    assert ex.pauses == [(at(2026, 4, 3, 10, 0), at(2026, 4, 7, 10, 0))]
    # 15h left: Tue 12:00-18:00 (6h), Wed 09:00-18:00 (9h) → due Wed 18:00
    assert ex.future_seconds == res.remaining == 15 * 3600
    assert res.due == at(2026, 4, 8, 18, 0)
    assert ex.counted_seconds + ex.future_seconds == ex.target
    assert all(OFFICE.seconds_between(a, b) == b - a for a, b in ex.counted + ex.future)
