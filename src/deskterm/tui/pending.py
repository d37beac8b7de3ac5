"""Writes in flight: the screens never wait on the desk from the event loop.

Every change a screen makes runs in a worker thread (``write_in_thread`` or ``await run_write``). While it
waits (another agent's long transaction holds the desk's write lock: a write then waits up to its retry
window, ``busy_window()``, 30 s by default) the app answers keys, the screen that asked says so (a spinner and
"saving claim #12…" in its status line, "(the desk is busy: process 4242 (sqlite3) holds its write lock)"
after a second), and its action keys are disabled until the write settles (``busy(screen)`` in the screens'
``check_action``). It settles done, refused (the ticket changed, the workflow does not allow it), or refused
because the desk stayed busy for the whole retry window: "the desk is busy: …; nothing was changed, try
again". A write that was asked from a screen left meanwhile still finishes, and says so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPIN_EVERY = 0.1  # seconds between two frames of the spinner (only while a write is pending)
SLOW_AFTER = 1.0  # seconds: a write still pending then is waiting for the lock; the line says who holds it


@dataclass(eq=False)
class Pending:
    label: str  # "claim #12", "status → pending on #12"
    owner: object  # the screen that asked
    started: float = field(default_factory=time.monotonic)


class PendingWrites:
    """The writes the app has in flight (``app.writes``), and the line that shows them."""

    def __init__(self, app) -> None:
        self.app = app
        self._items: list[Pending] = []
        self._timer = None
        self._frame = 0
        self._holder: str | None = None  # who holds the lock, looked up once a write is slow

    def start(self, label: str, owner: object) -> Pending:
        pending = Pending(label, owner)
        self._items.append(pending)
        if self._timer is None:
            self._timer = self.app.set_interval(SPIN_EVERY, self._spin, name="pending writes")
        self._changed(owners={owner})
        return pending

    def finish(self, pending: Pending) -> None:
        if pending not in self._items:
            return
        self._items.remove(pending)
        if not self._items:
            self._holder = None
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
        self._changed(owners={pending.owner})

    def busy(self, owner: object | None = None) -> bool:
        """A write is pending (one asked by ``owner``, when given)."""
        return any(owner is None or p.owner is owner for p in self._items)

    @property
    def pending(self) -> list[Pending]:
        return list(self._items)

    def line(self, owner: object | None = None) -> str:
        """``⠹ saving claim #12…``; a write pending for more than a second adds why it waits. Empty when none."""
        items = [p for p in self._items if owner is None or p.owner is owner] or self._items
        if not items:
            return ""
        first = items[0]
        more = f" (+{len(items) - 1})" if len(items) > 1 else ""
        text = f"{SPINNER[self._frame % len(SPINNER)]} saving {first.label}{more}…"
        if time.monotonic() - first.started >= SLOW_AFTER:
            text += f" the desk is busy: {self._holder or 'waiting for its write lock'}"
        return text

    def _spin(self) -> None:
        self._frame += 1
        if self._holder is None and any(time.monotonic() - p.started >= SLOW_AFTER for p in self._items):
            self._holder = _holder(self.app)
        self._changed(owners=None)

    def _changed(self, owners: set | None) -> None:
        """Tell the screens (``writes_changed``, through the app's signal: messages.py): the line moved; the keys
        of ``owners`` (None: nobody's) changed."""
        self.app.signals.writes.publish(frozenset(owners) if owners is not None else None)


def _holder(app) -> str:
    """Who holds the SQLite desk's write lock (``process 4242 (sqlite3) holds its write lock``), else a plain word."""
    desk = getattr(app, "desk", None)
    path = getattr(getattr(desk, "store", None), "path", None)
    if path:
        from ..store.engine import lock_holder

        who = lock_holder(path)
        if who:
            return who
    return "waiting for its write lock"


def refusal(exc: BaseException, db) -> str | None:
    """What to tell the agent when a write failed: the refusal (the ticket changed, the workflow), or why the desk
    did not take it (busy for the whole retry window, gone, read-only). None: a bug, to be raised."""
    from ..errors import DeskError
    from ..store.engine import Busy, explain_failure

    if isinstance(exc, DeskError) and not isinstance(exc, Busy):
        return str(exc)
    explained = explain_failure(exc, db)
    if explained is None:
        return None
    text = str(explained)
    if isinstance(explained, Busy):  # "--db: /srv/desk.db: the desk is busy: …; try again"
        at = text.find("the desk is busy")
        text = (text[at:] if at >= 0 else text).replace("; try again", "; nothing was changed, try again")
    return text


def write_in_thread(
    screen,
    label: str,
    call: Callable[[], Any],
    *,
    done: Callable[[Any], None] | None = None,
    failed: Callable[[str], None] | None = None,
) -> Pending:
    """Run ``call`` (a change through ``Desk``) in a thread of the app: ``screen`` shows it pending and its action
    keys are off until it settles. Then, on the event loop, ``done(result)``, or ``failed(message)`` with why it was
    refused (by default a warning titled "Not saved: <label>"). Errors that are not the desk's are raised (bugs)."""
    app = screen.app
    pending = app.writes.start(label, screen)

    def work() -> None:
        try:
            result = call()
        except Exception as exc:
            message = refusal(exc, app.db)
            if message is None:
                app.call_from_thread(app.writes.finish, pending)
                raise
            app.call_from_thread(_settle, app, pending, lambda: (failed or _default_failed(app, label))(message))
            return
        app.call_from_thread(_settle, app, pending, (lambda: done(result)) if done is not None else None)

    app.run_worker(work, thread=True, group="writes", name=f"write: {label}")
    return pending


def _settle(app, pending: Pending, then: Callable[[], None] | None) -> None:
    app.writes.finish(pending)
    if then is not None:
        then()


def _default_failed(app, label: str) -> Callable[[str], None]:
    return lambda message: app.notify(message, title=f"Not saved: {label}", severity="warning", timeout=10)


async def run_write(screen, label: str, call: Callable[[], Any]) -> Any:
    """``await`` a change run in a thread, the screen showing it pending meanwhile; raises what ``call`` raised.
    The pending state ends when the thread does, even if the awaiting task was cancelled (the screen left)."""
    app = screen.app
    pending = app.writes.start(label, screen)
    loop = asyncio.get_running_loop()

    def work() -> Any:
        try:
            return call()
        finally:
            loop.call_soon_threadsafe(app.writes.finish, pending)

    return await asyncio.to_thread(work)
