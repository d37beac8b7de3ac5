"""Submission over TLS with authentication, against aiosmtpd: STARTTLS (587-style) and SMTPS (465-style), a
private CA given by ca_file, the password from a file; a wrong password fails with the server's answer."""

from __future__ import annotations

import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from mailservers import Sink, free_port
from sqlalchemy import text
from test_outbox import mailed_ticket

from deskterm.mail.deliver import deliver
from deskterm.service import Change


def _auth(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"desk", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_files(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    (tmp_path / "pw").write_text("s3cret\n")
    (tmp_path / "wrong").write_text("nope\n")
    return tmp_path, ctx


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_submission_over_tls_with_auth(security, tls_files, db_url, frozen_clock, smtp):
    from deskterm.config import load_config
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    where, ctx = tls_files
    sink = Sink()
    port = free_port()
    # SMTPS: the whole connection is TLS (aiosmtpd's auth_require_tls only knows of STARTTLS)
    kw = (
        {"tls_context": ctx, "require_starttls": True, "auth_require_tls": True}
        if security == "starttls"
        else {"ssl_context": ctx, "auth_require_tls": False}
    )
    controller = Controller(sink, hostname="127.0.0.1", port=port, authenticator=_auth, **kw)
    controller.start()
    try:
        for password_file, expect in (("wrong", "failed"), ("pw", "sent")):
            cfg = where / f"{password_file}.toml"
            cfg.write_text(
                f'[mail]\nfrom = "desk@desk.example"\nattachments_dir = "{where / "files"}"\n'
                f'[mail.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\nusername = "desk"\n'
                f'password_file = "{where / password_file}"\nca_file = "{where / "cert.pem"}"\ntimeout = 10\n'
            )
            store = open_store(db_url)
            desk = Desk(store, load_config(cfg), clock=frozen_clock, user="alice")
            tid = mailed_ticket(desk, addr=f"{password_file}@clinique.example")
            desk.update(tid, Change(reply=f"over {security}"))
            out = deliver(desk)
            if expect == "failed":
                assert out.failed == 1 and "535" in out.problems[0], out.problems
                assert "nope" not in out.problems[0]
                desk.store.write(lambda s: s.execute(text("DELETE FROM outbox")))
                desk.store.write(lambda s: s.execute(text("DELETE FROM mail_in")))
            else:
                assert out.sent == 1, out.problems
            store.dispose()
        [msg] = sink.messages
        assert msg.get_content().strip() == f"over {security}"
    finally:
        controller.stop()
