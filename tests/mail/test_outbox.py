"""The outbox: a public reply queues its message in the same transaction, delivery by SMTP to a real
server (aiosmtpd), retries with back-off on 4xx and dropped connections, failure with the server's reason on
5xx, never sent twice, and a crash between "sent" and "recorded" marked as a possible duplicate."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from deskterm.errors import Refused
from deskterm.mail.deliver import deliver
from deskterm.records import NewTicket
from deskterm.service import Change
from deskterm.store.models import InboundMail, OutboxMail

pytestmark = pytest.mark.engines("sqlite", "postgresql")


def mailed_ticket(
    desk, customer="Clinique Saint-Jean", addr="marie@clinique.example", message_id="<first@clinique.example>"
) -> int:
    """A ticket with a customer address on its thread (as inbound mail leaves it)."""
    t = desk.create(NewTicket(subject="Printer down", customer=customer, priority="P2", created_at=desk.clock.now()))
    desk.store.write(
        lambda s: s.execute(
            insert(InboundMail).values(
                message_id=message_id,
                ticket_id=t.id,
                state="ticket",
                from_addr=addr,
                subject="Printer down",
                source="test",
                taken_at=desk.clock.now(),
            )
        )
    )
    return t.id


def outbox_rows(desk):
    with desk.store.read() as s:
        return list(s.execute(select(OutboxMail).order_by(OutboxMail.id)).scalars())


def test_a_reply_is_queued_with_the_reply_and_delivered_with_threading_headers(mail_desk, smtp):
    tid = mailed_ticket(mail_desk)
    mail_desk.update(tid, Change(reply="We are on it."))
    [row] = outbox_rows(mail_desk)
    assert row.state == "queued" and row.message_id.startswith(f"<deskterm.{tid}.") and row.event_id is not None
    message_id = row.message_id  # made before sending: a retry sends the same message

    out = deliver(mail_desk)
    assert (out.sent, out.failed) == (1, 0)
    [msg] = smtp.messages
    assert msg["Message-ID"] == message_id
    assert msg["In-Reply-To"] == "<first@clinique.example>"
    assert "<first@clinique.example>" in msg["References"]
    assert msg["Subject"] == f"Re: [#{tid}] Printer down"
    assert msg["To"] == "marie@clinique.example"
    assert msg["From"] == "Clinique support <clinique@desk.example>"  # per customer
    assert msg["Reply-To"] == "desk@desk.example"
    assert msg.get_content().strip() == "We are on it."
    [row] = outbox_rows(mail_desk)
    assert row.state == "sent" and row.sent_at is not None and row.attempts == 1
    assert [s.state for s in mail_desk.mail_statuses(tid)] == ["sent"]

    assert deliver(mail_desk).sent == 0  # never sent twice
    assert len(smtp.messages) == 1


def test_notes_and_tickets_without_an_address_queue_nothing(mail_desk, smtp):
    tid = mailed_ticket(mail_desk)
    mail_desk.update(tid, Change(note="internal only"))
    t = mail_desk.create(
        NewTicket(subject="By phone", customer="ACME", priority="P3", created_at=mail_desk.clock.now())
    )
    mail_desk.update(t.id, Change(reply="Answered by phone too"))
    assert outbox_rows(mail_desk) == []


def test_a_reply_refused_by_the_workflow_queues_nothing(mail_desk, smtp):
    tid = mailed_ticket(mail_desk)
    mail_desk.update(tid, Change(status="resolved", resolution_code="fixed"))
    mail_desk.update(tid, Change(status="closed"))
    with pytest.raises(Refused):
        mail_desk.update(tid, Change(reply="too late", status="open"))
    assert outbox_rows(mail_desk) == []  # the reply and its message: together or not at all


def test_4xx_and_a_dropped_connection_retry_with_back_off_then_fail(mail_desk, smtp, frozen_clock):
    tid = mailed_ticket(mail_desk)
    mail_desk.update(tid, Change(reply="Hello"))
    smtp.mode = "4xx"
    out = deliver(mail_desk)
    assert (out.sent, out.retrying) == (0, 1)
    [row] = outbox_rows(mail_desk)
    assert row.state == "queued" and row.last_error.startswith("451 4.3.0 mailbox busy"), row
    assert row.attempts == 1, out.problems
    assert row.next_try_at == frozen_clock.now() + timedelta(seconds=60)
    assert deliver(mail_desk).retrying == 0  # not due yet: nothing tried

    frozen_clock.advance(61)
    smtp.mode = "drop"
    out = deliver(mail_desk)
    assert out.retrying == 1, out.problems
    [row] = outbox_rows(mail_desk)
    assert row.attempts == 2 and row.next_try_at == frozen_clock.now() + timedelta(seconds=300)

    frozen_clock.advance(301)
    smtp.mode = "4xx"
    out = deliver(mail_desk)  # the third of max_attempts = 3: failed
    assert out.failed == 1
    [status] = mail_desk.mail_statuses(tid)
    assert status.state == "failed" and "451" in status.describe()

    smtp.mode = "ok"
    assert mail_desk.mail_retry(tid) == 1  # the ticket screen's R
    assert deliver(mail_desk).sent == 1
    assert len(smtp.messages) == 1
    with pytest.raises(Refused):
        mail_desk.mail_retry(tid)


def test_5xx_fails_at_once_with_the_servers_reason(mail_desk, smtp):
    tid = mailed_ticket(mail_desk)
    mail_desk.update(tid, Change(reply="Hello"))
    smtp.mode = "5xx"
    out = deliver(mail_desk)
    assert out.failed == 1
    [row] = outbox_rows(mail_desk)
    assert row.state == "failed" and row.last_error == "550 5.1.1 no such user here" and row.attempts == 1


def test_a_crash_between_sent_and_recorded_resends_once_marked_possible_duplicate(mail_desk, smtp, frozen_clock):
    from deskterm.mail import outbox

    tid = mailed_ticket(mail_desk)
    mail_desk.update(tid, Change(reply="Hello"))
    # a sender claims the message, the server takes it, and the sender dies before recording it
    claimed = mail_desk.store.write(lambda s: outbox.claim(s, frozen_clock.now()))
    assert claimed is not None
    assert deliver(mail_desk).sent == 0  # still claimed by the (dead) sender: not sent by another meanwhile
    frozen_clock.advance(outbox.LEASE.total_seconds() + 1)
    assert deliver(mail_desk).sent == 1
    [msg] = smtp.messages
    assert msg["Message-ID"] == claimed.message_id and msg["X-Deskterm-Possible-Duplicate"] == "yes"
    [row] = outbox_rows(mail_desk)
    assert row.state == "sent" and row.possible_duplicate and row.attempts == 2


def test_two_senders_never_claim_the_same_message(mail_desk, smtp, frozen_clock):
    from deskterm.mail import outbox

    tid = mailed_ticket(mail_desk)
    mail_desk.update(tid, Change(reply="Hello"))
    first = mail_desk.store.write(lambda s: outbox.claim(s, frozen_clock.now()))
    second = mail_desk.store.write(lambda s: outbox.claim(s, frozen_clock.now()))
    assert first is not None and second is None
    # a stale read: the second sender saw the row queued, the compare-and-set refuses it
    mail_desk.store.write(lambda s: s.execute(update(OutboxMail).values(state="queued", attempts=first.attempts - 1)))
    assert mail_desk.store.write(lambda s: outbox.claim(s, frozen_clock.now())) is not None


def test_resolution_notice_is_queued_when_configured(db_url, make_mail_config, smtp, frozen_clock):
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    config = make_mail_config('resolution_notice = "Ticket {ticket} ({subject}) is resolved."')
    store = open_store(db_url)
    desk = Desk(store, config, clock=frozen_clock, user="alice")
    try:
        tid = mailed_ticket(desk)
        desk.update(tid, Change(status="resolved", resolution_code="fixed"))
        assert deliver(desk).sent == 1
        [msg] = smtp.messages
        assert msg.get_content().replace("\r\n", "\n").strip() == (
            f"Ticket #{tid} (Printer down) is resolved.\n\n"
            "1. How satisfied are you with how we handled it? 1 (very unhappy) to 5 (very happy)\n\n"
            "Reply with the number (for example: 4), and a comment if you wish."
        )
        assert msg["Auto-Submitted"] == "auto-replied"
    finally:
        store.dispose()


def test_a_reply_on_a_phone_ticket_goes_to_its_contacts_address(mail_desk, smtp):
    from deskterm.domain.customers import ContactSpec

    t = mail_desk.create(
        NewTicket(subject="Called about VPN", customer="ACME", priority="P3", created_at=mail_desk.clock.now()),
        new_contact=ContactSpec(customer="ACME", name="Wile E.", email="wile@acme.example"),
    )
    mail_desk.update(t.id, Change(reply="Following up on your call."))
    assert deliver(mail_desk).sent == 1
    [msg] = smtp.messages
    assert msg["To"] == "wile@acme.example" and msg["In-Reply-To"] is None
    assert msg["Subject"] == f"[#{t.id}] Called about VPN"  # a first message: no "Re:"
