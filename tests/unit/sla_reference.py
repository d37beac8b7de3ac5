"""The SLA engine and its calendar as they were before the replay was made faster (session 11, issue 17): kept
here, unchanged, as the plain reference that ``test_sla_fast_paths.py`` compares the engine with
(``domain/sla.py`` ``evaluate`` and ``domain/calendar.py`` ``BusinessCalendar`` at 4dc2322). Not collected: no
test in it. Only the names were changed (``ReferenceCalendar``); the records (``Event``, ``Policy``, ``Targets``,
``TimerResult``, ``TicketSla``) are the engine's own."""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from deskterm.domain.calendar import CalendarError
from deskterm.domain.sla import CUSTOMER, Event, Policy, TicketSla, TimerResult
from deskterm.domain.workflow import PAUSING, STOPPED

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CHUNK_DAYS = 64
# A calendar with no business time at all would make a deadline search run forever: give up after this.
_MAX_SEARCH_DAYS = 366 * 50


@dataclass(eq=False)
class ReferenceCalendar:
    """Business hours of one calendar (domain/calendar.py's ``BusinessCalendar`` as it was, frozen).

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
        self._days_on: dict[tuple[int, int], int] = {}  # (day's ordinal, n) → ordinal of the n-th business day after
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
        self._midnights, self._days, self._cum = [], [], [0]
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
            self._end = self._local_midnight(o + 1)

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
        with self._lock:
            return self._cumulative_unlocked(t)

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


class _Span:
    """Running spans of one timer while the history is replayed."""

    __slots__ = ("started_at", "run_from", "segments", "stopped_at")

    def __init__(self, start: int, running: bool) -> None:
        self.started_at = start
        self.run_from: int | None = start if running else None
        self.segments: list[tuple[int, int]] = []
        self.stopped_at: int | None = None

    def pause(self, t: int) -> None:
        if self.run_from is not None:
            if t > self.run_from:
                self.segments.append((self.run_from, t))
            self.run_from = None

    def resume(self, t: int) -> None:
        if self.run_from is None and self.stopped_at is None:
            self.run_from = t

    def stop(self, t: int) -> None:
        if self.stopped_at is None:
            self.pause(t)
            self.stopped_at = t

    def restart(self, t: int, running: bool) -> None:
        """Resume after a reopen: the time already used is kept."""
        self.stopped_at = None
        self.run_from = t if running else None

    def close(self, now: int) -> None:
        if self.stopped_at is None and self.run_from is not None and now > self.run_from:
            self.segments.append((self.run_from, now))


def evaluate(
    created_at: int,
    priority: str,
    events: Sequence[Event],
    policy: Policy,
    now: int,
) -> TicketSla:
    """Replay a ticket's history up to ``now`` and return its timers.

    ``priority`` is the priority at creation; ``events`` are in time order (events after ``now`` are
    ignored, which is how ``list --at`` evaluates the past).
    """
    status = "new"
    prio = priority
    first = _Span(created_at, True)
    resolution = _Span(created_at, True)
    update: _Span | None = None
    updates_done: list[_Span] = []  # finished next_update cycles, for past_breaches
    waiting: _Span | None = None  # customer_reply: the current (or last) cycle
    waits_done: list[_Span] = []
    unanswered = False  # a customer message came after the last public agent reply (and the first response)
    prio_changes: list[tuple[int, str]] = []

    stopped, pausing = STOPPED, PAUSING  # local names: this loop is the hot path of list/report
    for e in events:
        t = e.at
        if t > now:
            break
        kind = e.kind
        if kind == "reply":
            if e.author == CUSTOMER:  # the customer wrote
                if not unanswered and first.stopped_at is not None:
                    unanswered = True
                    if status not in stopped:
                        if waiting is not None:
                            waits_done.append(waiting)
                        waiting = _Span(t, status not in pausing)
                continue
            if not e.public:  # not Event.is_agent_reply (inlined: hot loop)
                continue
            first.stop(t)
            unanswered = False
            if waiting is not None:
                waiting.stop(t)
            # A reply on a resolved/closed ticket starts no cycle and leaves the last one as it stopped
            # (the timer stays reported; after a reopen the next reply starts the next cycle).
            if status not in stopped:
                if update is not None:
                    update.stop(t)
                    updates_done.append(update)
                update = _Span(t, status not in pausing)
        elif kind == "status" and e.to:
            old, status = status, e.to
            if status in stopped:
                first.stop(t)
                resolution.stop(t)
                if update is not None:
                    update.stop(t)
                if waiting is not None:
                    waiting.stop(t)
            elif old in stopped:
                resolution.restart(t, status not in pausing)
                if unanswered:  # reopened while the customer waits for an answer: a new cycle
                    if waiting is not None:
                        waits_done.append(waiting)
                    waiting = _Span(t, status not in pausing)
            elif status in pausing:
                resolution.pause(t)
                if update is not None:
                    update.pause(t)
                if waiting is not None:
                    waiting.pause(t)
            else:
                resolution.resume(t)
                if update is not None:
                    update.resume(t)
                if waiting is not None:
                    waiting.resume(t)
        elif kind == "priority" and e.to:
            prio = e.to
            prio_changes.append((t, prio))

    def prio_when(t: int) -> str:
        if not prio_changes:
            return priority
        p = priority
        for at, to in prio_changes:
            if at > t:
                break
            p = to
        return p

    cal = policy.calendar
    timers: dict[str, TimerResult] = {}

    def earlier(span: _Span, name: str) -> list[tuple[int, int, int]]:
        """(start, end, target) of the priorities in force before the one at the timer's end."""
        if not prio_changes:
            return []
        end = span.stopped_at if span.stopped_at is not None else now
        out, start, p = [], span.started_at, priority
        for at, to in prio_changes:
            if at > end:
                break
            if at > start:
                tgt = _target(policy, p, name, span.started_at)
                if tgt is not None:
                    out.append((start, at, tgt))
                start = at
            p = to
        return out

    def result(name: str, span: _Span) -> TimerResult | None:
        prio_in_force = prio_when(span.stopped_at if span.stopped_at is not None else now)
        target = _target(policy, prio_in_force, name, span.started_at)
        if target is None:
            return None
        timer = _result(name, span, target, cal, policy.warn_at, now, earlier(span, name))
        timer.priority = prio_in_force if timer.target == target else _prio_of_target(span, name, timer.target)
        return timer

    def _prio_of_target(span: _Span, name: str, target: int) -> str:
        """The earlier priority whose target the timer breached under (``earlier``), the latest such."""
        found = priority
        for start, _until, tgt in earlier(span, name):
            if tgt == target:
                found = prio_when(start)
        return found

    for name, span in (("first_response", first), ("resolution", resolution)):
        timer = result(name, span)
        if timer is not None:
            timers[name] = timer
    for name, last, done_spans in (("next_update", update, updates_done), ("customer_reply", waiting, waits_done)):
        if last is None:
            continue
        current = result(name, last)
        if current is not None:
            for done in done_spans:
                cycle = result(name, done)
                if cycle is not None:
                    current.cycles.append(cycle)
                    if cycle.state == "breached":
                        current.past_breaches += 1
            timers[name] = current
    return TicketSla(policy=policy.name, status=status, priority=prio, timers=timers)


