"""SLA timers derived from a ticket's history (contract section 5).

Every figure is replayed from the creation time and the event list, never kept in running counters, so
a priority change, a pause, a reopen or a corrected calendar gives the same answer as a fresh replay
(Zammad's approach). Counted time is measured with one calendar function (``BusinessCalendar.cumulative``)
and deadlines are found with its inverse.

| timer          | starts                   | pauses            | stops                                  |
|----------------|--------------------------|-------------------|----------------------------------------|
| first_response | creation                 | never             | first public agent reply, or resolution|
| resolution     | creation                 | status pending    | resolved / closed (reopen resumes it)  |
| next_update    | each public agent reply  | status pending    | resolved / closed                      |
| customer_reply | a customer message after | status pending    | the next public agent reply; resolved /|
|                | the first response       |                   | closed (a reopen while it is unanswered|
|                | (unanswered)             |                   | starts a new cycle)                    |

A timer that has stopped keeps the target of the priority in force when it stopped; a timer that runs
takes the target of the current priority, counted from its start (so raising the priority can breach it).
A breach stays: if the timer breached under an earlier priority, lowering the priority afterwards does not
undo it (the timer reports the target it breached and a negative remaining).
A ``next_update`` cycle ends at the next public reply, which starts a new cycle; after a reopen it stays
stopped until the next public reply. The current cycle is the timer reported; the earlier, finished cycles
are in ``TimerResult.cycles`` (each a ``TimerResult`` of its own, met or breached), which the KPIs count one by
one, and ``TimerResult.past_breaches`` counts the breached ones.

``customer_reply`` (Zammad's "update" timer) chases the customer who wrote and waits for an answer: a cycle
starts at the first customer message after the last public agent reply (once the first response has stopped:
before it, the first response is the customer's timer) and ends at the next public agent reply, met or
breached. Further customer messages in between change nothing (the customer has been waiting since the first).
It pauses while pending; a resolution stops it, and a reopen while a customer message is still unanswered
starts a new cycle at the reopen. Like ``next_update``, the last cycle stays reported once it ended and the
earlier ones are in ``cycles``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .calendar import BusinessCalendar
from .workflow import PAUSING, STOPPED

TIMERS = ("first_response", "resolution", "next_update", "customer_reply")
TIMER_LABELS = {
    "first_response": "first response",
    "resolution": "resolution",
    "next_update": "next update",
    "customer_reply": "customer reply",
}
CYCLIC = ("next_update", "customer_reply")  # timers that run in cycles (``TimerResult.cycles``)
CUSTOMER = "customer"  # the author of messages from the customer


@dataclass(frozen=True)
class Targets:
    """Targets of one priority, in counted seconds; ``next_update`` and ``customer_reply`` are optional.

    ``days`` names the timers whose target is written in business days (``3bd``): (timer, days). Such a
    timer's target is the counted time from its start to ``BusinessCalendar.business_days_later`` (its field
    above holds ``days`` × 24 h, which only the demo's planning reads).
    """

    first_response: int
    resolution: int
    next_update: int | None = None
    days: tuple[tuple[str, int], ...] = ()
    customer_reply: int | None = None

    def get(self, timer: str) -> int | None:
        target: int | None = getattr(self, timer)
        return target


@dataclass(frozen=True, eq=False)
class Policy:
    name: str
    calendar: BusinessCalendar
    targets: dict[str, Targets]
    warn_at: float = 0.75
    end_of_day: bool = False  # a business-day target falls at the closing of its day, not at the same time


@dataclass(frozen=True)
class Event:
    """What the engine needs of a history event. ``at`` is epoch seconds."""

    at: int
    kind: str  # reply, status, priority, assign, escalate, ... (others are ignored here)
    public: bool = False
    author: str | None = None
    to: str | None = None

    @property
    def is_agent_reply(self) -> bool:
        return self.kind == "reply" and self.public and self.author != CUSTOMER


_new_event = object.__new__


def event(at: int, kind: str, public: bool, author: str | None, to: str | None) -> Event:
    """``Event(at, kind, public, author, to)``, equal to it, at a third of the cost (a frozen dataclass sets each
    field through ``object.__setattr__``): a report replays a million histories."""
    made = _new_event(Event)
    made.__dict__.update(at=at, kind=kind, public=public, author=author, to=to)
    return made


@dataclass
class TimerResult:
    name: str
    target: int  # counted seconds
    state: str  # running, paused, met, breached
    due: int | None  # epoch seconds; None while paused
    warning: bool
    remaining: int  # counted seconds left, negative once breached
    consumed: int
    started_at: int
    stopped_at: int | None
    breached_at: int | None
    segments: list[tuple[int, int]] = field(default_factory=list)  # running spans (real time)
    past_breaches: int = 0  # breached cycles among ``cycles``
    cycles: list[TimerResult] = field(default_factory=list)  # next_update: earlier finished cycles, oldest first
    priority: str | None = None  # the priority whose target this is (it stopped or breached under it)
    warn_due: int | None = None  # when the warning starts (or started); None when it cannot come
    counting: bool = False  # counting time at the evaluation's instant (running, or breached and running)

    @property
    def stopped(self) -> bool:
        return self.stopped_at is not None

    @property
    def active(self) -> bool:
        """Still counting or able to count: not stopped (running, paused, or breached and running)."""
        return self.stopped_at is None

    @property
    def paused(self) -> bool:
        return self.stopped_at is None and self.state == "paused"


@dataclass
class TicketSla:
    policy: str
    status: str
    priority: str
    timers: dict[str, TimerResult]

    @property
    def next_warn(self) -> int | None:
        """The nearest instant at which an active timer is (or was) in warning: a timer that breached since keeps
        it, so that the value derived at a change stays what a later evaluation derives (``rederive``)."""
        warns = [t.warn_due for t in self.timers.values() if t.active and t.warn_due is not None]
        return min(warns) if warns else None

    @property
    def next_due(self) -> int | None:
        """The nearest deadline among timers that are not stopped (breached ones come first)."""
        dues = [t.due for t in self.timers.values() if t.active and t.due is not None]
        return min(dues) if dues else None

    def nearest(self) -> TimerResult | None:
        """The timer an agent should look at: the active one due first, else a paused one, else none."""
        active = [t for t in self.timers.values() if t.active]
        if not active:
            return None
        return min(active, key=lambda t: (t.due is None, t.due or 0, t.remaining))


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


def counts_while(timer: str, status: str) -> bool:
    """Whether an active timer counts time while its ticket has this status (the table above ``evaluate``:
    ``pending`` pauses every timer but the first response)."""
    return timer == "first_response" or status not in PAUSING


def priority_at(initial: str, events: Iterable[Event], t: int) -> str:
    prio = initial
    for e in events:
        if e.at > t:
            break
        if e.kind == "priority" and e.to:
            prio = e.to
    return prio


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

    spans = (("next_update", update, updates_done), ("customer_reply", waiting, waits_done))
    cal = policy.calendar
    if cal.always:  # every second counts: cumulative(t) == t
        timers = _timers(policy, priority, now, prio_changes, first, resolution, spans, _SAME, _same)
    else:  # measured under the calendar's lock, taken once (its table is shared with the app's threads)
        with cal.lock:
            timers = _timers(
                policy, priority, now, prio_changes, first, resolution, spans, cal.measured(), cal.instant_of_held
            )
    return TicketSla(policy=policy.name, status=status, priority=prio, timers=timers)


def _timers(
    policy: Policy,
    priority: str,
    now: int,
    prio_changes: list[tuple[int, str]],
    first: _Span,
    resolution: _Span,
    spans: tuple[tuple[str, _Span | None, list[_Span]], ...],
    counted: Mapping[int, int],
    instant_of: Callable[[int], int],
) -> dict[str, TimerResult]:
    """``evaluate``'s timers from its spans: ``counted[t]`` is the calendar's ``cumulative(t)`` and ``instant_of`` its
    inverse (under its lock)."""

    def prio_when(t: int) -> str:
        if not prio_changes:
            return priority
        p = priority
        for at, to in prio_changes:
            if at > t:
                break
            p = to
        return p

    always, warn_at = policy.calendar.always, policy.warn_at
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
        before = earlier(span, name) if prio_changes else ()
        timer = _result(name, span, target, warn_at, now, before, always, counted, instant_of)
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
    for name, last, done_spans in spans:
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
    return timers


class _Same(dict[int, int]):
    """``counted`` of a calendar where every second counts: ``cumulative(t)`` is ``t`` (nothing kept)."""

    def __missing__(self, t: int) -> int:
        return t


_SAME = _Same()


def _same(value: int) -> int:
    return value


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
    Pauses then push the deadline by the business time they took, as for any target.
    (``seconds_between(start, business_days_later(start, days, end_of_day))``, kept by the calendar.)"""
    return max(1, policy.calendar.business_day_seconds(start, days, policy.end_of_day))


