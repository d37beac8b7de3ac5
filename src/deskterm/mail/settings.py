"""The ``[mail]`` section of the configuration (README "Mail").

Secrets never come from the command line: a password is read from the file that ``password_file`` names
(its first line) or from the environment (``DESKTERM_SMTP_PASSWORD``, ``DESKTERM_IMAP_PASSWORD``), at the
moment it is needed, never stored in the Config.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from ..errors import BadInput

Bad = Callable[[str, str], None]

SECURITY = ("starttls", "ssl", "none")
_SIZE = re.compile(r"^([0-9]+)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


@dataclass(frozen=True)
class Server:
    """An SMTP or IMAP server: where, how (TLS), who; the password is read by ``password()``."""

    host: str
    port: int
    security: str = "starttls"
    username: str = ""
    password_file: str = ""
    ca_file: str = ""  # a private CA (the tests' self-signed one); default: the system's
    timeout: float = 30.0
    env: str = ""  # the environment variable that may hold the password
    mailbox: str = "INBOX"  # IMAP only

    def password(self) -> str:
        if self.password_file:
            path = Path(self.password_file).expanduser()
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                raise BadInput(f"mail: password_file: {path}: cannot read: {why}") from None
            return text.splitlines()[0] if text else ""
        value = os.environ.get(self.env, "") if self.env else ""
        if self.username and not value:
            raise BadInput(f"mail: {self.username}: no password (give password_file, or set {self.env})")
        return value


@dataclass(frozen=True)
class Sender:
    """From and Reply-To for a customer or a group (or the desk's default)."""

    from_addr: str
    reply_to: str = ""


@dataclass(frozen=True)
class MailSettings:
    sender: Sender
    domain: str  # the right-hand side of the Message-IDs deskterm makes
    smtp: Server | None = None
    imap: Server | None = None
    maildir: str = ""
    by_customer: dict[str, Sender] = field(default_factory=dict)
    by_group: dict[str, Sender] = field(default_factory=dict)
    acknowledge: str = ""  # template of the acknowledgement on creation ("" = none)
    resolution_notice: str = ""  # template of the resolution notice ("" = none)
    reopen_within: int = 7 * 86400  # a customer answer reopens a ticket resolved this recently (seconds)
    max_attachment: int = 10 * 1000**2  # bytes; a bigger attachment is refused (the message is quarantined)
    max_message: int = 30 * 1000**2  # bytes of a whole message
    attachments_dir: str = ""  # default: beside the SQLite desk (required on PostgreSQL)
    max_attempts: int = 8  # deliveries tried before a reply is marked failed
    flood_count: int = 10  # more messages than this from one sender ...
    flood_window: int = 3600  # ... within this many seconds go into one ticket, unanswered
    poll: int = 60  # seconds between two fetches of --watch
    priority: str = "P3"  # of a ticket opened by a message
    unknown_customer: str = "unknown contact"  # the customer of a sender no customer record knows
    survey: tuple[str, ...] = ("csat",)  # what the resolution notice asks: csat, nps, ces (in that order)
    survey_reminder: int = 0  # seconds after the notice to remind a customer who did not answer (0: never)

    def sender_for(self, customer: str, group: str) -> Sender:
        """From and Reply-To for a ticket: its customer's, else its group's, else the desk's (a Reply-To left
        out is the desk's)."""
        own = self.by_customer.get(customer) or self.by_group.get(group) or self.sender
        return Sender(own.from_addr, own.reply_to or self.sender.reply_to)


def parse_size(text: object) -> int:
    if isinstance(text, int) and not isinstance(text, bool) and text > 0:
        return text
    m = _SIZE.match(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"{text!r} is not a size such as 10MB")
    value = int(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()]
    if value <= 0:
        raise ValueError(f"{text!r}: a size must be positive")
    return value


def _address(value: object) -> str | None:
    """A mail address as configured ("Desk <desk@example.com>" or "desk@example.com"), or None."""
    if not isinstance(value, str) or any(c in value for c in "\r\n\x00"):
        return None
    _name, addr = parseaddr(value)
    if "@" not in addr or addr.startswith("@") or addr.endswith("@"):
        return None
    try:
        Address(addr_spec=addr)
    except (ValueError, IndexError):
        return None
    return value.strip()


def _sender(spec: object, key: str, bad: Bad) -> Sender | None:
    if not isinstance(spec, dict):
        bad(key, 'must be a table such as { from = "Desk <desk@example.com>" }')
        return None
    for k in spec:
        if k not in ("from", "reply_to"):
            bad(f"{key}.{k}", "unknown key (known: from, reply_to)")
    frm = _address(spec.get("from"))
    if frm is None:
        bad(f"{key}.from", "missing or not a mail address")
        return None
    reply_to = ""
    if "reply_to" in spec:
        reply_to = _address(spec["reply_to"]) or ""
        if not reply_to:
            bad(f"{key}.reply_to", "not a mail address")
    return Sender(frm, reply_to)


def _server(spec: object, key: str, bad: Bad, imap: bool) -> Server | None:
    if not isinstance(spec, dict):
        bad(key, "must be a table")
        return None
    known = {"host", "port", "security", "username", "password_file", "ca_file", "timeout"}
    if imap:
        known.add("mailbox")
    for k in spec:
        if k not in known:
            what = " (a password is read from password_file or the environment)" if k == "password" else ""
            bad(f"{key}.{k}", f"unknown key{what} (known: {', '.join(sorted(known))})")
    host = spec.get("host")
    if not isinstance(host, str) or not host.strip():
        bad(f"{key}.host", "missing")
        return None
    security = spec.get("security", "ssl" if imap else "starttls")
    if security not in SECURITY:
        bad(f"{key}.security", f"{security!r} is not one of {', '.join(SECURITY)}")
        return None
    default_port = {"starttls": 143 if imap else 587, "ssl": 993 if imap else 465, "none": 143 if imap else 25}
    port = spec.get("port", default_port[security])
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        bad(f"{key}.port", "must be a port number (1-65535)")
        return None
    timeout = spec.get("timeout", 30)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= 600:
        bad(f"{key}.timeout", "must be a number of seconds (at most 600)")
        return None
    strings = {}
    for k in ("username", "password_file", "ca_file", "mailbox"):
        v = spec.get(k, "INBOX" if k == "mailbox" else "")
        if not isinstance(v, str) or any(c in v for c in "\r\n\x00"):
            bad(f"{key}.{k}", "must be one line of text")
            return None
        strings[k] = v
    if strings["mailbox"] == "":
        bad(f"{key}.mailbox", "must name a mailbox")
        return None
    return Server(
        host=host.strip(),
        port=port,
        security=security,
        username=strings["username"],
        password_file=strings["password_file"],
        ca_file=strings["ca_file"],
        timeout=float(timeout),
        env="DESKTERM_IMAP_PASSWORD" if imap else "DESKTERM_SMTP_PASSWORD",
        mailbox=strings["mailbox"] if imap else "INBOX",
    )


_KNOWN = (
    "from",
    "reply_to",
    "domain",
    "smtp",
    "imap",
    "maildir",
    "customers",
    "groups",
    "acknowledge",
    "resolution_notice",
    "reopen_within",
    "max_attachment",
    "max_message",
    "attachments_dir",
    "max_attempts",
    "flood",
    "poll",
    "priority",
    "unknown_customer",
    "survey",
    "survey_reminder",
)


def parse_mail(data: dict[str, Any], bad: Bad, parse_duration: Callable[[object], int]) -> MailSettings | None:
    """``[mail]`` of the configuration, or None when there is none (deskterm then sends and takes nothing)."""
    if "mail" not in data:
        return None
    spec = data["mail"]
    if not isinstance(spec, dict):
        bad("mail", "must be a table")
        return None
    for k in spec:
        if k not in _KNOWN:
            bad(f"mail.{k}", f"unknown key (known: {', '.join(sorted(_KNOWN))})")
    # reported when bad; the rest is still checked, so that every problem of the section is listed at once
    sender = _sender({k: spec[k] for k in ("from", "reply_to") if k in spec}, "mail", bad) or Sender("x@invalid")
    domain = spec.get("domain") or parseaddr(sender.from_addr)[1].rpartition("@")[2]
    if not isinstance(domain, str) or not re.fullmatch(r"[A-Za-z0-9.-]+", domain):
        bad("mail.domain", "must be a domain name such as desk.example.com")
        domain = "localhost"
    smtp = _server(spec["smtp"], "mail.smtp", bad, imap=False) if "smtp" in spec else None
    imap = _server(spec["imap"], "mail.imap", bad, imap=True) if "imap" in spec else None
    maildir = spec.get("maildir", "")
    if not isinstance(maildir, str):
        bad("mail.maildir", "must be a directory")
        maildir = ""
    by: dict[str, dict[str, Sender]] = {"customers": {}, "groups": {}}
    for table in by:
        entries = spec.get(table, {})
        if not isinstance(entries, dict):
            bad(f"mail.{table}", "must be a table")
            continue
        for name, s in entries.items():
            parsed = _sender(s, f'mail.{table}."{name}"', bad)
            if parsed is not None:
                by[table][name] = parsed
    texts = {}
    for k in ("acknowledge", "resolution_notice", "attachments_dir"):
        v = spec.get(k, "")
        if not isinstance(v, str):
            bad(f"mail.{k}", "must be text")
            v = ""
        texts[k] = v
    numbers: dict[str, int] = {}
    for k, default, parse in (
        ("reopen_within", 7 * 86400, parse_duration),
        ("max_attachment", 10 * 1000**2, parse_size),
        ("max_message", 30 * 1000**2, parse_size),
        ("poll", 60, parse_duration),
    ):
        try:
            numbers[k] = parse(spec[k]) if k in spec else default
        except ValueError as exc:
            bad(f"mail.{k}", str(exc))
            numbers[k] = default
    priority = spec.get("priority", "P3")
    if priority not in ("P1", "P2", "P3", "P4"):
        bad("mail.priority", f"{priority!r} is not one of P1, P2, P3, P4")
        priority = "P3"
    unknown = spec.get("unknown_customer", "unknown contact")
    if not isinstance(unknown, str) or not unknown.strip():
        bad("mail.unknown_customer", "must be a customer name")
        unknown = "unknown contact"
    asked = spec.get("survey", ["csat"])
    if (
        not isinstance(asked, list)
        or any(m not in ("csat", "nps", "ces") for m in asked)
        or len(set(asked)) != len(asked)
    ):
        bad("mail.survey", 'must list csat, nps and/or ces once each, such as ["csat", "nps", "ces"]')
        asked = ["csat"]
    asked = [m for m in ("csat", "nps", "ces") if m in asked]  # asked (and read back) in this order
    reminder = 0
    if "survey_reminder" in spec:
        try:
            reminder = parse_duration(spec["survey_reminder"])
        except ValueError as exc:
            bad("mail.survey_reminder", str(exc))
    attempts = spec.get("max_attempts", 8)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 100:
        bad("mail.max_attempts", "must be a whole number from 1 to 100")
        attempts = 8
    flood = spec.get("flood", {"messages": 10, "within": "1h"})
    flood_count, flood_window = 10, 3600
    if not isinstance(flood, dict) or set(flood) - {"messages", "within"}:
        bad("mail.flood", 'must be a table such as { messages = 10, within = "1h" }')
    else:
        count = flood.get("messages", 10)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            bad("mail.flood.messages", "must be a whole number, at least 1")
        else:
            flood_count = count
        try:
            flood_window = parse_duration(flood.get("within", "1h"))
        except ValueError as exc:
            bad("mail.flood.within", str(exc))
    return MailSettings(
        sender=sender,
        domain=domain,
        smtp=smtp,
        imap=imap,
        maildir=maildir,
        by_customer=by["customers"],
        by_group=by["groups"],
        acknowledge=texts["acknowledge"],
        resolution_notice=texts["resolution_notice"],
        reopen_within=numbers["reopen_within"],
        max_attachment=numbers["max_attachment"],
        max_message=numbers["max_message"],
        attachments_dir=texts["attachments_dir"],
        max_attempts=attempts,
        flood_count=flood_count,
        flood_window=flood_window,
        poll=numbers["poll"],
        priority=priority,
        unknown_customer=unknown.strip(),
        survey=tuple(asked),
        survey_reminder=reminder,
    )
