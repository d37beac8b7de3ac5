"""The tables: customers, agents, groups, tickets and their append-only history of events.

A ticket row holds the current state (for the queue) plus ``version`` for optimistic concurrency and
``next_due``, the nearest deadline of its running timers as derived by the SLA engine whenever the ticket
changes, indexed so that "time to breach" sorts in SQL. The history (``events``) is the truth the SLA
engine replays; it is only ever appended to.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Column, Date, Index, Table, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from .types import UTCDateTime


class _Table(SQLModel):
    """The tables' base: pydantic's validator of each table model is built when first used (never, by the store:
    a table model's constructor does not validate), not at import (a sixth of the models' import)."""

    model_config = SQLModelConfig(defer_build=True)


def _instant(nullable: bool = False, index: bool = False):
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Meta(_Table, table=True):
    """Small facts about the desk itself (e.g. the fingerprint of the SLA configuration last applied)."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class Customer(_Table, table=True):
    """A customer of the desk. ``name_key``: the name folded (case and accents, ``queue_terms.fold``), unique: "ACME"
    and "Acmé" are one customer. ``policy``: the policy the customer's record names (the configuration's
    ``[customers]`` still decides the SLA). ``notes``: for the desk ("call before restarting anything")."""

    __tablename__ = "customers"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    name_key: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    policy: str | None = None
    vip: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class CustomerDomain(_Table, table=True):
    """An e-mail domain of a customer (lower case): a sender of that domain belongs to that customer."""

    __tablename__ = "customer_domains"
    domain: str = Field(primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)


class Contact(_Table, table=True):
    """A person of a customer who calls or writes. ``email_key``: the address lower-cased, unique on the desk."""

    __tablename__ = "contacts"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    name: str = Field(sa_column=Column(Text, nullable=False))
    email: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    email_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True, unique=True))
    phone: str | None = None
    role: str | None = None


class Agent(_Table, table=True):
    """A name seen on the desk. ``wrote``: an OS user who changed the desk (or an agent of imported history),
    hence a known agent; other rows are names that were only ever typed as assignees before the directory.
    ``on_shift_since``: when the agent's shift began (None: off shift)."""

    __tablename__ = "agents"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    wrote: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    on_shift_since: datetime | None = _instant(nullable=True)


class Group(_Table, table=True):
    __tablename__ = "groups"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    level: str = Field(default="L1")


class Ticket(_Table, table=True):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_open_due", "status", "next_due"),)
    id: int | None = Field(default=None, primary_key=True)
    ref: str | None = Field(default=None, sa_column=Column(Text, unique=True, nullable=True))
    subject: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    customer_id: int = Field(foreign_key="customers.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contacts.id", index=True)  # who called or wrote
    priority: str = Field(index=True)
    initial_priority: str  # at creation: the SLA engine replays priority events from it
    impact: int | None = None
    urgency: int | None = None
    type: str = "incident"
    status: str = Field(default="new", index=True)
    assignee: str | None = Field(default=None, index=True)
    group_name: str = Field(default="L1", index=True)
    created_at: datetime = _instant(index=True)
    created_by: str = ""  # the OS user who created or imported it
    updated_at: datetime = _instant()
    version: int = 1
    next_due: datetime | None = _instant(nullable=True, index=True)
    # when the nearest active timer enters (or entered) its warning: "breaching soon" filters in SQL
    next_warn: datetime | None = _instant(nullable=True, index=True)
    # the timer an agent looks at (the engine's ``nearest``: the active one due first, else a paused one) and
    # the counted seconds it had left at updated_at (negative once breached): with next_due (None while it is
    # paused), what the queue paints a row's countdown from, exactly, before (and without) replaying the
    # ticket's history
    next_timer: str | None = None
    next_left: int | None = None
    # work classification for the contract: defect (covered) or change_request (billable)
    classification: str | None = None
    resolution_code: str | None = None
    first_contact: bool | None = None  # resolved at first contact: no escalation, no reassignment, one agent
    major_id: int | None = Field(default=None, foreign_key="tickets.id", index=True)  # linked major incident
    csat_score: int | None = None
    csat_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # the contact reason, a path of the configured taxonomy ("network/vpn"); None: not classified yet
    category: str | None = Field(default=None, sa_column=Column(Text, nullable=True, index=True))


