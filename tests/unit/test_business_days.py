"""Business-day targets (``3bd``): the deadline falls the same business moment N business days later, or at the
closing of that business day (``business_day_due = "end_of_day"``). Property tests on random calendars (the
strategies of test_sla_properties) and on an office calendar with French holidays, plus the engine and the
configuration (the unit, the mode, the warning about long ``d`` targets)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_sla_properties import FR_HOLIDAYS, SETTINGS, calendars, in_business_time, instants

from deskterm.config import parse_config
from deskterm.domain.calendar import BusinessCalendar, epoch
from deskterm.domain.sla import Event, Policy, Targets, evaluate
from deskterm.errors import BadInput

PARIS = ZoneInfo("Europe/Paris")
NINE_TO_SIX = ((540, 1080),)


def office(closed: frozenset[date] = frozenset()) -> BusinessCalendar:
    return BusinessCalendar(
        name="office",
        timezone="Europe/Paris",
        weekly={wd: NINE_TO_SIX for wd in range(5)},
        holidays=FR_HOLIDAYS,
        closed=closed,
    )


def business_day(cal: BusinessCalendar, d: date) -> bool:
    return bool(cal.day_intervals(d))


def nth_business_day_after(cal: BusinessCalendar, d: date, n: int) -> date:
    while n:
        d += timedelta(days=1)
        if business_day(cal, d):
            n -= 1
    return d


def at(text: str) -> int:
    return epoch(datetime.fromisoformat(text).replace(tzinfo=PARIS))


# -- the examples of the issue ----------------------------------------------------------------------------------


def test_three_business_days_from_tuesday_morning_is_friday_same_time():
    cal = office()
    assert cal.business_days_later(at("2026-10-06T10:00"), 3) == at("2026-10-09T10:00")
    assert cal.business_days_later(at("2026-10-06T10:00"), 3, end_of_day=True) == at("2026-10-09T18:00")


def test_weekend_and_holiday_are_skipped():
    cal = office()
    # Thursday 2026-11-05 + 3bd: Fri 6, (weekend), Mon 9, Tue 10 (11 November is a holiday, Wednesday)
    assert cal.business_days_later(at("2026-11-05T15:30"), 3) == at("2026-11-10T15:30")
    assert cal.business_days_later(at("2026-11-06T15:30"), 3) == at("2026-11-12T15:30")


def test_after_closing_counts_from_next_opening():
    cal = office()
    # Friday evening: day 0 is Monday; 1bd is one whole business day: Monday's closing (= Tuesday's opening)
    assert cal.business_days_later(at("2026-10-09T19:00"), 1) == at("2026-10-12T18:00")
    assert cal.business_days_later(at("2026-10-09T19:00"), 1, end_of_day=True) == at("2026-10-13T18:00")
    # Saturday: the same
    assert cal.business_days_later(at("2026-10-10T11:00"), 2) == at("2026-10-13T18:00")


def test_shorter_day_clips_to_its_closing():
    weekly = {wd: NINE_TO_SIX for wd in range(4)} | {4: ((540, 1020),)}  # Friday closes at 17:00
    cal = BusinessCalendar(name="o", timezone="Europe/Paris", weekly=weekly)
    assert cal.business_days_later(at("2026-10-06T17:30"), 3) == at("2026-10-09T17:00")


def test_24x7_calendar_counts_24_hours_a_day():
    cal = BusinessCalendar(name="always", always=True)
    start = at("2026-10-06T10:00")
    assert cal.business_days_later(start, 3) == start + 3 * 86400


# -- properties -------------------------------------------------------------------------------------------------


office_instants = st.integers(epoch(datetime(2025, 1, 1, tzinfo=PARIS)), epoch(datetime(2027, 12, 1, tzinfo=PARIS)))


@SETTINGS
@given(start=office_instants, n=st.integers(1, 30))
def test_office_same_moment_n_business_days_later(start, n):
    cal = office()
    due = cal.business_days_later(start, n)
    local = datetime.fromtimestamp(start, PARIS)
    opening, closing = local.replace(hour=9, minute=0, second=0), local.replace(hour=18, minute=0, second=0)
    inside = business_day(cal, local.date()) and opening < local < closing
    if inside:
        # a start in business hours: the same wall time, n business days later, n whole days of 9 h counted
        d = nth_business_day_after(cal, local.date(), n)
        assert datetime.fromtimestamp(due, PARIS) == datetime.combine(d, local.time(), tzinfo=PARIS)
        assert cal.seconds_between(start, due) == n * 9 * 3600
    else:
        # outside: counted from the next opening, n whole business days
        assert cal.seconds_between(start, due) == n * 9 * 3600
        assert datetime.fromtimestamp(due, PARIS).time() == time(18, 0)
    assert in_business_time(cal, due)


@SETTINGS
@given(start=office_instants, n=st.integers(1, 30))
def test_office_end_of_day_is_the_closing_of_the_same_business_day(start, n):
    cal = office()
    same, eod = cal.business_days_later(start, n), cal.business_days_later(start, n, end_of_day=True)
    assert eod >= same
    local_eod = datetime.fromtimestamp(eod, PARIS)
    assert local_eod.time() == time(18, 0) and business_day(cal, local_eod.date())
    # nothing but the rest of that business day lies between them (at most 9 h, less than a business day)
    assert cal.seconds_between(same, eod) < 9 * 3600 or datetime.fromtimestamp(same, PARIS).time() == time(18, 0)


@SETTINGS
@given(cal=calendars(), start=instants(), n=st.integers(1, 12), eod=st.booleans())
def test_random_calendars_deadline_in_business_time_and_n_business_days_on(cal, start, n, eod):
    due = cal.business_days_later(start, n, end_of_day=eod)
    assert due > start
    assert in_business_time(cal, due)
    if cal.always:
        return
    # The business days strictly after the start's business day, up to the deadline's day, number n; or n - 1
    # when the deadline is the closing of the day before (a start at or before the opening).
    start_local = datetime.fromtimestamp(start, cal.tz).date()
    due_day = datetime.fromtimestamp(due - 1, cal.tz).date()  # the second before: the day it is counted in
    counted, d = 0, start_local
    while d < due_day:
        d += timedelta(days=1)
        counted += business_day(cal, d)
    assert counted in (n - 1, n, n + 1)


@SETTINGS
@given(cal=calendars(), a=instants(), b=instants(), n=st.integers(1, 8))
def test_a_later_start_never_gives_an_earlier_deadline(cal, a, b, n):
    a, b = sorted((a, b))
    assert cal.business_days_later(a, n) <= cal.business_days_later(b, n)
    assert cal.business_days_later(a, n, True) <= cal.business_days_later(b, n, True)


@SETTINGS
@given(
    cal=calendars(),
    asked=st.lists(st.tuples(instants(), st.integers(1, 25), st.booleans()), min_size=1, max_size=12),
)
def test_the_business_days_kept_by_a_calendar_give_what_a_fresh_calendar_finds(cal, asked):
    """A calendar keeps the n-th business day after each day it was asked about (a report asks it for every
    ticket): asked again and again, in any order (its table growing forwards and backwards), each deadline is the
    one a new calendar of the same hours, asked only that, finds by walking the days."""
    for start, n, eod in asked:
        fresh = BusinessCalendar(cal.name, cal.timezone, cal.weekly, cal.holidays, cal.closed, cal.always)
        assert cal.business_days_later(start, n, eod) == fresh.business_days_later(start, n, eod)
    for start, n, eod in reversed(asked):  # (every one kept now)
        fresh = BusinessCalendar(cal.name, cal.timezone, cal.weekly, cal.holidays, cal.closed, cal.always)
        assert cal.business_days_later(start, n, eod) == fresh.business_days_later(start, n, eod)


# -- the engine -------------------------------------------------------------------------------------------------


def bd_policy(cal: BusinessCalendar, days: int, end_of_day: bool = False) -> Policy:
    targets = Targets(first_response=3600, resolution=days * 86400, days=(("resolution", days),))
    return Policy(name="bd", calendar=cal, targets={"P3": targets}, end_of_day=end_of_day)


@SETTINGS
@given(created=office_instants, n=st.integers(1, 10), eod=st.booleans())
def test_engine_due_is_the_business_day_deadline(created, n, eod):
    cal = office()
    sla = evaluate(created, "P3", [], bd_policy(cal, n, eod), created + 60)
    assert sla.timers["resolution"].due == cal.business_days_later(created, n, eod)
    assert sla.timers["resolution"].state == "running"


@SETTINGS
@given(created=office_instants, n=st.integers(1, 5), pause_at=st.integers(600, 3 * 86400), pause=st.integers(60, 86400))
def test_a_pause_pushes_the_deadline_by_its_business_time(created, n, pause_at, pause):
    cal = office()
    events = [
        Event(at=created + pause_at, kind="status", to="pending"),
        Event(at=created + pause_at + pause, kind="status", to="open"),
    ]
    now = created + pause_at + pause + 1
    timer = evaluate(created, "P3", events, bd_policy(cal, n), now).timers["resolution"]
    target = cal.seconds_between(created, cal.business_days_later(created, n))
    assert timer.target == target
    if timer.state == "running":
        paused = cal.seconds_between(created + pause_at, created + pause_at + pause)
        assert cal.seconds_between(created, timer.due) == target + paused


# -- the configuration ------------------------------------------------------------------------------------------


def _config(resolution: str, extra: str = "") -> dict:
    import tomllib

    return tomllib.loads(
        f"""
