"""KPIs of the desk for a period: pure functions over ticket records, SLA evaluations and escalations.

The same functions feed `deskterm report`, the dashboard screen and the shift handover, so the figures are
the same everywhere. Time is passed in. Definitions (documented in the README):

- opened: created in [since, until); resolved: a status change to ``resolved`` in the period (a ticket
  counts once); backlog: created before ``until`` and not resolved or closed at ``until``.
- SLA compliance per timer: met ÷ (met + breached) among the timers that ended in the period: a timer
  ends when it stops (met or breached) or when it breaches (a breached timer that is still running counts
  as a breach in the period of its breach). Timers are evaluated as of ``until``. Each cycle of
  ``next_update`` (from one public reply to the next) is a timer of its own: a cycle missed before the next
  reply stays a breach; so is each cycle of ``customer_reply`` (from a customer's message to the answer).
- time to first response / resolution: over the timers that stopped in the period; business time is the
  counted time of the policy's calendar (pauses excluded), wall time is from start to stop.
- first-contact resolution: share of tickets resolved in the period that were resolved at first contact
  (no escalation, no reassignment, one agent).
- reopen rate: share of tickets resolved in the period that were reopened (ever, up to ``until``).
- escalation rate: share of tickets opened in the period that were escalated; mean time to acknowledge over
  escalations raised in the period and acknowledged.
- surveys (domain/survey.py), over the tickets resolved in the period, each measure with its response rate
  (answers ÷ resolved): CSAT, the mean of the 1–5 scores and the share of satisfied answers (4 or 5); NPS, on
  its own 0–10 question: promoters 9–10, passives 7–8, detractors 0–6, score = (promoters − detractors) ÷
  answers × 100 (−100 to 100); CES, the mean of the 1–7 scores (7: very easy). A ticket counts its latest
  answer to each question.
- classification: defect vs change request among tickets opened in the period.
"""

from __future__ import annotations

import heapq
import statistics
import struct
import sys
from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta, tzinfo
from fractions import Fraction
from functools import lru_cache, partial
from itertools import accumulate, chain
from typing import TYPE_CHECKING, Any, overload
from zoneinfo import ZoneInfo

from .domain.calendar import BusinessCalendar, epoch
from .domain.history import first_contact, reopens, status_at, survey_scores
from .domain.sla import TIMERS, TicketSla
from .domain.workflow import STOPPED
from .progress import Progress, counting
from .records import EventRecord, TicketRecord

if TYPE_CHECKING:  # the escalations come as the store's rows, read by the caller
    from .store.models import Escalation

SlaOf = Callable[[TicketRecord], TicketSla]

GROUPINGS = ("customer", "policy", "group", "priority", "type")


@dataclass
class Durations:
    count: int = 0
    mean_business: float | None = None
    median_business: float | None = None
    mean_wall: float | None = None
    median_wall: float | None = None

    @classmethod
    def of(cls, pairs: Sequence[tuple[int, int]]) -> Durations:
        if not pairs:
            return cls()
        business = [b for b, _ in pairs]
        wall = [w for _, w in pairs]
        return cls(
            len(pairs),
            statistics.fmean(business),
            statistics.median(business),
            statistics.fmean(wall),
            statistics.median(wall),
        )


@dataclass
class Compliance:
    met: int = 0
    breached: int = 0

    @property
    def rate(self) -> float | None:
        total = self.met + self.breached
        return self.met / total if total else None


@dataclass
class Kpis:
    since: datetime
    until: datetime
    opened: int = 0
    resolved: int = 0
    backlog: int = 0
    compliance: dict[str, Compliance] = field(default_factory=lambda: {t: Compliance() for t in TIMERS})
    # {"ticket", "ref", "customer", "timer", "at"} (``BreachLines``: each made when read); empty when the KPIs were
    # given without their lines (``Fold.kpis(lines=False)``, the dashboard's: ``breach_count`` says how many)
    breaches: Sequence[dict[str, Any]] = field(default_factory=list)
    first_response: Durations = field(default_factory=Durations)
    resolution: Durations = field(default_factory=Durations)
    first_contact_rate: float | None = None
    reopen_rate: float | None = None
    escalation_rate: float | None = None
    mean_ack_seconds: float | None = None
    csat_mean: float | None = None
    csat_responses: int = 0
    csat_response_rate: float | None = None
    csat_satisfied_rate: float | None = None  # share of the CSAT answers that are 4 or 5
    promoters: int = 0  # NPS 9-10
    passives: int = 0  # NPS 7-8
    detractors: int = 0  # NPS 0-6
    nps: float | None = None
    nps_responses: int = 0
    nps_response_rate: float | None = None
    ces_mean: float | None = None
    ces_responses: int = 0
    ces_response_rate: float | None = None
    defects: int = 0
    change_requests: int = 0
    unclassified: int = 0
    unlisted: int | None = None  # given without the breaches' lines (``Fold.kpis(lines=False)``): how many

    @property
    def breach_count(self) -> int:
        """How many breaches, listed or not."""
        return len(self.breaches) if self.unlisted is None else self.unlisted

    @property
    def overall_compliance(self) -> float | None:
        met = sum(c.met for c in self.compliance.values())
        total = met + sum(c.breached for c in self.compliance.values())
        return met / total if total else None

    def as_dict(self, listed: bool = True) -> dict[str, Any]:
        """The figures as plain data. ``listed`` False: the breaches as the sequence that makes each line when read
        (``BreachLines``), for ``jsonout.write`` to write them out one by one (a year's report at a million tickets
        lists hundreds of thousands); otherwise a list of them. KPIs given without their lines: their number."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "unlisted"}
        if self.unlisted is not None:
            out["breaches"] = self.unlisted
        elif listed:
            out["breaches"] = list(self.breaches)
        out["first_response"], out["resolution"] = asdict(self.first_response), asdict(self.resolution)
        out["since"] = self.since.isoformat()
        out["until"] = self.until.isoformat()
        out["compliance"] = {
            k: {"met": v.met, "breached": v.breached, "rate": v.rate} for k, v in self.compliance.items()
        }
        out["overall_compliance"] = self.overall_compliance
        return out


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _resolved_at(t: TicketRecord, since: datetime, until: datetime) -> datetime | None:
    """The last resolution of the ticket in the period, if any."""
    found = None
    for e in t.events:
        if e.kind == "status" and e.to == "resolved" and since <= e.at < until:
            found = e.at
    return found


def _first_contact(t: TicketRecord) -> bool:
    if t.first_contact is not None:
        return t.first_contact
    resolver = next((e.author for e in reversed(t.events) if e.kind == "status" and e.to == "resolved"), "")
    return first_contact([e for e in t.events if not (e.kind == "status" and e.to == "resolved")], resolver)


# -- a ticket's contribution to a period, and the fold of contributions -----------------------------------


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one ticket (and its escalations) adds to the KPIs of one period [since, until), evaluated as of
    ``until``: ``compute`` is the fold of these, and the dashboard keeps them, so that a changed ticket moves
    the figures by its new contribution less its old one. Hashable: the common ones (a backlog ticket, nothing
    else) are shared."""

    opened: str | None = None  # created in the period: its classification ("defect", "change_request", "")
    escalated: bool = False  # opened in the period and escalated
    backlog: bool = False
    resolved: bool = False
    first_contact: bool = False  # among the resolved
    reopened: bool = False  # among the resolved
    csat: int | None = None  # the latest answers, of a resolved ticket
    nps: int | None = None
    ces: int | None = None
    met: tuple[tuple[str, int], ...] = ()  # (timer, count)
    breached: tuple[tuple[str, int], ...] = ()
    breaches: tuple[tuple[str, int], ...] = ()  # (timer, instant), in the order ``compute`` lists them
    first_response: tuple[int, int] | None = None  # (business, wall) seconds, stopped in the period
    resolution: tuple[int, int] | None = None
    acks: tuple[float, ...] = ()  # seconds to acknowledge, of its escalations raised in the period


NOTHING = Contribution()


def _counts(t: TicketRecord | Digest, since: datetime, until: datetime) -> bool:
    """Whether anything of ``t`` counts in [since, until): not when it was created later, or closed and untouched
    since before the period (queries.load_tickets)."""
    return not (t.created_at >= until or (t.status in STOPPED and t.updated_at < since))


def sla_same_before(old: TicketRecord | None, new: TicketRecord | None) -> float:
    """The instant (whole epoch seconds) before which ``new``'s SLA evaluation is ``old``'s: evaluated as of any
    ``until`` with ``epoch(until)`` earlier, the two records give the same timers (``-inf``: none known). An SLA
    evaluation (``Timers.sla``: ``domain.sla.evaluate``) reads the creation, the initial priority, the customer's
    policy and the events up to ``until`` (those after it ignored, the list in time order): two histories equal
    up to their first difference, which comes after ``until`` in both, replay the same."""
    if (
        old is None
        or new is None
        or old.created_at != new.created_at
        or old.initial_priority != new.initial_priority
        or old.customer != new.customer
    ):
        return float("-inf")
    for a, b in zip(old.events, new.events, strict=False):
        ea, eb = a.for_engine(), b.for_engine()
        if ea != eb:
            return min(ea.at, eb.at)
    n = min(len(old.events), len(new.events))
    rest = [e.for_engine().at for e in (*old.events[n : n + 1], *new.events[n : n + 1])]
    return min(rest, default=float("inf"))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DIGEST = struct.Struct("<qqqqIB")  # creation, last change (µs), sla key, history, events, status
