"""Migrations keep every row: a database made with the first schema is filled, upgraded and compared."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from deskterm.store import migrate
from deskterm.store.engine import open_store


def _fill_first_schema(path) -> None:
    store = open_store(path, migrate=False)
    migrate.upgrade_to(store, "0001")
    store.dispose()
    con = sqlite3.connect(path)
    with con:
        con.execute("INSERT INTO customers (id, name) VALUES (1, 'Clinique Saint-Jean')")
        con.execute(
            "INSERT INTO tickets (id, ref, subject, description, customer_id, priority, initial_priority, type, status,"
            " group_name, created_at, created_by, updated_at, version, next_due)"
            " VALUES (1, 'EXT-1', 'VPN down', '', 1, 'P2', 'P2', 'incident', 'open', 'L1',"
            " '2026-03-27 15:05:00.000000', 'alice', '2026-03-27 15:05:00.000000', 3, NULL)"
        )
        con.execute(
            "INSERT INTO events (ticket_id, at, kind, author, public, body) VALUES"
            " (1, '2026-03-27 15:20:00.000000', 'reply', 'alice', 1, 'On it.')"
        )
    con.close()


def _rows(path, table):
    con = sqlite3.connect(path)
    try:
        cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
        return cols, con.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    finally:
        con.close()


def test_upgrade_from_first_schema_keeps_every_row(tmp_path):
    db = tmp_path / "old.db"
    _fill_first_schema(db)
    before = {t: _rows(db, t) for t in ("customers", "tickets", "events")}

    store = open_store(db)  # upgrades to HEAD at start-up
    with store.engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.HEAD
    store.dispose()

    for table, (cols, rows) in before.items():
        new_cols, new_rows = _rows(db, table)
        assert new_cols[: len(cols)] == cols
        assert [r[: len(cols)] for r in new_rows] == rows
    # a copy of the old file was kept before the upgrade
    backup = tmp_path / "old.db.bak-0001"
    assert backup.exists()
    assert _rows(backup, "tickets")[1] == before["tickets"][1]


def test_head_matches_newest_migration_file():
    versions = sorted(p.name.split("_", 1)[0] for p in (migrate.MIGRATIONS / "versions").glob("*.py"))
    assert versions[-1] == migrate.HEAD


def test_fresh_database_is_wal_with_foreign_keys(tmp_path):
    store = open_store(tmp_path / "new.db")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    store.dispose()


def test_rederive_after_upgrade_fills_next_warn(tmp_path, example_config):
    from deskterm.clock import FrozenClock
    from deskterm.service import Desk

    db = tmp_path / "old.db"
    _fill_first_schema(db)
    store = open_store(db)
    desk = Desk(store, example_config, clock=FrozenClock(datetime(2026, 3, 27, 16, 0, tzinfo=timezone.utc)), user="bob")
    assert desk.rederive() == 1
    t = desk.ticket("EXT-1")
    assert t.next_due is not None and t.next_warn is not None
    assert desk.rederive() == 0  # same configuration: nothing to do
    store.dispose()
