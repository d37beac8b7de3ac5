"""Delivering one message by SMTP: submission with STARTTLS (587), SMTPS (465), or plain (a relay on this
host); the answer of the server, reduced to one line, is what the outbox records."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from ..fmt import one_line
from .settings import Server


def tls_context(server: Server) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=server.ca_file or None)


class Connection:
    """One SMTP session reused for several messages (``deskterm mail send`` with a full outbox)."""

    def __init__(self, server: Server, password: str) -> None:
        self.server = server
        self.password = password
        self.smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.server
        smtp: smtplib.SMTP
        if s.security == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=tls_context(s))
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.security == "starttls":
                smtp.starttls(context=tls_context(s))
        if s.username:
            smtp.login(s.username, self.password)
        return smtp

    def send(self, message: EmailMessage) -> tuple[str | None, bool]:
        """(None, _) when the server took the message; else (the reason, whether it is final: a 5xx)."""
        try:
            if self.smtp is None:
                self.smtp = self._open()
            refused = self.smtp.send_message(message)
            if refused:
                code, text = next(iter(refused.values()))
                return _answer(code, text), code >= 500
            return None, False
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            self.close()
            return _answer(code, text), code >= 500
        except smtplib.SMTPResponseException as exc:
            self.close()
            return _answer(exc.smtp_code, exc.smtp_error), exc.smtp_code >= 500
        except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError and timeouts are OSErrors
            self.close()
            return one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, 300), False

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.smtp = None


def _answer(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return one_line(f"{code} {text}", 300)
