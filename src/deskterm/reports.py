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

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .domain.calendar import epoch
from .domain.history import first_contact, reopens, status_at, survey_scores
from .domain.sla import TIMERS, TicketSla
from .domain.workflow import STOPPED
from .records import TicketRecord

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
    breaches: list[dict[str, Any]] = field(default_factory=list)  # {"ticket", "ref", "customer", "timer", "at"}
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

    @property
    def overall_compliance(self) -> float | None:
        met = sum(c.met for c in self.compliance.values())
        total = met + sum(c.breached for c in self.compliance.values())
        return met / total if total else None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
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


def compute(
    tickets: Iterable[TicketRecord],
    sla_of: SlaOf,
    since: datetime,
    until: datetime,
    escalations: Sequence[Escalation] = (),
    tz: tzinfo | None = None,
) -> Kpis:
    """The KPIs of ``tickets`` for [since, until). ``sla_of`` evaluates a ticket as of ``until``."""

    tz = tz or UTC
    k = Kpis(since=since.astimezone(tz), until=until.astimezone(tz))  # the period in the display zone
    s, u = epoch(since), epoch(until)
    fr_pairs: list[tuple[int, int]] = []
    res_pairs: list[tuple[int, int]] = []
    resolved: list[TicketRecord] = []
    opened_ids: set[int] = set()
    tickets = list(tickets)
    for t in tickets:
        if t.created_at >= until:
            continue
        if t.status in STOPPED and t.updated_at < since:
            continue  # closed and untouched since before the period: nothing of it counts (queries.load_tickets)
        if since <= t.created_at:
            k.opened += 1
            opened_ids.add(t.id)
            if t.classification == "defect":
                k.defects += 1
            elif t.classification == "change_request":
                k.change_requests += 1
            else:
                k.unclassified += 1
        if status_at(t.events, until) not in STOPPED:
            k.backlog += 1
        if _resolved_at(t, since, until) is not None:
            resolved.append(t)
        sla = sla_of(t)
        for name, timer in sla.timers.items():
            # every cycle of next_update and customer_reply counts, the finished ones (``cycles``) and the current one
            for run in (*timer.cycles, timer):
                if run.breached_at is not None and s <= run.breached_at < u:
                    k.compliance[name].breached += 1
                    k.breaches.append(
                        {
                            "ticket": t.id,
                            "ref": t.ref,
                            "customer": t.customer,
                            "timer": name,
                            "at": datetime.fromtimestamp(run.breached_at, tz).isoformat(),
                        }
                    )
                elif run.state == "met" and run.stopped_at is not None and s <= run.stopped_at < u:
                    k.compliance[name].met += 1
            if timer.stopped_at is not None and s <= timer.stopped_at < u:
                pair = (timer.consumed, timer.stopped_at - timer.started_at)
                if name == "first_response":
                    fr_pairs.append(pair)
                elif name == "resolution":
                    res_pairs.append(pair)
    k.resolved = len(resolved)
    k.first_response = Durations.of(fr_pairs)
    k.resolution = Durations.of(res_pairs)
    k.first_contact_rate = _ratio(sum(1 for t in resolved if _first_contact(t)), len(resolved))
    k.reopen_rate = _ratio(sum(1 for t in resolved if reopens(t.events, until)), len(resolved))
    escalated = {t.id for t in tickets if t.id in opened_ids and any(e.kind == "escalate" for e in t.events)}
    escalated |= {e.ticket_id for e in escalations if e.ticket_id in opened_ids}
    k.escalation_rate = _ratio(len(escalated), k.opened)
    acks = [
        (e.acknowledged_at - e.created_at).total_seconds()
        for e in escalations
        if e.acknowledged_at is not None and since <= e.created_at < until
    ]
    k.mean_ack_seconds = statistics.fmean(acks) if acks else None
    _surveys(k, resolved)
    return k


def _surveys(k: Kpis, resolved: Sequence[TicketRecord]) -> None:
    """CSAT, NPS and CES of the tickets resolved in the period: three measures, each with its response rate."""
    csat: list[int] = []
    nps: list[int] = []
    ces: list[int] = []
    for t in resolved:
        scores = survey_scores(t.events)
        if t.csat_score is not None:
            csat.append(t.csat_score)
        if "nps" in scores:
            nps.append(scores["nps"])
        if "ces" in scores:
            ces.append(scores["ces"])
    k.csat_responses = len(csat)
    k.csat_mean = statistics.fmean(csat) if csat else None
    k.csat_response_rate = _ratio(len(csat), len(resolved))
    k.csat_satisfied_rate = _ratio(sum(1 for x in csat if x >= 4), len(csat))
    k.nps_responses = len(nps)
    k.promoters = sum(1 for x in nps if x >= 9)
    k.passives = sum(1 for x in nps if 7 <= x <= 8)
    k.detractors = sum(1 for x in nps if x <= 6)
    k.nps = (k.promoters - k.detractors) / len(nps) * 100 if nps else None
    k.nps_response_rate = _ratio(len(nps), len(resolved))
    k.ces_responses = len(ces)
    k.ces_mean = statistics.fmean(ces) if ces else None
    k.ces_response_rate = _ratio(len(ces), len(resolved))


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


