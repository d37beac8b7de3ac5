"""The SLA engine's fast paths against the plain reference (``sla_reference.py``: the engine and its calendar as they
were before the replay was made faster). The engine now measures a calendar's counted time under its lock taken
once per evaluation, keeps the counted time of the instants it measured (``BusinessCalendar.counted``) and the
business-day targets it asked (``business_day_seconds``, which reads the wall-clock time of a day of 86,400 s from
its midnight). Whatever was asked
before, in whatever order, each evaluation must be the reference's, field for field: random calendars (24x7 and
business hours, holidays, closed days, DST days in Europe/Paris, New York, Sydney), random targets (some in
business days, closing or not), random histories (replies, customer messages, notes, every status, priority
changes), evaluated at random instants on calendars shared by many tickets."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sla_reference import ReferenceCalendar
from sla_reference import evaluate as reference_evaluate
from test_sla_properties import DST_DAYS, SETTINGS, calendars, instants

from deskterm.domain.calendar import BusinessCalendar, epoch
from deskterm.domain.sla import CUSTOMER, Event, Policy, Targets, evaluate

PRIORITIES = ("P1", "P2", "P3", "P4")


def reference_of(cal: BusinessCalendar) -> ReferenceCalendar:
    return ReferenceCalendar(
        name=cal.name,
        timezone=cal.timezone,
        weekly=cal.weekly,
        holidays=cal.holidays,
        closed=cal.closed,
        always=cal.always,
    )


seconds = st.integers(1, 30 * 3600)


@st.composite
def targets(draw) -> Targets:
    days = []
    for timer in ("first_response", "resolution", "next_update", "customer_reply"):
        if draw(st.integers(0, 3)) == 0:
            days.append((timer, draw(st.integers(1, 12))))
    return Targets(
        first_response=draw(seconds),
        resolution=draw(seconds),
        next_update=draw(st.none() | seconds),
        days=tuple(days),
        customer_reply=draw(st.none() | seconds),
    )


@st.composite
def policies(draw, cal: BusinessCalendar) -> Policy:
    some = draw(st.lists(st.sampled_from(PRIORITIES), min_size=1, max_size=4, unique=True))
    return Policy(
        name="p",
        calendar=cal,
        targets={p: draw(targets()) for p in some},
        warn_at=draw(st.sampled_from([0.5, 0.75, 0.8, 0.9, 1.0])),
        end_of_day=draw(st.booleans()),
    )


KINDS = ("reply", "customer", "note", "new", "open", "pending", "on_hold", "resolved", "closed", "priority", "assign")


@st.composite
def histories(draw) -> tuple[int, str, list[Event]]:
    """A ticket: its creation, its priority then, its events in time order (some at the same instant)."""
    created = draw(instants())
    events: list[Event] = []
    at = created
    for kind in draw(st.lists(st.sampled_from(KINDS), max_size=14)):
        at += draw(st.sampled_from([0, 1, 59, 3600]) | st.integers(0, 4 * 86400))
        if kind == "reply":
            events.append(Event(at, "reply", public=True, author="alice"))
        elif kind == "customer":
            events.append(Event(at, "reply", public=draw(st.booleans()), author=CUSTOMER))
        elif kind == "note":
            events.append(Event(at, "reply", public=False, author="bob"))
        elif kind == "priority":
            events.append(Event(at, "priority", author="bob", to=draw(st.sampled_from(PRIORITIES))))
        elif kind == "assign":
            events.append(Event(at, "assign", author="bob", to="alice"))
        else:
            events.append(Event(at, "status", author="bob", to=kind))
    return created, draw(st.sampled_from(PRIORITIES)), events


def replayed(cal: BusinessCalendar, policy: Policy, tickets, nows) -> None:
    """Each ticket evaluated at each instant (in the order given, on one calendar) is the reference's."""
    plain = dataclasses.replace(policy, calendar=reference_of(cal))
    for (created, priority, events), now in zip(tickets, nows, strict=True):
        fast = evaluate(created, priority, events, policy, now)
        assert fast == reference_evaluate(created, priority, events, plain, now)