class TicketSearch(_Table, table=True):
    """A ticket's ``search_text`` (subject and ref, folded): what the queue's free words are looked for in, under
    a trigram index (SQLite: the FTS5 table ``ticket_trigram`` over it, kept by triggers; PostgreSQL: a
    ``pg_trgm`` GIN index), in a narrow table of its own that a scan reads fast (a word of one or two characters
    has no trigram). Written beside the ticket by the service and the importer (migration 0018)."""

    __tablename__ = "ticket_search"
    ticket_id: int = Field(foreign_key="tickets.id", primary_key=True)
    text: str = Field(sa_column=Column(Text, nullable=False))


class Event(_Table, table=True):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_ticket_at", "ticket_id", "at", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id")
    at: datetime = _instant()
    kind: str  # reply, status, priority, assign, group, escalate, create
    author: str
    public: bool | None = None  # replies: True to the customer, False an internal note
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    from_value: str | None = None
    to: str | None = None
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Escalation(_Table, table=True):
    """One escalation of a ticket: who, when, to whom, why; acknowledged by whom; returned or closed when."""

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_open", "closed_at", "ticket_id"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    kind: str  # functional or hierarchical
    level: str  # L2, L3 or manager
    target: str  # the group or the manager
    reason: str = Field(sa_column=Column(Text, nullable=False))
    rule: str | None = None  # the rule's key when a rule raised it
    created_at: datetime = _instant()
    created_by: str
    acknowledged_at: datetime | None = _instant(nullable=True)
    acknowledged_by: str | None = None
    closed_at: datetime | None = _instant(nullable=True)
    closed_by: str | None = None
    outcome: str | None = None  # returned (to L1), escalated (further), resolved (with the ticket)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RuleFiring(_Table, table=True):
    """A rule that fired for a ticket in a timer cycle: the unique key makes firing exactly-once across
    every app and cron job sharing the database (an insert that loses the race fails, it never doubles)."""

    __tablename__ = "rule_firings"
    __table_args__ = (UniqueConstraint("rule", "ticket_id", "cycle", name="uq_rule_firings_once"),)
    id: int | None = Field(default=None, primary_key=True)
    rule: str
    ticket_id: int = Field(foreign_key="tickets.id")
    cycle: str
    fired_at: datetime = _instant()
    escalation_id: int | None = Field(default=None, foreign_key="escalations.id")


class PresenceRow(_Table, table=True):
    """PostgreSQL's presence (store/presence.py): which app's agent has which ticket open, by heartbeat.
    Written and read with plain SQL off the event loop; SQLite keeps the same rows in a file of its own."""

    __tablename__ = "presence"
    app: str = Field(primary_key=True)
    agent: str
    ticket_id: int | None = None
    activity: str
    seen_at: float


