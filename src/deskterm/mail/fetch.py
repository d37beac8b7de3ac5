"""``deskterm mail fetch``: messages from a Maildir or an IMAP mailbox into the desk, each exactly once.

A message is parsed, its attachments stored by content, then taken in one transaction keyed by its
Message-ID (``Desk.take_mail``); only then is it marked as read where it came from (moved to ``cur/`` with the
``S`` flag, or ``\\Seen`` on IMAP). A fetcher killed in between leaves it unread: the next fetch finds its
Message-ID taken and only marks it. Two fetchers racing on one message write it once (the unique Message-ID).
A message that cannot be taken is quarantined with the reason and its bytes kept: nothing is lost."""

from __future__ import annotations

import imaplib
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInput
from ..fmt import one_line
from . import files
from .parse import Quarantine, fallback_id, parse
from .settings import Server

if TYPE_CHECKING:
    from ..service import Desk, MailTaken


def take_raw(desk: Desk, raw: bytes, source: str) -> MailTaken:
    mail = desk.config.mail
    if mail is None:
        raise BadInput("mail: no [mail] section in the configuration")
    root = files.files_dir(desk.store.path, mail.attachments_dir)
    try:
        parsed = parse(raw, mail.max_message, mail.max_attachment)
    except Quarantine as q:
        sha = files.put(root, raw, "quarantine")
        return desk.quarantine_mail(fallback_id(raw), q.reason, source, sha)
    stored = [(p.name, p.content_type, len(p.data), files.put(root, p.data)) for p in parsed.attachments]
    try:
        return desk.take_mail(parsed, source, stored)
    except BadInput as exc:  # text the desk cannot store (a lone surrogate)
        sha = files.put(root, raw, "quarantine")
        return desk.quarantine_mail(fallback_id(raw), one_line(str(exc), 200), source, sha)


def _flags(name: str) -> str:
    return name.rpartition(":2,")[2] if ":2," in name else ""


def fetch_maildir(desk: Desk, path: str, limit: int | None = None) -> Counter[str]:
    """Take the unread messages of a Maildir (``new/``, and ``cur/`` without the S flag)."""
    root = Path(path).expanduser()
    if not (root / "new").is_dir() or not (root / "cur").is_dir():
        raise BadInput(f"mail.maildir: {root}: not a Maildir (it needs new/ and cur/)")
    out: Counter[str] = Counter()
    for sub in ("new", "cur"):
        for name in sorted(os.listdir(root / sub)):
            if limit is not None and sum(out.values()) >= limit:
                return out
            if name.startswith(".") or (sub == "cur" and "S" in _flags(name)):
                continue
            full = root / sub / name
            try:
                fd = os.open(full, os.O_RDONLY | files.NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
            except FileNotFoundError:  # another fetcher moved it meanwhile
                continue
            except OSError as exc:
                out["unreadable"] += 1
                print(f"{full}: cannot read: {exc.strerror}", file=__import__("sys").stderr)
                continue
            with os.fdopen(fd, "rb") as fh:
                raw = fh.read()
            taken = take_raw(desk, raw, f"maildir:{name[:200]}")
            out[taken.state] += 1
            base = name.partition(":2,")[0]
            seen = base + ":2," + "".join(sorted(set(_flags(name)) | {"S"}))
            try:
                os.rename(full, root / "cur" / seen)
            except FileNotFoundError:  # another fetcher marked it first
                pass
    return out


def _imap_connect(server: Server) -> imaplib.IMAP4:
    from .smtp import tls_context

    if server.security == "ssl":
        conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            server.host, server.port, ssl_context=tls_context(server), timeout=server.timeout
        )
    else:
        conn = imaplib.IMAP4(server.host, server.port, timeout=server.timeout)
        if server.security == "starttls":
            conn.starttls(ssl_context=tls_context(server))
    return conn


def fetch_imap(desk: Desk, server: Server, limit: int | None = None) -> Counter[str]:
    """Take the unseen messages of the IMAP mailbox; each is flagged \\Seen once taken."""
    out: Counter[str] = Counter()
    password = server.password()
    where = f"mail.imap: {server.host}:{server.port}"
    try:
        conn = _imap_connect(server)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise BadInput(f"{where}: cannot connect: {one_line(str(exc) or type(exc).__name__, 200)}") from None
    try:
        try:
            conn.login(server.username, password)
        except imaplib.IMAP4.error as exc:
            raise BadInput(f"{where}: login refused for {server.username!r}: {one_line(str(exc), 200)}") from None
        typ, _ = conn.select(_quote(server.mailbox))
        if typ != "OK":
            raise BadInput(f"{where}: no mailbox {server.mailbox!r}")
        typ, data = conn.uid("SEARCH", "UNSEEN")
        uids = data[0].split() if typ == "OK" and data and data[0] else []
        for uid in uids:
            if limit is not None and sum(out.values()) >= limit:
                break
            typ, fetched = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in fetched or [] if isinstance(p, tuple) and len(p) > 1), None)
            if typ != "OK" or not isinstance(raw, bytes):
                continue
            taken = take_raw(desk, raw, f"imap:{server.mailbox}:{uid.decode()}")
            out[taken.state] += 1
            conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    except (OSError, imaplib.IMAP4.error) as exc:
        raise BadInput(f"{where}: {one_line(str(exc) or type(exc).__name__, 200)}") from None
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    return out


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
