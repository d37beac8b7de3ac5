#!/usr/bin/env python
"""Triage (issue 15): suggestion latency and index build time at 100,000 tickets of history, and the accuracy of
``deskterm triage --evaluate`` on the demo desk beside the majority-class baseline.

    python benchmarks/triage.py                    # 100,000 tickets (goals: p95 <= 50 ms, build <= 10 s)
    python benchmarks/triage.py --tickets 20000 --samples 100
    python benchmarks/triage.py --db postgresql+psycopg://...   # an empty PostgreSQL database instead
    python benchmarks/triage.py --pg --tickets 30000 --samples 100 --no-evaluate   # a throwaway local server

On PostgreSQL it also times the same suggestions ranked as before migration 0017 (the baseline: an expression
index, every matching ticket's vector computed again from its text, the query's first words rather than its
rarest), in the same run.

The history is the demo's generator (``demo.history``: 90 days of tickets with categories, worded as
customers word them, fixed seed) imported into a fresh desk through the service. "Build" is the time to index
every ticket from scratch, as migrations 0011 and 0017 do on an existing desk (SQLite: filling the FTS5 table;
PostgreSQL: creating the GIN index on the stored vectors). "Suggestion" is ``triage.suggest`` for one new
ticket: the ticket read, two ranked full-text queries (resolved neighbours, open look-alikes), the vote, the open
majors; what the app runs in a worker and ``deskterm triage ID`` prints.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from deskterm import demo, demo_tickets, triage  # noqa: E402
from deskterm.clock import FrozenClock  # noqa: E402
from deskterm.records import NewTicket  # noqa: E402
from deskterm.service import Desk  # noqa: E402
from deskterm.store import search  # noqa: E402
from deskterm.store.engine import open_store  # noqa: E402

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def build_time(store) -> float:
    from sqlalchemy import text

    n = search.INDEXED_CHARS
    with store.engine.begin() as conn:
        started = time.perf_counter()
        if store.is_sqlite:
            conn.execute(text(f"DELETE FROM {search.FTS}"))
            conn.execute(
                text(
                    f"INSERT INTO {search.FTS}(rowid, subject, description)"
                    f" SELECT id, subject, substr(description, 1, {n}) FROM tickets"
                )
            )
        else:  # the GIN index on the stored vectors (migration 0017; the vectors are computed as rows are written)
            conn.execute(text(f"DROP INDEX {search.PG_INDEX}"))
            conn.execute(text(f"CREATE INDEX {search.PG_INDEX} ON tickets USING gin ({search.PG_COLUMN})"))
        return time.perf_counter() - started


SERVER_CPU: list[float] = []  # PostgreSQL: the server's CPU per suggestion of each ``timed`` run (ms), when readable


def server_cpu(store) -> float | None:
    """The CPU seconds the server's backends of this database have used so far (their /proc stat: a server of
    this machine, readable by this user), None otherwise. What a loaded machine does not inflate."""
    from sqlalchemy import text

    if store.is_sqlite:
        return None
    with store.engine.connect() as conn:
        pids = [r[0] for r in conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))]
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def timed(desk, ids: list[int]) -> tuple[list[float], list[float]]:
    """Wall-clock and thread-CPU milliseconds of ``triage.suggest`` for each ticket (after one to warm up); on
    PostgreSQL the server's CPU per suggestion (the mean: /proc counts in hundredths of a second) in SERVER_CPU."""
    triage.suggest(desk, ids[0])  # warm the connection and the caches, as the app's first suggestion does
    times, cpu = [], []
    before = server_cpu(desk.store)
    for tid in ids:
        started, used = time.perf_counter(), time.thread_time()
        triage.suggest(desk, tid)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - used) * 1000)
    after = server_cpu(desk.store)
    if before is not None and after is not None:
        SERVER_CPU.append((after - before) / len(ids) * 1000)
    return times, cpu


