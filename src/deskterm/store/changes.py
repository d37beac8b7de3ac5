"""Noticing changes committed by anyone else, for the screens' live refresh, on both engines.

SQLite: ``PRAGMA data_version`` on a connection of the watch's own. The value is per connection (it
changes when *another* connection commits a change), so asking pooled connections in turn would report
changes that did not happen; a raw DBAPI connection in autocommit never pins a WAL snapshot.

PostgreSQL: ``LISTEN deskterm`` on a connection of the watch's own, and every write transaction that
changed a row sends ``NOTIFY deskterm`` (``Store.write``). The server delivers a notification when the
transaction commits, to every listener on every host, and never for a rollback; asking costs no round
trip (libpq reads what already arrived on the socket). A fingerprint read by polling would not do:
sequence values are taken in one order and committed in another, so "the highest id" can stay the same
while a transaction that took a lower id commits, and a change that appends no row (a recomputed
deadline) moves no id at all.

Which tickets changed (issue 17): every write transaction that changes tickets names them (``engine.changed``,
``Store.write``): on SQLite it appends their ids to the ``ticket_changes`` feed, which is read from the last
row seen (one primary-key range, a few rows), on PostgreSQL its notification carries them. ``changes()`` says
which tickets changed since the last call, so that a screen touches only their rows and counts; ``ANY`` when
that is not known (an import, deadlines derived again, a write that named no ticket, an app that fell behind
the feed's newest rows or lost its connection): the screens then read everything again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from .engine import ESCALATION_CHANNEL, NOTIFY_CHANNEL, Store

log = logging.getLogger(__name__)
_ESCALATION_CHANNEL = ESCALATION_CHANNEL.encode()


@dataclass(frozen=True)
class Changes:
    """What was committed since the last look: ``tickets``, the tickets that changed (empty: none, only other
    rows: an agent's shift, presence), or None when any ticket may have changed."""

    tickets: frozenset[int] | None


ANY = Changes(None)


def data_version(conn: Any) -> int:
    """SQLite's count of the commits other connections made to the file, as ``conn`` (a sqlite3 connection) sees it:
    it moves when anyone else commits (``PRAGMA data_version``: no transaction, a few microseconds)."""
    cur = conn.cursor()
    try:
        cur.execute("PRAGMA data_version")
        return int(cur.fetchone()[0])
    finally:
        cur.close()


class Peek:
    """SQLite: whether anyone committed to the desk since the last ``moved()`` (``PRAGMA data_version`` on a
    connection of its own, a few microseconds, no transaction), for a thread that wakes anyway (the app's presence
    thread) to tell the event loop to look at the feed only then: waking the event loop four times a second to
    find that nothing moved cost an idle app about 1 ms of CPU a second (issue 17). ``ChangeWatch`` still says
    what changed; this only says when to ask it. Make it, use it and close it in one thread."""

    def __init__(self, store: Store) -> None:
        fairy = store.engine.raw_connection()
        self._conn: Any = fairy.driver_connection
        fairy.detach()  # ours until close()
        self._last = data_version(self._conn)

    def moved(self) -> bool:
        """True when a commit happened since the last call (or the counter cannot be read: let the watch look)."""
        try:
            value = data_version(self._conn)
        except Exception:  # noqa: BLE001 - the desk's trouble is the watch's to find and say
            return True
        if value == self._last:
            return False
        self._last = value
        return True

    def close(self) -> None:
        try:
            self._conn.close()
        except Exception:  # noqa: BLE001 - already gone
            pass


class ChangeWatch:
    """``changed()`` is true when something was committed since the last call (cheap: call it every second)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn: Any = None  # SQLite: a raw DBAPI connection; PostgreSQL: the listening psycopg connection
        self._last = 0
        self._seq: int | None = None  # SQLite: the last row of the feed seen (None: no feed, every change is ANY)
        self._closed = False
        # when (time.monotonic()) the last look began: whatever was committed before it, it has reported (the queue
        # trusts deadlines read before it: queue.py ``follow``)
        self.read_at: float | None = None
        # SQLite: the highest escalation id when the last change was seen (read with the feed: the app then looks
        # for new escalations only when there are some); None: not known (PostgreSQL), the app looks each time
        self.latest_escalation: int | None = None
        # PostgreSQL: whether the changes of the last look may have raised an escalation (a notification on
        # ``ESCALATION_CHANNEL``, or any change: a reload); None on SQLite (``latest_escalation`` says it)
        self.escalated: bool | None = None
        self._connect()

    def _connect(self) -> None:
        fairy = self.store.engine.raw_connection()
        driver: Any = fairy.driver_connection  # sqlite3 or psycopg: the DBAPI connection itself
        fairy.detach()  # ours until close(): never handed back to the pool in autocommit or listening
        if self.store.is_sqlite:
            self._conn = driver
            self._last = data_version(self._conn)
            self._seq = self._newest()
            return
        driver.rollback()  # the pool may have begun a transaction; LISTEN must not sit in one
        driver.autocommit = True
        driver.execute(f"LISTEN {NOTIFY_CHANNEL}")
        driver.execute(f"LISTEN {ESCALATION_CHANNEL}")
        self._conn = driver

    def _newest(self) -> int | None:
        cur = self._conn.cursor()
        try:
            cur.execute("SELECT max(seq) FROM ticket_changes")
            return int(cur.fetchone()[0] or 0)
        except Exception:  # noqa: BLE001 - a desk without the feed (read as it is): every change is ANY
            return None
        finally:
            cur.close()

    def _latest_escalation(self) -> int | None:
        """The highest escalation id (SQLite: one lookup at the end of its primary key, on the watch's connection,
        a few microseconds); None when it cannot be read."""
        cur = self._conn.cursor()
        try:
            cur.execute("SELECT max(id) FROM escalations")
            return int(cur.fetchone()[0] or 0)
        except Exception:  # noqa: BLE001 - the app looks for new escalations as it did without it
            return None
        finally:
            cur.close()

    def _read_feed(self) -> Changes:
        """The tickets of the feed's rows after the last one seen (SQLite)."""
        if self._seq is None:
            self._seq = self._newest()
            return ANY
        cur = self._conn.cursor()
        try:
            cur.execute("SELECT seq, ticket_id FROM ticket_changes WHERE seq > ? ORDER BY seq", (self._seq,))
            rows = cur.fetchall()
        except Exception:  # noqa: BLE001 - read everything again; the next look tries the feed again
            self._seq = None
            return ANY
        finally:
            cur.close()
        if not rows:
            return Changes(frozenset())
        behind = rows[0][0] != self._seq + 1  # rows this app never saw were dropped: it fell too far behind
        self._seq = rows[-1][0]
        if behind or any(ticket is None for _, ticket in rows):
            return ANY
        return Changes(frozenset(ticket for _, ticket in rows))

    def fileno(self) -> int | None:
        """PostgreSQL: the listening connection's socket, readable when a notification arrives (the app wakes on
        it instead of looking at fixed times); None on SQLite, or while the connection is lost."""
        if self.store.is_sqlite or self._conn is None or self._closed:
            return None
        try:
            return int(self._conn.pgconn.socket)
        except Exception:  # noqa: BLE001 - a connection that broke: the next look listens again
            return None

    @property
    def trouble(self) -> str | None:
        """Why the server cannot be heard from (PostgreSQL: the listening connection is lost and could not be
        made again); None while it can."""
        if self._closed or self.store.is_sqlite or self._conn is not None:
            return None
        return "the desk's server cannot be reached"

    def absorb(self) -> None:
        """Forget a change this process has just committed itself (the app starting its agent's shift as it
        opens), so that it does not reload every screen for it. Call it from the thread that polls."""
        try:
            self.changed()
        except Exception:  # noqa: BLE001 - the next poll finds what is wrong
            pass

    def changed(self) -> bool:
        return self.changes() is not None

    def changes(self) -> Changes | None:
        """What was committed by anyone else since the last call (None: nothing)."""
        if self._closed:
            return None
        self.read_at = time.monotonic()
        if self._conn is None:  # lost earlier and not back yet
            self._reconnect()
            self.escalated = True
            return ANY if self._conn is not None else None  # listening again: reload once
        if self.store.is_sqlite:
            value = data_version(self._conn)
            if value != self._last:
                self._last = value
                self.latest_escalation = self._latest_escalation()
                return self._read_feed()
            return None
        try:
            pgconn = self._conn.pgconn
            pgconn.consume_input()  # reads what the server already sent; no query, no round trip
            arrived = escalated = False
            tickets: set[int] | None = set()
            while (note := pgconn.notifies()) is not None:
                arrived = True
                if bytes(note.relname) == _ESCALATION_CHANNEL:
                    escalated = True
                    continue
                payload = bytes(note.extra).decode("ascii", "replace")
                if tickets is None or payload == "*":
                    tickets = None
                elif payload:
                    try:
                        tickets.update(int(i) for i in payload.split(","))
                    except ValueError:  # not ours (someone's NOTIFY by hand): read everything again
                        tickets = None
            if not arrived:
                return None
            self.escalated = escalated or tickets is None
            return ANY if tickets is None else Changes(frozenset(tickets))
        except Exception as exc:  # noqa: BLE001 - the server restarted, the network dropped: listen again
            log.info("change watch: listening again after %s", exc)
            self._reconnect()
            self.escalated = True
            return ANY  # whatever happened while we were not listening is unknown: reload once

    def _reconnect(self) -> None:
        self._drop()
        try:
            self._connect()
        except Exception as exc:  # noqa: BLE001 - try again at the next call
            log.info("change watch: cannot listen yet: %s", exc)
            self._conn = None

    def close(self) -> None:
        self._closed = True
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - already gone
                pass
