"""The service manager's monthly reports: the customer's SLA report and the continuous-improvement report.

Each report is first built as one plain dictionary (what ``--format json`` prints); Markdown and HTML are
written from that dictionary only, so their figures are the JSON's. The KPI figures come from the KPI functions
of ``reports.py`` (the same as ``deskterm report`` and the dashboard), billing from ``billing.py``, each breach's
account from ``domain/explain.py`` (the ``w`` account's pieces). Customer text (names, subjects, comments,
problem texts) is escaped in HTML and Markdown (``html.escape`` after ``fmt.inert``; ``fmt.md_text``).
"""

from __future__ import annotations

import functools
import html
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from . import billing, reports
from .domain import billing as rules
from .domain.calendar import epoch, from_epoch
from .domain.explain import explain
from .domain.history import SURVEY_KINDS
from .domain.problems import Action
from .domain.sla import TIMER_LABELS, TIMERS
from .fmt import exact, inert, md_text, one_line
from .records import TicketRecord
from .store.models import Customer, ProblemAction, ProblemLink, ProblemRecord, Ticket, TimeEntry

if TYPE_CHECKING:
    from .progress import Progress
    from .service import Desk

TREND_MONTHS = 6


def _months_back(month: billing.Month, n: int, tz: ZoneInfo) -> list[billing.Month]:
    """The ``n`` months ending with ``month``, oldest first."""
    out = [month]
    while len(out) < n:
        first = (out[0].first - timedelta(days=1)).replace(day=1)
        out.insert(0, billing.parse_month(f"{first:%Y-%m}", tz, datetime.combine(month.last, datetime.min.time(), tz)))
    return out


class _Tally:
    """The progress of several computations told as one step: ``part(n)`` is the hook of the next, of ``n``
    tickets, counted on from the parts before it, of ``total`` in all."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def part(self, n: int) -> Progress | None:
        if self.progress is None:
            return None
        hook = reports.part_of(self.progress, reports.COMPUTING, self.done, self.total)
        self.done += n
        return hook


def _sla_at(desk: Desk, at: datetime, t: TicketRecord) -> Any:
    return desk.sla(t, at)


def _overlapping(tickets: Sequence[TicketRecord], since: datetime, until: datetime) -> list[TicketRecord]:
    """The tickets whose life overlaps [since, until), by the rule of ``queries.load_tickets(period=…)``: what the
    KPIs of that period need (a ticket closed and untouched before ``since`` cannot count in it)."""
    return [
        t for t in tickets if t.created_at < until and (t.status not in ("resolved", "closed") or t.updated_at >= since)
    ]


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 1)


def _problems(session: Session, ids: Sequence[int] | None, today: date, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Problems (tickets of type problem) with their record, linked incidents and actions; ``ids``: only those."""
    stmt = select(Ticket).where(col(Ticket.type) == "problem")
    if ids is not None:
        if not ids:
            return []
        stmt = stmt.where(col(Ticket.id).in_(list(ids)))
    problems = list(session.execute(stmt.order_by(col(Ticket.id))).scalars())
    pids = [p.id for p in problems]
    if not pids:
        return []
    records = {
        r.ticket_id: r
        for r in session.execute(select(ProblemRecord).where(col(ProblemRecord.ticket_id).in_(pids))).scalars()
    }
    links: dict[int, list[tuple[int, datetime]]] = {}
    for tid, pid, created in session.execute(
        select(col(ProblemLink.ticket_id), col(ProblemLink.problem_id), col(Ticket.created_at))
        .join(Ticket, col(Ticket.id) == col(ProblemLink.ticket_id))
        .where(col(ProblemLink.problem_id).in_(pids))
    ):
        links.setdefault(pid, []).append((tid, created))
    actions: dict[int, list[Action]] = {}
    for a in session.execute(
        select(ProblemAction).where(col(ProblemAction.problem_id).in_(pids)).order_by(col(ProblemAction.id))
    ).scalars():
        assert a.id is not None
        actions.setdefault(a.problem_id, []).append(
            Action(
                a.id,
                a.problem_id,
                a.title,
                a.owner,
                a.due,
                a.state,
                a.done_at.astimezone(tz).date() if a.done_at else None,
            )
        )
    out = []
    for p in problems:
        rec = records.get(p.id)
        out.append(
            {
                "ticket": p.id,
                "ref": p.ref,
                "subject": p.subject,
                "status": p.status,
                "created_at": p.created_at.astimezone(tz).isoformat(),
                "root_cause": rec.root_cause if rec else None,
                "known_error": bool(rec.known_error) if rec else False,
                "workaround": rec.workaround if rec else None,
                "incidents": sorted(t for t, _ in links.get(p.id, [])),
                "_incident_created": [c for _, c in links.get(p.id, [])],
                "actions": [
                    {
                        "id": a.id,
                        "title": a.title,
                        "owner": a.owner,
                        "due": a.due.isoformat(),
                        "state": a.state,
                        "done_on": a.done_on.isoformat() if a.done_on else None,
                        "overdue": a.overdue(today),
                        "late": a.late(),
                    }
                    for a in actions.get(p.id, [])
                ],
                "_updated_at": p.updated_at,
            }
        )
    return out


