"""``deskterm billing``: what a customer's month costs, per contract (the rules are in domain/billing.py).

Reads the store (never writes): the customer's contracts, the time logged on its tickets in the month, the
change requests' estimates and approval states. Each ticket belongs to the contract in force on the day it was
created (in the configured time zone). Printed as Markdown, CSV or JSON; customer text (names, subjects) is inert
in each (fmt.md_text, fmt.csv_cell, jsonout.dumps).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session, col

from .domain import billing as rules
from .errors import BadInput
from .fmt import csv_cell, md_text
from .store import queries
from .store.models import ChangeRequest, Customer, Ticket, TimeEntry


@dataclass(frozen=True)
class Month:
    text: str  # 2026-10
    first: date
    last: date
    since: datetime  # local midnight of the first day
    until: datetime  # local midnight after the last day


def parse_month(text: str, tz: ZoneInfo, now: datetime, option: str = "--month") -> Month:
    """``2026-10`` → the month's days and instants in ``tz``; a month after the current one is bad input."""
    m = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1970 <= int(m.group(1)) <= 2200:
        raise BadInput(f"{option}: {text!r} is not a month such as 2026-10")
    first = date(int(m.group(1)), int(m.group(2)), 1)
    if first > now.astimezone(tz).date():
        raise BadInput(f"{option}: {text} is in the future")
    after = (first + timedelta(days=32)).replace(day=1)
    return Month(
        text=f"{first:%Y-%m}",
        first=first,
        last=after - timedelta(days=1),
        since=datetime.combine(first, time(0), tzinfo=tz),
        until=datetime.combine(after, time(0), tzinfo=tz),
    )


def customer_id(session: Session, name: str) -> int:
    found = session.execute(select(col(Customer.id)).where(col(Customer.name) == name)).scalar()
    if found is None:
        raise BadInput(f"--customer: unknown customer {name!r}")
    return int(found)


NO_CONTRACT = rules.Contract(name="(no contract)", customer="", start=date(1970, 1, 1))


@dataclass
class MonthBill:
    customer: str
    month: Month
    bills: list[rules.Bill] = field(default_factory=list)

    @property
    def amount_cents(self) -> int:
        return sum(b.amount_cents for b in self.bills)


def month_bill(session: Session, customer: str, month: Month, tz: ZoneInfo) -> MonthBill:
    cid = customer_id(session, customer)
    contracts = queries.contracts(session, customer)
    logged = dict(
        session.execute(
            select(col(TimeEntry.ticket_id), func.sum(col(TimeEntry.seconds)))
            .join(Ticket, col(Ticket.id) == col(TimeEntry.ticket_id))
            .where(
                col(Ticket.customer_id) == cid,
                col(TimeEntry.at) >= month.since,
                col(TimeEntry.at) < month.until,
            )
            .group_by(col(TimeEntry.ticket_id))
        ).all()
    )
    ids = sorted(logged)
    tickets: dict[int, Any] = {}
    crs: dict[int, ChangeRequest] = {}
    to_date: dict[int, int] = {}
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        for row in session.execute(
            select(
                col(Ticket.id), col(Ticket.ref), col(Ticket.subject), col(Ticket.classification), col(Ticket.created_at)
            ).where(col(Ticket.id).in_(chunk))
        ):
            tickets[row[0]] = row
        for cr in session.execute(select(ChangeRequest).where(col(ChangeRequest.ticket_id).in_(chunk))).scalars():
            crs[cr.ticket_id] = cr
        to_date.update(
            session.execute(
                select(col(TimeEntry.ticket_id), func.sum(col(TimeEntry.seconds)))
                .where(col(TimeEntry.ticket_id).in_(chunk), col(TimeEntry.at) < month.until)
                .group_by(col(TimeEntry.ticket_id))
            ).all()
        )
    by_contract: dict[str, list[rules.WorkItem]] = {}
    for tid in ids:
        tid_, ref, subject, classification, created = tickets[tid]
        contract = rules.in_force(contracts, created.astimezone(tz).date())
        cr = crs.get(tid)
        item = rules.WorkItem(
            ticket_id=tid_,
            ref=ref,
            subject=subject,
            classification=classification,
            seconds=int(logged[tid]),
            approval=cr.approval if cr else None,
            estimate_seconds=cr.estimate_seconds if cr else None,
            approval_by=cr.approval_by if cr else None,
            approval_at=cr.approval_at.astimezone(tz).isoformat() if cr and cr.approval_at else None,
            total_seconds=int(to_date.get(tid, 0)),
        )
        by_contract.setdefault(contract.name if contract else NO_CONTRACT.name, []).append(item)
    out = MonthBill(customer=customer, month=month)
    for c in contracts:
        in_month = c.start <= month.last and (c.end is None or c.renews or c.end >= month.first)
        if in_month or c.name in by_contract:
            out.bills.append(rules.bill(c, by_contract.get(c.name, [])))
    if NO_CONTRACT.name in by_contract:
        out.bills.append(rules.bill(NO_CONTRACT, by_contract[NO_CONTRACT.name]))
    return out


# -- output ------------------------------------------------------------------------------------------------------


def _ticket(item: rules.WorkItem) -> str:
    return f"#{item.ticket_id}" + (f" ({item.ref})" if item.ref else "")


def _term(c: rules.Contract) -> str:
    if c.end is None:
        return f"from {c.start}"
    return f"{c.start} to {c.end}" + (" (renews)" if c.renews else "")


