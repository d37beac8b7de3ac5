"""``deskterm mail send`` through the real command line, and the [mail] section's errors (one line each, exit 2)."""

from __future__ import annotations

from test_outbox import mailed_ticket

from deskterm.records import NewTicket
from deskterm.service import Change
from deskterm_testing import patience, run_cli


def test_mail_send_delivers_the_outbox_and_says_what_it_did(mail_desk, smtp, db_url):
    tid = mailed_ticket(mail_desk)
    mail_desk.update(tid, Change(reply="From the CLI"))
    mail_desk.store.dispose()
    cfg = str(mail_desk.config.source)
    r = run_cli("--db", db_url, "--config", cfg, "mail", "send")
    assert (r.returncode, r.stdout, r.stderr) == (0, "sent 1, to retry 0, failed 0\n", "")
    assert [m["Subject"] for m in smtp.messages] == [f"Re: [#{tid}] Printer down"]
    r = run_cli("--db", db_url, "--config", cfg, "mail", "status")
    assert r.stdout == "0 queued, 0 sending, 1 sent, 0 failed\n"
    r = run_cli("--db", db_url, "--config", cfg, "mail", "send")  # nothing left: nothing said, nothing sent
    assert (r.returncode, r.stdout) == (0, "")
    assert len(smtp.messages) == 1


def test_mail_send_with_a_5xx_exits_1_naming_the_reason(mail_desk, smtp, db_url):
    tid = mailed_ticket(mail_desk)
    mail_desk.update(tid, Change(reply="x"))
    mail_desk.store.dispose()
    smtp.mode = "5xx"
    r = run_cli("--db", db_url, "--config", str(mail_desk.config.source), "mail", "send")
    assert r.returncode == 1
    assert r.stderr == f"mail 1 (ticket {tid}): failed: 550 5.1.1 no such user here\n"


def test_bad_mail_settings_are_one_line_each(tmp_path, db_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(
        '[mail]\nfrom = "not an address"\n[mail.smtp]\nhost = "h"\npassword = "secret"\nsecurity = "tls"\n'
        "[mail.imap]\nport = 99999\n"
    )
    r = run_cli("--db", str(db_path), "--config", str(cfg), "mail", "send")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert f"{cfg}: mail.from: missing or not a mail address" in lines
    assert any(
        "mail.smtp.password: unknown key (a password is read from password_file or the environment)" in x for x in lines
    )
    assert any("mail.imap.host: missing" in x for x in lines)


def test_mail_send_without_mail_settings_says_so(db_path):
    r = run_cli("--db", str(db_path), "mail", "send")
    assert (r.returncode, r.stderr) == (2, "mail: no [mail] section in the configuration\n")


def test_smtp_password_from_a_file_or_the_environment(tmp_path):
    from deskterm.mail.settings import Server

    (tmp_path / "pw").write_text("s3cret\nignored\n")
    assert Server("h", 25, username="u", password_file=str(tmp_path / "pw")).password() == "s3cret"
    import os

    os.environ["DESKTERM_TEST_PW"] = "fromenv"
    try:
        assert Server("h", 25, username="u", env="DESKTERM_TEST_PW").password() == "fromenv"
    finally:
        del os.environ["DESKTERM_TEST_PW"]


def test_a_ticket_created_without_mail_has_no_message(mail_desk):
    # a ticket created without mail has no address: nothing to send
    t = mail_desk.create(NewTicket(subject="x", customer="ACME", priority="P3", created_at=mail_desk.clock.now()))
    assert mail_desk.mail_statuses(t.id) == []


def test_mail_fetch_and_quarantined_through_the_command_line(mail_desk, db_url, tmp_path):
    import mailbox

    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(b"From: ann@shop.example\r\nSubject: VPN down\r\nMessage-ID: <v1@shop.example>\r\n\r\nhelp\r\n")
    box.add(b'From: "\x1b[2J" <x@shop.example>\r\nSubject: hi\r\nMessage-ID: <v2@shop.example>\r\n\r\nhi\r\n')
    mail_desk.store.dispose()
    cfg = str(mail_desk.config.source)
    r = run_cli("--db", db_url, "--config", cfg, "mail", "fetch", "--maildir", str(tmp_path / "Maildir"))
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "took 2 messages: 1 new ticket, 1 quarantined (deskterm mail quarantined lists them)\n"
    r = run_cli("--db", db_url, "--config", cfg, "mail", "quarantined")
    assert r.returncode == 0 and "From: holds control characters" in r.stdout and "\x1b" not in r.stdout
    r = run_cli("--db", db_url, "--config", cfg, "mail", "fetch", "--maildir", str(tmp_path / "nothing"))
    assert (r.returncode, r.stderr) == (
        2,
        f"mail.maildir: {tmp_path / 'nothing'}: not a Maildir (it needs new/ and cur/)\n",
    )


def test_fetch_watch_takes_and_delivers_until_sigterm(db_path, make_mail_config, smtp, tmp_path):
    """The process of the systemd unit / tmux pane: fetches every poll, delivers the outbox, stops on SIGTERM."""
    import mailbox
    import os
    import signal
    import subprocess
    import sys
    import time

    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    config = make_mail_config(f'poll = "1s"\nmaildir = "{tmp_path / "Maildir"}"\nacknowledge = "Got it: {{ticket}}."')
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deskterm.cli",
            "--db",
            str(db_path),
            "--config",
            str(config.source),
            "mail",
            "fetch",
            "--watch",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DESKTERM_BUSY_TIMEOUT": "5"},
    )
    try:
        box.add(b"From: ann@shop.example\r\nSubject: VPN\r\nMessage-ID: <w1@shop.example>\r\n\r\nhelp\r\n")
        deadline = time.monotonic() + 60
        while not smtp.messages and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [m["Subject"] for m in smtp.messages] == ["Re: [#1] VPN"]
        assert smtp.messages[0].get_content().strip() == "Got it: #1."
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=patience(30))
    assert proc.returncode == 0, err
    assert "took 1 message: 1 new ticket" in out and "sent 1, to retry 0, failed 0" in out and err == ""