def _problem_ids_of(session: Session, customer: str) -> list[int]:
    """The problems that the customer's incidents are linked to."""
    return sorted(
        set(
            session.execute(
                select(col(ProblemLink.problem_id))
                .join(Ticket, col(Ticket.id) == col(ProblemLink.ticket_id))
                .where(col(Ticket.customer_id) == billing.customer_id(session, customer))
            ).scalars()
        )
    )


def _public(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in problem.items() if not k.startswith("_")}


# -- the customer's monthly SLA report ---------------------------------------------------------------------------


def customer_report(desk: Desk, customer: str, month_text: str, progress: Progress | None = None) -> dict[str, Any]:
    """``progress``: told the tickets read, their histories, then the tickets computed, every period together (the
    month, by priority, each month of the trend)."""
    tz = desk.config.tz
    now = desk.clock.now()
    month = billing.parse_month(month_text, tz, now)
    months = _months_back(month, TREND_MONTHS, tz)
    today = now.astimezone(tz).date()
    with desk.store.read() as session:
        billing.customer_id(session, customer)  # an unknown customer is bad input before anything is computed
        contracts = billing.queries.contracts(session, customer)
        bill = billing.month_bill(session, customer, month, tz)
        problems = _problems(session, _problem_ids_of(session, customer), today, tz)
    until = min(month.until, now)
    tickets = desk.tickets_for_period(months[0].since, until, customer=customer, progress=progress)
    evaluated: dict[int, Any] = {}

    def sla_of(t: TicketRecord):
        if t.id not in evaluated:
            evaluated[t.id] = desk.sla(t, until)
        return evaluated[t.id]

    escalations = desk.escalations(open_only=False)
    policy = desk.config.policy_for(customer)
    in_month = _overlapping(tickets, month.since, until)
    periods = [_overlapping(tickets, m.since, min(m.until, now)) for m in months]
    tally = _Tally(progress, 2 * len(in_month) + sum(map(len, periods)))
    kpis = reports.compute(in_month, sla_of, month.since, until, escalations, tz, tally.part(len(in_month)))
    by_priority = reports.compute_by(
        "priority",
        in_month,
        sla_of,
        month.since,
        until,
        lambda c: policy.name,
        escalations,
        tz,
        tally.part(len(in_month)),
    )
    in_force = [c for c in contracts if c.start <= month.last and (c.end is None or c.renews or c.end >= month.first)]
    compliance = []
    for prio in sorted(by_priority):
        k = by_priority[prio]
        targets = policy.targets.get(prio)
        for timer in TIMERS:
            c = k.compliance[timer]
            if c.met + c.breached == 0:
                continue
            target = targets.get(timer) if targets else None
            days = dict(targets.days).get(timer) if targets else None
            compliance.append(
                {
                    "priority": prio,
                    "timer": timer,
                    "target": f"{days} business days" if days else (exact(target) if target else None),
                    "met": c.met,
                    "breached": c.breached,
                    "rate": _pct(c.rate),
                }
            )
    breaches = []
    by_id = {t.id: t for t in tickets}
    for b in kpis.breaches:
        t = by_id.get(b["ticket"])
        if t is None:
            continue
        sla = sla_of(t)
        timer = sla.timers.get(b["timer"])
        if timer is not None and b["timer"] == "next_update" and timer.breached_at is None:
            timer = next((c for c in timer.cycles if c.breached_at is not None), timer)
        why = ""
        if timer is not None:
            ex = explain(timer, policy, epoch(until))
            cal = policy.calendar
            paused = sum(b2 - a2 for a2, b2 in ex.pauses)
            why = (
                f"target {exact(ex.target)} under {timer.priority or t.priority}, counted on calendar {cal.name} "
                f"({'24x7' if cal.always else cal.timezone}) from {from_epoch(timer.started_at, tz):%Y-%m-%d %H:%M}"
                + (f", {len(ex.pauses)} pause(s) of {exact(paused)} not counted" if ex.pauses else "")
                + (f"; due {from_epoch(timer.breached_at, tz):%Y-%m-%d %H:%M}" if timer.breached_at else "")
            )
        at = b["at"]
        breaches.append(
            {
                "ticket": t.id,
                "ref": t.ref,
                "subject": t.subject,
                "priority": (timer.priority if timer else None) or t.priority,
                "timer": b["timer"],
                "breached_at": at.astimezone(tz).isoformat() if isinstance(at, datetime) else at,
                "why": why,
            }
        )
    trend = []
    for m, overlapping in zip(months, periods, strict=True):
        end = min(m.until, now)
        mk = reports.compute(
            overlapping,
            sla_of if m is month else functools.partial(_sla_at, desk, end),
            m.since,
            end,
            escalations,
            tz,
            tally.part(len(overlapping)),
        )
        trend.append(
            {
                "month": m.text,
                "opened": mk.opened,
                "resolved": mk.resolved,
                "compliance": _pct(mk.overall_compliance),
            }
        )
    opened = [t for t in tickets if month.since <= t.created_at < month.until]
    reasons = Counter(t.category or reports.NO_CATEGORY for t in opened)
    comments = []
    for t in tickets:
        for e in t.events:
            if e.kind in SURVEY_KINDS and e.body and month.since <= e.at < month.until:
                comments.append({"ticket": t.id, "measure": e.kind, "score": e.to, "comment": e.body})
    changes = [
        {
            "ticket": line.item.ticket_id,
            "ref": line.item.ref,
            "subject": line.item.subject,
            "state": line.item.approval or "not proposed",
            "hours": round(line.item.seconds / 3600, 2),
            "amount": line.amount_cents / 100,
            "contract": b.contract.name,
        }
        for b in bill.bills
        for line in b.changes
    ]
    return {
        "customer": customer,
        "month": month.text,
        "generated_at": now.astimezone(tz).isoformat(),
        "policy": policy.name,
        "contracts": [
            {
                "name": c.name,
                "start": c.start.isoformat(),
                "end": c.end.isoformat() if c.end else None,
                "renews": c.renews,
                "policy": c.policy,
                "included_hours": c.included_seconds / 3600,
                "rate": c.rate_cents / 100,
                "scope": c.scope,
            }
            for c in in_force
        ],
        "volumes": {"opened": kpis.opened, "resolved": kpis.resolved, "backlog": kpis.backlog},
        "overall_compliance": _pct(kpis.overall_compliance),
        "compliance": compliance,
        "breaches": breaches,
        "trend": trend,
        "top_reasons": [{"reason": r, "tickets": n} for r, n in reasons.most_common(5)],
        "change_requests": changes,
        "billed_amount": bill.amount_cents / 100,
        "surveys": {
            "csat_mean": None if kpis.csat_mean is None else round(kpis.csat_mean, 2),
            "csat_responses": kpis.csat_responses,
            "nps": None if kpis.nps is None else round(kpis.nps, 1),
            "nps_responses": kpis.nps_responses,
            "ces_mean": None if kpis.ces_mean is None else round(kpis.ces_mean, 2),
            "ces_responses": kpis.ces_responses,
            "comments": comments,
        },
        "problems": [_public(p) for p in problems],
    }


