"""Who has which ticket open, and who is typing on it: presence, apart from the tickets' stream of changes.

Every running app publishes what its agent has open (a ticket, and whether a reply or a note is being typed)
with a heartbeat every ``HEARTBEAT`` seconds; a row not refreshed for ``EXPIRE`` seconds is an app that died
(or a connection that dropped), and is ignored, then removed. A closing app removes its row.

Presence must never wake the other apps' reloads: on SQLite it lives in a file of its own beside the desk
(``<desk>.presence``, same mode), so its heartbeats neither move the desk's ``data_version`` (which every app
polls for other agents' changes) nor take the desk's write lock; on PostgreSQL it is the ``presence`` table,
written outside ``Store.write`` so that no ``NOTIFY deskterm`` is sent. Readers ask at most once a second
(SQLite: only when the presence file's ``data_version`` moved). All of it runs in the app's presence thread,
never on the event loop.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine import FILE_MODE, Store, _create_desk_file

HEARTBEAT = 2.0  # seconds between two heartbeats of an app whose state did not change
EXPIRE = 6.0  # seconds without a heartbeat after which an app counts as gone

ACTIVITIES = ("viewing", "replying", "noting")


@dataclass(frozen=True, order=True)
class Seen:
    """One other app's agent and what they have open (``ticket_id`` None: no ticket, the queue)."""

    agent: str
    ticket_id: int | None
    activity: str


class Presence:
    """The presence of the apps on one desk. Not thread-safe: one thread (the app's presence worker) uses it."""

    def publish(self, app_id: str, agent: str, ticket_id: int | None, activity: str, now: float) -> None:
        raise NotImplementedError

    def leave(self, app_id: str) -> None:
        raise NotImplementedError

    def others(self, app_id: str, now: float) -> list[Seen]:
        """What the other live apps have open (this app's row left out), oldest heartbeat rows pruned."""
        raise NotImplementedError

    def changed(self) -> bool:
        """Whether anything may have been published since the last call (cheap; True when it cannot tell)."""
        return True

    def close(self) -> None:
        pass


