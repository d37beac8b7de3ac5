"""Read queries: tickets with their customer and history, as plain records."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, true
from sqlmodel import Session, col

from ..domain.billing import Contract as ContractTerms
from ..records import EventRecord, TicketRecord
from . import plain
from .models import Contract, Customer, Event, Meta, Ticket, core

if TYPE_CHECKING:
    from ..progress import Progress

# Core columns: the reads of one ticket or of many, as records, run without the ORM (see ``core``)
_T, _CU, _E, _M = core(Ticket).c, core(Customer).c, core(Event).c, core(Meta).c

_TICKET_COLUMNS = (Ticket, Customer.name)
# The columns of a TicketRecord, in the order of its fields (``plain.TICKET_RECORD``, the one list of them: the plain
# reads of ``show`` use it too): rows read on the Core connection become records positionally, without building an
# ORM object or looking up 25 attributes by name per ticket (about 5x faster for tens of thousands of tickets).
_RECORD_COLUMNS = plain.columns(plain.TICKET_RECORD, tickets=_T, customers=_CU)


def _records(
    session: Session,
    *where: ColumnElement[bool],
    order: Any = None,
    limit: int | None = None,
    progress: Progress | None = None,
) -> list[TicketRecord]:
    stmt = (
        select(*_RECORD_COLUMNS)
        .join(core(Customer), _CU.id == _T.customer_id)
        .where(*where)
        .order_by(*((_T.id,) if order is None else order if isinstance(order, tuple) else (order,)))
        .limit(limit)
    )
    rows: Iterable[Any] = session.connection().execute(stmt)
    if progress is not None:
        from ..progress import ROWS, counting

        rows = counting(rows, progress, "reading tickets", every=ROWS)
    return [TicketRecord(*row) for row in rows]


# Built once (the queue of every open app reads its changed tickets this way on each change of the desk): a statement
# built for each read costs about as much CPU again as running it (SQLAlchemy constructs it and its cache key).
_RECORDS_BY_ID = (
    select(*_RECORD_COLUMNS)
    .join(core(Customer), _CU.id == _T.customer_id)
    .where(_T.id.in_(bindparam("ids", expanding=True)))
    .order_by(_T.id)
)


def records_by_id(conn: Any, ids: Sequence[int]) -> list[TicketRecord]:
    """These tickets (without their history), by id, on a connection."""
    out: list[TicketRecord] = []
    for i in range(0, len(ids), 900):  # SQLite's variable limit
        out.extend(TicketRecord(*row) for row in conn.execute(_RECORDS_BY_ID, {"ids": list(ids[i : i + 900])}))
    return out


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
        category=t.category,
        contact_id=t.contact_id,
        events=events,
    )


def event_record(e: Event) -> EventRecord:
    return EventRecord(
        id=e.id,
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


def meta_value(session: Session, key: str) -> str | None:
    """A fact of the desk (table ``meta``), None when it is not recorded."""
    return session.connection().execute(select(_M.value).where(_M.key == key)).scalar()


def find_ticket_id(session: Session, key: str | int) -> int | None:
    """A ticket's id from its number or its ref (a ref wins when it is also a number of another ticket). Read on
    the connection (Core), as the records are: the ORM's first statement configures every mapper."""
    text = str(key).strip()
    conn = session.connection()
    by_ref = conn.execute(select(_T.id).where(_T.ref == text)).scalar()
    if by_ref is not None:
        return by_ref
    if text.lstrip("#").isdigit():
        number = int(text.lstrip("#"))
        # PostgreSQL's ids are INTEGER (32 bits): a larger number is no ticket, and the server would refuse the
        # comparison itself ("integer out of range", a traceback) instead of finding nothing. (SQLite's driver
        # raises OverflowError beyond 64 bits, which the service reports as no such ticket.)
        if session.get_bind().dialect.name == "postgresql" and number > _PG_MAX_ID:
            return None
        return conn.execute(select(_T.id).where(_T.id == number)).scalar()
    return None


_EVENT_COLUMNS = plain.columns(plain.EVENT, events=_E)
_EVENT_ORDER = plain.columns(plain.EVENT_ORDER, events=_E)


def _collect(rows, out: dict[int, list[EventRecord]]) -> None:
    # plain rows, not ORM objects: loading 500,000 events is several times faster this way
    for row in rows:
        out[row[0]].append(plain.event_record(row))


_EVENTS_OF = select(*_EVENT_COLUMNS).where(_E.ticket_id.in_(bindparam("ids", expanding=True))).order_by(*_EVENT_ORDER)


def events_of(
    session: Session, ticket_ids: Iterable[int], progress: Progress | None = None
) -> dict[int, list[EventRecord]]:
    return events_on(session.connection(), ticket_ids, progress)


def events_on(conn: Any, ticket_ids: Iterable[int], progress: Progress | None = None) -> dict[int, list[EventRecord]]:
    """The histories of these tickets, on a connection (``events_of`` on a session's); ``progress``: told the
    tickets whose histories are read, of how many."""
    ids = list(ticket_ids)
    out: dict[int, list[EventRecord]] = defaultdict(list)
    # chunks keep the statement under SQLite's variable limit
    for i in range(0, len(ids), 900):
        _collect(conn.execute(_EVENTS_OF, {"ids": ids[i : i + 900]}), out)
        if progress is not None:
            progress("reading histories", min(i + 900, len(ids)), len(ids))
    return out


def all_events(session: Session) -> dict[int, list[EventRecord]]:
    out: dict[int, list[EventRecord]] = defaultdict(list)
    _collect(session.connection().execute(select(*_EVENT_COLUMNS).order_by(*_EVENT_ORDER)), out)
    return out