_STATUSES: list[str] = []  # the statuses digested, each once (a workflow has a few)


class Digest(bytes):
    """What the dashboard keeps of a ticket's record once its contributions are computed, instead of the record
    with its history (at a million tickets, 6 KB each: the records did not fit in a jump host's memory): what
    ``_counts`` reads (creation, last change, status) and, for ``digest_same_before``, a hash of what an SLA
    evaluation reads besides the events (creation, initial priority, customer) and a hash of the events, packed
    in 37 bytes. ``digest(t)`` makes it; two digests are equal when those are."""

    __slots__ = ()

    @property
    def created_at(self) -> datetime:
        return _EPOCH + timedelta(microseconds=_DIGEST.unpack(self)[0])

    @property
    def updated_at(self) -> datetime:
        return _EPOCH + timedelta(microseconds=_DIGEST.unpack(self)[1])

    @property
    def sla_key(self) -> int:
        """hash((created_at, initial_priority, customer))"""
        return int(_DIGEST.unpack(self)[2])

    @property
    def history(self) -> int:
        """``_history_hash`` of the ``events`` first events"""
        return int(_DIGEST.unpack(self)[3])

    @property
    def events(self) -> int:
        """How many events the history had."""
        return int(_DIGEST.unpack(self)[4])

    @property
    def status(self) -> str:
        return _STATUSES[int(_DIGEST.unpack(self)[5])]


def _micro(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def _history_hash(events: Sequence[EventRecord], n: int) -> int:
    """A hash of the first ``n`` events as the SLA engine reads them (their instant, kind, public flag, author and
    target): two histories whose first ``n`` events hash the same give those events to the engine alike (the
    hash of the fields themselves, a finer equality than the engine's: ``public`` None and False differ here)."""
    return hash(tuple([(e.at, e.kind, e.public, e.author, e.to) for e in events[:n]]))


def digest(t: TicketRecord) -> Digest:
    """The ``Digest`` of ``t``."""
    if t.status not in _STATUSES:
        _STATUSES.append(t.status)
    return Digest(
        _DIGEST.pack(
            _micro(t.created_at),
            _micro(t.updated_at),
            hash((t.created_at, t.initial_priority, t.customer)),
            _history_hash(t.events, len(t.events)),
            len(t.events),
            _STATUSES.index(t.status),
        )
    )


def digest_same_before(old: Digest | None, new: TicketRecord | None) -> float:
    """``sla_same_before`` of the record ``old`` is the digest of and ``new``, or an earlier instant (``-inf``): when
    ``new``'s history begins with ``old``'s whole (events added after them: a change made now), the instant of
    the first added event (``inf``: none), as ``sla_same_before``; any other difference (an event inserted, changed
    or dropped among the old ones, the creation, initial priority or customer changed) gives ``-inf``, every past
    day evaluated again. Earlier is never wrong: a contribution's timers are kept only before that instant (up to
    a collision of the 64-bit hashes)."""
    if old is None or new is None:
        return float("-inf")
    _, _, sla_key, history, n, _ = _DIGEST.unpack(old)
    if sla_key != hash((new.created_at, new.initial_priority, new.customer)):
        return float("-inf")
    if len(new.events) < n or _history_hash(new.events, n) != history:
        return float("-inf")
    return float(new.events[n].for_engine().at) if len(new.events) > n else float("inf")


# the periods' bounds in epoch seconds: the same few instants for every ticket (a dashboard's 33 periods, a report's
# one), converted once each instead of once for each ticket and period
_bound = lru_cache(maxsize=256)(epoch)
_timestamp = lru_cache(maxsize=256)(datetime.timestamp)


def _timers(
    sla: TicketSla, s: int, u: int
) -> tuple[
    tuple[tuple[str, int], ...],
    tuple[tuple[str, int], ...],
    tuple[tuple[str, int], ...],
    tuple[int, int] | None,
    tuple[int, int] | None,
]:
    """What a ticket's timers (its SLA evaluated as of ``u``) add to [s, u) in epoch seconds: the timers met and
    breached by name, the breaches (timer, instant), the first response's and the resolution's durations."""
    met: dict[str, int] = {}
    breached: dict[str, int] = {}
    breaches: list[tuple[str, int]] = []
    first_response = resolution = None
    for name, timer in sla.timers.items():
        # every cycle of next_update and customer_reply counts, the finished ones (``cycles``) and the current one
        for run in (*timer.cycles, timer):
            if run.breached_at is not None and s <= run.breached_at < u:
                breached[name] = breached.get(name, 0) + 1
                breaches.append((name, run.breached_at))
            elif run.state == "met" and run.stopped_at is not None and s <= run.stopped_at < u:
                met[name] = met.get(name, 0) + 1
        if timer.stopped_at is not None and s <= timer.stopped_at < u:
            pair = (timer.consumed, timer.stopped_at - timer.started_at)
            if name == "first_response":
                first_response = pair
            elif name == "resolution":
                resolution = pair
    return tuple(met.items()), tuple(breached.items()), tuple(breaches), first_response, resolution


@dataclass(frozen=True, slots=True)
class Earlier:
    """What a ticket contributed to a period before it changed: its record then (``old``), that contribution
    (``of``), and ``sla_same_before(old, new)``. When the two records' SLA evaluations as of the period's end are
    the same (the change came after it: most changes are made now, after every past day's end), the contribution's
    timers are ``of``'s, without evaluating the SLA again; everything else is computed from the new record."""

    old: TicketRecord | Digest | None
    of: Contribution
    same_before: float


def contribution(
    t: TicketRecord | None,
    sla_of: SlaOf,
    since: datetime,
    until: datetime,
    escalations: Sequence[Escalation] = (),
    earlier: Earlier | None = None,
) -> Contribution:
    """The contribution of ``t`` with ``escalations`` (its own) to [since, until): every rule of the KPIs is here.
    ``t`` None: escalations whose ticket is not among those computed (they count in the mean time to
    acknowledge, as ``compute`` always counted every escalation it was given). ``earlier``: what the ticket
    contributed before it changed (``Earlier``), whose timers serve when its SLA as of ``until`` is the same."""
    acks = tuple(
        (e.acknowledged_at - e.created_at).total_seconds()
        for e in escalations
        if e.acknowledged_at is not None and since <= e.created_at < until
    )
    if t is None or not _counts(t, since, until):
        # created later, or closed and untouched since before the period: nothing of it counts
        # (queries.load_tickets); its escalations' acknowledgements still do
        return Contribution(acks=acks) if acks else NOTHING
    s, u = _bound(since), _bound(until)
    opened: str | None = None
    escalated = False
    if since <= t.created_at:
        opened = t.classification if t.classification in ("defect", "change_request") else ""
        escalated = bool(escalations) or any(e.kind == "escalate" for e in t.events)
    backlog = status_at(t.events, until) not in STOPPED
    resolved = _resolved_at(t, since, until) is not None
    if (
        earlier is not None
        and earlier.old is not None
        and u < earlier.same_before
        and _counts(earlier.old, since, until)  # (else its contribution says nothing of its timers)
    ):
        # the same SLA as of ``until``: the same timers met, breached and stopped in the period
        was = earlier.of
        met_, breached_, breaches_ = was.met, was.breached, was.breaches
        first_response, resolution = was.first_response, was.resolution
    else:
        met_, breached_, breaches_, first_response, resolution = _timers(sla_of(t), s, u)
    fc = reopened = False
    csat = nps = ces = None
    if resolved:
        fc = _first_contact(t)
        reopened = bool(reopens(t.events, until))
        scores = survey_scores(t.events)
        csat, nps, ces = t.csat_score, scores.get("nps"), scores.get("ces")
    c = Contribution(
        opened,
        escalated,
        backlog,
        resolved,
        fc,
        reopened,
        csat,
        nps,
        ces,
        met_,
        breached_,
        breaches_,
        first_response,
        resolution,
        acks,
    )
    return NOTHING if c == NOTHING else c  # nothing counted: the one object that ``Fold.add`` passes over


def contributions(
    t: TicketRecord | None,
    sla_at: Callable[[datetime], TicketSla],
    periods: Sequence[tuple[datetime, datetime]],
    escalations: Sequence[Escalation] = (),
    earlier: Sequence[Earlier | None] | None = None,
    used: list[TicketSla | None] | None = None,
) -> list[Contribution]:
    """``contribution`` of ``t`` to each period (their ends in time order: the trend's days, then periods ending
    now), each as of its end, ``sla_at(until)`` evaluating ``t`` as of ``until``. One evaluation serves the periods
    that end before the ticket's next instant after it (``next_instant``: no event, no deadline, no escalation in
    between, so the timers met, breached and stopped are the same, as for a period ending now that the dashboard
    keeps): a ticket long closed, or quiet for days, is replayed once, not once a day. ``earlier``: each period's
    ``Earlier``. ``used``: appended, for each period, the evaluation its contribution read (None: none read).

    A period in which nothing of ``t`` counts (``_counts``: created after it, or closed and untouched since before
    it) and that has no escalation of it is ``NOTHING`` without a call: most of a desk's tickets count in a few of
    the trend's 30 days."""
    sla: TicketSla | None = None
    evaluated = good = float("-inf")  # the instant of ``sla``; it serves up to (not including) ``good``
    read: TicketSla | None = None  # the evaluation the last contribution read

    def sla_of(_: TicketRecord, until: datetime) -> TicketSla:
        nonlocal sla, evaluated, good, read
        u = _timestamp(until)
        if sla is None or not evaluated <= u < good:
            sla, evaluated = sla_at(until), u
            good = next_instant(t, sla, escalations, until)
        read = sla
        return sla

    out: list[Contribution] = []
    # (``_counts`` inlined: the periods in which nothing of ``t`` counts are passed over at the cost of a comparison)
    created = t.created_at if t is not None and not escalations else None
    stopped_since = t.updated_at if t is not None and t.status in STOPPED else None
    for i, (since, until) in enumerate(periods):
        if created is not None and (created >= until or (stopped_since is not None and stopped_since < since)):
            out.append(NOTHING)
            if used is not None:
                used.append(None)
            continue
        read = None
        of: SlaOf = partial(sla_of, until=until)
        out.append(contribution(t, of, since, until, escalations, earlier[i] if earlier is not None else None))
        if used is not None:
            used.append(read)
    return out


class _Pairs:
    """(business, wall) durations: their count, sums and each side sorted, for means and medians that take
    one away as cheaply as they add one. Kept as 8-byte integers (a year's report at a million tickets holds
    a million of each); those added since the last read are sorted in when the sides are next read, in one
    sort (inserting each of a million in order would move the whole array every time)."""

    __slots__ = ("_new_business", "_new_wall", "business", "sum_business", "sum_wall", "wall")

    def __init__(self) -> None:
        self.business = array("q")
        self.wall = array("q")
        self._new_business = array("q")  # (8 bytes each: a list would hold an int object of each)
        self._new_wall = array("q")
        self.sum_business = 0
        self.sum_wall = 0

    def add(self, pair: tuple[int, int], sign: int) -> None:
        b, w = pair
        self.sum_business += sign * b
        self.sum_wall += sign * w
        if sign > 0:
            self._new_business.append(b)
            self._new_wall.append(w)
        else:
            self._settle()
            del self.business[bisect_left(self.business, b)]
            del self.wall[bisect_left(self.wall, w)]

    def _settle(self) -> None:
        if not self._new_business:
            return
        if len(self._new_business) <= 8:  # a change or two (the dashboard): each put in its place
            for b in self._new_business:
                insort(self.business, b)
            for w in self._new_wall:
                insort(self.wall, w)
        else:
            self.business = array("q", sorted(chain(self.business, self._new_business)))
            self.wall = array("q", sorted(chain(self.wall, self._new_wall)))
        self._new_business, self._new_wall = array("q"), array("q")

    def merge(self, other: _Pairs) -> None:
        """Take in another's durations (of other tickets), as if each had been added here."""
        self.sum_business += other.sum_business
        self.sum_wall += other.sum_wall
        self._new_business.extend(other.business)  # (sorted in with the others when next read)
        self._new_business.extend(other._new_business)
        self._new_wall.extend(other.wall)
        self._new_wall.extend(other._new_wall)

    def durations(self) -> Durations:
        self._settle()
        n = len(self.business)
        if not n:
            return Durations()
        # statistics.fmean of ints is their exact sum rounded once, divided by n; median as statistics.median
        return Durations(
            n, float(self.sum_business) / n, _median(self.business), float(self.sum_wall) / n, _median(self.wall)
        )


def _median(xs: Sequence[int]) -> float:
    n = len(xs)
    i = n // 2
    return xs[i] if n % 2 else (xs[i - 1] + xs[i]) / 2


_Breaches = tuple[int, str | None, str, tuple[tuple[str, int], ...]]  # (ticket, ref, customer, (timer, instant)…)


class BreachLines(Sequence[dict[str, Any]]):
    """The breaches a period lists, in ticket order, each line (``{"ticket", "ref", "customer", "timer", "at"}``,
    the instant in ``tz``) made when read: a year's report at a million tickets lists hundreds of thousands of
    them, which are written out as they are made (``jsonout.write``), never all held as lines. Holds the fold's
    tuples (immutable), one per ticket, not the fold: what the fold adds or takes away later is not seen."""

    __slots__ = ("_count", "_entries", "_starts", "tz")

    def __init__(self, entries: list[_Breaches], count: int, tz: tzinfo) -> None:
        self._entries, self._count, self.tz = entries, count, tz
        self._starts: list[int] | None = None  # each entry's first line's index (made when indexed)

    def __len__(self) -> int:
        return self._count

    def _line(self, entry: _Breaches, name: str, at: int) -> dict[str, Any]:
        key, ref, customer, _ = entry
        return {
            "ticket": key,
            "ref": ref,
            "customer": customer,
            "timer": name,
            "at": datetime.fromtimestamp(at, self.tz).isoformat(),
        }

    def __iter__(self) -> Iterator[dict[str, Any]]:
        line = self._line
        for entry in self._entries:
            for name, at in entry[3]:
                yield line(entry, name, at)

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._count))]
        if i < 0:
            i += self._count
        if not 0 <= i < self._count:
            raise IndexError(i)
        if self._starts is None:
            self._starts = list(accumulate((len(e[3]) for e in self._entries), initial=0))
        n = bisect_right(self._starts, i) - 1
        entry = self._entries[n]
        return self._line(entry, *entry[3][i - self._starts[n]])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"BreachLines({list(self)!r})"


