"""Keystroke latency while another process holds the desk's write lock (issue 14), beside the same keys without it.

The desk is the queue benchmark's (``build_demo(story=False)``, built once and cached in the temporary directory;
20,000 tickets by default). The app runs in process under ``App.run_test`` at 80x24 with a driver that renders as
a terminal would and notes when each frame is written (benchmarks/queue.py). Each key is timed from the key to the
first frame it causes; ``loop stall`` is the longest the event loop went without running a 5 ms ticker meanwhile
(a frozen screen shows there, whatever the keys).

Two phases in the same run, each on the queue ("Unassigned") and on the ticket screen:

- baseline: no lock. ``j``/``k`` (20 each; ``down``/``up`` on the ticket screen, which scroll the story);
  ``c`` claims the ticket under the cursor; ``s`` opens the status list and ``enter`` applies a choice; on the
  ticket screen ``r`` opens the reply editor and ``ctrl+s`` sends it. Each change ``--rounds`` times.
- held lock: another process (a plain ``sqlite3`` connection) holds the write lock (``BEGIN IMMEDIATE``) while the
  same keys are pressed: each change waits in a thread, ``j``/``k`` are pressed 5 times while it waits; then
  the lock is released and the time until the change has landed is noted. A safety timer releases the lock
  after ``--hold`` seconds whatever happens (a screen that froze on the write shows as a key of that length).

Usage: ``python benchmarks/held_lock.py [--tickets 20000] [--hold 8]``. Goal: every key under 50 ms.
"""

from __future__ import annotations

import os
import sys

# benchmarks/queue.py would shadow the standard library's queue (asyncio needs it): keep this directory off the path
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]

import argparse  # noqa: E402 - after the path fix above
import asyncio  # noqa: E402 - after the path fix above
import importlib.util  # noqa: E402 - after the path fix above
import statistics  # noqa: E402 - after the path fix above
import subprocess  # noqa: E402 - after the path fix above
import tempfile  # noqa: E402 - after the path fix above
import threading  # noqa: E402 - after the path fix above
import time  # noqa: E402 - after the path fix above
from pathlib import Path  # noqa: E402 - after the path fix above

HOLD = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


