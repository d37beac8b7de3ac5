"""How long a 30-day KPI report takes over a desk of N tickets (goal: 100,000 tickets in under 2 s).

Builds a desk with the demo generator (fixed seed), its tickets spread over the last 365 days as a desk
accumulates them, then times the same work as `deskterm report --since 30d --format json`: loading the
tickets whose life overlaps the period with their histories, replaying their SLA as of the end of the
period, and computing the KPIs. Prints each phase. `--days N` spreads the tickets over N days instead
(`--days 30` puts all 100,000 in the period: the worst case).

    python benchmarks/report.py [--tickets 100000]
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args()
    import random

    rnd = random.Random(42)
    clock = FrozenClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(write_demo_config(Path(tmp)))
        desk = Desk(open_store(Path(tmp) / "bench.db"), config, clock=clock, user="bench")
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

        until = clock.now()
        since = until - timedelta(days=30)
        t0 = time.perf_counter()
        tickets = desk.tickets_for_period(since, until)
        escalations = desk.escalations(open_only=False)
        t1 = time.perf_counter()
        kpis = reports.compute(tickets, lambda t: desk.sla(t, until), since, until, escalations, config.tz)
        t2 = time.perf_counter()
        total = t2 - t0
        print(f"load tickets and histories: {t1 - t0:6.2f} s ({sum(len(t.events) for t in tickets):,} events)")
        print(f"SLA replay + KPIs:          {t2 - t1:6.2f} s")
        print(
            f"30-day report over a desk of {args.tickets:,} tickets ({len(tickets):,} touch the period): "
            f"{total:.2f} s   goal < 2 s: {'MET' if total < 2 else 'NOT MET'}"
        )
        print(f"  opened {kpis.opened:,}, resolved {kpis.resolved:,}, compliance {kpis.overall_compliance:.1%}")


if __name__ == "__main__":
    main()