def _target(policy: Policy, prio: str, timer: str, start: int) -> int | None:
    targets = policy.targets.get(prio)
    if targets is None:
        return None
    if targets.days:
        for named, days in targets.days:
            if named == timer:
                return business_day_target(policy, days, start)
    return getattr(targets, timer)  # type: ignore[no-any-return]  # Targets.get, one call less


def business_day_target(policy: Policy, days: int, start: int) -> int:
    """The counted seconds of a ``days``-business-day target for a timer started at ``start``: from the start
    to the same business moment ``days`` business days later (or the closing of that day, ``end_of_day``).
    Pauses then push the deadline by the business time they took, as for any target."""
    cal = policy.calendar
    return max(1, cal.seconds_between(start, cal.business_days_later(start, days, policy.end_of_day)))


def _reach(segments: list[tuple[int, int]], target: int, cal: ReferenceCalendar) -> int | None:
    """The instant at which the running spans had counted ``target`` seconds, if they did."""
    consumed = 0
    for a, b in segments:
        ca = cal.cumulative(a)
        d = cal.cumulative(b) - ca
        if consumed + d >= target:
            rest = target - consumed
            return cal.instant_of(ca + rest) if rest > 0 else a
        consumed += d
    return None


def _result(
    name: str,
    span: _Span,
    target: int,
    cal: ReferenceCalendar,
    warn_at: float,
    now: int,
    earlier: Sequence[tuple[int, int, int]] = (),
) -> TimerResult:
    span_segments = list(span.segments)
    running = span.stopped_at is None and span.run_from is not None
    if running and now > span.run_from:  # type: ignore[operator]
        span_segments.append((span.run_from, now))  # type: ignore[arg-type]

    consumed = 0
    reached: int | None = None  # the instant the counted time reached the target, if it has
    if cal.always:  # every second counts: cumulative(t) == t (same arithmetic, no calls)
        for a, b in span_segments:
            if reached is None and consumed + b - a >= target:
                reached = a + max(target - consumed, 0)
            consumed += b - a
    else:
        for a, b in span_segments:
            ca = cal.cumulative(a)
            d = cal.cumulative(b) - ca
            if reached is None and consumed + d >= target:
                rest = target - consumed
                # rest <= 0 only for a zero target: reached at the start, not at the end of the business
                # interval before it (which may precede the ticket's creation)
                reached = cal.instant_of(ca + rest) if rest > 0 else a
            consumed += d

    end = span.stopped_at if span.stopped_at is not None else now
    remaining = target - consumed
    breached_at = reached if reached is not None and end > reached else None
    # A breach under an earlier priority stays: lowering the priority afterwards does not undo it.
    # The timer then reports the target it breached, so that remaining is negative as for any breach.
    for start, until, old_target in earlier:
        hit = _reach([(a, min(b, until)) for a, b in span_segments if a < until], old_target, cal)
        if hit is not None and hit < until:
            hit = max(hit, start)
            if breached_at is None or hit < breached_at:
                breached_at, target, remaining = hit, old_target, old_target - consumed
    due: int | None
    if breached_at is not None:
        state, due = "breached", breached_at
    elif span.stopped_at is not None or running:
        # met: the deadline it stood under when it stopped; running: the deadline as it stands now
        state = "met" if span.stopped_at is not None else "running"
        due = reached if reached is not None else cal.add(end, remaining)
    else:
        state, due = "paused", None
    warning = state in ("running", "paused") and consumed >= warn_at * target
    warn_due = None
    if state in ("running", "paused", "breached"):  # a breached timer keeps the instant its warning started
        threshold = -(-int(warn_at * target * 1000) // 1000)  # whole seconds, rounded up
        if consumed >= threshold:
            warn_due = _instant_of_consumed(cal, span_segments, threshold)
        elif state == "running":
            warn_due = cal.add(end, threshold - consumed)
    return TimerResult(
        name=name,
        target=target,
        state=state,
        due=due,
        warning=warning,
        remaining=remaining,
        consumed=consumed,
        started_at=span.started_at,
        stopped_at=span.stopped_at,
        breached_at=breached_at,
        segments=span_segments,
        warn_due=warn_due,
        counting=running,
    )


def _instant_of_consumed(cal: ReferenceCalendar, segments: list[tuple[int, int]], amount: int) -> int | None:
    """The instant at which the running spans had counted ``amount`` seconds."""
    consumed = 0
    for a, b in segments:
        ca = cal.cumulative(a)
        d = cal.cumulative(b) - ca
        if consumed + d >= amount:
            return cal.instant_of(ca + (amount - consumed)) if amount > consumed else a
        consumed += d
    return None
