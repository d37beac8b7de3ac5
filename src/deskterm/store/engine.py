"""Opening a database: SQLite (the default, one file shared by the agents of a host) or a server URL.

SQLite is opened in WAL mode (readers never block the writer), with foreign keys on, a busy timeout, and
``BEGIN IMMEDIATE`` for write transactions so that a read-modify-write takes the write lock before it
reads (no lock upgrade deadlock). A write that still meets "database is locked" is retried with backoff.

PostgreSQL (``postgresql+psycopg://user@host/dbname``; ``postgresql://`` and ``postgres://`` mean the same)
runs every transaction at REPEATABLE READ: a write that read a row another transaction changed in the
meantime fails with a serialization failure (SQLSTATE 40001) instead of silently working on stale data,
and is retried from the start, as are deadlocks (40P01) and a unique key taken by a concurrent
transaction (23505: e.g. two agents registering the same new name; the retry sees the committed row).
The schema is brought to the current revision at start-up (``migrate.ensure_schema``).
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from ..errors import BadInput, DeskLost
from ..safefile import NOFOLLOW, set_mode
from . import writes
from .deskfile import (
    BUSY_TIMEOUT_MS,
    WRITE_PRAGMAS,
    busy_window,
    cannot_connect,
    check_desk_files,
    db_url,
    lock_timeout_sql,
    lost_connection,
    on_read_only_mount,
)
from .writes import ESCALATION_CHANNEL, FEED_KEEP, FEED_MOST, NOTIFY_CHANNEL  # noqa: F401 - (where the service and changes.py take them)

T = TypeVar("T")
FILE_MODE = 0o660  # a new database file: owner and group read-write, others nothing (issue 6)
DIR_MODE = 0o770  # a new data directory
_RETRIES = 8
_UNIQUE_RETRIES = 3  # a unique violation that persists is a real error, not a race: give up sooner
_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
_WROTE = "deskterm_wrote"  # connection.info key: this transaction changed a row
_WRITES = {"INSERT", "UPDATE", "DELETE"}
_ESCALATED = "deskterm_escalated"  # connection.info (PostgreSQL): this transaction inserted an escalation
_ESCALATION_INSERT = re.compile(r'\s*INSERT\s+INTO\s+"?escalations"?[\s(]', re.IGNORECASE)
_CHANGED = "deskterm_changed"  # session.info: the tickets this transaction changed (None among them: any)
_TOUCHED = "deskterm_touched"  # connection.info: this transaction wrote to a table the screens show
_SHOWN_TABLES = re.compile(r"\b(tickets|events|escalations|customers)\b", re.IGNORECASE)


def changed(session: Session, ticket_id: int | None) -> None:
    """Note that this write transaction changes ticket ``ticket_id`` (None: any ticket, or too many to name):
    ``Store.write`` appends it to the feed of ticket changes when it commits. A transaction that writes to the
    tickets (or their events, escalations or customers) without naming any is recorded as "any ticket", so
    that no change goes unseen; naming the tickets is what spares every app a whole reload."""
    session.info.setdefault(_CHANGED, set()).add(ticket_id)


class SessionSQL:
    """``writes.SQL`` on a session's connection, in its transaction: SQLAlchemy's ``exec_driver_sql`` (its errors
    wrapped and its events heard, as any statement's: a busy desk is retried, a write noted)."""

    def __init__(self, session: Session) -> None:
        self.conn = session.connection()
        self.postgresql = self.conn.dialect.name != "sqlite"
        self._mark = "%s" if self.postgresql else "?"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.exec_driver_sql(sql.replace("?", self._mark), tuple(params)).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.conn.exec_driver_sql(sql.replace("?", self._mark), [tuple(r) for r in rows])

    def column(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return [row[0] for row in self.conn.exec_driver_sql(sql.replace("?", self._mark), tuple(params))]


@dataclass
class Store:
    engine: Engine
    path: str | None = None  # SQLite: the desk file, and which file it was when opened (st_dev, st_ino)
    identity: tuple[int, int] | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def lost(self) -> str | None:
        """Why the desk this store opened is no longer the file at its path (deleted, or replaced by another
        file: another desk), None while it is. One ``stat``: cheap enough for every second and every write."""
        if self.path is None or self.identity is None:
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return f"{self.path}: the desk file was deleted"
        except OSError as exc:
            return f"{self.path}: the desk file cannot be reached ({exc.strerror})"
        if (st.st_dev, st.st_ino) != self.identity:
            return (
                f"{self.path}: the desk file was replaced by another file (another desk: restart deskterm to open it)"
            )
        return None

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one write transaction, committed at the end, retried when the database is busy.

        ``work`` must be safe to run again (it is, when it reads what it needs inside the transaction).
        """
        problem = self.lost()
        if problem is not None:  # SQLite would write to the unlinked file, and the change would be lost
            raise DeskLost(f"{problem}: nothing was written")
        engine = self.engine.execution_options(deskterm_begin="BEGIN IMMEDIATE") if self.is_sqlite else self.engine
        delay = 0.01
        unique_retries = 0
        deadline = time.monotonic() + busy_window()  # the retry window: then "the desk is busy" (explain_failure)
        for attempt in range(_RETRIES):
            try:
                with Session(engine, expire_on_commit=False) as session:
                    result = work(session)
                    payload = self._record_changes(session)
                    if not self.is_sqlite:
                        self._notify_if_changed(session, payload)
                    session.commit()
                    return result
            except IntegrityError as exc:
                # SQLite holds the write lock for the whole transaction: a unique violation there is never a race
                if (
                    self.is_sqlite
                    or _sqlstate(exc) != "23505"
                    or unique_retries >= _UNIQUE_RETRIES
                    or attempt == _RETRIES - 1
                ):
                    raise
                unique_retries += 1
            except DBAPIError as exc:
                if attempt == _RETRIES - 1 or not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")  # pragma: no cover

    def _record_changes(self, session: Session) -> str | None:
        """Append the tickets this transaction changed to the feed (``changed``); returns what PostgreSQL's
        notification carries: their ids, comma-separated, or ``*`` for any ticket; None when no ticket changed."""
        marked = session.info.pop(_CHANGED, None)
        if not marked and not session.in_transaction():
            return None
        conn = session.connection()
        touched = conn.info.pop(_TOUCHED, False)
        if not marked and not touched:
            return None
        ids = sorted(i for i in marked if i is not None) if marked and None not in marked else None
        return writes.record_feed(SessionSQL(session), ids)

    def _notify_if_changed(self, session: Session, payload: str | None = None) -> None:
        """PostgreSQL: tell every listener (store/changes.py) that this transaction changed something, and which
        tickets (``payload``: their ids, ``*`` for any; empty when no ticket changed, only something else).

        Sent inside the transaction, so it is delivered at commit and never for a rollback; only when a
        row was written, so the escalation rules' periodic pass that finds nothing sends nothing (else
        each running app would make every other reload every 30 s)."""
        conn = session.connection()
        escalated = conn.info.pop(_ESCALATED, False)
        if conn.info.pop(_WROTE, False) or payload is not None:
            writes.notify(SessionSQL(session), payload or "", escalated)

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlstate(exc: BaseException) -> str:
    """The SQLSTATE of a server error (psycopg: ``.sqlstate``; psycopg2: ``.pgcode``), else ""."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or ""


def _is_busy(exc: DBAPIError) -> bool:
    """A transient failure worth running the transaction again: SQLite busy/locked, PostgreSQL
    serialization failure or deadlock (psycopg raises these as ``SerializationFailure`` and
    ``DeadlockDetected``, which SQLAlchemy wraps in OperationalError)."""
    if _sqlstate(exc) in _RETRY_SQLSTATES:
        return True
    if not isinstance(exc, OperationalError):
        return False
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return "locked" in text or "busy" in text or "deadlock" in text or "could not serialize" in text


def open_store(db: str | os.PathLike | None = None, migrate: bool = True) -> Store:
    """Open (and create when missing) the database, bring its schema up to date, return the Store."""
    url = db_url(db)
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url)
    else:
        try:
            engine = _server_engine(url)
        except Exception as exc:  # noqa: BLE001 - a bad URL or a missing driver: any of several errors
            raise BadInput(f"--db: cannot use {_safe(url)!r}: {exc}") from None
    store = Store(engine)
    if not store.is_sqlite:
        _check_connection(store)
    if migrate:
        from .migrate import ensure_schema

        ensure_schema(store)
    if store.is_sqlite and ":///" in url:
        path = url.split(":///", 1)[1].split("?", 1)[0]
        try:
            st = os.stat(path)
        except OSError:
            pass  # not created yet (no migration asked): nothing to watch
        else:
            store.path, store.identity = path, (st.st_dev, st.st_ino)
    return store


