"""Real mail servers for the mail tests: an aiosmtpd SMTP server started by the test session on a free
loopback port (it can be told to answer 4xx, 5xx or drop the connection), and the desk's [mail] settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mailservers import dovecot_binary, start_dovecot, start_smtp, stop_dovecot

from deskterm_testing import EXAMPLE_CONFIG


@pytest.fixture(scope="session")
def smtp_server():
    sink, controller = start_smtp()
    yield sink
    controller.stop()


@pytest.fixture
def smtp(smtp_server):
    smtp_server.messages.clear()
    smtp_server.envelopes.clear()
    smtp_server.mode = "ok"
    return smtp_server


MAIL_SECTION = """
[mail]
from = "Service desk <desk@desk.example>"
reply_to = "desk@desk.example"
max_attempts = 3
attachments_dir = "{files}"
{extra}

[mail.smtp]
host = "127.0.0.1"
port = {port}
security = "none"
timeout = 5

[mail.customers."Clinique Saint-Jean"]
from = "Clinique support <clinique@desk.example>"
"""


def write_mail_config(tmp_path: Path, port: int, extra: str = "", more: str = "") -> Path:
    path = tmp_path / "deskterm.toml"
    text = MAIL_SECTION.format(port=port, extra=extra, files=tmp_path / "files")
    path.write_text(EXAMPLE_CONFIG.read_text() + text + more)
    return path


@pytest.fixture
def make_mail_config(tmp_path, smtp):
    """A Config with [mail] (to the test SMTP server) and ``extra`` lines in it; the file's path as ``.source``."""
    from deskterm.config import load_config

    def make(extra: str = "", more: str = ""):
        return load_config(write_mail_config(tmp_path, smtp.port, extra, more))

    return make


@pytest.fixture
def mail_config(make_mail_config):
    return make_mail_config()


@pytest.fixture
def mail_desk(db_url, mail_config, frozen_clock):
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    store = open_store(db_url)
    yield Desk(store, mail_config, clock=frozen_clock, user="alice")
    store.dispose()


@pytest.fixture(scope="session")
def imap_server():
    if dovecot_binary() is None or os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("Dovecot (dovecot-imapd) is needed under CI: .ci/run installs it, as root")
        pytest.skip("no dovecot binary (apt-get install dovecot-imapd), or not root")
    try:
        server, proc = start_dovecot()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield server
    stop_dovecot(server, proc)


@pytest.fixture
def imap(imap_server):
    imap_server.clear()
    return imap_server
