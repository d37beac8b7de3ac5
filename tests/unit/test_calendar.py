"""Example tests of BusinessCalendar (contract section 5), with hand-computed values.

Every expected instant is written as a literal ISO 8601 timestamp with its UTC offset, so the reader can
check the arithmetic by hand. Most cases use the contract's section-3 "office" calendar:

    Europe/Paris, mon 09:00-12:30 & 13:30-18:00 (8 h), tue-thu 09:00-18:00 (9 h), fri 09:00-17:00 (8 h),
    FR public holidays.

Useful 2026 dates: 2026-03-29 (Sun) and 2026-10-25 (Sun) are the Paris DST changes, 2026-03-08 (Sun) and
2026-11-01 (Sun) the New York ones; FR holidays 2026-04-06 (Easter Monday), 2026-05-01 (Fri),
2026-05-08 (Fri), 2026-05-14 (Thu, Ascension), 2026-12-25 (Fri), 2027-01-01 (Fri).
"""

from __future__ import annotations

from datetime import date, datetime
from itertools import pairwise

import holidays
import pytest

from deskterm.domain.calendar import (
    BusinessCalendar,
    CalendarError,
    always_calendar,
    epoch,
    from_epoch,
    parse_hhmm_interval,
)

H = 3600
M = 60


def t(iso: str) -> int:
    """Epoch seconds of an ISO 8601 timestamp that carries its offset."""
    return epoch(datetime.fromisoformat(iso))


def weekly(**days: list[str]) -> dict[int, tuple[tuple[int, int], ...]]:
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return {names.index(k): tuple(parse_hhmm_interval(x) for x in v) for k, v in days.items()}


FR = holidays.country_holidays("FR")


def office(closed: frozenset[date] = frozenset()) -> BusinessCalendar:
    return BusinessCalendar(
        name="office",
        timezone="Europe/Paris",
        weekly=weekly(
            mon=["09:00-12:30", "13:30-18:00"],
            tue=["09:00-18:00"],
            wed=["09:00-18:00"],
            thu=["09:00-18:00"],
            fri=["09:00-17:00"],
        ),
        holidays=FR,
        closed=closed,
    )


def local(cal: BusinessCalendar, instant: int) -> str:
    return from_epoch(instant, cal.tz).isoformat()


# -- parsing ------------------------------------------------------------------------------------------


def test_parse_hhmm_interval():
    assert parse_hhmm_interval("09:00-12:30") == (540, 750)
    assert parse_hhmm_interval("00:00-24:00") == (0, 1440)
    assert parse_hhmm_interval(" 13:30 - 18:00 ") == (810, 1080)


@pytest.mark.parametrize(
    "bad",
    [
        "18:00-09:00",
        "09:00-09:00",
        "9:00-12:00",
        "09:60-10:00",
        "24:00-24:00",
        "09:00",
        "09:00-24:01",
        "ab:cd-ef:gh",
        "09:00-10:00-11:00",
    ],
)
def test_parse_hhmm_interval_rejects(bad):
    with pytest.raises(ValueError):
        parse_hhmm_interval(bad)


# -- which days are open ------------------------------------------------------------------------------


def test_business_days_weekends_holidays_and_closed_days():
    cal = office(closed=frozenset({date(2026, 12, 24)}))
    assert cal.is_business_day(date(2026, 3, 30))  # Monday
    assert not cal.is_business_day(date(2026, 3, 28))  # Saturday
    assert not cal.is_business_day(date(2026, 3, 29))  # Sunday
    assert not cal.is_business_day(date(2026, 4, 6))  # Easter Monday
    assert not cal.is_business_day(date(2026, 5, 14))  # Ascension Thursday
    assert not cal.is_business_day(date(2026, 12, 24))  # extra closed day
    assert cal.is_business_day(date(2026, 12, 23))


def test_holidays_may_be_a_plain_set():
    cal = BusinessCalendar("x", "Europe/Paris", weekly(wed=["09:00-18:00"]), holidays={date(2026, 3, 11)})
    # Wed 2026-03-11 is a holiday: from Tue 12:00, one hour lands on Wed 2026-03-18 10:00.
    assert cal.add(t("2026-03-10T12:00:00+01:00"), H) == t("2026-03-18T10:00:00+01:00")


