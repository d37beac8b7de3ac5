"""Customer messages from a Maildir written by the tests: new tickets, answers on their tickets (pending back to
open, a resolved one reopened), exactly once, attachments on disk, and the hostile corpus quarantined with a
reason, nothing lost."""

from __future__ import annotations

import mailbox
import os
import stat
import threading
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from deskterm.mail.deliver import deliver
from deskterm.mail.fetch import fetch_maildir
from deskterm.service import Change
from deskterm.store.models import InboundMail, OutboxMail
from deskterm_testing import run_cli

pytestmark = pytest.mark.engines("sqlite", "postgresql")


def message(
    subject="Printer down on floor 2",
    sender="Marie Curie <marie@clinique.example>",
    body="The printer shows error 42.",
    msgid="<m1@clinique.example>",
    **headers,
) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "desk@desk.example"
    m["Subject"] = subject
    if msgid:
        m["Message-ID"] = msgid
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content(body)
    return bytes(m)


@pytest.fixture
def maildir(tmp_path):
    path = tmp_path / "Maildir"
    mailbox.Maildir(path, create=True)
    return path


def deliver_to(maildir, *raws: bytes) -> None:
    box = mailbox.Maildir(maildir, create=False)
    for raw in raws:
        box.add(raw)


def inbound(desk):
    with desk.store.read() as s:
        return list(s.execute(select(InboundMail).order_by(InboundMail.id)).scalars())


def test_a_customer_mail_becomes_a_ticket_and_is_marked_read(mail_desk, maildir):
    deliver_to(maildir, message())
    out = fetch_maildir(mail_desk, str(maildir))
    assert out == {"ticket": 1}
    [row] = inbound(mail_desk)
    t = mail_desk.ticket(row.ticket_id)
    assert t.subject == "Printer down on floor 2" and t.description == "The printer shows error 42."
    assert t.customer == "unknown contact" and t.status == "new" and t.priority == "P3"
    assert row.from_addr == "marie@clinique.example" and row.message_id == "<m1@clinique.example>"
    assert os.listdir(maildir / "new") == [] and [n.endswith(":2,S") for n in os.listdir(maildir / "cur")] == [True]
    assert fetch_maildir(mail_desk, str(maildir)) == {}  # read: not taken again


def test_the_agents_reply_threads_and_the_customers_answer_resumes_the_sla(mail_desk, maildir, smtp):
    deliver_to(maildir, message())
    fetch_maildir(mail_desk, str(maildir))
    [row] = inbound(mail_desk)
    tid = row.ticket_id
    mail_desk.update(tid, Change(reply="Which printer model?", status="pending"))
    assert mail_desk.sla(mail_desk.ticket(tid)).timers["resolution"].state == "paused"
    deliver(mail_desk)
    [sent] = smtp.messages
    assert sent["In-Reply-To"] == "<m1@clinique.example>" and sent["Subject"] == f"Re: [#{tid}] Printer down on floor 2"

    answer = message(
        subject=f"Re: [#{tid}] Printer down on floor 2",
        body="An HP 4250.",
        msgid="<m2@clinique.example>",
        In_Reply_To=sent["Message-ID"],
        References=f"<m1@clinique.example> {sent['Message-ID']}",
    )
    deliver_to(maildir, answer)
    assert fetch_maildir(mail_desk, str(maildir)) == {"added": 1}
    t = mail_desk.ticket(tid)
    assert t.status == "open"
    last = [e for e in t.events if e.kind == "reply"][-1]
    assert (last.author, last.public, last.body) == ("customer", True, "An HP 4250.")
    assert mail_desk.sla(t).timers["resolution"].state == "running"  # the SLA resumes


def test_a_tag_in_the_subject_adds_to_the_ticket_and_a_resolved_one_is_reopened(mail_desk, maildir):
    deliver_to(maildir, message())
    fetch_maildir(mail_desk, str(maildir))
    tid = inbound(mail_desk)[0].ticket_id
    mail_desk.update(tid, Change(status="resolved", resolution_code="fixed"))
    deliver_to(
        maildir,
        message(subject=f"[#{tid}] still broken", msgid="<m3@clinique.example>", sender="paul@clinique.example"),
    )
    assert fetch_maildir(mail_desk, str(maildir)) == {"added": 1}  # a colleague of the same domain
    assert mail_desk.ticket(tid).status == "open"


def test_a_reply_to_a_ticket_of_another_customer_is_quarantined(mail_desk, maildir):
    deliver_to(maildir, message())
    fetch_maildir(mail_desk, str(maildir))
    tid = inbound(mail_desk)[0].ticket_id
    before = len(mail_desk.ticket(tid).events)
    deliver_to(
        maildir, message(subject=f"Re: [#{tid}] hello", sender="eve@attacker.example", msgid="<e1@attacker.example>")
    )
    assert fetch_maildir(mail_desk, str(maildir)) == {"quarantined": 1}
    row = inbound(mail_desk)[-1]
    assert row.state == "quarantined" and "eve@attacker.example is not on" in row.reason
    assert len(mail_desk.ticket(tid).events) == before


