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


def deliver(desk: Desk, limit: int | None = None) -> Delivery:
    """Send every message due now (at most ``limit``); what happened."""
    mail = desk.config.mail
    if mail is None:
        raise BadInput("mail: no [mail] section in the configuration")
    if mail.smtp is None:
        raise BadInput("mail.smtp: not configured (host, port, security, username, password_file)")
    password = mail.smtp.password() if mail.smtp.username else ""
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
