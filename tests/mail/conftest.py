"""Real mail servers for the mail tests: an aiosmtpd SMTP server started by the test session on a free
loopback port (it can be told to answer 4xx, 5xx or drop the connection), and the desk's [mail] settings."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from deskterm_testing import EXAMPLE_CONFIG


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """What the SMTP server received, and how it answers the next messages: ``ok``, ``4xx``, ``5xx``, ``drop``."""

    def __init__(self) -> None:
        self.messages: list = []
        self.envelopes: list = []
        self.mode = "ok"
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.mode == "4xx":
            return "451 4.3.0 mailbox busy, try later"
        if self.mode == "5xx":
            return "550 5.1.1 no such user here"
        if self.mode == "drop":
            server.transport.abort()  # the connection goes away in the middle of the transaction
            return "421 closing"
        with self.lock:
            self.envelopes.append(envelope)
            self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK queued"


@pytest.fixture(scope="session")
def smtp_server():
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    sink.port = port
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