class Fold:
    """The KPIs of one period as the sum of its contributions: ``add`` and ``remove`` cost what one contribution
    holds, ``kpis`` what the figures hold (the breaches listed), never the number of tickets. Equal to
    ``compute`` over the same tickets (``compute`` is a fold)."""

    def __init__(self, listed: bool = True) -> None:
        # ``listed`` False: the breaches counted, not kept for their lines (``kpis(lines=False)`` only: the
        # dashboard's, which at a million tickets held the breaches of every period twice, its customer's and all's)
        self.listed = listed
        self.size = 0  # contributions that count something (a group with none shows nothing)
        self.opened = self.escalated = self.backlog = self.resolved = self.first_contact = self.reopened = 0
        self.classes = {"defect": 0, "change_request": 0, "": 0}
        self.met = {t: 0 for t in TIMERS}
        self.breached = {t: 0 for t in TIMERS}
        # ticket → (ticket, ref, customer, its breaches (timer, instant)): one tuple each, shared by the KPIs given
        self.breaches: dict[int, _Breaches] = {}
        self.breach_order: list[int] = []  # the keys of ``breaches``, sorted
        self.breach_count = 0  # the breaches listed
        self.first_response = _Pairs()
        self.resolution = _Pairs()
        self.acks = 0
        self.ack_sum = Fraction(0)  # exact: fmean is the exactly rounded sum, divided
        self.csat = self.csat_sum = self.satisfied = 0
        self.nps = self.promoters = self.passives = self.detractors = 0
        self.ces = self.ces_sum = 0
        self._lines: BreachLines | None = None  # the breaches as last listed (None: one came or went since)
        # the KPIs last given (since, zone, lines), while unchanged
        self._last: tuple[datetime, tzinfo, bool, Kpis] | None = None

    def add(self, key: int, c: Contribution, info: tuple[str | None, str] = (None, ""), sign: int = 1) -> None:
        """Add (``sign`` -1: take away) the contribution of the ticket ``key`` (``info``: its ref and customer)."""
        if c is NOTHING:
            return
        self._last = None
        self.size += sign
        if c.opened is not None:
            self.opened += sign
            self.classes[c.opened] += sign
            self.escalated += sign * c.escalated
        self.backlog += sign * c.backlog
        if c.resolved:
            self.resolved += sign
            self.first_contact += sign * c.first_contact
            self.reopened += sign * c.reopened
            if c.csat is not None:
                self.csat += sign
                self.csat_sum += sign * c.csat
                self.satisfied += sign * (c.csat >= 4)
            if c.nps is not None:
                self.nps += sign
                self.promoters += sign * (c.nps >= 9)
                self.passives += sign * (7 <= c.nps <= 8)
                self.detractors += sign * (c.nps <= 6)
            if c.ces is not None:
                self.ces += sign
                self.ces_sum += sign * c.ces
        for name, n in c.met:
            self.met[name] += sign * n
        for name, n in c.breached:
            self.breached[name] += sign * n
        if c.breaches:
            self._lines = None
            self.breach_count += sign * len(c.breaches)
            if not self.listed:
                pass
            elif sign > 0:
                self.breaches[key] = (key, *info, c.breaches)
                order = self.breach_order
                if order and order[-1] > key:
                    insort(order, key)
                else:  # (a report's tickets come in id order)
                    order.append(key)
            else:
                del self.breaches[key]
                del self.breach_order[bisect_left(self.breach_order, key)]
        if c.first_response is not None:
            self.first_response.add(c.first_response, sign)
        if c.resolution is not None:
            self.resolution.add(c.resolution, sign)
        for a in c.acks:
            self.acks += sign
            self.ack_sum += sign * Fraction(a)

    def remove(self, key: int, c: Contribution) -> None:
        self.add(key, c, sign=-1)

    def merge(self, other: Fold) -> None:
        """Add another fold's contributions (of other tickets than this one's): the same fold as if each had been
        added here. A report folds parts of its period in two processes and merges them (``Folding.merge``)."""
        self._last = None
        self.size += other.size
        self.opened += other.opened
        self.escalated += other.escalated
        self.backlog += other.backlog
        self.resolved += other.resolved
        self.first_contact += other.first_contact
        self.reopened += other.reopened
        for name, n in other.classes.items():
            self.classes[name] += n
        for name in TIMERS:
            self.met[name] += other.met[name]
            self.breached[name] += other.breached[name]
        if other.breach_count and not (self.listed and other.listed):  # (counted only)
            self._lines = None
            self.listed = False
            self.breach_count += other.breach_count
        elif other.breaches:
            self._lines = None
            self.breaches.update(other.breaches)
            self.breach_order = list(heapq.merge(self.breach_order, other.breach_order))
            self.breach_count += other.breach_count
        self.first_response.merge(other.first_response)
        self.resolution.merge(other.resolution)
        self.acks += other.acks
        self.ack_sum += other.ack_sum
        self.csat += other.csat
        self.csat_sum += other.csat_sum
        self.satisfied += other.satisfied
        self.nps += other.nps
        self.promoters += other.promoters
        self.passives += other.passives
        self.detractors += other.detractors
        self.ces += other.ces
        self.ces_sum += other.ces_sum

    def kpis(self, since: datetime, until: datetime, tz: tzinfo | None = None, lines: bool = True) -> Kpis:
        """The KPIs of [since, until). Unchanged since the last call (nothing added or taken away), the same
        figures with the new ``until``: a period ending now costs nothing when none of its tickets changed. The
        breaches' lines are shared between the KPIs given (read them, do not change them); ``lines`` False: not
        listed, only counted (the dashboard shows their number: listing the month's thousands again when one comes
        or goes is what a change would cost it)."""
        tz = tz or UTC
        if self._last is not None and self._last[0] == since and self._last[1] is tz and self._last[2] == lines:
            last = self._last[3]
            return last if last.until == until else replace(last, until=until.astimezone(tz))
        k = self._kpis(since, until, tz, lines)
        self._last = (since, tz, lines, k)
        return k

    def _kpis(self, since: datetime, until: datetime, tz: tzinfo, lines: bool = True) -> Kpis:
        k = Kpis(since=since.astimezone(tz), until=until.astimezone(tz))  # the period in the display zone
        k.opened, k.resolved, k.backlog = self.opened, self.resolved, self.backlog
        k.defects, k.change_requests, k.unclassified = (self.classes[c] for c in ("defect", "change_request", ""))
        for name in TIMERS:
            k.compliance[name] = Compliance(self.met[name], self.breached[name])
        if not lines:  # counted, not listed (the dashboard shows their number)
            k.breaches, k.unlisted = (), self.breach_count
        else:
            assert self.listed, "the breaches of a fold made with listed=False are counted, not listed"
            if self._lines is None or self._lines.tz is not tz:  # listed again only when a breach came or went
                breaches = self.breaches
                self._lines = BreachLines([breaches[key] for key in self.breach_order], self.breach_count, tz)
            k.breaches = self._lines  # a copy of the fold's list: its changes later never reach the KPIs given
        k.first_response = self.first_response.durations()
        k.resolution = self.resolution.durations()
        k.first_contact_rate = _ratio(self.first_contact, self.resolved)
        k.reopen_rate = _ratio(self.reopened, self.resolved)
        k.escalation_rate = _ratio(self.escalated, self.opened)
        k.mean_ack_seconds = float(self.ack_sum) / self.acks if self.acks else None
        k.csat_responses = self.csat
        k.csat_mean = float(self.csat_sum) / self.csat if self.csat else None
        k.csat_response_rate = _ratio(self.csat, self.resolved)
        k.csat_satisfied_rate = _ratio(self.satisfied, self.csat)
        k.nps_responses = self.nps
        k.promoters, k.passives, k.detractors = self.promoters, self.passives, self.detractors
        k.nps = (self.promoters - self.detractors) / self.nps * 100 if self.nps else None
        k.nps_response_rate = _ratio(self.nps, self.resolved)
        k.ces_responses = self.ces
        k.ces_mean = float(self.ces_sum) / self.ces if self.ces else None
        k.ces_response_rate = _ratio(self.ces, self.resolved)
        return k


