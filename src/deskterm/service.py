"""Every change to a ticket goes through here, for the screens and the command line alike.

Each change is one write transaction that re-reads the ticket, checks the version the caller read
(optimistic concurrency), validates it against the workflow, appends one history event per change with
the OS user as author, re-derives the ticket's next SLA deadline from its whole history, and bumps the
version with ``UPDATE ... WHERE version = :read`` so that a concurrent writer can never be overwritten
silently (on PostgreSQL as on SQLite).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Sequence

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from .clock import Clock, os_user
from .config import Config
from .domain import priority as prio_rules
from .domain import workflow
from .domain.calendar import epoch
from .domain.sla import Event as SlaEvent
from .domain.sla import TicketSla, evaluate
from .errors import BadInput, Conflict, Refused
from .records import EventRecord, TicketRecord
from .store import queries
from .store.engine import Store
from .store.models import Agent, Customer, Event, Group, Meta, Ticket

UNASSIGN = ("", "none", "nobody", "-")


@dataclass
class NewEvent:
    """An event about to be written (import and service alike)."""

    at: datetime
    kind: str
    author: str
    public: bool | None = None
    body: str | None = None
    from_value: str | None = None
    to: str | None = None
    reason: str | None = None

    def for_engine(self) -> SlaEvent:
        return SlaEvent(at=epoch(self.at), kind=self.kind, public=bool(self.public), author=self.author, to=self.to)

    def row(self, ticket_id: int) -> dict:
        return {
            "ticket_id": ticket_id,
            "at": self.at,
            "kind": self.kind,
            "author": self.author,
            "public": self.public,
            "body": self.body,
            "from_value": self.from_value,
            "to": self.to,
            "reason": self.reason,
        }


@dataclass
class NewTicket:
    """A validated ticket to create (from ``new`` or an import record)."""

    subject: str
    customer: str
    priority: str
    created_at: datetime
    type: str = "incident"
    description: str = ""
    ref: str | None = None
    impact: int | None = None
    urgency: int | None = None
    events: list[NewEvent] = field(default_factory=list)
    where: str = ""  # file:record, for error messages


@dataclass
class Change:
    """One agent change to one ticket (any combination of fields)."""

    status: str | None = None
    priority: str | None = None
    assign: str | None = None  # an agent, "me", or "" to unassign
    group: str | None = None
    reply: str | None = None
    note: str | None = None
    reason: str | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.status, self.priority, self.assign, self.group, self.reply, self.note))


class Desk:
    """The service layer: one per process, bound to a store, a configuration, a clock and an OS user."""

    def __init__(self, store: Store, config: Config, clock: Clock | None = None, user: str | None = None) -> None:
        self.store = store
        self.config = config
        self.clock = clock or Clock()
        self.user = user or os_user()

    # -- reading ---------------------------------------------------------------------------------

    def ticket(self, key: str | int) -> TicketRecord:
        with self.store.read() as session:
            return self._load(session, key)

    def tickets(self, statuses: Sequence[str] | None = None) -> list[TicketRecord]:
        with self.store.read() as session:
            return queries.load_tickets(session, statuses)

    def sla(self, ticket: TicketRecord, at: datetime | None = None) -> TicketSla:
        now = epoch(at or self.clock.now())
        policy = self.config.policy_for(ticket.customer)
        events = [e.for_engine() for e in ticket.events]
        return evaluate(epoch(ticket.created_at), ticket.initial_priority, events, policy, now)

    def _load(self, session: Session, key: str | int) -> TicketRecord:
        ticket_id = queries.find_ticket_id(session, key)
        record = queries.load_ticket(session, ticket_id) if ticket_id is not None else None
        if record is None:
            raise BadInput(f"ticket {key}: no such ticket")
        return record

    # -- creating --------------------------------------------------------------------------------

    def create(self, new: NewTicket) -> TicketRecord:
        ids = self.import_tickets([new])
        return self.ticket(ids[0])

    def import_tickets(self, tickets: Sequence[NewTicket]) -> list[int]:
        """Write all tickets in one transaction, or none (a ref already present is an error for all)."""
        now = self.clock.now()
        rows = []
        for t in tickets:
            final = _final_state(t)
            rows.append((t, final, self._deadlines(t.customer, t.created_at, t.priority, t.events, now)))

        def work(session: Session) -> list[int]:
            refs = [t.ref for t in tickets if t.ref]
            taken = set()
            for i in range(0, len(refs), 900):
                taken.update(session.execute(select(Ticket.ref).where(Ticket.ref.in_(refs[i : i + 900]))).scalars())  # type: ignore[union-attr]
            if taken:
                raise BadInput([f"{t.where or 'ticket'}: ref: {t.ref!r} was already imported" for t in tickets if t.ref in taken])
            customers = self._customer_ids(session, {t.customer for t in tickets})
            self._register(session, {e.author for t in tickets for e in t.events if e.kind == "reply" and e.author != "customer"}
                           | {f.assignee for _, f, _ in rows if f.assignee}, {f.group for _, f, _ in rows})
            values = [
                {
                    "ref": t.ref,
                    "subject": t.subject,
                    "description": t.description,
                    "customer_id": customers[t.customer],
                    "priority": f.priority,
                    "initial_priority": t.priority,
                    "impact": t.impact,
                    "urgency": t.urgency,
                    "type": t.type,
                    "status": f.status,
                    "assignee": f.assignee,
                    "group_name": f.group,
                    "created_at": t.created_at,
                    "created_by": self.user,
                    "updated_at": max([t.created_at, *(e.at for e in t.events)]),
                    "version": 1,
                    **deadlines,
                }
                for t, f, deadlines in rows
            ]
            ids = list(session.execute(insert(Ticket).returning(Ticket.id, sort_by_parameter_order=True), values).scalars())
            event_rows = [e.row(tid) for tid, t in zip(ids, tickets) for e in t.events]
            if event_rows:
                session.execute(insert(Event), event_rows)
            return ids

        return self.store.write(work)

    def _customer_ids(self, session: Session, names: set[str]) -> dict[str, int]:
        known = {n: i for i, n in session.execute(select(Customer.id, Customer.name))}
        missing = sorted(names - known.keys())
        if missing:
            session.execute(insert(Customer), [{"name": n} for n in missing])
            known = {n: i for i, n in session.execute(select(Customer.id, Customer.name))}
        return known

    def _register(self, session: Session, agents: Iterable[str], groups: Iterable[str]) -> None:
        """Remember agent and group names (for completion); never fails on a name seen before."""
        for model, names in ((Agent, set(agents)), (Group, set(groups))):
            names.discard(None)  # type: ignore[arg-type]
            if not names:
                continue
            known = set(session.execute(select(model.name).where(model.name.in_(sorted(names)))).scalars())  # type: ignore[attr-defined]
            new = sorted(names - known)
            if new:
                session.execute(insert(model), [{"name": n} for n in new])

    def _deadlines(self, customer: str, created_at: datetime, priority: str, events: Sequence, now: datetime) -> dict:
        """The derived, indexed columns: the nearest deadline and warning of the active timers."""
        policy = self.config.policy_for(customer)
        result = evaluate(epoch(created_at), priority, [e.for_engine() for e in events], policy, epoch(now))
        return {"next_due": _utc(result.next_due), "next_warn": _utc(result.next_warn)}

    def rederive(self, only_if_config_changed: bool = True) -> int:
        """Recompute the derived deadline columns of every open ticket from its history.

        Needed when the SLA configuration changes (a corrected calendar or target moves every deadline);
        the configuration's fingerprint is kept in ``meta`` so this runs once per change. Returns how
        many tickets were updated.
        """
        fingerprint = self.config.fingerprint
        with self.store.read() as session:
            stored = session.get(Meta, "sla_config")
            if only_if_config_changed and stored is not None and stored.value == fingerprint:
                return 0
            open_tickets = queries.load_tickets(session, [s for s in workflow.STATUSES if workflow.is_open(s)])
        now = self.clock.now()
        values = []
        for t in open_tickets:
            d = self._deadlines(t.customer, t.created_at, t.initial_priority, t.events, max(now, t.updated_at))
            if d["next_due"] != t.next_due or d["next_warn"] != t.next_warn:
                values.append({"tid": t.id, **d})

        def work(session: Session) -> int:
            if values:
                session.connection().execute(
                    update(Ticket).where(Ticket.id == bindparam("tid")).values(next_due=bindparam("next_due"), next_warn=bindparam("next_warn")),
                    values,
                )
            session.merge(Meta(key="sla_config", value=fingerprint))
            return len(values)

        return self.store.write(work)

    # -- changing --------------------------------------------------------------------------------

    def update(self, key: str | int, change: Change, expect_version: int | None = None) -> int:
        """Apply one change; return the ticket's new version."""
        if change.is_empty():
            raise BadInput("nothing to change: give --status, --priority, --assign, --group, --reply or --note")
        for name, text in (("reply", change.reply), ("note", change.note)):
            if text is not None and not text.strip():
                raise BadInput(f"{name}: empty text")
        if change.priority is not None and not prio_rules.is_priority(change.priority):
            raise BadInput(f"priority: {change.priority!r} is not one of {', '.join(prio_rules.PRIORITIES)}")
        if change.status is not None and change.status not in workflow.STATUSES:
            raise BadInput(f"status: {change.status!r} is not one of {', '.join(workflow.STATUSES)}")
        return self._change(key, expect_version, lambda t, now: self._apply(t, change, now))

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

    def _apply(self, t: TicketRecord, change: Change, now: datetime) -> tuple[dict, list[NewEvent]]:
        values: dict = {}
        events: list[NewEvent] = []
        me = self.user

        def ev(kind: str, **kw) -> None:
            events.append(NewEvent(at=now, kind=kind, author=me, **kw))

        if change.reply is not None:
            ev("reply", public=True, body=change.reply)
        if change.note is not None:
            ev("reply", public=False, body=change.note)
        if change.priority is not None and change.priority != t.priority:
            ev("priority", from_value=t.priority, to=change.priority, reason=change.reason)
            values["priority"] = change.priority
        if change.assign is not None:
            who = me if change.assign == "me" else (None if change.assign.strip().lower() in UNASSIGN else change.assign.strip())
            if who != t.assignee:
                ev("assign", from_value=t.assignee, to=who)
                values["assignee"] = who
        if change.group is not None:
            group = change.group.strip()
            if not group:
                raise BadInput("group: empty name")
            if group != t.group:
                ev("group", from_value=t.group, to=group, reason=change.reason)
                values["group_name"] = group
        if change.status is not None:
            try:
                workflow.check_transition(t.status, change.status)
            except workflow.TransitionError as exc:
                raise Refused(f"ticket {t.key}: {exc}") from None
            ev("status", from_value=t.status, to=change.status, reason=change.reason)
            values["status"] = change.status
        if not events:
            raise Refused(f"ticket {t.key}: nothing changed (the ticket already has those values)")
        return values, events

    def _change(self, key: str | int, expect_version: int | None, apply) -> int:
        def work(session: Session) -> int:
            t = self._load(session, key)
            if expect_version is not None and t.version != expect_version:
                raise Conflict(
                    f"ticket {t.key}: changed since version {expect_version} (now version {t.version}); "
                    "reload it and try again",
                    current_version=t.version,
                )
            now = max(self.clock.now(), t.updated_at)
            values, events = apply(t, now)
            all_events = [*t.events, *events]
            values.update(self._deadlines(t.customer, t.created_at, t.initial_priority, all_events, now))
            values["updated_at"] = now
            values["version"] = t.version + 1
            result = session.execute(update(Ticket).where(Ticket.id == t.id, Ticket.version == t.version).values(**values))
            if result.rowcount != 1:  # another writer got in between (PostgreSQL read committed)
                raise Conflict(f"ticket {t.key}: changed by someone else while saving; reload it", current_version=None)
            session.execute(insert(Event), [e.row(t.id) for e in events])
            self._register(session, [me for me in (values.get("assignee"),) if me] + [self.user], [values["group_name"]] if "group_name" in values else [])
            return t.version + 1

        if expect_version is not None:
            return self.store.write(work)
        for _ in range(5):  # no version asked for: a lost race is simply replayed on the fresh row
            try:
                return self.store.write(work)
            except Conflict as exc:
                if exc.current_version is not None:
                    raise
        return self.store.write(work)


def _utc(t: int | None) -> datetime | None:
    return datetime.fromtimestamp(t, timezone.utc) if t is not None else None


@dataclass
class _Final:
    status: str
    priority: str
    assignee: str | None
    group: str


def _final_state(t: NewTicket) -> _Final:
    """The ticket's current fields after replaying its imported history."""
    f = _Final(status="new", priority=t.priority, assignee=None, group="L1")
    for e in t.events:
        if e.kind == "status" and e.to:
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
    new = NewTicket(subject="", customer="", priority=ticket.initial_priority, created_at=ticket.created_at,
                    events=[NewEvent(at=e.at, kind=e.kind, author=e.author, to=e.to) for e in ticket.events if e.at <= at])
    f = _final_state(new)
    return {"status": f.status, "priority": f.priority, "assignee": f.assignee, "group": f.group}


def events_in_order(events: Iterable[EventRecord]) -> list[EventRecord]:
    return sorted(events, key=lambda e: (e.at, e.id))
