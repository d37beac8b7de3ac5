"""Every change to a ticket goes through here, for the screens and the command line alike.

Each change is one write transaction that re-reads the ticket, checks the version the caller read
(optimistic concurrency), validates it against the workflow, appends one history event per change with
the OS user as author, re-derives the ticket's next SLA deadline from its whole history, and bumps the
version with ``UPDATE ... WHERE version = :read`` so that a concurrent writer can never be overwritten
silently (on PostgreSQL as on SQLite).
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import chain
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy import bindparam, func, insert, not_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col

from .change import _NOT_UNICODE, DERIVED, UNASSIGN, Change, ChangeRules, _expect, _unencodable
from .clock import CLOCK_SKEW, Clock
from .config import Config
from .domain import billing as billing_rules
from .domain import escalation as esc_rules
from .domain import problems as problem_rules
from .domain import routing, survey, workflow
from .domain.agents import Directory, on_shift
from .domain.alerts import Alert, Notification
from .domain.alerts import Mapping_ as AlertMapping
from .domain.calendar import epoch
from .domain.customers import (
    NAME_MAX,
    ContactSpec,
    CustomerBatch,
    check_contact,
    check_customer,
    clean_name,
    email_key,
    first_name,
    looks_like,
    name_key,
    unknown_customer_message,
)
from .domain.history import SURVEY_REMINDER, resolved_at, survey_state
from .domain.sla import CUSTOMER
from .domain.survey import SurveyAnswer
from .domain.text import search_text
from .errors import BadInput, Conflict, Refused
from .records import ContactRecord, CustomerRecord, EventRecord, NewEvent, NewTicket, TicketRecord
from .store import bulk, plain, queries, writes
from .store import customers as store_customers
from .store.engine import FEED_MOST, SessionSQL, Store
from .store.engine import changed as feed_changed
from .store.models import (
    Agent,
    AlertRow,
    Attachment,
    ChangeRequest,
    Contact,
    Contract,
    Customer,
    Escalation,
    Event,
    Group,
    InboundMail,
    Meta,
    ProblemAction,
    ProblemLink,
    ProblemRecord,
    RuleFiring,
    Ticket,
    TicketSearch,
    TimeEntry,
)
from .store.queue_terms import OPEN_STATUSES, Row

if TYPE_CHECKING:  # the mail modules (and the e-mail package) are imported by the mail work only: commands start faster
    from . import reports
    from .forked import Forked
    from .mail import intake, outbox
    from .progress import Progress

REDERIVING = "SLA changed"  # what the progress of ``rederive`` says it is about (the SLA configuration changed)
REDERIVE_BATCH = 5000  # rows of one UPDATE statement of ``rederive`` (executemany)


def _prefixed(progress: Progress, prefix: str) -> Progress:
    """``progress`` with each step's name said as part of ``prefix``'s work ("SLA configuration changed: …")."""

    def step(what: str, done: int, total: int | None) -> None:
        progress(f"{prefix}: {what}", done, total)

    return step


ALERT_AUTHOR = "alertmanager"  # the author of what monitoring alerts write
# built once, on the table (no ORM round): a fetch inserts thousands of tickets
_INSERT_TICKET = insert(Ticket.__table__).returning(Ticket.__table__.c.id)  # type: ignore[attr-defined]
_INSERT_EVENT = insert(Event.__table__)  # type: ignore[attr-defined]
_INSERT_SEARCH = insert(TicketSearch.__table__)  # type: ignore[attr-defined]
_INSERT_ALERT = insert(AlertRow.__table__)  # type: ignore[attr-defined]
_NEW_TICKET = {"type": "incident", "status": "new", "group_name": "L1", "created_by": CUSTOMER, "version": 1}


@dataclass(frozen=True)
class WorkSummary:
    contract: billing_rules.Contract | None
    logged_seconds: int
    estimate_seconds: int | None = None
    approval: str | None = None
    approval_by: str | None = None
    approval_at: datetime | None = None
    problem_id: int | None = None  # an incident: the problem it is linked to
    root_cause: str | None = None  # a problem: what is known of it
    known_error: bool = False
    workaround: str | None = None
    incidents: int = 0  # a problem: how many incidents are linked to it
    open_actions: int = 0


@dataclass(frozen=True)
class TicketView:
    """What the ticket screen shows of one ticket, read in one transaction (``Desk.ticket_view``): the ticket with
    its history, the service manager's side, the (kind, target) of its open escalations, and the tickets linked
    to it when it is not itself linked to a major incident."""

    record: TicketRecord
    work: WorkSummary
    open_lines: list[tuple[str, str]]
    linked: list[TicketRecord]


@dataclass(frozen=True)
class MailTaken:
    """What became of one message: ``ticket`` (opened one), ``added`` (to its ticket), ``flood`` (to the ticket
    of a flooding sender), ``duplicate`` (taken before), ``quarantined`` (``why`` says why)."""

    state: str
    ticket_id: int | None
    message_id: str
    why: str


@dataclass(frozen=True)
class AlertTaken:
    """What became of one alert of a notification: ``ticket`` (opened one), ``added`` (fired again: added to the
    open ticket of its fingerprint), ``resolved`` (recorded on its ticket; ``closed`` says whether the ticket was
    resolved by the rule), ``duplicate`` (recorded before: nothing changed), ``unknown`` (resolved, never seen
    firing: nothing to do). ``major``: the major incident of its group, when the group storms."""

    state: str
    key: str
    ticket_id: int | None
    major_id: int | None = None
    closed: bool = False


@dataclass(frozen=True)
class Renamed:
    """A customer (or contact) renamed or merged: its old and new name, how many tickets recorded it, and the
    policy the configuration gives the customer now."""

    old: str
    new: str
    tickets: int
    merged: bool
    policy: str
    mentions: tuple[str, ...] = ()  # the configuration's rules that name the old customer (no longer matching)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def events_of(events: list[Any], tickets: Mapping[int, Any]) -> list[Any]:
    """The event rows (``plain.EVENT``: the ticket's id first) of these tickets."""
    return [row for row in events if row[0] in tickets]


def _fold_apart(folding: reports.Folding, postgresql: bool) -> Forked:
    """A forked process folding the batches of rows it is sent (``plain.period_rows``'), which gives back its
    folds (the total and the groups)."""
    from .forked import Forked

    def work(rows: tuple[list[Any], list[Any]]) -> None:
        folding.add_batch(plain.period_records(rows[0], rows[1], postgresql), {})

    return Forked(work, lambda: (folding.total, folding.groups))


class Desk(ChangeRules):
    """The service layer: one per process, bound to a store, a configuration, a clock and an OS user."""

    def __init__(self, store: Store, config: Config, clock: Clock | None = None, user: str | None = None) -> None:
        self.store = store
        self.config = config
        self.clock = clock or Clock()
        # the OS account is the author of every change, under its agent's name when [agents] maps it
        self.user = config.acting_agent(user)

    # -- the directory of agents and their shifts -------------------------------------------------

    def _directory(self, session: Session) -> Directory:
        return self.directory_of(list(session.execute(select(col(Agent.name)).where(col(Agent.wrote))).scalars()))

    def seen_agents(self) -> list[str]:
        with self.store.read() as session:
            return list(session.execute(select(col(Agent.name)).where(col(Agent.wrote))).scalars())

    def names_seen(self) -> tuple[set[str], set[str]]:
        """Every agent and every group name the desk has recorded (for completion in the ticket screen)."""
        with self.store.read() as session:
            agents = set(session.execute(select(col(Agent.name))).scalars())
            groups = set(session.execute(select(col(Group.name))).scalars())
        return agents, groups

    def shift(self, start: bool) -> datetime | None:
        """Start (or end) this agent's shift; returns when the shift began (None once ended). Starting a
        shift already started keeps its beginning, and writes nothing (each app that opens starts it)."""
        if start:
            with self.store.read() as session:
                since = session.execute(select(col(Agent.on_shift_since)).where(col(Agent.name) == self.user)).scalar()
            if since is not None and on_shift(since, self.clock.now()):
                return since

        def work(session: Session) -> datetime | None:
            now = self.clock.now()
            self._register(session, [self.user], [], wrote=True)
            row = session.execute(select(Agent).where(col(Agent.name) == self.user)).scalar_one()
            if start and not on_shift(row.on_shift_since, now):
                row.on_shift_since = now
            elif not start:
                row.on_shift_since = None
            session.add(row)
            return row.on_shift_since

        return self.store.write(work)

    def roster(self) -> list[tuple[str, str, datetime | None, int]]:
        """Who is on shift and how many open tickets each agent holds: (name, display name, on shift since or
        None, open tickets), those on shift first, then by load. Agents off shift with no open ticket are left
        out."""
        with self.store.read() as session:
            directory = self._directory(session)
            shifts = dict(session.execute(select(col(Agent.name), col(Agent.on_shift_since))).all())
            load = dict(
                session.execute(
                    select(col(Ticket.assignee), func.count())
                    .where(col(Ticket.status).in_(OPEN_STATUSES), col(Ticket.assignee).is_not(None))
                    .group_by(col(Ticket.assignee))
                ).all()
            )
        now = self.clock.now()
        shifts = {n: since if on_shift(since, now) else None for n, since in shifts.items()}
        names = {n for n, since in shifts.items() if since is not None} | set(load)
        rows = [(n, directory.display(n), shifts.get(n), int(load.get(n, 0))) for n in names]
        return sorted(rows, key=lambda r: (r[2] is None, -r[3], r[0].casefold()))

    # -- reading ---------------------------------------------------------------------------------

    def ticket(self, key: str | int) -> TicketRecord:
        with self.store.read() as session:
            return self._load(session, key)

    def ticket_view(self, key: str | int) -> TicketView:
        """The ticket screen's read of a ticket (``TicketView``): what ``ticket``, ``work_summary``, ``escalations``
        (open, of this ticket) and ``linked`` give, in one read transaction, the ticket read once.

        Read through the database's driver (``plain.PlainDesk`` on the transaction's own connection): every open
        ticket screen reads its ticket again on each change of it, and the same ten statements through the ORM
        cost some 10 ms of CPU, most of it SQLAlchemy building each statement, its cache key and its objects
        (issue 17); the driver, about a tenth of that. ``tests/store/test_plain_reads.py`` and
        ``tests/test_demo.py`` compare it with the separate reads through the store."""
        with self.store.read() as session:
            reader = plain.PlainDesk(
                session.connection().connection.driver_connection, not self.store.is_sqlite, self.config, self.clock
            )
            record = reader.ticket(key)
            rows = reader.work(record.id, record.type == "problem")
            day = record.created_at.astimezone(self.config.tz).date()
            change = rows.change or (None, None, None, None)
            problem = rows.problem or (None, False, None)
            return TicketView(
                record=record,
                work=WorkSummary(
                    contract=billing_rules.in_force(reader.contracts(record.customer), day),
                    logged_seconds=rows.logged,
                    estimate_seconds=change[0],
                    approval=change[1],
                    approval_by=change[2],
                    approval_at=change[3],
                    problem_id=rows.problem_id,
                    root_cause=problem[0],
                    known_error=problem[1],
                    workaround=problem[2],
                    incidents=rows.incidents,
                    open_actions=rows.open_actions,
                ),
                open_lines=reader.open_escalation_lines(record.id, workflow.STOPPED),
                linked=reader.linked(record.id) if record.major_id is None else [],
            )

    def tickets(self, statuses: Sequence[str] | None = None) -> list[TicketRecord]:
        with self.store.read() as session:
            return queries.load_tickets(session, statuses)

    def tickets_for_period(
        self, since: datetime, until: datetime, customer: str | None = None, progress: Progress | None = None
    ) -> list[TicketRecord]:
        """The tickets whose life overlaps [since, until) (of one customer): all the KPIs of that period need.
        ``progress``: told the tickets read, then their histories."""
        with self.store.read() as session:
            return queries.load_tickets(session, period=(since, until), customer=customer, progress=progress)

    def period_batches(
        self, since: datetime, until: datetime, batch: int = 1000, progress: Progress | None = None
    ) -> Iterator[list[TicketRecord]]:
        """``tickets_for_period``'s tickets, with their histories, ``batch`` at a time by id, read through the driver
        in one read transaction (``plain.period_batches``, as ``kpis`` reads them): a caller that keeps what it
        needs of each batch never holds the reading of the whole desk at once. ``progress``: told the tickets read,
        of how many (one count first, on the same condition)."""
        with self.store.read() as session:
            total = queries.count_in_period(session, since, until) if progress is not None else None
            conn: Any = session.connection().connection.driver_connection
            done = 0
            for tickets in plain.period_batches(conn, not self.store.is_sqlite, since, until, batch):
                done += len(tickets)
                if progress is not None:
                    progress("reading tickets", done, total)
                yield tickets

    def count_for_period(self, since: datetime, until: datetime) -> int:
        """How many tickets ``kpis`` goes through for [since, until) (for a progress display's total)."""
        with self.store.read() as session:
            return queries.count_in_period(session, since, until)

    def kpis(
        self,
        since: datetime,
        until: datetime,
        by: str | None = None,
        on_batch: Callable[[int], None] | None = None,
        batch: int = 1000,
        processes: int = 1,
    ) -> tuple[reports.Kpis, dict[str, reports.Kpis]]:
        """``deskterm report``'s figures of [since, until), for all customers and (``by``) for each group: what
        ``reports.compute`` and ``reports.compute_by`` give over ``tickets_for_period`` and every escalation, but
        read and folded ``batch`` tickets at a time (with their histories and escalations), in one read
        transaction, so that memory does not grow with the desk. ``on_batch`` is told the tickets read so
        far after each batch (a progress display). ``processes`` 2: from the second batch on, a forked process
        (``forked.Forked``) folds the batches sent to it (the rows read here, in this transaction) whenever it has
        taken those sent before, this one the others; its folds are merged at the end (``Folding.merge``: the same
        figures whichever ticket was folded where, the breaches in ticket order). A ticket with escalations is
        folded here (only this process has its escalations)."""
        from . import reports

        def folding() -> reports.Folding:
            return reports.Folding(
                lambda t: self.sla(t, until), since, until, by, lambda c: self.config.policy_for(c).name
            )

        mine = folding()
        postgresql = not self.store.is_sqlite
        helper: Forked | None = None
        done = 0
        try:
            with self.store.read() as session:
                # the rows read through the driver, on the session's connection (its transaction, one snapshot)
                conn: Any = session.connection().connection.driver_connection
                for n, (tickets, events) in enumerate(plain.period_rows(conn, postgresql, since, until, batch)):
                    ids = [row[0] for row in tickets]
                    theirs = reports.by_ticket(self._escalations(session, col(Escalation.ticket_id).in_(ids)))
                    done += len(tickets)
                    if processes > 1 and n and (helper is None or helper.ready()):
                        if theirs:  # (folded here, with their escalations)
                            here = [row for row in tickets if row[0] in theirs]
                            mine.add_batch(plain.period_records(here, events_of(events, theirs), postgresql), theirs)
                            tickets = [row for row in tickets if row[0] not in theirs]
                            events = [row for row in events if row[0] not in theirs]
                        if helper is None:
                            helper = _fold_apart(folding(), postgresql)
                        helper.send((tickets, events))
                    else:
                        mine.add_batch(plain.period_records(tickets, events, postgresql), theirs)
                    if on_batch is not None:
                        on_batch(done)
                # the escalations of the tickets outside the period: only an acknowledgement of one raised in the
                # period counts (``reports.contribution`` of no ticket), so only those are read
                mine.add_others(
                    self._escalations(
                        session,
                        not_(queries.in_period(since, until)),
                        col(Escalation.created_at) >= since,
                        col(Escalation.created_at) < until,
                        col(Escalation.acknowledged_at).is_not(None),
                    )
                )
            if helper is not None:
                total, groups = helper.result()
                helper = None
                apart = folding()
                apart.total, apart.groups = total, groups
                mine.merge(apart)
        finally:
            if helper is not None:
                helper.close()
        tz = self.config.tz
        return mine.kpis(tz), mine.kpis_by(tz)

    def rows(self, statuses: Sequence[str]) -> list[Row]:
        """The queue's rows of the tickets in these statuses, by id: the ticket rows alone, no history read."""
        from .store.queue import rows_in_statuses

        return rows_in_statuses(self.store, statuses)

    def list_lines(self, statuses: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """What ``deskterm list --status`` prints of these tickets' rows (``plain.LIST_LINE``: the instants as
        epoch seconds), by id: as ``PlainDesk.list_lines`` reads them, through the store."""

        def seconds(dt: datetime | None) -> int | None:
            return None if dt is None else epoch(dt)

        for r in self.rows(statuses):
            yield (
                r.id,
                r.priority,
                r.status,
                r.customer,
                r.subject,
                r.next_timer,
                seconds(r.next_due),
                r.next_left,
                seconds(r.next_warn),
                seconds(r.updated_at),
            )

    def _load(self, session: Session, key: str | int) -> TicketRecord:
        try:
            ticket_id = queries.find_ticket_id(session, key)
        except (ValueError, OverflowError, UnicodeError):  # "²", a number beyond 64 bits, undecodable bytes
            ticket_id = None
        record = queries.load_ticket(session, ticket_id) if ticket_id is not None else None
        if record is None:
            raise BadInput(f"ticket {key}: no such ticket")
        return record

    # -- creating --------------------------------------------------------------------------------

    def create(
        self, new: NewTicket, new_customer: bool | None = True, new_contact: ContactSpec | None = None
    ) -> TicketRecord:
        """One new ticket. Its customer, when the desk does not know it (no record, no entry of the configuration):
        ``new_customer=True`` creates it; ``False`` (the form, until the agent confirms) refuses it; ``None`` (the
        command line without --new-customer) refuses it only when it looks like a misspelling of a known one (a
        typo must not create a customer; a name like no other is a new customer, as the contract's ``new`` says).
        ``new_contact``: a caller not yet on the desk, created (or updated) with the ticket, in one transaction."""
        with self.store.read() as session:
            known = store_customers.by_name(session, new.customer)
            if known is None and new_customer is not True and not self._configured_customer(new.customer):
                names = [*store_customers.customer_names(session), *self.config.customers]
                if new_customer is False or looks_like(new.customer, names):
                    raise BadInput(f"--customer: {unknown_customer_message(new.customer, names)}")
        if new_contact is not None:
            new_contact.customer = known.name if known is not None else new.customer
            problems = check_contact(new_contact)
            if problems:
                raise BadInput(problems)
            new.contact = new_contact.email or new_contact.name
        ids = self.import_tickets([new], CustomerBatch(contacts=[new_contact] if new_contact else []))
        return self.ticket(ids[0])

    def _configured_customer(self, name: str) -> str | None:
        key = name_key(name)
        return next((n for n in self.config.customers if name_key(n) == key), None)

    def import_tickets(
        self,
        tickets: Sequence[NewTicket],
        directory: CustomerBatch | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[int]:
        """Write all tickets in one transaction, or none (a ref already present is an error for all), with the
        customers and contacts of ``directory`` (written first: the tickets may name them); their ids."""
        ids: list[int] = []
        self.import_file(_Listed(tickets, directory or CustomerBatch()), progress, ids)
        return ids

    def import_file(
        self, source: ImportSource, progress: Callable[[int], None] | None = None, ids: list[int] | None = None
    ) -> int:
        """Import the tickets of ``source`` (with its customers and contacts, written before any ticket) in
        one transaction, a batch of ``IMPORT_BATCH`` at a time as they are read, so that the memory used
        does not grow with the file; how many. Every problem of every record, found by the reading or by the
        desk (a ref already imported, an unknown category or contact, a date in the future) is reported
        together: BadInput, and the transaction is rolled back, nothing written, however late in the file
        the first one comes (after it, the rest is still read and checked, not written). ``progress(n)``: n
        more tickets written. ``ids``: filled with the new tickets' ids, in order (for callers that hold the
        tickets anyway).

        The customer and contact records of a file normally come before its tickets; when one comes after
        the first batch was written (a ticket before it may name that customer or contact), the transaction
        is rolled back and the file read twice: first for its customers and contacts, then for the tickets."""
        now = self.clock.now()
        for directory_first in (False, True):
            work = functools.partial(
                self._import_work, source=source, now=now, progress=progress, ids=ids, directory_first=directory_first
            )
            try:
                return self.store.write(work)
            except _LateDirectory:
                continue  # (never raised when the directory was read first)
        raise AssertionError("unreachable")  # pragma: no cover

    def _import_work(
        self,
        session: Session,
        source: ImportSource,
        now: datetime,
        progress: Callable[[int], None] | None,
        ids: list[int] | None,
        directory_first: bool,
    ) -> int:
        if ids is not None:
            ids.clear()  # (a transaction tried again)
        run = _ImportRun(now=now, ids=ids)
        if directory_first:
            for _ in source.tickets():  # the customers and contacts, wherever they are in the file
                pass
            if source.problems:
                raise BadInput(source.report())
            run.directory = _copy_batch(source.directory)
            self._import_directory(session, run, known_bad=False)
        conn = session.connection()
        with bulk.large_writes(conn) as run.empty_desk:
            batch: list[NewTicket] = []
            for t in source.tickets():
                batch.append(t)
                if len(batch) >= IMPORT_BATCH:
                    self._import_batch(session, source, batch, run)
                    if progress is not None:
                        progress(len(batch))
                    batch = []
            self._import_batch(session, source, batch, run)
            if progress is not None and batch:
                progress(len(batch))
        if not directory_first and run.directory is not None and _batch_size(source.directory) > run.directory_size:
            raise _LateDirectory()  # (its problems too are found again, the directory known before the tickets)
        if source.problems or run.problems:
            raise BadInput(source.report(run.problems))
        # the agents of imported history are agents of this desk too (authors and assignees alike)
        self._register(session, run.agents, run.groups, wrote=True)
        for tid in run.feed if run.written <= FEED_MOST else [None]:  # (a large import: every app reads all again)
            feed_changed(session, tid)
        return run.written

    def _import_directory(self, session: Session, run: _ImportRun, known_bad: bool) -> None:
        """Check the customers and contacts read before the first batch, and write them unless a problem is
        known already (``known_bad``: then they are only checked)."""
        directory = run.directory or CustomerBatch()
        run.directory_size = _batch_size(directory)
        try:
            self._check_directory(directory)
            if not known_bad and not run.problems:
                self._write_directory(session, directory)
                run.directory_written = True
        except BadInput as exc:
            run.problems += exc.problems

    def _import_batch(self, session: Session, source: ImportSource, batch: list[NewTicket], run: _ImportRun) -> None:
        """Check a batch of tickets against the desk; write them unless a problem was found (in them, or
        earlier in the file: then the rest is only checked, for the report)."""
        if run.directory is None:  # the first batch: the customers and contacts read so far go first
            run.directory = _copy_batch(source.directory)
            self._import_directory(session, run, known_bad=bool(source.problems))
        if not batch:
            return
        problems = run.problems
        self._canonical_customers(batch, run.directory, session)
        # one encode of all the text finds the rare bad one; only then is each field checked, to name it (the
        # tickets whose reader saw their text storable are left out: a file's records, nearly always)
        unchecked = [t for t in batch if not t.storable]
        if unchecked and _unencodable(_batch_text(unchecked)):
            problems += [
                f"{t.where or 'ticket'}: {name}: {_NOT_UNICODE}"
                for t in unchecked
                if _unencodable(_all_text(t))
                for name, value in _texts(t)
                if _unencodable(value)
            ]
        problems += _future(batch, run.now)
        tickets: Sequence[NewTicket] = batch
        try:
            tickets = self._routed(self._categorised(batch))
        except BadInput as exc:
            problems += exc.problems
        # (a desk that had no ticket when this transaction began holds only this file's: a ref twice in the file
        # was found in reading it; so is the write lock held, and ``ref``'s index is built after the rows)
        refs = [t.ref for t in tickets if t.ref] if not run.empty_desk else []
        taken: set[str] = set()
        for i in range(0, len(refs), 900):
            chunk = select(col(Ticket.ref)).where(col(Ticket.ref).in_(refs[i : i + 900]))
            taken.update(r for r in session.execute(chunk).scalars() if r is not None)
        problems += [f"{t.where or 'ticket'}: ref: {t.ref!r} was already imported" for t in tickets if t.ref in taken]
        # once a problem is known, nothing more is written, not even a new customer (on PostgreSQL that would
        # take a number of its sequence, which a rollback does not give back): the rest is only checked
        writing = not problems and not source.problems
        customers = store_customers.customer_ids(session, [t.customer for t in tickets], create=writing)
        if not run.directory_written:  # (a problem came first) its contacts are not on the desk: not checked
            unwritten = {name_key(c.customer) for c in run.directory.contacts if c.customer}
            tickets = [t for t in tickets if not (t.contact and name_key(t.customer) in unwritten)]
        try:
            contacts = self._contact_ids(session, tickets, customers)
        except BadInput as exc:
            problems += exc.problems
        if writing and not problems:
            self._write_batch(session, tickets, customers, contacts, run)

    def _write_batch(
        self,
        session: Session,
        tickets: Sequence[NewTicket],
        customers: dict[str, int],
        contacts: dict[int, int],
        run: _ImportRun,
    ) -> None:
        now = run.now
        rows = []
        for t in tickets:
            final = _final_state(t)
            updated = _latest(t)
            if final.status in workflow.STOPPED:  # every timer has stopped: nothing to derive (same as a replay)
                rows.append((t, final, updated, None, None, None, None))
            else:
                rows.append(
                    (t, final, updated, *self._deadlines(t.customer, t.created_at, t.priority, t.events, updated, now))
                )
            # (dicts, not sets: registered in the order the file names them, so numbered in that order)
            if final.assignee:
                run.agents[final.assignee] = None
            run.groups[final.group] = None
            run.agents.update((e.author, None) for e in t.events if e.kind == "reply" and e.author != "customer")
        conn = session.connection()
        at = bulk.instant_writer(conn)
        user = self.user
        codes = set(
            self.config.resolution_codes
        )  # a resolution's reason that is a code is its code (as `show` writes it)
        values = [
            (
                t.ref,
                t.subject,
                t.description,
                customers[t.customer],
                f.priority,
                t.priority,
                t.impact,
                t.urgency,
                t.type,
                f.status,
                f.assignee,
                f.group,
                at(t.created_at),
                user,
                at(updated),
                1,
                at(due),
                at(warn),
                timer,
                left,
                f.resolution_code if f.resolution_code in codes else None,
                t.category,
                contacts.get(id(t)),
            )
            for t, f, updated, due, warn, timer, left in rows
        ]
        if self.store.is_sqlite:
            # We hold the write lock (BEGIN IMMEDIATE): ids after the current maximum are ours. One
            # executemany is ~10x faster than ORM inserts with RETURNING (one statement per row on SQLite).
            first = (conn.execute(select(func.max(col(Ticket.id)))).scalar() or 0) + 1
            ids = list(range(first, first + len(values)))
            bulk.insert_tuples(
                conn, _TICKETS, ("id", *_TICKET_COLUMNS), [(tid, *v) for tid, v in zip(ids, values, strict=True)]
            )
        else:
            ids = list(
                conn.execute(
                    _TICKETS.insert().returning(_TICKETS.c.id, sort_by_parameter_order=True),
                    [dict(zip(_TICKET_COLUMNS, v, strict=True)) for v in values],
                ).scalars()
            )
        event_rows = [
            (tid, at(e.at), e.kind, e.author, e.public, e.body, e.from_value, e.to, e.reason)
            for tid, t in zip(ids, tickets, strict=True)
            for e in t.events
        ]
        bulk.insert_tuples(conn, _EVENTS, _EVENT_COLUMNS, event_rows)
        bulk.insert_tuples(
            conn,
            _SEARCH,
            ("ticket_id", "text"),
            [(tid, search_text(t.subject, t.ref)) for tid, t in zip(ids, tickets, strict=True)],
        )
        run.written += len(ids)
        if len(run.feed) <= FEED_MOST:
            run.feed += ids[: FEED_MOST + 1 - len(run.feed)]
        if run.ids is not None:
            run.ids += ids

    def _routed(self, tickets: Sequence[NewTicket]) -> Sequence[NewTicket]:
        """The tickets after the configuration's routing rules (``[[routing]]``, the first rule that matches): its
        category (unless one was given) and its group, each an event at the ticket's creation whose reason names
        the rule, so that the history says the rule did it."""
        rules = self.config.routing
        if not rules:
            return tickets
        out = []
        for t in tickets:
            rule = routing.first_match(rules, t.subject, t.description, t.customer)
            if rule is None:
                out.append(t)
                continue
            why = f"routing rule: {rule.name}"
            events = []
            category = t.category
            if rule.category is not None and t.category is None:
                category = rule.category
                events.append(NewEvent(at=t.created_at, kind="category", author=self.user, to=category, reason=why))
            if rule.group is not None and rule.group != "L1":
                events.append(
                    NewEvent(
                        at=t.created_at, kind="group", author=self.user, from_value="L1", to=rule.group, reason=why
                    )
                )
            out.append(dataclasses.replace(t, category=category, events=[*events, *t.events]))
        return out

    def _categorised(self, tickets: Sequence[NewTicket]) -> Sequence[NewTicket]:
        """The tickets with their categories in the configured spelling; BadInput, one line per ticket, for a
        category that is not in the taxonomy (nothing is written)."""
        if all(t.category is None for t in tickets):
            return tickets
        problems, out = [], []
        for t in tickets:
            if t.category is None:
                out.append(t)
                continue
            try:
                out.append(dataclasses.replace(t, category=self.config.taxonomy.resolve(t.category)))
            except ValueError as exc:
                problems.append(f"{t.where or 'ticket'}: category: {exc}")
        if problems:
            raise BadInput(problems)
        return out

    def _customer_ids(self, session: Session, names: set[str]) -> dict[str, int]:
        return store_customers.customer_ids(session, names)

    # -- customers and contacts ---------------------------------------------------------------------

    def customers(self) -> list[CustomerRecord]:
        """Every customer with its domains and contacts, by name."""
        with self.store.read() as session:
            return store_customers.load_customers(session)

    def customer_names(self) -> list[str]:
        with self.store.read() as session:
            return store_customers.customer_names(session)

    def find_customer(self, name: str) -> CustomerRecord | None:
        """The customer a name means (case, accents and spaces aside), or None."""
        with self.store.read() as session:
            return store_customers.by_name(session, name)

    def customer(self, name: str) -> CustomerRecord:
        """The customer a name means, or BadInput naming the closest ones."""
        with self.store.read() as session:
            found = store_customers.by_name(session, name)
            if found is None:
                known = store_customers.customer_names(session)
                raise BadInput(unknown_customer_message(name, known, "`deskterm customers list` lists them"))
        return found

    def customer_by_domain(self, email_or_domain: str) -> CustomerRecord | None:
        """The customer whose e-mail domains include this address's (or this domain), or None."""
        with self.store.read() as session:
            return store_customers.by_domain(session, email_or_domain)

    def contact_by_email(self, email: str) -> ContactRecord | None:
        with self.store.read() as session:
            return store_customers.contact_by_email(session, email)

    def contact_of(self, ticket: TicketRecord) -> ContactRecord | None:
        if ticket.contact_id is None:
            return None
        with self.store.read() as session:
            return store_customers.contact_by_id(session, ticket.contact_id)

    def customer_tickets(self, customer_id: int, statuses: Sequence[str]) -> list[TicketRecord]:
        """A customer's tickets in those statuses (no histories), the latest changed first."""
        with self.store.read() as session:
            return store_customers.customer_tickets(session, customer_id, statuses)

    def policy_name(self, customer: str) -> str:
        """The SLA policy the configuration gives this customer (what the SLA is computed with)."""
        return self.config.customers.get(customer, self.config.default_policy)

    def save_directory(self, directory: CustomerBatch) -> tuple[int, int]:
        """Create or update customers and contacts, all or none; returns (created, updated)."""
        self._check_directory(directory)

        def work(session: Session) -> tuple[int, int]:
            return self._write_directory(session, directory)

        return self.store.write(work)

    def _check_directory(self, directory: CustomerBatch) -> None:
        problems: list[str] = []
        seen: dict[str, str] = {}
        for c in directory.customers:
            problems += check_customer(c, self.config.policies)
            key = name_key(c.name)
            if key and key in seen:
                problems.append(
                    f"{c.where or 'customer'}: name: {c.name!r} is the same customer as {seen[key]!r}"
                    " (names are compared ignoring case and accents)"
                )
            seen.setdefault(key, c.name)
        emails: dict[str, str] = {}
        for p in directory.contacts:
            problems += check_contact(p)
            if p.email:
                key = email_key(p.email)
                if key in emails:
                    problems.append(f"{p.where or 'contact'}: email: {p.email!r} is given twice (also {emails[key]})")
                emails.setdefault(key, p.where or "contact")
        problems += [
            f"{where}: {name}: {_NOT_UNICODE}"
            for where, name, value in (
                *((c.where or "customer", f, getattr(c, f)) for c in directory.customers for f in ("name", "notes")),
                *(
                    (p.where or "contact", f, getattr(p, f))
                    for p in directory.contacts
                    for f in ("name", "phone", "role")
                ),
            )
            if _unencodable(value)
        ]
        if problems:
            raise BadInput(problems)

    def _write_directory(self, session: Session, directory: CustomerBatch) -> tuple[int, int]:
        created = updated = 0
        problems: list[str] = []
        owners = store_customers.domain_owners(session, [d for c in directory.customers for d in c.domains or ()])
        for c in directory.customers:
            for d in c.domains or ():
                if d in owners and name_key(owners[d]) != name_key(c.name):
                    problems.append(f"{c.where or 'customer'}: domains: {d!r} is already {owners[d]!r}'s")
        if problems:
            raise BadInput(problems)
        for c in directory.customers:
            _, new = store_customers.save_customer(session, c)
            created, updated = created + new, updated + (not new)
        if directory.contacts:
            ids = store_customers.customer_ids(session, [p.customer for p in directory.contacts])
            for p in directory.contacts:
                if p.email:
                    other = store_customers.contact_by_email(session, p.email)
                    if other is not None and other.customer_id != ids[p.customer]:
                        problems.append(
                            f"{p.where or 'contact'}: email: {p.email!r} is already {other.name!r}'s,"
                            f" a contact of {other.customer!r}"
                        )
                        continue
                _, new = store_customers.save_contact(session, p, ids[p.customer])
                created, updated = created + new, updated + (not new)
        if problems:
            raise BadInput(problems)  # the transaction is rolled back: nothing written
        return created, updated

    # -- renaming and deleting customers and contacts -----------------------------------------------

    def _record_on_tickets(
        self,
        session: Session,
        where,
        kind: str,
        old: str,
        new: str,
        reason: str = "renamed",
        values: dict | None = None,
        customer: str | None = None,
    ) -> int:
        """Each ticket matching ``where`` records ``kind old → new`` in its history (a new version, written by
        ``_write`` under the version it read, its deadlines derived again, under ``customer`` when given); how
        many."""
        tickets = queries._records(session, where)
        histories = queries.events_of(session, [t.id for t in tickets])
        for t in tickets:
            t.events = histories.get(t.id, [])
            now = self._stamp(t.updated_at)
            event = NewEvent(at=now, kind=kind, author=self.user, from_value=old, to=new, reason=reason)
            record = dataclasses.replace(t, customer=customer) if customer is not None else t
            self._write(session, record, dict(values or {}), [event], now)
        return len(tickets)

    def rename_customer(self, old: str, new: str, merge: bool = False) -> Renamed:
        """Rename a customer, or (``merge``) fold it into the existing customer that ``new`` names. Its tickets
        keep their customer: each records the change in its history (a ``customer`` event, a new version, written
        by ``_write`` under the version it read) and its deadlines are derived again under the customer it now
        has. A merge moves the tickets, contacts, e-mail domains and contracts to the target, which stays VIP if
        either was and gains the notes it lacks, and deletes the source. All or nothing. Refused (exit 1): a rename
        that would change the SLA policy (the configuration's ``[customers]`` is keyed by name: rename it there
        first), a name that is another customer's without ``merge``, a merge of two customers with contracts."""
        new_name = self._new_name(new, "NEW")

        def work(session: Session) -> Renamed:
            source = self._customer_in(session, old, "OLD")
            target = store_customers.by_name(session, new_name)
            if target is not None and target.id == source.id:
                target = None  # the same customer spelled another way: a rename
            if target is None:
                if new_name == source.name:
                    raise Refused(f"customers rename: {new_name!r} is already the customer's name")
                before, after = self.policy_name(source.name), self.policy_name(new_name)
                if before != after:
                    raise Refused(
                        f"customers rename: the configuration gives {source.name!r} the policy {before!r} and would"
                        f" give {new_name!r} {after!r}: name {new_name!r} in its [customers] table"
                        f' (policy = "{before}") first'
                    )
                store_customers.rename_customer(session, source.id, new_name)
                name, reason, values = new_name, "renamed", {}
            else:
                if not merge:
                    total, _ = store_customers.ticket_counts(session, source.id)
                    raise Refused(
                        f"customers rename: {target.name!r} is already a customer; add --merge to move the"
                        f" {_count(total, 'ticket')} and {_count(len(source.contacts), 'contact')} of"
                        f" {source.name!r} to it"
                    )
                theirs, ours = (store_customers.contract_names(session, c.id) for c in (target, source))
                if theirs and ours:
                    raise Refused(
                        f"customers rename: {source.name!r} and {target.name!r} both have contracts"
                        f" ({', '.join(map(repr, ours))}; {', '.join(map(repr, theirs))}): merge them by hand first"
                    )
                name, reason, values = target.name, f"merged into {target.name}", {"customer_id": target.id}
            # derived under the customer it now has: a merge may give it another policy
            count = self._record_on_tickets(
                session, col(Ticket.customer_id) == source.id, "customer", source.name, name, reason, values, name
            )
            if target is not None:
                store_customers.merge_customer(session, source, target)
            return Renamed(
                source.name, name, count, target is not None, self.policy_name(name), self._mentions(source.name)
            )

        return self._retrying(work)

    def _mentions(self, customer: str) -> tuple[str, ...]:
        """Where the configuration names a customer by its name besides ``[customers]`` (which decides the policy
        and is checked before a rename): its routing rules, escalation rules and alert mappings. Renamed or
        merged away, the customer no longer matches them: the command says so."""
        key = customer.casefold()
        c = self.config
        found = [f"routing rule {r.name!r}" for r in c.routing if key in (n.casefold() for n in r.customers)]
        found += [
            f"escalation rule {r.label!r}" for r in c.escalation.rules if key in (n.casefold() for n in r.customer)
        ]
        alerts = c.alertmanager
        if alerts.customer.casefold() == key:
            found.append("[alertmanager] customer")
        found += [
            f"alertmanager.rules[{i}].customer"
            for i, r in enumerate(alerts.rules, 1)
            if r.customer is not None and r.customer.casefold() == key
        ]
        return tuple(found)

    def delete_customer(self, name: str) -> tuple[str, int, int]:
        """Delete a customer no ticket and no contract refers to, with its contacts and e-mail domains; returns
        (its name, contacts, domains deleted). A customer with tickets is refused (exit 1) with their count and
        the way out: a rename, or a merge into another customer."""

        def work(session: Session) -> tuple[str, int, int]:
            c = self._customer_in(session, name, "NAME")
            total, open_ = store_customers.ticket_counts(session, c.id)
            if total:
                raise Refused(
                    f"customers delete: {c.name!r} has {_count(total, 'ticket')} ({open_} open): a customer with"
                    " tickets stays on the desk; to correct its name: deskterm customers rename NAME NEW; to fold it"
                    " into another customer: deskterm customers rename NAME OTHER --merge"
                )
            contracts = store_customers.contract_names(session, c.id)
            if contracts:
                raise Refused(
                    f"customers delete: {c.name!r} has {_count(len(contracts), 'contract')}"
                    f" ({', '.join(map(repr, contracts))}): a customer with contracts stays on the desk"
                )
            others = store_customers.contact_ticket_count(session, [p.id for p in c.contacts])
            if others:  # contacts named by tickets of other customers (an old desk's mix-up)
                raise Refused(f"customers delete: {_count(others, 'ticket')} of other customers name its contacts")
            contacts, domains = store_customers.delete_customer(session, c.id)
            return c.name, contacts, domains

        return self.store.write(work)

    def rename_contact(self, customer: str, contact: str, new: str) -> Renamed:
        """Rename a contact of a customer (``contact``: its e-mail or its name); each ticket that names it records
        the change in its history (a ``contact`` event, a new version). All or nothing."""
        new_name = self._new_name(new, "NEW")

        def work(session: Session) -> Renamed:
            c = self._customer_in(session, customer, "CUSTOMER")
            p = self._contact_in(c, contact)
            if p.name == new_name:
                raise Refused(f"customers contact-rename: {new_name!r} is already the contact's name")
            store_customers.rename_contact(session, p.id, new_name)
            count = self._record_on_tickets(session, col(Ticket.contact_id) == p.id, "contact", p.name, new_name)
            return Renamed(p.name, new_name, count, False, self.policy_name(c.name), ())

        return self._retrying(work)

    def delete_contact(self, customer: str, contact: str) -> str:
        """Delete a contact no ticket names; returns its name. One that tickets name is refused (exit 1) with
        their count: who called stays on the desk (rename it, e.g. "Claire Martin (left)")."""

        def work(session: Session) -> str:
            c = self._customer_in(session, customer, "CUSTOMER")
            p = self._contact_in(c, contact)
            named = store_customers.contact_ticket_count(session, [p.id])
            if named:
                raise Refused(
                    f"customers contact-delete: {_count(named, 'ticket')} of {c.name!r} name {p.name!r}: a contact"
                    " who called stays on the desk; rename it instead (deskterm customers contact-rename)"
                )
            store_customers.delete_contact(session, p.id)
            return p.name

        return self.store.write(work)

    def _new_name(self, typed: str, label: str) -> str:
        name = clean_name(typed)
        if not name:
            raise BadInput(f"{label}: empty name")
        if len(name) > NAME_MAX:
            raise BadInput(f"{label}: longer than {NAME_MAX} characters")
        if _unencodable(name):
            raise BadInput(f"{label}: {_NOT_UNICODE}")
        return name

    def _customer_in(self, session: Session, typed: str, label: str) -> CustomerRecord:
        found = store_customers.by_name(session, typed) if not _unencodable(typed) else None
        if found is None:
            known = store_customers.customer_names(session)
            raise BadInput(f"{label}: {unknown_customer_message(typed, known, '`deskterm customers list` lists them')}")
        return found

    @staticmethod
    def _contact_in(c: CustomerRecord, typed: str) -> ContactRecord:
        found = store_customers.find_contact(c.contacts, typed) if not _unencodable(typed) else None
        if found is None:
            names = ", ".join(p.label for p in c.contacts) or "none"
            shared = "@" not in typed and sum(name_key(p.name) == name_key(typed) for p in c.contacts) > 1
            why = "two of its contacts have that name: give the e-mail" if shared else f"its contacts: {names}"
            raise BadInput(f"CONTACT: {clean_name(typed)!r} is not one contact of {c.name!r} ({why})")
        return found

    def _retrying(self, work: Callable[[Session], Any]) -> Any:
        """A write of many tickets at the versions it read: a ticket changed meanwhile by another writer (PostgreSQL
        read committed) makes it start again on fresh rows, a few times."""
        for _ in range(4):
            try:
                return self.store.write(work)
            except Conflict:
                continue
        return self.store.write(work)

    def _canonical_customers(self, tickets: Sequence[NewTicket], directory: CustomerBatch, session: Session) -> None:
        """Each ticket's customer as the desk spells it (its record, else the configuration, else the file's
        customer record), before its SLA is derived: "acme" is the customer "Acme"."""
        spelled = store_customers.canonical_names(session, {t.customer for t in tickets})
        from_file = {name_key(c.name): c.name for c in directory.customers}
        configured = {name_key(n): n for n in self.config.customers}
        for t in tickets:
            key = name_key(t.customer)
            t.customer = spelled.get(t.customer) or configured.get(key) or from_file.get(key) or t.customer

    def _contact_ids(self, session: Session, tickets: Sequence[NewTicket], customers: dict[str, int]) -> dict[int, int]:
        """id(ticket) → the id of the contact it names (an e-mail or a name of its customer's contacts)."""
        named = [t for t in tickets if t.contact]
        if not named:
            return {}
        by_customer: dict[int, list[ContactRecord]] = {}
        out: dict[int, int] = {}
        problems: list[str] = []
        for t in named:
            cid = customers.get(t.customer, 0)  # (0: a customer new to the desk, which has no contacts yet)
            if cid not in by_customer:
                by_customer[cid] = store_customers._contacts(session, col(Contact.customer_id) == cid) if cid else []
            found = store_customers.find_contact(by_customer[cid], t.contact or "")
            if found is None:
                names = ", ".join(c.label for c in by_customer[cid]) or "none yet"
                problems.append(
                    f"{t.where or 'ticket'}: contact: {t.contact!r} is not a contact of {t.customer!r}"
                    f" (its contacts: {names})"
                )
            else:
                out[id(t)] = found.id
        if problems:
            raise BadInput(problems)
        return out

    def _register(self, session: Session, agents: Iterable[str], groups: Iterable[str], wrote: bool = False) -> None:
        """Remember agent and group names (``writes.register``)."""
        writes.register(SessionSQL(session), agents, groups, wrote)

    def rederive(self, only_if_config_changed: bool = True, progress: Progress | None = None) -> int:
        """Recompute the derived deadline columns of every open ticket from its history.

        Needed when the SLA configuration changes (a corrected calendar or target moves every deadline);
        the configuration's fingerprint is kept in ``meta`` so this runs once per change. Returns how
        many tickets were updated. ``progress`` is told each step (the open tickets read, their histories, their
        deadlines derived, those that moved written), only when there is work: an unchanged configuration
        tells it nothing.
        """
        from .progress import counting

        fingerprint = self.config.sla_fingerprint
        with self.store.read() as session:
            # one row read on the connection: no ORM object (building one configures every mapper, ~25 ms of a
            # command's start)
            stored = queries.meta_value(session, "sla_config")
            if only_if_config_changed and stored == fingerprint:
                return 0
        if only_if_config_changed and stored is not None and stored == self.config.fingerprint:
            # derived under this very file, when the whole file's hash was kept: the same deadlines
            self.store.write(lambda session: session.merge(Meta(key="sla_config", value=fingerprint)))
            return 0
        with self.store.read() as session:
            step = None if progress is None else _prefixed(progress, REDERIVING)
            open_statuses = [s for s in workflow.STATUSES if workflow.is_open(s)]
            open_tickets = queries.load_tickets(session, open_statuses, progress=step)
        now = self.clock.now()
        values = []
        for t in counting(open_tickets, step, "deriving deadlines", len(open_tickets)):
            derived = self._deadlines(t.customer, t.created_at, t.initial_priority, t.events, t.updated_at, now)
            if derived != (t.next_due, t.next_warn, t.next_timer, t.next_left):
                values.append({"tid": t.id, **dict(zip(DERIVED, derived, strict=True))})

        def work(session: Session) -> int:
            statement = (
                update(Ticket).where(col(Ticket.id) == bindparam("tid")).values(**{c: bindparam(c) for c in DERIVED})
            )
            for i in range(0, len(values), REDERIVE_BATCH):  # (in batches: the progress moves between them)
                session.connection().execute(statement, values[i : i + REDERIVE_BATCH])
                if step is not None:
                    step("writing deadlines", min(i + REDERIVE_BATCH, len(values)), len(values))
            session.merge(Meta(key="sla_config", value=fingerprint))
            return len(values)

        return self.store.write(work)

    # -- changing --------------------------------------------------------------------------------

    def update(self, key: str | int, change: Change, expect_version: int | None = None) -> int:
        """Apply one change; return the ticket's new version."""
        change = self.checked(change)
        return self._change(key, expect_version, lambda t, now: self._apply(t, change, now))

    # -- resolution, satisfaction, major incidents -------------------------------------------------

    def resolve(self, key: str | int, code: str, reply: str | None = None, expect_version: int | None = None) -> int:
        """Resolve with a resolution code (required here); records whether it was resolved at first contact."""
        return self.update(key, Change(status="resolved", resolution_code=code, reply=reply), expect_version)

    def close(
        self, key: str | int, csat: int | None = None, comment: str | None = None, expect_version: int | None = None
    ) -> int:
        """Close a resolved ticket, with the customer's satisfaction when it was given. A comment given without
        a score is kept as the ticket's survey comment and an internal note (it was dropped)."""
        if csat is not None:
            self._check_csat(csat)
        if comment is not None and not comment.strip():
            comment = None
        if comment is not None and _unencodable(comment):
            raise BadInput(f"comment: {_NOT_UNICODE}")

        def apply(t: TicketRecord, now: datetime) -> tuple[dict, list[NewEvent]]:
            said = f"the customer's comment at closing: {comment}" if csat is None and comment else None
            values, events = self._apply(t, Change(status="closed", note=said), now)
            if said is not None:
                values.update(csat_comment=comment)
            if csat is not None:
                events.append(NewEvent(at=now, kind="csat", author=self.user, to=str(csat), body=comment))
                values.update(csat_score=csat, csat_comment=comment)
            return values, events

        return self._change(key, expect_version, apply)

    def rate(self, key: str | int, csat: int, comment: str | None = None, expect_version: int | None = None) -> int:
        """Record the customer's satisfaction on a resolved or closed ticket."""
        return self.record_survey(key, SurveyAnswer(csat=csat, comment=comment), expect_version=expect_version)

    def record_survey(
        self,
        key: str | int,
        answer: SurveyAnswer,
        author: str | None = None,
        expect_version: int | None = None,
    ) -> int:
        """Record the customer's survey answer (CSAT 1-5, NPS 0-10, CES 1-7, a comment) on a resolved or
        closed ticket: one history event per score (``csat``, ``nps``, ``ces``; the comment goes with the first),
        the CSAT also on the ticket as the close dialog records it. ``author`` is who gave it: the agent who
        types it (the default), or ``"customer"`` when it is read from the customer's reply. A later answer
        replaces an earlier one in the KPIs. Returns the new version."""
        try:
            survey.check(answer)
        except survey.SurveyError as exc:
            raise BadInput(str(exc)) from None
        if _unencodable(answer.comment):
            raise BadInput(f"comment: {_NOT_UNICODE}")
        who = author or self.user

        def apply(t: TicketRecord, now: datetime) -> tuple[dict, list[NewEvent]]:
            if t.status not in workflow.STOPPED:
                raise Refused(
                    f"ticket {t.key}: satisfaction is recorded once the ticket is resolved (it is {t.status})"
                )
            return _survey_change(answer, who, now)

        return self._change(key, expect_version, apply)

    def remind_survey(self, key: str | int, expect_version: int | None = None) -> int:
        """Record that the customer was reminded of the survey (once per resolution; the mail sender sends it).
        Refused when the ticket is not resolved, was answered or was already reminded since its resolution."""

        def apply(t: TicketRecord, now: datetime) -> tuple[dict, list[NewEvent]]:
            if t.status not in workflow.STOPPED:
                raise Refused(f"ticket {t.key}: not resolved (it is {t.status}): no survey to remind")
            state = survey_state(t.events)
            if state == "answered":
                raise Refused(f"ticket {t.key}: the survey was answered; no reminder")
            if state == "reminded":
                raise Refused(f"ticket {t.key}: already reminded once")
            return {}, [NewEvent(at=now, kind=SURVEY_REMINDER, author=self.user)]

        return self._change(key, expect_version, apply)

    def survey_reminders_due(self, after: timedelta, within: timedelta = timedelta(days=30)) -> list[TicketRecord]:
        """Resolved (or closed) tickets whose survey has had no answer and no reminder, resolved at least
        ``after`` ago and at most ``within`` ago: those to remind, oldest resolution first."""
        now = self.clock.now()
        since, until = now - within, now - after
        if until <= since:
            return []
        due = []
        for t in self.tickets_for_period(since, until):
            resolved = resolved_at(t.events)
            if t.status in workflow.STOPPED and resolved is not None and since <= resolved < until:
                if survey_state(t.events) == "asked":
                    due.append((resolved, t))
        return [t for _, t in sorted(due, key=lambda x: (x[0], x[1].id))]

    @staticmethod
    def _check_csat(csat: int) -> None:
        try:
            survey.check(SurveyAnswer(csat=csat))
        except survey.SurveyError as exc:
            raise BadInput(str(exc)) from None

    def link(self, key: str | int, major: str | int | None, expect_version: int | None = None) -> int:
        """Link a ticket to a major incident (another ticket), or unlink it with ``major=None``."""

        def apply(t: TicketRecord, now: datetime) -> tuple[dict, list[NewEvent]]:
            with self.store.read() as session:
                target = self._load(session, major) if major is not None else None
            if target is not None:
                if target.id == t.id:
                    raise Refused(f"ticket {t.key}: cannot be its own major incident")
                if target.status == "closed":
                    raise Refused(
                        f"ticket {target.key} is closed: it cannot be a major incident any more (link to an open one)"
                    )
                if target.major_id is not None:
                    raise Refused(f"ticket {target.key} is itself linked to #{target.major_id}: link to that one")
                with self.store.read() as session:
                    if queries.linked_tickets(session, t.id):
                        raise Refused(f"ticket {t.key} is a major incident with linked tickets: it cannot be linked")
            new = target.id if target is not None else None
            if new == t.major_id:
                raise Refused(
                    f"ticket {t.key}: nothing changed (already {'linked to #' + str(new) if new else 'unlinked'})"
                )
            event = NewEvent(
                at=now,
                kind="link",
                author=self.user,
                from_value=str(t.major_id) if t.major_id else None,
                to=str(new) if new else None,
            )
            return {"major_id": new}, [event]

        return self._change(key, expect_version, apply)

    def open_majors(self) -> list[tuple[TicketRecord, int]]:
        """The major incidents still open (not resolved or closed), each with its number of linked tickets."""
        with self.store.read() as session:
            return queries.open_majors(session, sorted(workflow.STOPPED))

    def linked(self, major: str | int) -> list[TicketRecord]:
        with self.store.read() as session:
            t = self._load(session, major)
            return queries.linked_tickets(session, t.id)

    def broadcast(
        self,
        major: str | int,
        reply: str | None = None,
        resolve_code: str | None = None,
        seen: dict[int, int] | None = None,
    ) -> list[int]:
        """Apply a public reply and/or a resolution to a major incident and every ticket linked to it, in
        one transaction (all or nothing). Tickets already resolved are given the reply only. ``seen``: the
        tickets the agent was shown (the major and its linked ones, id → version); when they are not exactly
        those at the versions shown (one changed, linked or unlinked since), nothing is applied (``Conflict``)."""
        if reply is None and resolve_code is None:
            raise BadInput("nothing to apply: give a reply or a resolution code")
        if reply is not None and not reply.strip():
            raise BadInput("reply: empty text")
        if resolve_code is not None:
            self._check_code(resolve_code)

        def work(session: Session) -> list[int]:
            head = self._load(session, major)
            targets = [head] + [self._load(session, t.id) for t in queries.linked_tickets(session, head.id)]
            if seen is not None and {t.id: t.version for t in targets} != seen:
                raise Conflict(_broadcast_changes(head.key, seen, targets))
            changed = []
            for t in targets:
                now = self._stamp(t.updated_at)
                if resolve_code is not None and t.status not in workflow.STOPPED:
                    values, events = self._apply(
                        t, Change(status="resolved", resolution_code=resolve_code, reply=reply), now
                    )
                elif reply is not None and t.status != "closed":
                    values, events = self._apply(t, Change(reply=reply), now)
                else:
                    continue
                self._write(session, t, values, events, now)
                changed.append(t.id)
            return changed

        return self.store.write(work)

    # -- escalation ------------------------------------------------------------------------------

    def escalate(
        self,
        key: str | int,
        kind: str,
        to: str,
        reason: str,
        expect_version: int | None = None,
        reassign: bool | None = None,
    ) -> int:
        """Escalate functionally (to a group: the ticket moves there) or hierarchically (to a manager).

        Functional and hierarchical escalations are two independent lines: an open escalation of the same
        kind is closed as "escalated" (escalating further), one of the other kind stays open. ``reassign``
        (rules) decides whether the ticket moves to the group; a manual functional escalation moves it.
        """
        settings = self.config.escalation
        if kind not in esc_rules.KINDS:
            raise BadInput(f"escalation: kind {kind!r} is not one of {', '.join(esc_rules.KINDS)}")
        if kind == esc_rules.FUNCTIONAL and to not in settings.groups:
            raise BadInput(f"escalation: unknown group {to!r} (known: {', '.join(sorted(settings.groups))})")
        if kind == esc_rules.HIERARCHICAL and to not in settings.managers:
            known = ", ".join(settings.managers) or "none configured in escalation.managers"
            raise BadInput(f"escalation: unknown manager {to!r} (known: {known})")
        if not reason or not reason.strip():
            raise BadInput("escalation: a reason is required")
        move = (kind == esc_rules.FUNCTIONAL) if reassign is None else (reassign and kind == esc_rules.FUNCTIONAL)
        return self._change(key, expect_version, lambda t, now: self._escalation(t, now, kind, to, reason, move, None))

    def _escalation(
        self, t: TicketRecord, now: datetime, kind: str, to: str, reason: str, move: bool, rule: str | None
    ):
        refusal = esc_rules.why_not_escalate(t.status)
        if refusal is not None:
            raise Refused(f"ticket {t.key}: {refusal}")
        values: dict = {}
        events = [NewEvent(at=now, kind="escalate", author=self.user, from_value=kind, to=to, reason=reason)]
        if move and t.group != to:
            values["group_name"] = to
            values["assignee"] = None  # the target group takes it from its own queue
        level = self.config.escalation.level_of(kind, to)

        def after(session: Session, ticket: TicketRecord, when: datetime) -> None:
            # two independent lines (ITIL): a functional escalation supersedes an open functional one, a
            # hierarchical one an open hierarchical one; the other line is left as it is
            same_line = select(Escalation).where(
                col(Escalation.ticket_id) == ticket.id,
                col(Escalation.kind) == kind,
                col(Escalation.closed_at).is_(None),
            )
            for open_esc in session.execute(same_line).scalars():
                open_esc.closed_at, open_esc.closed_by, open_esc.outcome = when, self.user, "escalated"
            session.add(
                Escalation(
                    ticket_id=ticket.id,
                    kind=kind,
                    level=level,
                    target=to,
                    reason=reason,
                    rule=rule,
                    created_at=when,
                    created_by=self.user,
                )
            )
            session.flush()

        return values, events, after

    def acknowledge(self, escalation_id: int) -> int:
        """The target acknowledges an escalation (an event in the ticket's history)."""
        esc = self._escalation_row(escalation_id)
        if esc.closed_at is not None:
            raise Refused(f"escalation {escalation_id}: already closed ({esc.outcome})")
        if esc.acknowledged_at is not None:
            raise Refused(f"escalation {escalation_id}: already acknowledged by {esc.acknowledged_by}")

        def apply(t: TicketRecord, now: datetime):
            if t.status in workflow.STOPPED:
                raise Refused(f"escalation {escalation_id}: closed with its ticket ({t.status})")
            event = NewEvent(
                at=now, kind="acknowledge", author=self.user, to=esc.target, reason=f"escalation {escalation_id}"
            )

            def after(session: Session, ticket: TicketRecord, when: datetime) -> None:
                row = session.get(Escalation, escalation_id)
                if row is None or row.acknowledged_at is not None or row.closed_at is not None:
                    raise Conflict(f"escalation {escalation_id}: changed meanwhile; reload it")
                row.acknowledged_at, row.acknowledged_by = when, self.user

            return {}, [event], after

        return self._change(esc.ticket_id, None, apply)

    def de_escalate(
        self, escalation_id: int, note: str, to_group: str = "L1", expect_version: int | None = None
    ) -> int:
        """Return the ticket to L1 (or another group) with a note; the escalation is closed as returned.
        ``expect_version``: the ticket's version the agent saw (a change since: ``Conflict``, nothing written)."""
        if not note or not note.strip():
            raise BadInput("de-escalation: a note for L1 is required")
        esc = self._escalation_row(escalation_id)
        if esc.closed_at is not None:
            raise Refused(f"escalation {escalation_id}: already closed ({esc.outcome})")

        def apply(t: TicketRecord, now: datetime):
            if t.status in workflow.STOPPED:
                raise Refused(f"escalation {escalation_id}: closed with its ticket ({t.status})")
            values = {"group_name": to_group} if (esc.kind == esc_rules.FUNCTIONAL and t.group != to_group) else {}
            events = [
                NewEvent(at=now, kind="de-escalate", author=self.user, from_value=esc.target, to=to_group, reason=note)
            ]

            def after(session: Session, ticket: TicketRecord, when: datetime) -> None:
                row = session.get(Escalation, escalation_id)
                if row is None or row.closed_at is not None:
                    raise Conflict(f"escalation {escalation_id}: changed meanwhile; reload it")
                row.closed_at, row.closed_by, row.outcome, row.note = when, self.user, "returned", note

            return values, events, after

        return self._change(esc.ticket_id, expect_version, apply)

    def _escalation_row(self, escalation_id: int) -> Escalation:
        with self.store.read() as session:
            row = session.get(Escalation, escalation_id)
        if row is None:
            raise BadInput(f"escalation {escalation_id}: no such escalation")
        return row

    def escalations(
        self, open_only: bool = True, ticket: str | int | None = None, tickets: Collection[int] | None = None
    ) -> list[Escalation]:
        """The escalations, oldest first (``open_only``: those still open; ``tickets``: only those of these
        tickets, by id: what a screen that touches only the changed tickets reads).

        Resolving or closing a ticket closes its escalations (``_write``). A desk written before that rule
        may hold open escalations of resolved or closed tickets: they are read as closed by the ticket's end
        (outcome its status, at its last change), never as waiting for an acknowledgement."""
        with self.store.read() as session:
            where: list[Any] = self._open_escalation() if open_only else []
            if ticket is not None:
                where.append(col(Escalation.ticket_id) == self._load(session, ticket).id)
            if tickets is not None:
                where.append(col(Escalation.ticket_id).in_(sorted(tickets)))
            return self._escalations(session, *where)

    @staticmethod
    def _open_escalation() -> list[Any]:
        """What ``escalations(open_only=True)`` holds of an escalation and its ticket."""
        return [col(Escalation.closed_at).is_(None), col(Ticket.status).not_in(sorted(workflow.STOPPED))]

    @staticmethod
    def _escalations(session: Session, *where: Any) -> list[Escalation]:
        """The escalations that match ``where`` (on escalations and their tickets), oldest first, as ``escalations``
        gives them."""
        stmt = (
            select(Escalation, col(Ticket.status), col(Ticket.updated_at))
            .join(Ticket, col(Ticket.id) == col(Escalation.ticket_id))
            .where(*where)
            .order_by(col(Escalation.created_at), col(Escalation.id))
        )
        rows = session.execute(stmt).all()
        out = []
        for esc, status, updated_at in rows:
            if esc.closed_at is None and status in workflow.STOPPED:  # detached: shown so, never written
                esc.closed_at, esc.outcome = max(updated_at, esc.created_at), status
            out.append(esc)
        return out

    def open_escalations_by_ticket(self) -> dict[int, Escalation]:
        """The newest open escalation of each ticket that has one."""
        return {e.ticket_id: e for e in self.escalations(open_only=True)}

    def apply_rules(self, at: datetime | None = None) -> list[tuple[int, str]]:
        """Apply the automatic escalation rules once, as of ``at`` (default now); idempotent.

        Each (rule, ticket, timer cycle) fires at most once, guaranteed by the unique key of
        ``rule_firings``: the firing is inserted in the same transaction as the escalation, and an insert
        that loses a race with another process (app, cron) fails and is skipped. Returns (ticket id, rule key)
        of what fired.
        """
        if at is not None and at > self.clock.now():
            # escalations dated in the future would use up the firings of their cycle and, through the ticket's
            # last change, date what follows: a writing command records nothing later than now
            raise BadInput(
                f"at: {at.isoformat()} is in the future; the rules are applied as of now or an instant before"
            )
        rules = self.config.escalation.rules
        if not rules:
            return []
        now = at or self.clock.now()
        open_statuses = [s for s in workflow.STATUSES if workflow.is_open(s)]
        with self.store.read() as session:
            if at is None:
                # only the tickets some rule's filters take by their rows (``rule_candidate``) are replayed; the
                # filters are said in SQL (only the rows they take are read), then checked by the rules themselves
                filters = [self.rule_filter(r) for r in rules]
                open_tickets = queries.rule_candidates(session, open_statuses, filters, now)
                open_tickets = [t for t in open_tickets if self.rule_candidate(t, now)]
            else:
                open_tickets = queries.load_tickets(session, open_statuses, with_events=False)
            histories = queries.events_of(session, [t.id for t in open_tickets])
            for t in open_tickets:
                t.events = histories.get(t.id, [])
            fired = set(
                session.execute(select(col(RuleFiring.rule), col(RuleFiring.ticket_id), col(RuleFiring.cycle))).all()
            )
        fired_now: list[tuple[int, str]] = []
        for ticket_id, f in self.due_firings(open_tickets, fired, now):
            if self._fire(ticket_id, f, now):
                fired_now.append((ticket_id, f.rule.key))
        return fired_now

    def _fire(self, ticket_id: int, firing, now: datetime) -> bool:
        rule = firing.rule
        reason = f"automatic: {rule.when}" + (f" ({rule.name})" if rule.name else "")

        def work(session: Session) -> bool:
            try:
                with session.begin_nested():
                    session.add(RuleFiring(rule=rule.key, ticket_id=ticket_id, cycle=firing.cycle, fired_at=now))
                    session.flush()
            except IntegrityError:
                return False  # another app or cron job fired it first
            t = self._load(session, ticket_id)
            if t.status in workflow.STOPPED:
                return False
            when = self._stamp(t.updated_at, now)
            values, events, after = self._escalation(t, when, rule.action, rule.to, reason, rule.reassign, rule.key)
            self._write(session, t, values, events, when)
            after(session, t, when)
            return True

        try:
            return self.store.write(work)
        except IntegrityError:
            return False

    # -- time, change requests, contracts (the service manager's month: domain/billing.py) ---------

    def log_time(self, key: str | int, seconds: int, note: str | None = None, expect_version: int | None = None) -> int:
        """Log ``seconds`` of work on a ticket, as the OS user: a ``time`` event in its history and a row of
        ``time_entries`` (what billing adds up), in one transaction. Returns the ticket's new version."""
        try:
            billing_rules.check_entry(seconds)
        except billing_rules.RuleError as exc:
            raise BadInput(f"time: {exc}") from None
        note = note.strip() if note is not None else None
        if note is not None and _unencodable(note):
            raise BadInput(f"--note: {_NOT_UNICODE}")

        def apply(t: TicketRecord, now: datetime):
            event = NewEvent(at=now, kind="time", author=self.user, to=str(seconds), body=note or None)

            def after(session: Session, ticket: TicketRecord, when: datetime) -> None:
                session.execute(
                    insert(TimeEntry).values(
                        ticket_id=ticket.id, at=when, agent=self.user, seconds=seconds, note=note or None
                    )
                )

            return {}, [event], after

        return self._change(key, expect_version, apply)

    def time_logged(self, key: str | int) -> list[tuple[datetime, str, int, str | None]]:
        """The time entries of one ticket, oldest first: (at, agent, seconds, note)."""
        with self.store.read() as session:
            t = self._load(session, key)
            rows = session.execute(
                select(col(TimeEntry.at), col(TimeEntry.agent), col(TimeEntry.seconds), col(TimeEntry.note))
                .where(col(TimeEntry.ticket_id) == t.id)
                .order_by(col(TimeEntry.at), col(TimeEntry.id))
            )
            return [(r[0], r[1], r[2], r[3]) for r in rows]

    def change_request(
        self,
        key: str | int,
        estimate: int | None = None,
        approval: str | None = None,
        expect_version: int | None = None,
    ) -> int:
        """Set a change request's estimate and/or move its approval one step (proposed → approved → delivered →
        invoiced, or rejected), recording who and when; a skipped step is bad input (nothing written)."""
        if estimate is None and approval is None:
            raise BadInput("change-request: nothing to change (give --estimate and/or --approval)")
        if estimate is not None and estimate <= 0:
            raise BadInput("--estimate: must be longer than zero")

        def work(session: Session) -> int:
            t = self._load(session, key)
            _expect(t, expect_version)
            if t.classification != "change_request":
                raise BadInput(
                    f"ticket {t.key}: not a change request (classification: {t.classification or 'none'}); "
                    "classify it first (update --classification change_request)"
                )
            row = session.get(ChangeRequest, t.id)
            now = self._stamp(t.updated_at)
            events: list[NewEvent] = []
            values: dict[str, Any] = {}
            if estimate is not None and (row is None or row.estimate_seconds != estimate):
                old = row.estimate_seconds if row is not None else None
                events.append(
                    NewEvent(
                        at=now,
                        kind="estimate",
                        author=self.user,
                        from_value=str(old) if old is not None else None,
                        to=str(estimate),
                    )
                )
                values["estimate_seconds"] = estimate
            if approval is not None:
                current = row.approval if row is not None else None
                try:
                    billing_rules.check_approval(current, approval)
                except billing_rules.RuleError as exc:
                    raise BadInput(f"ticket {t.key}: {exc}") from None
                events.append(NewEvent(at=now, kind="approval", author=self.user, from_value=current, to=approval))
                values.update(approval=approval, approval_by=self.user, approval_at=now)
            if not events:
                raise Refused(f"ticket {t.key}: nothing changed (the change request already has those values)")
            version = self._write(session, t, {}, events, now)
            if row is None:
                session.execute(insert(ChangeRequest).values(ticket_id=t.id, **values))
            else:
                session.execute(update(ChangeRequest).where(col(ChangeRequest.ticket_id) == t.id).values(**values))
            return version

        return self.store.write(work)

    def change_request_of(self, key: str | int) -> tuple[int | None, str | None, str | None, datetime | None] | None:
        """(estimate seconds, approval, by, at) of a change request; None when nothing was set."""
        with self.store.read() as session:
            t = self._load(session, key)
            row = session.get(ChangeRequest, t.id)
            if row is None:
                return None
            return row.estimate_seconds, row.approval, row.approval_by, row.approval_at

    def work_summary(self, key: str | int) -> WorkSummary:
        """What the ticket screen shows of the service manager's side: the contract the ticket belongs to (in
        force on the day it was created), the time logged on it, and its change request's estimate and state."""
        with self.store.read() as session:
            return self._work_summary(session, self._load(session, key))

    def _work_summary(self, session: Session, t: TicketRecord) -> WorkSummary:
        """``work_summary`` of a ticket read in ``session``."""
        day = t.created_at.astimezone(self.config.tz).date()
        contract = billing_rules.in_force(queries.contracts(session, t.customer), day)
        logged = session.execute(
            select(func.coalesce(func.sum(col(TimeEntry.seconds)), 0)).where(col(TimeEntry.ticket_id) == t.id)
        ).scalar()
        row = session.get(ChangeRequest, t.id)
        link = session.get(ProblemLink, t.id)
        record = session.get(ProblemRecord, t.id) if t.type == "problem" else None
        incidents = open_actions = 0
        if t.type == "problem":
            incidents = session.execute(select(func.count()).where(col(ProblemLink.problem_id) == t.id)).scalar_one()
            open_actions = session.execute(
                select(func.count()).where(col(ProblemAction.problem_id) == t.id, col(ProblemAction.state) == "open")
            ).scalar_one()
        return WorkSummary(
            contract=contract,
            logged_seconds=int(logged or 0),
            estimate_seconds=row.estimate_seconds if row else None,
            approval=row.approval if row else None,
            approval_by=row.approval_by if row else None,
            approval_at=row.approval_at if row else None,
            problem_id=link.problem_id if link else None,
            root_cause=record.root_cause if record else None,
            known_error=bool(record.known_error) if record else False,
            workaround=record.workaround if record else None,
            incidents=int(incidents),
            open_actions=int(open_actions),
        )

    # -- problems: root cause, known error, linked incidents, corrective actions (domain/problems.py) --

    def update_problem(
        self,
        key: str | int,
        root_cause: str | None = None,
        known_error: bool | None = None,
        workaround: str | None = None,
        expect_version: int | None = None,
    ) -> int:
        """Record what is known of a problem; each field changed is an event of its history."""
        for label, text in (("--root-cause", root_cause), ("--workaround", workaround)):
            if text is not None and _unencodable(text):
                raise BadInput(f"{label}: {_NOT_UNICODE}")
        if root_cause is None and known_error is None and workaround is None:
            raise BadInput("problem: nothing to change (--root-cause, --known-error, --workaround, --link)")

        def work(session: Session) -> int:
            t = self._load(session, key)
            _expect(t, expect_version)
            if t.type != "problem":
                raise BadInput(f"ticket {t.key}: not a problem (type {t.type}); set its type to problem first")
            row = session.get(ProblemRecord, t.id)
            now = self._stamp(t.updated_at)
            values: dict[str, Any] = {}
            events: list[NewEvent] = []
            for name, value in (("root_cause", root_cause), ("workaround", workaround)):
                if value is not None and (row is None or getattr(row, name) != value.strip()):
                    values[name] = value.strip()
                    events.append(NewEvent(at=now, kind="problem", author=self.user, to=name, body=value.strip()))
            if known_error is not None and (row is None or row.known_error != known_error):
                values["known_error"] = known_error
                events.append(
                    NewEvent(at=now, kind="problem", author=self.user, to="known_error", body=str(known_error).lower())
                )
            if not events:
                raise Refused(f"ticket {t.key}: nothing changed (the problem already has those values)")
            version = self._write(session, t, {}, events, now)
            if row is None:
                session.execute(insert(ProblemRecord).values(ticket_id=t.id, **values))
            else:
                session.execute(update(ProblemRecord).where(col(ProblemRecord.ticket_id) == t.id).values(**values))
            return version

        return self.store.write(work)

    def link_problem(
        self, problem: str | int, incidents: Sequence[str | int], expect_version: int | None = None
    ) -> list[int]:
        """Link incidents to a problem (one transaction: all or none); an incident linked elsewhere moves here.
        Each incident's history says so. Returns their new versions."""
        if not incidents:
            raise BadInput("problem: --link names no incident")

        def work(session: Session) -> list[int]:
            p = self._load(session, problem)
            versions = []
            for key in incidents:
                t = self._load(session, key)
                _expect(t, expect_version)
                try:
                    problem_rules.check_link(p.type, t.type, p.key, t.key)
                except billing_rules.RuleError as exc:
                    raise BadInput(str(exc)) from None
                old = session.get(ProblemLink, t.id)
                if old is not None and old.problem_id == p.id:
                    continue
                now = self._stamp(t.updated_at)
                event = NewEvent(
                    at=now,
                    kind="problem-link",
                    author=self.user,
                    from_value=str(old.problem_id) if old else None,
                    to=str(p.id),
                )
                versions.append(self._write(session, t, {}, [event], now))
                if old is None:
                    session.execute(
                        insert(ProblemLink).values(ticket_id=t.id, problem_id=p.id, linked_at=now, linked_by=self.user)
                    )
                else:
                    session.execute(
                        update(ProblemLink)
                        .where(col(ProblemLink.ticket_id) == t.id)
                        .values(problem_id=p.id, linked_at=now, linked_by=self.user)
                    )
            if not versions:
                raise Refused(f"ticket {p.key}: those incidents are already linked to it")
            return versions

        return self.store.write(work)

    def add_action(self, problem: str | int, title: str, owner: str, due: date) -> int:
        """A corrective action of a problem (an event of the problem's history); returns the action's id."""
        if not title.strip() or _unencodable(title):
            raise BadInput("--title: empty" if not title.strip() else f"--title: {_NOT_UNICODE}")
        owner_name = self.agent(owner)
        if owner_name == "me":
            owner_name = self.user
        elif owner_name in UNASSIGN:
            raise BadInput("--owner: an action needs an owner")

        def work(session: Session) -> int:
            p = self._load(session, problem)
            if p.type != "problem":
                raise BadInput(f"ticket {p.key}: not a problem (type {p.type}); set its type to problem first")
            now = self._stamp(p.updated_at)
            event = NewEvent(at=now, kind="action", author=self.user, to=f"{owner_name} by {due}", body=title.strip())
            self._write(session, p, {}, [event], now)
            row = ProblemAction(
                problem_id=p.id,
                title=title.strip(),
                owner=owner_name,
                due=due,
                created_at=now,
                created_by=self.user,
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            return row.id

        return self.store.write(work)

    def set_action(self, action_id: int, state: str) -> int:
        """Mark a corrective action done or cancelled (an event of its problem's history)."""

        def work(session: Session) -> int:
            row = session.get(ProblemAction, action_id)
            if row is None:
                raise BadInput(f"action {action_id}: no such action")
            try:
                problem_rules.check_action_state(row.state, state)
            except billing_rules.RuleError as exc:
                raise BadInput(f"action {action_id}: {exc}") from None
            p = self._load(session, row.problem_id)
            now = self._stamp(p.updated_at)
            event = NewEvent(at=now, kind="action", author=self.user, from_value=row.state, to=state, body=row.title)
            version = self._write(session, p, {}, [event], now)
            session.execute(
                update(ProblemAction)
                .where(col(ProblemAction.id) == action_id)
                .values(state=state, done_at=now if state == "done" else None)
            )
            return version

        return self.store.write(work)

    def add_contract(self, contract: billing_rules.Contract) -> int:
        """Register a customer's contract; overlapping ones, an end before the start, an unknown customer or
        policy are bad input (nothing written). Returns the contract's id."""
        for label, text in (("--name", contract.name), ("--scope", contract.scope)):
            if _unencodable(text):
                raise BadInput(f"{label}: {_NOT_UNICODE}")
        if not contract.name.strip():
            raise BadInput("--name: empty")
        if contract.policy is not None and contract.policy not in self.config.policies:
            raise BadInput(f"--policy: unknown policy {contract.policy!r} (known: {', '.join(self.config.policies)})")

        def work(session: Session) -> int:
            customer_id = session.execute(
                select(col(Customer.id)).where(col(Customer.name) == contract.customer)
            ).scalar()
            if customer_id is None:
                raise BadInput(f"--customer: unknown customer {contract.customer!r}")
            try:
                billing_rules.check_contract(contract, queries.contracts(session, contract.customer))
            except billing_rules.RuleError as exc:
                raise BadInput(str(exc)) from None
            now = self.clock.now()
            row = Contract(
                customer_id=customer_id,
                name=contract.name.strip(),
                start=contract.start,
                end=contract.end,
                renews=contract.renews,
                policy=contract.policy,
                included_seconds=contract.included_seconds,
                rate_cents=contract.rate_cents,
                scope=contract.scope,
                created_at=now,
                created_by=self.user,
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            return row.id

        return self.store.write(work)

    def contracts(self, customer: str | None = None) -> list[billing_rules.Contract]:
        with self.store.read() as session:
            return queries.contracts(session, customer)

    def canned(
        self, name: str, ticket: TicketRecord, contact: ContactRecord | None = None, look_up: bool = True
    ) -> str:
        """A canned response with {customer}, {contact} (the first name of the ticket's contact; the customer's
        name when it has none), {ticket} and {agent} filled in (other braces left alone)."""
        if name not in self.config.canned:
            known = ", ".join(sorted(self.config.canned)) or "none configured"
            raise BadInput(f"canned response {name!r}: unknown (known: {known})")
        text = self.config.canned[name]
        if look_up and contact is None and "{contact}" in text:  # (the screens pass what they loaded: no read)
            contact = self.contact_of(ticket)
        for placeholder, value in (
            ("{customer}", ticket.customer),
            ("{contact}", first_name(contact.name) if contact is not None else ticket.customer),
            ("{ticket}", ticket.ref or f"#{ticket.id}"),
            ("{agent}", self.user),
        ):
            text = text.replace(placeholder, value)
        return text

    def claim(self, key: str | int, expect_version: int | None = None) -> int:
        """Assign to me, atomically: if someone else has it, say who.

        The check that nobody has it is made inside the write transaction, so of two agents claiming at
        once exactly one wins. A version that moved for another reason (a note, a status) does not stop a
        claim: claiming changes only the assignee, which is checked to be still empty.
        """
        del expect_version

        def apply(t: TicketRecord, now: datetime) -> tuple[dict, list[NewEvent]]:
            if t.assignee == self.user:
                raise Refused(f"ticket {t.key}: already yours")
            if t.assignee:
                raise Refused(f"ticket {t.key}: already claimed by {t.assignee}")
            return self._apply(t, Change(assign=self.user), now)

        return self._change(key, None, apply)

    # -- customer e-mail (issue 16) -----------------------------------------------------------------

    def mail_statuses(self, key: str | int) -> list[outbox.Status]:
        """How each message of the ticket stands (queued, sent, failed), oldest first."""
        from .mail import outbox

        with self.store.read() as session:
            t = self._load(session, key)
            return outbox.statuses(session, t.id)

    def mail_lines(self, key: str | int) -> dict[int, str]:
        """For the timeline: the event that made each message (a reply, a resolution) → how it stands, and
        the customer message that brought attachments → their list (0: the message that opened the ticket)."""
        from .mail.files import human_size

        lines = {s.event_id: s.describe() for s in self.mail_statuses(key) if s.event_id is not None}
        for a in self.attachments(key):
            line = f"attachment {a.n}: {a.name} ({human_size(a.size)})"
            where = a.event_id or 0
            lines[where] = f"{lines[where]}\n{line}" if where in lines else line
        return lines

    def mail_retry(self, key: str | int) -> int:
        """Queue the ticket's failed messages again (the ticket screen's R); how many. Nothing of the ticket
        changes: its version stays, so no agent's view of it goes stale."""

        from .mail import outbox

        def work(session: Session) -> int:
            t = self._load(session, key)
            n = outbox.retry(session, t.id, self.clock.now())
            if n == 0:
                raise Refused(f"ticket {t.key}: no failed message to send again")
            return n

        return self.store.write(work)

    def take_mail(self, parsed: Any, source: str, files: Sequence[tuple[str, str, int, str]] = ()) -> MailTaken:
        """Take one customer message (``mail/parse.py``), exactly once by its Message-ID: a new ticket, or a
        customer message on the ticket it answers (which takes a pending ticket back to open, and reopens one
        resolved within ``mail.reopen_within``). ``files``: its attachments already stored by content (name,
        type, size, sha256). A message that names another customer's ticket, or an automatic one that would
        open a ticket, is quarantined with the reason instead."""
        return self.take_mails([(parsed, source, files)])[0]

    def take_mails(self, batch: Sequence[tuple[Any, str, Sequence[tuple[str, str, int, str]]]]) -> list[MailTaken]:
        """``take_mail`` for several messages in one transaction (a fetch takes them by the hundred): all are
        taken, or none (then none is marked read where it came from, and the next fetch takes them)."""
        mail = self.config.mail
        if mail is None:
            raise BadInput("mail: no [mail] section in the configuration")
        for parsed, _source, _files in batch:
            if _unencodable(parsed.text) or _unencodable(parsed.subject) or _unencodable(parsed.sender):
                raise BadInput(f"mail {parsed.message_id}: {_NOT_UNICODE}")
        from .mail import intake

        def work(session: Session) -> list[MailTaken]:
            now = self.clock.now()  # the batch's instant
            view = intake.Batch(session, [parsed for parsed, _s, _f in batch], now, mail.flood_window)
            out = [self._take_one(session, mail, view, now, parsed, source, files) for parsed, source, files in batch]
            view.write()
            return out

        return self.store.write(work)

    def _take_one(
        self,
        session: Session,
        mail: Any,
        view: intake.Batch,
        now: datetime,
        parsed: Any,
        source: str,
        files: Sequence[tuple[str, str, int, str]],
    ) -> MailTaken:
        from .mail import intake, outbox

        seen = view.seen.get(parsed.message_id)
        if seen is not None:
            return MailTaken("duplicate", seen[1], parsed.message_id, "already taken")
        tid = view.thread_ticket(parsed)
        via = "answers a message of its thread"
        if tid is None:
            tid = intake.tagged_ticket(session, parsed)
            via = "tag in the subject"
        state = "added"
        customer, contact_id = view.sender(parsed.sender)
        t: TicketRecord | None = None
        if tid is not None:
            view.write()  # what follows reads the thread's messages, this batch's included
            known = intake.addresses_of(session, tid)
            t = self._load(session, tid)
            if not intake.same_party(parsed.sender, known) and customer != t.customer:
                return self._set_aside(
                    view,
                    parsed,
                    source,
                    now,
                    f"names ticket #{tid} ({t.customer}), whose thread {parsed.sender} is not on",
                )
        elif view.flooding(parsed.sender, mail.flood_count):
            view.write()
            tid = intake.flood_ticket(session, parsed.sender, now, mail.flood_count, mail.flood_window)
            state, via = "flood", "flooding sender: added to their ticket"
        if tid is not None:
            t = t if t is not None and t.id == tid else self._load(session, tid)
            if t.status in workflow.STOPPED and state == "added" and not parsed.automatic:
                answered = self._survey_reply(session, t, parsed, now)
                if answered is not None:
                    self._mail_rows(session, view, parsed, source, now, tid, answered, "survey", via, files)
                    return MailTaken("survey", tid, parsed.message_id, via)
            closed_for_good = t.status == "closed" or (
                t.status == "resolved" and (now - t.updated_at).total_seconds() > mail.reopen_within
            )
            if not closed_for_good:
                event_id = self._customer_message(session, t, parsed, state, now)
                self._mail_rows(session, view, parsed, source, now, tid, event_id, state, via, files)
                return MailTaken(state, tid, parsed.message_id, via)
            via = f"follow-up of #{t.id}, which is {t.status}"
        if parsed.automatic:
            return self._set_aside(view, parsed, source, now, f"automatic message ({parsed.automatic})")
        customer = customer or mail.unknown_customer
        desc = parsed.text if tid is None else f"(follow-up of #{tid})\n\n{parsed.text}"
        new_id = self._insert_ticket(session, parsed.subject, customer, mail.priority, desc, now, contact_id, view)
        self._mail_rows(session, view, parsed, source, now, new_id, None, "ticket", via if tid else "new", files)
        if mail.acknowledge:
            view.write()  # the acknowledgement answers the message: its row first
            body = outbox.fill(mail.acknowledge, new_id, parsed.subject, customer)
            outbox.queue(session, mail, new_id, parsed.subject, customer, "L1", "acknowledge", body, now)
        return MailTaken("ticket", new_id, parsed.message_id, via if tid else "new")

    def quarantine_mail(self, message_id: str, reason: str, source: str, raw_sha256: str) -> MailTaken:
        """Keep a message that cannot be taken aside, once, with the reason (its bytes are kept by the caller)."""

        def work(session: Session) -> MailTaken:
            seen = session.execute(select(col(InboundMail.id)).where(col(InboundMail.message_id) == message_id)).first()
            if seen is None:
                session.execute(
                    insert(InboundMail).values(
                        message_id=message_id,
                        state="quarantined",
                        reason=reason,
                        source=source,
                        raw_sha256=raw_sha256,
                        taken_at=self.clock.now(),
                    )
                )
            return MailTaken("quarantined", None, message_id, reason)

        return self.store.write(work)

    def quarantined(self) -> list[InboundMail]:
        with self.store.read() as session:
            return list(
                session.execute(
                    select(InboundMail).where(col(InboundMail.state) == "quarantined").order_by(col(InboundMail.id))
                ).scalars()
            )

    def attachments(self, key: str | int) -> list[Attachment]:
        with self.store.read() as session:
            t = self._load(session, key)
            return list(
                session.execute(
                    select(Attachment).where(col(Attachment.ticket_id) == t.id).order_by(col(Attachment.n))
                ).scalars()
            )

    def _set_aside(self, view: intake.Batch, parsed: Any, source: str, now: datetime, reason: str) -> MailTaken:
        view.add_message(parsed, source, now, "quarantined", reason)
        return MailTaken("quarantined", None, parsed.message_id, reason)

    def _survey_reply(self, session: Session, t: TicketRecord, parsed: Any, now: datetime) -> int | None:
        """A reply on a resolved or closed ticket that answers the resolution notice's survey: the message and
        its scores recorded (no reopen); its event id. None when it holds no answer (an ordinary message)."""
        try:
            answer = survey.parse_answer(parsed.text)
        except survey.SurveyError:
            return None  # a score off its scale: an ordinary message, which the agent reads
        if answer is None:
            return None
        now = self._stamp(t.updated_at, now)
        values, events = _survey_change(answer, "customer", now)
        message = NewEvent(at=now, kind="reply", author="customer", public=True, body=parsed.text)
        self._write(session, t, values, [message, *events], now)
        return session.execute(
            select(func.max(col(Event.id))).where(col(Event.ticket_id) == t.id, col(Event.kind) == "reply")
        ).scalar_one()

    def _customer_message(self, session: Session, t: TicketRecord, parsed: Any, state: str, now: datetime) -> int:
        """The message as a customer reply on ``t``; a pending ticket goes back to open (its SLA resumes), a
        resolved one is reopened. An automatic message (an out-of-office) or a flood changes no status."""
        now = self._stamp(t.updated_at, now)
        events = [NewEvent(at=now, kind="reply", author="customer", public=True, body=parsed.text)]
        values: dict = {}
        if state == "added" and not parsed.automatic and t.status in ("pending", "resolved"):
            why = "the customer answered" if t.status == "pending" else "the customer answered: reopened"
            events.append(
                NewEvent(at=now, kind="status", author="customer", from_value=t.status, to="open", reason=why)
            )
            values["status"] = "open"
        self._write(session, t, values, events, now)
        return session.execute(
            select(func.max(col(Event.id))).where(col(Event.ticket_id) == t.id, col(Event.kind) == "reply")
        ).scalar_one()

    # -- monitoring alerts in (domain/alerts.py) ---------------------------------------------------------

    def take_alerts(self, notification: Notification) -> list[AlertTaken]:
        """Take one Alertmanager notification in one transaction (all or nothing), alert by alert:

        - a firing alert not recorded yet opens an incident (customer, priority, category and group from the
          ``[alertmanager]`` rules), or is added to the open ticket of the same fingerprint; once ``storm``
          open tickets share its group key, a major incident is opened for the group and every one of them is
          linked to it (later alerts of the group are linked as they come);
        - a resolved alert records an event on its ticket, and resolves the ticket when its rule says so and
          none of the ticket's alerts still fires (a major incident is resolved with its last child);
        - an alert recorded before (same fingerprint and start, same status) changes nothing.
        """
        settings = self.config.alertmanager
        mappings = {a.key: settings.rule_for(a.labels) for a in notification.alerts}
        for m in mappings.values():
            if m.category is not None:
                self.category(m.category)  # BadInput for a category outside the taxonomy, before writing
        code = settings.resolution_code
        if code is not None:
            self._check_code(code)
        texts = [notification.group_key, *(t for a in notification.alerts for t in (a.subject(), a.description()))]
        if _unencodable("\n".join(texts)):
            raise BadInput(f"alertmanager: {_NOT_UNICODE}")

        def work(session: Session) -> list[AlertTaken]:
            now = self.clock.now()
            tx = _AlertBatch(session, notification)
            out = [self._take_alert(session, tx, notification, a, mappings[a.key], now) for a in notification.alerts]
            for major in sorted(tx.majors):  # once, after its children of this notification
                self._resolve_major_if_done(session, major, now)
            return out

        return self.store.write(work)

    def _take_alert(
        self, session: Session, tx: _AlertBatch, n: Notification, a: Alert, m: AlertMapping, now: datetime
    ) -> AlertTaken:
        row = tx.get(a.fingerprint, a.starts_at)
        author = ALERT_AUTHOR
        if a.status == "resolved":
            if row is None:
                return AlertTaken("unknown", a.key, None)
            if row.status == "resolved":
                return AlertTaken("duplicate", a.key, row.ticket_id)
            session.execute(
                update(AlertRow)
                .where(col(AlertRow.fingerprint) == a.fingerprint, col(AlertRow.starts_at) == a.starts_at)
                .values(status="resolved", ended_at=a.ends_at)
            )
            tx.rows[(a.fingerprint, a.starts_at)] = _AlertSeen(row.ticket_id, "resolved")
            tx.major, tx.open_of_group = False, None  # tickets of the group may close: read them again
            t = self._load(session, row.ticket_id)
            when = self._stamp(t.updated_at, now)
            ended = a.ends_at.isoformat() if a.ends_at else "?"
            events = [
                NewEvent(at=when, kind="alert", author=author, to="resolved", body=f"{a.subject()}\nended {ended}")
            ]
            values: dict = {}
            firing = session.execute(
                select(func.count())
                .select_from(AlertRow)
                .where(col(AlertRow.ticket_id) == t.id, col(AlertRow.status) == "firing")
            ).scalar_one()
            closed = m.resolve and firing == 0 and t.status not in workflow.STOPPED
            if closed:
                code = self.config.alertmanager.resolution_code
                events.append(
                    NewEvent(
                        at=when,
                        kind="status",
                        author=author,
                        from_value=t.status,
                        to="resolved",
                        reason=code or "the alert resolved",
                    )
                )
                values.update(status="resolved", resolution_code=code, first_contact=False)
            self._write(session, t, values, events, when)
            if closed and t.major_id is not None:
                tx.majors.add(t.major_id)  # resolved with its last child: checked once the notification is taken
            return AlertTaken("resolved", a.key, t.id, t.major_id, closed)
        if row is not None:
            return AlertTaken("duplicate", a.key, row.ticket_id)
        # fired again (a new start) while its ticket is open: added to that ticket
        open_id = (
            None
            if a.fingerprint not in tx.known
            else session.execute(
                select(col(AlertRow.ticket_id))
                .join(Ticket, col(Ticket.id) == col(AlertRow.ticket_id))
                .where(col(AlertRow.fingerprint) == a.fingerprint, col(Ticket.status).not_in(list(workflow.STOPPED)))
                .order_by(col(AlertRow.id).desc())
                .limit(1)
            ).scalar()
        )
        if open_id is not None:
            t = self._load(session, open_id)
            when = self._stamp(t.updated_at, now)
            body = f"{a.subject()}\nstarted {a.starts_at.isoformat()}"
            self._write(session, t, {}, [NewEvent(at=when, kind="alert", author=author, to="firing", body=body)], when)
            self._record_alert(session, tx, n, a, t.id, now)
            return AlertTaken("added", a.key, t.id, t.major_id)
        if tx.major is False:  # the group storms already: linked as it comes
            tx.major = self._group_major(session, n.group_key)
        major = tx.major
        tid = self._alert_ticket(session, tx, a.subject(), a.description(), m, now, major)
        self._record_alert(session, tx, n, a, tid, now)
        if major is None:
            if tx.open_of_group is None:
                tx.open_of_group = self._open_of_group(session, n.group_key)
            else:
                tx.open_of_group += 1
            if tx.open_of_group >= self.config.alertmanager.storm:
                major = tx.major = self._storm(session, tx, n, m, now)
        return AlertTaken("ticket", a.key, tid, major)

    def _group_major(self, session: Session, group_key: str) -> int | None:
        """The open major incident the open tickets of this alert group are linked to, if any."""
        major = session.execute(
            select(col(Ticket.major_id))
            .join(AlertRow, col(AlertRow.ticket_id) == col(Ticket.id))
            .where(
                col(AlertRow.group_key) == group_key,
                col(Ticket.status).not_in(list(workflow.STOPPED)),
                col(Ticket.major_id).is_not(None),
            )
            .order_by(col(AlertRow.id).desc())
            .limit(1)
        ).scalar()
        if major is None:
            return None
        status = session.execute(select(col(Ticket.status)).where(col(Ticket.id) == major)).scalar()
        return None if status in workflow.STOPPED else major

    def _record_alert(
        self, session: Session, tx: _AlertBatch, n: Notification, a: Alert, ticket_id: int, now: datetime
    ) -> None:
        session.execute(
            _INSERT_ALERT,
            {
                "fingerprint": a.fingerprint,
                "starts_at": a.starts_at,
                "group_key": n.group_key,
                "ticket_id": ticket_id,
                "status": "firing",
                "name": a.name,
                "received_at": now,
            },
        )
        tx.known.add(a.fingerprint)
        tx.rows[(a.fingerprint, a.starts_at)] = _AlertSeen(ticket_id, "firing")  # a repeat: a duplicate

    def _alert_ticket(
        self,
        session: Session,
        tx: _AlertBatch,
        subject: str,
        text: str,
        m: AlertMapping,
        now: datetime,
        major: int | None = None,
    ) -> int:
        """A new incident opened by monitoring (``created_by`` alertmanager), with its first event; linked to the
        major incident ``major`` when given."""
        if m.customer not in tx.customer_ids:
            tx.customer_ids.update(self._customer_ids(session, {m.customer}))
        category = self.category(m.category) if m.category is not None else None
        events = [NewEvent(at=now, kind="alert", author=ALERT_AUTHOR, to="firing", body=subject)]
        if major is not None:
            events.append(NewEvent(at=now, kind="link", author=ALERT_AUTHOR, to=str(major)))
        due, warn, timer, left = self._deadlines(m.customer, now, m.priority, events, now, now)
        ticket_id = session.execute(
            _INSERT_TICKET,
            {
                **_NEW_TICKET,
                "subject": subject,
                "description": text,
                "customer_id": tx.customer_ids[m.customer],
                "priority": m.priority,
                "initial_priority": m.priority,
                "group_name": m.group,
                "created_at": now,
                "created_by": ALERT_AUTHOR,
                "updated_at": now,
                "next_due": due,
                "next_warn": warn,
                "next_timer": timer,
                "next_left": left,
                "category": category,
                "major_id": major,
            },
        ).scalar_one()
        session.execute(_INSERT_EVENT, [e.row(ticket_id) for e in events])
        session.execute(_INSERT_SEARCH, {"ticket_id": ticket_id, "text": search_text(subject, None)})
        if m.group not in tx.groups:
            self._register(session, [], [m.group])
            tx.groups.add(m.group)
        feed_changed(session, ticket_id)
        if major is not None:  # its major incident shows one more linked ticket
            feed_changed(session, major)
        return ticket_id

    def _open_of_group(self, session: Session, group_key: str) -> int:
        """How many open tickets the alerts of this group key have."""
        open_of_group = (
            select(col(Ticket.id))
            .join(AlertRow, col(AlertRow.ticket_id) == col(Ticket.id))
            .where(col(AlertRow.group_key) == group_key, col(Ticket.status).not_in(list(workflow.STOPPED)))
            .distinct()
        )
        return session.execute(select(func.count()).select_from(open_of_group.subquery())).scalar_one()

    def _storm(self, session: Session, tx: _AlertBatch, n: Notification, m: AlertMapping, now: datetime) -> int | None:
        """Once ``storm`` open tickets share the group key (and none is linked to an open major incident yet),
        the group's major incident, opened then, with every open ticket of the group linked to it. Returns the
        major's id (None below the threshold)."""
        open_of_group = (
            select(col(Ticket.id), col(Ticket.major_id), col(Ticket.priority))
            .join(AlertRow, col(AlertRow.ticket_id) == col(Ticket.id))
            .where(col(AlertRow.group_key) == n.group_key, col(Ticket.status).not_in(list(workflow.STOPPED)))
            .distinct()
        )
        count = session.execute(select(func.count()).select_from(open_of_group.subquery())).scalar_one()
        if count < self.config.alertmanager.storm:
            return None
        rows = session.execute(open_of_group).all()
        priority = min(r[2] for r in rows)
        # no count in the subject: later alerts of the group are linked as they come, and a subject that said
        # "(3 alerts)" of a storm of fifty would mislead whoever reads the queue (the linked tickets are counted)
        subject = f"Alert storm: {n.group_name()}"
        text = (
            f"Alertmanager group {n.group_key}: {len(rows)} alerts at once when it opened; their tickets, and those"
            " of the group's later alerts, are linked here."
        )
        major_id = self._alert_ticket(session, tx, subject, text, dataclasses.replace(m, priority=priority), now)
        for tid, _linked, _ in rows:
            t = self._load(session, tid)
            when = self._stamp(t.updated_at, now)
            event = NewEvent(
                at=when,
                kind="link",
                author=ALERT_AUTHOR,
                from_value=str(t.major_id) if t.major_id else None,
                to=str(major_id),
            )
            self._write(session, t, {"major_id": major_id}, [event], when)
        return major_id

    def _resolve_major_if_done(self, session: Session, major_id: int, now: datetime) -> None:
        """An alert storm's major incident is resolved with its last open child (when the rules resolve)."""
        major = self._load(session, major_id)
        if major.status in workflow.STOPPED or major.created_by != ALERT_AUTHOR:
            return
        still_open = session.execute(
            select(func.count())
            .select_from(Ticket)
            .where(col(Ticket.major_id) == major_id, col(Ticket.status).not_in(list(workflow.STOPPED)))
        ).scalar_one()
        if still_open:
            return
        when = self._stamp(major.updated_at, now)
        code = self.config.alertmanager.resolution_code
        event = NewEvent(
            at=when,
            kind="status",
            author=ALERT_AUTHOR,
            from_value=major.status,
            to="resolved",
            reason=code or "every alert of the storm resolved",
        )
        self._write(
            session, major, {"status": "resolved", "resolution_code": code, "first_contact": False}, [event], when
        )

    def _sender(self, session: Session, address: str) -> tuple[str | None, int | None]:
        """Who wrote: the customer of the contact with this address, else of its domain (customer records);
        (None, None) for an unknown sender."""
        contact = store_customers.contact_by_email(session, address)
        if contact is not None:
            return contact.customer, contact.id
        found = store_customers.by_domain(session, address)
        return (found.name, None) if found is not None else (None, None)

    def _insert_ticket(
        self,
        session: Session,
        subject: str,
        customer: str,
        priority: str,
        text: str,
        now: datetime,
        contact_id: int | None = None,
        view: intake.Batch | None = None,
    ) -> int:
        """A new ticket from a customer's message (one statement, compiled once: a fetch makes thousands)."""
        known = view.customer_ids if view is not None else {}
        if customer not in known:
            known.update(self._customer_ids(session, {customer}))
        due, warn, timer, left = self._deadlines(customer, now, priority, [], now, now)
        ticket_id = session.execute(
            _INSERT_TICKET,
            {
                **_NEW_TICKET,
                "subject": subject,
                "description": text,
                "customer_id": known[customer],
                "priority": priority,
                "initial_priority": priority,
                "created_at": now,
                "contact_id": contact_id,
                "updated_at": now,
                "next_due": due,
                "next_warn": warn,
                "next_timer": timer,
                "next_left": left,
            },
        ).scalar_one()
        session.execute(_INSERT_SEARCH, {"ticket_id": ticket_id, "text": search_text(subject, None)})
        feed_changed(session, ticket_id)  # the other apps touch only this ticket
        return ticket_id

    def _mail_rows(
        self,
        session: Session,
        view: intake.Batch,
        parsed: Any,
        source: str,
        now: datetime,
        ticket_id: int,
        event_id: int | None,
        state: str,
        why: str,
        files: Sequence[tuple[str, str, int, str]],
    ) -> None:
        view.add_message(parsed, source, now, state, why, ticket_id, event_id)
        if files:
            last = session.execute(
                select(func.max(col(Attachment.n))).where(col(Attachment.ticket_id) == ticket_id)
            ).scalar()
            session.execute(
                insert(Attachment),
                [
                    {
                        "ticket_id": ticket_id,
                        "event_id": event_id,
                        "n": (last or 0) + i,
                        "name": name,
                        "content_type": ctype,
                        "size": size,
                        "sha256": sha,
                    }
                    for i, (name, ctype, size, sha) in enumerate(files, 1)
                ],
            )

    def _write(self, session: Session, t: TicketRecord, values: dict, events: list[NewEvent], now: datetime) -> int:
        """Write one change of one ticket (``writes.write_change``, after ``_finish``), named in the feed of changes;
        with the mail's outbox when a reply goes out. Returns the new version."""
        version = self._finish(t, values, events, now)
        mail = self.config.mail
        if mail is not None:
            from .mail import outbox
        with_mail = mail is not None and (outbox.needs_ids(events) or values.get("status") == "resolved")
        writes.write_change(SessionSQL(session), t, values, events, now, self.user, insert_events=not with_mail)
        feed_changed(session, t.id)  # the feed of ticket changes: every app touches only this ticket (store/changes.py)
        if "major_id" in values:  # a link changes what its major incidents show (their linked tickets): named too
            for major in {t.major_id, values["major_id"]} - {None}:
                feed_changed(session, major)
        if with_mail and mail is not None:
            # the transactional outbox: the reply and its message are written together or not at all
            ids = [
                session.execute(insert(Event).values(**e.row(t.id)).returning(col(Event.id))).scalar_one()
                for e in events
            ]
            outbox.queue_for_change(session, mail, t, events, ids, values, now)
        return version

    def _change(self, key: str | int, expect_version: int | None, apply) -> int:
        def work(session: Session) -> int:
            t = self._load(session, key)
            _expect(t, expect_version)
            now = self._stamp(t.updated_at)
            result = apply(t, now)
            values, events = result[0], result[1]
            version = self._write(session, t, values, events, now)
            if len(result) > 2:  # more rows to write in the same transaction (escalation records)
                result[2](session, t, now)
            return version

        if expect_version is not None:
            return self.store.write(work)
        for _ in range(5):  # no version asked for: a lost race is simply replayed on the fresh row
            try:
                return self.store.write(work)
            except Conflict as exc:
                if exc.current_version is not None:
                    raise
        return self.store.write(work)


@dataclasses.dataclass(frozen=True)
class _AlertSeen:
    ticket_id: int
    status: str  # firing, resolved


class _AlertBatch:
    """One notification's transaction (``Desk.take_alerts``): what its alerts need of the desk, read once — the
    alerts recorded with their fingerprints, the customers' ids, the groups registered, the group's open major
    incident (False: not read yet) and its count of open tickets (None: not read yet) — kept up to date as its
    alerts are taken: a storm of alerts costs the statements that write them, not a join or two more each."""

    def __init__(self, session: Session, n: Notification) -> None:
        self.rows: dict[tuple[str, datetime], _AlertSeen] = {}
        self.known: set[str] = set()  # fingerprints with any alert recorded
        fingerprints = sorted({a.fingerprint for a in n.alerts})
        wanted = {(a.fingerprint, a.starts_at) for a in n.alerts}
        for i in range(0, len(fingerprints), 500):
            for fp, starts, tid, status in session.execute(
                select(
                    col(AlertRow.fingerprint), col(AlertRow.starts_at), col(AlertRow.ticket_id), col(AlertRow.status)
                ).where(col(AlertRow.fingerprint).in_(fingerprints[i : i + 500]))
            ).all():
                self.known.add(fp)
                if (fp, starts) in wanted:
                    self.rows[(fp, starts)] = _AlertSeen(tid, status)
        self.customer_ids: dict[str, int] = {}
        self.groups: set[str] = set()
        self.major: int | None | Literal[False] = False
        self.open_of_group: int | None = None
        self.majors: set[int] = set()  # major incidents one of whose children the notification resolved

    def get(self, fingerprint: str, starts_at: datetime) -> _AlertSeen | None:
        return self.rows.get((fingerprint, starts_at))


def _survey_change(answer: SurveyAnswer, who: str, now: datetime) -> tuple[dict, list[NewEvent]]:
    """The values and events of a survey answer (``record_survey``, and a customer's mail answering one)."""
    values: dict = {}
    events: list[NewEvent] = []
    for measure, score in answer.scores().items():
        body = answer.comment if not events else None
        events.append(NewEvent(at=now, kind=measure, author=who, to=str(score), body=body))
    if answer.csat is not None:
        values.update(csat_score=answer.csat, csat_comment=answer.comment)
    return values, events


# the columns an import writes, in the order of the tuples import_tickets builds
_TICKET_COLUMNS = (
    "ref",
    "subject",
    "description",
    "customer_id",
    "priority",
    "initial_priority",
    "impact",
    "urgency",
    "type",
    "status",
    "assignee",
    "group_name",
    "created_at",
    "created_by",
    "updated_at",
    "version",
    *DERIVED,
    "resolution_code",
    "category",
    "contact_id",
)
# The tables themselves, for the bulk inserts of an import (SQLModel does not type ``Model.__table__``).
_TICKETS = SQLModel.metadata.tables[Ticket.__tablename__]
_SEARCH = SQLModel.metadata.tables[TicketSearch.__tablename__]
_EVENTS = SQLModel.metadata.tables[Event.__tablename__]
_EVENT_COLUMNS = ("ticket_id", "at", "kind", "author", "public", "body", "from_value", "to", "reason")


_TICKET_TEXTS = operator.attrgetter("subject", "customer", "description", "ref")
_EVENT_TEXTS = operator.attrgetter("author", "body", "to", "reason")
_EVENTS_OF = operator.attrgetter("events")
_AT = operator.attrgetter("at")


def _batch_text(batch: Sequence[NewTicket]) -> str:
    """Every text of a batch in one string, to encode once (only the lone surrogates matter: ``str()`` of a
    None or of anything else is encodable); iterated without a line of Python per ticket or per event."""
    events = chain.from_iterable(map(_EVENTS_OF, batch))
    texts = chain(chain.from_iterable(map(_TICKET_TEXTS, batch)), chain.from_iterable(map(_EVENT_TEXTS, events)))
    return "\n".join(map(str, texts))


def _all_text(t: NewTicket) -> str:
    parts = [t.subject, t.customer, t.description, t.ref or ""]
    for e in t.events:
        parts += (e.author, e.body or "", e.to or "", e.reason or "")
    return "\n".join(map(str, parts))  # str() of a str is itself; anything else is only checked, never stored


def _texts(t: NewTicket) -> Iterable[tuple[str, object]]:
    yield from (("subject", t.subject), ("customer", t.customer), ("description", t.description), ("ref", t.ref))
    for i, e in enumerate(t.events, start=1):
        yield from ((f"events[{i}].{k}", getattr(e, k)) for k in ("author", "body", "to", "reason"))


@dataclass
class _Final:
    status: str
    priority: str
    assignee: str | None
    group: str
    resolution_code: str | None = None  # the reason of the last resolution, unless reopened since


def _latest(t: NewTicket) -> datetime:
    """The latest of a ticket's instants: what its reader found (``NewTicket.latest``), else the greatest of them."""
    if t.latest is not None:
        return t.latest
    return max(chain((t.created_at,), map(_AT, t.events)))


def _final_state(t: NewTicket) -> _Final:
    """The ticket's current fields after replaying its imported history."""
    f = _Final(status="new", priority=t.priority, assignee=None, group="L1")
    for e in t.events:
        if e.kind == "status" and e.to:
            if e.to == "resolved":
                f.resolution_code = e.reason
            elif e.to not in workflow.STOPPED:
                f.resolution_code = None
            f.status = e.to
        elif e.kind == "priority" and e.to:
            f.priority = e.to
        elif e.kind == "assign":
            f.assignee = e.to
        elif e.kind in ("escalate", "group") and e.to:
            f.group = e.to
    return f


def state_at(ticket: TicketRecord, at: datetime) -> dict:
    """Status, priority, assignee and group as they were at an instant (for ``list --at``)."""
    new = NewTicket(
        subject="",
        customer="",
        priority=ticket.initial_priority,
        created_at=ticket.created_at,
        events=[NewEvent(at=e.at, kind=e.kind, author=e.author, to=e.to) for e in ticket.events if e.at <= at],
    )
    f = _final_state(new)
    return {"status": f.status, "priority": f.priority, "assignee": f.assignee, "group": f.group}


def events_in_order(events: Iterable[EventRecord]) -> list[EventRecord]:
    return sorted(events, key=lambda e: (e.at, e.id))


def _future(tickets: Sequence[NewTicket], now: datetime) -> list[str]:
    """An import records what already happened: a ticket or event dated later than now (beyond the clock skew
    tolerated between two hosts) is a mistake of the exporting system, refused for the whole file."""
    limit = now + CLOCK_SKEW
    if max(map(_latest, tickets), default=limit) <= limit:  # (nearly always: one pass, no line of Python)
        return []
    problems = []
    for t in tickets:
        where = t.where or "ticket"
        if t.created_at > limit:
            problems.append(f"{where}: created_at: {t.created_at.isoformat()} is in the future (now {now.isoformat()})")
            continue
        late = next((i for i, e in enumerate(t.events, start=1) if e.at > limit), None)
        if late is not None:
            problems.append(
                f"{where}: events[{late}].at: {t.events[late - 1].at.isoformat()} is in the future"
                f" (now {now.isoformat()})"
            )
    return problems


IMPORT_BATCH = 2_000  # tickets checked and written together by an import


class ImportSource(Protocol):
    """Tickets to import, read again each time ``tickets()`` is iterated (importer.ImportFile: a file read
    as a stream): beside them ``directory`` (the customer and contact records read so far), ``problems``
    (those found in reading) and ``report(more)`` (all of them, with the desk's ``more``, in file order)."""

    directory: CustomerBatch

    @property
    def problems(self) -> Sequence[object]: ...

    def tickets(self) -> Iterable[NewTicket]: ...

    def report(self, more: Iterable[str] = ()) -> list[str]: ...


class _Listed:
    """Tickets given as a list (``new``, the demo), as an ImportSource."""

    def __init__(self, tickets: Sequence[NewTicket], directory: CustomerBatch) -> None:
        self.listed, self.directory = tickets, directory
        self.problems: list[str] = []

    def tickets(self) -> Iterable[NewTicket]:
        return iter(self.listed)

    def report(self, more: Iterable[str] = ()) -> list[str]:
        return list(more)


@dataclass
class _ImportRun:
    """What one import transaction keeps across its batches (never the tickets themselves)."""

    now: datetime
    ids: list[int] | None
    directory: CustomerBatch | None = None  # written before the first batch
    directory_size: int = 0
    directory_written: bool = False
    problems: list[str] = dataclasses.field(default_factory=list)
    written: int = 0
    feed: list[int] = dataclasses.field(default_factory=list)  # the first FEED_MOST + 1 ids
    agents: dict[str, None] = dataclasses.field(default_factory=dict)  # in the order met (an ordered set)
    groups: dict[str, None] = dataclasses.field(default_factory=dict)
    empty_desk: bool = False  # the desk held no ticket when the transaction began (bulk.large_writes)


class _LateDirectory(Exception):
    """A customer or contact record after the first batch of tickets was written: read the file twice."""


def _copy_batch(directory: CustomerBatch) -> CustomerBatch:
    return CustomerBatch(customers=list(directory.customers), contacts=list(directory.contacts))


def _batch_size(directory: CustomerBatch) -> int:
    return len(directory.customers) + len(directory.contacts)


def _broadcast_changes(major: str, seen: dict[int, int], targets: list[TicketRecord]) -> str:
    """Why a broadcast is not applied: which tickets changed, were linked or unlinked since they were shown."""
    now = {t.id: t for t in targets}
    said = [
        f"#{t.id} changed (now {t.status}, v{t.version})" for t in targets if t.id in seen and seen[t.id] != t.version
    ]
    said += [f"#{i} linked" for i in now if i not in seen]
    said += [f"#{i} unlinked" for i in seen if i not in now]
    return f"major incident {major}: nothing applied: since you opened it, {', '.join(said)}; look and try again"
