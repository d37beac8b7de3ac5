"""``deskterm mail fetch``: messages from a Maildir or an IMAP mailbox into the desk, each exactly once.

A message is parsed, its attachments stored by content, then taken in one transaction keyed by its
Message-ID (``Desk.take_mail``); only then is it marked as read where it came from (moved to ``cur/`` with the
``S`` flag, or ``\\Seen`` on IMAP). A fetcher killed in between leaves it unread: the next fetch finds its
Message-ID taken and only marks it. Two fetchers racing on one message write it once (the unique Message-ID).
A message that cannot be taken is quarantined with the reason and its bytes kept: nothing is lost."""

from __future__ import annotations

import functools
import imaplib
import io
import os
import re
import select
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy.exc

from ..errors import BadInput, DeskError
from ..fmt import one_line
from . import files
from .parse import Quarantine, fallback_id, parse
from .settings import Server

if TYPE_CHECKING:
    from ..service import Desk, MailTaken


BATCH = 100  # messages taken in one transaction by a fetch
# what a message can make the desk refuse (the rest, a database away or busy, ends the fetch)
_REFUSALS = (DeskError, sqlalchemy.exc.DataError, sqlalchemy.exc.IntegrityError)


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
    """Messages read and parsed, taken together in one transaction, then each marked read by its ``done``
    callback. A batch the desk refuses as a whole (one message the database cannot hold) is taken again one
    message at a time, and a message refused alone is quarantined with the reason: one bad message neither
    blocks the mailbox nor costs its neighbours. A database away or busy is no message's fault: it ends the
    fetch, and nothing is marked read."""

    def __init__(self, desk: Desk, out: Counter[str], marked: Callable[[], None] = lambda: None) -> None:
        self.desk = desk
        self.out = out
        self.marked = marked  # after the marks of a flush (IMAP: flags them all in one command)
        self.items: list[tuple[Any, str, list[tuple[str, str, int, str]]]] = []
        self.raws: list[bytes] = []
        self.done: list[Callable[[], None]] = []

    def add(self, raw: bytes, source: str, done: Callable[[], None]) -> None:
        prepared = prepare(self.desk, raw, source)
        if isinstance(prepared, tuple):
            self.items.append(prepared)
            self.raws.append(raw)
            self.done.append(done)
            if len(self.items) >= BATCH:
                self.flush()
        else:
            self.out[prepared.state] += 1
            done()

    def flush(self) -> None:
        if not self.items:
            self.marked()  # the quarantined ones, marked as they came
            return
        try:
            taken = self.desk.take_mails(self.items)
        except _REFUSALS:
            if len(self.items) == 1:
                raise
            taken = [self._alone(item, raw) for item, raw in zip(self.items, self.raws, strict=True)]
        for t in taken:
            self.out[t.state] += 1
        for mark in self.done:  # only once the transactions are committed
            mark()
        self.marked()
        self.items, self.raws, self.done = [], [], []

    def _alone(self, item: tuple[Any, str, list[tuple[str, str, int, str]]], raw: bytes) -> MailTaken:
        try:
            return self.desk.take_mails([item])[0]
        except _REFUSALS as exc:
            why = one_line(str(getattr(exc, "orig", None) or exc) or type(exc).__name__, 200)
            mail = self.desk.config.mail
            assert mail is not None
            sha = files.put(files.files_dir(self.desk.store.path, mail.attachments_dir), raw, "quarantine")
            return self.desk.quarantine_mail(item[0].message_id, f"the desk could not take it: {why}", item[1], sha)


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
    session = ImapSession(server)
    try:
        return session.fetch(desk)
    finally:
        session.close()


IDLE_MAX = 25 * 60  # RFC 2177: a client re-issues IDLE at least every 29 minutes (servers drop idle ones at 30)


