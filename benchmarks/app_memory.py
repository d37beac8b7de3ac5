"""Where one queue app's memory goes, beside its baseline: resident, file-backed, SQLite's, and what the queue holds.

Opens the queue of a real app in a headless pilot (Textual's ``run_test``, 80x24) on a working copy of the cached
desk of N tickets (``benchmarks/desks.py``), waits until its order and tab counts are loaded and it is quiet, makes
``--changes`` changes from another ``Desk`` in the same process (as ``change_cost.py`` does: the queue follows
them), then prints:

- resident memory (``VmRSS``) and its peak (``VmHWM``), the anonymous and the file-backed parts
  (``/proc/self/smaps_rollup``: shared objects are counted in each process's resident memory);
- what the imports alone took (``VmRSS`` once the app's and the store's modules are imported, before the app runs);
- SQLite's memory (``sqlite3_memory_used``, through ctypes: the page caches of every connection);
- the largest arrays, byte arrays, sets, lists and dicts the app holds (found by walking its objects), by path.

Each installation (``--against``: a baseline's bin directory) runs in its own process, on its own copy, in turn.
The app's allocator is set as ``tui/launch.py`` sets it where the installation does (``_few_arenas``). The pilot
writes no terminal and starts no input thread: ``jumphost.py`` measures the real app's resident memory.

    nice python benchmarks/app_memory.py [--tickets 100000] [--changes 10] [--against /path/to/baseline/.venv/bin]
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

BIG = 100_000  # bytes: the containers listed at least this large
SHOWN = 12


def _status() -> dict[str, float]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out


def _rollup() -> dict[str, float]:
    out = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Anonymous", "Shared_Clean", "Private_Clean"):
                out[key] = int(rest.split()[0]) / 1024
    return {"anonymous": out.get("Anonymous", 0.0), "file": out.get("Shared_Clean", 0) + out.get("Private_Clean", 0)}


def _sqlite_mb() -> float | None:
    import ctypes
    import ctypes.util

    try:
        lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        return lib.sqlite3_memory_used() / 1e6
    except (OSError, AttributeError):  # (SQLite linked into the module: not reachable this way)
        return None


def _held(root) -> list[tuple[int, str, str]]:
    """(bytes, kind, path) of the large containers reachable from ``root`` through attributes and small
    containers."""
    from array import array

    seen: set[int] = set()
    found: list[tuple[int, str, str]] = []
    stack = [(root, "app", 0)]
    while stack:
        obj, path, depth = stack.pop()
        if id(obj) in seen or depth > 14:
            continue
        seen.add(id(obj))
        if isinstance(obj, (array, bytearray, set, frozenset, dict, list)) and sys.getsizeof(obj) >= BIG:
            kind = f"array '{obj.typecode}'" if isinstance(obj, array) else type(obj).__name__
            found.append((sys.getsizeof(obj), f"{kind} of {len(obj):,}", path))
        if isinstance(obj, (str, bytes, int, float, array, bytearray)):
            continue
        if isinstance(obj, dict):
            if len(obj) < 5000:
                stack.extend((v, f"{path}[{k!r:.40}]", depth + 1) for k, v in obj.items())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            if len(obj) < 200:
                stack.extend((v, f"{path}[{n}]", depth + 1) for n, v in enumerate(obj))
        else:
            attrs = dict(getattr(obj, "__dict__", None) or {})
            for name in getattr(type(obj), "__slots__", ()) or ():
                if isinstance(name, str) and hasattr(obj, name):
                    attrs[name] = getattr(obj, name)
            stack.extend((v, f"{path}.{k}", depth + 1) for k, v in attrs.items())
    found.sort(key=lambda f: -f[0])
    return found


def one(db: str, config: str, changes: int) -> dict:
    """In the installation's own interpreter: the pilot, the changes, the figures (as JSON on stdout)."""
    import asyncio

    try:
        from deskterm.tui.launch import _few_arenas
    except ImportError:
        pass
    else:
        _few_arenas()
    import deskterm.store.queue  # noqa: F401 - (the app imports it once its first screenful is shown)
    from deskterm.config import load_config
    from deskterm.service import Change, Desk
    from deskterm.store.engine import open_store
    from deskterm.tui.app import DeskApp

    imported = _status()["VmRSS"]

    async def settle(app, pilot) -> None:
        reader = getattr(app, "reader", None)
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
            await asyncio.sleep(5)  # (the search's base is loaded a little after the counts)
            await settle(app, pilot)
            shown = app.screen.query_one("QueueTable").query_
            other = Desk(open_store(db), cfg, user="bench")
            rows = [r for r in shown.window(0, 20) if r.status == "open"][:4]
            status = {r.id: r.status for r in rows}
            for n in range(changes if rows else 0):
                ticket = rows[n % len(rows)].id
                status[ticket] = "on_hold" if status[ticket] == "open" else "open"
                other.update(ticket, Change(status=status[ticket]))
                app.poll()
                await settle(app, pilot)
            other.store.dispose()
            await asyncio.sleep(1)
            await settle(app, pilot)
            return {
                **_status(),
                **_rollup(),
                "imported": imported,
                "sqlite": _sqlite_mb(),
                "held": _held(app)[:SHOWN],
                "load": os.getloadavg()[0],
            }

    return asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--against", metavar="VENV_BIN", help="the baseline installation's bin directory")
    parser.add_argument("--one", nargs=2, metavar=("DB", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], args.changes)))
        return 0
    source = desks.cached_by(Path(args.against) if args.against else Path(sys.executable).parent, args.tickets)
    print(
        f"{args.tickets} tickets, {args.changes} changes followed; load average {os.getloadavg()[0]:.2f}, "
        f"{os.cpu_count()} CPUs"
    )
    installs = [("this", Path(sys.executable).parent)]
    if args.against:
        installs.insert(0, ("baseline", Path(args.against)))
    results = {}
    for name, bin_dir in installs:
        with tempfile.TemporaryDirectory(prefix="deskterm-bench-memory-") as tmp:
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
    rows = [
        ("resident (VmRSS), MB", "VmRSS"),
        ("its peak (VmHWM), MB", "VmHWM"),
        ("anonymous, MB", "anonymous"),
        ("file-backed (shared objects), MB", "file"),
        ("the imports alone (VmRSS), MB", "imported"),
        ("SQLite (sqlite3_memory_used), MB", "sqlite"),
    ]
    print(f"{'':36}" + "".join(f"{name:>12}" for name in results))
    for label, key in rows:
        cells = [r.get(key) for r in results.values()]
        print(f"{label:36}" + "".join(f"{c:>12.1f}" if c is not None else f"{'—':>12}" for c in cells))
    for name, r in results.items():
        print(f"{name}: the largest containers the app holds (≥ {BIG // 1000} kB)")
        for size, kind, path in r["held"]:
            print(f"  {size / 1e6:7.2f} MB  {kind:24} {path}")
    print("load average at the end of each: " + ", ".join(f"{n} {r['load']:.1f}" for n, r in results.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