# -- the continuous-improvement report ---------------------------------------------------------------------------


def improvement_report(desk: Desk, month_text: str, progress: Progress | None = None) -> dict[str, Any]:
    """``progress``: told the tickets read, their histories, then the tickets computed, every month together."""
    tz = desk.config.tz
    now = desk.clock.now()
    month = billing.parse_month(month_text, tz, now)
    previous = _months_back(month, 2, tz)[0]
    months = _months_back(month, TREND_MONTHS, tz)
    today = now.astimezone(tz).date()
    with desk.store.read() as session:
        problems = _problems(session, None, today, tz)
        closed_at = dict(
            session.execute(
                select(col(Ticket.id), col(Ticket.updated_at)).where(
                    col(Ticket.type) == "problem", col(Ticket.status).in_(["resolved", "closed"])
                )
            ).all()
        )
    until = min(month.until, now)
    tickets = desk.tickets_for_period(months[0].since, until, progress=progress)
    escalations = desk.escalations(open_only=False)

    cache: dict[str, reports.Kpis] = {}
    # (each month's tickets counted first, for the progress's total; the lists themselves made one at a time)
    ends = {m.text: (m.since, min(m.until, now)) for m in (*months, previous)}
    tally = _Tally(progress, sum(len(_overlapping(tickets, *ends[m])) for m in ends) if progress else 0)

    def kpis_of(m: billing.Month) -> reports.Kpis:
        if m.text not in cache:
            end = min(m.until, now)
            overlapping = _overlapping(tickets, m.since, end)
            cache[m.text] = reports.compute(
                overlapping,
                functools.partial(_sla_at, desk, end),
                m.since,
                end,
                escalations,
                tz,
                tally.part(len(overlapping)),
            )
        return cache[m.text]

    this, before = kpis_of(month), kpis_of(previous)

    def reasons(m: billing.Month) -> Counter[str]:
        return Counter(t.category or reports.NO_CATEGORY for t in tickets if m.since <= t.created_at < m.until)

    now_reasons, before_reasons = reasons(month), reasons(previous)

    def in_month(d: datetime | str | None) -> bool:
        if d is None:
            return False
        when = datetime.fromisoformat(d) if isinstance(d, str) else d
        return month.since <= when < month.until

    opened = [p for p in problems if in_month(p["created_at"])]
    closed = [p for p in problems if p["status"] in ("resolved", "closed") and in_month(closed_at.get(p["ticket"]))]
    actions = [dict(a, problem=p["ticket"]) for p in problems for a in p["actions"]]
    done = [
        a
        for a in actions
        if a["state"] == "done" and a["done_on"] and month.first.isoformat() <= a["done_on"] <= month.last.isoformat()
    ]
    late = [a for a in actions if a["overdue"] or (a in done and a["late"])]
    most = sorted(
        ((sum(1 for c in p["_incident_created"] if month.since <= c < month.until), p) for p in problems),
        key=lambda x: (-x[0], x[1]["ticket"]),
    )
    return {
        "month": month.text,
        "generated_at": now.astimezone(tz).isoformat(),
        "recurring_reasons": [
            {"reason": r, "tickets": n, "previous_month": before_reasons.get(r, 0)}
            for r, n in now_reasons.most_common(8)
        ],
        "problems_opened": [_public(p) for p in opened],
        "problems_closed": [_public(p) for p in closed],
        "problems_most_incidents": [
            {"ticket": p["ticket"], "subject": p["subject"], "incidents_this_month": n} for n, p in most[:5] if n
        ],
        "actions_done": done,
        "actions_late": late,
        "sla_trend": [{"month": m.text, "compliance": _pct(kpis_of(m).overall_compliance)} for m in months],
        "changes_since_last_month": {
            "opened": [before.opened, this.opened],
            "resolved": [before.resolved, this.resolved],
            "compliance": [_pct(before.overall_compliance), _pct(this.overall_compliance)],
            "csat_mean": [
                None if before.csat_mean is None else round(before.csat_mean, 2),
                None if this.csat_mean is None else round(this.csat_mean, 2),
            ],
        },
    }


