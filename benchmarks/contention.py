"""Write contention on one SQLite file (issue 6: one jump host, many agents).

For 1, 2, 4 and 8 writer processes, each process makes N updates (an internal note on a random ticket)
through ``Desk.update`` on the same file; prints the aggregate updates per second (N x processes / wall
time from the moment every process is ready) and the p50/p99/max latency of one update, as seen by the caller
(waiting for the write lock included).

    .venv/bin/python benchmarks/contention.py [--updates N] [--tickets T] [--writers 1,2,4,8] [--db URL]

With ``--db postgresql+psycopg://…`` the same runs go to a PostgreSQL database instead of a temporary
SQLite file. It must be a scratch database: its desk tables are emptied before each run.
"""

from __future__ import annotations

import os
import sys

# benchmarks/queue.py would shadow the standard library's queue (which multiprocessing needs): this script's
# directory is not a package, keep it off the import path.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402 - after the path fix above
import multiprocessing as mp  # noqa: E402 - after the path fix above
import random  # noqa: E402 - after the path fix above
import statistics  # noqa: E402 - after the path fix above
import tempfile  # noqa: E402 - after the path fix above
import time  # noqa: E402 - after the path fix above
from datetime import timedelta  # noqa: E402 - after the path fix above
from pathlib import Path  # noqa: E402 - after the path fix above


def _seed(db: Path, tickets: int) -> None:
    from deskterm.clock import Clock
    from deskterm.config import builtin_config
    from deskterm.service import Desk, NewTicket
    from deskterm.store.engine import open_store

    store = open_store(db)
    desk = Desk(store, builtin_config(), user="seed")
    now = Clock().now()
    desk.import_tickets(
        [
            NewTicket(
                subject=f"t{i}", customer=f"c{i % 20}", priority=f"P{1 + i % 4}", created_at=now - timedelta(minutes=i)
            )
            for i in range(tickets)
        ]
    )
    store.dispose()


def _flock_writes(store, db: str) -> None:
    """Experiment (--flock): queue the writers of this host on a lock file (the kernel wakes the next one at
    once) instead of SQLite's busy handler (which polls with sleeps of up to 100 ms)."""
    import fcntl
    import os

    fd = os.open(db + ".writelock", os.O_CREAT | os.O_RDWR, 0o660)
    plain = store.write

    def write(work):
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            return plain(work)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    store.write = write


def _writer(db: str, agent: int, n: int, tickets: int, ready, go, results, flock: bool = False) -> None:
    from deskterm.config import builtin_config
    from deskterm.service import Change, Desk
    from deskterm.store.engine import open_store

    store = open_store(db)
    if flock:
        _flock_writes(store, db)
    desk = Desk(store, builtin_config(), user=f"agent{agent}")
    rng = random.Random(agent)
    desk.ticket(1)  # warm up: connection, imports
    ready.release()
    go.wait()
    latencies = []
    for i in range(n):
        tid = rng.randint(1, tickets)
        t0 = time.perf_counter()
        desk.update(tid, Change(note=f"agent{agent} note {i}"))
        latencies.append(time.perf_counter() - t0)
    results.put(latencies)


def _empty(url: str) -> None:
    """--db: start each run from an empty desk (ids from 1) in the scratch database."""
    from sqlalchemy import text

    from deskterm.dbcopy import TABLES
    from deskterm.store.engine import open_store

    store = open_store(url)
    with store.engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in TABLES) + " RESTART IDENTITY CASCADE"))
    store.dispose()


def run(writers: int, n: int, tickets: int, flock: bool = False, url: str | None = None) -> tuple[float, list[float]]:
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="deskterm-bench-") as tmp:
        db = url or Path(tmp) / "desk.db"
        if url:
            _empty(url)
        _seed(db, tickets)
        ready, go, results = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(target=_writer, args=(str(db), i, n, tickets, ready, go, results, flock))
            for i in range(writers)
        ]
        for p in procs:
            p.start()
        for _ in procs:
            ready.acquire()
        t0 = time.perf_counter()
        go.set()
        latencies = [x for _ in procs for x in results.get()]
        wall = time.perf_counter() - t0
        for p in procs:
            p.join()
            if p.exitcode != 0:
                sys.exit(f"writer failed with exit code {p.exitcode}")
    return wall, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=300, help="updates per writer process (default 300)")
    parser.add_argument("--tickets", type=int, default=1000, help="tickets in the file (default 1000)")
    parser.add_argument("--writers", default="1,2,4,8", help="writer counts to try (default 1,2,4,8)")
    parser.add_argument(
        "--flock", action="store_true", help="experiment: queue writers on a lock file (see _flock_writes)"
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="a scratch PostgreSQL database instead of a temporary SQLite file (emptied before each run)",
    )
    parser.add_argument(
        "--both",
        action="store_true",
        help="SQLite and PostgreSQL side by side: PostgreSQL is a throwaway server started from the machine's "
        "binaries (as the tests do), or --db if given",
    )
    args = parser.parse_args()
    if args.db and args.flock:
        parser.error("--flock is for SQLite files only")
    writers = [int(x) for x in args.writers.split(",")]
    if args.both:
        both(args, writers)
        return
    where = f"PostgreSQL ({args.db.split('@')[-1]})" if args.db else "one SQLite file"
    print(
        f"{where}, {args.tickets} tickets, {args.updates} updates per writer, {os.cpu_count()} CPUs"
        f"{', writers queued on a lock file' if args.flock else ''}"
    )
    print(f"{'writers':>7} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for w in writers:
        print(f"{w:>7} " + _figures(*run(w, args.updates, args.tickets, args.flock, args.db)), flush=True)


def _figures(wall: float, lat: list[float]) -> str:
    lat = sorted(lat)
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    return f"{len(lat) / wall:>10.0f} {p50:>8.1f} {p99:>8.1f} {lat[-1] * 1000:>8.1f}"


def both(args, writers: list[int]) -> None:
    server = None
    url = args.db
    if url is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pg"))
        from pgserver import PgServer  # the throwaway server of the test suite

        server = PgServer.start()
        url = server.create_database()
    try:
        print(
            f"{args.tickets} tickets, {args.updates} updates per writer, {os.cpu_count()} CPUs; "
            "updates/s, p50 / p99 / max latency in ms"
        )
        print(f"{'writers':>7} | {'SQLite':^38} | {'PostgreSQL':^38}")
        for w in writers:
            lite = _figures(*run(w, args.updates, args.tickets, False, None))
            pg = _figures(*run(w, args.updates, args.tickets, False, url))
            print(f"{w:>7} | {lite} | {pg}", flush=True)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