def test_day_intervals_are_real_instants_in_the_calendar_zone():
    cal = office()
    # Monday after the spring change: offsets are +02:00.
    assert cal.day_intervals(date(2026, 3, 30)) == (
        (t("2026-03-30T09:00:00+02:00"), t("2026-03-30T12:30:00+02:00")),
        (t("2026-03-30T13:30:00+02:00"), t("2026-03-30T18:00:00+02:00")),
    )
    assert cal.day_intervals(date(2026, 4, 6)) == ()  # Easter Monday


def test_week_totals():
    cal = office()
    # A plain week: 8 + 9 + 9 + 9 + 8 = 43 h.
    assert cal.seconds_between(t("2026-03-16T00:00:00+01:00"), t("2026-03-23T00:00:00+01:00")) == 43 * H
    # Easter week (Mon 2026-04-06 off): 9 + 9 + 9 + 8 = 35 h.
    assert cal.seconds_between(t("2026-04-06T00:00:00+02:00"), t("2026-04-13T00:00:00+02:00")) == 35 * H
    # Week of the Ascension (Thu 2026-05-14 off): 8 + 9 + 9 + 8 = 34 h.
    assert cal.seconds_between(t("2026-05-11T00:00:00+02:00"), t("2026-05-18T00:00:00+02:00")) == 34 * H
    # The week spanning the spring change (Sun 2026-03-29) is still 43 h.
    assert cal.seconds_between(t("2026-03-23T00:00:00+01:00"), t("2026-03-30T00:00:00+02:00")) == 43 * H


# -- counted time and deadlines: outside business hours -------------------------------------------------


def test_creation_in_the_evening():
    cal = office()
    # Tue 19:30 → nothing until Wed 09:00; two hours → Wed 11:00.
    assert cal.add(t("2026-03-10T19:30:00+01:00"), 2 * H) == t("2026-03-11T11:00:00+01:00")
    assert cal.seconds_between(t("2026-03-10T19:30:00+01:00"), t("2026-03-11T09:00:00+01:00")) == 0


def test_creation_on_the_weekend():
    cal = office()
    # Sat 10:00 + 1 h → Mon 2026-03-16 10:00.
    assert cal.add(t("2026-03-14T10:00:00+01:00"), H) == t("2026-03-16T10:00:00+01:00")
    # Fri 17:30 (after Friday's 17:00 close) + 1 h → Mon 10:00.
    assert cal.add(t("2026-03-13T17:30:00+01:00"), H) == t("2026-03-16T10:00:00+01:00")
    assert cal.seconds_between(t("2026-03-13T17:00:00+01:00"), t("2026-03-16T09:00:00+01:00")) == 0


def test_lunch_break_on_monday():
    cal = office()
    # Mon 12:00 + 1 h: 12:00-12:30 (30 m), then 13:30-14:00.
    assert cal.add(t("2026-03-16T12:00:00+01:00"), H) == t("2026-03-16T14:00:00+01:00")
    # Starting inside the break.
    assert cal.add(t("2026-03-16T13:00:00+01:00"), 30 * M) == t("2026-03-16T14:00:00+01:00")


def test_deadline_lands_at_the_end_of_an_interval_not_the_start_of_the_next():
    cal = office()
    # Exactly 3 h 30 from Mon 09:00 is 12:30 (end of the morning), not 13:30.
    assert cal.add(t("2026-03-16T09:00:00+01:00"), 3 * H + 30 * M) == t("2026-03-16T12:30:00+01:00")
    # A whole Friday from Fri 09:00 ends at Fri 17:00, not Mon 09:00.
    assert cal.add(t("2026-03-13T09:00:00+01:00"), 8 * H) == t("2026-03-13T17:00:00+01:00")
    # From Saturday, 8 h is the whole Monday: Mon 18:00.
    assert cal.add(t("2026-03-14T12:00:00+01:00"), 8 * H) == t("2026-03-16T18:00:00+01:00")
    # One more second starts Tuesday.
    assert cal.add(t("2026-03-14T12:00:00+01:00"), 8 * H + 1) == t("2026-03-17T09:00:01+01:00")


def test_add_zero_or_negative_is_the_start():
    cal = office()
    s = t("2026-03-14T12:00:00+01:00")
    assert cal.add(s, 0) == s
    assert cal.add(s, -5) == s
    assert cal.seconds_between(s + 10, s) == 0


# -- weekends with public holidays -----------------------------------------------------------------------


