"""Schema migrations at start-up.

The current revision is read with one cheap query; Alembic (slow to import) is loaded only when the
schema must be created or upgraded. Before an upgrade of a SQLite file that holds data, a copy is kept
beside it (``deskterm.db.bak-<old revision>``, never written through a link: see safefile.py). The
migration runs under the write lock (SQLite) or a transaction-scoped advisory lock (PostgreSQL, whose DDL
is transactional), so two agents starting at once do not both upgrade: the second waits, then finds the
schema current.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInput
from ..safefile import NOFOLLOW, private_dir, publish, set_mode

if TYPE_CHECKING:  # engine.open_store imports this module: a type only here, so that there is no cycle
    from .engine import Store

HEAD = "0018"  # keep in step with the newest file in migrations/versions (a test checks it)
MIGRATIONS = Path(__file__).with_name("migrations")
_PG_MIGRATION_LOCK = 0x6465736B  # "desk": the advisory lock key held while migrating a PostgreSQL database


def current_revision(conn) -> str | None:
    from sqlalchemy import inspect, text  # (here: HEAD is read by the plain reads, which never import SQLAlchemy)

    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def known_revisions() -> set[str]:
    return {p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")}


def _check_revision(store: Store, conn, rev: str | None) -> None:
    """Refuse, before anything is written (no backup either), a desk this deskterm cannot work on."""
    where = store.engine.url.database if store.is_sqlite else store.engine.url.render_as_string(hide_password=True)
    if rev is not None and rev not in known_revisions():
        raise BadInput(
            f"--db: {where}: the desk has schema {rev}, newer than this deskterm knows ({HEAD}):"
            " upgrade deskterm to use it"
        )
    from sqlalchemy import inspect

    if rev is None and store.is_sqlite and inspect(conn).get_table_names():
        raise BadInput(f"--db: {where}: a SQLite database of another program, not a deskterm desk")
    path = store.engine.url.database if store.is_sqlite else None
    if path and path.startswith("file:"):  # opened immutable (engine.py: a read-only file system)
        from urllib.parse import unquote

        path = unquote(path[len("file:") :])
    if path and path != ":memory:" and (store.engine.url.query.get("immutable") == "1" or not os.access(path, os.W_OK)):
        # refused before the backup: each try would leave one more copy beside a desk it cannot upgrade
        what = f"brought from {rev} to {HEAD}" if rev else f"created ({HEAD})"
        raise BadInput(
            f"--db: {path}: the desk is read-only here and its schema must first be {what}: open it once"
            " with this deskterm where it can be written"
        )


def ensure_schema(store: Store) -> None:
    with store.engine.connect() as conn:
        rev = current_revision(conn)
        if rev == HEAD:
            return
        _check_revision(store, conn, rev)
    with _migration_engine(store).connect() as conn:
        with _foreign_keys_off(conn, store.is_sqlite):
            with conn.begin():
                _lock(conn)
                rev = current_revision(conn)
                if rev == HEAD:
                    return
                _check_revision(store, conn, rev)
                if rev is not None and store.is_sqlite:
                    _backup(store, rev)
                _upgrade(conn, HEAD)
                if store.is_sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")


def _migration_engine(store: Store):
    if store.is_sqlite:
        return store.engine.execution_options(deskterm_begin="BEGIN IMMEDIATE")
    # READ COMMITTED: the revision is read after the lock is granted, with a snapshot that sees what the
    # agent that held the lock committed (REPEATABLE READ would keep the snapshot of the lock request)
    return store.engine.execution_options(isolation_level="READ COMMITTED")


def _lock(conn) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy import text

        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})


@contextmanager
def _foreign_keys_off(conn, is_sqlite: bool):
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


def _upgrade(conn, target: str) -> None:
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


def _backup(store: Store, rev: str) -> Path | None:
    """A copy of the desk before its upgrade, ``<desk>.bak-<rev>`` (or ``.bak-<rev>.1``, ``.2``… when that
    name is taken: an earlier copy is kept, and a name planted by someone else is never written through).

    The copy is made in a private directory beside the desk, its mode set on our own file (the copy holds
    everything the desk holds: owner and group, whatever the umask), then linked to its final name."""
    path = store.engine.url.database
    if not path or path == ":memory:":
        return None
    desk = Path(path)
    try:
        with private_dir(desk) as work:
            tmp = work / "copy.db"
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | NOFOLLOW, 0o600))
            src = sqlite3.connect(desk)
            try:
                out = sqlite3.connect(tmp)
                try:
                    with out:
                        src.backup(out)
                finally:
                    out.close()
            finally:
                src.close()
            set_mode(tmp, 0o660)
            first = Path(f"{desk}.bak-{rev}")
            return publish(tmp, [first, *(Path(f"{first}.{n}") for n in range(1, 1000))])
    except (OSError, sqlite3.Error) as exc:
        raise BadInput(
            f"--db: {desk}: cannot keep a copy of the desk before upgrading it: {getattr(exc, 'strerror', None) or exc}"
        ) from None