# -- Markdown ---------------------------------------------------------------------------------------------------


def _n(x: object) -> str:
    return "—" if x is None else f"{x}"


def _mean(x: float | None) -> str:
    """A CSAT or CES mean as `report` and the dashboard write it (two decimals)."""
    return "—" if x is None else f"{x:.2f}"


def _nps(x: float | None) -> str:
    """The NPS as `report` and the dashboard write it: signed, whole (−100 … +100)."""
    return "—" if x is None else f"{x:+.0f}"


def _answers(n: int) -> str:
    return f"{n} answer{'s' if n != 1 else ''}"


def _survey_line(s: dict[str, Any]) -> str:
    """The satisfaction line of the customer's report (Markdown and HTML say the same)."""
    return (
        f"CSAT {_mean(s['csat_mean'])} ({_answers(s['csat_responses'])}) · NPS {_nps(s['nps'])} "
        f"({_answers(s['nps_responses'])}) · CES {_mean(s['ces_mean'])} ({_answers(s['ces_responses'])})"
    )


def _ticket(d: dict[str, Any]) -> str:
    return f"#{d['ticket']}" + (f" ({d['ref']})" if d.get("ref") else "")


def customer_markdown(r: dict[str, Any]) -> str:
    out = [f"# Service report — {md_text(r['customer'])} — {r['month']}", ""]
    for c in r["contracts"]:
        until = f"renews {c['end']}" if c["renews"] else (f"ends {c['end']}" if c["end"] else "open-ended")
        out.append(
            f"Contract {md_text(c['name'])}: from {c['start']}, {until}; policy {md_text(c['policy'] or r['policy'])}"
        )
    v = r["volumes"]
    out += [
        "",
        f"**Volumes**: {v['opened']} opened, {v['resolved']} resolved, {v['backlog']} open at the end of the month. "
        f"**SLA compliance**: {_n(r['overall_compliance'])} %",
        "",
        "## SLA compliance per priority and timer",
        "",
        "| priority | timer | target | met | breached | compliance % |",
        "|---|---|---|---:|---:|---:|",
    ]
    for c in r["compliance"]:
        out.append(
            f"| {c['priority']} | {TIMER_LABELS.get(c['timer'], c['timer'])} | {_n(c['target'])} | {c['met']} "
            f"| {c['breached']} | {_n(c['rate'])} |"
        )
    out += ["", "## Breaches", ""]
    out += [
        f"- {md_text(_ticket(b))} {md_text(b['subject'], 60)} — {TIMER_LABELS.get(b['timer'], b['timer'])} "
        f"({b['priority']}) breached {b['breached_at'][:16].replace('T', ' ')}: {md_text(b['why'])}"
        for b in r["breaches"]
    ] or ["None."]
    out += ["", "## Six months", "", "| month | opened | resolved | compliance % |", "|---|---:|---:|---:|"]
    out += [f"| {t['month']} | {t['opened']} | {t['resolved']} | {_n(t['compliance'])} |" for t in r["trend"]]
    out += ["", "## Top contact reasons", ""]
    out += [f"- {md_text(x['reason'])}: {x['tickets']}" for x in r["top_reasons"]] or ["None."]
    out += ["", "## Change requests", ""]
    out += [
        f"- {md_text(_ticket(c))} {md_text(c['subject'], 60)}: {c['state']}, {c['hours']:.2f} h, {c['amount']:.2f}"
        for c in r["change_requests"]
    ] or ["None this month."]
    out.append(f"\n**Billed this month**: {r['billed_amount']:.2f}")
    s = r["surveys"]
    out += [
        "",
        "## Satisfaction",
        "",
        _survey_line(s),
        "",
    ]
    out += [
        f"- {md_text(_ticket(c))} {c['measure']} {c['score']}: “{md_text(c['comment'], 200)}”" for c in s["comments"]
    ]
    out += ["", "## Problems and actions", ""]
    for p in r["problems"]:
        out.append(
            f"- {md_text(_ticket(p))} {md_text(p['subject'], 60)} ({p['status']}; {len(p['incidents'])} incidents)"
        )
        if p["root_cause"]:
            out.append(f"  - root cause: {md_text(p['root_cause'])}")
        if p["workaround"]:
            out.append(f"  - workaround{' (known error)' if p['known_error'] else ''}: {md_text(p['workaround'])}")
        for a in p["actions"]:
            flag = " — overdue" if a["overdue"] else ""
            out.append(f"  - action: {md_text(a['title'])} ({md_text(a['owner'])}, due {a['due']}, {a['state']}{flag})")
    if not r["problems"]:
        out.append("None.")
    return "\n".join(out) + "\n"


