"""Helpers for the screen tests (a module, not fixtures: tests import them by name)."""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)  # a Friday afternoon, inside office hours
SIZE = (120, 40)


async def workers_done(app) -> None:
    """Wait for the app's workers and its reader's jobs (tui/reader.py). A worker that a newer one replaced (an
    exclusive worker: the handover or the dashboard reloading when the app's rules change the desk at start) ends
    cancelled: wait for the newer. A worker that failed has had its error handed to the app
    (``DeskApp._handle_exception``: a notice for a desk that stopped answering, else a crash the test sees in the
    return code): wait for the others."""
    import asyncio

    from textual.worker import WorkerCancelled, WorkerFailed

    reader = getattr(app, "reader", None)  # the live refresh's thread (tui/reader.py)
    for _ in range(50):
        try:
            await app.workers.wait_for_complete()
        except (WorkerCancelled, WorkerFailed):
            await asyncio.sleep(0)  # the ended worker leaves the manager in its done callback
            continue
        if reader is None or not reader.busy:
            return
        await reader.idle()  # (what it hands back may start workers: wait for them too)


async def ready(pilot) -> None:
    """Wait until the store is open and the queue shows its rows (and the tab counts are in)."""
    app = pilot.app
    for _ in range(200):
        await workers_done(app)
        await pilot.pause()
        table = app.screen.query("QueueTable")
        if table and table.first().loaded:
            await workers_done(app)
            # the screen repaints on its own update timer, which pause() alone does not wait for
            await pilot.pause(0.1)
            return
    raise AssertionError("the queue never loaded")


async def settle(pilot) -> None:
    await workers_done(pilot.app)
    await pilot.pause()
    await keys_handed_out(pilot)
    await pilot.pause()


async def keys_handed_out(pilot) -> None:
    """Wait until the app's key gate (tui/keygate.py) has handed out every key typed and settled after the last one
    (a key held while a ticket is read or a dialog opens is handled only then: on a loaded machine, after any
    number of pauses). A gate parked for a screen's first rows with nothing held is settled. Bounded by the gate's
    own limit, after which it opens by itself."""
    import time

    gate = getattr(pilot.app, "keygate", None)
    if gate is None:
        return
    deadline = time.monotonic() + gate.LIMIT + 1
    while (gate.held or (gate.busy and not gate.settled)) and time.monotonic() < deadline:
        await pilot.pause(0.01)
        await workers_done(pilot.app)  # (what the keys started)


def said(app) -> list:
    """Every notification the app has raised, oldest first, including those whose toast has gone (the
    ``notifications_kept`` fixture of tests/tui/conftest.py)."""
    return list(getattr(app._notifications, "said", []))


def lines(table) -> list[str]:
    """The text of the table's visible row lines, as rendered."""
    return ["".join(s.text for s in table.render_line(y)) for y in range(1, table.rows_visible + 1)]


async def until(pilot, predicate, tries: int = 100, what: str = "condition", seconds: float = 10.0) -> None:
    """Settle until ``predicate()`` holds (workers done, messages handled), or fail naming ``what``: after
    ``tries`` settles and ``seconds`` (longer on a loaded machine: what the app's own timers wait for needs time,
    not only turns of the loop)."""
    import time

    from deskterm_testing import patience

    deadline = time.monotonic() + patience(seconds)
    done = 0
    while done < tries or time.monotonic() < deadline:
        done += 1
        await settle(pilot)
        if predicate():
            return
    raise AssertionError(f"{what} not reached")


def record_reads(monkeypatch, kept) -> list:
    """What a screen's tickets kept between computations (``kept``: the dashboard's ``Figures``, the handover's
    ``ShiftTickets``) read from the desk, in order: the set of ids of each ``refresh(changed)``, and
    ``"every ticket"`` for each one built anew. Undone with ``monkeypatch``."""
    read: list[object] = []
    refresh, whole = kept.refresh, kept.__init__

    def spy_refresh(self, changed):
        read.append(set(changed))
        refresh(self, changed)

    def spy_whole(self, *args, **kwargs):
        read.append("every ticket")
        whole(self, *args, **kwargs)

    monkeypatch.setattr(kept, "refresh", spy_refresh)
    monkeypatch.setattr(kept, "__init__", spy_whole)
    return read