class ImapSession:
    """A connection to the mailbox of ``[mail.imap]``, logged in and the mailbox selected, kept between the
    rounds of ``mail fetch --watch``, which waits for new mail with IDLE (RFC 2177) when the server offers it.
    A connection that fails is closed, said as one ``BadInput`` line, and opened again by the next fetch."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.where = f"mail.imap: {server.host}:{server.port}"
        self.conn: imaplib.IMAP4 | None = None
        self.can_idle = False
        self.idling = threading.Event()  # set while an IDLE command is in progress (tests wait for it)

    def _open(self) -> imaplib.IMAP4:
        if self.conn is not None:
            return self.conn
        password = self.server.password()
        try:
            conn = _imap_connect(self.server)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise BadInput(f"{self.where}: cannot connect: {one_line(str(exc) or type(exc).__name__, 200)}") from None
        try:
            try:
                conn.login(self.server.username, password)
            except imaplib.IMAP4.error as exc:
                who = self.server.username
                raise BadInput(f"{self.where}: login refused for {who!r}: {one_line(str(exc), 200)}") from None
            typ, _ = conn.select(_quote(self.server.mailbox))
            if typ != "OK":
                raise BadInput(f"{self.where}: no mailbox {self.server.mailbox!r}")
            typ, data = conn.capability()  # those after login (a server may offer more once logged in)
            said = data[0] if typ == "OK" and data and isinstance(data[0], bytes) else b""
            self.can_idle = b"IDLE" in said.upper().split() or "IDLE" in conn.capabilities
        except BaseException:
            _logout(conn)
            raise
        self.conn = conn
        return conn

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            _logout(conn)

    def _failed(self, exc: BaseException) -> BadInput:
        self.close()
        return BadInput(f"{self.where}: {one_line(str(exc) or type(exc).__name__, 200)}")

    def fetch(self, desk: Desk) -> Counter[str]:
        """Take the unseen messages; each is flagged \\Seen once the transaction that took it is committed."""
        fresh = self.conn is None
        conn = self._open()
        out: Counter[str] = Counter()
        try:
            if not fresh:  # a kept connection: NOOP makes the server announce what came since (SEARCH sees it)
                conn.noop()
            typ, data = conn.uid("SEARCH", "UNSEEN")
            uids = [u.decode() for u in data[0].split()] if typ == "OK" and data and data[0] else []
            seen: list[str] = []  # taken and committed: flagged \Seen together, one command per batch
            batch = _Batch(desk, out, lambda: _seen(conn, seen))
            for i in range(0, len(uids), BATCH):  # one FETCH per batch, not one round trip per message
                for uid, raw in _fetch_bodies(conn, uids[i : i + BATCH]):
                    batch.add(raw, f"imap:{self.server.mailbox}:{uid}", functools.partial(seen.append, uid))
            batch.flush()
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self._failed(exc) from None
        return out

    def wait(self, seconds: float, stopped: Callable[[], bool]) -> bool:
        """Wait up to ``seconds`` (at most ``IDLE_MAX``) for new mail, or until ``stopped()``: with IDLE when the
        server offers it (True as soon as it announces a new message), else by sleeping (a poll; False)."""
        conn = self.conn
        if conn is None or not self.can_idle:
            _sleep(seconds, stopped)
            return False
        try:
            return _idle(conn, min(seconds, IDLE_MAX), stopped, self.idling)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self._failed(exc) from None
        finally:
            self.idling.clear()


def _sleep(seconds: float, stopped: Callable[[], bool]) -> None:
    end = time.monotonic() + seconds
    while not stopped() and time.monotonic() < end:
        time.sleep(min(0.2, max(0.0, end - time.monotonic())))


def _idle(conn: imaplib.IMAP4, seconds: float, stopped: Callable[[], bool], idling: threading.Event) -> bool:
    """One IDLE command (RFC 2177): sent, then the server's untagged responses read until one announces a new
    message (``* N EXISTS``), ``seconds`` pass or ``stopped()``; then ``DONE`` and the tagged completion."""
    tag = conn._new_tag()  # imaplib has no IDLE before Python 3.14
    conn.send(tag + b" IDLE\r\n")
    while True:  # the continuation "+ idling" (untagged updates may come before it)
        line = _line(conn)
        if line.startswith(b"+"):
            break
        if line.startswith(tag + b" "):
            raise imaplib.IMAP4.error(f"IDLE refused: {line.decode('ascii', 'replace')}")
    idling.set()
    news = False
    end = time.monotonic() + seconds
    while not news and not stopped() and time.monotonic() < end:
        if _ready(conn, min(0.2, max(0.0, end - time.monotonic()))):
            news = _announces_mail(_line(conn))
    conn.send(b"DONE\r\n")
    while True:
        line = _line(conn)
        if line.startswith(tag + b" "):
            if not line[len(tag) + 1 :].upper().startswith(b"OK"):
                raise imaplib.IMAP4.error(f"IDLE ended badly: {line.decode('ascii', 'replace')}")
            return news
        news = news or _announces_mail(line)


def _line(conn: imaplib.IMAP4) -> bytes:
    line = conn.readline()
    if not line:
        raise imaplib.IMAP4.abort("the server closed the connection")
    return line.rstrip(b"\r\n")


def _announces_mail(line: bytes) -> bool:
    parts = line.split()
    return len(parts) == 3 and parts[0] == b"*" and parts[2].upper() in (b"EXISTS", b"RECENT") and parts[1] != b"0"


def _ready(conn: imaplib.IMAP4, timeout: float) -> bool:
    """Whether a response can be read without waiting more than ``timeout``: bytes already buffered (by the
    connection's reader or by TLS), else the socket readable within ``timeout``."""
    sock = conn.sock
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    if _buffered(conn):
        return True
    readable, _, _ = select.select([sock], [], [], timeout)
    return bool(readable) and _buffered(conn)


def _buffered(conn: imaplib.IMAP4) -> bool:
    """Whether the connection's reader holds a byte (read now without blocking: the socket is made
    non-blocking for one peek, so an empty buffer with nothing on the wire answers False at once)."""
    sock = conn.sock
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        reader = cast(io.BufferedReader, conn.file)
        return bool(reader.peek(1))
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    finally:
        sock.settimeout(timeout)


def _logout(conn: imaplib.IMAP4) -> None:
    try:
        conn.logout()
    except (OSError, imaplib.IMAP4.error):
        pass


def _seen(conn: imaplib.IMAP4, uids: list[str]) -> None:
    """Flag these messages \\Seen (one command), and forget them."""
    if uids:
        conn.uid("STORE", ",".join(uids), "+FLAGS", "(\\Seen)")
        uids.clear()


_FETCHED_UID = re.compile(rb"\bUID (\d+)")


def _fetch_bodies(conn: imaplib.IMAP4, uids: list[str]) -> list[tuple[str, bytes]]:
    """The whole messages of these UIDs (one UID FETCH), in the order asked; one the server no longer has
    (expunged meanwhile) is left out."""
    typ, fetched = conn.uid("FETCH", ",".join(uids), "(UID BODY.PEEK[])")
    if typ != "OK":
        return []
    bodies: dict[str, bytes] = {}
    waiting: bytes | None = None  # a body whose UID the server gives after it: "BODY[] {n} ... UID 5)"
    for part in fetched or []:
        if isinstance(part, tuple) and len(part) > 1 and isinstance(part[1], bytes):
            found = _FETCHED_UID.search(part[0])
            waiting = None if found is not None else part[1]
            if found is not None:
                bodies[found.group(1).decode()] = part[1]
        elif isinstance(part, bytes) and waiting is not None:
            found = _FETCHED_UID.search(part)
            if found is not None:
                bodies[found.group(1).decode()] = waiting
            waiting = None
    return [(u, bodies[u]) for u in uids if u in bodies]


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