def compute_by(
    by: str,
    tickets: Sequence[TicketRecord],
    sla_of: SlaOf,
    since: datetime,
    until: datetime,
    policy_of: Callable[[str], str],
    escalations: Sequence[Escalation] = (),
    tz: tzinfo | None = None,
) -> dict[str, Kpis]:
    buckets: dict[str, list[TicketRecord]] = {}
    for t in tickets:
        buckets.setdefault(group_key(by, t, policy_of), []).append(t)
    out = {}
    for name, ts in sorted(buckets.items()):
        ids = {t.id for t in ts}  # once a group (it was built again for each escalation: tickets × escalations)
        out[name] = compute(ts, sla_of, since, until, [e for e in escalations if e.ticket_id in ids], tz)
    return out


# -- formats ------------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.1f}%"


def _dur(seconds: float | None) -> str:
    from .fmt import compact

    return "–" if seconds is None else compact(int(round(seconds)))


def kpis_markdown(k: Kpis, title: str, tz: ZoneInfo | None = None) -> str:
    """The KPIs as Markdown; the period in the display zone ``tz`` (the configuration's ``timezone``)."""
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
        for b in k.breaches:
            lines.append(
                f"- #{b['ticket']}{' ' + md_text(b['ref']) if b['ref'] else ''} ({md_text(b['customer'])}): {b['timer'].replace('_', ' ')} breached at {b['at']}"
            )
    return "\n".join(lines) + "\n"


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
    breaching: list[tuple[TicketRecord, str, int, int]] = field(default_factory=list)
    # ticket, timer, instant of the breach (epoch), business seconds left (negative): breached, still open
    breached: list[tuple[TicketRecord, str, int, int]] = field(default_factory=list)
    unacknowledged: list[Escalation] = field(default_factory=list)
    majors: list[tuple[TicketRecord, list[TicketRecord]]] = field(default_factory=list)
    long_pending: list[tuple[TicketRecord, float]] = field(default_factory=list)  # ticket, hours pending
    resolved: list[TicketRecord] = field(default_factory=list)


def handover(
    tickets: Sequence[TicketRecord],
    sla_of: SlaOf,
    escalations: Sequence[Escalation],
    now: datetime,
    hours: float = 8,
    pending_hours: float = 24,
) -> Handover:
    """What the next shift must know, as of ``now`` for the shift of the last ``hours``."""
    from datetime import timedelta

    h = Handover(now=now, hours=hours)
    horizon = epoch(now) + int(hours * 3600)
    start = now - timedelta(hours=hours)
    by_id = {t.id: t for t in tickets}
    linked: dict[int, list[TicketRecord]] = {}
    for t in tickets:
        if t.major_id is not None and t.status not in STOPPED:
            linked.setdefault(t.major_id, []).append(t)
    for t in tickets:
        if t.status in STOPPED:
            if _resolved_at(t, start, now + timedelta(seconds=1)) is not None:
                h.resolved.append(t)
            continue
        sla = sla_of(t)
        # "breached", not "will breach": a ticket whose active timer has breached goes to its own section
        breached = min(
            (
                (x.due, n, x.remaining)
                for n, x in sla.timers.items()
                if x.active and x.state == "breached" and x.due is not None
            ),
            default=None,
        )
        running = min(
            (
                (x.due, n, x.remaining)
                for n, x in sla.timers.items()
                if x.active and x.state == "running" and x.due is not None
            ),
            default=None,
        )
        if breached is not None:
            h.breached.append((t, breached[1], breached[0], breached[2]))
        elif running is not None and running[0] <= horizon:
            h.breaching.append((t, running[1], running[0], running[2]))
        if t.status == "pending":
            since = next((e.at for e in reversed(t.events) if e.kind == "status" and e.to == "pending"), t.created_at)
            waited = (now - since).total_seconds() / 3600
            if waited >= pending_hours:
                h.long_pending.append((t, waited))
    h.breaching.sort(key=lambda x: (x[2], x[0].id))
    h.breached.sort(key=lambda x: (x[2], x[0].id))  # breached longest ago first, as the queue orders them
    h.long_pending.sort(key=lambda x: -x[1])
    h.unacknowledged = [e for e in escalations if e.acknowledged_at is None and e.closed_at is None]
    h.majors = [(by_id[mid], sorted(ts, key=lambda t: t.id)) for mid, ts in sorted(linked.items()) if mid in by_id]
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