class Contract(_Table, table=True):
    """A customer's contract: the days it is in force (``end`` the last one; with ``renews`` a renewal date, the
    contract going on), its policy, the hours of covered work included each month, the billable rate (cents an
    hour) and its scope. A customer's contracts never overlap (checked by the service: domain/billing.py)."""

    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("customer_id", "name", name="uq_contracts_customer_name"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    name: str = Field(sa_column=Column(Text, nullable=False))
    start: date = Field(sa_column=Column(Date, nullable=False))
    end: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    renews: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    policy: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    included_seconds: int = 0
    rate_cents: int = 0
    scope: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = _instant()
    created_by: str


class TimeEntry(_Table, table=True):
    """Time an agent logged on a ticket (the ticket's history has a ``time`` event for it too)."""

    __tablename__ = "time_entries"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    at: datetime = _instant(index=True)
    agent: str
    seconds: int
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ChangeRequest(_Table, table=True):
    """The estimate and approval state of a ticket classified ``change_request``."""

    __tablename__ = "change_requests"
    ticket_id: int = Field(foreign_key="tickets.id", primary_key=True)
    estimate_seconds: int | None = None
    approval: str | None = None  # proposed, approved, delivered, invoiced, rejected
    approval_by: str | None = None
    approval_at: datetime | None = _instant(nullable=True)


class OutboxMail(_Table, table=True):
    """A message to a customer, queued in the transaction of the reply it carries (the transactional outbox):
    ``message_id`` is made and kept before any attempt, so a retry sends the same message. ``state``: queued,
    sending (claimed by a sender at ``claimed_at``), sent, failed (``last_error``: the server's reason).
    ``possible_duplicate``: a sender died between the server's answer and recording it, and the message was sent
    again (the same Message-ID lets the receiving side drop the copy)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_try_at"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="events.id", unique=True)
    kind: str  # reply, acknowledge, resolution_notice
    message_id: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    to_addr: str = Field(sa_column=Column(Text, nullable=False))
    from_addr: str = Field(sa_column=Column(Text, nullable=False))
    reply_to: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    in_reply_to: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    references: str | None = Field(default=None, sa_column=Column("refs", Text, nullable=True))
    state: str = "queued"
    attempts: int = 0
    created_at: datetime = _instant()
    next_try_at: datetime = _instant()
    claimed_at: datetime | None = _instant(nullable=True)
    sent_at: datetime | None = _instant(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    possible_duplicate: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))


class InboundMail(_Table, table=True):
    """Every message taken (or set aside), once: the unique ``message_id`` makes two fetchers racing on one
    message write it once. ``state``: ticket (opened one), added (to ``ticket_id``), flood (added to the ticket
    of a flooding sender), quarantined (``reason``; the raw message kept under ``raw_sha256``)."""

    __tablename__ = "mail_in"
    __table_args__ = (Index("ix_mail_in_sender", "from_addr", "taken_at"),)  # the flood check, per sender
    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="events.id")
    state: str
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    from_addr: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    subject: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    automatic: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    source: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    raw_sha256: str | None = None
    taken_at: datetime = _instant(index=True)


class Attachment(_Table, table=True):
    """A file that came with a customer's message: stored once by content (``sha256``) beside the desk,
    numbered ``n`` within its ticket (``deskterm attachment get TICKET N``)."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("ticket_id", "n", name="uq_attachments_n"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="events.id")
    n: int
    name: str = Field(sa_column=Column(Text, nullable=False))
    content_type: str = "application/octet-stream"
    size: int
    sha256: str


class TicketChange(_Table, table=True):
    """The feed of ticket changes: which tickets each committed write transaction changed (``Store.write``), read
    by every running app (store/changes.py) so that it touches only those tickets' rows and counts. ``ticket_id``
    NULL: any ticket may have changed (an import, deadlines derived again, a write that named no ticket): the
    apps read everything again. Only the newest rows are kept (``engine.FEED_KEEP``); an app that fell further
    behind reads everything again. Not copied by ``db copy``: a desk's feed starts empty."""

    __tablename__ = "ticket_changes"
    seq: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = None


class ProblemRecord(_Table, table=True):
    """What is known of a ticket of type ``problem``: its root cause, whether it is a known error, the workaround."""

    __tablename__ = "problems"
    ticket_id: int = Field(foreign_key="tickets.id", primary_key=True)
    root_cause: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    known_error: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    workaround: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ProblemLink(_Table, table=True):
    """An incident linked to the problem that causes it (an incident has one problem at most)."""

    __tablename__ = "problem_links"
    ticket_id: int = Field(foreign_key="tickets.id", primary_key=True)
    problem_id: int = Field(foreign_key="tickets.id", index=True)
    linked_at: datetime = _instant()
    linked_by: str


class ProblemAction(_Table, table=True):
    """A corrective action of a problem: who owns it, when it is due, open, done or cancelled."""

    __tablename__ = "problem_actions"
    id: int | None = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="tickets.id", index=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    owner: str
    due: date = Field(sa_column=Column(Date, nullable=False))
    state: str = "open"
    done_at: datetime | None = _instant(nullable=True)
    created_at: datetime = _instant()
    created_by: str


class AlertRow(_Table, table=True):
    """One firing of one Alertmanager alert (domain/alerts.py): its fingerprint and start make it unique, so a
    notification sent again changes nothing; ``ticket_id`` is the ticket it opened or was added to, ``status``
    firing or resolved. The open tickets of one ``group_key`` are what a storm links to its major incident."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("fingerprint", "starts_at", name="uq_alerts_firing"),)
    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(sa_column=Column(Text, nullable=False, index=True))
    starts_at: datetime = _instant()
    group_key: str = Field(sa_column=Column(Text, nullable=False, index=True))
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    status: str
    name: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    received_at: datetime = _instant()
    ended_at: datetime | None = _instant(nullable=True)


def core(model: type[SQLModel]) -> Table:
    """A model's table as SQLAlchemy Core sees it (``core(Ticket).c.status``). A statement made of such columns
    alone is compiled and run without the ORM, whose first statement in a process configures every mapper
    (about 25 ms of a command's start): the reads of ``show`` and ``list`` are made so."""
    return model.__table__  # type: ignore[attr-defined]
