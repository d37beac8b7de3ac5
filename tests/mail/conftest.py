"""Real mail servers for the mail tests: an aiosmtpd SMTP server started by the test session on a free
loopback port (it can be told to answer 4xx, 5xx or drop the connection), and the desk's [mail] settings."""

from __future__ import annotations

import os
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


# -- IMAP: Dovecot from the distribution's packages, on a free loopback port, TLS with a throwaway CA -------

DOVECOT_CONF = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


class Imap:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.user = "desk"
        self.password = "imap-s3cret"
        self.ca_file = str(root / "cert.pem")

    def client(self):
        import imaplib
        import ssl

        conn = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=ssl.create_default_context(cafile=self.ca_file))
        conn.login(self.user, self.password)
        return conn

    def append(self, *raws: bytes, mailbox: str = "INBOX") -> None:
        conn = self.client()
        try:
            for raw in raws:
                typ, _ = conn.append(mailbox, None, None, raw)
                assert typ == "OK"
        finally:
            conn.logout()

    def clear(self) -> None:
        conn = self.client()
        try:
            conn.select("INBOX")
            conn.store("1:*", "+FLAGS", "(\\Deleted)")
            conn.expunge()
        except Exception:  # noqa: BLE001 - an empty mailbox has no 1:*
            pass
        finally:
            conn.logout()

    def unseen(self) -> int:
        conn = self.client()
        try:
            conn.select("INBOX")
            typ, data = conn.uid("SEARCH", "UNSEEN")
            return len(data[0].split()) if data and data[0] else 0
        finally:
            conn.logout()

    def config(self) -> str:
        return (
            f'\n[mail.imap]\nhost = "127.0.0.1"\nport = {self.port}\nsecurity = "ssl"\nusername = "{self.user}"\n'
            f'password_file = "{self.root / "password"}"\nca_file = "{self.ca_file}"\ntimeout = 10\n'
        )


def _dovecot_binary() -> str | None:
    import shutil

    return shutil.which("dovecot") or (os.path.exists("/usr/sbin/dovecot") and "/usr/sbin/dovecot") or None


@pytest.fixture(scope="session")
def imap_server():
    import subprocess
    import time

    binary = _dovecot_binary()
    if binary is None or os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("Dovecot (dovecot-imapd) is needed under CI: .ci/run installs it, as root")
        pytest.skip("no dovecot binary (apt-get install dovecot-imapd), or not root")
    import shutil
    import tempfile

    # dovecot's own users (auth, mail) must reach these files: not under pytest's 0700 temporary directory
    root = Path(tempfile.mkdtemp(prefix="deskterm-dovecot-"))
    os.chmod(root, 0o755)
    for d in ("run", "state", "mail"):
        (root / d).mkdir()
    import pwd

    nobody = pwd.getpwnam("nobody")
    os.chown(root / "mail", nobody.pw_uid, nobody.pw_gid)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    server = Imap(root, port)
    (root / "passwd").write_text(f"{server.user}:{{PLAIN}}{server.password}\n")
    (root / "password").write_text(server.password + "\n")
    conf = root / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(root=root, port=port, uid=nobody.pw_uid, gid=nobody.pw_gid))
    proc = subprocess.Popen([binary, "-c", str(conf), "-F"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                proc.kill()
                pytest.fail(f"dovecot did not start: {proc.stderr.read().decode() if proc.stderr else ''} {log}")
            time.sleep(0.1)
    yield server
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap(imap_server):
    imap_server.clear()
    return imap_server
