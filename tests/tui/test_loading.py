"""Issue 17: the app's long work says how far it has got instead of an empty screen.

The queue's status line, while the first rows are not shown, says what is being loaded ("SLA changed: deriving
deadlines: 0 of 41…" when the store derives every open ticket's deadlines again at start; "Reading the queue:
41…"), and the app's own keys (q, ?, ctrl+p) do not wait for the rows; the dashboard's and the handover's first
computation say it in their title. To see a step while it is on its way, the work is held at the first report of
that step (``Hold``: the progress hook waits for the test, in the worker's thread): only the test slows it, the
desk, its reads and its writes are real.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import tomllib

import pytest
from textual.command import CommandPalette
from tuihelp import ready

from deskterm.config import parse_config
from deskterm.store import queries
from deskterm.store.engine import open_store
from deskterm.store.queue import QueueQuery
from deskterm.tui import loading
from deskterm.tui.keys import KeysScreen
from deskterm.tui.screens import dashboard as dashboard_screen
from deskterm.tui.screens import handover as handover_screen
from deskterm.tui.screens.dashboard import DashboardScreen
from deskterm.tui.screens.handover import HandoverScreen

SMALL = (80, 24)


class Hold:
    """The app's progress hook (``loading.Told``), held at the first report of each step named in ``at`` until
    ``release(step)``; every report that reaches the hook is kept in ``seen``."""

    def __init__(self, monkeypatch, *at: str) -> None:
        self.seen: list[tuple[str, int, int | None]] = []
        self.reached = {step: threading.Event() for step in at}
        self.go = {step: threading.Event() for step in at}
        told = loading.Told.__call__
        hold = self

        def held(self, what: str, done: int, total: int | None) -> None:
            hold.seen.append((what, done, total))
            told(self, what, done, total)  # (posted first: the screen shows it while the work waits)
            for step, reached in hold.reached.items():
                if what.endswith(step) and not reached.is_set():
                    reached.set()
                    hold.go[step].wait(timeout=60)
            if self.gone is not None and self.gone():  # (as the next report would: the work stops)
                raise loading.Stopped(what)

        monkeypatch.setattr(loading.Told, "__call__", held)

    async def reach(self, pilot, step: str) -> None:
        """Wait (the app running) until the work is held at ``step``, and its report is on the screen."""
        deadline = time.monotonic() + 60
        while not self.reached[step].is_set():
            assert time.monotonic() < deadline, f"{step} never reported"
            await pilot.pause(0.05)
        await pilot.pause(0.2)

    def release(self, *steps: str) -> None:
        for step in steps or tuple(self.go):
            self.go[step].set()


def _status(app) -> str:
    return str(app.screen.query_one("#queue-status").render())


def _changed(demo):
    """The demo's configuration with every policy warning at another share of its target: another SLA
    configuration, so that the store derives every open ticket's deadlines again as the app opens."""
    db, config, clock = demo
    path = db.parent / "deskterm.toml"
    text = re.sub(r"(?m)^warn_at = .*$", "warn_at = 0.6", path.read_text(encoding="utf-8"))
    changed = parse_config(tomllib.loads(text), str(path))
    assert changed.sla_fingerprint != config.sla_fingerprint
    store = open_store(db)
    with store.read() as session:
        opened = len(queries.load_tickets(session, ["new", "open", "pending", "on_hold"], with_events=False))
    store.dispose()
    return changed, opened


def _fingerprint(db) -> str | None:
    store = open_store(db)
    try:
        with store.read() as session:
            return queries.meta_value(session, "sla_config")
    finally:
        store.dispose()


