"""Migrations, on SQLite and on PostgreSQL: from an empty database they build exactly the schema of the models;
a database made with the first schema is filled, upgraded and compared (every row kept); the columns added
later are derived after the upgrade. SQLite only: the copy of the file kept before an upgrade, and the
pragmas of a new file (WAL, foreign keys, busy timeout)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from deskterm.store import migrate, models, queue_search, search  # noqa: F401  (models: the tables of SQLModel.metadata)
from deskterm.store.engine import open_store
from deskterm_testing import db_rows, is_pg

pytestmark = pytest.mark.engines("sqlite", "postgresql")


def _instant(db: str, utc: str):
    """An instant as the first schema holds it: SQLite's text (what UTCDateTime writes), PostgreSQL's timestamptz."""
    if is_pg(db):
        return datetime.fromisoformat(utc).replace(tzinfo=UTC)
    return datetime.fromisoformat(utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def _fill_first_schema(db: str) -> None:
    store = open_store(db, migrate=False)
    migrate.upgrade_to(store, "0001")
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO customers (id, name) VALUES (1, 'Clinique Saint-Jean')"))
        conn.execute(
            text(
                "INSERT INTO tickets (id, ref, subject, description, customer_id, priority, initial_priority, type, status,"
                " group_name, created_at, created_by, updated_at, version, next_due)"
                " VALUES (1, 'EXT-1', 'VPN down', '', 1, 'P2', 'P2', 'incident', 'open', 'L1',"
                " :created, 'alice', :created, 3, NULL)"
            ),
            {"created": _instant(db, "2026-03-27 15:05:00")},
        )
        conn.execute(
            text(
                "INSERT INTO events (ticket_id, at, kind, author, public, body) VALUES"
                " (1, :at, 'reply', 'alice', :public, 'On it.')"
            ),
            {"at": _instant(db, "2026-03-27 15:20:00"), "public": True},
        )
    store.dispose()


def _columns(db: str, table: str) -> list[str]:
    if is_pg(db):
        return [
            r[0]
            for r in db_rows(
                db,
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public'"
                f" AND table_name = '{table}' ORDER BY ordinal_position",
            )
        ]
    return [r[1] for r in db_rows(db, f"PRAGMA table_info({table})")]


def _rows(db: str, table: str):
    return _columns(db, table), db_rows(db, f"SELECT * FROM {table} ORDER BY 1")


def test_upgrade_from_first_schema_keeps_every_row(empty_db, db_engine):
    db = empty_db
    _fill_first_schema(db)
    before = {t: _rows(db, t) for t in ("customers", "tickets", "events")}
    assert all(rows for _, rows in before.values())

    store = open_store(db)  # upgrades to HEAD at start-up
    with store.engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.HEAD
    store.dispose()

    for table, (cols, rows) in before.items():
        new_cols, new_rows = _rows(db, table)
        assert new_cols[: len(cols)] == cols
        assert [r[: len(cols)] for r in new_rows] == rows
    if db_engine == "sqlite":
        # a copy of the old file was kept before the upgrade (PostgreSQL: the server's backups are the operator's)
        backup = db + ".bak-0001"
        assert _rows(backup, "tickets")[1] == before["tickets"][1]


def test_migrations_from_an_empty_database_build_the_models_schema(empty_db):
    """Every table, column (name and nullability), primary key, foreign key, unique constraint and index the
    models declare, and nothing else: the migrations and the models cannot drift apart on either engine."""
    store = open_store(empty_db)  # from nothing to HEAD
    try:
        insp = inspect(store.engine)
        # the full-text index of the tickets (store/search.py) is the engine's own, outside the models
        tables = set(insp.get_table_names()) - search.SQLITE_TABLES
        assert tables == set(SQLModel.metadata.tables) | {"alembic_version"}
        for name, table in SQLModel.metadata.tables.items():
            # (PostgreSQL: the tickets' stored search vector, a generated column outside the models, search.py)
            assert {c["name"]: c["nullable"] for c in insp.get_columns(name) if c["name"] != search.PG_COLUMN} == {
                c.name: c.nullable for c in table.columns
            }, name
            assert insp.get_pk_constraint(name)["constrained_columns"] == [c.name for c in table.primary_key.columns], (
                name
            )
            assert {
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in insp.get_foreign_keys(name)
            } == {
                (tuple(c.name for c in f.columns), f.referred_table.name, tuple(e.column.name for e in f.elements))
                for f in table.foreign_key_constraints
            }, name
            assert {tuple(u["column_names"]) for u in insp.get_unique_constraints(name)} == {
                tuple(c.name for c in u.columns) for u in table.constraints if type(u).__name__ == "UniqueConstraint"
            } | {(c.name,) for c in table.columns if c.unique}, name
            # (PostgreSQL also lists the index behind each unique constraint: checked as a constraint above)
            assert {
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(name)
                if not i.get("duplicates_constraint") and i["name"] not in (search.PG_INDEX, queue_search.TRGM_INDEX)
            } == {(i.name, tuple(c.name for c in i.columns), bool(i.unique)) for i in table.indexes}, name
    finally:
        store.dispose()


def test_head_matches_newest_migration_file():
    versions = sorted(p.name.split("_", 1)[0] for p in (migrate.MIGRATIONS / "versions").glob("*.py"))
    assert versions[-1] == migrate.HEAD


def test_fresh_database_is_wal_with_foreign_keys(tmp_path):  # SQLite's pragmas: SQLite only (no db_engine)
    store = open_store(tmp_path / "new.db")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    store.dispose()


def test_rederive_after_upgrade_fills_next_warn(empty_db, example_config):
    from deskterm.clock import FrozenClock
    from deskterm.service import Desk

    _fill_first_schema(empty_db)
    store = open_store(empty_db)
    desk = Desk(store, example_config, clock=FrozenClock(datetime(2026, 3, 27, 16, 0, tzinfo=UTC)), user="bob")
    assert desk.rederive() == 1
    t = desk.ticket("EXT-1")
    assert t.next_due is not None and t.next_warn is not None
    # and what a queue row paints its countdown from (0005): the timer an agent looks at, its time left
    nearest = desk.sla(t).nearest()
    assert (t.next_timer, t.next_left is not None) == (nearest.name, True)
    assert desk.rederive() == 0  # same configuration: nothing to do
    store.dispose()


def test_upgrade_to_0005_derives_the_row_countdown_even_under_an_unchanged_configuration(empty_db, example_config):
    """A desk at 0004 whose deadlines were derived under this very configuration: 0005 drops the stored
    fingerprint, so the next rederive (every command, and the app as it opens) fills next_timer/next_left."""
    from deskterm.clock import FrozenClock
    from deskterm.service import Desk

    _fill_first_schema(empty_db)
    store = open_store(empty_db, migrate=False)
    migrate.upgrade_to(store, "0004")
    clock = FrozenClock(datetime(2026, 3, 27, 16, 0, tzinfo=UTC))
    with store.engine.begin() as conn:  # as a 0004 desk stands after a rederive: its fingerprint stored
        conn.execute(text("INSERT INTO meta (key, value) VALUES ('sla_config', :v)"), {"v": example_config.fingerprint})
    store.dispose()

    store = open_store(empty_db)  # → HEAD
    desk = Desk(store, example_config, clock=clock, user="bob")
    assert desk.ticket("EXT-1").next_timer is None
    assert desk.rederive() == 1
    assert desk.ticket("EXT-1").next_timer == "resolution"  # (first response met by the reply)
    store.dispose()