def _reach(
    segments: list[tuple[int, int]], target: int, counted: Mapping[int, int], instant_of: Callable[[int], int]
) -> int | None:
    """The instant at which the running spans had counted ``target`` seconds, if they did."""
    consumed = 0
    for a, b in segments:
        ca = counted[a]
        d = counted[b] - ca
        if consumed + d >= target:
            rest = target - consumed
            return instant_of(ca + rest) if rest > 0 else a
        consumed += d
    return None


def _result(
    name: str,
    span: _Span,
    target: int,
    warn_at: float,
    now: int,
    earlier: Sequence[tuple[int, int, int]],
    always: bool,
    counted: Mapping[int, int],
    instant_of: Callable[[int], int],
) -> TimerResult:
    """One timer (one cycle) of ``evaluate``: ``counted[t]`` is the calendar's ``cumulative(t)``, ``instant_of``
    its inverse; ``always``: every second counts."""
    span_segments = list(span.segments)
    stopped_at, run_from = span.stopped_at, span.run_from
    running = stopped_at is None and run_from is not None
    if running and now > run_from:  # type: ignore[operator]
        span_segments.append((run_from, now))  # type: ignore[arg-type]

    consumed = 0
    reached: int | None = None  # the instant the counted time reached the target, if it has
    if always:  # cumulative(t) == t (same arithmetic, no look-ups)
        for a, b in span_segments:
            if reached is None and consumed + b - a >= target:
                reached = a + max(target - consumed, 0)
            consumed += b - a
    else:
        for a, b in span_segments:
            ca = counted[a]
            d = counted[b] - ca
            if reached is None and consumed + d >= target:
                rest = target - consumed
                # rest <= 0 only for a zero target: reached at the start, not at the end of the business
                # interval before it (which may precede the ticket's creation)
                reached = instant_of(ca + rest) if rest > 0 else a
            consumed += d

    end = stopped_at if stopped_at is not None else now
    remaining = target - consumed
    breached_at = reached if reached is not None and end > reached else None
    # A breach under an earlier priority stays: lowering the priority afterwards does not undo it.
    # The timer then reports the target it breached, so that remaining is negative as for any breach.
    for start, until, old_target in earlier:
        hit = _reach([(a, min(b, until)) for a, b in span_segments if a < until], old_target, counted, instant_of)
        if hit is not None and hit < until:
            hit = max(hit, start)
            if breached_at is None or hit < breached_at:
                breached_at, target, remaining = hit, old_target, old_target - consumed
    due: int | None
    if breached_at is not None:
        state, due = "breached", breached_at
    elif stopped_at is not None or running:
        # met: the deadline it stood under when it stopped; running: the deadline as it stands now
        state = "met" if stopped_at is not None else "running"
        if reached is not None:
            due = reached
        else:  # (BusinessCalendar.add)
            due = instant_of(counted[end] + remaining) if remaining > 0 else end
    else:
        state, due = "paused", None
    warning = state in ("running", "paused") and consumed >= warn_at * target
    warn_due = None
    if state in ("running", "paused", "breached"):  # a breached timer keeps the instant its warning started
        threshold = -(-int(warn_at * target * 1000) // 1000)  # whole seconds, rounded up
        if consumed >= threshold:
            warn_due = _instant_of_consumed(span_segments, threshold, counted, instant_of)
        elif state == "running":  # (BusinessCalendar.add of threshold - consumed > 0)
            warn_due = instant_of(counted[end] + threshold - consumed)
    return TimerResult(
        name=name,
        target=target,
        state=state,
        due=due,
        warning=warning,
        remaining=remaining,
        consumed=consumed,
        started_at=span.started_at,
        stopped_at=stopped_at,
        breached_at=breached_at,
        segments=span_segments,
        warn_due=warn_due,
        counting=running,
    )


def _instant_of_consumed(
    segments: list[tuple[int, int]], amount: int, counted: Mapping[int, int], instant_of: Callable[[int], int]
) -> int | None:
    """The instant at which the running spans had counted ``amount`` seconds."""
    consumed = 0
    for a, b in segments:
        ca = counted[a]
        d = counted[b] - ca
        if consumed + d >= amount:
            return instant_of(ca + (amount - consumed)) if amount > consumed else a
        consumed += d
    return None


# -- a timer as it stands now, derived from an earlier evaluation -------------------------------------------------
#
# ``live_timer`` derives a timer's state *now* from an evaluation made earlier, without replaying the history: a
# counting timer has used ``C(now) - C(evaluated_at)`` more counted seconds (``C`` is the policy calendar's
# ``cumulative``), so crossing the warning threshold or the deadline shows in the very tick it happens.
# ``provisional_timer`` says the same from what a ticket row stores (its nearest deadline), before any evaluation.

LIVE_STATES = ("running", "warning", "paused", "breached", "met")


@dataclass(frozen=True)
class LiveTimer:
    """A timer as it stands now: ``state`` is one of LIVE_STATES (warning is a state here, for display)."""

    name: str
    state: str
    remaining: int  # counted seconds, negative once breached
    due: int | None = None  # the wall-clock deadline (epoch; breached: the instant of the breach); None paused


def _live(name: str, state: str, remaining: int, due: int | None) -> LiveTimer:
    """``LiveTimer(name, state, remaining, due)``, equal to it, at a third of the cost (``event``): the queue derives
    one for each row it shows every second, ``deskterm list`` one for each line."""
    made: LiveTimer = _new_event(LiveTimer)
    made.__dict__.update(name=name, state=state, remaining=remaining, due=due)
    return made


def live_timer(
    timer: TimerResult, calendar: BusinessCalendar, warn_at: float, evaluated_at: int, now: int
) -> LiveTimer:
    """The timer at ``now``, derived from its evaluation at ``evaluated_at``."""
    state = timer.state
    remaining = timer.remaining
    # running, or breached and still running (also one resumed at the very evaluation instant)
    counting = timer.counting
    if counting and now > evaluated_at:
        remaining -= calendar.cumulative(now) - calendar.cumulative(evaluated_at)
    # breached once the deadline is passed, as the engine says (at closing time the counted time left can
    # be 0 until the next business second, while the deadline, the end of that day's hours, is passed)
    if state == "running" and (remaining < 0 or (timer.due is not None and now > timer.due)):
        state = "breached"
    if state in ("running", "paused") and timer.target - remaining >= warn_at * timer.target:
        state = "warning" if state == "running" else "paused"
    return _live(timer.name, state, remaining, None if state == "paused" else timer.due)


def provisional_timer(
    name: str,
    status: str,
    due: int | None,
    left: int | None,
    warn: int | None,
    updated: int | None,
    calendar: BusinessCalendar,
    now: int,
) -> LiveTimer:
    """What a ticket row alone says of its nearest timer ``name`` at ``now``: the stored deadline ``due``, the
    counted seconds ``left`` at the row's last change ``updated``, the warning instant ``warn`` (all epoch).
    The same rules as ``live_timer``: breached once the deadline is passed, warning from the warning instant on.
    No deadline: the timer is paused (breached stays breached), ``left`` left."""
    if due is None:
        remaining = left or 0
        return _live(name, "breached" if remaining < 0 else "paused", remaining, None)
    if left is not None and updated is not None:
        # counting since the ticket's last change, as live_timer counts from an evaluation; not while paused
        # (a breached timer keeps its deadline, the instant of the breach, while paused)
        counted = calendar.cumulative(now) - calendar.cumulative(updated)
        remaining = left - counted if counts_while(name, status) else left
    else:  # a row derived before next_left was: counted seconds from now to the deadline
        remaining = calendar.cumulative(due) - calendar.cumulative(now)
    if now > due:
        state = "breached"
    elif warn is not None and warn <= now:
        state = "warning"
    else:
        state = "running"
    return _live(name, state, remaining, due)
