"""``deskterm mail fetch``: messages from a Maildir or an IMAP mailbox into the desk, each exactly once.

A message is parsed, its attachments stored by content, then taken in one transaction keyed by its
Message-ID (``Desk.take_mail``); only then is it marked as read where it came from (moved to ``cur/`` with the
``S`` flag, or ``\\Seen`` on IMAP). A fetcher killed in between leaves it unread: the next fetch finds its
Message-ID taken and only marks it. Two fetchers racing on one message write it once (the unique Message-ID).
A message that cannot be taken is quarantined with the reason and its bytes kept: nothing is lost."""

from __future__ import annotations

import functools
import imaplib
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadInput
from ..fmt import one_line
from . import files
from .parse import Quarantine, fallback_id, parse
from .settings import Server

if TYPE_CHECKING:
    from ..service import Desk, MailTaken


BATCH = 100  # messages taken in one transaction by a fetch


def prepare(desk: Desk, raw: bytes, source: str) -> tuple[Any, str, list[tuple[str, str, int, str]]] | MailTaken:
    """Parse a message and store its attachments: what ``Desk.take_mails`` takes; or, for a message that cannot
    be taken, its quarantine (recorded at once, the bytes kept)."""
    mail = desk.config.mail
    if mail is None:
        raise BadInput("mail: no [mail] section in the configuration")
    root = files.files_dir(desk.store.path, mail.attachments_dir)
    try:
        parsed = parse(raw, mail.max_message, mail.max_attachment)
        if any(_unencodable(t) for t in (parsed.text, parsed.subject, parsed.sender)):
            raise Quarantine("text that is no valid Unicode (a lone surrogate)")
    except Quarantine as q:
        sha = files.put(root, raw, "quarantine")
        return desk.quarantine_mail(fallback_id(raw), q.reason, source, sha)
    stored = [(p.name, p.content_type, len(p.data), files.put(root, p.data)) for p in parsed.attachments]
    return parsed, source, stored


def take_raw(desk: Desk, raw: bytes, source: str) -> MailTaken:
    """Take one message (``deskterm mail fetch`` takes them by batches: ``take_many``)."""
    prepared = prepare(desk, raw, source)
    if not isinstance(prepared, tuple):
        return prepared
    return desk.take_mails([prepared])[0]


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _Batch:
    """Messages read and parsed, taken together, then each marked read by its ``done`` callback."""

    def __init__(self, desk: Desk, out: Counter[str]) -> None:
        self.desk = desk
        self.out = out
        self.items: list[tuple[Any, str, list[tuple[str, str, int, str]]]] = []
        self.done: list[Callable[[], None]] = []

    def add(self, raw: bytes, source: str, done: Callable[[], None]) -> None:
        prepared = prepare(self.desk, raw, source)
        if isinstance(prepared, tuple):
            self.items.append(prepared)
            self.done.append(done)
            if len(self.items) >= BATCH:
                self.flush()
        else:
            self.out[prepared.state] += 1
            done()

    def flush(self) -> None:
        if not self.items:
            return
        for taken in self.desk.take_mails(self.items):
            self.out[taken.state] += 1
        for mark in self.done:  # only once the transaction is committed
            mark()
        self.items, self.done = [], []


def _flags(name: str) -> str:
    return name.rpartition(":2,")[2] if ":2," in name else ""


def fetch_maildir(desk: Desk, path: str) -> Counter[str]:
    """Take the unread messages of a Maildir (``new/``, and ``cur/`` without the S flag)."""
    root = Path(path).expanduser()
    if not (root / "new").is_dir() or not (root / "cur").is_dir():
        raise BadInput(f"mail.maildir: {root}: not a Maildir (it needs new/ and cur/)")
    out: Counter[str] = Counter()
    batch = _Batch(desk, out)
    for sub in ("new", "cur"):
        for name in sorted(os.listdir(root / sub)):
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
            base = name.partition(":2,")[0]
            seen = root / "cur" / (base + ":2," + "".join(sorted(set(_flags(name)) | {"S"})))

            def mark(full: Path = full, seen: Path = seen) -> None:
                try:
                    os.rename(full, seen)
                except FileNotFoundError:  # another fetcher marked it first
                    pass

            batch.add(raw, f"maildir:{name[:200]}", mark)
    batch.flush()
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


def fetch_imap(desk: Desk, server: Server) -> Counter[str]:
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
        batch = _Batch(desk, out)
        for uid in uids:
            typ, fetched = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in fetched or [] if isinstance(p, tuple) and len(p) > 1), None)
            if typ != "OK" or not isinstance(raw, bytes):
                continue
            batch.add(raw, f"imap:{server.mailbox}:{uid.decode()}", functools.partial(_seen, conn, uid.decode()))
        batch.flush()
    except (OSError, imaplib.IMAP4.error) as exc:
        raise BadInput(f"{where}: {one_line(str(exc) or type(exc).__name__, 200)}") from None
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    return out


def _seen(conn: imaplib.IMAP4, uid: str) -> None:
    conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
