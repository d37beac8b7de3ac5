"""``deskterm mail fetch`` from a real IMAP server (Dovecot over TLS, started by the test session): each unseen
message taken once and flagged \\Seen; a wrong password or an unreachable server is one line, exit 2."""

from __future__ import annotations

import pytest

from deskterm.mail.fetch import fetch_imap
from deskterm_testing import patience, run_cli

pytestmark = pytest.mark.engines("sqlite", "postgresql")


def raw(i: int, sender: str = "ann@shop.example") -> bytes:
    return f"From: {sender}\r\nSubject: IMAP {i}\r\nMessage-ID: <imap{i}@shop.example>\r\n\r\nbody {i}\r\n".encode()


def test_imap_messages_become_tickets_once_and_are_flagged_seen(db_url, make_mail_config, imap, frozen_clock):
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    config = make_mail_config(more=imap.config())
    store = open_store(db_url)
    desk = Desk(store, config, clock=frozen_clock, user="alice")
    try:
        hostile = b"From: eve\x07@evil.example\r\nSubject: x\r\nMessage-ID: <bad1@evil.example>\r\n\r\nbody\r\n"
        imap.append(raw(1), hostile, raw(2, "bob@other.example"), raw(3, "carl@third.example"))
        assert fetch_imap(desk, config.mail.imap) == {"ticket": 3, "quarantined": 1}
        assert imap.unseen() == 0  # the quarantined one too (kept aside, never lost)
        assert sorted(t.subject for t in desk.tickets()) == ["IMAP 1", "IMAP 2", "IMAP 3"]
        imap.append(raw(1))  # the same message delivered again: already taken
        assert fetch_imap(desk, config.mail.imap) == {"duplicate": 1}
        assert len(desk.tickets()) == 3
    finally:
        store.dispose()


def test_imap_through_the_command_line_and_its_errors(db_url, make_mail_config, imap, tmp_path):
    config = make_mail_config(more=imap.config())
    cfg = str(config.source)
    imap.append(raw(7))
    r = run_cli("--db", db_url, "--config", cfg, "mail", "fetch", "--imap")
    assert (r.returncode, r.stdout, r.stderr) == (0, "took 1 message: 1 new ticket\n", "")
    (imap.root / "wrong").write_text("nope\n")
    bad = make_mail_config(more=imap.config().replace(str(imap.root / "password"), str(imap.root / "wrong")))
    r = run_cli("--db", db_url, "--config", str(bad.source), "mail", "fetch", "--imap")
    assert r.returncode == 2 and r.stderr.startswith(f"mail.imap: 127.0.0.1:{imap.port}: login refused for 'desk'")
    assert len(r.stderr.splitlines()) == 1 and "nope" not in r.stderr


def test_idle_wakes_at_once_on_a_new_message_and_falls_back_to_polling(db_url, make_mail_config, imap, frozen_clock):
    """IMAP IDLE (RFC 2177) against the real Dovecot: a message delivered while idling ends the wait at once (the
    wait asked for is ten minutes), and is then taken; a server without IDLE is polled (a plain wait)."""
    import threading

    from deskterm.mail.fetch import ImapSession
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    config = make_mail_config(more=imap.config())
    store = open_store(db_url)
    desk = Desk(store, config, clock=frozen_clock, user="alice")
    session = ImapSession(config.mail.imap)
    stop = threading.Event()
    try:
        assert session.fetch(desk) == {}  # connected, logged in, nothing yet
        assert session.can_idle  # Dovecot offers IDLE
        result: dict = {}
        waiter = threading.Thread(target=lambda: result.update(news=session.wait(600, stop.is_set)), daemon=True)
        waiter.start()
        assert session.idling.wait(patience(30))  # the server said "+ idling"
        imap.append(raw(5))
        waiter.join(patience(30))
        assert not waiter.is_alive() and result == {"news": True}  # announced, not a timeout of the 10 minutes
        assert session.fetch(desk) == {"ticket": 1}  # on the same connection
        assert imap.unseen() == 0

        # stopped while idling (SIGTERM of --watch): DONE sent, the connection still good
        waiter = threading.Thread(target=lambda: result.update(stopped=session.wait(600, stop.is_set)), daemon=True)
        waiter.start()
        assert session.idling.wait(patience(30))
        stop.set()
        waiter.join(patience(30))
        assert not waiter.is_alive() and result["stopped"] is False
        stop.clear()

        session.can_idle = False  # as a server without the capability: a poll, no IDLE command
        assert session.wait(0.1, stop.is_set) is False and not session.idling.is_set()
        imap.append(raw(6))
        assert session.fetch(desk) == {"ticket": 1}
    finally:
        stop.set()
        session.close()
        store.dispose()


@pytest.mark.engines("sqlite")  # the loop of the command; the desk's side is the fetch above, on both engines
def test_fetch_watch_takes_a_message_delivered_while_idling(db_url, make_mail_config, imap):
    """``mail fetch --watch`` with a poll of ten minutes: the first message at once, a second delivered while
    it waits is taken within seconds (IDLE), and SIGTERM ends it while idling."""
    import queue
    import signal
    import subprocess
    import sys
    import threading

    config = make_mail_config(extra='poll = "10m"', more=imap.config())
    imap.append(raw(8))
    proc = subprocess.Popen(
        [sys.executable, "-m", "deskterm.cli", "--db", db_url, "--config", str(config.source), "mail", "fetch"]
        + ["--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)
    reader.start()
    try:
        assert lines.get(timeout=patience(60)) == "took 1 message: 1 new ticket\n"
        imap.append(raw(9, "dora@fourth.example"))
        assert lines.get(timeout=patience(30)) == "took 1 message: 1 new ticket\n"  # not after 10 minutes
        assert imap.unseen() == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=patience(30)) == 0
    assert proc.stderr.read() == ""
