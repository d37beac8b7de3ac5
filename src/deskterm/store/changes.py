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
"""

from __future__ import annotations

import logging
from typing import Any

from .engine import NOTIFY_CHANNEL, Store

log = logging.getLogger(__name__)


class ChangeWatch:
    """``changed()`` is true when something was committed since the last call (cheap: call it every second)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn: Any = None  # SQLite: a raw DBAPI connection; PostgreSQL: the listening psycopg connection
        self._last = 0
        self._closed = False
        self._connect()

    def _connect(self) -> None:
        fairy = self.store.engine.raw_connection()
        driver: Any = fairy.driver_connection  # sqlite3 or psycopg: the DBAPI connection itself
        fairy.detach()  # ours until close(): never handed back to the pool in autocommit or listening
        if self.store.is_sqlite:
            self._conn = driver
            self._last = self._data_version()
            return
        driver.rollback()  # the pool may have begun a transaction; LISTEN must not sit in one
        driver.autocommit = True
        driver.execute(f"LISTEN {NOTIFY_CHANNEL}")
        self._conn = driver

    def _data_version(self) -> int:
        cur = self._conn.cursor()
        try:
            cur.execute("PRAGMA data_version")
            return int(cur.fetchone()[0])
        finally:
            cur.close()

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
        if self._closed:
            return False
        if self._conn is None:  # lost earlier and not back yet
            self._reconnect()
            return self._conn is not None  # listening again: reload once
        if self.store.is_sqlite:
            value = self._data_version()
            if value != self._last:
                self._last = value
                return True
            return False
        try:
            pgconn = self._conn.pgconn
            pgconn.consume_input()  # reads what the server already sent; no query, no round trip
            arrived = False
            while pgconn.notifies() is not None:
                arrived = True
            return arrived
        except Exception as exc:  # noqa: BLE001 - the server restarted, the network dropped: listen again
            log.info("change watch: listening again after %s", exc)
            self._reconnect()
            return True  # whatever happened while we were not listening is unknown: reload once

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
