"""Presence at the scale of a jump host: N apps' presence threads on one desk (issue 14).

Each app is a process running what the app's presence thread runs (``store.presence.Keeper.step`` four times a
second) for a few seconds. One of them, "bruno", opens another ticket every second; every other app notes when
it first sees him on it. Printed: the CPU each app spends on presence per second and the writes it makes, beside
the baseline of the same processes waking four times a second with no presence (same run), and the time from
"bruno opens #57" to "chloe's app knows", p50 and p95 (goal: 1 s at p95). The screen then shows it in the same
frame (a message to the app, one repaint).

    python benchmarks/presence.py [--apps 20] [--seconds 10] [--db PATH_OR_URL] [--pg]

``--pg`` starts a throwaway PostgreSQL server (the test suite's, from the machine's initdb/pg_ctl) and measures
there too.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

STEP = 0.25  # what the app's presence thread waits between two steps


def _app(db: str, index: int, seconds: float, start_at: float, with_presence: bool, out) -> None:
    from deskterm.store.engine import open_store
    from deskterm.store.presence import Keeper, open_presence

    store = open_store(db)
    agent = "bruno" if index == 0 else f"agent{index}"
    keeper = Keeper(open_presence(store), f"bench:{index}", agent) if with_presence else None
    writes = 0
    if keeper is not None:
        publish = keeper.presence.publish

        def counted(*args, **kwargs):
            nonlocal writes
            writes += 1
            return publish(*args, **kwargs)

        keeper.presence.publish = counted  # type: ignore[method-assign]
    seen_at: dict[int, float] = {}  # ticket bruno opened → when this app first knew
    opened_at: dict[int, float] = {}  # bruno: ticket → when he opened it
    while time.time() < start_at:
        time.sleep(0.01)
    if index:  # apps step at their own phase, as apps opened at different moments do
        time.sleep(random.Random(index).uniform(0, STEP))
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    end = start_at + seconds
    ticket, next_open = 0, start_at + 0.5
    while (now := time.time()) < end:
        if keeper is not None:
            if index == 0 and now >= next_open:
                ticket += 1
                opened_at[ticket] = now
                next_open += 1.0
            state = (ticket or None, "viewing") if index == 0 else (None, "viewing")
            seen = keeper.step(state, now)
            if seen:
                for tid, who in seen.items():
                    if any(agent_ == "bruno" for agent_, _ in who) and tid not in seen_at:
                        seen_at[tid] = time.time()
        time.sleep(STEP if index else min(STEP, max(0.0, next_open - time.time())) or 0.001)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    if keeper is not None:
        keeper.leave()
    store.dispose()
    out.put(json.dumps({"index": index, "cpu": cpu, "writes": writes, "seen": seen_at, "opened": opened_at}))


def run(db: str, apps: int, seconds: float, with_presence: bool) -> dict:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 2.0 + apps * 0.05  # every app opened and waiting before the clock starts
    procs = [ctx.Process(target=_app, args=(db, i, seconds, start_at, with_presence, out)) for i in range(apps)]
    for p in procs:
        p.start()
    results = [json.loads(out.get(timeout=seconds + 120)) for _ in procs]
    for p in procs:
        p.join()
    opened = {int(k): v for k, v in next(r["opened"] for r in results if r["index"] == 0).items()}
    latencies = [
        seen - opened[int(tid)]
        for r in results
        if r["index"] != 0
        for tid, seen in r["seen"].items()
        if int(tid) in opened
    ]
    cpu = [r["cpu"] / seconds for r in results]
    return {
        "cpu_per_app": statistics.mean(cpu),
        "cpu_max": max(cpu),
        "writes_per_app": statistics.mean(r["writes"] for r in results) / seconds,
        "latencies": sorted(latencies),
        "events": len(opened),
    }


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def report(name: str, db: str, apps: int, seconds: float) -> None:
    base = run(db, apps, seconds, with_presence=False)
    pres = run(db, apps, seconds, with_presence=True)
    lat = pres["latencies"]
    print(f"{name}: {apps} apps, {seconds:.0f} s")
    print(
        f"  CPU per app:        presence {pres['cpu_per_app'] * 100:.2f} % of a core (worst app "
        f"{pres['cpu_max'] * 100:.2f} %)   baseline (4 wake-ups/s, no presence) {base['cpu_per_app'] * 100:.2f} %"
    )
    print(f"  writes per app:     {pres['writes_per_app']:.2f}/s   baseline 0/s")
    print(
        f"  bruno opens a ticket -> another app knows: p50 {_pct(lat, 0.5) * 1000:.0f} ms, "
        f"p95 {_pct(lat, 0.95) * 1000:.0f} ms, worst {(lat[-1] if lat else float('nan')) * 1000:.0f} ms "
        f"({len(lat)} sightings of {pres['events']} openings x {apps - 1} apps; goal p95 <= 1000 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--db", help="a desk to use (default: a new SQLite desk in a temporary directory)")
    parser.add_argument("--pg", action="store_true", help="also on a throwaway PostgreSQL server")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as where:
        db = args.db or str(Path(where) / "desk.db")
        from deskterm.store.engine import open_store

        open_store(db).dispose()
        report("SQLite" if "://" not in db else db.split("://")[0], db, args.apps, args.seconds)
    if args.pg:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pg"))
        from pgserver import PgServer

        server = PgServer.start()
        try:
            report("PostgreSQL", server.create_database(migrated=True), args.apps, args.seconds)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