@SETTINGS
@given(data=st.data(), cal=calendars())
def test_evaluations_on_a_shared_calendar_are_the_reference(data, cal):
    policy = data.draw(policies(cal))
    tickets = data.draw(st.lists(histories(), min_size=1, max_size=6))
    # each ticket at a few instants (the last event's, later, earlier: list --at), in a random order, so that what
    # the calendar kept from one evaluation serves the next ones
    asked = []
    for ticket in tickets:
        created, _, events = ticket
        last = events[-1].at if events else created
        for now in data.draw(st.lists(st.integers(created - 86400, last + 6 * 86400), min_size=1, max_size=3)):
            asked.append((ticket, now))
    asked = data.draw(st.permutations(asked))
    replayed(cal, policy, [t for t, _ in asked], [n for _, n in asked])


@SETTINGS
@given(data=st.data(), cal=calendars())
def test_business_day_seconds_are_the_reference(data, cal):
    """``business_day_seconds`` is ``seconds_between(start, business_days_later(...))`` of the reference, asked in any
    order, again and again (it is kept), on days of 86,400 s and on the days the clocks change."""
    plain = reference_of(cal)
    asks = data.draw(
        st.lists(st.tuples(instants(), st.integers(0, 10), st.booleans()), min_size=1, max_size=8), label="asks"
    )
    for start, days, closing in [*asks, *data.draw(st.permutations(asks))]:
        expected = plain.seconds_between(start, plain.business_days_later(start, days, closing))
        assert cal.business_day_seconds(start, days, closing) == expected


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Australia/Sydney", "America/Santiago"])
def test_the_instants_of_the_hours_on_dst_days_are_the_reference(zone):
    """Every start on the days around the clocks' changes (each quarter hour, both readings of the repeated hour),
    1 and 3 business days later, closing or not, on a 24-hour calendar in that zone."""
    weekly = {wd: ((0, 1440),) for wd in range(7)}
    cal = BusinessCalendar(name="z", timezone=zone, weekly=weekly)
    plain = reference_of(cal)
    tz = ZoneInfo(zone)
    days = [d for d in DST_DAYS if d.year == 2026] + [date(2026, 9, 5), date(2026, 4, 4)]
    for d in days:
        midnight = epoch(datetime.combine(d, time(0), tzinfo=tz))
        for start in range(midnight - 3600, midnight + 26 * 3600, 900):
            for n, closing in ((1, False), (3, False), (1, True)):
                expected = plain.seconds_between(start, plain.business_days_later(start, n, closing))
                assert cal.business_day_seconds(start, n, closing) == expected, (zone, start, n, closing)


def test_a_day_of_86400_seconds_keeps_one_offset_in_every_zone():
    """What ``business_day_seconds`` takes for granted: a day that lasts 86,400 s has no change of UTC offset in it,
    because no zone changes its offset twice within two days (read from the transitions of the time zone data,
    through the standard library's pure-Python ``zoneinfo``, which lists them)."""
    from zoneinfo import _zoneinfo  # type: ignore[attr-defined]

    close = []
    for name in sorted(available_timezones()):
        transitions = _zoneinfo.ZoneInfo.no_cache(name)._trans_utc
        close += [(name, a) for a, b in zip(transitions, transitions[1:], strict=False) if b - a < 2 * 86400]
    assert not close
    # and the rule beyond the listed transitions (the POSIX string): every day of 2038-2039 in the zones above
    for name in ("Europe/Paris", "America/New_York", "Australia/Sydney", "America/Santiago", "Asia/Kolkata"):
        tz = ZoneInfo(name)
        d = date(2038, 1, 1)
        while d < date(2040, 1, 1):
            start = datetime.combine(d, time(0), tzinfo=tz)
            end = datetime.combine(d + timedelta(days=1), time(0), tzinfo=tz)
            if end.timestamp() - start.timestamp() == 86400:
                offsets = set()
                for h in range(48):
                    offsets.add(datetime.fromtimestamp(start.timestamp() + h * 1800, UTC).astimezone(tz).utcoffset())
                assert len(offsets) == 1, (name, d)
            d += timedelta(days=1)