def test_a_closed_ticket_answered_opens_a_follow_up(mail_desk, maildir):
    deliver_to(maildir, message())
    fetch_maildir(mail_desk, str(maildir))
    tid = inbound(mail_desk)[0].ticket_id
    mail_desk.update(tid, Change(status="resolved", resolution_code="fixed"))
    mail_desk.update(tid, Change(status="closed"))
    deliver_to(maildir, message(subject=f"Re: [#{tid}] again", msgid="<m4@clinique.example>"))
    assert fetch_maildir(mail_desk, str(maildir)) == {"ticket": 1}
    new = mail_desk.ticket(inbound(mail_desk)[-1].ticket_id)
    assert new.id != tid and new.description.startswith(f"(follow-up of #{tid})")


def test_exactly_once_when_a_fetcher_was_killed_before_marking_and_when_two_race(mail_desk, maildir, tmp_path):
    raw = message()
    deliver_to(maildir, raw)
    fetch_maildir(mail_desk, str(maildir))
    # killed between taking and marking: the message is still unread
    for name in os.listdir(maildir / "cur"):
        os.rename(maildir / "cur" / name, maildir / "new" / name.partition(":2,")[0])
    assert fetch_maildir(mail_desk, str(maildir)) == {"duplicate": 1}
    assert len(mail_desk.tickets()) == 1

    # two fetchers on two copies of the same mailbox (two mail hosts delivering one message), at once
    other = tmp_path / "Other"
    mailbox.Maildir(other, create=True)
    many = [message(msgid=f"<race{i}@c.example>", subject=f"race {i}", sender=f"u{i}@c.example") for i in range(15)]
    deliver_to(maildir, *many)
    deliver_to(other, *many)
    results, errors = [], []

    def fetch(path):
        try:
            results.append(fetch_maildir(mail_desk, str(path)))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=fetch, args=(p,)) for p in (maildir, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r["ticket"] for r in results) == 15 and sum(r["duplicate"] for r in results) == 15
    assert len(mail_desk.tickets()) == 16


def test_html_scripts_and_tracking_images_charsets(mail_desk, maildir):
    html = EmailMessage()
    html["From"] = "ann@shop.example"
    html["Subject"] = "=?iso-8859-1?q?Caf=E9_cass=E9?="
    html["Message-ID"] = "<h1@shop.example>"
    html.set_content(
        "<html><head><style>p{}</style><script>alert('x')</script></head><body><p>Bonjour,</p>"
        "<p>la machine \x1b[31m est <b>cassée</b></p><img src='https://track.example/p.gif'></body></html>",
        subtype="html",
    )
    wrong = (
        b"From: bob@shop.example\r\nSubject: wrong charset\r\nMessage-ID: <w1@shop.example>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nCaf\xe9 \xff\r\n"
    )
    unknown = (
        b"From: bob@shop.example\r\nSubject: unknown charset\r\nMessage-ID: <w2@shop.example>\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nplain words\r\n"
    )
    deliver_to(maildir, bytes(html), wrong, unknown)
    assert fetch_maildir(mail_desk, str(maildir)) == {"ticket": 3}
    by_subject = {t.subject: t for t in mail_desk.tickets()}
    text = by_subject["Café cassé"].description
    assert "Bonjour," in text and "est cassée" in text and "alert" not in text and "track.example" not in text
    assert by_subject["wrong charset"].description == "Caf\ufffd \ufffd"
    assert by_subject["unknown charset"].description == "plain words"


def attachment_message(size: int, name="report.pdf", msgid="<a1@clinique.example>") -> bytes:
    m = EmailMessage()
    m["From"] = "marie@clinique.example"
    m["Subject"] = "logs attached"
    m["Message-ID"] = msgid
    m.set_content("See attached.")
    m.add_attachment(b"%PDF" + b"x" * (size - 4), maintype="application", subtype="pdf", filename=name)
    return bytes(m)