def _info(t: TicketRecord) -> tuple[str | None, str]:
    return (t.ref, t.customer)


class Folding:
    """``compute`` (and ``compute_by``, ``by`` given) fed batch by batch: each ticket's contribution is folded as
    its batch comes and nothing of the ticket is kept, so that a report over a million tickets holds one batch
    at a time (and the folds: the durations for the medians, the breaches listed). The same figures as
    ``compute`` over all the tickets at once, whatever the batches (``tests/store/test_report_batches.py``)."""

    def __init__(
        self,
        sla_of: SlaOf,
        since: datetime,
        until: datetime,
        by: str | None = None,
        policy_of: Callable[[str], str] | None = None,
    ) -> None:
        self.sla_of, self.since, self.until, self.by = sla_of, since, until, by
        self.policy_of = policy_of or (lambda customer: "")
        self.total = Fold()
        self.groups: dict[str, Fold] = {}

    def add(self, t: TicketRecord, escalations: Sequence[Escalation] = ()) -> None:
        """One ticket of the period, with its escalations (all of them)."""
        c = contribution(t, self.sla_of, self.since, self.until, escalations)
        info = _info(t)
        self.total.add(t.id, c, info)
        if self.by is not None:  # every ticket given makes its group, even one that counts nothing
            key = group_key(self.by, t, self.policy_of)
            fold = self.groups.get(key)
            if fold is None:
                fold = self.groups[key] = Fold()
            fold.add(t.id, c, info)

    def add_batch(self, tickets: Iterable[TicketRecord], escalations: Mapping[int, Sequence[Escalation]]) -> None:
        """Tickets with their escalations by ticket id."""
        for t in tickets:
            self.add(t, escalations.get(t.id, ()))

    def add_others(self, escalations: Iterable[Escalation]) -> None:
        """Escalations whose ticket is not among those given: their acknowledgements count for all customers."""
        for ticket_id, others in by_ticket(escalations).items():
            self.total.add(ticket_id, contribution(None, self.sla_of, self.since, self.until, others))

    def merge(self, other: Folding) -> None:
        """Take in the folds of another ``Folding`` of the same period and grouping, over other tickets."""
        self.total.merge(other.total)
        for key, fold in other.groups.items():
            mine = self.groups.get(key)
            if mine is None:
                self.groups[key] = fold
            else:
                mine.merge(fold)

    def kpis(self, tz: tzinfo | None = None) -> Kpis:
        return self.total.kpis(self.since, self.until, tz)

    def kpis_by(self, tz: tzinfo | None = None) -> dict[str, Kpis]:
        return {name: fold.kpis(self.since, self.until, tz) for name, fold in sorted(self.groups.items())}


def by_ticket(escalations: Iterable[Escalation]) -> dict[int, list[Escalation]]:
    out: dict[int, list[Escalation]] = {}
    for e in escalations:
        out.setdefault(e.ticket_id, []).append(e)
    return out


def compute(
    tickets: Iterable[TicketRecord],
    sla_of: SlaOf,
    since: datetime,
    until: datetime,
    escalations: Sequence[Escalation] = (),
    tz: tzinfo | None = None,
    progress: Progress | None = None,
) -> Kpis:
    """The KPIs of ``tickets`` for [since, until). ``sla_of`` evaluates a ticket as of ``until``. The breaches
    are listed by ticket id. ``progress``: told the tickets computed ("computing KPIs"), of how many."""
    folding = Folding(sla_of, since, until)
    theirs = by_ticket(escalations)
    total = len(tickets) if isinstance(tickets, Sequence) else None
    for t in counting(tickets, progress, COMPUTING, total):
        folding.add(t, theirs.pop(t.id, ()))
    folding.add_others(e for others in theirs.values() for e in others)  # tickets not given: their acks count
    return folding.kpis(tz)


def group_key(by: str, t: TicketRecord, policy_of: Callable[[str], str]) -> str:
    if by == "customer":
        return t.customer
    if by == "policy":
        return policy_of(t.customer)
    if by == "group":
        return t.group
    if by == "priority":
        return t.priority
    if by == "type":
        return t.type
    if by == "category":
        return t.category or NO_CATEGORY
    raise ValueError(by)


NO_CATEGORY = "(none)"  # the section of tickets not classified yet, in `report --by category`


@dataclass(frozen=True)
class Reason:
    """One contact reason of the dashboard: its tickets created in the period and in the period before."""

    category: str
    count: int
    previous: int

    @property
    def trend(self) -> str:
        """``↑``, ``↓`` or ``=`` against the period before (``new`` when it had none)."""
        if self.previous == 0:
            return "new" if self.count else "="
        return "↑" if self.count > self.previous else ("↓" if self.count < self.previous else "=")