def improvement_markdown(r: dict[str, Any]) -> str:
    out = [f"# Continuous improvement — {r['month']}", "", "## Recurring contact reasons", ""]
    out += [
        f"- {md_text(x['reason'])}: {x['tickets']} (previous month {x['previous_month']})"
        for x in r["recurring_reasons"]
    ] or ["None."]
    out += ["", "## Problems with the most incidents this month", ""]
    out += [
        f"- #{p['ticket']} {md_text(p['subject'], 60)}: {p['incidents_this_month']}"
        for p in r["problems_most_incidents"]
    ] or ["None."]
    for title, key in (("Problems opened", "problems_opened"), ("Problems closed", "problems_closed")):
        out += ["", f"## {title}", ""]
        out += [
            f"- {md_text(_ticket(p))} {md_text(p['subject'], 60)}"
            + (f" — root cause: {md_text(p['root_cause'], 80)}" if p["root_cause"] else "")
            for p in r[key]
        ] or ["None."]
    out += ["", "## Corrective actions done", ""]
    out += [
        f"- {md_text(a['title'])} ({md_text(a['owner'])}, problem #{a['problem']}, done {a['done_on']})"
        for a in r["actions_done"]
    ] or ["None."]
    out += ["", "## Corrective actions late", ""]
    out += [
        f"- {md_text(a['title'])} ({md_text(a['owner'])}, problem #{a['problem']}, due {a['due']}, {a['state']})"
        for a in r["actions_late"]
    ] or ["None."]
    out += ["", "## SLA trend", "", "| month | compliance % |", "|---|---:|"]
    out += [f"| {t['month']} | {_n(t['compliance'])} |" for t in r["sla_trend"]]
    ch = r["changes_since_last_month"]
    out += ["", "## Since last month", ""]
    out += [f"- {k.replace('_', ' ')}: {_n(a)} → {_n(b)}" for k, (a, b) in ch.items()]
    return "\n".join(out) + "\n"


# -- HTML -------------------------------------------------------------------------------------------------------

CSS = """
body { font-family: "Helvetica Neue", Arial, sans-serif; color: #1d2733; margin: 2em auto; max-width: 60em;
       padding: 0 1.5em; line-height: 1.4; }
h1 { font-size: 1.6em; border-bottom: 3px solid #2f6fb0; padding-bottom: .3em; }
h2 { font-size: 1.2em; color: #2f6fb0; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { border-bottom: 1px solid #d5dbe3; padding: .3em .5em; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.kpis { display: flex; gap: 1em; flex-wrap: wrap; }
.kpi { border: 1px solid #d5dbe3; border-radius: 6px; padding: .5em 1em; min-width: 8em; }
.kpi b { display: block; font-size: 1.5em; }
.bad { color: #b3261e; } .muted { color: #5d6b7a; font-size: .9em; }
svg { max-width: 100%; height: auto; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-after: avoid; }
               table, svg { page-break-inside: avoid; } }
"""


def _h(text: object) -> str:
    return html.escape(inert(str(text)) if text is not None else "—")


def _bars_svg(trend: list[dict[str, Any]]) -> str:
    """Opened and resolved tickets per month: grouped bars, with the figures written on them."""
    w, h, pad = 600, 220, 30
    top = max([1] + [max(t["opened"], t["resolved"]) for t in trend])
    slot = (w - 2 * pad) / max(1, len(trend))
    bar = slot / 3
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="volumes">']
    for i, t in enumerate(trend):
        x = pad + i * slot + bar / 2
        for j, (key, colour) in enumerate((("opened", "#2f6fb0"), ("resolved", "#7fb069"))):
            height = (h - 2 * pad) * t[key] / top
            y = h - pad - height
            parts.append(
                f'<rect x="{x + j * bar:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" fill="{colour}"/>'
            )
            mid = x + j * bar + bar / 2
            parts.append(f'<text x="{mid:.1f}" y="{y - 3:.1f}" font-size="11" text-anchor="middle">{t[key]}</text>')
        parts.append(
            f'<text x="{x + bar:.1f}" y="{h - 10}" font-size="11" text-anchor="middle">{_h(t["month"])}</text>'
        )
    parts.append('<text x="30" y="14" font-size="11" fill="#2f6fb0">■ opened</text>')
    parts.append('<text x="110" y="14" font-size="11" fill="#7fb069">■ resolved</text>')
    parts.append("</svg>")
    return "".join(parts)