[calendars.office]
timezone = "Europe/Paris"
mon = ["09:00-18:00"]
tue = ["09:00-18:00"]
wed = ["09:00-18:00"]
thu = ["09:00-18:00"]
fri = ["09:00-18:00"]
[policies.std]
calendar = "office"
{extra}
P1 = {{ first_response = "15m", resolution = "4h" }}
P2 = {{ first_response = "30m", resolution = "8h" }}
P3 = {{ first_response = "2h", resolution = "{resolution}" }}
P4 = {{ first_response = "8h", resolution = "10bd" }}
"""
    )


def test_config_reads_bd_and_the_mode():
    cfg = parse_config(_config("3bd", 'business_day_due = "end_of_day"'))
    pol = cfg.policies["std"]
    assert pol.end_of_day and pol.targets["P3"].days == (("resolution", 3),)
    assert pol.targets["P4"].days == (("resolution", 10),)
    assert cfg.warnings == []
    created = at("2026-10-06T10:00")
    assert evaluate(created, "P3", [], pol, created).timers["resolution"].due == at("2026-10-09T18:00")


def test_config_warns_on_a_d_target_longer_than_a_business_week():
    cfg = parse_config(_config("6d"), "desk.toml")
    assert len(cfg.warnings) == 1
    assert cfg.warnings[0].startswith("desk.toml: policies.std.P3.resolution: '6d' counts 144 h of business time")
    assert "'6bd'" in cfg.warnings[0]
    assert len(parse_config(_config("3d")).warnings) == 1  # 72 h: 8 business days of 9 h, the trap
    assert parse_config(_config("1d")).warnings == []  # 24 h: within the 45-hour week


def test_config_refuses_bad_bd():
    for text in ("0bd", "-1bd", "3.5bd", "99999bd", "3 bd d"):
        with pytest.raises(BadInput):
            parse_config(_config(text))


def test_cli_says_the_warning_on_one_line_and_runs(tmp_path):
    from deskterm_testing import run_cli

    text = (
        '[calendars.office]\ntimezone = "Europe/Paris"\nmon = ["09:00-18:00"]\ntue = ["09:00-18:00"]\n'
        '[policies.std]\ncalendar = "office"\n'
        'P1 = { first_response = "15m", resolution = "4h" }\nP2 = { first_response = "30m", resolution = "8h" }\n'
        'P3 = { first_response = "2h", resolution = "3d" }\nP4 = { first_response = "8h", resolution = "5bd" }\n'
    )
    path = tmp_path / "desk.toml"
    path.write_text(text)
    out = run_cli("--db", str(tmp_path / "desk.db"), "--config", str(path), "customers", "list")
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0] == (
        f"deskterm: warning: {path}: policies.std.P3.resolution: '3d' counts 72 h of business time, more than a "
        "week of calendar 'office' (18 h): about 8 business days; write '3bd' for business days"
    )