def as_json(mb: MonthBill) -> dict[str, Any]:
    def h(seconds: int | None) -> float | None:
        return None if seconds is None else round(seconds / 3600, 2)

    contracts = []
    for b in mb.bills:
        c = b.contract
        contracts.append(
            {
                "name": c.name,
                "start": c.start.isoformat() if c is not NO_CONTRACT else None,
                "end": c.end.isoformat() if c.end else None,
                "renews": c.renews,
                "policy": c.policy,
                "included_hours": h(c.included_seconds),
                "rate": c.rate_cents / 100,
                "included_used_hours": h(b.included_used),
                "included_left_hours": h(b.included_left),
                "beyond_included_hours": h(b.beyond_included),
                "covered": [
                    {
                        "ticket": i.ticket_id,
                        "ref": i.ref,
                        "subject": i.subject,
                        "classification": i.classification,
                        "hours": h(i.seconds),
                    }
                    for i in b.covered
                ],
                "change_requests": [
                    {
                        "ticket": line.item.ticket_id,
                        "ref": line.item.ref,
                        "subject": line.item.subject,
                        "state": line.item.approval or "not proposed",
                        "approved_by": line.item.approval_by,
                        "state_since": line.item.approval_at,
                        "estimate_hours": h(line.item.estimate_seconds),
                        "hours": h(line.item.seconds),
                        "hours_to_date": h(line.item.total_seconds),
                        "billable": line.billable,
                        "amount": line.amount_cents / 100,
                        "amount_cents": line.amount_cents,
                    }
                    for line in b.changes
                ],
                "billable_hours": h(b.billable_seconds),
                "amount": b.amount_cents / 100,
                "amount_cents": b.amount_cents,
            }
        )
    return {
        "customer": mb.customer,
        "month": mb.month.text,
        "contracts": contracts,
        "amount": mb.amount_cents / 100,
        "amount_cents": mb.amount_cents,
    }


def as_markdown(mb: MonthBill) -> str:
    out = [f"# Billing — {md_text(mb.customer)} — {mb.month.text}", ""]
    if not mb.bills:
        out += ["No contract in force this month and no time logged.", ""]
    for b in mb.bills:
        c = b.contract
        out.append(f"## Contract {md_text(c.name)}")
        out.append("")
        if c is not NO_CONTRACT:
            out.append(
                f"{_term(c)} · policy {md_text(c.policy or 'the customer’s')} · "
                f"{rules.hours(c.included_seconds)} h included a month · rate {rules.money(c.rate_cents)} an hour"
            )
            out.append("")
        line = f"**Included hours**: {rules.hours(b.included_used)} used of {rules.hours(c.included_seconds)}"
        line += f" ({rules.hours(b.included_left)} left)"
        if b.beyond_included:
            line += f"; {rules.hours(b.beyond_included)} beyond the included hours (not billed)"
        out += [line, ""]
        if b.covered:
            out += ["| ticket | subject | classification | hours |", "|---|---|---|---:|"]
            for i in b.covered:
                out.append(
                    f"| {md_text(_ticket(i))} | {md_text(i.subject, 60)} | {i.classification or 'not classified'} "
                    f"| {rules.hours(i.seconds)} |"
                )
            out.append("")
        if b.changes:
            out += [
                "| change request | subject | state | by | estimate h | hours | to date | amount |",
                "|---|---|---|---|---:|---:|---:|---:|",
            ]
            for ch in b.changes:
                i = ch.item
                est = rules.hours(i.estimate_seconds) if i.estimate_seconds is not None else "—"
                amount = rules.money(ch.amount_cents) if ch.billable else "not billed"
                out.append(
                    f"| {md_text(_ticket(i))} | {md_text(i.subject, 60)} | {i.approval or 'not proposed'} "
                    f"| {md_text(i.approval_by or '—')} | {est} | {rules.hours(i.seconds)} "
                    f"| {rules.hours(i.total_seconds)} | {amount} |"
                )
            out.append("")
        out += [
            f"**Billable**: {rules.hours(b.billable_seconds)} h · **amount** {rules.money(b.amount_cents)}",
            "",
        ]
    out.append(f"**Total for {mb.month.text}**: {rules.money(mb.amount_cents)}")
    return "\n".join(out) + "\n"


CSV_COLUMNS = ("contract", "line", "ticket", "ref", "subject", "classification", "state", "hours", "amount")


def as_csv(mb: MonthBill) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)

    def row(*cells: object) -> None:
        w.writerow([csv_cell(c) for c in cells])

    for b in mb.bills:
        name = b.contract.name
        for i in b.covered:
            row(
                name,
                "covered",
                i.ticket_id,
                i.ref or "",
                i.subject,
                i.classification or "",
                "",
                rules.hours(i.seconds),
                0,
            )
        for ch in b.changes:
            i = ch.item
            row(
                name,
                "change_request",
                i.ticket_id,
                i.ref or "",
                i.subject,
                i.classification or "",
                i.approval or "not proposed",
                rules.hours(i.seconds),
                rules.money(ch.amount_cents),
            )
        row(name, "included_used", "", "", "", "", "", rules.hours(b.included_used), "")
        row(name, "total", "", "", "", "", "", rules.hours(b.billable_seconds), rules.money(b.amount_cents))
    return buf.getvalue()
