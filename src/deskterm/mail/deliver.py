"""``deskterm mail send``: deliver the due messages of the outbox, one claim and one record per message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import BadInput
from . import outbox
from .smtp import Connection

if TYPE_CHECKING:
    from ..service import Desk


@dataclass
class Delivery:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)  # one line per message not sent: id, reason


def remind(desk: Desk) -> int:
    """Queue the survey reminder of each ticket whose resolution notice went out ``mail.survey_reminder`` ago
    with no answer (once per resolution: ``Desk.remind_survey`` records it and queues the message together)."""
    from datetime import timedelta

    from sqlalchemy import select
    from sqlmodel import col

    from ..errors import Refused
    from ..store.models import OutboxMail

    mail = desk.config.mail
    if mail is None or not mail.survey_reminder or not mail.resolution_notice or not mail.survey:
        return 0
    due = desk.survey_reminders_due(after=timedelta(seconds=mail.survey_reminder))
    if not due:
        return 0
    with desk.store.read() as session:
        noticed = set(
            session.execute(
                select(col(OutboxMail.ticket_id)).where(
                    col(OutboxMail.kind) == "resolution_notice", col(OutboxMail.ticket_id).in_([t.id for t in due])
                )
            ).scalars()
        )
    n = 0
    for t in due:
        if t.id in noticed:
            try:
                desk.remind_survey(t.id)
                n += 1
            except Refused:  # answered or reminded meanwhile (another sender)
                pass
    return n


def deliver(desk: Desk, limit: int | None = None) -> Delivery:
    """Send every message due now (at most ``limit``); what happened."""
    mail = desk.config.mail
    if mail is None:
        raise BadInput("mail: no [mail] section in the configuration")
    if mail.smtp is None:
        raise BadInput("mail.smtp: not configured (host, port, security, username, password_file)")
    password = mail.smtp.password() if mail.smtp.username else ""
    remind(desk)
    conn = Connection(mail.smtp, password)
    out = Delivery()
    try:
        while limit is None or out.sent + out.retrying + out.failed < limit:
            claimed = desk.store.write(lambda s: outbox.claim(s, desk.clock.now()))
            if claimed is None:
                break
            error, final = conn.send(claimed.message)

            def done(s, c=claimed, e=error, f=final) -> str:
                return outbox.record(s, c, desk.clock.now(), e, f, mail.max_attempts)

            state = desk.store.write(done)
            if state == "sent":
                out.sent += 1
            else:
                out.problems.append(f"mail {claimed.id} (ticket {claimed.ticket_id}): {state}: {error}")
                if state == "failed":
                    out.failed += 1
                else:
                    out.retrying += 1
    finally:
        conn.close()
    return out
