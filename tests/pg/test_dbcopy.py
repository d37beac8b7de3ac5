"""``deskterm db copy``: a demo desk (with escalations, rule firings and a major-incident link) copied to
PostgreSQL answers exactly as the SQLite file did; ids, sequences and counts; refusals."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from deskterm.clock import FrozenClock
from deskterm.dbcopy import TABLES
from deskterm.service import Desk
from deskterm.store.engine import open_store
from deskterm_testing import run_cli


@pytest.fixture(autouse=True)
def _forked_cli(cli_server, monkeypatch):
    """``run_cli`` here is the session's fork server (the same command line, without a second of imports each)."""
    monkeypatch.setattr(sys.modules[__name__], "run_cli", cli_server.run)


NOW = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)
AT = "2026-03-27T16:00:00+00:00"
ESCALATION = """
[groups.L2-network]
level = "L2"

[escalation]
managers = ["duty-manager"]

[[escalation.rules]]
when = "first_response.breached"
action = "hierarchical"
to = "duty-manager"
"""


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A demo desk on SQLite, with escalations and a link to a major incident of a higher number."""
    from deskterm.config import load_config
    from deskterm.demo import build_demo

    where = tmp_path_factory.mktemp("copy-source")
    db, _ = build_demo(where, tickets=120, clock=FrozenClock(NOW), story=False)  # its own escalations and link, below
    with open(where / "deskterm.toml", "a", encoding="utf-8") as fh:
        fh.write(ESCALATION)
    config = load_config(where / "deskterm.toml")
    desk = Desk(open_store(db), config, clock=FrozenClock(NOW + timedelta(minutes=30)), user="alice")
    ids = sorted(t.id for t in desk.tickets(["new", "open"]))
    desk.escalate(ids[1], "functional", "L2-network", "router on ward B")
    desk.link(ids[0], ids[-1])  # a lower number linked to a higher one: the copy must order the links
    assert desk.apply_rules()  # rule_firings and more escalations
    desk.store.dispose()
    return db, where / "deskterm.toml"


def _cli(db: str, config, *args: str):
    return run_cli("--db", db, "--config", str(config), *args)


def _counts(url: str) -> dict[str, int]:
    store = open_store(url)
    with store.engine.connect() as conn:
        counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in TABLES}
    store.dispose()
    return counts


def test_copy_to_postgresql_gives_the_same_answers(source, pg_url):
    db, config = source
    r = run_cli("db", "copy", "--from", str(db), "--to", pg_url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("copied ") and "120 tickets" in r.stdout
    counts = _counts(pg_url)
    assert counts == _counts(str(db))
    assert counts["tickets"] == 120 and counts["events"] > 120 and counts["meta"] >= 1

    for args in (("list", "--json", "--at", AT), ("escalations", "--all", "--json")):
        a, b = _cli(str(db), config, *args), _cli(pg_url, config, *args)
        assert a.returncode == b.returncode == 0, (a.stderr, b.stderr)
        assert json.loads(b.stdout) == json.loads(a.stdout)
        assert b.stdout == a.stdout
    listed = json.loads(_cli(pg_url, config, "list", "--json", "--at", AT).stdout)
    for t in listed[:1] + [t for t in listed if t.get("escalation")][:1]:
        a, b = (
            _cli(str(db), config, "show", str(t["id"]), "--json", "--at", AT),
            _cli(pg_url, config, "show", str(t["id"]), "--json", "--at", AT),
        )
        assert b.stdout == a.stdout

    # the sequences were moved past the copied ids: the next ticket is number 121, its events follow
    r = _cli(pg_url, config, "new", "--subject", "After the move", "--customer", "Atelier Moreau")
    assert (r.returncode, r.stdout.strip()) == (0, "121"), r.stderr
    assert _cli(pg_url, config, "update", "121", "--note", "first note on PostgreSQL").returncode == 0
    assert _counts(pg_url)["events"] == counts["events"] + 1


def test_non_empty_target_is_refused_and_left_alone(source, pg_url):
    db, _ = source
    assert run_cli("db", "copy", "--from", str(db), "--to", pg_url).returncode == 0
    before = _counts(pg_url)
    r = run_cli("db", "copy", "--from", str(db), "--to", pg_url)
    assert r.returncode == 1 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "not empty" in r.stderr, r.stderr
    assert _counts(pg_url) == before


def test_missing_source_or_same_database_is_bad_input(tmp_path, source, pg_url):
    r = run_cli("db", "copy", "--from", str(tmp_path / "nope.db"), "--to", pg_url)
    assert r.returncode == 2 and "no such database file" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "nope.db").exists()
    r = run_cli("db", "copy", "--from", pg_url, "--to", pg_url)
    assert r.returncode == 2 and "is the source" in r.stderr


def test_copy_back_from_postgresql_to_a_new_sqlite_file(source, pg_url, tmp_path):
    db, config = source
    assert run_cli("db", "copy", "--from", str(db), "--to", pg_url).returncode == 0
    back = tmp_path / "back.db"
    r = run_cli("db", "copy", "--from", pg_url, "--to", str(back))
    assert r.returncode == 0, r.stderr
    assert (
        _cli(str(back), config, "list", "--json", "--at", AT).stdout
        == _cli(str(db), config, "list", "--json", "--at", AT).stdout
    )


TRICKY = "tab\there, back\\slash, new\nline, \\N, ü 🎫"  # what COPY's text format must escape


def _fill_the_empty_tables(db) -> None:
    """One row in every table the story demo leaves empty (alerts, attachments, mail, outbox...), its references
    to a real ticket and event, its texts the characters COPY's text format escapes."""
    from datetime import date

    from sqlalchemy import Boolean, Date, DateTime, Float, Integer, TypeDecorator, insert, select

    from deskterm.store.models import SQLModel

    store = open_store(str(db))
    with store.engine.begin() as conn:
        ticket = conn.execute(text("SELECT min(id) FROM tickets")).scalar()
        event = conn.execute(text("SELECT min(id) FROM events WHERE ticket_id = :t"), {"t": ticket}).scalar()
        for name in TABLES:
            table = SQLModel.metadata.tables[name]
            if conn.execute(select(table).limit(1)).first() is not None:
                continue
            row: dict = {}
            for c in table.c:
                kind = c.type.impl if isinstance(c.type, TypeDecorator) else c.type
                if c.name == "event_id":
                    row[c.name] = event
                elif c.name in ("ticket_id", "problem_id") or c.foreign_keys:
                    row[c.name] = ticket
                elif isinstance(kind, Boolean):
                    row[c.name] = True
                elif isinstance(kind, DateTime):
                    row[c.name] = NOW + timedelta(microseconds=123457)
                elif isinstance(kind, Date):
                    row[c.name] = date(2026, 2, 28)
                elif isinstance(kind, Float):
                    row[c.name] = 0.1
                elif isinstance(kind, Integer):
                    row[c.name] = 7
                else:
                    row[c.name] = TRICKY
            conn.execute(insert(table).values(**row))
    store.dispose()


