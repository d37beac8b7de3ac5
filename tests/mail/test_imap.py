"""``deskterm mail fetch`` from a real IMAP server (Dovecot over TLS, started by the test session): each unseen
message taken once and flagged \\Seen; a wrong password or an unreachable server is one line, exit 2."""

from __future__ import annotations

import pytest

from deskterm.mail.fetch import fetch_imap
from deskterm_testing import run_cli

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
        imap.append(raw(1), raw(2, "bob@other.example"), raw(3, "carl@third.example"))
        assert fetch_imap(desk, config.mail.imap) == {"ticket": 3}
        assert imap.unseen() == 0
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
    assert (r.returncode, r.stdout, r.stderr) == (0, "took 1 message: 1 new tickets\n", "")
    (imap.root / "wrong").write_text("nope\n")
    bad = make_mail_config(more=imap.config().replace(str(imap.root / "password"), str(imap.root / "wrong")))
    r = run_cli("--db", db_url, "--config", str(bad.source), "mail", "fetch", "--imap")
    assert r.returncode == 2 and r.stderr.startswith(f"mail.imap: 127.0.0.1:{imap.port}: login refused for 'desk'")
    assert len(r.stderr.splitlines()) == 1 and "nope" not in r.stderr
