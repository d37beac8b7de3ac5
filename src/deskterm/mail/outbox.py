"""The outbox: customer messages queued in the transaction of the change that makes them, delivered later.

``queue_for_change`` runs inside the service's write transaction (``Desk._write``): a public reply, and
optionally the resolution notice, become outbox rows with their Message-ID made now, so the reply and its
message are written together or not at all. ``Outbox`` is the delivering side (``deskterm mail send`` and the
``--watch`` process): it claims one due row at a time (a compare-and-set on its state, so two senders never
take the same row), sends it by SMTP, then records the result. A sender that dies after the server took the
message but before recording it leaves the row ``sending``; once its claim is older than ``LEASE`` another
sender sends it again with the same Message-ID and marks it a possible duplicate.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, cast

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col

from ..domain import mail as rules
from ..domain import survey
from ..domain.history import SURVEY_REMINDER
from ..records import NewEvent
from ..store.engine import changed
from ..store.models import Contact, InboundMail, OutboxMail, Ticket
from .settings import MailSettings

LEASE = timedelta(minutes=5)  # a claim older than this belongs to a sender that died
STATES = ("queued", "sending", "sent", "failed")


def new_message_id(ticket_id: int, domain: str) -> str:
    return f"<deskterm.{ticket_id}.{secrets.token_hex(8)}@{domain}>"


def thread_of(session: Session, ticket_id: int) -> tuple[str | None, str | None, list[str]]:
    """The customer's address (of the last message taken for the ticket), the Message-ID to answer, and the
    References of the thread so far (the messages taken and sent, oldest first, at most 20)."""
    inbound = session.execute(
        select(col(InboundMail.from_addr), col(InboundMail.message_id), col(InboundMail.taken_at))
        .where(col(InboundMail.ticket_id) == ticket_id, col(InboundMail.state).in_(("ticket", "added")))
        .order_by(col(InboundMail.id))
    ).all()
    outbound = session.execute(
        select(col(OutboxMail.message_id), col(OutboxMail.created_at))
        .where(col(OutboxMail.ticket_id) == ticket_id)
        .order_by(col(OutboxMail.id))
    ).all()
    to = inbound[-1][0] if inbound else None
    if to is None:  # a ticket opened by phone or by hand: its contact's address, if it has one
        to = session.execute(
            select(col(Contact.email))
            .join(Ticket, col(Ticket.contact_id) == col(Contact.id))
            .where(col(Ticket.id) == ticket_id)
        ).scalar()
    answering = inbound[-1][1] if inbound else None
    refs = [
        m for m, _ in sorted([(r[1], r[2]) for r in inbound] + [(r[0], r[1]) for r in outbound], key=lambda x: x[1])
    ]
    return to, answering, refs[-20:]


def queue(
    session: Session,
    mail: MailSettings,
    ticket_id: int,
    subject: str,
    customer: str,
    group: str,
    kind: str,
    body: str,
    now: datetime,
    event_id: int | None = None,
    to: str | None = None,
) -> int | None:
    """Queue one message on the ticket's thread; None when the ticket has no customer address to send to."""
    addr, answering, refs = thread_of(session, ticket_id)
    to = to or addr
    if not to:
        return None
    sender = mail.sender_for(customer, group)
    row = {
        "ticket_id": ticket_id,
        "event_id": event_id,
        "kind": kind,
        "message_id": new_message_id(ticket_id, mail.domain),
        "to_addr": to,
        "from_addr": sender.from_addr,
        "reply_to": sender.reply_to or None,
        "subject": rules.tagged(ticket_id, subject, reply=answering is not None),
        "body": body,
        "in_reply_to": answering,
        "refs": " ".join(refs) or None,
        "state": "queued",
        "attempts": 0,
        "created_at": now,
        "next_try_at": now,
        "possible_duplicate": False,
    }
    table = OutboxMail.__table__  # type: ignore[attr-defined]
    return session.execute(insert(table).values(**row).returning(table.c.id)).scalar_one()


