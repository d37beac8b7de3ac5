"""Business calendars: when counted (business) time runs.

One function, ``cumulative``, measures counted time; its inverse finds deadlines. Both read the same
per-day table of business intervals, so a pause and a deadline can never disagree about a weekend or a
holiday (GLPI and Frappe did, because they used two different functions).

Intervals are wall-clock times in the calendar's own zone, turned into real UTC instants day by day, so an
interval on a day when the clocks change holds its real length (00:00-03:30 is 2.5 h or 4.5 h then).
Wall times that do not exist (spring gap) or exist twice (autumn) are read with ``fold=0``, the offset in
force before the change, the same for the start and the end of intervals, so adjacent intervals never
leave a gap or count a second twice.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CHUNK_DAYS = 64
# A calendar with no business time at all would make a deadline search run forever: give up after this.
_MAX_SEARCH_DAYS = 366 * 50


class CalendarError(ValueError):
    """A calendar that cannot produce a deadline (no business time ahead)."""


@dataclass(eq=False)
class BusinessCalendar:
    """Business hours of one calendar.

    ``weekly`` maps a weekday (0 = Monday) to sorted, non-overlapping (start, end) minute offsets from
    local midnight; end may be 1440 (24:00). ``holidays`` is any container of ``datetime.date`` (the
    ``holidays`` package's objects fit); ``closed`` holds extra closed days.
    """

    name: str
    timezone: str = "UTC"
    weekly: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    holidays: object | None = None
    closed: frozenset[date] = frozenset()
    always: bool = False

    def __post_init__(self) -> None:
        self.tz = ZoneInfo(self.timezone)
        self._anchor: int | None = None  # ordinal of the first day in the table
        self._midnights: list[int] = []  # local midnight of each day, as epoch seconds
        self._days: list[tuple[tuple[int, int], ...]] = []  # business intervals of each day (epoch)
        self._cum: list[int] = []  # counted seconds from the anchor to the start of each day (+1 end)
        self._end = 0  # local midnight after the last day of the table
        # whether each day of the table lasts 86,400 s: its UTC offset is then the same all day (no zone changes
        # its offset twice within two days), so its wall-clock time is the seconds since its midnight
        self._regular: list[bool] = []
        self._days_on: dict[tuple[int, int], int] = {}  # (day's ordinal, n) → ordinal of the n-th business day after
        # counted seconds of instants already measured, and of business-day targets (values handed out stay valid,
        # see _ensure); emptied when they reach _MEMO entries
        self.counted: _Counted = _Counted(self._cumulative_unlocked)
        self._day_targets: dict[tuple[int, int, bool], int] = {}
        # the app's event loop and its worker threads share one calendar per policy: the table is read and grown
        # under this lock, so that no reader sees it half built (re-entrant: add calls cumulative and instant_of)
        self._lock = threading.RLock()

    # -- the day table ---------------------------------------------------------------------------

    def _local_midnight(self, ordinal: int) -> int:
        return int(datetime.combine(date.fromordinal(ordinal), time(0), tzinfo=self.tz).timestamp())

    def is_business_day(self, day: date) -> bool:
        if day in self.closed:
            return False
        if self.holidays is not None and day in self.holidays:  # type: ignore[operator]
            return False
        return bool(self.weekly.get(day.weekday()))

    def day_intervals(self, day: date) -> tuple[tuple[int, int], ...]:
        """The business intervals of one local day, as (start, end) epoch seconds."""
        if not self.is_business_day(day):
            return ()
        out = []
        for start_min, end_min in self.weekly[day.weekday()]:
            start = self._wall(day, start_min)
            end = self._wall(day, end_min)
            if end > start:
                out.append((start, end))
        # A wall time inside the spring gap reads with the offset before the change, i.e. as the same
        # instant as the wall time one hour later (02:30 → 03:30): intervals with a bound in the gap can
        # then come out of order or overlap a later one. Keep their union of real instants, sorted, so
        # no second counts twice and ``cumulative``/``instant_of`` stay each other's inverse.
        out.sort()
        merged: list[tuple[int, int]] = []
        for start, end in out:
            if merged and start < merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1] = (merged[-1][0], end)
                continue
            merged.append((start, end))
        return tuple(merged)

    def _wall(self, day: date, minutes: int) -> int:
        if minutes >= 1440:
            return self._local_midnight(day.toordinal() + 1)
        wall = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.tz)
        return int(wall.timestamp())

    def _build(self, first: int, count: int) -> None:
        self._anchor = first
        self._midnights, self._days, self._cum, self._regular = [], [], [0], []
        self._end = self._local_midnight(first)
        self._extend(count)

    def _extend(self, count: int) -> None:
        assert self._anchor is not None
        ordinal = self._anchor + len(self._days)
        for o in range(ordinal, ordinal + count):
            self._midnights.append(self._end)
            intervals = self.day_intervals(date.fromordinal(o))
            self._days.append(intervals)
            self._cum.append(self._cum[-1] + sum(e - s for s, e in intervals))
            midnight, self._end = self._end, self._local_midnight(o + 1)
            self._regular.append(self._end - midnight == 86400)

    def _ensure(self, t: int) -> int:
        """Make the table cover instant ``t``; return the index of its day."""
        if self._anchor is None or t < self._midnights[0]:
            day = datetime.fromtimestamp(t, self.tz).date().toordinal()
            old_anchor, old_base = self._anchor, self._cum[0] if self._cum else 0
            last = self._anchor + len(self._days) if self._anchor is not None else day + _CHUNK_DAYS
            self._build(day - 7, max(last - (day - 7), _CHUNK_DAYS))
            if old_anchor is not None:
                # Rebuilding moves the anchor: shift the table so that every cumulative value handed out
                # before stays valid (values below the old anchor become smaller, possibly negative).
                assert self._anchor is not None  # _build set it
                shift = old_base - self._cum[old_anchor - self._anchor]
                if shift:
                    self._cum = [c + shift for c in self._cum]
        while t >= self._end:
            self._extend(_CHUNK_DAYS)
        return bisect_right(self._midnights, t) - 1

    # -- measuring and searching -----------------------------------------------------------------

    def cumulative(self, t: int) -> int:
        if self.always:
            return t
        with self._lock:
            return self.counted[t]  # (kept: the queue and ``list`` measure the same instant, now, for every row)

    def _cumulative_unlocked(self, t: int) -> int:
        """Counted seconds from a fixed origin up to instant ``t`` (only differences mean anything).

        The origin does not move during the calendar's life, so values taken at different times compare.
        """
        if self.always:
            return t
        if self._anchor is not None and self._midnights[0] <= t < self._end:
            i = bisect_right(self._midnights, t) - 1  # the common case of _ensure, inlined
        else:
            i = self._ensure(t)
        total = self._cum[i]
        for s, e in self._days[i]:
            if t <= s:
                break
            total += (e if t > e else t) - s
        return total

    def instant_of(self, value: int) -> int:
        with self._lock:
            return self._instant_of_unlocked(value)

    def _instant_of_unlocked(self, value: int) -> int:
        """The first instant at which ``cumulative`` reaches ``value`` (value > cumulative of the past).

        The answer always lies inside a business interval or at its end, never at the start of the next.
        """
        if self.always:
            return value
        grown = 0
        while self._cum[-1] < value:
            if grown > _MAX_SEARCH_DAYS:
                raise CalendarError(f"calendar {self.name!r} has no business time ahead")
            self._extend(_CHUNK_DAYS)
            grown += _CHUNK_DAYS
        i = bisect_left(self._cum, value) - 1
        rest = value - self._cum[i]
        for s, e in self._days[i]:
            if rest <= e - s:
                return s + rest
            rest -= e - s
        raise AssertionError("cumulative table is inconsistent")  # pragma: no cover

    @property
    def lock(self) -> threading.RLock:
        """The calendar's lock: ``measured`` and ``instant_of_held`` are read under it."""
        return self._lock

    def measured(self) -> _Counted:
        """``counted``: ``counted[t]`` is ``cumulative(t)``, kept (the last _MEMO instants measured at most). Under
        ``lock``."""
        return self.counted

    def instant_of_held(self, value: int) -> int:
        """``instant_of`` under ``lock``, already held."""
        return self._instant_of_unlocked(value)

    def seconds_between(self, a: int, b: int) -> int:
        """Counted seconds in [a, b); 0 when b <= a."""
        if b <= a:
            return 0
        with self._lock:
            ca = self._cumulative_unlocked(a)
            return self._cumulative_unlocked(b) - ca

    def add(self, start: int, seconds: int) -> int:
        """The instant at which ``seconds`` of counted time have elapsed from ``start``."""
        if seconds <= 0:
            return start
        return self.instant_of(self.cumulative(start) + seconds)

    def business_days_later(self, start: int, days: int, end_of_day: bool = False) -> int:
        with self._lock:
            return self._business_days_later_unlocked(start, days, end_of_day)

    def _business_days_later_unlocked(self, start: int, days: int, end_of_day: bool = False) -> int:
        """The deadline of a target of ``days`` business days (``3bd``) counted from ``start``.

        A business day is a local day with business hours. The start's business day is the day of ``start``
        when it comes before that day's closing, else the next business day (from its opening). The
        deadline falls ``days`` business days later: at the same wall-clock time (clipped to that day's
        business hours: a time after closing gives the closing, a time before opening or at it gives the
        previous business day's closing, which is the same business moment), or with ``end_of_day`` at
        that day's closing. A 24x7 calendar counts 24 hours a day (``end_of_day``: up to the next midnight
        of its zone). Like ``instant_of``, the answer never lies at the start of an interval.
        """
        if days <= 0:
            return start
        if self.always:
            due = start + days * 86400
            if end_of_day:
                local = datetime.fromtimestamp(due, self.tz).date()
                return self._local_midnight(local.toordinal() + 1)
            return due
        i = self._ensure(start)
        today = self._days[i]
        if today and start < today[-1][1]:
            wall = datetime.fromtimestamp(start, self.tz).time()
        else:
            wall = time(0)  # from the next business day's opening
            i = self._next_business(i)
        i = self._business_days_on(i, days)
        if end_of_day:
            return self._days[i][-1][1]
        assert self._anchor is not None  # _ensure built the table
        day = date.fromordinal(self._anchor + i)
        target = int(datetime.combine(day, wall, tzinfo=self.tz).timestamp())
        closing = self._days[i][-1][1]
        return self._instant_of_unlocked(self._cumulative_unlocked(min(max(target, self._midnights[i]), closing)))

    def business_day_seconds(self, start: int, days: int, end_of_day: bool = False) -> int:
        """The counted seconds from ``start`` to ``business_days_later(start, days, end_of_day)``: what
        ``seconds_between`` gives of the two, measured without finding the instant (the counted seconds up to the
        day's wall-clock time, clipped to its hours, are those up to the deadline), and kept: a replay asks it of
        every timer whose target is written in business days, again at each evaluation of the ticket."""
        if days <= 0:
            return 0
        if self.always:
            return max(0, self._business_days_later_unlocked(start, days, end_of_day) - start)
        key = (start, days, end_of_day)
        with self._lock:
            found = self._day_targets.get(key)
            if found is None:
                if len(self._day_targets) >= _MEMO:
                    self._day_targets.clear()
                found = self._day_targets[key] = self._business_day_seconds(start, days, end_of_day)
            return found

    def _business_day_seconds(self, start: int, days: int, end_of_day: bool) -> int:
        """``business_day_seconds`` computed (under the lock): ``_business_days_later_unlocked``'s steps, the
        wall-clock time of a day that lasts 86,400 s taken from its midnight rather than through ``datetime``."""
        i = self._ensure(start)
        today = self._days[i]
        wall: time | None = None
        if today and start < today[-1][1]:
            if self._regular[i]:
                seconds = start - self._midnights[i]
            else:
                wall = datetime.fromtimestamp(start, self.tz).time()  # (with its fold, as datetime.combine takes it)
                seconds = wall.hour * 3600 + wall.minute * 60 + wall.second
        else:
            seconds = 0  # from the next business day's opening
            i = self._next_business(i)
        j = self._business_days_on(i, days)
        closing = self._days[j][-1][1]
        if end_of_day:
            point = closing
        else:
            if self._regular[j]:
                target = self._midnights[j] + seconds
            else:
                if wall is None:
                    wall = time(seconds // 3600, seconds // 60 % 60, seconds % 60)
                assert self._anchor is not None  # _ensure built the table
                target = int(datetime.combine(date.fromordinal(self._anchor + j), wall, tzinfo=self.tz).timestamp())
            point = min(max(target, self._midnights[j]), closing)
        # (business_days_later gives instant_of(cumulative(point)), whose cumulative is cumulative(point))
        return max(0, self._cumulative_unlocked(point) - self.counted[start])  # (the timer's start: measured again)

    def _business_days_on(self, i: int, days: int) -> int:
        """The index of the ``days``-th day with business hours after the day ``i`` of the table (``_next_business``
        ``days`` times), kept by the days' ordinals (the table's indices move when it is rebuilt further back)."""
        assert self._anchor is not None  # _ensure built the table
        key = (self._anchor + i, days)
        found = self._days_on.get(key)
        if found is None:
            j = i
            for _ in range(days):
                j = self._next_business(j)
            found = self._days_on[key] = self._anchor + j
        else:
            while found - self._anchor >= len(self._days):  # (the table grows as far as the day found)
                self._extend(_CHUNK_DAYS)
        return found - self._anchor

    def _next_business(self, i: int) -> int:
        """The index of the next day of the table after ``i`` that has business hours."""
        for _ in range(_MAX_SEARCH_DAYS):
            i += 1
            while i >= len(self._days):
                self._extend(_CHUNK_DAYS)
            if self._days[i]:
                return i
        raise CalendarError(f"calendar {self.name!r} has no business time ahead")

    def weekly_seconds(self) -> int:
        """Business seconds in a week without holidays (24x7: 7 × 24 h), from the weekly hours."""
        if self.always:
            return 7 * 86400
        return sum((end - start) * 60 for day in self.weekly.values() for start, end in day)

    def intervals(self, a: int, b: int) -> Iterator[tuple[int, int]]:
        """The business intervals that overlap [a, b), clipped to it (for explanations)."""
        if b <= a:
            return
        if self.always:
            yield (a, b)
            return
        found: list[tuple[int, int]] = []
        with self._lock:  # read whole under the lock (a generator must not hold it across its yields)
            i = self._ensure(a)
            self._ensure(b - 1)
            while i < len(self._days) and self._midnights[i] < b:
                for s, e in self._days[i]:
                    s2, e2 = max(s, a), min(e, b)
                    if e2 > s2:
                        found.append((s2, e2))
                i += 1
        yield from found


_MEMO = 4096  # entries a calendar's memos keep before they are cleared (about 0.5 MB)


class _Counted(dict[int, int]):
    """``cumulative`` of the instants asked, kept: ``counted[t]`` (read under the calendar's lock) is a dictionary's
    look-up once ``t`` was measured. The SLA engine measures the same instants again and again (a ticket's creation
    for each of its timers, the ends of pauses, the evaluation's instant for every running timer)."""

    __slots__ = ("measure",)

    def __init__(self, measure: Callable[[int], int]) -> None:
        super().__init__()
        self.measure = measure

    def __missing__(self, t: int) -> int:
        if len(self) >= _MEMO:
            self.clear()
        value = self[t] = self.measure(t)
        return value


def parse_hhmm_interval(text: str) -> tuple[int, int]:
    """``"09:00-12:30"`` → (540, 750) minutes; raises ValueError with a short reason."""
    try:
        left, right = text.split("-")
        start, end = _minutes(left, allow_24=False), _minutes(right, allow_24=True)
    except ValueError:
        raise ValueError(f"{text!r} is not an interval HH:MM-HH:MM") from None
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


def _minutes(text: str, allow_24: bool) -> int:
    hh, mm = text.strip().split(":")
    if len(hh) != 2 or len(mm) != 2 or not (hh.isdigit() and mm.isdigit()):
        raise ValueError(text)
    h, m = int(hh), int(mm)
    if m > 59 or h > 24 or (h == 24 and (m or not allow_24)):
        raise ValueError(text)
    return h * 60 + m


def always_calendar(name: str = "always") -> BusinessCalendar:
    return BusinessCalendar(name=name, always=True)


def epoch(dt: datetime) -> int:
    """Whole epoch seconds of an aware datetime (sub-second parts are dropped)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime")
    return int(dt.timestamp() // 1)


def from_epoch(t: int, tz: ZoneInfo | str = "UTC") -> datetime:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return datetime.fromtimestamp(t, zone)


__all__ = [
    "WEEKDAYS",
    "BusinessCalendar",
    "CalendarError",
    "always_calendar",
    "parse_hhmm_interval",
    "epoch",
    "from_epoch",
]