class SqlitePresence(Presence):
    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS presence (app TEXT PRIMARY KEY, agent TEXT NOT NULL, ticket_id INTEGER,"
        " activity TEXT NOT NULL, seen_at REAL NOT NULL)"
    )

    def __init__(self, path: Path) -> None:
        if not path.exists():
            _create_desk_file(path)  # O_EXCL | O_NOFOLLOW, the desk's mode
        self.path = path
        self._conn = sqlite3.connect(str(path), timeout=1.0, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout=1000")  # a heartbeat that waits longer is skipped, not queued
        if self._conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=OFF")  # presence is worth nothing after a crash
        self._conn.execute(self.SCHEMA)
        self._version = -1

    def publish(self, app_id: str, agent: str, ticket_id: int | None, activity: str, now: float) -> None:
        try:
            self._conn.execute(
                "INSERT OR REPLACE INTO presence (app, agent, ticket_id, activity, seen_at) VALUES (?, ?, ?, ?, ?)",
                (app_id, agent, ticket_id, activity, now),
            )
        except sqlite3.OperationalError:  # busy beyond a second: the next heartbeat will do
            pass

    def leave(self, app_id: str) -> None:
        try:
            self._conn.execute("DELETE FROM presence WHERE app = ?", (app_id,))
        except sqlite3.Error:
            pass

    def others(self, app_id: str, now: float) -> list[Seen]:
        rows = self._conn.execute(
            "SELECT agent, ticket_id, activity, seen_at FROM presence WHERE app != ?", (app_id,)
        ).fetchall()
        if any(seen < now - 10 * EXPIRE for *_, seen in rows):
            try:  # rows of apps long dead: anyone may remove them
                self._conn.execute("DELETE FROM presence WHERE seen_at < ?", (now - 10 * EXPIRE,))
            except sqlite3.OperationalError:
                pass
        return sorted(Seen(a, t, act) for a, t, act, seen in rows if seen >= now - EXPIRE)

    def changed(self) -> bool:
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        moved, self._version = version != self._version, version
        return moved

    def close(self) -> None:
        self._conn.close()


class ServerPresence(Presence):
    """PostgreSQL: the ``presence`` table (migration 0007), in autocommit on a connection of its own."""

    def __init__(self, store: Store) -> None:
        fairy = store.engine.raw_connection()
        conn: Any = fairy.driver_connection  # psycopg's connection itself
        fairy.detach()
        conn.rollback()
        conn.autocommit = True
        self._conn = conn

    def publish(self, app_id: str, agent: str, ticket_id: int | None, activity: str, now: float) -> None:
        self._conn.execute(
            "INSERT INTO presence (app, agent, ticket_id, activity, seen_at) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (app) DO UPDATE SET agent = EXCLUDED.agent, ticket_id = EXCLUDED.ticket_id,"
            " activity = EXCLUDED.activity, seen_at = EXCLUDED.seen_at",
            (app_id, agent, ticket_id, activity, now),
        )

    def leave(self, app_id: str) -> None:
        self._conn.execute("DELETE FROM presence WHERE app = %s", (app_id,))

    def others(self, app_id: str, now: float) -> list[Seen]:
        self._conn.execute("DELETE FROM presence WHERE seen_at < %s", (now - 10 * EXPIRE,))
        rows = self._conn.execute(
            "SELECT agent, ticket_id, activity FROM presence WHERE app != %s AND seen_at >= %s", (app_id, now - EXPIRE)
        ).fetchall()
        return sorted(Seen(a, t, act) for a, t, act in rows)

    def close(self) -> None:
        try:
            self._conn.close()
        except Exception:  # noqa: BLE001 - already gone
            pass


class Keeper:
    """One app's side of presence, one ``step`` at a time (the app's presence thread calls it about four times
    a second): publishes the app's state when it changed and every ``HEARTBEAT``; reads the others' when the
    presence moved, and every ``HEARTBEAT`` (an app that died must be seen to go); returns what the others
    have open when that differs from the last answer, else None."""

    def __init__(self, presence: Presence, app_id: str, agent: str) -> None:
        self.presence, self.app_id, self.agent = presence, app_id, agent
        self._published: tuple[int | None, str] | None = None
        self._beat = self._read = 0.0
        self._shown: dict[int, list[tuple[str, str]]] = {}  # the screens start with nobody shown

    def step(self, state: tuple[int | None, str], now: float) -> dict[int, list[tuple[str, str]]] | None:
        try:
            if state != self._published or now - self._beat >= HEARTBEAT:
                self.presence.publish(self.app_id, self.agent, state[0], state[1], now)
                self._published, self._beat = state, now
            if not (self.presence.changed() or now - self._read >= HEARTBEAT):
                return None
            self._read = now
            seen: dict[int, list[tuple[str, str]]] = {}
            for s in self.presence.others(self.app_id, now):
                if s.ticket_id is not None:  # this agent's other windows too: a reply typed twice is a collision
                    seen.setdefault(s.ticket_id, []).append((s.agent, s.activity))
        except Exception:  # noqa: BLE001 - a busy or lost desk: publish again at the next step
            self._published = None
            return None
        if seen == self._shown:
            return None
        self._shown = seen
        return seen

    def leave(self) -> None:
        try:
            self.presence.leave(self.app_id)
        except Exception:  # noqa: BLE001 - the row expires anyway
            pass
        self.presence.close()


def presence_path(store: Store) -> Path | None:
    return Path(f"{store.path}.presence") if store.path else None


def open_presence(store: Store) -> Presence | None:
    """The presence of ``store``'s desk; None where it cannot be kept (an in-memory or read-only desk)."""
    try:
        if store.is_sqlite:
            path = presence_path(store)
            if path is None or not os.access(path.parent, os.W_OK):
                return None
            return SqlitePresence(path)
        return ServerPresence(store)
    except Exception:  # noqa: BLE001 - presence is a comfort: a desk without it still works
        return None


__all__ = [
    "ACTIVITIES",
    "EXPIRE",
    "FILE_MODE",
    "HEARTBEAT",
    "Keeper",
    "Presence",
    "Seen",
    "open_presence",
    "presence_path",
]