def fill(template: str, ticket_id: int, subject: str, customer: str) -> str:
    """A template with ``{ticket}``, ``{subject}`` and ``{customer}`` filled in (other braces kept)."""
    out = template
    for key, value in (("ticket", f"#{ticket_id}"), ("subject", subject), ("customer", customer)):
        out = out.replace("{" + key + "}", value)
    return out


def queue_for_change(
    session: Session,
    mail: MailSettings,
    ticket: Any,
    events: Sequence[NewEvent],
    event_ids: Sequence[int],
    values: dict,
    now: datetime,
) -> None:
    """The messages a change sends: each public agent reply, and the resolution notice when configured."""
    group = values.get("group_name", ticket.group)
    for e, eid in zip(events, event_ids, strict=True):
        if e.kind == "reply" and e.public and e.author != "customer" and e.body:
            queue(session, mail, ticket.id, ticket.subject, ticket.customer, group, "reply", e.body, now, eid)
    if values.get("status") == "resolved" and mail.resolution_notice:
        body = notice(mail, ticket)
        status = next(eid for e, eid in zip(events, event_ids, strict=True) if e.kind == "status")
        queue(session, mail, ticket.id, ticket.subject, ticket.customer, group, "resolution_notice", body, now, status)
    for e, eid in zip(events, event_ids, strict=True):
        if e.kind == SURVEY_REMINDER and mail.resolution_notice and mail.survey:
            body = "A reminder: we would like to know how we did.\n\n" + notice(mail, ticket)
            queue(session, mail, ticket.id, ticket.subject, ticket.customer, group, "survey_reminder", body, now, eid)


def notice(mail: MailSettings, ticket: Any) -> str:
    """The resolution notice: the template filled in, then the survey's questions (``mail.survey``)."""
    body = fill(mail.resolution_notice, ticket.id, ticket.subject, ticket.customer)
    return body + ("\n\n" + questions(mail.survey) if mail.survey else "")


_QUESTIONS = {
    "csat": "How satisfied are you with how we handled it?",
    "nps": "How likely are you to recommend our service to a colleague?",
    "ces": "How easy was it to get your problem solved?",
}


def questions(measures: Sequence[str]) -> str:
    """The survey's questions, each with its scale, and how to answer (what ``survey.parse_answer`` reads)."""
    lines = [f"{i}. {_QUESTIONS[m]} {survey.SCALES[m][2]}" for i, m in enumerate(measures, 1)]
    example = " ".join(str(survey.SCALES[m][1] - 1) for m in measures)
    how = f"Reply with {'the number' if len(measures) == 1 else 'the numbers, in this order,'} (for example: {example})"
    return "\n".join([*lines, "", how + ", and a comment if you wish."])


def needs_ids(events: Sequence[NewEvent]) -> bool:
    return any((e.kind == "reply" and e.public and e.author != "customer") or e.kind == SURVEY_REMINDER for e in events)


# -- delivering ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    ticket_id: int
    message_id: str
    attempts: int
    possible_duplicate: bool
    message: EmailMessage


def compose(row: OutboxMail, now: datetime, possible_duplicate: bool) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = row.from_addr
    msg["To"] = row.to_addr
    if row.reply_to:
        msg["Reply-To"] = row.reply_to
    msg["Subject"] = " ".join(row.subject.split())  # never a line break: no header injection
    msg["Message-ID"] = row.message_id
    msg["Date"] = format_datetime(row.created_at)
    if row.in_reply_to:
        msg["In-Reply-To"] = row.in_reply_to
    if row.references:
        msg["References"] = row.references
    msg["Auto-Submitted"] = "auto-replied" if row.kind != "reply" else "no"
    msg["X-Deskterm-Ticket"] = str(row.ticket_id)
    if possible_duplicate:
        msg["X-Deskterm-Possible-Duplicate"] = "yes"
    msg.set_content(row.body)
    return msg