def test_weekend_and_easter_monday():
    cal = office()
    # Fri 2026-04-03 16:00 + 8 h: Fri 16:00-17:00 (1 h), Sat, Sun, Easter Monday closed,
    # Tue 2026-04-07 09:00 + 7 h = 16:00.
    start = t("2026-04-03T16:00:00+02:00")
    assert cal.add(start, 8 * H) == t("2026-04-07T16:00:00+02:00")
    assert cal.seconds_between(start, t("2026-04-07T16:00:00+02:00")) == 8 * H
    assert cal.seconds_between(t("2026-04-03T17:00:00+02:00"), t("2026-04-07T09:00:00+02:00")) == 0


def test_may_day_weekend():
    cal = office()
    # Thu 2026-04-30 17:00 + 10 h: Thu 1 h; Fri 1 May off; Mon 4 May 8 h (9 h so far); Tue 09:00 + 1 h.
    assert cal.add(t("2026-04-30T17:00:00+02:00"), 10 * H) == t("2026-05-05T10:00:00+02:00")
    # Thu 2026-05-07 17:00 + 2 h: Thu 1 h; Fri 8 May (Victory Day) off; Mon 11 May 10:00.
    assert cal.add(t("2026-05-07T17:00:00+02:00"), 2 * H) == t("2026-05-11T10:00:00+02:00")
    # Wed 2026-05-13 17:00 + 2 h: Wed 1 h; Thu 14 May (Ascension) off; Fri 15 May 10:00.
    assert cal.add(t("2026-05-13T17:00:00+02:00"), 2 * H) == t("2026-05-15T10:00:00+02:00")


def test_extra_closed_days():
    closed = frozenset({date(2026, 12, 24), date(2026, 12, 31)})
    cal = office(closed)
    # Wed 2026-12-23 17:00 + 2 h: Wed 1 h; 24 closed, 25 Christmas, weekend; Mon 2026-12-28 10:00.
    assert cal.add(t("2026-12-23T17:00:00+01:00"), 2 * H) == t("2026-12-28T10:00:00+01:00")
    # Without the closed day, Thu 24 is open: Thu 10:00.
    assert office().add(t("2026-12-23T17:00:00+01:00"), 2 * H) == t("2026-12-24T10:00:00+01:00")
    # Wed 2026-12-30 17:00 + 2 h: 31 closed, 2027-01-01 holiday, weekend; Mon 2027-01-04 10:00.
    assert cal.add(t("2026-12-30T17:00:00+01:00"), 2 * H) == t("2027-01-04T10:00:00+01:00")


# -- daylight-saving changes -------------------------------------------------------------------------------


def test_office_deadline_across_paris_spring_change():
    cal = office()
    # Fri 2026-03-27 16:05 +01:00 + 8 h: Fri 55 m; Mon 30 Mar 09:00-12:30 (4 h 25 so far), 13:30 + 3 h 35
    # = 17:05 +02:00. Counting in UTC would have said 18:05.
    start = t("2026-03-27T16:05:00+01:00")
    due = cal.add(start, 8 * H)
    assert due == t("2026-03-30T17:05:00+02:00")
    assert local(cal, due) == "2026-03-30T17:05:00+02:00"
    assert due - start == 72 * H  # 15:05Z to 15:05Z: 72 h of real time, 73 h of wall clock
    assert cal.seconds_between(start, due) == 8 * H


def test_office_deadline_across_paris_autumn_change():
    cal = office()
    # Fri 2026-10-23 16:00 +02:00 + 8 h: Fri 1 h; Mon 26 Oct 09:00-12:30 (4 h 30), 13:30 + 3 h 30 = 17:00 +01:00.
    start = t("2026-10-23T16:00:00+02:00")
    due = cal.add(start, 8 * H)
    assert due == t("2026-10-26T17:00:00+01:00")
    assert due - start == 3 * 24 * H + 2 * H  # 73 h of wall clock, 74 h of real time
    assert cal.seconds_between(start, due) == 8 * H


def night_shift(zone: str, **days: list[str]) -> BusinessCalendar:
    return BusinessCalendar(name="night", timezone=zone, weekly=weekly(**days))


