"""The store's Core statements run on a SQLite connection of the driver's alone, for the live refresh (issue 17).

Every change another agent makes costs every open app a few reads (``queue.follow``: the changed tickets, their
deadlines by bisection, their histories). Through SQLAlchemy each read spent more than it took SQLite to answer:
a connection checked out of the pool and its ``BEGIN`` hook, the statement's cache key, its expanding ``IN``
parameters rendered again at each execution, a context and a result's metadata (about 0.2 ms a statement here,
six statements a change). ``Reads`` runs the *same* statements, compiled once by SQLAlchemy for the desk's
dialect: the SQL text is SQLAlchemy's, the bound values pass through the same bind processors and each column of
a row through the same result processor (an instant comes back as the same aware datetime), on a ``sqlite3``
connection of its own, in one deferred transaction (one snapshot for every statement of a change). Only the
statements are not built here: the rules that make them keep their one home (``queue.py``, ``queue_conditions``).

SQLite only (PostgreSQL keeps the store's path: its round trips dominate, and ``queue.follow`` takes either).
A statement this cannot run as SQLAlchemy would (a parameter rendered into the SQL at execution) raises
``Unsupported`` when it is prepared, before anything is read. ``tests/store/test_driver_reads.py`` compares the
rows with SQLAlchemy's; ``tests/store/test_incremental.py`` follows changes both ways against a full
recomputation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .engine import Store

_POSTCOMPILE = re.compile(r"__\[POSTCOMPILE_(\w+)\]")


class Unsupported(Exception):
    """A statement ``Reads`` does not run (a parameter SQLAlchemy renders into the SQL at each execution)."""


class _Prepared:
    __slots__ = ("parts", "names", "expanding", "defaults", "binds", "results")

    def __init__(self, stmt: Any, dialect: Any) -> None:
        compiled = stmt.compile(dialect=dialect)
        for name, bind in compiled.binds.items():
            if bind.literal_execute:
                raise Unsupported(f"parameter {name!r} is rendered at execution")
        self.expanding = {name for name, bind in compiled.binds.items() if bind.expanding}
        # the SQL cut around each expanding parameter's place: ``IN (?, ?, …)`` as many as the values given
        self.parts: list[str | None] = []  # None: an expanding parameter's place (in order of ``names``)
        text = compiled.string
        at = 0
        for found in _POSTCOMPILE.finditer(text):
            if found.group(1) not in self.expanding:
                raise Unsupported(f"parameter {found.group(1)!r} is rendered at execution")
            self.parts.append(text[at : found.start()])
            self.parts.append(None)
            at = found.end()
        self.parts.append(text[at:])
        self.names: list[str] = list(compiled.positiontup or ())
        self.defaults: dict[str, Any] = compiled.construct_params(_check=False)
        processors: Mapping[str, Callable[[Any], Any]] = compiled._bind_processors
        self.binds = {name: processors[name] for name in self.names if name in processors}
        self.results: list[Callable[[Any], Any] | None] = [
            column[3]._cached_result_processor(dialect, None) for column in compiled._result_columns
        ]

    def sql_and_values(self, params: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        """The SQL with each expanding parameter's places, and the values in the order of their places."""
        given = {**self.defaults, **(params or {})}
        counts = iter(len(given[name]) for name in self.names if name in self.expanding)
        # (SQLite takes ``IN ()``: nothing matches, as SQLAlchemy's empty set)
        sql = "".join(part if part is not None else ", ".join("?" * next(counts)) for part in self.parts)
        values: list[Any] = []
        for name in self.names:
            process = self.binds.get(name)
            many = list(given[name]) if name in self.expanding else [given[name]]
            values.extend(many if process is None else [process(v) for v in many])
        return sql, values


class Result:
    """The rows of one statement, processed as SQLAlchemy's result would (the part of its API the reads use)."""

    def __init__(self, rows: list[tuple], results: Sequence[Callable[[Any], Any] | None]) -> None:
        if any(p is not None for p in results):
            rows = [tuple(v if p is None else p(v) for v, p in zip(r, results, strict=False)) for r in rows]
        self._rows = rows

    def __iter__(self) -> Iterator[tuple]:
        return iter(self._rows)

    def all(self) -> list[tuple]:
        return list(self._rows)

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalars(self) -> list[Any]:
        return [r[0] for r in self._rows]


class Reads:
    """A ``sqlite3`` connection of the caller's thread, in autocommit, and the statements prepared on it. Use it
    as ``with reads.snapshot() as conn: conn.execute(stmt, params)``: one deferred transaction for every statement
    inside (the same snapshot of the desk, as the store's ``engine.connect()`` and ``begin()`` gave)."""

    _MOST = 64  # statements kept prepared (one-off statements are compiled each time, as a new statement is)

    def __init__(self, store: Store) -> None:
        if not store.is_sqlite:
            raise Unsupported("the driver's reads are for SQLite")
        self.store = store
        self.dialect = store.engine.dialect
        fairy = store.engine.raw_connection()  # the engine's connect hook: WAL, busy timeout, autocommit
        self._raw: Any = fairy.driver_connection
        fairy.detach()  # ours until close()
        self._prepared: dict[int, tuple[Any, _Prepared]] = {}

    def snapshot(self) -> _Snapshot:
        return _Snapshot(self)

    def execute(self, stmt: Any, params: Mapping[str, Any] | None = None) -> Result:
        kept = self._prepared.get(id(stmt))
        if kept is None or kept[0] is not stmt:
            if len(self._prepared) >= self._MOST:
                self._prepared.clear()
            kept = (stmt, _Prepared(stmt, self.dialect))
            self._prepared[id(stmt)] = kept
        prepared = kept[1]
        sql, values = prepared.sql_and_values(params)
        cur = self._raw.cursor()
        try:
            cur.execute(sql, values)
            rows = cur.fetchall()
        finally:
            cur.close()
        return Result(rows, prepared.results)

    def close(self) -> None:
        try:
            self._raw.close()
        except Exception:  # noqa: BLE001 - already gone
            pass


class _Snapshot:
    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    def __enter__(self) -> Reads:
        self.reads._raw.execute("BEGIN")
        return self.reads

    def __exit__(self, *exc: object) -> None:
        try:
            self.reads._raw.execute("ROLLBACK")  # (nothing written: only the snapshot ends)
        except Exception:  # noqa: BLE001 - no transaction left (the connection failed): nothing to end
            pass


__all__ = ["Reads", "Result", "Unsupported"]
