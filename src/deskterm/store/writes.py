"""The statements that write one change of one ticket, and the feed of ticket changes, in the driver's SQL.

One home for both ways a change is written: the service's transaction (``service.Desk._write``, through its
session's connection: SQLAlchemy's ``exec_driver_sql``, ``SessionSQL``) and the command line's ``update`` through
the driver alone (``plain_write.py``, ``DriverSQL``: none of the store's libraries imported). Each way gives an
``SQL``: it runs a statement written with ``?`` for its parameters, in the transaction it is in.

An instant is written as SQLAlchemy writes it (``types.UTCDateTime``): on SQLite the text of its UTC time with six
digits of fraction (which sorts in time order: the queue's order compares it), on PostgreSQL a ``timestamptz``.
``tests/store/test_plain_update.py`` applies random changes both ways and compares the two desks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..domain import workflow
from ..errors import Conflict

if TYPE_CHECKING:
    from ..records import NewEvent, TicketRecord

NOTIFY_CHANNEL = "deskterm"  # PostgreSQL: what a write transaction notifies and every running app listens to
# PostgreSQL: notified too by a write transaction that raised an escalation (the apps then look for new ones; on the
# other changes they need not: issue 17), on a channel of its own so that older apps read the other unchanged
ESCALATION_CHANNEL = "deskterm_escalations"
FEED_KEEP = 20_000  # the newest rows of the feed kept: an app further behind reads everything again
FEED_MOST = 1_000  # more tickets changed by one transaction: one NULL row (every app reads everything again)
GROUP_LEVEL = "L1"  # a group's level when its name is first seen (``models.Group.level``'s default)
_EVENT_COLUMNS = ("ticket_id", "at", "kind", "author", "public", "body", "from_value", "to", "reason")


class SQL(Protocol):
    postgresql: bool

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement (``?`` for each parameter); the number of rows it changed."""

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def column(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The first column of the rows a query returns."""


def instant(value: datetime, postgresql: bool) -> Any:
    """An instant as the store writes it (``types.UTCDateTime``, then SQLAlchemy's SQLite ``DATETIME``)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store: every instant must carry its zone")
    value = value.astimezone(UTC)
    if postgresql:
        return value
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def _value(value: Any, postgresql: bool) -> Any:
    return instant(value, postgresql) if isinstance(value, datetime) else value


def write_change(
    db: SQL,
    t: TicketRecord,
    values: dict[str, Any],
    events: Sequence[NewEvent],
    now: datetime,
    user: str,
    insert_events: bool = True,
) -> None:
    """Write one change of one ticket read at ``t.version``: its row (``values``, the version bump among them)
    guarded by the version read (Conflict when another writer got in between), its history events (unless
    ``insert_events`` is false: the caller writes them, the service with the mail's outbox), the end of its
    escalations when it stops, and the names seen (for completion)."""
    pg = db.postgresql
    names = list(values)
    sets = ", ".join(f'"{name}" = ?' for name in names)
    params = [_value(values[name], pg) for name in names]
    changed = db.execute(f"UPDATE tickets SET {sets} WHERE id = ? AND version = ?", [*params, t.id, t.version])
    if changed != 1:  # another writer got in between (PostgreSQL read committed)
        raise Conflict(f"ticket {t.key}: changed by someone else while saving; reload it", current_version=None)
    if insert_events:
        columns = ", ".join(f'"{c}"' for c in _EVENT_COLUMNS)
        marks = ", ".join("?" for _ in _EVENT_COLUMNS)
        rows = [[_value(row[c], pg) for c in _EVENT_COLUMNS] for row in (e.row(t.id) for e in events)]
        db.executemany(f"INSERT INTO events ({columns}) VALUES ({marks})", rows)
    if values.get("status") in workflow.STOPPED:
        # the ticket's end ends its escalations: nobody is left to acknowledge or return them (a reopen
        # does not reopen them; the rules may raise new ones in the new cycle)
        db.execute(
            "UPDATE escalations SET closed_at = ?, closed_by = ?, outcome = ?"
            " WHERE ticket_id = ? AND closed_at IS NULL",
            [instant(now, pg), user, values["status"], t.id],
        )
    register(db, [user], [values["group_name"]] if "group_name" in values else [], wrote=True)


def register(db: SQL, agents: Iterable[str | None], groups: Iterable[str | None], wrote: bool = False) -> None:
    """Remember agent and group names (for completion); never fails on a name seen before. ``wrote``: the
    agents changed the desk (or its imported history), which makes them known agents. New names are numbered
    in the order given (an import gives them in the order its file names them)."""
    for table, given in (("agents", agents), ("groups", groups)):
        names = [n for n in dict.fromkeys(given) if n is not None]  # a row without an assignee or group: None
        if not names:
            continue
        ordered = sorted(names)
        known = set()
        for i in range(0, len(ordered), 900):  # SQLite's variable limit
            chunk = ordered[i : i + 900]
            marks = ", ".join("?" for _ in chunk)
            known.update(db.column(f"SELECT name FROM {table} WHERE name IN ({marks})", chunk))
        new = [n for n in names if n not in known]
        if new:
            if table == "agents":
                db.executemany("INSERT INTO agents (name, wrote) VALUES (?, ?)", [[n, wrote] for n in new])
            else:
                db.executemany("INSERT INTO groups (name, level) VALUES (?, ?)", [[n, GROUP_LEVEL] for n in new])
        if wrote and table == "agents" and known:
            old = sorted(known)
            for i in range(0, len(old), 900):
                chunk = old[i : i + 900]
                marks = ", ".join("?" for _ in chunk)
                db.execute(f"UPDATE agents SET wrote = ? WHERE name IN ({marks}) AND wrote = ?", [True, *chunk, False])


def record_feed(db: SQL, ids: Sequence[int] | None) -> str:
    """Append the tickets a transaction changed (``ids``; None: any ticket) to the feed of ticket changes
    (``ticket_changes``, read by ``changes.py``), drop the rows older than the newest ``FEED_KEEP``; returns what
    PostgreSQL's notification carries: their ids, comma-separated, or ``*`` for any ticket."""
    if ids is not None and len(ids) > FEED_MOST:
        ids = None
    rows: list[list[int | None]] = [[i] for i in ids] if ids is not None else [[None]]
    db.executemany("INSERT INTO ticket_changes (ticket_id) VALUES (?)", rows)
    newest = (db.column("SELECT max(seq) FROM ticket_changes") or [0])[0] or 0
    if newest > FEED_KEEP:
        db.execute("DELETE FROM ticket_changes WHERE seq <= ?", [newest - FEED_KEEP])
    return "*" if ids is None else ",".join(map(str, ids))


def notify(db: SQL, payload: str, escalated: bool = False) -> None:
    """PostgreSQL: tell every listener (``changes.py``) which tickets this transaction changed (``payload``: their
    ids, ``*`` for any; empty when no ticket changed, only something else), and whether it raised an escalation
    (``ESCALATION_CHANNEL``, after the first), delivered when it commits."""
    if len(payload) > 7000:  # (a notification carries at most 8000 bytes)
        payload = "*"
    if escalated:
        db.column("SELECT pg_notify(?, ?), pg_notify(?, '')", [NOTIFY_CHANNEL, payload, ESCALATION_CHANNEL])
    else:
        db.column("SELECT pg_notify(?, ?)", [NOTIFY_CHANNEL, payload])
