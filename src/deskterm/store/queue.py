"""The queue's reads: one view + filters + search + sort, counted and windowed in SQL.

The queue screen never loads the whole desk: it asks for the total (``count``), a window of rows
(``window(offset, limit)``) and, to keep its cursor on a ticket across reloads, the position of one
ticket in the ordering (``position``). Filtering and sorting are done in SQL, which returns only the
ordered ids (from indexes where it can); rows are then fetched a window at a time by primary key.
Sorting is always ``<column>, id`` so the order is total and positions are stable.

``parse_filter`` is pure: it turns what the agent types after ``/`` into ``Filters``.
``VersionWatch`` keeps one connection of its own for ``PRAGMA data_version``: the value is per
connection, so asking pooled connections in turn would report changes that did not happen.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ..domain.workflow import STATUSES, STOPPED
from ..records import TicketRecord
from . import queries
from .engine import Store
from .models import Customer, Ticket

OPEN_STATUSES = tuple(s for s in STATUSES if s not in STOPPED)

# view key → tab title; the order is the tab order and the number keys 1–6
VIEWS: dict[str, str] = {
    "mine": "My tickets",
    "unassigned": "Unassigned",
    "breaching": "Breaching soon",
    "escalated": "Escalated",
    "pending": "Pending",
    "open": "All open",
}
BREACHING_HORIZON = timedelta(hours=1)
FIRST_LEVEL = "L1"  # tickets in any other group are "escalated"

# sort key → column title, in the order ``o`` cycles through them
SORTS: dict[str, str] = {
    "due": "time to breach",
    "priority": "priority",
    "status": "status",
    "id": "id",
    "customer": "customer",
    "subject": "subject",
    "assignee": "assignee",
    "group": "group",
    "age": "age",
}

_FILTER_KEYS = {
    "prio": "priorities", "priority": "priorities", "p": "priorities",
    "status": "statuses", "s": "statuses",
    "customer": "customers", "c": "customers",
    "assignee": "assignees", "a": "assignees",
    "group": "groups", "g": "groups",
}


@dataclass(frozen=True)
class Filters:
    """What the agent typed after ``/``: field terms (OR within a field, AND across) and free words."""

    priorities: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    customers: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    words: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return self == Filters()


def parse_filter(text: str) -> Filters:
    """``"vpn prio:P1,P2 status:open customer:lyon assignee:me group:L2"`` → Filters.

    A term is ``key:value[,value...]``; an unknown key or an empty value leaves the term as a free word
    (so a subject containing "a:b" can still be searched). Priorities are upper-cased, statuses
    lower-cased; everything else matches case-insensitively when queried.
    """
    found: dict[str, list[str]] = {}
    words: list[str] = []
    for token in text.split():
        key, sep, value = token.partition(":")
        target = _FILTER_KEYS.get(key.lower()) if sep else None
        values = [v for v in value.split(",") if v] if target else []
        if not values:
            words.append(token)
            continue
        if target == "priorities":
            values = [v.upper() for v in values]
        elif target == "statuses":
            values = [v.lower().replace("-", "_") for v in values]
        found.setdefault(target, []).extend(values)  # type: ignore[arg-type]
    return Filters(**{k: tuple(v) for k, v in found.items()}, words=tuple(words))


@dataclass(frozen=True)
class Sort:
    column: str = "due"
    descending: bool = False

    def next(self) -> "Sort":
        keys = list(SORTS)
        return Sort(keys[(keys.index(self.column) + 1) % len(keys)], False)

    def reversed(self) -> "Sort":
        return replace(self, descending=not self.descending)


@dataclass(frozen=True)
class Row:
    """One queue row: what the table shows, plus ``version`` (for caches and optimistic updates)."""

    id: int
    ref: str | None
    subject: str
    customer: str
    priority: str
    status: str
    assignee: str | None
    group: str
    created_at: datetime
    next_due: datetime | None
    next_warn: datetime | None
    version: int


_ROW_COLUMNS = (
    Ticket.id, Ticket.ref, Ticket.subject, Customer.name, Ticket.priority, Ticket.status, Ticket.assignee,
    Ticket.group_name, Ticket.created_at, Ticket.next_due, Ticket.next_warn, Ticket.version,
)

_STATUS_RANK = case({s: i for i, s in enumerate(STATUSES)}, value=Ticket.status, else_=len(STATUSES))


def _sort_key(column: str) -> ColumnElement:
    return {
        "due": Ticket.next_due,
        "priority": Ticket.priority,
        "status": _STATUS_RANK,
        "id": Ticket.id,
        "customer": func.lower(Customer.name),
        "subject": func.lower(Ticket.subject),
        "assignee": Ticket.assignee,
        "group": Ticket.group_name,
        "age": Ticket.created_at,
    }[column]  # type: ignore[return-value]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column, text: str, sqlite: bool) -> ColumnElement:
    # SQLite's LIKE already ignores (ASCII) case and, without lower(), costs no function call per row
    pattern = _like(text)
    return column.like(pattern, escape="\\") if sqlite else column.ilike(pattern, escape="\\")


def _customers_matching(text: str, sqlite: bool):
    # a subquery on the small customers table spares joining it to every ticket
    return Ticket.customer_id.in_(select(Customer.id).where(_contains(Customer.name, text, sqlite)))  # type: ignore[attr-defined]


def view_condition(view: str, user: str, now: datetime) -> ColumnElement:
    is_open = Ticket.status.in_(OPEN_STATUSES)  # type: ignore[attr-defined]
    if view == "mine":
        return and_(is_open, Ticket.assignee == user)
    if view == "unassigned":
        return and_(is_open, Ticket.assignee.is_(None))  # type: ignore[union-attr]
    if view == "breaching":
        return and_(is_open, or_(Ticket.next_warn <= now, Ticket.next_due <= now + BREACHING_HORIZON))  # type: ignore[operator]
    if view == "escalated":
        return and_(is_open, Ticket.group_name != FIRST_LEVEL)
    if view == "pending":
        return Ticket.status == "pending"
    if view == "open":
        return is_open
    raise ValueError(f"unknown view {view!r}")


def filter_conditions(filters: Filters, user: str, sqlite: bool = True) -> list[ColumnElement]:
    conds: list[ColumnElement] = []
    if filters.priorities:
        conds.append(Ticket.priority.in_(filters.priorities))  # type: ignore[attr-defined]
    if filters.statuses:
        conds.append(Ticket.status.in_(filters.statuses))  # type: ignore[attr-defined]
    if filters.customers:
        conds.append(or_(*(_customers_matching(c, sqlite) for c in filters.customers)))
    if filters.assignees:
        alts = []
        for a in filters.assignees:
            if a.lower() in ("none", "nobody", "-"):
                alts.append(Ticket.assignee.is_(None))  # type: ignore[union-attr]
            else:
                alts.append(func.lower(Ticket.assignee) == (user if a.lower() == "me" else a).lower())
        conds.append(or_(*alts))
    if filters.groups:
        # a prefix: group:L2 takes L2-network and L2-apps
        conds.append(or_(*(func.lower(Ticket.group_name).like(_like(g.lower())[1:], escape="\\") for g in filters.groups)))
    for word in filters.words:
        alts = [_contains(Ticket.subject, word, sqlite), _customers_matching(word, sqlite), _contains(Ticket.ref, word, sqlite)]
        digits = word.lstrip("#")
        if digits.isdigit():
            alts.append(Ticket.id == int(digits))
        conds.append(or_(*alts))
    return conds


@dataclass
class QueueQuery:
    """One queue as the agent sees it: a view, filters and free-text search, and a sort.

    The first question asked runs one query for the ordered ids of every matching ticket (an index
    scan and a sort in SQL, about 100 ms at 100,000 tickets) and keeps them; count, windows and
    positions are then answered from that snapshot, and a window's rows are fetched by primary key.
    A reload (new data, new sort or filter) is a new QueueQuery.
    """

    store: Store
    view: str = "open"
    filters: Filters = field(default_factory=Filters)
    sort: Sort = field(default_factory=Sort)
    user: str = ""
    now: datetime | None = None  # the instant time-dependent views are taken at
    _ids: array | None = field(default=None, init=False, repr=False)

    def _where(self) -> list[ColumnElement]:
        now = self.now or datetime.now().astimezone()
        return [view_condition(self.view, self.user, now), *filter_conditions(self.filters, self.user, self.store.is_sqlite)]

    def _order(self) -> list:
        key = _sort_key(self.sort.column)
        if self.sort.descending:
            return [key.desc().nulls_last(), Ticket.id.desc()]  # type: ignore[union-attr]
        return [key.asc().nulls_last(), Ticket.id.asc()]  # type: ignore[union-attr]

    def ids(self) -> array:
        """Every matching ticket id, in order (computed once per QueueQuery)."""
        if self._ids is None:
            stmt = select(Ticket.id).where(*self._where()).order_by(*self._order())
            if self.sort.column == "customer":
                stmt = stmt.join(Customer, Customer.id == Ticket.customer_id)
            # Core, not the ORM session: 100,000 plain integers need no identity map
            with self.store.engine.connect() as conn:
                self._ids = array("q", (r[0] for r in conn.execute(stmt)))
        return self._ids

    def count(self) -> int:
        return len(self.ids())

    def window(self, offset: int, limit: int) -> list[Row]:
        offset = max(offset, 0)
        wanted = self.ids()[offset : offset + limit]
        found = self.rows(wanted)
        # a ticket deleted since the snapshot is skipped; the next reload takes a fresh one
        return [found[i] for i in wanted if i in found]

    def position(self, ticket_id: int | None) -> int | None:
        """Where a ticket stands in this ordering (0-based), None when the view/filters exclude it."""
        if ticket_id is None:
            return None
        try:
            return self.ids().index(ticket_id)
        except ValueError:
            return None

    def rows(self, ids: Sequence[int]) -> dict[int, Row]:
        """Fresh rows of these tickets, whatever the view (also for a frozen order)."""
        out: dict[int, Row] = {}
        ids = list(ids)
        with self.store.engine.connect() as conn:
            for i in range(0, len(ids), 900):  # SQLite's variable limit
                stmt = (select(*_ROW_COLUMNS).join(Customer, Customer.id == Ticket.customer_id)
                        .where(Ticket.id.in_(ids[i : i + 900])))  # type: ignore[union-attr]
                out.update((r[0], Row(*r)) for r in conn.execute(stmt))
        return out


def view_counts(store: Store, user: str, now: datetime) -> dict[str, int]:
    """How many tickets each view holds, in one scan."""
    columns = [func.sum(case((view_condition(v, user, now), 1), else_=0)) for v in VIEWS]
    stmt = select(*columns).select_from(Ticket).where(Ticket.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        values = conn.execute(stmt).one()
    return {v: int(n or 0) for v, n in zip(VIEWS, values)}


def records(store: Store, ids: Sequence[int]) -> list[TicketRecord]:
    """Whole tickets with their history, for evaluating the SLA of the visible rows."""
    if not ids:
        return []
    stmt = select(Ticket, Customer.name).join(Customer, Customer.id == Ticket.customer_id).where(Ticket.id.in_(list(ids)))  # type: ignore[union-attr]
    with store.read() as session:
        rows = session.execute(stmt).all()
        events = queries.events_of(session, [t.id for t, _ in rows])
    return [queries._record(t, c, events.get(t.id, [])) for t, c in rows]  # type: ignore[arg-type]


class VersionWatch:
    """Notices commits by other connections (another ``deskterm`` process, or our own writes)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # a raw DBAPI connection in autocommit: a SQLAlchemy one would BEGIN and could pin a WAL snapshot
        self._conn = store.engine.raw_connection() if store.is_sqlite else None
        self._last = self._read()

    def _read(self) -> int:
        if self._conn is None:
            # PostgreSQL has no data_version: a cheap fingerprint of the tickets table instead
            with self.store.read() as session:
                n, v = session.execute(select(func.count(), func.coalesce(func.sum(Ticket.version), 0))).one()
                return hash((n, v))
        cur = self._conn.cursor()
        try:
            cur.execute("PRAGMA data_version")
            return int(cur.fetchone()[0])
        finally:
            cur.close()

    def changed(self) -> bool:
        value = self._read()
        if value != self._last:
            self._last = value
            return True
        return False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


__all__ = ["Filters", "QueueQuery", "Row", "Sort", "SORTS", "VIEWS", "VersionWatch", "parse_filter", "records", "view_counts"]
