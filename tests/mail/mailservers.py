"""The real mail servers of the mail tests and benchmarks/mail.py: an aiosmtpd SMTP server (it can be told to
answer 4xx, 5xx or drop the connection) and Dovecot from the distribution's packages (IMAP over TLS with a
throwaway certificate), each on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # benchmarks/mail.py puts tests/mail alone there
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from deskterm_testing import spawn_tied


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


def dovecot_binary() -> str | None:
    import shutil

    return shutil.which("dovecot") or (os.path.exists("/usr/sbin/dovecot") and "/usr/sbin/dovecot") or None


def start_dovecot() -> tuple[Imap, subprocess.Popen]:
    """Dovecot on a free loopback port (as root: its own users must reach the files), or RuntimeError."""
    import pwd
    import tempfile

    binary = dovecot_binary()
    if binary is None:
        raise RuntimeError("no dovecot binary (apt-get install dovecot-imapd)")
    # dovecot's own users (auth, mail) must reach these files: not under pytest's 0700 temporary directory
    root = Path(tempfile.mkdtemp(prefix="deskterm-dovecot-"))
    os.chmod(root, 0o755)
    for d in ("run", "state", "mail"):
        (root / d).mkdir()
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
    # a child that gets SIGTERM (dovecot stops its own processes then) when the test process ends, however it ends
    proc = spawn_tied(
        [binary, "-c", str(conf), "-F"],
        signal.SIGTERM,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server, proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                proc.kill()
                why = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"dovecot did not start: {why} {log}") from None
            time.sleep(0.1)


def stop_dovecot(server: Imap, proc: subprocess.Popen) -> None:
    import shutil

    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.rmtree(server.root, ignore_errors=True)


def start_smtp() -> tuple[Sink, object]:
    from aiosmtpd.controller import Controller

    sink = Sink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    return sink, controller