def _line_svg(trend: list[dict[str, Any]], key: str = "compliance") -> str:
    """SLA compliance per month (0-100 %), a line with its points labelled."""
    w, h, pad = 600, 180, 30
    step = (w - 2 * pad) / max(1, len(trend) - 1)
    points = [(pad + i * step, h - pad - (h - 2 * pad) * (t[key] or 0) / 100, t) for i, t in enumerate(trend)]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="compliance">']
    parts.append('<text x="30" y="14" font-size="11" fill="#2f6fb0">SLA compliance %</text>')
    parts.append(f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#d5dbe3"/>')
    known = [(x, y) for x, y, t in points if t[key] is not None]
    if len(known) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in known)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#2f6fb0" stroke-width="2"/>')
    for x, y, t in points:
        if t[key] is not None:  # a month without any timer ending has no point
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#2f6fb0"/>')
            parts.append(f'<text x="{x:.1f}" y="{y - 6:.1f}" font-size="11" text-anchor="middle">{t[key]} %</text>')
        parts.append(f'<text x="{x:.1f}" y="{h - 10}" font-size="11" text-anchor="middle">{_h(t["month"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(head: Sequence[str], rows: Sequence[Sequence[object]], numeric: Sequence[int] = ()) -> str:
    th = "".join(f'<th class="n">{_h(x)}</th>' if i in numeric else f"<th>{_h(x)}</th>" for i, x in enumerate(head))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{_h(c)}</td>' if i in numeric else f"<td>{_h(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def customer_html(r: dict[str, Any]) -> str:
    s = r["surveys"]
    v = r["volumes"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Service report — {_h(r['customer'])} — {_h(r['month'])}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Service report — {_h(r['customer'])} — {_h(r['month'])}</h1>",
        f'<p class="muted">Generated {_h(r["generated_at"][:16].replace("T", " "))} · SLA policy {_h(r["policy"])}</p>',
    ]
    for c in r["contracts"]:
        until = f"renews {c['end']}" if c["renews"] else (f"ends {c['end']}" if c["end"] else "open-ended")
        parts.append(
            f"<p>Contract <b>{_h(c['name'])}</b>: from {_h(c['start'])}, {_h(until)} · "
            f"{c['included_hours']:.2f} h included a month · {_h(c['scope'])}</p>"
        )
    parts.append('<div class="kpis">')
    for label, value in (
        ("opened", v["opened"]),
        ("resolved", v["resolved"]),
        ("open at month end", v["backlog"]),
        ("SLA compliance %", _n(r["overall_compliance"])),
        ("CSAT", _mean(s["csat_mean"])),
        ("NPS", _nps(s["nps"])),
        ("CES", _mean(s["ces_mean"])),
    ):
        parts.append(f'<div class="kpi"><b>{_h(value)}</b>{_h(label)}</div>')
    parts.append("</div>")
    parts.append("<h2>SLA compliance per priority and timer</h2>")
    parts.append(
        _table(
            ["priority", "timer", "target", "met", "breached", "compliance %"],
            [
                [
                    c["priority"],
                    TIMER_LABELS.get(c["timer"], c["timer"]),
                    _n(c["target"]),
                    c["met"],
                    c["breached"],
                    _n(c["rate"]),
                ]
                for c in r["compliance"]
            ],
            numeric=(3, 4, 5),
        )
    )
    parts.append("<h2>Breaches</h2>")
    if r["breaches"]:
        parts.append(
            _table(
                ["ticket", "subject", "timer", "priority", "breached", "why it was due then"],
                [
                    [
                        _ticket(b),
                        one_line(b["subject"], 60),
                        TIMER_LABELS.get(b["timer"], b["timer"]),
                        b["priority"],
                        b["breached_at"][:16].replace("T", " "),
                        b["why"],
                    ]
                    for b in r["breaches"]
                ],
            )
        )
    else:
        parts.append("<p>None.</p>")
    parts.append("<h2>Volumes and SLA over six months</h2>")
    parts.append(_bars_svg(r["trend"]))
    parts.append(_line_svg(r["trend"]))
    parts.append(
        _table(
            ["month", "opened", "resolved", "compliance %"],
            [[t["month"], t["opened"], t["resolved"], _n(t["compliance"])] for t in r["trend"]],
            numeric=(1, 2, 3),
        )
    )
    parts.append("<h2>Top contact reasons</h2>")
    parts.append(_table(["reason", "tickets"], [[x["reason"], x["tickets"]] for x in r["top_reasons"]], numeric=(1,)))
    parts.append("<h2>Change requests</h2>")
    parts.append(
        _table(
            ["ticket", "subject", "state", "hours", "amount"],
            [
                [_ticket(c), one_line(c["subject"], 60), c["state"], f"{c['hours']:.2f}", f"{c['amount']:.2f}"]
                for c in r["change_requests"]
            ],
            numeric=(3, 4),
        )
    )
    parts.append(f"<p>Billed this month: <b>{r['billed_amount']:.2f}</b></p>")
    parts.append("<h2>Satisfaction</h2>")
    parts.append(f"<p>{_h(_survey_line(s))}</p>")
    if s["comments"]:
        parts.append(
            "<ul>"
            + "".join(
                f"<li>{_h(_ticket(c))} {_h(c['measure'])} {_h(c['score'])}: “{_h(c['comment'])}”</li>"
                for c in s["comments"]
            )
            + "</ul>"
        )
    parts.append("<h2>Problems and actions</h2>")
    if not r["problems"]:
        parts.append("<p>None.</p>")
    for p in r["problems"]:
        parts.append(
            f"<h3>{_h(_ticket(p))} {_h(p['subject'])}</h3><p>{_h(p['status'])} · {len(p['incidents'])} linked incidents"
            + (f"<br>Root cause: {_h(p['root_cause'])}" if p["root_cause"] else "")
            + (
                f"<br>Workaround{' (known error)' if p['known_error'] else ''}: {_h(p['workaround'])}"
                if p["workaround"]
                else ""
            )
            + "</p>"
        )
        if p["actions"]:
            parts.append(
                _table(
                    ["action", "owner", "due", "state"],
                    [
                        [a["title"], a["owner"], a["due"], a["state"] + (" (overdue)" if a["overdue"] else "")]
                        for a in p["actions"]
                    ],
                )
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# -- the dashboard's lines ----------------------------------------------------------------------------------------


def manager_lines(desk: Desk, now: datetime, customer: str | None = None) -> list[str]:
    """What the dashboard shows of the service manager's side (nothing when the desk has none of it): contracts
    ending within 60 days, churn this month, the problems with the most incidents linked this month, overdue
    corrective actions; for one customer, its contract in force, the month's billable hours and amount, and the
    open problems its incidents are linked to."""
    return _manager_lines(desk, now, customer)


def _manager_lines(
    desk: Desk, now: datetime, customer: str | None, problems: list[dict[str, Any]] | None = None
) -> list[str]:
    """``manager_lines``; ``problems``: what ``_problems`` reads of every problem, when it is known already."""
    tz = desk.config.tz
    today = now.astimezone(tz).date()
    month = billing.parse_month(f"{today:%Y-%m}", tz, now)
    with desk.store.read() as session:
        contracts = billing.queries.contracts(session)
        if problems is None:
            problems = _problems(session, None, today, tz)
        bill = None
        if customer is not None and any(c.customer == customer for c in contracts):
            bill = billing.month_bill(session, customer, month, tz)
        theirs = set(_problem_ids_of(session, customer)) if customer is not None else set()
    lines: list[str] = []
    if customer is not None:
        current = rules.in_force([c for c in contracts if c.customer == customer], today)
        if current is not None:
            until = f"renews {current.end}" if current.renews else (f"ends {current.end}" if current.end else "open")
            lines.append(f"contract {one_line(current.name, 30)} ({until})")
        if bill is not None:
            lines.append(
                f"this month: {rules.hours(sum(b.billable_seconds for b in bill.bills))} h billable, "
                f"{rules.money(bill.amount_cents)}; {rules.hours(sum(b.included_used for b in bill.bills))} h "
                "of included hours used"
            )
        mine = [c for c in contracts if c.customer == customer]
        still_open = [p for p in problems if p["ticket"] in theirs and p["status"] not in ("resolved", "closed")]
        if still_open:
            lines.append(
                f"open problems ({len(still_open)}): "
                + "; ".join(
                    f"#{p['ticket']} {one_line(p['subject'], 32)} ({len(p['incidents'])} incidents)"
                    for p in still_open[:3]
                )
            )
    else:
        mine = contracts
    ending = rules.ending_within(mine, today)
    if ending:
        lines.append(
            "ending within 60 days: "
            + ", ".join(f"{one_line(c.customer, 24)} {c.end}{' (renewal)' if c.renews else ''}" for c in ending)
        )
    churn = rules.churned(mine, month.first, month.last)
    if churn:
        lines.append("churn this month: " + ", ".join(f"{one_line(c.customer, 24)} ({c.end})" for c in churn))
    linked = sorted(
        ((sum(1 for c in p["_incident_created"] if month.since <= c < month.until), p) for p in problems),
        key=lambda x: (-x[0], x[1]["ticket"]),
    )
    top = [(n, p) for n, p in linked if n][:3]
    if top:
        lines.append(
            "problems, most incidents this month: "
            + "; ".join(f"#{p['ticket']} {one_line(p['subject'], 32)} ({n})" for n, p in top)
        )
    overdue = [(a, p) for p in problems for a in p["actions"] if a["overdue"]]
    if overdue:
        lines.append(
            f"overdue actions ({len(overdue)}): "
            + "; ".join(
                f"{one_line(a['title'], 28)} ({one_line(a['owner'], 12)}, due {a['due']})" for a, _ in overdue[:3]
            )
        )
    return lines


_TICKETS = Ticket.__table__  # type: ignore[attr-defined]
_LINKS = ProblemLink.__table__  # type: ignore[attr-defined]
_TIMES = TimeEntry.__table__  # type: ignore[attr-defined]
_CUSTOMERS = Customer.__table__  # type: ignore[attr-defined]
# built once (building a statement costs about as much as running it): what the changed tickets are to the lines
_PROBLEMS_OF = (  # the changed tickets that are problems, and the problems of those that are linked incidents
    select(_TICKETS.c.id)
    .where(_TICKETS.c.id.in_(bindparam("ids", expanding=True)), _TICKETS.c.type == "problem")
    .union(select(_LINKS.c.problem_id).where(_LINKS.c.ticket_id.in_(bindparam("ids", expanding=True))))
)
_BILLED = (
    select(_TIMES.c.ticket_id)
    .where(
        _TIMES.c.ticket_id.in_(bindparam("ids", expanding=True)),
        _TIMES.c.at >= bindparam("since"),
        _TIMES.c.at < bindparam("until"),
    )
    .limit(1)
)
_CUSTOMER_ID = select(_CUSTOMERS.c.id).where(_CUSTOMERS.c.name == bindparam("name"))


class KeptManagerLines:
    """``manager_lines`` kept from one computation to the next (the dashboard's, issue 17), computed again only
    when something they read may have changed, and then from the problems kept. What they read, and how its
    change is known:

    - the problems (tickets of type ``problem``) with their records, corrective actions and linked incidents
      (``_problems``), read whole once a day and kept: every write of a record or an action names the problem in
      the feed of ticket changes, a link names the incident. The problems of the changed tickets (those that are
      problems now or were, and those whose incidents changed, before or now: read by primary key) are read
      again; when one reads differently, the lines are computed again from the problems kept;
    - the contracts (with their customers' names): read again at every ``lines`` (a few rows) and compared with
      those read before the lines were computed; a contract is added, or moved by a customer's merge, without
      naming any ticket;
    - one customer's lines read too its billable month (the time entries of its tickets in the month, those
      tickets, their change requests: every such write names its ticket) and its id: a changed ticket with a
      time entry in the month counts for every customer's lines; a customer renamed, merged or deleted is
      found by its id read again (by its name, one indexed row);
    - the day (``today``: contracts ending, churn, the month, overdue actions): a new day reads all again.

    ``changed(None)`` (any ticket: an import, ``ctrl+r``) forgets everything. Thread-safe: the dashboard's two
    workers ask for their customers' lines at the same time. ``tests/tui/test_dashboard_incremental.py`` checks
    the kept lines against ``manager_lines`` after random changes of every kind above, on both engines."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self._lock = threading.Lock()
        self._pending: set[int] | None = set()  # tickets changed since the last look (None: any)
        self._day: date | None = None
        self._contracts: list[rules.Contract] | None = None
        self._problems: dict[int, dict[str, Any]] | None = None  # problem → what ``_problems`` read of it
        self._problem_of: dict[int, int] = {}  # linked incident → its problem, as kept
        self._lines: dict[str | None, list[str]] = {}
        self._ids: dict[str, int | None] = {}  # customer → its id when its lines were computed
        self.computed = 0  # how many times lines were computed (what the tests and benchmarks watch)
        self.read_whole = 0  # how many times every problem was read

    def changed(self, tickets: Iterable[int] | None) -> None:
        """These tickets changed (None: any may have)."""
        with self._lock:
            if tickets is None or self._pending is None:
                self._pending = None
            else:
                self._pending.update(tickets)

    def lines(self, now: datetime, customer: str | None = None) -> list[str]:
        """``manager_lines(desk, now, customer)``: the kept ones while nothing they read changed."""
        desk = self.desk
        tz = desk.config.tz
        today = now.astimezone(tz).date()
        with self._lock:
            pending, self._pending = self._pending, set()
            with desk.store.read() as session:
                if pending is None or today != self._day:
                    self._set_problems(None)
                contracts = billing.queries.contracts(session)
                if contracts != self._contracts:
                    self._lines, self._ids = {}, {}
                if pending and self._problems is not None:
                    self._look(session, sorted(pending), now, today)
                if customer is not None and customer in self._lines:
                    if session.execute(_CUSTOMER_ID, {"name": customer}).scalar() != self._ids.get(customer):
                        del self._lines[customer]
                if self._problems is None:
                    self._set_problems({p["ticket"]: p for p in _problems(session, None, today, tz)})
                    self.read_whole += 1
            self._day, self._contracts = today, contracts
            if customer not in self._lines:
                assert self._problems is not None
                problems = [self._problems[k] for k in sorted(self._problems)]
                self._lines[customer] = _manager_lines(desk, now, customer, problems)
                self.computed += 1
                if customer is not None:
                    with desk.store.read() as session:
                        self._ids[customer] = session.execute(_CUSTOMER_ID, {"name": customer}).scalar()
            return list(self._lines[customer])

    def _set_problems(self, problems: dict[int, dict[str, Any]] | None) -> None:
        self._problems = problems
        self._problem_of = {i: pid for pid, p in (problems or {}).items() for i in p["incidents"]}
        self._lines, self._ids = {}, {}

    def _look(self, session: Session, changed: list[int], now: datetime, today: date) -> None:
        """Read again the problems of the changed tickets; forget the lines they, or the tickets, may change."""
        problems = self._problems
        assert problems is not None
        mine = {i for i in changed if i in problems} | {self._problem_of[i] for i in changed if i in self._problem_of}
        mine |= set(session.execute(_PROBLEMS_OF, {"ids": changed}).scalars())
        if mine:
            fresh = {p["ticket"]: p for p in _problems(session, sorted(mine), today, self.desk.config.tz)}
            moved = False
            for pid in mine:
                old, new = problems.get(pid), fresh.get(pid)
                if _same_problem(old, new):
                    continue
                moved = True
                for i in old["incidents"] if old is not None else ():
                    if self._problem_of.get(i) == pid:
                        del self._problem_of[i]
                if new is None:
                    problems.pop(pid, None)
                else:
                    problems[pid] = new
                    self._problem_of.update((i, pid) for i in new["incidents"])
            if moved:
                self._lines, self._ids = {}, {}
                return
        if any(name is not None for name in self._lines):
            tz = self.desk.config.tz
            month = billing.parse_month(f"{now.astimezone(tz):%Y-%m}", tz, now)
            if session.execute(_BILLED, {"ids": changed, "since": month.since, "until": month.until}).first():
                self._lines = {None: self._lines[None]} if None in self._lines else {}


def _same_problem(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """The same, for the lines: everything ``_problems`` read but the problem's last change."""
    if a is None or b is None:
        return a is b
    return {k: v for k, v in a.items() if k != "_updated_at"} == {k: v for k, v in b.items() if k != "_updated_at"}
