"""``deskterm db copy``: move a desk from one database to another (typically SQLite → PostgreSQL).

Every table is copied in foreign-key order with its ids kept, so ticket numbers, escalation numbers and
history stay as the agents know them. The target's schema is created (or brought up to date) by the usual
migrations, which also set its ``alembic_version``; the source is brought to the same revision first.

Safety:

- the target must hold no desk data (every table empty): copying never merges two desks;
- the source is read in one transaction (one consistent snapshot, even while agents keep working);
- the target is written in one transaction: a failure leaves it as it was;
- after the rows, PostgreSQL sequences are moved past the highest id (``setval``), so the next ticket
  gets the next number; then the row count of every table is compared with the source's before commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.engine import Connection

from .errors import BadInput, DeskError, Refused
from .store.engine import db_url, explain_failure, is_damaged, open_store
from .store.models import SQLModel

# foreign-key order: a row's references are always copied before it
TABLES = (
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
BATCH = 5000


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


def _rows(conn: Connection, table: Table) -> Iterator[list[dict]]:
    """The rows of ``table`` in primary-key order, a batch at a time."""
    order = list(table.primary_key.columns)
    result = conn.execution_options(yield_per=BATCH).execute(select(table).order_by(*order))
    for part in result.mappings().partitions(BATCH):
        yield [dict(r) for r in part]


def _copy_rows(s: Connection, d: Connection, majors: list[dict], advance) -> int:
    """Every table's rows, a batch at a time; the tickets' links to their majors are kept aside in ``majors``."""
    n = 0
    for table in _tables():
        for batch in _rows(s, table):
            if table.name == "tickets":
                # a ticket may link to a major incident with a higher number: links come last
                for row in batch:
                    if row.get("major_id") is not None:
                        majors.append({"tid": row["id"], "major": row["major_id"]})
                        row["major_id"] = None
            d.execute(table.insert(), batch)
            advance(len(batch))
            n += len(batch)
    return n


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
                with progress("copying rows", sum(expected.values()), quiet) as advance:
                    _copy_rows(s, d, majors, advance)
                if majors:
                    tickets = SQLModel.metadata.tables["tickets"]
                    d.execute(
                        update(tickets).where(tickets.c.id == bindparam("tid")).values(major_id=bindparam("major")),
                        majors,
                    )
                if d.dialect.name == "postgresql":
                    _reset_sequences(d)
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


def _reset_sequences(conn: Connection) -> None:
    """Move each serial id's sequence past the highest id copied (the next insert gets max + 1)."""
    for table in _tables():
        if "id" not in table.c:
            continue
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f'coalesce((SELECT max(id) FROM "{table.name}"), 0) + 1, false)'
            )
        )
