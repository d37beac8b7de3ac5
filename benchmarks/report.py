"""How long a 30-day KPI report takes over a desk of N tickets (goal: 100,000 tickets in under 2 s).

Builds a desk with the demo generator (fixed seed, creation spread over 60 days), then times the same work
as `deskterm report --since 30d --format json`: loading tickets and histories, replaying every ticket's SLA
as of the end of the period, and computing the KPIs. Prints each phase.

    python benchmarks/report.py [--tickets 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from deskterm import reports  # noqa: E402
from deskterm.clock import FrozenClock  # noqa: E402
from deskterm.config import load_config  # noqa: E402
from deskterm.demo import generate, write_demo_config  # noqa: E402
from deskterm.service import Desk  # noqa: E402
from deskterm.store.engine import open_store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args()
    clock = FrozenClock(__import__("datetime").datetime(2026, 11, 24, 12, 0, tzinfo=__import__("datetime").timezone.utc))
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(write_demo_config(Path(tmp)))
        desk = Desk(open_store(Path(tmp) / "bench.db"), config, clock=clock, user="bench")
        t0 = time.perf_counter()
        batch = 20_000
        for start in range(0, args.tickets, batch):
            tickets = generate(clock.now(), min(batch, args.tickets - start), seed=start + 1)
            for t in tickets:
                t.ref = None  # the generator's refs repeat between batches
            desk.import_tickets(tickets)
        print(f"built {args.tickets:,} tickets in {time.perf_counter() - t0:.1f} s")

        until = clock.now()
        since = until - timedelta(days=30)
        t0 = time.perf_counter()
        tickets = desk.tickets()
        escalations = desk.escalations(open_only=False)
        t1 = time.perf_counter()
        kpis = reports.compute(tickets, lambda t: desk.sla(t, until), since, until, escalations, config.tz)
        t2 = time.perf_counter()
        total = t2 - t0
        print(f"load tickets and histories: {t1 - t0:6.2f} s ({sum(len(t.events) for t in tickets):,} events)")
        print(f"SLA replay + KPIs:          {t2 - t1:6.2f} s")
        print(f"30-day report over {len(tickets):,} tickets: {total:.2f} s   goal < 2 s: {'MET' if total < 2 else 'NOT MET'}")
        print(f"  opened {kpis.opened:,}, resolved {kpis.resolved:,}, compliance {kpis.overall_compliance:.1%}")


if __name__ == "__main__":
    main()
