"""The command line's ``update`` through the database's driver alone (``sqlite3``, ``psycopg``): the service's rules
and statements without the store's libraries.

A command that writes one change spent most of its time importing SQLAlchemy, SQLModel with pydantic and the 22
table models (about 0.7 s of CPU before its transaction). Here the change goes through the same rules as the
service's (``change.ChangeRules``: what it may say, what it does, its instant, its deadlines and version) and the
same statements (``writes.write_change``, the feed of changes ``writes.record_feed`` and PostgreSQL's ``notify``),
run on the driver's connection in one transaction that takes the write lock before it reads the ticket (as
``Store.write``). Whatever this way does not do is left to the store, which then does the whole change: a desk the
plain reads would not open (to create, migrate or derive again: ``plain.open_plain``), a desk that sends mail (the
outbox is the service's), the desk's lock or the ticket's row not had within ``PLAIN_WRITE_WAIT_S`` (the store
keeps trying for its retry window), any other error of the driver, another writer in between (the store's
write retries it); a server lost in the middle is the store's one line (``deskfile.lost_connection``). A change
refused by the rules is refused here, with the same words.
``tests/store/test_plain_update.py`` applies random changes both ways and compares the two desks.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..change import Change, ChangeRules, _expect
from ..errors import Conflict
from . import writes
from .plain import PlainDesk, _driver_errors, open_plain

if TYPE_CHECKING:
    from ..clock import Clock
    from ..config import Config


class DriverSQL:
    """``writes.SQL`` on a DBAPI connection, in its transaction."""

    def __init__(self, conn: Any, postgresql: bool) -> None:
        self.conn = conn
        self.postgresql = postgresql
        self._mark = "%s" if postgresql else "?"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = self.conn.cursor()
        try:
            cur.execute(sql.replace("?", self._mark), tuple(params))
            return int(cur.rowcount)
        finally:
            cur.close()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        cur = self.conn.cursor()
        try:
            cur.executemany(sql.replace("?", self._mark), [tuple(r) for r in rows])
        finally:
            cur.close()

    def column(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cur = self.conn.cursor()
        try:
            cur.execute(sql.replace("?", self._mark), tuple(params))
            return [row[0] for row in cur.fetchall()]
        finally:
            cur.close()


@dataclass
class PlainWriter(PlainDesk, ChangeRules):
    """An open desk in a write transaction, read through its driver, with the rules of a change."""

    user: str = ""

    def seen_agents(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT name FROM agents WHERE wrote")]

    def update(self, key: str | int, change: Change, expect_version: int | None = None) -> int:
        """``Desk.update``, in this transaction (committed): the ticket's new version."""
        change = self.checked(change)
        t = self.ticket(key)
        _expect(t, expect_version)
        now = self._stamp(t.updated_at)
        values, events = self._apply(t, change, now)
        version = self._finish(t, values, events, now)
        sql = DriverSQL(self.conn, self.postgresql)
        writes.write_change(sql, t, values, events, now, self.user)
        payload = writes.record_feed(sql, [t.id])
        if self.postgresql:
            writes.notify(sql, payload)
        self.conn.commit()
        return version


def update_plain(
    db: str | os.PathLike | None,
    config: Config,
    key: str | int,
    change: Change,
    expect_version: int | None = None,
    clock: Clock | None = None,
    user: str | None = None,
) -> int | None:
    """``Desk.update`` through the driver alone: the ticket's new version, or None when the store is to do it
    (nothing was written). The rules' refusals (BadInput, Refused, a Conflict with ``expect_version``) are
    raised as the service raises them."""
    if config.mail is not None:  # a reply or a resolution may queue mail: the service's outbox
        return None
    desk = open_plain(db, config, clock, write=True)
    if desk is None:
        return None
    writer = PlainWriter(desk.conn, desk.postgresql, desk.config, desk.clock, config.acting_agent(user))
    try:
        return writer.update(key, change, expect_version)
    except Conflict as exc:
        if exc.current_version is not None:  # the version asked for is not the ticket's
            raise
        return None  # another writer got in between: the store's write runs it again on the fresh row
    except _driver_errors(desk.postgresql) as exc:
        if desk.postgresql and desk.conn.broken:  # the server went away: the store's words, not its retry
            from .deskfile import db_url, lost_connection, without_password

            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            raise lost_connection(without_password(db_url(db)), lines[0] if lines else type(exc).__name__) from None
        return None  # busy, refused by the server: the store tries, and says what is wrong
    finally:
        try:
            writer.close()  # (rolls back what was not committed)
        except _driver_errors(desk.postgresql):
            pass  # (the connection is gone: nothing was committed)