def test_paris_night_interval_holds_its_real_length_on_change_days():
    cal = night_shift("Europe/Paris", sun=["00:00-03:30"])
    # A normal Sunday: 3 h 30.
    assert cal.seconds_between(t("2026-03-22T00:00:00+01:00"), t("2026-03-23T00:00:00+01:00")) == 3 * H + 30 * M
    # Spring (2026-03-29, 02:00 → 03:00): 00:00 +01:00 to 03:30 +02:00 is 2 h 30 of real time.
    assert cal.day_intervals(date(2026, 3, 29)) == ((t("2026-03-29T00:00:00+01:00"), t("2026-03-29T03:30:00+02:00")),)
    assert cal.seconds_between(t("2026-03-29T00:00:00+01:00"), t("2026-03-30T00:00:00+02:00")) == 2 * H + 30 * M
    # Autumn (2026-10-25, 03:00 → 02:00): 00:00 +02:00 to 03:30 +01:00 is 4 h 30 of real time.
    assert cal.day_intervals(date(2026, 10, 25)) == ((t("2026-10-25T00:00:00+02:00"), t("2026-10-25T03:30:00+01:00")),)
    assert cal.seconds_between(t("2026-10-25T00:00:00+02:00"), t("2026-10-26T00:00:00+01:00")) == 4 * H + 30 * M


def test_paris_deadlines_inside_the_change():
    cal = night_shift("Europe/Paris", sun=["00:00-03:30"])
    # 01:30 +01:00 + 45 m of real time = 03:15 +02:00 (wall 02:15 does not exist).
    assert cal.add(t("2026-03-29T01:30:00+01:00"), 45 * M) == t("2026-03-29T03:15:00+02:00")
    # 01:30 +02:00 + 2 h = 02:30 +01:00, the second 02:30 of the night.
    assert cal.add(t("2026-10-25T01:30:00+02:00"), 2 * H) == t("2026-10-25T02:30:00+01:00")
    # From Saturday noon, 3 h: the whole short Sunday (2 h 30) and 30 m of the next: 2026-04-05 00:30.
    assert cal.add(t("2026-03-28T12:00:00+01:00"), 3 * H) == t("2026-04-05T00:30:00+02:00")
    # Exactly 2 h 30 ends at the end of the short interval, 03:30 +02:00.
    assert cal.add(t("2026-03-28T12:00:00+01:00"), 2 * H + 30 * M) == t("2026-03-29T03:30:00+02:00")


