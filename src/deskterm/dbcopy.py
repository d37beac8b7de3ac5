"""``deskterm db copy``: move a desk from one database to another (typically SQLite → PostgreSQL).

Every table of the desk is copied in foreign-key order with its ids kept, so ticket numbers, escalation numbers
and history stay as the agents know them (not the apps' runtime tables, ``RUNTIME``: the copy's feed starts
empty). The target's schema is created (or brought up to date) by the usual migrations, which also set its
``alembic_version``; the source is brought to the same revision first.

Safety:

- the target must hold no desk data (every table empty): copying never merges two desks;
- the source is read in one transaction (one consistent snapshot, even while agents keep working);
- the target is written in one transaction: a failure leaves it as it was;
- into PostgreSQL the rows go by ``COPY`` (psycopg's ``cursor.copy``, a stream, not a statement per row), with
  the foreign keys and the secondary indexes (the search's trigram and full-text indexes too) dropped first and
  made again after the rows, in the same transaction (``_set_aside``): each index is built once, each foreign key
  checked by one join; then ``ANALYZE``, so that the first app opened on the desk has the planner's statistics;
- after the rows, PostgreSQL sequences are moved past the highest id (``setval``), so the next ticket
  gets the next number; then the row count of every table is compared with the source's before commit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.engine import Connection

from .errors import BadInput, DeskError, Refused
from .store.engine import db_url, explain_failure, is_damaged, open_store
from .store.models import SQLModel

# what only running apps keep, not the desk's data: the feed of ticket changes (a desk's feed starts empty: an app
# opened on the copy reads it from its newest row) and PostgreSQL's presence (heartbeats of the apps open now)
RUNTIME = ("ticket_changes", "presence")
# every other table of the desk, in foreign-key order: a row's references are always copied before it (first the
# tables in the order ``db copy`` has always said them, then the others, which refer only to those and each other)
_FIRST = (
    "customers",
    "customer_domains",
    "contacts",
    "agents",
    "groups",
    "tickets",
    "ticket_search",
    "events",
    "escalations",
    "rule_firings",
    "meta",
)
TABLES = _FIRST + tuple(t.name for t in SQLModel.metadata.sorted_tables if t.name not in _FIRST + RUNTIME)
BATCH = 5000
# PostgreSQL: the memory each index build may take on the server (its own default is 64 MB), for this transaction
_INDEX_MEMORY = "256MB"


def _tables() -> list[Table]:
    return [SQLModel.metadata.tables[name] for name in TABLES]


def _open(value: str, role: str):
    url = db_url(value)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if role == "--from" and (not path or path == ":memory:" or not Path(path).is_file()):
            raise BadInput(f"--from: {value}: no such database file")
    try:
        store = open_store(value)
    except BadInput as exc:  # as open_store says it for --db: here it is --from or --to
        raise type(exc)(
            [role + line[len("--db") :] if line.startswith("--db:") else line for line in exc.problems]
        ) from None
    except Exception as exc:
        failure = explain_failure(exc, value, role)
        if failure is None:
            raise
        raise failure from None
    return store


def copy_database(source: str, target: str, quiet: bool = False) -> dict[str, int]:
    """Copy the desk at ``source`` into the empty database at ``target``; returns rows copied per table. A failure
    of either database is one line naming it (a damaged source, a full or read-only target...). On a terminal
    (without ``quiet``) the rows copied show on stderr as they go (``progress.py``)."""
    try:
        return _copy(source, target, quiet)
    except DeskError:
        raise
    except Exception as exc:
        # the target is new: a damaged file is the source; what refuses to be written (read-only, full, busy) the target
        failure = explain_failure(exc, source, "--from") if is_damaged(exc) else explain_failure(exc, target, "--to")
        if failure is None:
            raise
        raise failure from None


def _rows(conn: Connection, table: Table, stored: bool = False) -> Iterator[Sequence[Sequence[Any]]]:
    """The rows of ``table`` in primary-key order, a batch at a time, as tuples in the order of its columns.

    ``stored`` (SQLite): the values as the file holds them, read by the driver alone, without SQLAlchemy's
    processing of each value (half the time of a copy into PostgreSQL): instants as UTC text ("2026-03-27
    15:00:00.000000", ``UTCDateTime``), booleans as 0 and 1, dates as ISO text; the target's own text input
    (``COPY``, in a transaction whose time zone is UTC) reads them as the values the store reads."""
    order = list(table.primary_key.columns)
    if not stored:
        result = conn.execution_options(yield_per=BATCH).execute(select(table).order_by(*order))
        yield from result.partitions(BATCH)
        return
    columns = ", ".join(f'"{c.name}"' for c in table.c)
    keys = ", ".join(f'"{c.name}"' for c in order)
    driver: Any = conn.connection.driver_connection
    cursor = driver.cursor()
    try:
        cursor.execute(f'SELECT {columns} FROM "{table.name}" ORDER BY {keys}')
        while batch := cursor.fetchmany(BATCH):
            yield batch
    finally:
        cursor.close()


def _copy_rows(s: Connection, d: Connection, majors: list[dict], advance) -> int:
    """Every table's rows, a batch at a time; the tickets' links to their majors are kept aside in ``majors``.
    Into PostgreSQL through ``COPY ... FROM STDIN`` (psycopg's ``cursor.copy``), in the target's transaction."""
    n = 0
    for table in _tables():
        names = [c.name for c in table.c]
        major, ident = (names.index("major_id"), names.index("id")) if table.name == "tickets" else (None, 0)
        copy = _pg_copy(d, table) if d.dialect.name == "postgresql" else None
        with copy if copy is not None else nullcontext() as into:
            for batch in _rows(s, table, stored=copy is not None and s.dialect.name == "sqlite"):
                rows: Sequence[Sequence[Any]] = batch
                if major is not None:
                    # a ticket may link to a major incident with a higher number: links come last
                    unlinked = [list(r) for r in batch]
                    for row in unlinked:
                        if row[major] is not None:
                            majors.append({"tid": row[ident], "major": row[major]})
                            row[major] = None
                    rows = unlinked
                if into is not None:
                    for values in rows:
                        into.write_row(values)
                else:
                    d.execute(table.insert(), [dict(zip(names, r, strict=True)) for r in rows])
                advance(len(rows))
                n += len(rows)
    return n


def _pg_copy(d: Connection, table: Table) -> Any:
    """A ``COPY`` of the table's columns from the client, on the target's own connection (in its transaction).
    Values go as psycopg dumps them (instants with their zone, ``timestamptz``): as an INSERT would bind them."""
    driver: Any = d.connection.driver_connection
    cursor = driver.cursor()
    columns = ", ".join(f'"{c.name}"' for c in table.c)
    return cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN')


def _counts(conn: Connection) -> dict[str, int]:
    return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0) for t in _tables()}


def _copy(source: str, target: str, quiet: bool = False) -> dict[str, int]:
    from .progress import progress

    src = _open(source, "--from")
    try:
        dst = _open(target, "--to")
    except Exception:
        src.dispose()
        raise
    try:
        if src.engine.url.render_as_string(hide_password=False) == dst.engine.url.render_as_string(hide_password=False):
            raise BadInput("--to: the target is the source database")
        with src.engine.connect() as s, dst.engine.connect() as d:
            with s.begin(), d.begin():
                present = {t: n for t, n in _counts(d).items() if n}
                if present:
                    what = ", ".join(f"{n} {t}" for t, n in present.items())
                    where = dst.engine.url.render_as_string(hide_password=True)
                    raise Refused(f"--to: {where} is not empty ({what}); copy only into a new, empty database")
                expected = _counts(s)
                majors: list[dict] = []
                later: list[str] = []
                if d.dialect.name == "postgresql":
                    d.exec_driver_sql("SET LOCAL TimeZone = 'UTC'")  # (instants read as SQLite stores them: ``_rows``)
                    later = _set_aside(d)
                with progress("copying rows", sum(expected.values()), quiet) as advance:
                    _copy_rows(s, d, majors, advance)
                if majors:
                    tickets = SQLModel.metadata.tables["tickets"]
                    d.execute(
                        update(tickets).where(tickets.c.id == bindparam("tid")).values(major_id=bindparam("major")),
                        majors,
                    )
                if later:
                    with progress("indexes and foreign keys", len(later), quiet) as advance:
                        for statement in later:
                            d.exec_driver_sql(statement)
                            advance(1)
                if d.dialect.name == "postgresql":
                    _reset_sequences(d)
                    d.exec_driver_sql("ANALYZE")  # the planner's statistics of the new desk, before anyone opens it
                copied = _counts(d)
                if copied != expected:
                    diff = ", ".join(
                        f"{t}: {expected[t]} in the source, {copied[t]} copied"
                        for t in TABLES
                        if expected[t] != copied[t]
                    )
                    raise RuntimeError(f"db copy: row counts differ ({diff}); nothing was written")
        return copied
    finally:
        src.dispose()
        dst.dispose()


def _set_aside(d: Connection) -> list[str]:
    """PostgreSQL: drop the desk's foreign keys and secondary indexes (the search's trigram and full-text indexes
    among them) in the target's transaction, and return the statements that make them again, indexes first.

    Each index is then built once from the copied rows (a sort, a GIN build), instead of being updated at every
    row, and each foreign key checked by one join instead of a lookup per row. Nobody sees them missing: the
    target's transaction is not committed before they are back (DDL is transactional on PostgreSQL, and a failure
    rolls everything back). Primary keys and unique constraints stay (the copy relies on their checks)."""
    ours = list(TABLES)
    d.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{_INDEX_MEMORY}'")
    keys = d.exec_driver_sql(
        "SELECT c.conrelid::regclass::text, format('%%I', c.conname), pg_get_constraintdef(c.oid)"
        " FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid"
        " WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%(ours)s)"
        " ORDER BY c.conrelid, c.conname",
        {"ours": ours},
    ).all()
    indexes = d.exec_driver_sql(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)"
        " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
        " WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%(ours)s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
        " ORDER BY i.indrelid, i.indexrelid",
        {"ours": ours},
    ).all()
    for table, name, _ in keys:
        d.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for name, _ in indexes:
        d.exec_driver_sql(f"DROP INDEX {name}")
    return [sql for _, sql in indexes] + [
        f"ALTER TABLE {table} ADD CONSTRAINT {name} {sql}" for table, name, sql in keys
    ]


def _reset_sequences(conn: Connection) -> None:
    """Move each serial id's sequence past the highest id copied (the next insert gets max + 1)."""
    for table in _tables():
        if "id" not in table.c:
            continue  # (its key is another table's id, or a name: no sequence)
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f'coalesce((SELECT max(id) FROM "{table.name}"), 0) + 1, false)'
            )
        )