def _queue_bench():
    """benchmarks/queue.py under another name (its desk, its counting driver)."""
    spec = importlib.util.spec_from_file_location("bench_queue", os.path.join(_here, "queue.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Lock:
    """Another process holding the desk's write lock; released by ``release()`` or after ``hold`` seconds."""

    def __init__(self, db: Path, hold: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "held"
        self._timer = threading.Timer(hold, self.release)
        self._timer.start()
        self._released = threading.Lock()
        self.released_at: float | None = None

    def release(self) -> None:
        with self._released:
            if self.released_at is not None:
                return
            self._timer.cancel()
            self.proc.stdin.write("go\n")
            self.proc.stdin.close()
            self.proc.wait(10)
            self.released_at = time.perf_counter()


class Stalls:
    """The longest the event loop went without running a 5 ms ticker."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.worst = max(self.worst, now - last - 0.005)
            last = now

    def start(self) -> None:
        self.worst = 0.0
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> float:
        self._task.cancel()
        return self.worst * 1000


async def _key(pilot, Driver, key: str, wait: float = 0.1) -> float:
    """ms from the key to the first frame written after it; a key that changes nothing on screen (the story
    scrolled to its end) writes no frame: then the time until the app had handled it."""
    await pilot.pause(0.03)
    t = time.perf_counter()
    await pilot.press(key)
    handled = time.perf_counter()
    while time.perf_counter() < handled + wait:
        after = [w for w in Driver.writes if w > t]
        if after:
            return (after[0] - t) * 1000
        await asyncio.sleep(0.002)
    return (handled - t) * 1000


async def _until(pilot, condition, seconds: float = 30) -> float:
    t = time.perf_counter()
    while not condition():
        if time.perf_counter() - t > seconds:
            raise RuntimeError("never happened")
        await pilot.pause(0.01)
    return time.perf_counter()


async def _moves(pilot, Driver, n: int, out: dict, keys: tuple[str, str] = ("j", "k")) -> None:
    for _ in range(n):
        for key in keys:
            out.setdefault(key, []).append(await _key(pilot, Driver, key))


async def _phase(app, pilot, Driver, db: Path, held: bool, hold: float, rounds: int) -> dict:
    """The keys on the queue and on the ticket screen; with ``held``, while another process holds the lock."""
    from deskterm.tui.screens.detail import DetailScreen
    from deskterm.tui.screens.detail_modals import EditorDialog
    from deskterm.tui.screens.modals import ChoiceScreen

    out: dict = {}
    landed: list[float] = []
    stalls = Stalls()
    writes = app.writes

    def settled() -> bool:
        return not writes.busy()

    async def change(keys: list[str], dialog=None, moves: tuple[str, str] = ("j", "k")) -> None:
        """Press ``keys`` (the last one asks for the change), j/k while it waits, then release and wait for it."""
        lock = Lock(db, hold) if held else None
        pending = False
        try:
            for i, key in enumerate(keys):
                if 0 < i < len(keys) - 1:  # moving in the dialog
                    await pilot.press(key)
                    continue
                ms = await _key(pilot, Driver, key)
                out.setdefault(key if i == len(keys) - 1 else f"{key} (opens)", []).append(ms)
                if dialog is not None and i == 0:
                    await _until(pilot, lambda: isinstance(app.screen, dialog))
                    await pilot.pause(0.05)
            if held:
                await _moves(pilot, Driver, 5, out, moves)
                pending = writes.busy() and lock.released_at is None  # (a frozen screen: the timer released it)
        finally:
            if lock is not None:
                lock.release()
        end = await _until(pilot, settled)
        if pending:
            landed.append((end - lock.released_at) * 1000)
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)

    stalls.start()
    # the queue, on "Unassigned": a claim, then a status on the next ticket
    await pilot.press("2")
    await app.workers.wait_for_complete()
    await pilot.pause(0.2)
    if not held:
        await _moves(pilot, Driver, 20, out)
    for _ in range(rounds):
        await change(["c"])
        await change(["s", "down", "enter"], dialog=ChoiceScreen)  # the second status of the list: open
    # the ticket screen of the ticket under the cursor: a claim, a status, a reply
    await pilot.press("enter")
    await _until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.record is not None)
    await app.workers.wait_for_complete()
    await pilot.pause(0.2)
    ticket: dict = {}
    saved, out = out, ticket
    moves = ("down", "up")  # the story scrolls
    if not held:
        await _moves(pilot, Driver, 20, out, moves)
    for n in range(rounds):
        await change(["c"], moves=moves)  # the first claims; the others are refused ("already yours") after the lock
        await change(["s", "enter"], dialog=ChoiceScreen, moves=moves)
        await _until(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.pause(0.1)
        await pilot.press("r")
        await _until(pilot, lambda: isinstance(app.screen, EditorDialog))
        await pilot.pause(0.1)
        await pilot.press(*f"on it {n}")
        await change(["ctrl+s"], moves=moves)
    await pilot.press("escape")  # back to the queue
    await pilot.pause(0.2)
    stall = stalls.stop()
    return {"queue": saved, "ticket": ticket, "landed_ms": landed, "stall_ms": stall}


def _fmt(values: list[float] | None) -> str:
    if not values:
        return "—"
    return f"{statistics.median(values):.1f} / {max(values):.1f}"


async def run(where: Path, hold: float, size: tuple[int, int], rounds: int) -> None:
    from deskterm.config import load_config
    from deskterm.tui.app import DeskApp
    from deskterm.tui.widgets.queue_table import QueueTable

    bench = _queue_bench()
    Driver = bench._counting_driver()
    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="deskterm-bench-state-")  # no saved filter
    work = Path(tempfile.mkdtemp(prefix="deskterm-bench-lock-"))
    for f in where.iterdir():  # a private copy: the claims and replies change it
        if f.name.startswith("demo.db") or f.name == "deskterm.toml":
            (work / f.name).write_bytes(f.read_bytes())
    db = work / "demo.db"
    app = DeskApp(db=str(db), config=load_config(work / "deskterm.toml"), clock=bench._running_clock(), user="alice")
    app.driver_class = Driver
    async with app.run_test(size=size, headless=False) as pilot:
        while True:
            await pilot.pause(0.01)
            tables = app.screen.query(QueueTable)
            if tables and tables.first().loaded:
                break
        await app.workers.wait_for_complete()
        await pilot.pause(0.5)
        os.environ["DESKTERM_BUSY_TIMEOUT"] = str(hold + 30)  # the change waits for the release, not longer
        base = await _phase(app, pilot, Driver, db, held=False, hold=hold, rounds=rounds)
        held = await _phase(app, pilot, Driver, db, held=True, hold=hold, rounds=rounds)
    rows = [("queue", k) for k in ("j", "k", "c", "s (opens)", "enter")] + [
        ("ticket", k) for k in ("down", "up", "c", "s (opens)", "enter", "ctrl+s")
    ]
    print(
        f"keystroke → first frame, ms (median / worst), {size[0]}x{size[1]}; held: another process holds the "
        "write lock, j/k pressed while the change waits"
    )
    print(f"{'':22}{'no lock':>18}{'lock held':>18}")
    for screen, key in rows:
        name = {"enter": "enter (applies s)", "ctrl+s": "ctrl+s (sends r)"}.get(key, key)
        print(f"{screen + ' ' + name:22}{_fmt(base[screen].get(key)):>18}{_fmt(held[screen].get(key)):>18}")
    print(f"{'loop stall (worst)':22}{base['stall_ms']:>18.1f}{held['stall_ms']:>18.1f}")
    print(
        f"{'release → landed':22}{'—':>18}{_fmt(held['landed_ms']):>18}   ({len(held['landed_ms'])} changes"
        " still pending at the release)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000, help="tickets in the desk (cached, as queue.py)")
    parser.add_argument("--hold", type=float, default=8.0, help="seconds the lock is held at most per change")
    parser.add_argument("--size", default="80x24", help="terminal size, COLSxROWS")
    parser.add_argument("--rounds", type=int, default=3, help="times each change is made, per phase")
    args = parser.parse_args()
    where = _queue_bench().build(args.tickets)
    asyncio.run(run(where, args.hold, tuple(int(v) for v in args.size.split("x")), args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