def top_reasons(
    tickets: Sequence[TicketRecord], since: datetime, until: datetime, limit: int = 5, level: int = 2
) -> list[Reason]:
    """The contact reasons of the tickets created in [since, until), most frequent first, each with the count
    of the period of the same length just before (its trend): so that recurring failures show. ``level`` 1
    counts by top-level category (``network``), 2 by the category as set (``network/vpn``). Tickets without
    a category are left out."""
    before = since - (until - since)
    now: dict[str, int] = {}
    prev: dict[str, int] = {}
    for t in tickets:
        if t.category is None or not before <= t.created_at < until:
            continue
        key = t.category if level == 2 else t.category.split("/", 1)[0]
        bucket = now if t.created_at >= since else prev
        bucket[key] = bucket.get(key, 0) + 1
    ranked = sorted(now.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [Reason(name, count, prev.get(name, 0)) for name, count in ranked]


class Reasons:
    """``top_reasons`` kept: each classified ticket's creation instant under its category, in sorted lists, so
    that ``put`` costs one insertion and ``top`` a few bisections per category, never a pass over the tickets.
    Any window is answered (the dashboard's last 7 days move with now). ``tests/unit/test_kpi_ledger.py``
    compares it with ``top_reasons`` after random changes."""

    def __init__(self) -> None:
        self._kept: dict[int, tuple[str, datetime]] = {}  # ticket → (category, created_at)
        self._created: dict[str, list[datetime]] = {}  # category → its tickets' creation instants, sorted

    def put(self, key: int, t: TicketRecord | None) -> None:
        """The ticket ``key`` is now ``t`` (None: gone)."""
        old = self._kept.pop(key, None)
        if old is not None:
            instants = self._created[old[0]]
            del instants[bisect_left(instants, old[1])]
            if not instants:
                del self._created[old[0]]
        if t is not None and t.category is not None:
            self._kept[key] = (sys.intern(t.category), t.created_at)  # (a category is one of a few)
            insort(self._created.setdefault(t.category, []), t.created_at)

    def top(self, since: datetime, until: datetime, limit: int = 5, level: int = 2) -> list[Reason]:
        """``top_reasons`` of the tickets put."""
        before = since - (until - since)
        now: dict[str, int] = {}
        prev: dict[str, int] = {}
        for category, instants in self._created.items():
            key = category if level == 2 else category.split("/", 1)[0]
            start, middle, end = (bisect_left(instants, x) for x in (before, since, until))
            if middle - start:
                prev[key] = prev.get(key, 0) + middle - start
            if end - middle:
                now[key] = now.get(key, 0) + end - middle
        ranked = sorted(now.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [Reason(name, count, prev.get(name, 0)) for name, count in ranked]


def compute_by(
    by: str,
    tickets: Sequence[TicketRecord],
    sla_of: SlaOf,
    since: datetime,
    until: datetime,
    policy_of: Callable[[str], str],
    escalations: Sequence[Escalation] = (),
    tz: tzinfo | None = None,
    progress: Progress | None = None,
) -> dict[str, Kpis]:
    """The KPIs of each group of ``tickets`` (``group_key``), each with its tickets' escalations only;
    ``progress``: told the tickets computed, all groups together ("computing KPIs by priority"), of how many."""
    folding = Folding(sla_of, since, until, by, policy_of)
    theirs = by_ticket(escalations)
    for t in counting(tickets, progress, f"{COMPUTING} by {by}", len(tickets)):
        folding.add(t, theirs.get(t.id, ()))
    return folding.kpis_by(tz)


COMPUTING = "computing KPIs"  # the step of ``compute`` its progress names
HANDOVER = "computing the handover"  # the step of ``handover`` (and the screen's placing of every ticket)


def part_of(progress: Progress, what: str, done: int, total: int) -> Progress:
    """A part's progress told as the whole's: ``what``, counted on from ``done`` of ``total``."""

    def step(_: str, part: int, __: int | None) -> None:
        progress(what, done + part, total)

    return step


# -- formats ------------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.1f}%"


def _dur(seconds: float | None) -> str:
    from .fmt import compact

    return "–" if seconds is None else compact(int(round(seconds)))


def kpis_markdown(k: Kpis, title: str, tz: ZoneInfo | None = None) -> str:
    """The KPIs as Markdown; the period in the display zone ``tz`` (the configuration's ``timezone``)."""
    return "".join(kpis_markdown_lines(k, title, tz))


def kpis_markdown_lines(k: Kpis, title: str, tz: ZoneInfo | None = None) -> Iterator[str]:
    """``kpis_markdown`` line by line (each with its newline), the breaches made as they are written: `deskterm
    report` writes a year's hundreds of thousands of them out as they come."""
    from .fmt import local, md_text

    period = (
        f"{local(k.since, tz)} → {local(k.until, tz)} ({getattr(tz, 'key', tz)})"
        if tz is not None
        else f"{k.since.isoformat()} → {k.until.isoformat()}"
    )
    lines = [
        f"## {md_text(title)}",
        "",
        f"Period {period}",
        "",
        "| figure | value |",
        "|---|---|",
        f"| opened | {k.opened} |",
        f"| resolved | {k.resolved} |",
        f"| backlog at end | {k.backlog} |",
        f"| SLA compliance (all timers) | {_pct(k.overall_compliance)} |",
    ]
    for name, c in k.compliance.items():
        lines.append(f"| {name.replace('_', ' ')} compliance | {_pct(c.rate)} ({c.met} met, {c.breached} breached) |")
    lines += [
        f"| time to first response, business (mean / median) | {_dur(k.first_response.mean_business)} / {_dur(k.first_response.median_business)} |",
        f"| time to first response, wall (mean / median) | {_dur(k.first_response.mean_wall)} / {_dur(k.first_response.median_wall)} |",
        f"| time to resolve, business (mean / median) | {_dur(k.resolution.mean_business)} / {_dur(k.resolution.median_business)} |",
        f"| time to resolve, wall (mean / median) | {_dur(k.resolution.mean_wall)} / {_dur(k.resolution.median_wall)} |",
        f"| first-contact resolution | {_pct(k.first_contact_rate)} |",
        f"| reopen rate | {_pct(k.reopen_rate)} |",
        f"| escalation rate | {_pct(k.escalation_rate)} |",
        f"| mean time to acknowledge an escalation | {_dur(k.mean_ack_seconds)} |",
        f"| CSAT mean 1–5 (responses, rate) | {'–' if k.csat_mean is None else f'{k.csat_mean:.2f}'} ({k.csat_responses}, {_pct(k.csat_response_rate)}) |",
        f"| CSAT satisfied (4–5) | {_pct(k.csat_satisfied_rate)} |",
        f"| NPS −100…100 (responses, rate) | {'–' if k.nps is None else f'{k.nps:+.0f}'} ({k.nps_responses}, {_pct(k.nps_response_rate)}) |",
        f"| NPS promoters 9–10 / passives 7–8 / detractors 0–6 | {k.promoters} / {k.passives} / {k.detractors} |",
        f"| CES mean 1–7 (responses, rate) | {'–' if k.ces_mean is None else f'{k.ces_mean:.2f}'} ({k.ces_responses}, {_pct(k.ces_response_rate)}) |",
        f"| defects / change requests / unclassified | {k.defects} / {k.change_requests} / {k.unclassified} |",
    ]
    if k.breaches:
        lines += ["", "Breaches:", ""]
    for line in lines:
        yield line + "\n"
    for b in k.breaches:
        yield (
            f"- #{b['ticket']}{' ' + md_text(b['ref']) if b['ref'] else ''} ({md_text(b['customer'])}): {b['timer'].replace('_', ' ')} breached at {b['at']}\n"
        )


CSV_COLUMNS = (
    "group",
    "opened",
    "resolved",
    "backlog",
    "compliance",
    "first_response_compliance",
    "resolution_compliance",
    "next_update_compliance",
    "breaches",
    "mean_first_response_business_s",
    "mean_resolution_business_s",
    "median_resolution_business_s",
    "first_contact_rate",
    "reopen_rate",
    "escalation_rate",
    "mean_ack_s",
    "csat_mean",
    "csat_response_rate",
    "nps",
    "defects",
    "change_requests",
    "csat_satisfied_rate",
    "nps_response_rate",
    "ces_mean",
    "ces_response_rate",
    "customer_reply_compliance",
)


def csv_row(name: str, k: Kpis) -> list[str | int | float]:
    def r(x: float | None) -> str | float:
        return "" if x is None else round(x, 4)

    return [
        name,
        k.opened,
        k.resolved,
        k.backlog,
        r(k.overall_compliance),
        r(k.compliance["first_response"].rate),
        r(k.compliance["resolution"].rate),
        r(k.compliance["next_update"].rate),
        len(k.breaches),
        r(k.first_response.mean_business),
        r(k.resolution.mean_business),
        r(k.resolution.median_business),
        r(k.first_contact_rate),
        r(k.reopen_rate),
        r(k.escalation_rate),
        r(k.mean_ack_seconds),
        r(k.csat_mean),
        r(k.csat_response_rate),
        r(k.nps),
        k.defects,
        k.change_requests,
        r(k.csat_satisfied_rate),
        r(k.nps_response_rate),
        r(k.ces_mean),
        r(k.ces_response_rate),
        r(k.compliance["customer_reply"].rate),
    ]


# -- shift handover -------------------------------------------------------------------------------------


@dataclass
class Handover:
    now: datetime
    hours: float
    # ticket, timer, due (epoch), business seconds left: due within the horizon, not breached yet
    breaching: Sequence[tuple[TicketRecord, str, int, int]] = field(default_factory=list)
    # ticket, timer, instant of the breach (epoch), business seconds left (negative): breached, still open
    breached: Sequence[tuple[TicketRecord, str, int, int]] = field(default_factory=list)
    unacknowledged: list[Escalation] = field(default_factory=list)
    majors: list[tuple[TicketRecord, list[TicketRecord]]] = field(default_factory=list)
    long_pending: Sequence[tuple[TicketRecord, float]] = field(default_factory=list)  # ticket, hours pending
    resolved: Sequence[TicketRecord] = field(default_factory=list)


def handover(
    tickets: Sequence[TicketRecord],
    sla_of: SlaOf,
    escalations: Sequence[Escalation],
    now: datetime,
    hours: float = 8,
    pending_hours: float = 24,
    progress: Progress | None = None,
) -> Handover:
    """What the next shift must know, as of ``now`` for the shift of the last ``hours``: every ticket placed
    (``HandoverBook.put``, each open one evaluated as of now), then the sections read. ``progress``: told the
    tickets placed ("computing the handover"), of how many."""
    book = HandoverBook(hours, pending_hours)
    for t in counting(tickets, progress, HANDOVER, len(tickets)):
        book.put(t, None if t.status in STOPPED else sla_of(t), None, now)
    return book.handover(now, escalations)


@dataclass(frozen=True, slots=True)
class _Place:
    """Where one ticket stands in the handover as of ``at`` (epoch seconds), and until when that holds."""

    deadline: str | None  # "breaching", "breached" or None
    key: tuple[int, int]  # (due, id): the order of the deadline sections
    entry: tuple[TicketRecord, str, int, int, int, int | None, BusinessCalendar | None]
    pending_since: datetime | None  # pending the customer for long since then
    resolved: bool  # resolved during the shift
    major: int | None  # open and linked to this major incident
    until: float  # the first instant (epoch, a second early) at which the place may differ: ``next_instant``


def _place(
    t: TicketRecord,
    sla: TicketSla | None,
    calendar: BusinessCalendar | None,
    now: datetime,
    hours: float,
    pending_hours: float,
) -> _Place:
    """The handover's rules for one ticket as of ``now``: which deadline section it is in (an active timer
    breached: "breached", the earliest; else the earliest running timer due within ``hours``: "breaching"),
    whether it waits on the customer for ``pending_hours`` or more, whether it was resolved during the shift,
    and the major incident it is linked to (open tickets). ``sla``: its evaluation as of ``now`` (None for a
    stopped ticket, which is never evaluated)."""
    from datetime import timedelta

    at = epoch(now)
    span = int(hours * 3600)
    start = now - timedelta(hours=hours)
    # the instants at which this place may change, besides those of ``next_instant`` (an event, a deadline):
    # a running timer's deadline entering the horizon, a resolution leaving the shift, a wait becoming long
    later: list[float] = []
    deadline: str | None = None
    key = (0, t.id)
    entry: tuple[TicketRecord, str, int, int, int, int | None, BusinessCalendar | None] = (t, "", 0, 0, at, None, None)
    pending_since = None
    resolved = False
    if t.status in STOPPED:
        found = _resolved_at(t, start, now + timedelta(seconds=1))
        resolved = found is not None
        later += [
            (e.at + timedelta(hours=hours)).timestamp() + 1
            for e in t.events
            if e.kind == "status" and e.to == "resolved"
        ]
    else:
        assert sla is not None
        # "breached", not "will breach": a ticket whose active timer has breached goes to its own section
        breached = min(
            (
                (x.due, n, x.remaining, x.counting)
                for n, x in sla.timers.items()
                if x.active and x.state == "breached" and x.due is not None
            ),
            default=None,
        )
        running = min(
            (
                (x.due, n, x.remaining, x.counting)
                for n, x in sla.timers.items()
                if x.active and x.state == "running" and x.due is not None
            ),
            default=None,
        )
        later += [
            float(x.due - span) for x in sla.timers.values() if x.active and x.state == "running" and x.due is not None
        ]
        chosen = None
        if breached is not None:
            deadline, chosen = "breached", breached
        elif running is not None and running[0] <= at + span:
            deadline, chosen = "breaching", running
        if chosen is not None:
            due, name, left, counting = chosen
            # counting: the time left at a later instant is ``left + C(at) - C(later)`` (C: the calendar's
            # cumulative), until the next instant (``live_timer``'s rule)
            mark = left + calendar.cumulative(at) if counting and calendar is not None else None
            key, entry = (due, t.id), (t, name, due, left, at, mark, calendar)
        if t.status == "pending":
            since = next((e.at for e in reversed(t.events) if e.kind == "status" and e.to == "pending"), t.created_at)
            if (now - since).total_seconds() / 3600 >= pending_hours:
                pending_since = since
            later.append((since + timedelta(hours=pending_hours)).timestamp())
    major = t.major_id if t.status not in STOPPED else None
    u = now.timestamp() - 1
    until = min(next_instant(t, sla, (), now), min((x for x in later if x > u), default=float("inf")) - 1)
    return _Place(deadline, key, entry, pending_since, resolved, major, until)


class _Sorted:
    """Values kept in the order of their keys (unique): a bisection to put or take one. Kept in chunks of at most
    ``CHUNK`` entries, so that ``snapshot`` (what the screen shows while the next change is placed) copies the list of
    chunks, not every entry: a chunk is copied when it is first changed after a snapshot (copy on write). Copying
    37,000 entries (each a reference counted, an object touched) and freeing the previous copy cost the app ~8 ms a
    change at 100,000 tickets."""

    CHUNK = 512

    def __init__(self) -> None:
        self._keys: list[list[Any]] = []  # the chunks of keys, in order; none empty
        self._values: list[list[Any]] = []  # the chunks of values, beside them
        self._last: list[Any] = []  # each chunk's last key (the bisection across chunks)
        self._owned: list[bool] = []  # the chunk is this one's alone (no snapshot holds it): changed in place
        self._len = 0

    def __len__(self) -> int:
        return self._len

    @property
    def keys(self) -> list[Any]:
        return [k for chunk in self._keys for k in chunk]

    @property
    def values(self) -> list[Any]:
        return [v for chunk in self._values for v in chunk]

    def _own(self, c: int) -> None:
        if not self._owned[c]:
            self._keys[c], self._values[c] = self._keys[c][:], self._values[c][:]
            self._owned[c] = True

    def add(self, key: Any, value: Any) -> None:
        if not self._keys:
            self._keys, self._values, self._last, self._owned = [[key]], [[value]], [key], [True]
            self._len = 1
            return
        c = min(bisect_left(self._last, key), len(self._keys) - 1)
        self._own(c)
        keys, values = self._keys[c], self._values[c]
        i = bisect_left(keys, key)
        keys.insert(i, key)
        values.insert(i, value)
        self._len += 1
        if len(keys) > 2 * self.CHUNK:  # split in two halves, both this one's
            half = len(keys) // 2
            self._keys[c : c + 1] = [keys[:half], keys[half:]]
            self._values[c : c + 1] = [values[:half], values[half:]]
            self._last[c : c + 1] = [keys[half - 1], keys[-1]]
            self._owned[c : c + 1] = [True, True]
        else:
            self._last[c] = keys[-1]

    def remove(self, key: Any) -> None:
        c = bisect_left(self._last, key)
        if c == len(self._keys):
            return
        i = bisect_left(self._keys[c], key)
        if i == len(self._keys[c]) or self._keys[c][i] != key:
            return
        self._own(c)
        keys, values = self._keys[c], self._values[c]
        del keys[i], values[i]
        self._len -= 1
        if keys:
            self._last[c] = keys[-1]
        else:
            del self._keys[c], self._values[c], self._last[c], self._owned[c]

    def snapshot(self) -> tuple[_Chunks, _Chunks]:
        """The keys and the values as they are now, unchanged by what is added or removed later."""
        self._owned = [False] * len(self._keys)
        return _Chunks(list(self._keys)), _Chunks(list(self._values))


class _Chunks(Sequence[Any]):
    """A sequence over chunks (lists) that are never changed: ``_Sorted.snapshot``."""

    def __init__(self, chunks: list[list[Any]]) -> None:
        self._chunks = chunks
        self._starts: list[int] = []  # each chunk's first index
        n = 0
        for chunk in chunks:
            self._starts.append(n)
            n += len(chunk)
        self._len = n

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._len))]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        c = bisect_right(self._starts, i) - 1
        return self._chunks[c][i - self._starts[c]]

    def __iter__(self) -> Any:
        return (x for chunk in self._chunks for x in chunk)