async def test_the_queue_says_what_it_loads_and_the_apps_keys_work_meanwhile(make_app, demo, monkeypatch):
    changed, opened = _changed(demo)
    hold = Hold(monkeypatch, "deriving deadlines", "reading the queue")
    # the whole order read at once, as for a sort but time to breach: no first screenful read ahead of it
    monkeypatch.setattr(QueueQuery, "head", lambda self, n: None)
    app = make_app(config=changed)
    try:
        async with app.run_test(size=SMALL) as pilot:
            await hold.reach(pilot, "deriving deadlines")
            assert _status(app) == f"SLA changed: deriving deadlines: 0 of {opened}…"
            table = app.screen.query_one("QueueTable")
            assert not table.loaded
            # the app's own keys do not wait for the rows: ? shows the keys, escape closes them, ctrl+p the palette
            await pilot.press("question_mark")
            await pilot.pause(0.2)
            assert isinstance(app.screen, KeysScreen) and not table.loaded
            await pilot.press("escape")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, KeysScreen)
            await pilot.press("ctrl+p")
            await pilot.pause(0.3)
            assert isinstance(app.screen, CommandPalette) and not table.loaded
            await pilot.press("escape")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, CommandPalette)
            hold.release("deriving deadlines")
            await hold.reach(pilot, "reading the queue")
            assert re.fullmatch(r"Reading the queue: \d+…", _status(app)), _status(app)
            assert not table.loaded
            hold.release()
            await ready(pilot)
            assert table.loaded and _status(app).startswith(f"{table.total} tickets")
        steps = {what: (done, total) for what, done, total in hold.seen}  # the last report of each step
        assert steps["SLA changed: reading histories"] == (opened, opened)
        assert steps["SLA changed: deriving deadlines"] == (opened, opened)
        written, of = steps["SLA changed: writing deadlines"]
        assert 0 < written == of <= opened
        assert _fingerprint(demo[0]) == changed.sla_fingerprint
    finally:
        hold.release()


async def test_quitting_while_deadlines_are_derived_again_stops_at_once(make_app, demo, monkeypatch):
    """``q`` while the store derives the deadlines again: the app leaves, the work stops at its next report, and
    nothing is written (the next start derives them again)."""
    changed, _ = _changed(demo)
    before = _fingerprint(demo[0])
    hold = Hold(monkeypatch, "deriving deadlines")
    app = make_app(config=changed)
    try:
        async with app.run_test(size=SMALL) as pilot:
            await hold.reach(pilot, "deriving deadlines")
            await pilot.press("q")
            await pilot.pause(0.1)
            assert app.leaving
            hold.release()
        assert app.return_code in (0, None)
        assert _fingerprint(demo[0]) == before != changed.sla_fingerprint
    finally:
        hold.release()


@pytest.mark.parametrize(
    ("screen", "module", "step", "title"),
    [
        (DashboardScreen, dashboard_screen, "computing KPIs", "Dashboard"),
        (HandoverScreen, handover_screen, "computing the handover", "Shift handover"),
    ],
)
async def test_the_first_computation_says_how_far_it_has_got(make_app, monkeypatch, screen, module, step, title):
    """The dashboard's and the handover's first computation, once it has taken ``SLOW`` seconds (here at once),
    say their step and count in the title; closed before it ends, the computation stops (no crash, no result)."""
    monkeypatch.setattr(module, "SLOW", 0.0)
    hold = Hold(monkeypatch, step)
    app = make_app()
    try:
        async with app.run_test(size=SMALL) as pilot:
            await ready(pilot)
            shown = screen()
            await app.push_screen(shown)
            await hold.reach(pilot, step)
            heading = str(shown.query_one(f"#{'dash' if screen is DashboardScreen else 'hand'}-title").render())
            assert re.fullmatch(rf"{title} · {step}: 0 of \d+…", heading), heading
            await pilot.press("escape")
            await pilot.pause(0.1)
            assert app.screen is not shown
            hold.release()
            await app.workers.wait_for_complete()
            await asyncio.sleep(0)
            assert not [w for w in app.workers if w.node is shown]
            await pilot.press("j")  # the app goes on
        assert app.return_code in (0, None)
        assert all(total is not None and done <= total for what, done, total in hold.seen if what == step)
    finally:
        hold.release()
