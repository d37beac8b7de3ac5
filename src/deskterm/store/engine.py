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
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session

from ..errors import BadInput

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000
FILE_MODE = 0o660  # a new database file: owner and group read-write, others nothing (issue 6)
DIR_MODE = 0o770  # a new data directory
_RETRIES = 8
_UNIQUE_RETRIES = 3  # a unique violation that persists is a real error, not a race: give up sooner
_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
NOTIFY_CHANNEL = "deskterm"  # PostgreSQL: what a write transaction notifies and every running app listens to
_WROTE = "deskterm_wrote"  # connection.info key: this transaction changed a row
_WRITES = {"INSERT", "UPDATE", "DELETE"}


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("deskterm")) / "deskterm.db"


def db_url(db: str | os.PathLike | None) -> str:
    """``--db`` / ``DESKTERM_DB`` / the platformdirs default, as a SQLAlchemy URL."""
    value = str(db) if db is not None else os.environ.get("DESKTERM_DB") or str(default_db_path())
    if "://" in value:
        for prefix in ("postgres://", "postgresql://"):  # the bare scheme: the driver deskterm ships with
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix):]
        return value
    return f"sqlite:///{Path(value).expanduser().absolute()}"


@dataclass
class Store:
    engine: Engine

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one write transaction, committed at the end, retried when the database is busy.

        ``work`` must be safe to run again (it is, when it reads what it needs inside the transaction).
        """
        engine = self.engine.execution_options(deskterm_begin="BEGIN IMMEDIATE") if self.is_sqlite else self.engine
        delay = 0.01
        unique_retries = 0
        for attempt in range(_RETRIES):
            try:
                with Session(engine, expire_on_commit=False) as session:
                    result = work(session)
                    if not self.is_sqlite:
                        self._notify_if_changed(session)
                    session.commit()
                    return result
            except IntegrityError as exc:
                # SQLite holds the write lock for the whole transaction: a unique violation there is never a race
                if self.is_sqlite or _sqlstate(exc) != "23505" or unique_retries >= _UNIQUE_RETRIES or attempt == _RETRIES - 1:
                    raise
                unique_retries += 1
            except DBAPIError as exc:
                if attempt == _RETRIES - 1 or not _is_busy(exc):
                    raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")  # pragma: no cover

    def _notify_if_changed(self, session: Session) -> None:
        """PostgreSQL: tell every listener (store/changes.py) that this transaction changed something.

        Sent inside the transaction, so it is delivered at commit and never for a rollback; only when a
        row was written, so the escalation rules' periodic pass that finds nothing sends nothing (else
        each running app would make every other reload every 30 s)."""
        conn = session.connection()
        if conn.info.pop(_WROTE, False):
            conn.exec_driver_sql(f"NOTIFY {NOTIFY_CHANNEL}")

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlstate(exc: DBAPIError) -> str | None:
    """The SQLSTATE of a server error (psycopg: ``.sqlstate``; psycopg2: ``.pgcode``), else None."""
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


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
        except Exception as exc:  # a bad URL or a missing driver
            raise BadInput(f"--db: cannot use {_safe(url)!r}: {exc}") from None
    store = Store(engine)
    if not store.is_sqlite:
        _check_connection(store)
    if migrate:
        from .migrate import ensure_schema

        ensure_schema(store)
    return store


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
        engine = create_engine(url, pool_pre_ping=True, isolation_level="REPEATABLE READ",
                               connect_args={"application_name": "deskterm"})

        @event.listens_for(engine, "after_cursor_execute")
        def _note_write(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            # what Store.write needs to know to send NOTIFY: did this transaction change a row?
            if statement[:6].upper() in _WRITES and cursor.rowcount != 0:
                conn.info[_WROTE] = True

        @event.listens_for(engine, "rollback")
        def _forget_write(conn):  # noqa: ANN001
            conn.info.pop(_WROTE, None)

        return engine
    return create_engine(url, pool_pre_ping=True)


def _check_connection(store: Store) -> None:
    """A server that cannot be reached is one line on stderr (exit 2), not a traceback."""
    try:
        with store.engine.connect():
            pass
    except DBAPIError as exc:
        lines = [line.strip() for line in str(exc.orig if exc.orig is not None else exc).strip().splitlines() if line.strip()]
        reason = lines[0] if lines else type(exc).__name__
        where = store.engine.url.render_as_string(hide_password=True)
        raise BadInput(f"--db: cannot connect to {where}: {reason}") from None


def _sqlite_engine(url: str) -> Engine:
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if path and path != ":memory:":
        file = Path(path)
        if file.is_dir():
            raise BadInput(f"--db: {file} is a directory, not a database file")
        if not file.parent.exists():
            # data directory of the desk: only its owner (and the shared group, issue 6) may enter it.
            # mkdir's mode is masked by the umask (022 makes it 0o750): set it explicitly.
            file.parent.parent.mkdir(parents=True, exist_ok=True)
            try:
                file.parent.mkdir(mode=DIR_MODE)
            except FileExistsError:  # another agent made it just now
                pass
            else:
                os.chmod(file.parent, DIR_MODE)
        if not file.exists():
            # the agents of the host share the file through its group: read-write for owner and group,
            # nothing for others, whatever the umask (os.open's mode is masked by it). SQLite gives the
            # -wal and -shm files the mode of the database file.
            try:
                fd = os.open(file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
            except FileExistsError:  # another agent created it just now: leave its mode alone
                pass
            else:
                try:
                    os.fchmod(fd, FILE_MODE)
                finally:
                    os.close(fd)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # BEGIN is emitted by _on_begin, as we want it
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")  # safe in WAL mode: a crash loses no committed data
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        conn.exec_driver_sql(conn.get_execution_options().get("deskterm_begin", "BEGIN"))

    return engine