def _every_row(url: str) -> dict[str, list[tuple]]:
    """Every row of every copied table, read through the store's types, in primary-key order."""
    from sqlalchemy import select

    from deskterm.store.models import SQLModel

    store = open_store(url)
    with store.engine.connect() as conn:
        rows = {}
        for name in TABLES:
            table = SQLModel.metadata.tables[name]
            rows[name] = [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
    store.dispose()
    return rows


@pytest.fixture(scope="module")
def full_source(tmp_path_factory):
    """The story demo (contracts, problems, changes, time entries...) with a row in every other table."""
    from deskterm.demo import build_demo

    db, _ = build_demo(tmp_path_factory.mktemp("copy-full"), tickets=60, clock=FrozenClock(NOW))
    _fill_the_empty_tables(db)
    return db


def test_every_row_of_every_table_is_copied_as_it_was_both_ways(full_source, pg_url, tmp_path):
    """Into PostgreSQL by COPY (indexes and foreign keys made again after the rows), and back into SQLite: every
    table of the desk holds the same rows, value for value; the copy's feed of changes starts empty."""
    from sqlalchemy import inspect

    before = _every_row(str(full_source))
    assert all(before[t] for t in TABLES), [t for t in TABLES if not before[t]]
    assert run_cli("db", "copy", "--from", str(full_source), "--to", pg_url).returncode == 0
    assert _every_row(pg_url) == before

    # the indexes, the search's trigram index and the foreign keys are all there again, as a migration made them
    store = open_store(pg_url)
    with store.engine.connect() as conn:
        indexes = set(
            conn.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")).scalars()
        )
        keys = conn.execute(text("SELECT count(*) FROM pg_constraint WHERE contype = 'f'")).scalar()
        assert conn.execute(text("SELECT count(*) FROM ticket_changes")).scalar() == 0
    insp = inspect(store.engine)
    store.dispose()
    assert {"ix_ticket_search_trgm", "ix_tickets_search", "ix_events_ticket_at", "ix_tickets_next_due"} <= indexes
    assert keys == sum(len(insp.get_foreign_keys(t)) for t in TABLES) > 0

    back = tmp_path / "back.db"
    assert run_cli("db", "copy", "--from", pg_url, "--to", str(back)).returncode == 0
    assert _every_row(str(back)) == before


def test_every_table_but_the_runtime_ones_is_copied_after_what_it_refers_to():
    from deskterm.dbcopy import RUNTIME
    from deskterm.store.models import SQLModel

    assert sorted(TABLES + RUNTIME) == sorted(SQLModel.metadata.tables)
    position = {name: i for i, name in enumerate(TABLES)}
    for name in TABLES:
        for key in SQLModel.metadata.tables[name].foreign_keys:
            assert position[key.column.table.name] <= position[name], (name, key.target_fullname)
