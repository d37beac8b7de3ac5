"""Where a customer message goes, decided inside the service's write transaction (``Desk.take_mail``):
the ticket it answers (a Message-ID deskterm sent or took, or the ``[#123]`` tag of its subject), or a new
ticket; a flooding sender's messages all go to one ticket. Pure decisions on what the desk holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from ..domain import mail as rules
from ..store.models import InboundMail, OutboxMail, Ticket
from .parse import Parsed


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