def claim(session: Session, now: datetime, only: int | None = None) -> Claimed | None:
    """Take the next due message for sending (state ``sending``), or None. A row still ``sending`` whose
    claim is older than ``LEASE`` was left by a sender that died: it is taken again, as a possible duplicate."""
    due = or_(
        (col(OutboxMail.state) == "queued") & (col(OutboxMail.next_try_at) <= now),
        (col(OutboxMail.state) == "sending") & (col(OutboxMail.claimed_at) < now - LEASE),
    )
    stmt = select(OutboxMail).where(due).order_by(col(OutboxMail.next_try_at), col(OutboxMail.id)).limit(1)
    if only is not None:
        stmt = stmt.where(col(OutboxMail.id) == only)
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        return None
    crashed = row.state == "sending"
    attempts = row.attempts + 1
    duplicate = row.possible_duplicate or crashed
    message = compose(row, now, duplicate)
    assert row.id is not None
    result = cast(
        CursorResult[Any],
        session.execute(
            update(OutboxMail)
            .where(
                col(OutboxMail.id) == row.id,
                col(OutboxMail.state) == row.state,
                col(OutboxMail.attempts) == row.attempts,
            )
            .values(
                state="sending",
                claimed_at=now,
                attempts=attempts,
                possible_duplicate=duplicate,
            )
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:  # another sender took it first
        return None
    return Claimed(row.id, row.ticket_id, row.message_id, attempts, duplicate, message)


def record(session: Session, claimed: Claimed, now: datetime, error: str | None, final: bool, max_attempts: int) -> str:
    """Record the outcome of one attempt; the row's new state."""
    if error is None:
        values: dict[str, Any] = {"state": "sent", "sent_at": now, "last_error": None}
    elif final or claimed.attempts >= max_attempts:
        values = {"state": "failed", "last_error": error[:500]}
    else:
        values = {
            "state": "queued",
            "last_error": error[:500],
            "next_try_at": now + timedelta(seconds=rules.retry_in(claimed.attempts)),
        }
    session.execute(
        update(OutboxMail)
        .where(col(OutboxMail.id) == claimed.id, col(OutboxMail.state) == "sending")
        .values(claimed_at=None, **values)
    )
    changed(session, claimed.ticket_id)  # an open ticket screen shows the mail sent or failed (store/changes.py)
    return str(values["state"])


def retry(session: Session, ticket_id: int, now: datetime) -> int:
    """Queue the ticket's failed messages again, due now; how many."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(OutboxMail)
            .where(col(OutboxMail.ticket_id) == ticket_id, col(OutboxMail.state) == "failed")
            .values(state="queued", next_try_at=now, attempts=0)
        ),
    )
    changed(session, ticket_id)
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class Status:
    """How a queued message stands, for the timeline and ``deskterm show``."""

    id: int
    event_id: int | None
    kind: str
    state: str
    message_id: str
    to_addr: str
    attempts: int
    next_try_at: datetime
    sent_at: datetime | None
    last_error: str | None
    possible_duplicate: bool
    created_at: datetime

    def describe(self) -> str:
        if self.state == "sent":
            dup = " (possible duplicate)" if self.possible_duplicate else ""
            return f"mail sent to {self.to_addr} {self.message_id}{dup}"
        if self.state == "failed":
            return f"mail failed: {self.last_error or 'unknown reason'} (R retries)"
        if self.last_error:
            return f"mail queued, attempt {self.attempts + 1} (last: {self.last_error})"
        return f"mail queued to {self.to_addr}"


def statuses(session: Session, ticket_id: int) -> list[Status]:
    rows = session.execute(
        select(OutboxMail).where(col(OutboxMail.ticket_id) == ticket_id).order_by(col(OutboxMail.id))
    ).scalars()
    return [
        Status(
            r.id or 0,
            r.event_id,
            r.kind,
            r.state,
            r.message_id,
            r.to_addr,
            r.attempts,
            r.next_try_at,
            r.sent_at,
            r.last_error,
            r.possible_duplicate,
            r.created_at,
        )
        for r in rows
    ]


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(col(OutboxMail.state), func.count()).group_by(col(OutboxMail.state))).all()
    return {s: int(n) for s, n in rows}