def load_ticket(session: Session, ticket_id: int, with_events: bool = True) -> TicketRecord | None:
    found = _records(session, _T.id == ticket_id)
    if not found:
        return None
    if with_events:
        found[0].events = events_of(session, [ticket_id]).get(ticket_id, [])
    return found[0]


def load_tickets(
    session: Session,
    statuses: Sequence[str] | None = None,
    with_events: bool = True,
    period: tuple | None = None,
    customer: str | None = None,
    progress: Progress | None = None,
) -> list[TicketRecord]:
    """Tickets with their customer and (by default) their histories; ``progress`` is told the tickets read, then
    the histories read (of how many tickets).

    ``period=(since, until)`` keeps only the tickets whose life overlaps it: created before ``until`` and
    either still open or changed since ``since``. That is exact for the KPIs of the period (a ticket closed and
    untouched before ``since`` cannot have opened, resolved, breached or been rated in it), and it is what
    keeps a 30-day report fast on a desk with years of history.
    """
    where: list[ColumnElement[bool]] = []
    if statuses:
        where.append(_T.status.in_(list(statuses)))
    if customer is not None:
        where.append(_CU.name == customer)
    if period is not None:
        where.append(in_period(*period))
    found = _records(session, *where, progress=progress)
    if not with_events:
        return found
    events = events_of(session, [t.id for t in found], progress) if where else all_events(session)
    for t in found:
        t.events = events.get(t.id, [])
    return found


def rule_candidates(
    session: Session, statuses: Sequence[str], filters: Sequence[dict[str, Any]], changed_after: Any
) -> list[TicketRecord]:
    """The tickets in these statuses (without their histories) that one of ``filters`` takes, or changed after
    ``changed_after``: each filter a conjunction of the ticket's ``priority``, ``customer``, ``type`` and
    ``group`` in the values given, and of its customer in ``customers_in`` (or not in ``customers_not_in``),
    an empty filter taking every ticket. What the escalation rules' filters say in SQL (``Desk.apply_rules``):
    only those rows are read."""
    columns = {"priority": _T.priority, "customer": _CU.name, "type": _T.type, "group": _T.group_name}
    taken: list[ColumnElement[bool]] = [_T.updated_at > changed_after]
    for f in filters:
        parts: list[ColumnElement[bool]] = [columns[k].in_(list(v)) for k, v in f.items() if k in columns]
        if "customers_in" in f:
            parts.append(_CU.name.in_(sorted(f["customers_in"])))
        if f.get("customers_not_in"):
            parts.append(_CU.name.not_in(sorted(f["customers_not_in"])))
        taken.append(and_(true(), *parts))
    return _records(session, _T.status.in_(list(statuses)), or_(*taken))


def in_period(since: Any, until: Any) -> ColumnElement[bool]:
    """The tickets whose life overlaps [since, until): created before ``until`` and either still open or changed
    since ``since`` (``load_tickets``)."""
    return and_(_T.created_at < until, or_(_T.status.not_in(["resolved", "closed"]), _T.updated_at >= since))


def count_in_period(session: Session, since: Any, until: Any) -> int:
    """How many tickets ``period_batches`` gives (one count, on the same condition)."""
    return int(
        session.connection()
        .execute(select(func.count()).select_from(core(Ticket)).where(in_period(since, until)))
        .scalar_one()
    )


def period_batches(session: Session, since: Any, until: Any, size: int = 1000) -> Iterator[list[TicketRecord]]:
    """The tickets of ``load_tickets(period=(since, until))`` with their histories, ``size`` at a time, by id
    (each batch read by the ids after the last one's: one index range, whatever the desk), in the session's
    transaction: a caller that folds each batch and drops it holds one batch at a time."""
    after = None
    where = in_period(since, until)
    while True:
        found = _records(session, where, *(() if after is None else (_T.id > after,)), limit=size)
        if not found:
            return
        events = events_of(session, [t.id for t in found])
        for t in found:
            t.events = events.get(t.id, [])
        yield found
        if len(found) < size:
            return
        after = found[-1].id


def linked_tickets(session: Session, major_id: int) -> list[TicketRecord]:
    """The tickets linked to a major incident (without their histories)."""
    return _records(session, col(Ticket.major_id) == major_id)


def open_majors(session: Session, stopped: Sequence[str]) -> list[tuple[TicketRecord, int]]:
    """The major incidents (tickets others are linked to) whose status is not in ``stopped``, each with how many
    tickets are linked to it, the most linked first (without their histories)."""
    counts: dict[int, int] = dict(
        session.execute(
            select(col(Ticket.major_id), func.count())
            .where(col(Ticket.major_id).is_not(None))
            .group_by(col(Ticket.major_id))
        ).all()
    )
    if not counts:
        return []
    heads = _records(session, col(Ticket.id).in_(list(counts)), col(Ticket.status).not_in(list(stopped)))
    return sorted(((t, counts[t.id]) for t in heads), key=lambda tc: (-tc[1], tc[0].id))


def contracts(session: Session, customer: str | None = None) -> list[ContractTerms]:
    """Every contract (of one customer), by customer then start."""
    stmt = select(Contract, col(Customer.name)).join(Customer, col(Customer.id) == col(Contract.customer_id))
    if customer is not None:
        stmt = stmt.where(col(Customer.name) == customer)
    rows = session.execute(stmt.order_by(col(Customer.name), col(Contract.start)))
    return [
        ContractTerms(
            name=c.name,
            customer=name,
            start=c.start,
            end=c.end,
            renews=c.renews,
            policy=c.policy,
            included_seconds=c.included_seconds,
            rate_cents=c.rate_cents,
            scope=c.scope,
            id=c.id,
        )
        for c, name in rows
    ]


def customer_names(session: Session) -> list[str]:
    return list(session.execute(select(col(Customer.name)).order_by(col(Customer.name))).scalars())