def test_attachments_are_stored_by_content_listed_and_fetched_back(mail_desk, maildir, db_url, tmp_path):
    deliver_to(maildir, attachment_message(5000, name="../../etc/report.pdf"))
    fetch_maildir(mail_desk, str(maildir))
    tid = inbound(mail_desk)[0].ticket_id
    [a] = mail_desk.attachments(tid)
    assert (a.n, a.name, a.size, a.content_type) == (1, "report.pdf", 5000, "application/pdf")
    stored = tmp_path / "files" / a.sha256[:2] / a.sha256
    assert stat.S_IMODE(stored.stat().st_mode) == 0o640
    assert "attachment 1: report.pdf (5.0 kB)" in mail_desk.mail_lines(tid)[0]
    mail_desk.store.dispose()
    out = tmp_path / "got.pdf"
    cfg = str(mail_desk.config.source)
    r = run_cli("--db", db_url, "--config", cfg, "attachment", "get", str(tid), "1", "-o", str(out))
    assert (r.returncode, r.stderr) == (0, "") and out.read_bytes() == b"%PDF" + b"x" * 4996
    r = run_cli("--db", db_url, "--config", cfg, "attachment", "get", str(tid), "1", "-o", str(out))
    assert (r.returncode, r.stderr) == (2, f"-o: {out}: exists; give a new file name\n")
    r = run_cli("--db", db_url, "--config", cfg, "attachment", "get", str(tid), "2", "-o", str(out) + "2")
    assert (r.returncode, r.stderr) == (2, f"attachment {tid} 2: no such attachment\n")


def test_hostile_corpus_is_quarantined_with_reasons_and_kept(mail_desk, maildir):
    big = attachment_message(20 * 1000**2, msgid="<big@clinique.example>")
    no_boundary = (
        b"From: a@x.example\r\nSubject: broken\r\nMessage-ID: <nb@x.example>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed\r\n\r\n--xyz\r\nContent-Type: text/plain\r\n\r\nhi\r\n--xyz--\r\n"
    )
    control_from = b'From: "Evil\x1b[2J" <evil@x.example>\r\nSubject: hi\r\nMessage-ID: <cf@x.example>\r\n\r\nhi\r\n'
    injected = (
        b"From: a@x.example\r\nSubject: =?utf-8?q?hello=0D=0ABcc:_victim@x.example?=\r\n"
        b"Message-ID: <inj@x.example>\r\n\r\nhi\r\n"
    )
    nested = b"From: a@x.example\r\nSubject: deep\r\nMessage-ID: <deep@x.example>\r\nMIME-Version: 1.0\r\n"
    body = b""
    for i in range(12):
        nested += f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n".encode()
    nested += b"Content-Type: text/plain\r\n\r\ndeep\r\n" + body
    for i in reversed(range(12)):
        nested += f"--b{i}--\r\n".encode()
    not_an_address = b"From: nobody\r\nSubject: hi\r\nMessage-ID: <na@x.example>\r\n\r\nhi\r\n"
    bounce = message(sender="MAILER-DAEMON@mx.example", msgid="<b1@mx.example>", subject="Undelivered Mail")
    bulk = message(sender="news@shop.example", msgid="<n1@shop.example>", Precedence="bulk")
    deliver_to(maildir, big, no_boundary, control_from, injected, nested, not_an_address, bounce, bulk)
    assert fetch_maildir(mail_desk, str(maildir)) == {"quarantined": 8}
    reasons = sorted(r.reason for r in mail_desk.quarantined())
    assert any("over max_attachment" in r for r in reasons), reasons
    assert any(r.startswith("malformed MIME") for r in reasons), reasons
    assert "From: holds control characters" in reasons
    assert "Subject: holds a line break (header injection)" in reasons
    assert any("nested more than" in r for r in reasons), reasons
    assert any("is no mail address" in r for r in reasons), reasons
    assert sum("automatic message" in r for r in reasons) == 2, reasons
    assert mail_desk.tickets() == []
    assert len(os.listdir(maildir / "new")) == 0  # all marked: each is in the desk, quarantined, nothing lost
    assert fetch_maildir(mail_desk, str(maildir)) == {}


def test_an_out_of_office_on_a_thread_is_added_without_reopening_nor_answer(mail_desk, maildir, make_mail_config):
    deliver_to(maildir, message())
    fetch_maildir(mail_desk, str(maildir))
    tid = inbound(mail_desk)[0].ticket_id
    mail_desk.update(tid, Change(reply="Please try again", status="pending"))
    deliver_to(
        maildir,
        message(subject=f"Out of office: [#{tid}]", msgid="<oo@clinique.example>", Auto_Submitted="auto-replied"),
    )
    assert fetch_maildir(mail_desk, str(maildir)) == {"added": 1}
    assert mail_desk.ticket(tid).status == "pending"


def test_acknowledgement_and_flood(db_url, make_mail_config, maildir, frozen_clock, smtp):
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    config = make_mail_config('acknowledge = "We got it: {ticket}."\nflood = { messages = 3, within = "1h" }')
    store = open_store(db_url)
    desk = Desk(store, config, clock=frozen_clock, user="alice")
    try:
        deliver_to(maildir, *[message(msgid=f"<f{i}@clinique.example>", subject=f"spam {i}") for i in range(6)])
        assert fetch_maildir(desk, str(maildir)) == {"ticket": 3, "flood": 3}
        assert len(desk.tickets()) == 3
        with desk.store.read() as s:
            acks = list(s.execute(select(OutboxMail.kind, OutboxMail.to_addr)).all())
        assert acks == [("acknowledge", "marie@clinique.example")] * 3  # the flood is not answered
        deliver(desk)
        assert smtp.messages[0].get_content().strip().startswith("We got it: #")
        assert smtp.messages[0]["Auto-Submitted"] == "auto-replied"
    finally:
        store.dispose()