def desk_exists(db: str | os.PathLike | None = None) -> bool:
    """Whether the desk is there already (a SQLite file; a PostgreSQL database holding deskterm's schema),
    found without creating anything."""
    url = db_url(db)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1].split("?", 1)[0] if ":///" in url else ""
        return path in ("", ":memory:") or os.path.exists(path)
    store = open_store(db, migrate=False)
    try:
        from .migrate import current_revision

        with store.engine.connect() as conn:
            return current_revision(conn) is not None
    finally:
        store.dispose()


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - unparsable: say nothing of it
        return "<unparsable URL>"


def _server_engine(url: str) -> Engine:
    if url.startswith("postgresql"):
        # REPEATABLE READ: one snapshot per transaction, and a concurrent change to a row we update is
        # a serialization failure (retried by Store.write), never a lost update
        engine = create_engine(
            url, pool_pre_ping=True, isolation_level="REPEATABLE READ", connect_args={"application_name": "deskterm"}
        )

        @event.listens_for(engine, "after_cursor_execute")
        def _note_write(conn, cursor, statement, parameters, context, executemany):
            # what Store.write needs to know to send NOTIFY: did this transaction change a row?
            if statement[:6].upper() in _WRITES and cursor.rowcount != 0:
                conn.info[_WROTE] = True
                if _ESCALATION_INSERT.match(statement):  # (every path of the store: the ORM's, Core's, SessionSQL's)
                    conn.info[_ESCALATED] = True

        lock_s = busy_window()

        @event.listens_for(engine, "connect")
        def _lock_timeout(dbapi_conn, _record):
            # a lock held by a stuck session (a psql left in BEGIN) is "the desk is busy" after the retry window,
            # not a command, a cron job or a screen that waits for ever
            autocommit = dbapi_conn.autocommit
            dbapi_conn.autocommit = True
            try:
                dbapi_conn.execute(lock_timeout_sql(lock_s))
            finally:
                dbapi_conn.autocommit = autocommit

        @event.listens_for(engine, "rollback")
        def _forget_write(conn):
            try:
                conn.info.pop(_WROTE, None)
                conn.info.pop(_ESCALATED, None)
            except SQLAlchemyError:  # the connection was lost (a server restart): nothing to forget, let its error show
                pass

        _note_shown_writes(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _check_connection(store: Store) -> None:
    """A server that cannot be reached is one line on stderr (exit 2), not a traceback."""
    try:
        with store.engine.connect():
            pass
    except DBAPIError as exc:
        where = store.engine.url.render_as_string(hide_password=True)
        raise cannot_connect(where, exc.orig if exc.orig is not None else exc) from None


def _create_desk_dir(directory: Path) -> None:
    # data directory of the desk: only its owner (and the shared group, issue 6) may enter it.
    # mkdir's mode is masked by the umask (022 makes it 0o750): set it explicitly.
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:  # another agent made it just now
            pass
        else:
            set_mode(directory, DIR_MODE)  # not by name: a link put in its place meanwhile is not followed
    except OSError as exc:
        raise BadInput(f"--db: {directory}: cannot create the desk's directory: {exc.strerror or exc}") from None


def _create_desk_file(file: Path) -> None:
    try:
        # the agents of the host share the file through its group: read-write for owner and group,
        # nothing for others, whatever the umask (os.open's mode is masked by it). SQLite gives the
        # -wal and -shm files the mode of the database file.
        try:
            fd = os.open(file, os.O_CREAT | os.O_EXCL | os.O_WRONLY | NOFOLLOW, FILE_MODE)
        except FileExistsError:  # another agent created it just now: leave its mode alone
            pass
        else:
            try:
                os.fchmod(fd, FILE_MODE)
            finally:
                os.close(fd)
    except OSError as exc:
        raise BadInput(f"--db: {file}: cannot create the desk: {exc.strerror or exc}") from None


def _sqlite_engine(url: str) -> Engine:
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if path and path != ":memory:":
        file = Path(path)
        if file.is_dir():
            raise BadInput(f"--db: {file} is a directory, not a database file")
        check_desk_files(file)
        if not file.parent.exists():
            _create_desk_dir(file.parent)
        if not file.exists():
            _create_desk_file(file)
        if file.exists() and not Path(f"{file}-wal").exists() and on_read_only_mount(file):
            # a desk on a read-only file system (a snapshot, a backup mount) that was closed cleanly: SQLite could
            # not create the -shm file it needs to read in WAL mode; nobody can change it there, so it is read as
            # immutable. Any write is refused as for any read-only desk.
            from urllib.parse import quote

            url = f"sqlite:///file:{quote(str(file.absolute()))}?immutable=1&uri=true"
    window = min(busy_window(), BUSY_TIMEOUT_MS / 1000)  # one wait; Store.write tries again until the window ends
    if path and path != ":memory:" and "immutable=1" not in url and Path(path).exists():
        # never created again by a connection: a desk file deleted under a running app would otherwise come back
        # empty at its next connection, and every agent who starts deskterm would find an empty desk there
        import sqlite3
        from urllib.parse import quote

        mode = "rw" if os.access(path, os.W_OK) else "ro"
        target = f"file:{quote(str(Path(path).absolute()))}?mode={mode}"

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(target, uri=True, timeout=window, check_same_thread=False)

        engine = create_engine(url, creator=connect)
    else:
        engine = create_engine(url, connect_args={"timeout": window, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # BEGIN is emitted by _on_begin, as we want it
        cur = dbapi_conn.cursor()
        if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            # a new desk (no table yet) or a desk: WAL. Not the database of another program given by mistake,
            # which migrate.ensure_schema refuses: switching its journal mode would already rewrite its header
            tables = {r[0] for r in cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables or "alembic_version" in tables:
                cur.execute("PRAGMA journal_mode=WAL")
        for pragma in WRITE_PRAGMAS:
            cur.execute(f"PRAGMA {pragma}")
        cur.execute(f"PRAGMA busy_timeout={int(window * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql(conn.get_execution_options().get("deskterm_begin", "BEGIN"))

    _note_shown_writes(engine)
    return engine


def _note_shown_writes(engine: Engine) -> None:
    """Note on the connection when a statement writes to a table the screens show (``_TOUCHED``): a write
    transaction that names no ticket it changed (``changed``) is then recorded as having changed any."""

    @event.listens_for(engine, "after_cursor_execute")
    def _note(conn, cursor, statement, parameters, context, executemany):
        if statement[:6].upper() in _WRITES and cursor.rowcount != 0 and _SHOWN_TABLES.search(statement, 0, 200):
            conn.info[_TOUCHED] = True

    @event.listens_for(engine, "commit")
    def _forget_on_commit(conn):
        try:
            conn.info.pop(_TOUCHED, None)
        except SQLAlchemyError:  # the connection was lost: nothing to forget
            pass

    @event.listens_for(engine, "rollback")
    def _forget_on_rollback(conn):
        try:
            conn.info.pop(_TOUCHED, None)
        except SQLAlchemyError:
            pass


# -- what a failure of the database means to the person who typed the command ------------------------------
# Every entry point turns these into one line (cli.py: DeskGroup.invoke). SQLite names the failure by its
# result code (Python 3.11: ``sqlite_errorcode``); the text is the fallback for SQLAlchemy-wrapped errors.

_SQLITE_MAGIC = b"SQLite format 3\x00"
_CODE_BUSY, _CODE_LOCKED, _CODE_READONLY, _CODE_IOERR, _CODE_CORRUPT = 5, 6, 8, 10, 11
_CODE_FULL, _CODE_CANTOPEN, _CODE_NOTADB = 13, 14, 26
_LOST_CONNECTION = (
    "server closed the connection",
    "terminating connection",
    "connection refused",
    "the connection is closed",
    "consuming input failed",
    "connection to server",
    "could not receive data",
    "could not send data",
    "connection is lost",
    "ssl syscall",
    "connection already closed",
    "no connection to the server",
)


class Busy(BadInput):
    """The desk stayed locked by another writer for the whole retry window."""


def _sqlite_code(exc: BaseException) -> int | None:
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF
    text = str(orig).lower()
    for needle, code in (
        ("database is locked", _CODE_BUSY),
        ("readonly database", _CODE_READONLY),
        ("read-only", _CODE_READONLY),
        ("disk i/o error", _CODE_IOERR),
        ("malformed", _CODE_CORRUPT),
        ("disk is full", _CODE_FULL),
        ("unable to open database", _CODE_CANTOPEN),
        ("file is not a database", _CODE_NOTADB),
    ):
        if needle in text:
            return code
    return None


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return lines[0] if lines else type(orig).__name__


def _is_sqlite_file(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == _SQLITE_MAGIC
    except OSError:
        return False


def lock_holder(path: str) -> str | None:
    """Which process holds the write lock of a SQLite desk in WAL mode, as ``process 1234 (sqlite3)``: the POSIX
    lock on byte 120 of its ``-shm`` file, as /proc/locks lists it (Linux); None when it cannot be told."""
    try:
        st = os.stat(path + "-shm")
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        # "1: POSIX  ADVISORY  WRITE 12345 08:01:123456 120 120"
        if len(parts) < 8 or parts[1] != "POSIX" or parts[3] != "WRITE":
            continue
        try:
            pid, inode, start = int(parts[4]), int(parts[5].rsplit(":", 1)[1]), int(parts[6])
        except (ValueError, IndexError):
            continue
        if inode == st.st_ino and start <= 120 and (parts[7] == "EOF" or int(parts[7]) >= 120) and pid != os.getpid():
            try:
                with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as fh:
                    name = fh.read().strip()
            except OSError:
                name = ""
            return f"process {pid}{f' ({name})' if name else ''} holds its write lock"
    return None


def _disk_full(path: str) -> bool:
    try:
        st = os.statvfs(os.path.dirname(path) or ".")
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024 or (st.f_files > 0 and st.f_favail == 0)


def is_read_only(exc: BaseException) -> bool:
    """A write refused because the desk (its file, directory or file system) is read-only."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, (DBAPIError, sqlite3.Error)) and _sqlite_code(exc) == _CODE_READONLY


def is_damaged(exc: BaseException) -> bool:
    """A failure that says the database file itself is bad (damaged, or not a database)."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, (DBAPIError, sqlite3.Error)) and _sqlite_code(exc) in (_CODE_CORRUPT, _CODE_NOTADB)


def explain_failure(exc: BaseException, db: str | os.PathLike | None, option: str = "--db") -> BadInput | None:
    """One line for a database failure that is not a bug of deskterm: a file that is no desk, a damaged,
    read-only or locked desk, a full disk, a lost server; None for anything else (a bug: let it show).
    ``option`` names where the database was given (``--db``; ``db copy``: ``--from``, ``--to``)."""
    failure = _explain(exc, db)
    if failure is not None and option != "--db":
        failure = type(failure)(
            [option + line[len("--db") :] if line.startswith("--db:") else line for line in failure.problems]
        )
    return failure


def _explain(exc: BaseException, db: str | os.PathLike | None) -> BadInput | None:
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, Busy):
        return exc
    import sqlite3

    if not isinstance(exc, (DBAPIError, sqlite3.Error)):
        return None
    url = db_url(db)
    if not url.startswith("sqlite"):
        text = _first_line(exc)
        if _sqlstate(exc) == "55P03":  # lock_not_available: waited the whole window (lock_timeout)
            return Busy(
                f"--db: {_safe(url)}: the desk is busy: another session holds a lock on what this command"
                " changes; try again"
            )
        if _sqlstate(exc) in _RETRY_SQLSTATES:  # retried for the whole window, still in conflict
            return Busy(f"--db: {_safe(url)}: the desk is busy: other agents keep changing the same rows; try again")
        if any(needle in text.lower() for needle in _LOST_CONNECTION) or _sqlstate(exc) in ("57P01", "57P02", "57P03"):
            return lost_connection(_safe(url), text)
        return None
    path = url.split(":///", 1)[1] if ":///" in url else url
    code = _sqlite_code(exc)
    detail = _first_line(exc)
    if code == _CODE_NOTADB:
        if _is_sqlite_file(path):
            return BadInput(f"--db: {path}: the desk file is damaged: {detail}; restore a backup")
        return BadInput(f"--db: {path}: not a deskterm desk (the file is not a SQLite database)")
    if code == _CODE_CORRUPT:
        return BadInput(f"--db: {path}: the desk file is damaged: {detail}; restore a backup")
    if code in (_CODE_BUSY, _CODE_LOCKED):
        who = lock_holder(path) or "another program holds its write lock"
        return Busy(f"--db: {path}: the desk is busy: {who}; try again")
    if code == _CODE_READONLY:
        return BadInput(
            f"--db: {path}: the desk is read-only here ({detail}): this command changes it, nothing was written"
        )
    if code == _CODE_FULL:
        return BadInput(f"--db: {path}: the disk is full: nothing was written; free some space and try again")
    if code == _CODE_CANTOPEN:
        directory = os.path.dirname(path) or "."
        why = (
            "its directory is not writable (the desk needs its -wal and -shm files beside it)"
            if not os.access(directory, os.W_OK)
            else detail
        )
        return BadInput(f"--db: {path}: cannot open the desk: {why}")
    if code == _CODE_IOERR and _disk_full(path):  # SQLite says "I/O error" when the -shm file cannot grow
        return BadInput(f"--db: {path}: the disk is full: nothing was written; free some space and try again")
    if code == _CODE_IOERR:
        return BadInput(f"--db: {path}: cannot read or write the desk file ({detail}): nothing was written")
    return None
