"""What one queue app spends on one change made elsewhere, and where: a profile beside its baseline.

Opens the queue of a real app in a headless pilot (Textual's ``run_test``, 80x24) on a working copy of the
cached desk of N tickets (``benchmarks/desks.py``), then makes ``--changes`` changes from another ``Desk`` in the
same process (the open tickets of the first rows set to ``on_hold`` and back, as ``jumphost.py`` does), each
followed by the app's poll and everything it starts (workers, messages, the repaint). It prints the process CPU
(every thread) per change, less the same loop without a change (the clock's second, the pilot's own turns), and
the CPU of each part of the queue's handling (thread CPU around each method, summed over the threads that ran
it; a part's figure includes the parts it calls). Each installation (``--against``: a baseline's bin directory)
runs in its own process, on its own copy, in turn.

    nice python benchmarks/change_cost.py [--tickets 100000] [--changes 60] [--against /path/to/baseline/.venv/bin]

The pilot does not write to a terminal: the real app's frame (``jumphost.py``) costs more.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))

import desks  # noqa: E402 - benchmarks/desks.py, beside this file

# (module, class, method): the parts of a change, timed where they exist (a baseline may lack some); no class: a
# function of the module (looked up there at each call)
PARTS = [
    ("deskterm.tui.app", "DeskApp", "poll"),
    ("deskterm.store.changes", "ChangeWatch", "changes"),
    ("deskterm.tui.app", "DeskApp", "announce_escalations"),
    ("deskterm.tui.screens.queue", "QueueScreen", "tickets_changed"),
    ("deskterm.store.queue", "QueueQuery", "patched"),
    ("deskterm.tui.screens.queue", "QueueScreen", "_thresholds"),
    ("deskterm.store.queue_counts", "ViewCounts", "apply"),
    ("deskterm.tui.screens.queue", "QueueScreen", "_counted"),
    ("deskterm.tui.screens.queue", "QueueScreen", "_patched"),
    ("deskterm.store.queue", "", "follow"),
    ("deskterm.tui.screens.queue", "QueueScreen", "_followed"),
    ("deskterm.tui.widgets.queue_table", "QueueTable", "set_query"),
    ("deskterm.store.queue", "QueueQuery", "rows"),
    ("deskterm.tui.widgets.queue_table", "QueueTable", "refresh_changed"),
    ("deskterm.tui.widgets.queue_table", "QueueTable", "render_line"),
    ("deskterm.tui.sla_cache", "SlaCache", "load"),
    ("deskterm.tui.sla_cache", "SlaCache", "evaluate"),
    ("deskterm.tui.screens.queue", "QueueScreen", "_widgets_gone"),
    ("deskterm.tui.screens.queue", "QueueScreen", "data_changed"),
]


def one(db: str, config: str, changes: int) -> dict:
    """In the installation's own interpreter: the pilot, the changes, the figures (as JSON on stdout)."""
    import asyncio
    import collections
    import functools
    import importlib
    import time

    spent: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()
    for module, cls, name in PARTS:
        owner = getattr(importlib.import_module(module), cls, None) if cls else importlib.import_module(module)
        method = getattr(owner, name, None)
        if method is None:
            continue

        label = f"{cls}.{name}" if cls else f"{module.rsplit('.', 1)[-1]}.{name}"

        def timed(method=method, label=label):
            @functools.wraps(method)
            def run(*args, **kwargs):
                t = time.thread_time()
                try:
                    return method(*args, **kwargs)
                finally:
                    spent[label] += time.thread_time() - t
                    calls[label] += 1

            return run

        setattr(owner, name, timed())

    from deskterm.config import load_config
    from deskterm.service import Change, Desk
    from deskterm.store.engine import open_store
    from deskterm.tui.app import DeskApp

    async def settle(app, pilot) -> None:
        reader = getattr(app, "reader", None)  # the live refresh's thread (tui/reader.py), where there is one
        for _ in range(3):
            try:
                await app.workers.wait_for_complete()
            except Exception:  # noqa: BLE001 - a worker replaced by a newer one: wait for the newer
                continue
            if reader is not None:
                await reader.idle()
            await pilot.pause()
        await pilot.pause(0.02)

    async def main() -> dict:
        cfg = load_config(Path(config))
        app = DeskApp(db=db, config=cfg, user="alice")
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(600):
                await settle(app, pilot)
                table = app.screen.query("QueueTable")
                if table and table.first().loaded and app.screen.counts:
                    break
            await asyncio.sleep(3)
            await settle(app, pilot)
            from deskterm.store.queue import QueueQuery

            shown = app.screen.query_one("QueueTable").query_
            assert isinstance(shown, QueueQuery)
            other = Desk(open_store(db), cfg, user="bench")
            rows = [r for r in shown.window(0, 20) if r.status == "open"][:4]
            if not rows:
                raise SystemExit("no open ticket on the first screen")
            status = {r.id: r.status for r in rows}
            n = 0

            async def step(change: bool) -> float:
                nonlocal n
                if change:
                    ticket = rows[n % len(rows)].id
                    n += 1
                    status[ticket] = "on_hold" if status[ticket] == "open" else "open"
                    other.update(ticket, Change(status=status[ticket]))
                c0 = time.process_time()
                app.poll()
                await settle(app, pilot)
                return time.process_time() - c0

            for _ in range(4):  # the first changes warm what is read once
                await step(True)
            spent.clear()
            calls.clear()
            busy = [await step(True) for _ in range(changes)]
            parts = {k: (v / changes * 1000, calls[k] / changes) for k, v in spent.items()}
            idle = [await step(False) for _ in range(changes)]
            other.store.dispose()
        return {
            "per_change_ms": (sum(busy) - sum(idle)) / changes * 1000,
            "idle_step_ms": sum(idle) / changes * 1000,
            "parts": parts,
            "load": os.getloadavg()[0],
        }

    return asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=60)
    parser.add_argument("--against", metavar="VENV_BIN", help="the baseline installation's bin directory")
    parser.add_argument("--one", nargs=2, metavar=("DB", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], args.changes)))
        return 0
    source = desks.cached_by(Path(args.against) if args.against else Path(sys.executable).parent, args.tickets)
    print(
        f"{args.tickets} tickets, {args.changes} changes; load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs"
    )
    installs = [("this", Path(sys.executable).parent)]
    if args.against:
        installs.insert(0, ("baseline", Path(args.against)))
    results = {}
    for name, bin_dir in installs:
        with tempfile.TemporaryDirectory(prefix="deskterm-bench-change-") as tmp:
            db, config = desks.working_copy(args.tickets, Path(tmp) / "desk", source=source)
            desks.migrate(bin_dir, db, config)
            home = Path(tmp) / "home"  # a private queue.json (view, sort, filter): the default queue
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DESKTERM_", "XDG_"))}
            env.update({f"XDG_{d}_HOME": str(home / d.lower()) for d in ("STATE", "CACHE", "DATA", "CONFIG")})
            done = subprocess.run(
                [str(bin_dir / "python"), __file__, "--changes", str(args.changes), "--one", str(db), str(config)],
                capture_output=True,
                text=True,
                env=env,
            )
            if done.returncode != 0:
                raise SystemExit(f"{name}: {done.stderr[-2000:]}")
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    labels = sorted(
        {k for r in results.values() for k in r["parts"]}, key=lambda k: -results["this"]["parts"].get(k, (0,))[0]
    )
    print(f"{'':34}" + "".join(f"{name:>22}" for name in results))
    print(f"{'process CPU per change, ms':34}" + "".join(f"{r['per_change_ms']:>22.1f}" for r in results.values()))
    print(f"{'(a step without a change, ms)':34}" + "".join(f"{r['idle_step_ms']:>22.1f}" for r in results.values()))
    for label in labels:
        cells = []
        for r in results.values():
            ms, n = r["parts"].get(label, (0.0, 0.0))
            cells.append(f"{ms:>12.2f} ({n:.1f} calls)" if n else f"{'—':>22}")
        print(f"{label:34}" + "".join(f"{c:>22}" for c in cells))
    print("load average at the end of each: " + ", ".join(f"{n} {r['load']:.1f}" for n, r in results.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
