"""Property tests of the calendar and the SLA engine (hypothesis).

Calendars have random weekly intervals (bounds biased towards the night hours where clocks change and
towards 00:00/24:00), random closed days (biased towards DST-change days), in Europe/Paris,
America/New_York, Australia/Sydney, Asia/Kolkata or UTC, sometimes with FR holidays or 24x7. Instants fall
in 2025-2027, half of them within two days of a DST change of one of those zones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskterm.domain.calendar import BusinessCalendar, always_calendar, epoch, from_epoch
from deskterm.domain.sla import Event, Policy, Targets, evaluate, live_timer, provisional_timer

ZONES = ("Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC")
FIRST_DAY, LAST_DAY = date(2025, 1, 1), date(2027, 12, 31)
T_MIN = epoch(datetime.combine(FIRST_DAY, time(0), tzinfo=UTC))
T_MAX = epoch(datetime.combine(LAST_DAY, time(23, 59, 59), tzinfo=UTC))
FR_HOLIDAYS = frozenset(holidays.country_holidays("FR", years=range(2024, 2031)))

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _change_days(name: str) -> list[date]:
    """Local days on which zone ``name`` changes its UTC offset (2025-2027)."""
    zone, out = ZoneInfo(name), []
    d = FIRST_DAY
    prev = datetime.combine(d, time(0), tzinfo=zone).utcoffset()
    while d <= LAST_DAY:
        d += timedelta(days=1)
        off = datetime.combine(d, time(0), tzinfo=zone).utcoffset()
        if off != prev:
            out.append(d - timedelta(days=1))  # the change happened during the previous local day
        prev = off
    return out


CHANGE_DAYS = {name: _change_days(name) for name in ZONES}
DST_ZONES = tuple(name for name in ZONES if CHANGE_DAYS[name])
# Change days of every zone, with the day before and after.
DST_DAYS = sorted({d + timedelta(days=k) for ds in CHANGE_DAYS.values() for d in ds for k in (-1, 0, 1)})
assert date(2026, 3, 29) in CHANGE_DAYS["Europe/Paris"] and date(2026, 11, 1) in CHANGE_DAYS["America/New_York"]
assert date(2026, 10, 4) in CHANGE_DAYS["Australia/Sydney"] and DST_ZONES == ZONES[:3]

# -- strategies -----------------------------------------------------------------------------------------------

minute_bound = st.one_of(
    st.integers(0, 1440),
    st.sampled_from([0, 60, 90, 120, 130, 150, 170, 180, 190, 210, 240, 540, 1020, 1080, 1440]),
)


@st.composite
def day_intervals(draw) -> tuple[tuple[int, int], ...]:
    bounds = sorted(draw(st.lists(minute_bound, max_size=6, unique=True)))
    if len(bounds) % 2:
        bounds.pop()
    return tuple(zip(bounds[::2], bounds[1::2], strict=False))


days = st.one_of(st.sampled_from(DST_DAYS), st.dates(FIRST_DAY, LAST_DAY))


@st.composite
def calendars(draw) -> BusinessCalendar:
    if draw(st.integers(0, 19)) == 0:
        return always_calendar()
    weekly = {}
    for wd in range(7):
        intervals = draw(day_intervals())
        if intervals:
            weekly[wd] = intervals
    # At least one hour a week, so that any deadline below is found within a year or so.
    if sum(e - s for ivs in weekly.values() for s, e in ivs) < 60:
        weekly[draw(st.integers(0, 6))] = ((540, 1020),)
    return BusinessCalendar(
        name="prop",
        timezone=draw(st.sampled_from(ZONES)),
        weekly=weekly,
        holidays=FR_HOLIDAYS if draw(st.booleans()) else None,
        closed=frozenset(draw(st.lists(days, max_size=8))),
    )


@st.composite
def instants(draw) -> int:
    if draw(st.booleans()):
        return draw(st.integers(T_MIN, T_MAX))
    d = draw(st.sampled_from(DST_DAYS))
    midnight = epoch(datetime.combine(d, time(0), tzinfo=UTC))
    return midnight + draw(st.integers(-86400, 2 * 86400))


targets_seconds = st.integers(1, 40 * 3600)


def policy_for(cal: BusinessCalendar, fr: int, res: int, nu: int | None) -> Policy:
    return Policy(name="p", calendar=cal, targets={"P1": Targets(fr, res, nu)}, warn_at=0.75)


def in_business_time(cal: BusinessCalendar, due: int) -> bool:
    """``due`` is inside a business interval or exactly at its end: the second before it counts."""
    return cal.seconds_between(due - 1, due) == 1


# -- (e) cumulative is monotonic, seconds_between is additive ---------------------------------------------------


@SETTINGS
@given(cal=calendars(), ts=st.lists(instants(), min_size=3, max_size=8), order=st.randoms(use_true_random=False))
def test_cumulative_monotonic_and_additive(cal, ts, order):
    ts = sorted(ts)
    # Ask in a random order: the table grows both ways, values handed out before must stay valid.
    shuffled = list(ts)
    order.shuffle(shuffled)
    values = {x: cal.cumulative(x) for x in shuffled}
    assert all(values[a] <= values[b] for a, b in pairwise(ts))
    for a, b in pairwise(ts):
        assert 0 <= cal.seconds_between(a, b) <= b - a
        assert cal.seconds_between(a, b) == values[b] - values[a]
    a, b, c = ts[0], ts[len(ts) // 2], ts[-1]
    assert cal.seconds_between(a, c) == cal.seconds_between(a, b) + cal.seconds_between(b, c)
    # Business intervals of a day are sorted and never overlap.
    day = from_epoch(b, cal.tz).date()
    ivs = cal.day_intervals(day)
    assert all(s < e for s, e in ivs)
    assert all(e1 <= s2 for (_, e1), (s2, _) in pairwise(ivs))
    assert sum(e - s for s, e in cal.intervals(a, c)) == cal.seconds_between(a, c)


night_bound = st.sampled_from([0, 60, 90, 110, 120, 130, 150, 170, 180, 190, 200, 210, 240, 300, 1440])


@st.composite
def night_intervals(draw) -> tuple[tuple[int, int], ...]:
    bounds = sorted(draw(st.lists(night_bound, min_size=2, max_size=6, unique=True)))
    if len(bounds) % 2:
        bounds.pop()
    return tuple(zip(bounds[::2], bounds[1::2], strict=False))


@st.composite
def zone_and_change_day(draw) -> tuple[str, date]:
    zone = draw(st.sampled_from(DST_ZONES))
    return zone, draw(st.sampled_from(CHANGE_DAYS[zone]))


@SETTINGS
@given(zone_day=zone_and_change_day(), intervals=night_intervals(), seconds=st.integers(1, 6 * 3600))
def test_day_table_on_dst_days(zone_day, intervals, seconds):
    zone, day = zone_day
    # Business hours every day, bounds in the night hours where the clocks change.
    cal = BusinessCalendar("night", zone, {wd: intervals for wd in range(7)})
    ivs = cal.day_intervals(day)
    assert all(s < e for s, e in ivs)
    assert all(e1 <= s2 for (_, e1), (s2, _) in pairwise(ivs))  # sorted, never overlapping
    midnight = epoch(datetime.combine(day, time(0), tzinfo=cal.tz))
    next_midnight = epoch(datetime.combine(day + timedelta(days=1), time(0), tzinfo=cal.tz))
    assert all(midnight <= s and e <= next_midnight for s, e in ivs)
    assert cal.seconds_between(midnight, next_midnight) == sum(e - s for s, e in ivs)
    due = cal.add(midnight - 3600, seconds)
    assert in_business_time(cal, due)
    assert cal.seconds_between(midnight - 3600, due) == seconds


# -- (b), (c) deadlines ----------------------------------------------------------------------------------------------


@SETTINGS
@given(cal=calendars(), start=instants(), seconds=targets_seconds)
def test_add_lands_in_business_time_after_exactly_the_target(cal, start, seconds):
    due = cal.add(start, seconds)
    assert due > start
    assert in_business_time(cal, due)  # never in closed time, never at the start of a later interval
    assert cal.seconds_between(start, due) == seconds
    assert cal.seconds_between(start, due - 1) == seconds - 1  # the first such instant


@SETTINGS
@given(
    cal=calendars(), created=instants(), fr=targets_seconds, res=targets_seconds, now_offset=st.integers(0, 30 * 86400)
)
def test_uninterrupted_timer_counts_exactly_its_target(cal, created, fr, res, now_offset):
    sla = evaluate(created, "P1", [], policy_for(cal, fr, res, None), created + now_offset)
    for name, target in (("first_response", fr), ("resolution", res)):
        timer = sla.timers[name]
        assert timer.state in ("running", "breached")
        assert timer.due is not None
        assert in_business_time(cal, timer.due)
        assert cal.seconds_between(created, timer.due) == target
        assert (timer.state == "breached") == (created + now_offset > timer.due)
        assert timer.remaining == target - cal.seconds_between(created, created + now_offset)


@st.composite
def histories(draw):
    """A ticket: creation instant, events in time order (replies, notes, status changes), and now."""
    created = draw(instants())
    gaps = draw(st.lists(st.integers(0, 3 * 86400), max_size=12))
    kinds = st.sampled_from(["reply", "customer", "note", "pending", "open", "resolved", "reopen", "P2"])
    events: list[Event] = []
    at = created
    for gap in gaps:
        at += gap
        kind = draw(kinds)
        if kind == "reply":
            events.append(Event(at, "reply", public=True, author="alice"))
        elif kind == "customer":
            events.append(Event(at, "reply", public=True, author="customer"))
        elif kind == "note":
            events.append(Event(at, "reply", public=False, author="bob"))
        elif kind == "P2":
            events.append(Event(at, "priority", to="P2"))
        else:
            events.append(Event(at, "status", to="open" if kind == "reopen" else kind))
    now = at + draw(st.integers(0, 5 * 86400))
    return created, events, now


@SETTINGS
@given(cal=calendars(), history=histories(), fr=targets_seconds, res=targets_seconds, nu=targets_seconds)
def test_every_due_lies_in_business_time(cal, history, fr, res, nu):
    created, events, now = history
    policy = Policy("p", cal, {"P1": Targets(fr, res, nu), "P2": Targets(2 * fr, 2 * res, nu)})
    sla = evaluate(created, "P1", events, policy, now)
    for timer in sla.timers.values():
        if timer.state == "paused":
            assert timer.due is None
        else:
            assert timer.due is not None and in_business_time(cal, timer.due), timer
        assert timer.warning == (timer.state in ("running", "paused") and timer.consumed >= 0.75 * timer.target)
        assert timer.remaining == timer.target - timer.consumed
        if timer.state == "breached":
            assert timer.remaining <= 0
        if timer.state in ("running", "paused", "met"):
            assert timer.remaining >= 0


# -- (a) more pause never brings a deadline forward -----------------------------------------------------------------


@SETTINGS
@given(
    cal=calendars(),
    created=instants(),
    res=targets_seconds,
    nu=targets_seconds,
    reply_after=st.integers(0, 86400),
    bounds=st.lists(st.integers(0, 10 * 86400), min_size=2, max_size=10),
    keep=st.lists(st.booleans(), min_size=5, max_size=5),
    tail=st.integers(0, 10 * 86400),
)
def test_adding_pause_time_never_makes_due_earlier(cal, created, res, nu, reply_after, bounds, keep, tail):
    bounds = sorted(bounds)
    if len(bounds) % 2:
        bounds.pop()
    pauses = [(created + a, created + b) for a, b in zip(bounds[::2], bounds[1::2], strict=False)]
    reply = Event(created + reply_after, "reply", public=True, author="alice")
    now = created + max(bounds[-1], reply_after) + tail
    policy = policy_for(cal, 60, res, nu)

    def ticket(chosen):
        events = [reply]
        for p, o in chosen:
            events += [Event(p, "status", to="pending"), Event(o, "status", to="open")]
        events.sort(key=lambda e: e.at)  # stable: pending before open at one instant, reply first
        return evaluate(created, "P1", events, policy, now)

    fewer = [p for p, k in zip(pauses, keep, strict=False) if k]
    more_sla, fewer_sla = ticket(pauses), ticket(fewer)
    for name in ("resolution", "next_update"):
        more, less = more_sla.timers[name], fewer_sla.timers[name]
        assert more.due is not None and less.due is not None  # no pause is open at now
        assert more.due >= less.due, (name, more, less)
        assert more.consumed <= less.consumed
        if less.state in ("running", "met"):
            assert more.state == less.state


# -- (d) the offset in which timestamps are written does not matter --------------------------------------------------

fixed_offsets = st.integers(-12 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))
writing_zones = st.one_of(st.sampled_from([ZoneInfo(z) for z in ZONES]), fixed_offsets)


def rewrite(t: int, tz, how: int) -> int:
    """Write instant ``t`` as a datetime in zone ``tz`` and read it back."""
    dt = datetime.fromtimestamp(t, UTC).astimezone(tz)
    if how == 0:  # through ISO 8601 text with its offset
        return epoch(datetime.fromisoformat(dt.isoformat()))
    # through wall-clock fields (fold says which of two repeated wall times)
    rebuilt = datetime(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, tzinfo=tz, fold=dt.fold)
    return epoch(rebuilt)


@SETTINGS
@given(
    cal=calendars(),
    history=histories(),
    zones=st.lists(writing_zones, min_size=1, max_size=4),
    how=st.integers(0, 1),
    targets=st.tuples(targets_seconds, targets_seconds, targets_seconds),
)
def test_result_does_not_depend_on_the_writing_offset(cal, history, zones, how, targets):
    created, events, now = history
    policy = Policy("p", cal, {"P1": Targets(*targets), "P2": Targets(*targets)})

    def zone(i: int):
        return zones[i % len(zones)]

    created2 = rewrite(created, zone(0), how)
    events2 = [Event(rewrite(e.at, zone(i + 1), how), e.kind, e.public, e.author, e.to) for i, e in enumerate(events)]
    now2 = rewrite(now, zone(len(events) + 1), how)
    assert (created2, [e.at for e in events2], now2) == (created, [e.at for e in events], now)
    assert evaluate(created2, "P1", events2, policy, now2) == evaluate(created, "P1", events, policy, now)


# -- (g) a timer carried forward from an earlier evaluation is the timer evaluated later ---------------------------


@SETTINGS
@given(
    cal=calendars(),
    history=histories(),
    fr=targets_seconds,
    res=targets_seconds,
    nu=targets_seconds,
    later=st.integers(0, 10 * 86400),
)
def test_live_timer_equals_a_later_evaluation(cal, history, fr, res, nu, later):
    """The countdowns tick from one evaluation (``live_timer``) instead of replaying the history each second:
    with no event in between, what they show at ``now + later`` is what evaluating then says."""
    created, events, now = history
    policy = Policy("p", cal, {"P1": Targets(fr, res, nu), "P2": Targets(2 * fr, 2 * res, nu)})
    then = evaluate(created, "P1", events, policy, now)
    after = evaluate(created, "P1", events, policy, now + later)
    for name, timer in then.timers.items():
        live = live_timer(timer, cal, policy.warn_at, now, now + later)
        truth = after.timers[name]
        expected = "warning" if truth.state == "running" and truth.warning else truth.state
        assert (live.state, live.remaining) == (expected, truth.remaining), (name, timer, truth)
        if live.state != "paused":
            assert live.due == truth.due


@SETTINGS
@given(
    cal=calendars(), created=instants(), res=targets_seconds, seen=st.integers(0, 86400), later=st.integers(0, 86400)
)
def test_provisional_timer_from_a_row_equals_the_evaluation(cal, created, res, seen, later):
    """A queue row painted before its ticket is evaluated (``provisional_timer``: the stored deadline, the counted
    time left at the last change, the warning instant) says what the evaluation says."""
    policy = policy_for(cal, res, res, None)
    row = evaluate(created, "P1", [], policy, created + seen).timers["resolution"]
    live = provisional_timer(
        "resolution", "open", row.due, row.remaining, row.warn_due, created + seen, cal, created + seen + later
    )
    truth = evaluate(created, "P1", [], policy, created + seen + later).timers["resolution"]
    expected = "warning" if truth.state == "running" and truth.warning else truth.state
    assert (live.state, live.remaining, live.due) == (expected, truth.remaining, truth.due)
