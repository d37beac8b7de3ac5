#!/usr/bin/env python
"""Triage (issue 15): suggestion latency and index build time at 100,000 tickets of history, and the accuracy of
``deskterm triage --evaluate`` on the demo desk beside the majority-class baseline.

    python benchmarks/triage.py                    # 100,000 tickets (goals: p95 <= 50 ms, build <= 10 s)
    python benchmarks/triage.py --tickets 20000 --samples 100
    python benchmarks/triage.py --db postgresql+psycopg://...   # an empty PostgreSQL database instead

The history is the demo's generator (``demo.history``: 90 days of tickets with categories, worded as
customers word them, fixed seed) imported into a fresh desk through the service. "Build" is the time to index
every ticket from scratch, as migration 0011 does on an existing desk (SQLite: filling the FTS5 table;
PostgreSQL: creating the GIN index). "Suggestion" is ``triage.suggest`` for one new ticket: the ticket read,
two ranked full-text queries (resolved neighbours, open look-alikes), the vote, the open majors; what the app
runs in a worker and ``deskterm triage ID`` prints.
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
        else:
            conn.execute(text(f"DROP INDEX {search.PG_INDEX}"))
            conn.execute(text(f"CREATE INDEX {search.PG_INDEX} ON tickets USING gin ({search.PG_VECTOR})"))
        return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--db", help="an empty PostgreSQL database URL (default: a SQLite file in a temporary directory)")
    args = ap.parse_args()
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
        print(f"history: {args.tickets:,} tickets generated in {made:.1f} s, imported (index kept by triggers or")
        print(f"  the expression index as they arrive) in {imported:.1f} s on {store.engine.dialect.name}")
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
        triage.suggest(desk, ids[0])  # warm the connection and the caches, as the app's first suggestion does
        times, cpu = [], []
        for tid in ids:
            started, used = time.perf_counter(), time.thread_time()
            triage.suggest(desk, tid)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - used) * 1000)

        def figures(values: list[float]) -> str:
            values = sorted(values)
            p50, p95 = values[len(values) // 2], values[int(len(values) * 0.95) - 1]
            return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, worst {values[-1]:.1f} ms"

        print(
            f"suggestion for one ticket at {args.tickets:,} tickets of history"
            f" ({args.samples} tickets; goal p95 <= 50 ms):"
        )
        print(f"  wall clock: {figures(times)}")
        print(f"  CPU of the thread (what the machine's load does not inflate): {figures(cpu)}")
        print(f"  load average meanwhile: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        store.dispose()
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
