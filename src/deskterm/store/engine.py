"""Opening a database: SQLite (the default, one file shared by the agents of a host) or a server URL.

SQLite is opened in WAL mode (readers never block the writer), with foreign keys on, a busy timeout, and
``BEGIN IMMEDIATE`` for write transactions so that a read-modify-write takes the write lock before it
reads (no lock upgrade deadlock). A write that still meets "database is locked" is retried with backoff.
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
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from ..errors import BadInput

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000
_RETRIES = 8


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("deskterm")) / "deskterm.db"


def db_url(db: str | os.PathLike | None) -> str:
    """``--db`` / ``DESKTERM_DB`` / the platformdirs default, as a SQLAlchemy URL."""
    value = str(db) if db is not None else os.environ.get("DESKTERM_DB") or str(default_db_path())
    if "://" in value:
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
        for attempt in range(_RETRIES):
            try:
                with Session(engine, expire_on_commit=False) as session:
                    result = work(session)
                    session.commit()
                    return result
            except OperationalError as exc:
                if attempt == _RETRIES - 1 or not _is_busy(exc):
                    raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")  # pragma: no cover

    def data_version(self) -> int:
        """A cheap number that changes when another connection commits (SQLite's data_version)."""
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql("PRAGMA data_version").scalar() or 0)

    def dispose(self) -> None:
        self.engine.dispose()


def _is_busy(exc: OperationalError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return "locked" in text or "busy" in text or "deadlock" in text or "could not serialize" in text


def open_store(db: str | os.PathLike | None = None, migrate: bool = True) -> Store:
    """Open (and create when missing) the database, bring its schema up to date, return the Store."""
    url = db_url(db)
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url)
    else:
        try:
            engine = create_engine(url, pool_pre_ping=True)
        except Exception as exc:  # a bad URL or a missing driver
            raise BadInput(f"--db: cannot use {url!r}: {exc}") from None
    store = Store(engine)
    if migrate:
        from .migrate import ensure_schema

        ensure_schema(store)
    return store


def _sqlite_engine(url: str) -> Engine:
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if path and path != ":memory:":
        file = Path(path)
        if file.is_dir():
            raise BadInput(f"--db: {file} is a directory, not a database file")
        if not file.parent.exists():
            # data directory of the desk: only its owner (and the shared group, issue 6) may enter it
            file.parent.mkdir(parents=True, mode=0o770, exist_ok=True)
        if not file.exists():
            fd = os.open(file, os.O_CREAT | os.O_WRONLY, 0o660)
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
