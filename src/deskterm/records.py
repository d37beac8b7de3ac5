"""Plain read models handed from the store to the CLI and the screens (no ORM objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .domain.calendar import epoch
from .domain.sla import Event as SlaEvent
from .domain.sla import event as sla_event


@dataclass
class TicketRecord:
    id: int
    ref: str | None
    subject: str
    description: str
    customer: str
    priority: str
    initial_priority: str
    impact: int | None
    urgency: int | None
    type: str
    status: str
    assignee: str | None
    group: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    version: int
    next_due: datetime | None
    next_warn: datetime | None
    classification: str | None = None
    resolution_code: str | None = None
    first_contact: bool | None = None
    major_id: int | None = None
    csat_score: int | None = None
    csat_comment: str | None = None
    next_timer: str | None = None
    next_left: int | None = None
    category: str | None = None
    contact_id: int | None = None  # who called or wrote (Desk.contact_of gives the record)
    events: list[EventRecord] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.ref or str(self.id)


@dataclass(frozen=True)
class EventRecord:
    """An event of a ticket's history: read from the store (``id`` set), or about to be written (``id`` None: the
    import and the service build it, ``row`` gives the values to insert)."""

    at: datetime
    kind: str
    author: str
    public: bool | None = None
    body: str | None = None
    from_value: str | None = None
    to: str | None = None
    reason: str | None = None
    id: int | None = None

    def for_engine(self) -> SlaEvent:
        return sla_event(epoch(self.at), self.kind, bool(self.public), self.author, self.to)

    def row(self, ticket_id: int) -> dict[str, Any]:
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


NewEvent = EventRecord  # the name the writers use for an event not yet written: the same record, without an id

_new_record = object.__new__


def new_event(
    at: datetime, kind: str, author: str, public: bool | None, body: str | None, to: str | None, reason: str | None
) -> EventRecord:
    """``NewEvent(at=at, kind=kind, ...)`` (no ``from_value``, no ``id``), equal to it, made at half the cost: a
    frozen dataclass sets each field through ``object.__setattr__``, and an import makes millions of them."""
    event = _new_record(EventRecord)  # (as stored_event, one call less: an import makes millions)
    event.__dict__.update(
        at=at, kind=kind, author=author, public=public, body=body, from_value=None, to=to, reason=reason, id=None
    )
    return event


def stored_event(
    at: datetime,
    kind: str,
    author: str,
    public: bool | None,
    body: str | None,
    from_value: str | None,
    to: str | None,
    reason: str | None,
    id: int | None,
) -> EventRecord:
    """``EventRecord(at, kind, ...)`` with every field given, equal to it, at half the cost (``new_event``): how the
    reads make the events of the histories they read."""
    event = _new_record(EventRecord)
    event.__dict__.update(
        at=at, kind=kind, author=author, public=public, body=body, from_value=from_value, to=to, reason=reason, id=id
    )
    return event


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
    category: str | None = None  # a path of the taxonomy, as typed (the service resolves and checks it)
    contact: str | None = None  # a contact of the customer: its e-mail or its name
    # The latest of its instants (``created_at`` and the events'), in UTC, when the reader knows it already (the
    # import's quick path, which compares them anyway): the service takes it instead of comparing them all again
    # (two instants in different offsets compare at the cost of a microsecond). Not part of the ticket.
    latest: datetime | None = field(default=None, compare=False)
    # Whether its texts are known to be storable (no lone surrogate: importer.storable, on the record's JSON text,
    # and the name its events' authors default to), so that the service need not look at them. Not part of it.
    storable: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class ContactRecord:
    id: int
    customer_id: int
    customer: str
    name: str
    email: str | None = None
    phone: str | None = None
    role: str | None = None

    @property
    def label(self) -> str:
        """ "Claire Martin <claire@example.org>" (what a list or a completion shows)."""
        return f"{self.name} <{self.email}>" if self.email else self.name


@dataclass
class CustomerRecord:
    """A customer with its contacts and e-mail domains. ``policy``: what its record names (the configuration
    decides the SLA: ``Desk.policy_name``)."""

    id: int
    name: str
    policy: str | None = None
    vip: bool = False
    notes: str = ""
    domains: tuple[str, ...] = ()
    contacts: list[ContactRecord] = field(default_factory=list)