def figures(values: list[float]) -> str:
    values = sorted(values)
    p50, p95 = values[len(values) // 2], values[int(len(values) * 0.95) - 1]
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, worst {values[-1]:.1f} ms"


def expression_baseline(store, desk, ids: list[int]) -> tuple[list[float], list[float]]:
    """PostgreSQL as it was before 0017, in the same run: the GIN index on the vector's expression, ``ts_rank``
    computing the vector of every matching ticket from its text again, the query's first words."""
    from sqlalchemy import text

    with store.engine.begin() as conn:
        conn.execute(text(f"CREATE INDEX ix_bench_expression ON tickets USING gin ({search.PG_VECTOR})"))
        conn.execute(text(f"DROP INDEX {search.PG_INDEX}"))
        conn.execute(text("ANALYZE tickets"))
    ranked, search.PG_RANKED = search.PG_RANKED, search.PG_VECTOR
    rare, search.PG_RARE_WORDS = search.PG_RARE_WORDS, False  # and the first words, not the rarest
    try:
        return timed(desk, ids)
    finally:
        search.PG_RANKED, search.PG_RARE_WORDS = ranked, rare
        with store.engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_bench_expression"))
            conn.execute(text(f"CREATE INDEX {search.PG_INDEX} ON tickets USING gin ({search.PG_COLUMN})"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--db", help="an empty PostgreSQL database URL (default: a SQLite file in a temporary directory)")
    ap.add_argument("--pg", action="store_true", help="a throwaway PostgreSQL server of the machine (tests/pg)")
    ap.add_argument("--no-evaluate", action="store_true", help="leave out the evaluation on the demo desk")
    args = ap.parse_args()
    if args.pg:
        sys.path.insert(0, str(ROOT / "tests" / "pg"))
        from pgserver import PgServer

        server = PgServer.start()
        try:
            args.db = server.create_database(migrated=False)
            run(args)
        finally:
            server.stop()  # never left running
        return
    run(args)


def run(args) -> None:
    config = demo.demo_config(full=True)
    clock = FrozenClock(NOW)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(args.db or str(Path(tmp) / "bench.db"))
        desk = Desk(store, config, clock=clock, user="bench")
        started = time.perf_counter()
        tickets = demo.history(NOW, args.tickets, seed=11, config=config)
        made = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(0, len(tickets), 20_000):
            desk.import_tickets(tickets[i : i + 20_000])
        imported = time.perf_counter() - started
        if not store.is_sqlite:  # the statistics autovacuum keeps (the query's rarest words read them): now
            from sqlalchemy import text

            with store.engine.begin() as conn:
                conn.execute(text("ANALYZE tickets"))
        print(f"history: {args.tickets:,} tickets generated in {made:.1f} s, imported (index kept by triggers or")
        print(f"  the generated column as they arrive) in {imported:.1f} s on {store.engine.dialect.name}")
        builds = [build_time(store) for _ in range(3)]
        print(
            f"index build from scratch at {args.tickets:,}: median {statistics.median(builds):.2f} s"
            f" (runs: {', '.join(f'{b:.2f}' for b in builds)}; goal <= 10 s)"
        )
        rnd = random.Random(5)
        ids = []
        for _ in range(args.samples):
            _, subject, description, _, _ = demo_tickets.ticket(rnd, "Camille", "Acme")
            ids.append(
                desk.create(
                    NewTicket(subject=subject, customer="Acme", priority="P3", created_at=NOW, description=description)
                ).id
            )
        times, cpu = timed(desk, ids)
        print(
            f"suggestion for one ticket at {args.tickets:,} tickets of history"
            f" ({args.samples} tickets; goal p95 <= 50 ms):"
        )
        print(f"  wall clock: {figures(times)}")
        print(f"  CPU of the thread (what the machine's load does not inflate): {figures(cpu)}")
        if SERVER_CPU:
            print(f"  CPU of the server (its backends), mean per suggestion: {SERVER_CPU[-1]:.1f} ms")
        print(f"  load average meanwhile: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        if not store.is_sqlite:
            times, cpu = expression_baseline(store, desk, ids)
            print("  baseline, the same tickets ranked as before migration 0017 (an expression index, the vectors")
            print(f"  computed again, the first words): wall clock {figures(times)}; CPU {figures(cpu)}")
            if SERVER_CPU:
                print(f"  CPU of the server, mean per suggestion: {SERVER_CPU[-1]:.1f} ms")
            times, cpu = timed(desk, ids)
            print(f"  the stored vectors again: wall clock {figures(times)}; CPU {figures(cpu)}")
            if SERVER_CPU:
                print(f"  CPU of the server, mean per suggestion: {SERVER_CPU[-1]:.1f} ms")
            print(f"  load average meanwhile: {os.getloadavg()[0]:.1f}")
        store.dispose()
    if args.no_evaluate:
        return
    with tempfile.TemporaryDirectory() as tmp:
        db, cfg = demo.build_demo(Path(tmp) / "demo", clock=clock)
        store = open_store(str(db))
        result = triage.evaluate(Desk(store, cfg, clock=clock, user="bench"))
        store.dispose()
    print()
    print("triage --evaluate on the demo desk (deskterm demo, 300 tickets):")
    print(triage.evaluation_text(result))


if __name__ == "__main__":
    main()
