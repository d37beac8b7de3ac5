"""The reads of ``show`` and ``list --status`` through the database's driver alone (``sqlite3``, ``psycopg``).

A command that only reads one ticket, or the rows of the open tickets, spent most of its time importing the
store's libraries (SQLAlchemy, SQLModel with pydantic, the 22 table models: about 0.45 s of a 0.6 s ``show``)
before a few statements. This module imports none of them: it opens the desk with the driver, reads the schema's
revision (one row: the desk must be at ``migrate.HEAD``, anything else is left to ``engine.open_store``, which
migrates or says why it cannot) and the fingerprint of the configuration its deadlines were derived with (a
change is left to the store too: ``Desk.rederive`` writes), then reads.

The columns each record is made of are listed here once (``TICKET_RECORD``, ``EVENT``, ``CONTACT``, ``ROW``: a
record's fields in order, each a table's column), and the store's Core statements are built from the same
lists (``columns``), so the two ways of reading a record cannot disagree on a column or its place. The values
come back as SQLAlchemy's column types give them: an instant as an aware datetime in UTC (SQLite keeps the text
SQLAlchemy wrote, which ``datetime.fromisoformat`` reads, as SQLAlchemy does; PostgreSQL a ``timestamptz``), a
boolean as a bool. ``tests/store/test_plain_reads.py`` compares both ways, record for record, on both engines.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..clock import Clock
from ..errors import BadInput
from ..records import ContactRecord, EventRecord, TicketRecord, stored_event
from ..timers import Timers

if TYPE_CHECKING:
    from ..config import Config
    from ..domain.billing import Contract as ContractTerms
    from ..domain.escalation import Firing
    from .queue_terms import Row, Sort

Column = tuple[str, str]  # (table, column)

# The fields of a TicketRecord, in order (its history aside).
TICKET_RECORD: tuple[Column, ...] = (
    ("tickets", "id"),
    ("tickets", "ref"),
    ("tickets", "subject"),
    ("tickets", "description"),
    ("customers", "name"),
    ("tickets", "priority"),
    ("tickets", "initial_priority"),
    ("tickets", "impact"),
    ("tickets", "urgency"),
    ("tickets", "type"),
    ("tickets", "status"),
    ("tickets", "assignee"),
    ("tickets", "group_name"),
    ("tickets", "created_at"),
    ("tickets", "created_by"),
    ("tickets", "updated_at"),
    ("tickets", "version"),
    ("tickets", "next_due"),
    ("tickets", "next_warn"),
    ("tickets", "classification"),
    ("tickets", "resolution_code"),
    ("tickets", "first_contact"),
    ("tickets", "major_id"),
    ("tickets", "csat_score"),
    ("tickets", "csat_comment"),
    ("tickets", "next_timer"),
    ("tickets", "next_left"),
    ("tickets", "category"),
    ("tickets", "contact_id"),
)
# An event of a history: its ticket's id, then the fields of an EventRecord as ``event_record`` takes them.
EVENT: tuple[Column, ...] = (
    ("events", "ticket_id"),
    ("events", "id"),
    ("events", "at"),
    ("events", "kind"),
    ("events", "author"),
    ("events", "public"),
    ("events", "body"),
    ("events", "from_value"),
    ("events", "to"),
    ("events", "reason"),
)
EVENT_ORDER: tuple[Column, ...] = (("events", "ticket_id"), ("events", "at"), ("events", "id"))
# The fields of a ContactRecord, in order.
CONTACT: tuple[Column, ...] = (
    ("contacts", "id"),
    ("contacts", "customer_id"),
    ("customers", "name"),
    ("contacts", "name"),
    ("contacts", "email"),
    ("contacts", "phone"),
    ("contacts", "role"),
)
# The fields of a queue row (``queue_terms.Row``), in order.
ROW: tuple[Column, ...] = (
    ("tickets", "id"),
    ("tickets", "ref"),
    ("tickets", "subject"),
    ("customers", "name"),
    ("tickets", "priority"),
    ("tickets", "status"),
    ("tickets", "assignee"),
    ("tickets", "group_name"),
    ("tickets", "created_at"),
    ("tickets", "next_due"),
    ("tickets", "next_warn"),
    ("tickets", "version"),
    ("tickets", "next_timer"),
    ("tickets", "next_left"),
    ("tickets", "updated_at"),
)
# What ``list`` prints of a row, its instants as whole epoch seconds (``Timers.row_timer_at``'s arguments).
LIST_LINE: tuple[Column, ...] = (
    ("tickets", "id"),
    ("tickets", "priority"),
    ("tickets", "status"),
    ("customers", "name"),
    ("tickets", "subject"),
    ("tickets", "next_timer"),
    ("tickets", "next_due"),
    ("tickets", "next_left"),
    ("tickets", "next_warn"),
    ("tickets", "updated_at"),
)
# The columns whose values are instants, and booleans (as the table models type them: a test checks it).
INSTANTS = frozenset({("tickets", "created_at"), ("tickets", "updated_at"), ("tickets", "next_due")})
INSTANTS |= {("tickets", "next_warn"), ("events", "at")}
BOOLEANS = frozenset({("tickets", "first_contact"), ("events", "public")})

_PG_MAX_ID = 2**31 - 1  # PostgreSQL's ids are INTEGER: a larger number is no ticket (the server would refuse it)
_ALIASES = {"tickets": "t", "customers": "cu", "events": "e", "contacts": "co"}


def columns(spec: Sequence[Column], **tables: Any) -> tuple[Any, ...]:
    """The columns of ``spec`` taken from each table's column collection (SQLAlchemy Core:
    ``columns(TICKET_RECORD, tickets=core(Ticket).c, customers=core(Customer).c)``): how the store's statements
    are built from these lists."""
    return tuple(tables[table][name] for table, name in spec)


def ticket_number(key: str | int, postgresql: bool) -> int | None:
    """The number a ticket's key may be (``42``, ``#42``), None when it is none (or beyond PostgreSQL's ids, where
    the server would refuse the comparison itself instead of finding nothing); a ref is looked up first."""
    text = str(key).strip().lstrip("#")
    if not text.isdigit():
        return None
    number = int(text)
    return None if postgresql and number > _PG_MAX_ID else number


def no_such_ticket(key: str | int) -> BadInput:
    return BadInput(f"ticket {key}: no such ticket")


def sqlite_epoch(column: str, unixepoch: bool) -> str:
    """SQLite's text of an instant (``YYYY-MM-DD HH:MM:SS.ffffff``) as whole epoch seconds, cut to the second;
    ``unixepoch``: through ``unixepoch()`` (SQLite 3.38 on), the same integer as ``strftime('%s')``'s text cast at
    two thirds of its cost (``list`` computes three for each of tens of thousands of rows)."""
    if unixepoch:
        return f"unixepoch(substr({column}, 1, 19))"
    return f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER)"


def _sql_columns(spec: Sequence[Column]) -> str:
    return ", ".join(f'{_ALIASES[table]}."{name}"' for table, name in spec)


def _from_sqlite_instant(value: str | None) -> datetime | None:
    # what SQLAlchemy does with SQLite's text (2.0: datetime.fromisoformat), then store.types.UTCDateTime: the text
    # read as UTC (the zone added to the text: a third of the cost of ``replace(tzinfo=UTC)`` on Python 3.11)
    if value is None:
        return None
    try:
        return _fromisoformat(value + "+00:00")
    except ValueError:  # (a text that carries its own offset: as UTCDateTime reads it)
        return _fromisoformat(value).astimezone(UTC)


_fromisoformat = datetime.fromisoformat


def _from_pg_instant(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _to_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _converter(spec: Sequence[Column], postgresql: bool) -> Callable[[Sequence[Any]], list[Any]]:
    """A row of ``spec``'s columns made the values SQLAlchemy's column types give (instants, booleans)."""
    instant = _from_pg_instant if postgresql else _from_sqlite_instant
    conv: list[tuple[int, Callable[[Any], Any]]] = [(i, instant) for i, c in enumerate(spec) if c in INSTANTS]
    if not postgresql:  # SQLite keeps booleans as 0 and 1
        conv += [(i, _to_bool) for i, c in enumerate(spec) if c in BOOLEANS]

    def convert(row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for i, f in conv:
            values[i] = f(values[i])
        return values

    return convert


def _bound(at: datetime, postgresql: bool) -> Any:
    """An instant as SQLAlchemy binds it (``store.types.UTCDateTime``): in UTC; on SQLite, the text it writes."""
    at = at.astimezone(UTC)
    return at if postgresql else at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def period_batches(
    conn: Any, postgresql: bool, since: datetime, until: datetime, size: int = 1000
) -> Iterator[list[TicketRecord]]:
    """``queries.period_batches`` through the driver, on the store's own connection (its transaction): the same
    tickets, by id, ``size`` at a time, with their histories, the same records. A year's report at a million
    tickets spent a third of its time having SQLAlchemy make these records (``tests/store/test_plain_reads.py``
    compares both, on both engines)."""
    for tickets, events in period_rows(conn, postgresql, since, until, size):
        yield period_records(tickets, events, postgresql)


def period_rows(
    conn: Any, postgresql: bool, since: datetime, until: datetime, size: int = 1000
) -> Iterator[tuple[list[Any], list[Any]]]:
    """The rows ``period_batches`` makes its records of, as the driver gives them: a batch's tickets (``TICKET_RECORD``)
    and their events (``EVENT``, by ticket), plain values that another process can be sent (``Desk.kpis``)."""
    from ..domain.workflow import STOPPED

    mark = "%s" if postgresql else "?"
    stopped = sorted(STOPPED)
    # queries.in_period: created before ``until``, and open or changed since ``since``
    where = (
        f"t.created_at < ? AND (t.status NOT IN ({', '.join('?' for _ in stopped)}) OR t.updated_at >= ?) AND t.id > ?"
    )
    sql = (
        f"SELECT {_sql_columns(TICKET_RECORD)} FROM tickets t JOIN customers cu ON cu.id = t.customer_id"
        f" WHERE {where} ORDER BY t.id LIMIT {int(size)}"
    ).replace("?", mark)
    order = ", ".join(f'e."{c}"' for _, c in EVENT_ORDER)
    bounds = [_bound(until, postgresql), *stopped, _bound(since, postgresql)]
    after = 0
    while True:
        cur = conn.execute(sql, [*bounds, after])
        try:
            tickets = cur.fetchall()
        finally:
            cur.close()
        if not tickets:
            return
        ids = [row[0] for row in tickets]
        events: list[Any] = []
        for i in range(0, len(ids), 900):  # SQLite's variable limit
            chunk = ids[i : i + 900]
            marks = ", ".join(mark for _ in chunk)
            cur = conn.execute(
                f"SELECT {_sql_columns(EVENT)} FROM events e WHERE e.ticket_id IN ({marks}) ORDER BY {order}", chunk
            )
            try:
                events.extend(cur.fetchall())
            finally:
                cur.close()
        yield tickets, events
        if len(tickets) < size:
            return
        after = ids[-1]


def period_records(tickets: Sequence[Any], events: Iterable[Any], postgresql: bool) -> list[TicketRecord]:
    """The records of ``period_rows``' rows: the tickets with their histories (each event's ticket among them)."""
    ticket = _converter(TICKET_RECORD, postgresql)
    instant = _from_pg_instant if postgresql else _from_sqlite_instant
    found = [TicketRecord(*ticket(row)) for row in tickets]
    histories: dict[int, list[EventRecord]] = {t.id: t.events for t in found}
    for tid, eid, at, kind, author, public, body, from_value, to, reason in events:
        if public is not None and not postgresql:  # (SQLite keeps booleans as 0 and 1)
            public = bool(public)
        when: Any = instant(at)  # (never None: events.at is NOT NULL)
        histories[tid].append(stored_event(when, kind, author, public, body, from_value, to, reason, eid))
    return found


@dataclass
class PlainDesk(Timers):
    """An open desk read through its driver: the reads of ``show`` and ``list``, with the configuration and the
    clock (``Timers``: the timers of a row or a history, as the service computes them)."""

    conn: Any
    postgresql: bool
    config: Config
    clock: Clock

    def __post_init__(self) -> None:
        self._mark = "%s" if self.postgresql else "?"
        self._ticket = _converter(TICKET_RECORD, self.postgresql)
        self._event = _converter(EVENT, self.postgresql)

    def _epoch(self, column: str) -> str:
        """An instant as whole epoch seconds, in SQL: ``epoch`` (the fraction dropped) without a datetime made
        per value. SQLite: its text cut to the second (SQLite would round a fraction to milliseconds first)."""
        if self.postgresql:
            return f"floor(extract(epoch from {column}))::bigint"
        import sqlite3

        return sqlite_epoch(column, sqlite3.sqlite_version_info >= (3, 38))

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cur = self.conn.execute(sql.replace("?", self._mark), params)
        try:
            return cur.fetchall()
        finally:
            cur.close()

    def close(self) -> None:
        try:
            if self.postgresql:
                self.conn.rollback()
        finally:
            self.conn.close()

    # -- reads --------------------------------------------------------------------------------------

    def meta_value(self, key: str) -> str | None:
        found = self._rows('SELECT "value" FROM meta WHERE "key" = ?', (key,))
        return found[0][0] if found else None

    def find_ticket_id(self, key: str | int) -> int | None:
        """As ``queries.find_ticket_id``: a ref first, then a number."""
        text = str(key).strip()
        try:
            found = self._rows("SELECT id FROM tickets WHERE ref = ?", (text,))
            if found:
                return found[0][0]
            number = ticket_number(text, self.postgresql)
            if number is None:
                return None
            found = self._rows("SELECT id FROM tickets WHERE id = ?", (number,))
        except (ValueError, OverflowError, UnicodeError):  # a number beyond 64 bits, undecodable bytes (as Desk._load)
            return None
        return found[0][0] if found else None

    def ticket(self, key: str | int) -> TicketRecord:
        """One ticket with its history (``Desk.ticket``), read in one snapshot."""
        ticket_id = self.find_ticket_id(key)
        found = (
            self._rows(
                f"SELECT {_sql_columns(TICKET_RECORD)} FROM tickets t JOIN customers cu ON cu.id = t.customer_id"
                " WHERE t.id = ?",
                (ticket_id,),
            )
            if ticket_id is not None
            else []
        )
        if not found:
            raise no_such_ticket(key)
        record = TicketRecord(*self._ticket(found[0]))
        order = ", ".join(f'e."{c}"' for _, c in EVENT_ORDER)
        events = self._rows(
            f"SELECT {_sql_columns(EVENT)} FROM events e WHERE e.ticket_id = ? ORDER BY {order}", (ticket_id,)
        )
        record.events = [event_record(self._event(row)) for row in events]
        return record

    def contact_of(self, ticket: TicketRecord) -> ContactRecord | None:
        if ticket.contact_id is None:
            return None
        found = self._rows(
            f"SELECT {_sql_columns(CONTACT)} FROM contacts co JOIN customers cu ON cu.id = co.customer_id"
            " WHERE co.id = ?",
            (ticket.contact_id,),
        )
        return ContactRecord(*found[0]) if found else None

    def list_lines(self, statuses: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """The tickets in these statuses, by id, as ``LIST_LINE`` says: plain tuples, their instants as whole epoch
        seconds computed by the database (``Timers.row_timer_at`` takes them so)."""
        cols = []
        for table, name in LIST_LINE:
            column = f'{_ALIASES[table]}."{name}"'
            cols.append(self._epoch(column) if (table, name) in INSTANTS else column)
        marks = ", ".join("?" for _ in statuses)
        sql = (
            f"SELECT {', '.join(cols)} FROM tickets t JOIN customers cu ON cu.id = t.customer_id"
            f" WHERE t.status IN ({marks}) ORDER BY t.id"
        )
        cur = self.conn.execute(sql.replace("?", self._mark), list(statuses))
        try:
            while True:
                batch = cur.fetchmany(2000)
                if not batch:
                    return
                yield from batch
        finally:
            cur.close()

    # -- the queue's first screenful, before the store's libraries are imported (the app's launch) --------------

    def queue_head(
        self, view: str, user: str, descending: bool, now: datetime, n: int, scan_most: int | None = None
    ) -> QueueHead | None:
        """The first ``n`` rows of a data view in "time to breach", without field filters or free words: what
        ``QueueQuery.head`` reads (its groups, breached, warning, the rest, no deadline, as ranges of the deadline
        index, each in its order with the view as a column, until ``n`` are in the view; given up after
        ``HEAD_SCAN_MOST`` rows read), through the driver. The app paints it before SQLAlchemy, SQLModel and the
        table models are imported (about a second and a half of a launch at a million tickets). None for another
        view, or where the reads would run long. ``tests/store/test_queue_head.py`` compares it with
        ``QueueQuery.head`` and the whole order on both engines."""
        from .queue_terms import FIRST_LEVEL, HEAD_SCAN_MOST, OPEN_STATUSES

        is_open = f"t.status IN ({', '.join('?' for _ in OPEN_STATUSES)})"
        views: dict[str, tuple[str, list[Any]]] = {  # queue_conditions.data_view_condition, as SQL text
            "open": (is_open, [*OPEN_STATUSES]),
            "mine": (f"{is_open} AND t.assignee = ?", [*OPEN_STATUSES, user]),
            "unassigned": (f"{is_open} AND t.assignee IS NULL", [*OPEN_STATUSES]),
            "pending": ("t.status = ?", ["pending"]),
            "escalated": (
                f"{is_open} AND (t.group_name <> ? OR EXISTS (SELECT e.id FROM escalations e"
                " WHERE e.closed_at IS NULL AND e.ticket_id = t.id))",
                [*OPEN_STATUSES, FIRST_LEVEL],
            ),
        }
        if view not in views:
            return None
        condition, params = views[view]
        at: Any = now.astimezone(UTC)
        if not self.postgresql:  # the text SQLAlchemy binds for an instant on SQLite (store.types.UTCDateTime)
            at = at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        groups: list[tuple[str, list[Any]]] = [  # as QueueQuery.arrange cuts them out of the order by deadline
            ("t.next_due < ?", [at]),
            ("t.next_due >= ? AND t.next_warn <= ?", [at, at]),
            ("t.next_due >= ? AND (t.next_warn IS NULL OR t.next_warn > ?)", [at, at]),
        ]
        order = "t.next_due DESC, t.id DESC" if descending else "t.next_due ASC, t.id ASC"
        if descending:
            groups = groups[::-1]
        ranges = [(where, values, order) for where, values in groups]
        ranges.append(("t.next_due IS NULL", [], "t.id DESC" if descending else "t.id ASC"))
        found: list[int] = []
        budget = HEAD_SCAN_MOST if scan_most is None else scan_most
        for where, values, by in ranges:
            if len(found) >= n:
                break
            if budget <= 0:
                return None
            sql = (
                f"SELECT t.id, CASE WHEN {condition} THEN 1 ELSE 0 END FROM tickets t WHERE {where}"
                f" ORDER BY {by} LIMIT {int(budget)}"
            )
            cur = self.conn.execute(sql.replace("?", self._mark), [*params, *values])
            read = 0
            try:
                while len(found) < n:
                    batch = cur.fetchmany(256)
                    if not batch:
                        break
                    for ticket_id, inside in batch:
                        read += 1
                        if inside:
                            found.append(ticket_id)
                            if len(found) >= n:
                                break
            finally:
                cur.close()
            if len(found) < n and read == budget:  # the range goes on beyond what was read
                return None
            budget -= read
        return QueueHead(view, descending, found, self.queue_rows(found))

    def queue_rows(self, ids: Sequence[int]) -> dict[int, Row]:
        """The queue's rows of these tickets (``ROW``), as ``QueueQuery.rows`` reads them."""
        from .queue_terms import Row

        instant = _from_pg_instant if self.postgresql else _from_sqlite_instant
        at = [i for i, c in enumerate(ROW) if c in INSTANTS]
        out: dict[int, Row] = {}
        for i in range(0, len(ids), 900):  # SQLite's variable limit
            chunk = list(ids[i : i + 900])
            sql = (
                f"SELECT {_sql_columns(ROW)} FROM tickets t JOIN customers cu ON cu.id = t.customer_id"
                f" WHERE t.id IN ({', '.join('?' for _ in chunk)})"
            )
            for found in self._rows(sql, chunk):
                values = list(found)
                for k in at:
                    values[k] = instant(values[k])
                out[values[0]] = Row(*values)
        return out

    # -- what the escalation rules would fire now (escalate-due looks before it opens the store to write) -------

    def escalations_due(self, now: datetime) -> list[tuple[int, Firing]]:
        """What ``Desk.apply_rules`` (now) would fire: the same candidates (the rules' filters in SQL, then
        ``rule_candidate``), their histories, the firings already recorded, and ``due_firings``; read in one
        snapshot. Empty: there is nothing to write (``escalate-due`` from cron, most minutes)."""
        from ..domain.workflow import STATUSES, is_open

        rules = self.config.escalation.rules
        if not rules:
            return []
        statuses = [s for s in STATUSES if is_open(s)]
        filters = [self.rule_filter(r) for r in rules]
        tickets = [t for t in self.rule_candidates(statuses, filters, now) if self.rule_candidate(t, now)]
        histories = self.events_of([t.id for t in tickets])
        for t in tickets:
            t.events = histories.get(t.id, [])
        fired = {tuple(r) for r in self._rows('SELECT "rule", ticket_id, "cycle" FROM rule_firings')}
        return self.due_firings(tickets, fired, now)

    def rule_candidates(
        self, statuses: Sequence[str], filters: Sequence[dict[str, Any]], now: datetime
    ) -> list[TicketRecord]:
        """As ``queries.rule_candidates`` (a superset of it: a row changed within the second of ``now`` too; the
        rules' ``rule_candidate`` decides), without histories. Two statements, their rows merged by id: the rows
        the rules' filters take (through the index of a filter's column: a few rows, where one statement with
        the change's instant in the same ``OR`` read every open row), and the rows changed since the second of
        ``now`` (every open row read, comparing the stored text: no instant computed per row)."""
        marks = ", ".join("?" for _ in statuses)
        head = (
            f"SELECT {_sql_columns(TICKET_RECORD)} FROM tickets t JOIN customers cu ON cu.id = t.customer_id"
            f" WHERE t.status IN ({marks}) AND "
        )
        params: list[Any] = []
        columns = {"priority": 't."priority"', "customer": 'cu."name"', "type": 't."type"', "group": 't."group_name"'}
        taken = []
        for f in filters:
            parts = []
            for key, values in [
                *((k, v) for k, v in f.items() if k in columns),
                ("customers_in", f.get("customers_in")),
            ]:
                if values is None:
                    continue
                values = sorted(values)
                if not values:
                    parts.append("1 = 0")
                    continue
                column = columns.get(key, 'cu."name"')
                parts.append(f"{column} IN ({', '.join('?' for _ in values)})")
                params.extend(values)
            if f.get("customers_not_in"):
                values = sorted(f["customers_not_in"])
                parts.append(f'cu."name" NOT IN ({", ".join("?" for _ in values)})')
                params.extend(values)
            taken.append("(" + " AND ".join(parts) + ")" if parts else "1 = 1")
        found: dict[int, Any] = {}
        if taken:
            for row in self._rows(head + f"({' OR '.join(taken)})", [*statuses, *params]):
                found[row[0]] = row
        if "1 = 1" not in taken:  # (a rule without filters took every row already)
            # the second of ``now``: on SQLite the text SQLAlchemy writes cut there (``YYYY-MM-DD HH:MM:SS``), which
            # the stored text (with its fraction) is compared with as the instant its first 19 characters say
            second = datetime.fromtimestamp(int(now.timestamp() // 1), UTC)
            bound: Any = second if self.postgresql else second.strftime("%Y-%m-%d %H:%M:%S")
            for row in self._rows(head + "t.updated_at >= ?", [*statuses, bound]):
                found[row[0]] = row
        return [TicketRecord(*self._ticket(found[k])) for k in sorted(found)]

    def events_of(self, ticket_ids: Sequence[int]) -> dict[int, list[EventRecord]]:
        """The histories of these tickets (``queries.events_of``)."""
        out: dict[int, list[EventRecord]] = {}
        order = ", ".join(f'e."{c}"' for _, c in EVENT_ORDER)
        for i in range(0, len(ticket_ids), 900):  # SQLite's variable limit
            chunk = list(ticket_ids[i : i + 900])
            marks = ", ".join("?" for _ in chunk)
            sql = f"SELECT {_sql_columns(EVENT)} FROM events e WHERE e.ticket_id IN ({marks}) ORDER BY {order}"
            for row in self._rows(sql, chunk):
                out.setdefault(row[0], []).append(event_record(self._event(row)))
        return out

    # -- the ticket screen's read (``Desk.ticket_view``): what the store's ORM reads gave, statement for statement

    def linked(self, major_id: int) -> list[TicketRecord]:
        """The tickets linked to a major incident, without their histories, by id (``queries.linked_tickets``)."""
        rows = self._rows(
            f"SELECT {_sql_columns(TICKET_RECORD)} FROM tickets t JOIN customers cu ON cu.id = t.customer_id"
            " WHERE t.major_id = ? ORDER BY t.id",
            (major_id,),
        )
        return [TicketRecord(*self._ticket(row)) for row in rows]

    def open_escalation_lines(self, ticket_id: int, stopped: Iterable[str]) -> list[tuple[str, str]]:
        """(kind, target) of a ticket's open escalations, oldest first: not closed, the ticket's status not in
        ``stopped`` (``Desk.escalations(open_only=True)``)."""
        stopped = sorted(stopped)
        marks = ", ".join("?" for _ in stopped)
        return [
            (kind, target)
            for kind, target in self._rows(
                "SELECT e.kind, e.target FROM escalations e JOIN tickets t ON t.id = e.ticket_id"
                f" WHERE e.ticket_id = ? AND e.closed_at IS NULL AND t.status NOT IN ({marks})"
                " ORDER BY e.created_at, e.id",
                (ticket_id, *stopped),
            )
        ]

    def contracts(self, customer: str) -> list[ContractTerms]:
        """A customer's contracts, by start (``queries.contracts``)."""
        from ..domain.billing import Contract as ContractTerms  # (here: show, list, update need it not)

        def day(value: Any) -> Any:  # (SQLite keeps a date as its ISO text)
            return value if self.postgresql or value is None else date.fromisoformat(value)

        rows = self._rows(
            'SELECT c.name, cu.name, c.start, c."end", c.renews, c.policy, c.included_seconds, c.rate_cents, c.scope,'
            " c.id FROM contracts c JOIN customers cu ON cu.id = c.customer_id WHERE cu.name = ?"
            " ORDER BY cu.name, c.start",
            (customer,),
        )
        return [
            ContractTerms(
                name=name,
                customer=who,
                start=day(start),
                end=day(end),
                renews=bool(renews),
                policy=policy,
                included_seconds=included,
                rate_cents=rate,
                scope=scope,
                id=number,
            )
            for name, who, start, end, renews, policy, included, rate, scope, number in rows
        ]

    def work(self, ticket_id: int, problem: bool) -> WorkRows:
        """What ``Desk.work_summary`` reads of a ticket besides its contracts."""
        instant = _from_pg_instant if self.postgresql else _from_sqlite_instant
        logged = self._rows("SELECT coalesce(sum(seconds), 0) FROM time_entries WHERE ticket_id = ?", (ticket_id,))
        change = self._rows(
            "SELECT estimate_seconds, approval, approval_by, approval_at FROM change_requests WHERE ticket_id = ?",
            (ticket_id,),
        )
        link = self._rows("SELECT problem_id FROM problem_links WHERE ticket_id = ?", (ticket_id,))
        record = incidents = actions = None
        if problem:
            found = self._rows(
                "SELECT root_cause, known_error, workaround FROM problems WHERE ticket_id = ?", (ticket_id,)
            )
            record = (found[0][0], bool(found[0][1]), found[0][2]) if found else None
            incidents = self._rows("SELECT count(*) FROM problem_links WHERE problem_id = ?", (ticket_id,))[0][0]
            actions = self._rows(
                "SELECT count(*) FROM problem_actions WHERE problem_id = ? AND state = 'open'", (ticket_id,)
            )[0][0]
        return WorkRows(
            logged=int(logged[0][0] or 0),
            change=(*change[0][:3], instant(change[0][3])) if change else None,
            problem_id=link[0][0] if link else None,
            problem=record,
            incidents=int(incidents or 0),
            open_actions=int(actions or 0),
        )


@dataclass(frozen=True)
class WorkRows:
    """``PlainDesk.work``: the time logged on a ticket, its change request (estimate, approval, by, at), the problem
    it is linked to, and for a problem its record (root cause, known error, workaround) and counts."""

    logged: int
    change: tuple[int | None, str | None, str | None, datetime | None] | None
    problem_id: int | None
    problem: tuple[str | None, bool, str | None] | None
    incidents: int
    open_actions: int


@dataclass
class QueueHead:
    """A queue's first screenful read through the driver (``PlainDesk.queue_head``): what the queue's table asks of
    a query (``ids``, ``count``, ``position``, ``window``, ``rows``, ``sort``), for the rows it holds only, until
    the store is open and the query proper replaces it. ``complete`` is False: the status line says "… tickets"."""

    view: str
    descending: bool
    _ids: list[int]
    _rows: dict[int, Row]
    complete: bool = False

    @property
    def sort(self) -> Sort:
        from .queue_terms import Sort

        return Sort("due", self.descending)

    def ids(self) -> list[int]:
        return self._ids

    def count(self) -> int:
        return len(self._ids)

    def position(self, ticket_id: int | None) -> int | None:
        try:
            return None if ticket_id is None else self._ids.index(ticket_id)
        except ValueError:
            return None

    def window(self, offset: int, limit: int, known: Mapping[int, Row] | None = None) -> list[Row]:
        offset = max(offset, 0)
        return [self._rows[i] for i in self._ids[offset : offset + limit] if i in self._rows]

    def rows(self, ids: Sequence[int]) -> dict[int, Row]:
        return {i: self._rows[i] for i in ids if i in self._rows}


def event_record(row: Sequence[Any]) -> EventRecord:
    """An event from its ``EVENT`` columns (its ticket's id first)."""
    _tid, eid, at, kind, author, public, body, from_value, to, reason = row
    return stored_event(at, kind, author, public, body, from_value, to, reason, eid)


def open_plain(
    db: str | os.PathLike | None, config: Config, clock: Clock | None = None, write: bool = False
) -> PlainDesk | None:
    """The desk opened with its driver alone, for reading, when it is a desk at this deskterm's schema whose
    deadlines were derived with this configuration (its ``fingerprint``); None otherwise (a desk to create, migrate
    or derive again, another program's file, a server that cannot be reached: the store opens it and says what
    is wrong). A SQLite desk's companion files are checked first, as the store does (``check_desk_files``).
    ``write``: its transaction takes the desk's write lock first (SQLite: ``BEGIN IMMEDIATE``, on a desk in WAL mode
    that this user may write, as the store's writes do); ``plain_write.py`` writes in it."""
    from .deskfile import db_url
    from .migrate import HEAD

    url = db_url(db)
    if url.startswith("sqlite:///"):
        conn = _open_sqlite(url[len("sqlite:///") :], write)
        postgresql = False
    elif url.startswith("postgresql+psycopg://"):
        conn = _open_pg(url, write)
        postgresql = True
    else:
        return None
    if conn is None:
        return None
    desk = PlainDesk(conn, postgresql, config, clock or Clock())
    errors = _driver_errors(postgresql)
    try:
        revision = desk._rows("SELECT version_num FROM alembic_version")
        if revision != [(HEAD,)] or desk.meta_value("sla_config") != config.sla_fingerprint:
            desk.close()
            return None
    except errors:
        desk.close()
        return None
    return desk


def _driver_errors(postgresql: bool) -> type[Exception]:
    if postgresql:
        import psycopg

        return psycopg.Error
    import sqlite3

    return sqlite3.Error


def _open_sqlite(path: str, write: bool = False) -> Any:
    import sqlite3
    from urllib.parse import quote

    from .deskfile import (
        BUSY_TIMEOUT_MS,
        PLAIN_WRITE_WAIT_S,
        WRITE_PRAGMAS,
        busy_window,
        check_desk_files,
        on_read_only_mount,
    )

    if not path or path == ":memory:" or "?" in path:
        return None
    file = Path(path)
    if not file.is_file():
        return None  # to create, or not a file: the store says so
    check_desk_files(file)  # (SQLite would write through a link put beside the desk)
    if not Path(f"{file}-wal").exists() and on_read_only_mount(file):
        return None  # read as immutable by the store
    mode = "rw" if os.access(path, os.W_OK) else "ro"
    if write and mode == "ro":
        return None  # the store says why it cannot be written
    window = min(busy_window(), PLAIN_WRITE_WAIT_S if write else BUSY_TIMEOUT_MS / 1000)
    try:
        conn = sqlite3.connect(f"file:{quote(str(file.absolute()))}?mode={mode}", uri=True, timeout=window)
        if write:
            conn.isolation_level = None  # (the transaction is the one begun here)
            for pragma in WRITE_PRAGMAS:
                conn.execute(f"PRAGMA {pragma}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.close()
                return None  # the store puts it in WAL mode first
        # one snapshot for the command's reads (rolled back: nothing is written), or the write lock taken before
        # the reads of a write (no lock upgrade: as the store's writes)
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    except sqlite3.Error:
        return None
    return conn


def _open_pg(url: str, write: bool = False) -> Any:
    import psycopg

    from .deskfile import PLAIN_WRITE_WAIT_S, busy_window, cannot_connect, lock_timeout_sql, without_password

    try:
        conn = psycopg.connect("postgresql://" + url[len("postgresql+psycopg://") :], application_name="deskterm")
        # a row another session holds: the store's retry window (reads), a short wait before the store (a write)
        conn.execute(lock_timeout_sql(min(busy_window(), PLAIN_WRITE_WAIT_S) if write else busy_window()))
        conn.commit()
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot for the command's reads
    except psycopg.OperationalError as exc:
        # the server cannot be reached (or refuses us): the store would wait for it again (an unreachable host:
        # the whole connect timeout, twice) and then say this very line
        raise cannot_connect(without_password(url), exc) from None
    except psycopg.Error:
        return None
    return conn