def test_mail_send_reminds_an_unanswered_survey_once_when_due(db_url, make_mail_config, smtp):
    """``survey_reminder = "3d"``: the notice goes out at the resolution; ``mail send`` three days later sends
    the reminder (with the survey's questions) to the real SMTP server, and a second ``mail send`` sends nothing."""
    from datetime import UTC, datetime, timedelta

    from deskterm.clock import FrozenClock
    from deskterm.mail.deliver import deliver
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    config = make_mail_config('resolution_notice = "Ticket {ticket} is resolved."\nsurvey_reminder = "3d"')
    clock = FrozenClock(datetime.now(UTC) - timedelta(days=4))
    store = open_store(db_url)
    desk = Desk(store, config, clock=clock, user="alice")
    try:
        tid = mailed_ticket(desk)
        answered = mailed_ticket(desk, addr="paul@clinique.example", message_id="<other@clinique.example>")
        for t in (tid, answered):
            desk.update(t, Change(status="resolved", resolution_code="fixed"))
        desk.rate(answered, 5)  # answered: never reminded
        clock.advance(days=1)
        assert deliver(desk).sent == 2  # the two notices; a day later, no reminder is due yet
        assert [m["Subject"] for m in smtp.messages] == [
            f"Re: [#{tid}] Printer down",
            f"Re: [#{answered}] Printer down",
        ]
    finally:
        store.dispose()
    smtp.messages.clear()
    cfg = str(config.source)
    r = run_cli("--db", db_url, "--config", cfg, "mail", "send")  # now: four days after the notice
    assert (r.returncode, r.stdout, r.stderr) == (0, "sent 1, to retry 0, failed 0\n", "")
    [msg] = smtp.messages
    assert msg["To"] == "marie@clinique.example" and msg["Subject"] == f"Re: [#{tid}] Printer down"
    body = msg.get_content()
    assert body.startswith("A reminder: we would like to know how we did.") and "How satisfied" in body
    store = open_store(db_url)
    try:
        again = Desk(store, config, user="alice")  # the real clock, as the command's
        assert deliver(again).sent == 0  # once
        assert len(smtp.messages) == 1
        kinds = [e.kind for e in again.ticket(tid).events]
        assert kinds.count("survey_reminder") == 1, kinds  # recorded on the ticket, with its message
    finally:
        store.dispose()


def test_mail_fetch_says_a_survey_answer_was_recorded(db_url, make_mail_config, smtp, tmp_path):
    """A reply to the resolution notice that answers the survey: `mail fetch` says so ("1 survey answer
    recorded"), not an empty "took 1 message: "."""
    import mailbox

    from deskterm.mail.deliver import deliver
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    config = make_mail_config('resolution_notice = "Ticket {ticket} is resolved."\nsurvey = ["csat", "nps"]')
    store = open_store(db_url)
    desk = Desk(store, config, user="alice")
    try:
        tid = mailed_ticket(desk)
        desk.update(tid, Change(status="resolved", resolution_code="fixed"))
        assert deliver(desk).sent == 1
        [notice] = smtp.messages
    finally:
        store.dispose()
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(
        f"From: marie@clinique.example\r\nSubject: Re: [#{tid}] Printer down\r\nMessage-ID: <a1@clinique.example>\r\n"
        f"In-Reply-To: {notice['Message-ID']}\r\n\r\n4 9 - quick\r\n".encode()
    )
    r = run_cli("--db", db_url, "--config", str(config.source), "mail", "fetch", "--maildir", str(tmp_path / "Maildir"))
    assert (r.returncode, r.stdout, r.stderr) == (0, "took 1 message: 1 survey answer recorded\n", "")
    r = run_cli("--db", db_url, "--config", str(config.source), "history", str(tid))
    assert "customer  satisfaction 4/5: quick" in r.stdout and "customer  recommendation (NPS) 9/10" in r.stdout
