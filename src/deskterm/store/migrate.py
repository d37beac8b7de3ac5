"""Schema migrations at start-up.

The current revision is read with one cheap query; Alembic (slow to import) is loaded only when the
schema must be created or upgraded. Before an upgrade of a SQLite file that holds data, a copy is kept
beside it (``deskterm.db.bak-<old revision>``). The migration runs under the write lock (SQLite) or a
transaction-scoped advisory lock (PostgreSQL, whose DDL is transactional), so two agents starting at
once do not both upgrade: the second waits, then finds the schema current.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import inspect, text

from .engine import Store

HEAD = "0005"  # keep in step with the newest file in migrations/versions (a test checks it)
MIGRATIONS = Path(__file__).with_name("migrations")
_PG_MIGRATION_LOCK = 0x6465736B  # "desk": the advisory lock key held while migrating a PostgreSQL database


def current_revision(conn) -> str | None:  # noqa: ANN001
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(store: Store) -> None:
    with store.engine.connect() as conn:
        if current_revision(conn) == HEAD:
            return
    with _migration_engine(store).connect() as conn:
        with _foreign_keys_off(conn, store.is_sqlite):
            with conn.begin():
                _lock(conn)
                rev = current_revision(conn)
                if rev == HEAD:
                    return
                if rev is not None and store.is_sqlite:
                    _backup(store, rev)
                _upgrade(conn, HEAD)
                if store.is_sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")


def _migration_engine(store: Store):  # noqa: ANN202
    if store.is_sqlite:
        return store.engine.execution_options(deskterm_begin="BEGIN IMMEDIATE")
    # READ COMMITTED: the revision is read after the lock is granted, with a snapshot that sees what the
    # agent that held the lock committed (REPEATABLE READ would keep the snapshot of the lock request)
    return store.engine.execution_options(isolation_level="READ COMMITTED")


def _lock(conn) -> None:  # noqa: ANN001
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})


@contextmanager
def _foreign_keys_off(conn, is_sqlite: bool):  # noqa: ANN001
    """SQLite rebuilds a table to alter it (batch mode): foreign keys must be off meanwhile, and that
    pragma only works outside a transaction, so it is set on the raw connection before BEGIN."""
    if not is_sqlite:
        yield
        return
    raw = conn.connection.driver_connection
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _upgrade(conn, target: str) -> None:  # noqa: ANN001
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, target)


def upgrade_to(store: Store, target: str) -> None:
    """Upgrade (or create) the schema up to ``target`` only: for migration tests."""
    with _migration_engine(store).connect() as conn:
        with _foreign_keys_off(conn, store.is_sqlite):
            with conn.begin():
                _lock(conn)
                _upgrade(conn, target)


def _backup(store: Store, rev: str) -> None:
    path = store.engine.url.database
    if not path or path == ":memory:":
        return
    dest = Path(f"{path}.bak-{rev}")
    # the copy holds everything the desk holds: same permissions as the desk, whatever the umask
    try:
        fd = os.open(dest, os.O_CREAT | os.O_WRONLY, 0o660)
        os.fchmod(fd, 0o660)
        os.close(fd)
    except OSError:
        pass
    src = sqlite3.connect(path)
    try:
        out = sqlite3.connect(dest)
        with out:
            src.backup(out)
        out.close()
    finally:
        src.close()
