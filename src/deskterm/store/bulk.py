"""Bulk inserts for imports: one DBAPI ``executemany`` per table, rows given as tuples.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert work for large imports
(about 4 s of 18 s for 20,000 tickets with 110,000 events), and so did building a dict per row and
turning it back into a tuple; so on SQLite the caller builds tuples whose instants went through
``instant_writer`` (UTC, naive ISO text exactly as ``UTCDateTime`` writes it, which sorts in time order)
and they go straight to the driver. Other engines take the ordinary Core executemany, whose
``UTCDateTime`` processing does the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from itertools import chain

from sqlalchemy import Table

from . import search

_UTC = UTC
_BIG_CACHE_KIB = 65_536


def _sqlite_instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.microsecond:  # (rare in an export) the general formula
        return _iso_instant(value)
    # An import writes millions of instants, nearly all in whole seconds: the text is put together from the
    # day's and the second's, each formatted once (isoformat costs 2.5 times the rest: 16,000 instructions an
    # instant before, 6,400 now). A test compares the two on generated instants.
    utc = value.astimezone(_UTC)
    day = _DAYS.get(ordinal := utc.toordinal()) or _day_text(ordinal)
    second = _SECONDS.get(of_day := utc.hour * 3600 + utc.minute * 60 + utc.second) or _second_text(of_day)
    return day + second


def _iso_instant(value: datetime) -> str:
    # exactly SQLAlchemy's SQLite DATETIME text (always with microseconds, so that text order is time order);
    # cutting "+00:00" off is a third cheaper than replace(tzinfo=None)
    return value.astimezone(_UTC).isoformat(" ", "microseconds")[:26]


_DAYS: dict[int, str] = {}  # a date's ordinal → "2026-03-27 " (the days of an import: a few thousand)
_SECONDS: dict[int, str] = {}  # a second of the day → "16:05:00.000000" (86,400 at most)


def _day_text(ordinal: int) -> str:
    text = _DAYS[ordinal] = date.fromordinal(ordinal).isoformat() + " "
    return text


def _second_text(of_day: int) -> str:
    hours, rest = divmod(of_day, 3600)
    text = _SECONDS[of_day] = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}.000000"
    return text


def _unchanged(value: datetime | None) -> datetime | None:
    return value


def instant_writer(conn) -> Callable[[datetime | None], object]:
    """What ``insert_tuples`` expects in place of an instant, on the connection's engine."""
    return _sqlite_instant if conn.dialect.name == "sqlite" else _unchanged


def insert_tuples(conn, table: Table, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``, instants through ``instant_writer``) into
    ``table`` in the caller's transaction."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), [dict(zip(columns, r, strict=True)) for r in rows])
        return
    names = ", ".join(chr(34) + c + chr(34) for c in columns)
    one = f"({', '.join('?' * len(columns))})"
    # Many rows per statement: the tickets' full-text index (an FTS5 table fed by a trigger) flushes what it
    # gathered at the end of every statement, so one statement per row (executemany) cost four times the
    # insert itself. Statements of 2^k rows only (512 at most, within SQLite's limit on parameters): the
    # driver keeps each prepared statement (megabytes for the largest), so their number must stay small.
    most = min(_ROWS_PER_STATEMENT, max(1, _max_parameters(conn) // len(columns)))
    i = 0
    while i < len(rows):
        per = 1 << (min(most, len(rows) - i).bit_length() - 1)
        chunk = rows[i : i + per]
        sql = f"INSERT INTO {table.name} ({names}) VALUES {', '.join([one] * per)}"
        conn.exec_driver_sql(sql, tuple(chain.from_iterable(chunk)))  # (a tuple: one execution)
        i += per


_ROWS_PER_STATEMENT = 512


def _max_parameters(conn) -> int:
    """SQLite's limit on the parameters of one statement (999 before 3.32, 32766 since)."""
    import sqlite3

    try:
        return int(conn.connection.driver_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except AttributeError:  # (Python before 3.11)
        return 999


@contextmanager
def large_writes(conn) -> Iterator[bool]:
    """A transaction that writes many rows (an import): on SQLite a bigger page cache meanwhile, since the
    default (2 MB) keeps evicting the pages of the ten ticket indexes that an import updates at random places
    (a quarter of the time of a large import).

    Into a desk that holds no ticket yet (a new desk), the secondary indexes of ``tickets`` and ``events`` and
    the tickets' full-text index are built once after the rows (SQLite sorts each index once) instead of being
    updated at every row: they are dropped at the start of the transaction and made again at its end, before
    the commit. Nobody sees them missing (another connection reads the desk as it was before the transaction;
    a rollback, an error in the file, restores them with the rest). Yields whether the desk had no ticket.
    """
    if conn.dialect.name != "sqlite":
        yield False
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{_BIG_CACHE_KIB}")
    try:
        if conn.exec_driver_sql("SELECT 1 FROM tickets LIMIT 1").first() is not None:
            yield False
            return
        indexes = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('tickets', 'events', 'ticket_search') ORDER BY rowid"
        ).all()  # (not the automatic ones, of UNIQUE and PRIMARY KEY: they have no sql)
        triggers = [
            (sql, fill)
            for name, fill in search.SQLITE_FILLS
            for sql in conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)
            )
            .scalars()
            .all()
        ]
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        for name, _ in search.SQLITE_FILLS:
            conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS "{name}"')
        yield True
        # (not reached when the import failed: the transaction is rolled back, and the indexes come back with it)
        for _, sql in indexes:
            conn.exec_driver_sql(sql)
        for sql, fill in triggers:
            conn.exec_driver_sql(fill)
            conn.exec_driver_sql(sql)
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")