class _Zipped(Sequence[Any]):
    """``list(zip(keys, values))`` made when read: no pair made per entry (a handover per change copied 10,000 pairs
    of a section, each a tuple that lived until the next change: the garbage collector's passes that these fed
    cost the app more than the handover's own work)."""

    def __init__(self, keys: Sequence[Any], values: Sequence[Any]) -> None:
        self._keys, self._values = keys, values

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return list(zip(self._keys[i], self._values[i], strict=True))
        return (self._keys[i], self._values[i])

    def __iter__(self) -> Any:
        return zip(self._keys, self._values, strict=True)


class _AsOf(Sequence[Any]):
    """A section's items as of the handover's instant, each computed when read (its time left, its wait): the
    section holds a copy of the kept entries, so that showing a few lines costs a few lines."""

    def __init__(self, items: Sequence[Any], make: Callable[[Any], Any]) -> None:
        self._items, self._make = items, make

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._make(x) for x in self._items[i]]
        return self._make(self._items[i])

    def __iter__(self) -> Any:
        return map(self._make, self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


class HandoverBook:
    """The handover's sections kept ticket by ticket: ``put`` places a ticket as of an instant (``_place``, the
    rules of ``handover``) in place of where it stood, at the cost of that ticket; ``handover`` reads the sections
    as of a later instant, each line's time left or wait derived from its placing (a counting timer has used
    ``C(now) - C(placed)`` more). A place holds until the instant ``put`` returns (``next_instant`` and the
    handover's own: a deadline entering the horizon, a wait becoming long, a resolution leaving the shift): the
    caller places the ticket again when one passes or when the ticket changes (``tests/tui/
    test_dashboard_incremental.py`` compares the sections with ``handover`` after random changes and clock
    moves)."""

    def __init__(self, hours: float, pending_hours: float = 24) -> None:
        self.hours, self.pending_hours = hours, pending_hours
        self.tickets: dict[int, TicketRecord] = {}
        self._places: dict[int, _Place] = {}
        self._deadlines = {"breaching": _Sorted(), "breached": _Sorted()}
        self._pending = _Sorted()  # (since, id): the longest wait first
        self._resolved = _Sorted()  # id
        self._linked: dict[int, set[int]] = {}  # major incident → its open linked tickets

    def put(self, t: TicketRecord, sla: TicketSla | None, calendar: BusinessCalendar | None, now: datetime) -> float:
        """Place ``t`` as of ``now`` (``sla``: its evaluation as of now, None when stopped; ``calendar``: its
        policy's, to derive its time left later); the instant (epoch) until which the place holds."""
        self.remove(t.id)
        p = _place(t, sla, calendar, now, self.hours, self.pending_hours)
        self.tickets[t.id] = t
        self._places[t.id] = p
        if p.deadline is not None:
            self._deadlines[p.deadline].add(p.key, p.entry)
        if p.pending_since is not None:
            self._pending.add((p.pending_since, t.id), t)
        if p.resolved:
            self._resolved.add(t.id, t)
        if p.major is not None:
            self._linked.setdefault(p.major, set()).add(t.id)
        return p.until

    def remove(self, tid: int) -> None:
        """The ticket is in no section any more (deleted; or about to be placed again)."""
        self.tickets.pop(tid, None)
        p = self._places.pop(tid, None)
        if p is None:
            return
        if p.deadline is not None:
            self._deadlines[p.deadline].remove(p.key)
        if p.pending_since is not None:
            self._pending.remove((p.pending_since, tid))
        if p.resolved:
            self._resolved.remove(tid)
        if p.major is not None:
            linked = self._linked[p.major]
            linked.discard(tid)
            if not linked:
                del self._linked[p.major]

    def handover(self, now: datetime, escalations: Sequence[Escalation]) -> Handover:
        """The sections as of ``now`` (no earlier than any placing, and before any place's instant)."""
        at = epoch(now)
        counted: dict[int, int] = {}

        def left(
            e: tuple[TicketRecord, str, int, int, int, int | None, BusinessCalendar | None],
        ) -> tuple[TicketRecord, str, int, int]:
            t, name, due, remaining, placed, mark, calendar = e
            if mark is not None and at != placed:
                assert calendar is not None
                c = counted.get(id(calendar))
                if c is None:
                    c = counted[id(calendar)] = calendar.cumulative(at)
                remaining = mark - c
            return (t, name, due, remaining)

        def waited(item: tuple[tuple[datetime, int], TicketRecord]) -> tuple[TicketRecord, float]:
            (since, _), t = item
            return (t, (now - since).total_seconds() / 3600)

        tickets = self.tickets
        h = Handover(now=now, hours=self.hours)
        # snapshots: the book changes with the next change while these are shown
        h.breaching = _AsOf(self._deadlines["breaching"].snapshot()[1], left)
        h.breached = _AsOf(self._deadlines["breached"].snapshot()[1], left)  # breached longest ago first
        h.long_pending = _AsOf(_Zipped(*self._pending.snapshot()), waited)
        h.resolved = self._resolved.snapshot()[1]
        h.unacknowledged = [e for e in escalations if e.acknowledged_at is None and e.closed_at is None]
        h.majors = [
            (tickets[mid], [tickets[i] for i in sorted(ids)])
            for mid, ids in sorted(self._linked.items())
            if mid in tickets
        ]
        return h


def timer_due(timer: str, due: int, remaining: int, now: int, tz: ZoneInfo | str) -> str:
    """``first response 30m left · due 09:30``, ``resolution 5h01 over · breached Fri 17:00``: a handover line's
    deadline, by the rule of ``fmt.left_and_due`` (business time, then the wall clock)."""
    from .fmt import left_and_due

    return f"{timer.replace('_', ' ')} {left_and_due(remaining, due, now, tz, long=True)}"


def handover_markdown(h: Handover, tz: ZoneInfo | str) -> str:
    from .fmt import local, md_text

    def name(t: TicketRecord) -> str:
        return f"#{t.id}{' ' + md_text(t.ref) if t.ref else ''} {md_text(t.subject, 60)} ({md_text(t.customer, 30)})"

    now_s = epoch(h.now)
    out = [f"# Shift handover — {local(h.now, tz)}", ""]
    out += [f"## Will breach within {h.hours:g} h ({len(h.breaching)})", ""]
    out += [
        f"- {name(t)}: {timer_due(timer, due, left, now_s, tz)}, {t.priority}, {md_text(t.assignee) or 'unassigned'}"
        for t, timer, due, left in h.breaching
    ] or ["- none"]
    out += ["", f"## Breached, still open ({len(h.breached)})", ""]
    out += [
        f"- {name(t)}: {timer_due(timer, due, left, now_s, tz)}, {t.priority}, {md_text(t.assignee) or 'unassigned'}"
        for t, timer, due, left in h.breached
    ] or ["- none"]
    out += ["", f"## Unacknowledged escalations ({len(h.unacknowledged)})", ""]
    out += [
        f"- escalation {e.id} of #{e.ticket_id} to {md_text(e.target)} ({e.level}), raised {local(e.created_at, tz)} by"
        f" {md_text(e.created_by)}: {md_text(e.reason, 80)}"
        for e in h.unacknowledged
    ] or ["- none"]
    out += ["", f"## Major incidents ({len(h.majors)})", ""]
    for major, linked in h.majors:
        out.append(
            f"- {name(major)} [{major.status}] with {len(linked)} linked: " + ", ".join(f"#{t.id}" for t in linked)
        )
    if not h.majors:
        out.append("- none")
    out += ["", f"## Pending the customer for long ({len(h.long_pending)})", ""]
    out += [f"- {name(t)}: waiting {hours:.0f} h" for t, hours in h.long_pending] or ["- none"]
    out += ["", f"## Resolved during the shift ({len(h.resolved)})", ""]
    out += [f"- {name(t)}: {md_text(t.resolution_code) or 'resolved'}" for t in h.resolved] or ["- none"]
    return "\n".join(out) + "\n"


# -- KPIs kept from one change to the next (the dashboard) ----------------------------------------------


_PAIR = struct.Struct("<qq")  # (business, wall) seconds
_BREACH = struct.Struct("<Bq")  # (the timer's index in TIMERS, instant)
_ACK = struct.Struct("<d")
_TIMER_INDEX = {name: i for i, name in enumerate(TIMERS)}


def _varint(out: bytearray, n: int) -> None:
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, pos
        shift += 7


class Rows:
    """A ticket's contributions to a ledger's periods as bytes (``pack``, ``unpack``: the same contributions back):
    at a million tickets a tuple of 33 contributions a ticket was most of what the dashboard held. Each period
    takes a byte when nothing counts (most of a ticket's days), else a byte saying what follows: the index of its
    "base" (the contribution without its durations, breaches and acknowledgements: flags and counts, of which a
    desk has a few hundred kinds, kept once here), the durations, the breaches and the acknowledgements."""

    def __init__(self) -> None:
        self._bases: list[Contribution] = [NOTHING]
        self._index: dict[Contribution, int] = {NOTHING: 0}

    def pack(self, row: Iterable[Contribution], head: int = 0, note: bytes = b"") -> bytes:
        """``row`` as bytes, after ``head`` (a number the caller keeps with it: ``unpack`` gives it back) and ``note``
        (bytes the caller keeps with it: ``note`` gives them back)."""
        out = bytearray()
        _varint(out, head)
        _varint(out, len(note))
        out += note
        for c in row:
            if c is NOTHING:
                out.append(0)
                continue
            if c.first_response is None and c.resolution is None and not c.breaches and not c.acks:
                base = c  # (its own base: most of them)
            else:
                base = Contribution(
                    c.opened, c.escalated, c.backlog, c.resolved, c.first_contact, c.reopened, c.csat, c.nps, c.ces,
                    c.met, c.breached,
                )  # fmt: skip
            i = self._index.get(base)
            if i is None:
                i = self._index[base] = len(self._bases)
                self._bases.append(base)
            head = (
                (c.first_response is not None)
                | (c.resolution is not None) << 1
                | bool(c.breaches) << 2
                | bool(c.acks) << 3
                | bool(i) << 4
            )
            out.append(head)
            if i:
                _varint(out, i)
            if c.first_response is not None:
                out += _PAIR.pack(*c.first_response)
            if c.resolution is not None:
                out += _PAIR.pack(*c.resolution)
            if c.breaches:
                _varint(out, len(c.breaches))
                for name, at in c.breaches:
                    out += _BREACH.pack(_TIMER_INDEX[name], at)
            if c.acks:
                _varint(out, len(c.acks))
                for a in c.acks:
                    out += _ACK.pack(a)
        return bytes(out)

    def unpack(self, data: bytes) -> tuple[int, list[Contribution]]:
        """The ``head`` and the row ``pack`` was given."""
        out: list[Contribution] = []
        bases = self._bases
        first, pos = _read_varint(data, 0)
        size, pos = _read_varint(data, pos)
        pos += size
        n = len(data)
        while pos < n:
            head = data[pos]
            pos += 1
            if not head:
                out.append(NOTHING)
                continue
            base = NOTHING
            if head & 16:
                i, pos = _read_varint(data, pos)
                base = bases[i]
            if not head & 15:
                out.append(base)  # (one object for each kind: ``Fold.add`` and ``Ledger.put`` compare them)
                continue
            first_response = resolution = None
            breaches: tuple[tuple[str, int], ...] = ()
            acks: tuple[float, ...] = ()
            if head & 1:
                first_response = _PAIR.unpack_from(data, pos)
                pos += 16
            if head & 2:
                resolution = _PAIR.unpack_from(data, pos)
                pos += 16
            if head & 4:
                k, pos = _read_varint(data, pos)
                got = []
                for _ in range(k):
                    t, at = _BREACH.unpack_from(data, pos)
                    pos += 9
                    got.append((TIMERS[t], at))
                breaches = tuple(got)
            if head & 8:
                k, pos = _read_varint(data, pos)
                acks = struct.unpack_from(f"<{k}d", data, pos)
                pos += 8 * k
            out.append(
                Contribution(
                    base.opened,
                    base.escalated,
                    base.backlog,
                    base.resolved,
                    base.first_contact,
                    base.reopened,
                    base.csat,
                    base.nps,
                    base.ces,
                    base.met,
                    base.breached,
                    breaches,
                    first_response,
                    resolution,
                    acks,
                )  # fmt: skip
            )
        return first, out

    @staticmethod
    def note(data: bytes) -> bytes:
        """The ``note`` ``pack`` was given."""
        _, pos = _read_varint(data, 0)
        size, pos = _read_varint(data, pos)
        return data[pos : pos + size]


class Ledger:
    """The folds of a list of periods, for all customers and for each, fed ticket by ticket: ``put`` replaces
    a ticket's contributions (one per period) by its new ones, at the cost of those contributions. The caller
    says when a contribution may have changed (the ticket changed, or the end of a period moved past one of the
    ticket's instants: ``next_instant``); ``tests/unit/test_kpi_ledger.py`` compares it with ``compute``. Each
    ticket's contributions are kept as bytes (``Rows``), its customer's number first (``contributions`` gives
    them back), and its ref when the breaches are listed (their lines name it)."""

    def __init__(self, periods: Sequence[tuple[datetime, datetime]], listed: bool = True) -> None:
        self.periods = list(periods)
        self.listed = listed  # False: the breaches counted only (``Fold``), the KPIs given with ``lines=False``
        self.totals = [Fold(listed) for _ in self.periods]
        self.groups: list[dict[str, Fold]] = [{} for _ in self.periods]
        self.kept: dict[int, bytes] = {}  # ticket → its row (``Rows``), its customer's number first
        self._refs: dict[int, str | None] = {}  # ticket → its ref, when the breaches are listed
        self._customers: list[str | None] = [None]  # the customers' numbers (0: none)
        self._numbers: dict[str | None, int] = {None: 0}
        self._rows = Rows()
        self._unpacked: tuple[bytes, int, list[Contribution]] | None = None  # the row ``contributions`` last gave

    def contributions(self, key: int) -> list[Contribution] | None:
        """The contributions of ticket ``key`` to each period (None: nothing counted in any). Those given back to
        ``put`` next (the past days kept by the dashboard) are the very objects ``put`` compares them with: left
        alone at the cost of ``is``."""
        kept = self.kept.get(key)
        if kept is None:
            return None
        number, got = self._rows.unpack(kept)
        self._unpacked = (kept, number, got)
        return list(got)

    def note(self, key: int) -> bytes | None:
        """The ``note`` put with ticket ``key`` (None: nothing of it counts)."""
        kept = self.kept.get(key)
        return self._rows.note(kept) if kept is not None else None

    def _number(self, customer: str | None) -> int:
        number = self._numbers.get(customer)
        if number is None:
            number = self._numbers[customer] = len(self._customers)
            self._customers.append(customer)
        return number

    def put(self, key: int, t: TicketRecord | None, contributions: Sequence[Contribution], note: bytes = b"") -> None:
        """The ticket ``key`` (``t``: its record, None for escalations whose ticket is not kept, which count only
        for all customers, as in ``compute``) now contributes ``contributions`` (one per period, in order).
        ``note``: bytes kept with them (the dashboard's ``Digest``), given back by ``note`` while something of the
        ticket counts."""
        old = self.kept.pop(key, None)
        customer = t.customer if t is not None else None
        number = self._number(customer)
        customer = self._customers[number]  # (one string for each customer)
        ref = t.ref if t is not None else None
        old_ref = self._refs.pop(key, None)
        info = (ref, customer or "")
        # a period whose contribution is the same as before, under the same customer and ref, is left alone: taking
        # it away and adding it again would leave its folds as they are, and cost their KPIs (``Fold.kpis``) again
        unpacked, self._unpacked = self._unpacked, None
        if old is not None and unpacked is not None and unpacked[0] is old:
            _, was, before = unpacked  # (the same objects the caller was given)
        else:
            was, before = self._rows.unpack(old) if old is not None else (0, [])
        same = old is not None and was == number and (old_ref == ref or not self.listed)
        if old is not None:
            for i, c in enumerate(before):
                if c is not NOTHING and not (same and (c is contributions[i] or c == contributions[i])):
                    self.totals[i].remove(key, c)
                    if was:
                        self.groups[i][self._customers[was]].remove(key, c)  # type: ignore[index]
        for i, c in enumerate(contributions):
            if c is NOTHING or (same and (c is before[i] or c == before[i])):
                continue
            self.totals[i].add(key, c, info)
            if customer is not None:
                fold = self.groups[i].get(customer)
                if fold is None:
                    fold = self.groups[i][customer] = Fold(self.listed)
                fold.add(key, c, info)
        if any(c is not NOTHING for c in contributions):
            self.kept[key] = self._rows.pack(contributions, number, note)
            if self.listed:
                self._refs[key] = ref

    def move(self, periods: Sequence[tuple[datetime, datetime]], keep: Sequence[int | None]) -> None:
        """The periods become ``periods``: the new period ``j`` is the old period ``keep[j]`` with its folds and each
        ticket's contribution to it (the caller knows they hold: the same start, contributions as of the end given),
        or, ``keep[j]`` None, a period with nothing in it yet (``put`` fills it). The old periods not kept go."""
        self.periods = list(periods)
        self.totals = [self.totals[k] if k is not None else Fold(self.listed) for k in keep]
        self.groups = [self.groups[k] if k is not None else {} for k in keep]
        kept = {}
        rows = self._rows
        for key, row in self.kept.items():
            number, contributions = rows.unpack(row)
            moved = [contributions[k] if k is not None else NOTHING for k in keep]
            if any(c is not NOTHING for c in moved):
                kept[key] = rows.pack(moved, number, rows.note(row))
            else:
                self._refs.pop(key, None)
        self.kept = kept

    def kpis(self, i: int, customer: str | None = None, tz: tzinfo | None = None, lines: bool = True) -> Kpis:
        """The KPIs of period ``i``, of all customers or of one (``lines``: ``Fold.kpis``)."""
        since, until = self.periods[i]
        fold = self.totals[i] if customer is None else self.groups[i].get(customer)
        return (fold or Fold(self.listed)).kpis(since, until, tz, lines)

    def customers(self, i: int) -> list[str]:
        """The customers with something in period ``i`` (``compute_by``'s groups whose KPIs are not empty)."""
        return sorted(name for name, fold in self.groups[i].items() if fold.size)


def next_instant(
    t: TicketRecord | None, sla: TicketSla | None, escalations: Sequence[Escalation], until: datetime
) -> float:
    """The first instant (epoch seconds) after ``until`` at which a contribution of ``t`` to a period ending then
    (its since fixed) may differ from its contribution as of ``until``: its creation, an event, an escalation
    raised, a running timer's deadline. A second early (the SLA counts in whole seconds, the periods in
    microseconds), so that it is never late; ``inf`` when nothing is to come."""
    u = _timestamp(until) - 1
    instants = [e.created_at.timestamp() for e in escalations]
    if t is not None:
        instants.append(t.created_at.timestamp())
        instants += [e.at.timestamp() for e in t.events]
    if sla is not None:
        for timer in sla.timers.values():
            if timer.stopped_at is None and timer.breached_at is None and timer.due is not None:
                instants.append(float(timer.due))
    return min((x for x in instants if x > u), default=float("inf")) - 1


class Instants:
    """Each key's next instant (epoch seconds: ``next_instant``, or the handover's ``HandoverBook.put``) in a
    heap: ``passed`` takes out the keys whose instant has come, so that only those are evaluated again."""

    def __init__(self) -> None:
        self._next: dict[int, float] = {}
        self._heap: list[tuple[float, int]] = []

    def put(self, key: int, at: float) -> None:
        """``key``'s next instant is ``at`` (``inf``: none to come)."""
        if at == float("inf"):
            self._next.pop(key, None)
        else:
            self._next[key] = at
            heapq.heappush(self._heap, (at, key))

    def first(self) -> float:
        """The earliest instant kept (``inf``: none)."""
        heap, kept = self._heap, self._next
        while heap and kept.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)  # (an instant replaced or taken out since)
        return heap[0][0] if heap else float("inf")

    def passed(self, moment: float) -> set[int]:
        """The keys whose instant is ``moment`` or earlier, taken out (each is set again when evaluated)."""
        heap, out = self._heap, set[int]()
        while heap and heap[0][0] <= moment:
            at, key = heapq.heappop(heap)
            if self._next.get(key) == at:
                del self._next[key]
                out.add(key)
        return out
