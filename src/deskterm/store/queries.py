"""Read queries: tickets with their customer and history, as plain records."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import or_, select
from sqlmodel import Session

from ..records import EventRecord, TicketRecord
from .models import Customer, Event, Ticket

_TICKET_COLUMNS = (Ticket, Customer.name)
# The columns of a TicketRecord, in the order of its fields: rows read on the Core connection become records
# positionally, without building an ORM object or looking up 25 attributes by name per ticket (about 5x
# faster for tens of thousands of tickets).
_RECORD_COLUMNS = (
    Ticket.id, Ticket.ref, Ticket.subject, Ticket.description, Customer.name, Ticket.priority, Ticket.initial_priority,
    Ticket.impact, Ticket.urgency, Ticket.type, Ticket.status, Ticket.assignee, Ticket.group_name, Ticket.created_at,
    Ticket.created_by, Ticket.updated_at, Ticket.version, Ticket.next_due, Ticket.next_warn, Ticket.classification,
    Ticket.resolution_code, Ticket.first_contact, Ticket.major_id, Ticket.csat_score, Ticket.csat_comment,
    Ticket.next_timer, Ticket.next_left,
)


def _records(session: Session, *where, order=Ticket.id) -> list[TicketRecord]:
    stmt = select(*_RECORD_COLUMNS).join(Customer, Customer.id == Ticket.customer_id).where(*where).order_by(order)
    return [TicketRecord(*row) for row in session.connection().execute(stmt)]


def _record(t: Ticket, customer: str, events: list[EventRecord]) -> TicketRecord:
    return TicketRecord(
        id=t.id,  # type: ignore[arg-type]
        ref=t.ref,
        subject=t.subject,
        description=t.description,
        customer=customer,
        priority=t.priority,
        initial_priority=t.initial_priority,
        impact=t.impact,
        urgency=t.urgency,
        type=t.type,
        status=t.status,
        assignee=t.assignee,
        group=t.group_name,
        created_at=t.created_at,
        created_by=t.created_by,
        updated_at=t.updated_at,
        version=t.version,
        next_due=t.next_due,
        next_warn=t.next_warn,
        classification=t.classification,
        resolution_code=t.resolution_code,
        first_contact=t.first_contact,
        major_id=t.major_id,
        csat_score=t.csat_score,
        csat_comment=t.csat_comment,
        next_timer=t.next_timer,
        next_left=t.next_left,
        events=events,
    )


def event_record(e: Event) -> EventRecord:
    return EventRecord(
        id=e.id,  # type: ignore[arg-type]
        at=e.at,
        kind=e.kind,
        author=e.author,
        public=e.public,
        body=e.body,
        from_value=e.from_value,
        to=e.to,
        reason=e.reason,
    )


_PG_MAX_ID = 2**31 - 1


def find_ticket_id(session: Session, key: str | int) -> int | None:
    """A ticket's id from its number or its ref (a ref wins when it is also a number of another ticket)."""
    text = str(key).strip()
    by_ref = session.execute(select(Ticket.id).where(Ticket.ref == text)).scalar()
    if by_ref is not None:
        return by_ref
    if text.lstrip("#").isdigit():
        number = int(text.lstrip("#"))
        # PostgreSQL's ids are INTEGER (32 bits): a larger number is no ticket, and the server would refuse the
        # comparison itself ("integer out of range", a traceback) instead of finding nothing. (SQLite's driver
        # raises OverflowError beyond 64 bits, which the service reports as no such ticket.)
        if session.get_bind().dialect.name == "postgresql" and number > _PG_MAX_ID:
            return None
        return session.execute(select(Ticket.id).where(Ticket.id == number)).scalar()
    return None


_EVENT_COLUMNS = (Event.ticket_id, Event.id, Event.at, Event.kind, Event.author, Event.public, Event.body,
                  Event.from_value, Event.to, Event.reason)


def _collect(rows, out: dict[int, list[EventRecord]]) -> None:
    # plain rows, not ORM objects: loading 500,000 events is several times faster this way
    for tid, eid, at, kind, author, public, body, from_value, to, reason in rows:
        out[tid].append(EventRecord(eid, at, kind, author, public, body, from_value, to, reason))


def events_of(session: Session, ticket_ids: Iterable[int]) -> dict[int, list[EventRecord]]:
    ids = list(ticket_ids)
    out: dict[int, list[EventRecord]] = defaultdict(list)
    # chunks keep the statement under SQLite's variable limit
    for i in range(0, len(ids), 900):
        stmt = select(*_EVENT_COLUMNS).where(Event.ticket_id.in_(ids[i : i + 900])).order_by(Event.ticket_id, Event.at, Event.id)  # type: ignore[attr-defined]
        _collect(session.connection().execute(stmt), out)
    return out


def all_events(session: Session) -> dict[int, list[EventRecord]]:
    out: dict[int, list[EventRecord]] = defaultdict(list)
    _collect(session.connection().execute(select(*_EVENT_COLUMNS).order_by(Event.ticket_id, Event.at, Event.id)), out)
    return out


def load_ticket(session: Session, ticket_id: int) -> TicketRecord | None:
    found = _records(session, Ticket.id == ticket_id)
    if not found:
        return None
    found[0].events = events_of(session, [ticket_id]).get(ticket_id, [])
    return found[0]


def load_tickets(session: Session, statuses: Sequence[str] | None = None, with_events: bool = True,
                 period: tuple | None = None) -> list[TicketRecord]:
    """Tickets with their customer and (by default) their histories.

    ``period=(since, until)`` keeps only the tickets whose life overlaps it: created before ``until`` and
    either still open or changed since ``since``. That is exact for the KPIs of the period (a ticket closed and
    untouched before ``since`` cannot have opened, resolved, breached or been rated in it), and it is what
    keeps a 30-day report fast on a desk with years of history.
    """
    where = []
    if statuses:
        where.append(Ticket.status.in_(list(statuses)))  # type: ignore[attr-defined]
    if period is not None:
        since, until = period
        where += [Ticket.created_at < until,
                  or_(Ticket.status.not_in(["resolved", "closed"]), Ticket.updated_at >= since)]  # type: ignore[attr-defined]
    found = _records(session, *where)
    if not with_events:
        return found
    events = events_of(session, [t.id for t in found]) if where else all_events(session)
    for t in found:
        t.events = events.get(t.id, [])
    return found


def linked_tickets(session: Session, major_id: int) -> list[TicketRecord]:
    """The tickets linked to a major incident (without their histories)."""
    return _records(session, Ticket.major_id == major_id)
