"""Where a customer message goes, decided inside the service's write transaction (``Desk.take_mail``):
the ticket it answers (a Message-ID deskterm sent or took, or the ``[#123]`` tag of its subject), or a new
ticket; a flooding sender's messages all go to one ticket. Pure decisions on what the desk holds.

A fetch takes its messages by batches of a hundred in one transaction: ``Batch`` reads what the whole batch
needs in a few queries (the Message-IDs already taken, the threads its messages answer, its senders' contacts,
domains and recent messages) and keeps that up to date as the batch's messages are taken, so that a message
costs the statements that write it, not six reads more; the rows of the messages taken are written together."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlmodel import Session, col

from ..domain import mail as rules
from ..domain.customers import email_domain, email_key
from ..store import customers as store_customers
from ..store.models import InboundMail, OutboxMail, Ticket
from .parse import Parsed

# built once, on the table (no ORM round): every batch's rows are written with it (executemany)
_INSERT_INBOUND = insert(InboundMail.__table__)  # type: ignore[attr-defined]
_CHUNK = 500  # values of one IN (...)
_ROW: dict[str, Any] = {  # every row of one executemany names the same columns
    "ticket_id": None,
    "event_id": None,
    "reason": None,
    "from_addr": "",
    "subject": "",
    "automatic": False,
    "source": "",
    "raw_sha256": None,
}


@dataclass(frozen=True)
class Route:
    ticket_id: int | None  # None: a new ticket
    why: str  # "answers <id>", "tag [#12]", "flood", "new"


def thread_ticket(session: Session, parsed: Parsed) -> int | None:
    """The ticket whose thread the message answers: by In-Reply-To / References to a message deskterm sent
    or took (the customer's own earlier message, copied in a reply-all)."""
    if not parsed.references:
        return None
    sent = session.execute(
        select(col(OutboxMail.ticket_id)).where(col(OutboxMail.message_id).in_(parsed.references))
    ).scalars()
    found = list(sent)
    if not found:
        taken = session.execute(
            select(col(InboundMail.ticket_id)).where(
                col(InboundMail.message_id).in_(parsed.references), col(InboundMail.ticket_id).is_not(None)
            )
        ).scalars()
        found = [t for t in taken if t is not None]
    return found[0] if found else None


def addresses_of(session: Session, ticket_id: int) -> set[str]:
    """The customer addresses on a ticket's thread: those who wrote in and those deskterm wrote to."""
    taken = session.execute(
        select(col(InboundMail.from_addr)).where(
            col(InboundMail.ticket_id) == ticket_id, col(InboundMail.state).in_(("ticket", "added"))
        )
    ).scalars()
    sent = session.execute(select(col(OutboxMail.to_addr)).where(col(OutboxMail.ticket_id) == ticket_id)).scalars()
    return {a.lower() for a in [*taken, *sent] if a}


def same_party(sender: str, known: set[str]) -> bool:
    """The sender is on the thread, or writes from the domain of someone who is."""
    domain = sender.rpartition("@")[2]
    return sender in known or any(a.rpartition("@")[2] == domain for a in known)


def flood_ticket(session: Session, sender: str, now: datetime, count: int, window: int) -> int | None:
    """The ticket a flooding sender's messages go to: once more than ``count`` messages of theirs came within
    ``window`` seconds, their latest ticket (the one the flood began with)."""
    since = now - timedelta(seconds=window)
    n = session.execute(
        select(func.count()).where(col(InboundMail.from_addr) == sender, col(InboundMail.taken_at) >= since)
    ).scalar_one()
    if n < count:
        return None
    return session.execute(
        select(col(InboundMail.ticket_id))
        .where(col(InboundMail.from_addr) == sender, col(InboundMail.ticket_id).is_not(None))
        .order_by(col(InboundMail.id).desc())
        .limit(1)
    ).scalar()


def tagged_ticket(session: Session, parsed: Parsed) -> int | None:
    tag = rules.ticket_tag(parsed.subject)
    if tag is None:
        return None
    exists = session.execute(select(col(Ticket.id)).where(col(Ticket.id) == tag)).scalar()
    return exists


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(set(values))
    for i in range(0, len(ordered), _CHUNK):
        yield ordered[i : i + _CHUNK]


class Batch:
    """What one transaction's batch of messages needs of the desk, read once, kept up to date as they are
    taken; and their ``mail_in`` rows, written together (``write``) before anything reads that table again."""

    def __init__(self, session: Session, batch: Sequence[Parsed], now: datetime, flood_window: int) -> None:
        self.session = session
        self.rows: list[dict[str, Any]] = []
        self.seen: dict[str, tuple[str, int | None]] = {}
        for ids in _chunks(p.message_id for p in batch):
            for mid, state, tid in session.execute(
                select(col(InboundMail.message_id), col(InboundMail.state), col(InboundMail.ticket_id)).where(
                    col(InboundMail.message_id).in_(ids)
                )
            ).all():
                self.seen[mid] = (state, tid)
        self.sent: dict[str, int] = {}  # Message-ID deskterm sent → its ticket
        self.taken: dict[str, int] = {}  # Message-ID deskterm took → its ticket
        for refs in _chunks(r for p in batch for r in p.references):
            for mid, tid in session.execute(
                select(col(OutboxMail.message_id), col(OutboxMail.ticket_id)).where(
                    col(OutboxMail.message_id).in_(refs)
                )
            ).all():
                self.sent.setdefault(mid, tid)
            for mid, tid in session.execute(
                select(col(InboundMail.message_id), col(InboundMail.ticket_id)).where(
                    col(InboundMail.message_id).in_(refs), col(InboundMail.ticket_id).is_not(None)
                )
            ).all():
                self.taken.setdefault(mid, tid)
        senders = {p.sender for p in batch}
        self.contacts = store_customers.contacts_by_email(session, senders)
        self.domains = store_customers.customers_by_domain(session, senders)
        since = now - timedelta(seconds=flood_window)
        self.recent: Counter[str] = Counter()  # messages of each sender within the flood window
        for addrs in _chunks(senders):
            for addr, n in session.execute(
                select(col(InboundMail.from_addr), func.count())
                .where(col(InboundMail.from_addr).in_(addrs), col(InboundMail.taken_at) >= since)
                .group_by(col(InboundMail.from_addr))
            ).all():
                self.recent[addr] = n
        self.customer_ids: dict[str, int] = {}

    def thread_ticket(self, parsed: Parsed) -> int | None:
        """As ``thread_ticket``: a message deskterm sent first, else one it took (the batch's own included)."""
        for ref in parsed.references:
            if ref in self.sent:
                return self.sent[ref]
        for ref in parsed.references:
            if ref in self.taken:
                return self.taken[ref]
        return None

    def sender(self, address: str) -> tuple[str | None, int | None]:
        """As ``Desk._sender``: the customer of the contact with this address, else of its domain."""
        contact = self.contacts.get(email_key(address))
        if contact is not None:
            return contact.customer, contact.id
        return self.domains.get(email_domain(address)), None

    def flooding(self, sender: str, count: int) -> bool:
        return self.recent[sender] >= count

    def add(self, **values: Any) -> None:
        """A ``mail_in`` row, written with the batch's others (``write``)."""
        row = {**_ROW, **values}
        self.rows.append(row)
        mid, tid = row["message_id"], row.get("ticket_id")
        self.seen[mid] = (row["state"], tid)
        if tid is not None:
            self.taken.setdefault(mid, tid)
        if row.get("from_addr"):
            self.recent[row["from_addr"]] += 1

    def add_message(
        self,
        parsed: Parsed,
        source: str,
        now: datetime,
        state: str,
        reason: str | None,
        ticket_id: int | None = None,
        event_id: int | None = None,
    ) -> None:
        """The ``mail_in`` row of a parsed message: what became of it (``state``, ``reason``) and where it went."""
        self.add(
            message_id=parsed.message_id,
            ticket_id=ticket_id,
            event_id=event_id,
            state=state,
            reason=reason,
            from_addr=parsed.sender,
            subject=parsed.subject,
            automatic=parsed.automatic is not None,
            source=source,
            taken_at=now,
        )

    def write(self) -> None:
        """The rows added so far, in one statement (before a query that reads ``mail_in``, and at the end)."""
        if self.rows:
            self.session.execute(_INSERT_INBOUND, self.rows)
            self.rows = []