def test_the_sender_is_found_by_contact_or_by_domain(mail_desk, maildir, smtp):
    from deskterm.domain.customers import ContactSpec, CustomerBatch, CustomerSpec

    mail_desk.save_directory(
        CustomerBatch(
            customers=[
                CustomerSpec(name="Clinique Saint-Jean", domains=("clinique.example",)),
                CustomerSpec(name="ACME", domains=("acme.example",)),
            ],
            contacts=[
                ContactSpec(customer="Clinique Saint-Jean", name="Marie Curie", email="marie@clinique.example"),
                ContactSpec(customer="ACME", name="Wile E.", email="wile@acme.example"),
            ],
        )
    )
    deliver_to(
        maildir,
        message(),
        message(sender="paul@clinique.example", msgid="<p1@clinique.example>", subject="Badge reader"),
    )
    assert fetch_maildir(mail_desk, str(maildir)) == {"ticket": 2}
    # (a Maildir is read in the order of its file names, which are not the order of delivery)
    by_sender = {r.from_addr: mail_desk.ticket(r.ticket_id) for r in inbound(mail_desk)}
    marie, paul = by_sender["marie@clinique.example"], by_sender["paul@clinique.example"]
    assert marie.customer == "Clinique Saint-Jean" and mail_desk.contact_of(marie).email == "marie@clinique.example"
    assert paul.customer == "Clinique Saint-Jean" and paul.contact_id is None
    # another customer's contact naming the ticket by its tag: set aside
    deliver_to(maildir, message(subject=f"Re: [#{marie.id}]", sender="wile@acme.example", msgid="<w1@acme.example>"))
    assert fetch_maildir(mail_desk, str(maildir)) == {"quarantined": 1}
    assert "names ticket" in mail_desk.quarantined()[-1].reason


def test_a_message_that_cannot_be_written_is_set_aside_and_the_others_of_its_batch_taken(mail_desk, maildir):
    """Per-message isolation in a batch of one transaction: a message the database refuses (a NUL in its text:
    PostgreSQL's text cannot hold one) neither blocks the mailbox nor costs its neighbours."""
    deliver_to(
        maildir,
        message(msgid="<n1@clinique.example>"),
        message(msgid="<n2@clinique.example>", body="before\x00after", subject="NUL inside"),
        message(msgid="<n3@clinique.example>", subject="Third"),
    )
    out = fetch_maildir(mail_desk, str(maildir))
    if mail_desk.store.is_sqlite:  # SQLite holds it
        assert out == {"ticket": 3}
    else:
        assert out == {"ticket": 2, "quarantined": 1}
        [row] = mail_desk.quarantined()
        assert row.message_id == "<n2@clinique.example>" and row.raw_sha256
        assert row.reason.startswith("the desk could not take it: PostgreSQL text fields cannot contain NUL")
    assert fetch_maildir(mail_desk, str(maildir)) == {}  # all three marked read
    subjects = sorted(t.subject for t in mail_desk.tickets())
    assert "Third" in subjects and "Printer down on floor 2" in subjects


def test_one_batch_answers_threads_it_opened_and_takes_a_copy_once(mail_desk, maildir):
    """Within one fetch's batch (one transaction, read once: ``intake.Batch``), a message answering one taken
    earlier in the same batch goes to its ticket, and a second copy of a message is taken once."""
    first = message(msgid="<b1@clinique.example>", subject="Scanner jammed")
    answer = message(msgid="<b2@clinique.example>", subject="Re: Scanner jammed", body="Still jammed.")
    answer_raw = answer.replace(b"Message-ID:", b"In-Reply-To: <b1@clinique.example>\nMessage-ID:", 1)
    for name, raw in (("1.first", first), ("2.answer", answer_raw), ("3.copy", first)):  # read in name order
        (maildir / "new" / name).write_bytes(raw)
    assert fetch_maildir(mail_desk, str(maildir)) == {"ticket": 1, "added": 1, "duplicate": 1}
    [t] = mail_desk.tickets()
    assert [e.body for e in mail_desk.ticket(t.id).events if e.kind == "reply"] == ["Still jammed."]
    assert [(r.message_id, r.state, r.ticket_id) for r in inbound(mail_desk)] == [
        ("<b1@clinique.example>", "ticket", t.id),
        ("<b2@clinique.example>", "added", t.id),
    ]