def test_new_york_night_interval_on_change_days():
    cal = night_shift(
        "America/New_York", **{d: ["00:00-03:30"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    )
    # Spring 2026-03-08: 00:00 -05:00 to 03:30 -04:00 = 2 h 30.
    assert cal.seconds_between(t("2026-03-08T00:00:00-05:00"), t("2026-03-09T00:00:00-04:00")) == 2 * H + 30 * M
    # Autumn 2026-11-01: 00:00 -04:00 to 03:30 -05:00 = 4 h 30.
    assert cal.seconds_between(t("2026-11-01T00:00:00-04:00"), t("2026-11-02T00:00:00-05:00")) == 4 * H + 30 * M
    # Sat 2026-03-07 03:00 + 3 h: Sat 30 m, the whole short Sunday (2 h 30) → ends at Sun 03:30 -04:00.
    assert cal.add(t("2026-03-07T03:00:00-05:00"), 3 * H) == t("2026-03-08T03:30:00-04:00")
    # Ten more minutes go to Monday 00:10 -04:00.
    assert cal.add(t("2026-03-07T03:00:00-05:00"), 3 * H + 10 * M) == t("2026-03-09T00:10:00-04:00")
    # Sat 2026-10-31 03:00 + 4 h: Sat 30 m, then 3 h 30 of real time from Sun 00:00 -04:00 (04:00Z) → 07:30Z,
    # which is 02:30 -05:00, after the repeated hour.
    assert cal.add(t("2026-10-31T03:00:00-04:00"), 4 * H) == t("2026-11-01T02:30:00-05:00")


def test_new_york_office_across_the_spring_weekend():
    cal = BusinessCalendar(
        "ny", "America/New_York", weekly(**{d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")})
    )
    # Fri 2026-03-06 16:00 -05:00 + 2 h: Fri 1 h; Mon 2026-03-09 09:00 -04:00 + 1 h.
    start = t("2026-03-06T16:00:00-05:00")
    due = cal.add(start, 2 * H)
    assert due == t("2026-03-09T10:00:00-04:00")
    assert due - start == 65 * H  # 66 h of wall clock, one hour lost
    # Autumn: Fri 2026-10-30 16:00 -04:00 + 8 h → Mon 2026-11-02 16:00 -05:00.
    assert cal.add(t("2026-10-30T16:00:00-04:00"), 8 * H) == t("2026-11-02T16:00:00-05:00")


def test_wall_times_in_the_spring_gap_never_count_twice():
    # 02:00-02:50 does not exist on 2026-03-29; read with the pre-change offset it is 03:00-03:50 +02:00,
    # which overlaps the next interval 03:00-04:00. The real business time that day is 03:00-04:00 +02:00,
    # one hour, and must be counted once.
    cal = night_shift("Europe/Paris", sun=["02:00-02:50", "03:00-04:00"])
    day_start, day_end = t("2026-03-29T00:00:00+01:00"), t("2026-03-30T00:00:00+02:00")
    assert cal.seconds_between(day_start, day_end) == H
    due = cal.add(day_start, 30 * M)
    assert due == t("2026-03-29T03:30:00+02:00")
    assert cal.seconds_between(day_start, due) == 30 * M
    # Intervals of a day are sorted and never overlap.
    days = cal.day_intervals(date(2026, 3, 29))
    assert all(e1 <= s2 for (_, e1), (s2, _) in pairwise(days))
    # Reversed order after conversion: 02:30-02:45 reads 03:30-03:45 +02:00, 03:00-03:10 stays before it.
    cal2 = night_shift("Europe/Paris", sun=["02:30-02:45", "03:00-03:10"])
    assert cal2.day_intervals(date(2026, 3, 29)) == (
        (t("2026-03-29T03:00:00+02:00"), t("2026-03-29T03:10:00+02:00")),
        (t("2026-03-29T03:30:00+02:00"), t("2026-03-29T03:45:00+02:00")),
    )
    assert cal2.add(day_start, 15 * M) == t("2026-03-29T03:35:00+02:00")


# -- cumulative, intervals, the table ------------------------------------------------------------------------


def test_intervals_clipped_to_the_range():
    cal = office()
    got = list(cal.intervals(t("2026-03-16T10:00:00+01:00"), t("2026-03-17T10:00:00+01:00")))
    assert got == [
        (t("2026-03-16T10:00:00+01:00"), t("2026-03-16T12:30:00+01:00")),
        (t("2026-03-16T13:30:00+01:00"), t("2026-03-16T18:00:00+01:00")),
        (t("2026-03-17T09:00:00+01:00"), t("2026-03-17T10:00:00+01:00")),
    ]
    assert list(cal.intervals(t("2026-03-14T00:00:00+01:00"), t("2026-03-16T00:00:00+01:00"))) == []


def test_cumulative_values_survive_a_query_far_in_the_past():
    cal = office()
    a = t("2026-03-16T10:00:00+01:00")
    b = t("2026-03-17T10:00:00+01:00")
    ca = cal.cumulative(a)
    cal.cumulative(t("2020-01-06T10:00:00+01:00"))  # grows the table backwards
    assert cal.cumulative(b) - ca == 8 * H  # Mon 10:00-12:30, 13:30-18:00 (7 h) + Tue 09:00-10:00 (1 h)
    assert cal.seconds_between(a, b) == cal.cumulative(b) - ca


def test_far_future_and_past_queries():
    cal = office()
    # 2030-01-02 is a Wednesday: 09:00 + 1 h.
    assert cal.add(t("2030-01-01T20:00:00+01:00"), H) == t("2030-01-02T10:00:00+01:00")  # 1 Jan is a holiday
    assert cal.add(t("2024-12-31T17:30:00+01:00"), H) == t("2025-01-02T09:30:00+01:00")


def test_a_calendar_without_business_time_cannot_give_a_deadline():
    cal = BusinessCalendar("never", "Europe/Paris", {})
    assert cal.seconds_between(t("2026-01-01T00:00:00+01:00"), t("2026-12-31T00:00:00+01:00")) == 0
    with pytest.raises(CalendarError):
        cal.add(t("2026-01-01T00:00:00+01:00"), 1)


# -- the 24x7 calendar ---------------------------------------------------------------------------------------


def test_always_counts_every_real_second():
    cal = always_calendar()
    s = t("2026-03-28T22:00:00+01:00")
    assert cal.add(s, 5 * H) == t("2026-03-29T04:00:00+02:00")  # 5 real hours across the spring change
    # The Paris spring-change day is 23 real hours; the autumn one 25.
    assert cal.seconds_between(t("2026-03-29T00:00:00+01:00"), t("2026-03-30T00:00:00+02:00")) == 23 * H
    assert cal.seconds_between(t("2026-10-25T00:00:00+02:00"), t("2026-10-26T00:00:00+01:00")) == 25 * H
    # Holidays and weekends count too.
    assert cal.seconds_between(t("2026-04-03T17:00:00+02:00"), t("2026-04-07T09:00:00+02:00")) == 88 * H
    assert list(cal.intervals(s, s + 10)) == [(s, s + 10)]
