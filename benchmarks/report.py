"""How long a 30-day KPI report takes over a desk of N tickets (goal: 100,000 tickets in under 2 s).

Builds a desk with the demo generator (fixed seed), its tickets spread over the last 365 days as a desk
accumulates them, then times the same work as `deskterm report --since 30d --format json`: loading the
tickets whose life overlaps the period with their histories, replaying their SLA as of the end of the
period, and computing the KPIs. Prints each phase. `--days N` spreads the tickets over N days instead
(`--days 30` puts all 100,000 in the period: the worst case).

    python benchmarks/report.py [--tickets 100000]
    nice python benchmarks/report.py --tickets 1000000 --cached --periods 30,365   # beside --tickets 100000

``--cached``: the desk of benchmarks/desks.py instead (the demo's busy queue, kept between runs under
``$DESKTERM_BENCH_DIR``: a million tickets take ten minutes or more to build), measured as of its clock.
``--periods``: the report's periods in days (a year's `report` is 365). Each period's figure is the same work
as `deskterm report --since Nd`, wall and CPU seconds; the load average is printed beside.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from deskterm import reports
from deskterm.clock import FrozenClock
from deskterm.config import load_config
from deskterm.demo import generate, write_demo_config
from deskterm.service import Desk, NewEvent
from deskterm.store.engine import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365, help="spread the tickets' creation over this many days")
    parser.add_argument("--cached", action="store_true", help="the desk of benchmarks/desks.py (kept between runs)")
    parser.add_argument("--periods", default="30", help="the report's periods, in days, comma-separated")
    args = parser.parse_args()
    import random

    rnd = random.Random(42)
    clock = FrozenClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    with tempfile.TemporaryDirectory(dir=os.environ.get("DESKTERM_BENCH_DIR")) as tmp:
        if args.cached:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            import desks

            db, config_path = desks.working_copy(args.tickets, Path(tmp))
            clock = FrozenClock(desks.NOW)
            config = load_config(config_path)
            desk = Desk(open_store(db), config, clock=clock, user="bench")
        else:
            desk, config = build(args, Path(tmp), clock, rnd)
        print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
        for days in (int(d) for d in args.periods.split(",")):
            measure(desk, config, clock, days, args.tickets)
        print(f"load average after: {os.getloadavg()[0]:.1f}")


def build(args, tmp: Path, clock, rnd):
    config = load_config(write_demo_config(tmp))
    desk = Desk(open_store(tmp / "bench.db"), config, clock=clock, user="bench")
    t0 = time.perf_counter()
    batch = 20_000
    for start in range(0, args.tickets, batch):
        tickets = generate(clock.now(), min(batch, args.tickets - start), seed=start + 1)
        for t in tickets:
            t.ref = None  # the generator's refs repeat between batches
            shift = timedelta(seconds=rnd.uniform(0, max(args.days - 20, 0) * 86400))  # ages up to 20 days already
            t.created_at -= shift
            for e in t.events:
                e.at -= shift
            # a desk closes its old tickets: anything over a month old and still open is resolved, then closed
            age = clock.now() - t.created_at
            last = next((e.to for e in reversed(t.events) if e.kind == "status"), "new")
            if age > timedelta(days=30) and last not in ("resolved", "closed"):
                end = max([t.created_at, *(e.at for e in t.events)]) + timedelta(days=rnd.uniform(0.5, 5))
                t.events.append(NewEvent(at=end, kind="status", author="bench", to="resolved"))
                t.events.append(NewEvent(at=end + timedelta(days=2), kind="status", author="bench", to="closed"))
        desk.import_tickets(tickets)
    print(f"built {args.tickets:,} tickets in {time.perf_counter() - t0:.1f} s")
    return desk, config


def measure(desk, config, clock, days: int, n: int) -> None:
    goal = 1.0 if days <= 30 else 5.0  # issue 17: the 30-day dashboard <= 1 s, a year's report <= 5 s
    until = clock.now()
    since = until - timedelta(days=days)
    t0, c0 = time.perf_counter(), time.process_time()
    tickets = desk.tickets_for_period(since, until)
    escalations = desk.escalations(open_only=False)
    t1, c1 = time.perf_counter(), time.process_time()
    kpis = reports.compute(tickets, lambda t: desk.sla(t, until), since, until, escalations, config.tz)
    t2, c2 = time.perf_counter(), time.process_time()
    total = t2 - t0
    print(f"{days}-day report over a desk of {n:,} tickets ({len(tickets):,} touch the period):")
    events = sum(len(t.events) for t in tickets)
    print(f"  load tickets and histories: {t1 - t0:6.2f} s, {c1 - c0:6.2f} s CPU ({events:,} events)")
    print(f"  SLA replay + KPIs:          {t2 - t1:6.2f} s, {c2 - c1:6.2f} s CPU")
    print(
        f"  total {total:.2f} s, {c2 - c0:.2f} s CPU (load {os.getloadavg()[0]:.1f})"
        f"   goal <= {goal:g} s: {'MET' if total <= goal else 'NOT MET'}"
    )
    print(f"  opened {kpis.opened:,}, resolved {kpis.resolved:,}, compliance {kpis.overall_compliance:.1%}")


if __name__ == "__main__":
    main()
