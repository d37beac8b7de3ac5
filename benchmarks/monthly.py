"""How long the service manager's monthly reports take over a desk of N tickets (issue 18; goals at 1,000,000
tickets of history: the customer's report under 3 s, billing and the improvement report under 2 s each).

Builds a desk as benchmarks/report.py does (the demo generator, fixed seed, tickets spread over the last 365 days,
old ones closed), adds a contract for each demo customer, time logged on 2 % of last month's tickets and twenty
change requests through the service, then times the same work as `deskterm report --customer C --month M
--format json`, `deskterm billing --customer C --month M` and `deskterm improvement --month M`, for the last full
month and the customer with the most tickets.

    python benchmarks/monthly.py [--tickets 100000]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from deskterm import billing, monthly
from deskterm.clock import FrozenClock
from deskterm.config import load_config
from deskterm.demo import CUSTOMERS, generate, write_demo_config
from deskterm.domain.billing import Contract
from deskterm.service import Change, Desk, NewEvent
from deskterm.store.engine import open_store


def build(desk: Desk, clock: FrozenClock, count: int, days: int) -> None:
    rnd = random.Random(42)
    batch = 20_000
    for start in range(0, count, batch):
        tickets = generate(clock.now(), min(batch, count - start), seed=start + 1)
        for t in tickets:
            t.ref = None
            shift = timedelta(seconds=rnd.uniform(0, max(days - 20, 0) * 86400))
            t.created_at -= shift
            t.events = [dataclasses.replace(e, at=e.at - shift) for e in t.events]
            age = clock.now() - t.created_at
            last = next((e.to for e in reversed(t.events) if e.kind == "status"), "new")
            if age > timedelta(days=30) and last not in ("resolved", "closed"):
                end = max([t.created_at, *(e.at for e in t.events)]) + timedelta(days=rnd.uniform(0.5, 5))
                t.events.append(NewEvent(at=end, kind="status", author="bench", to="resolved"))
                t.events.append(NewEvent(at=end + timedelta(days=2), kind="status", author="bench", to="closed"))
        desk.import_tickets(tickets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--keep", metavar="DIR", type=Path, help="build the desk in DIR once and time it again on later runs"
    )
    args = parser.parse_args()
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    clock = FrozenClock(now)
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        if (where / "bench.db").exists():
            config = load_config(where / "deskterm.toml")
            desk = Desk(open_store(where / "bench.db"), config, clock=clock, user="alice")
            month = billing.parse_month("2026-10", config.tz, now)
            print(f"reusing the desk of {where}")
        else:
            where.mkdir(parents=True, exist_ok=True)
            config = load_config(write_demo_config(where))
            desk = Desk(open_store(where / "bench.db"), config, clock=clock, user="alice")
            month = prepare(desk, clock, args.tickets, args.days)
        report(desk, month)


def prepare(desk: Desk, clock: FrozenClock, tickets: int, days: int) -> billing.Month:
    rnd = random.Random(7)
    now = clock.now()
    config = desk.config
    t0 = time.perf_counter()
    build(desk, clock, tickets, days)
    for name in CUSTOMERS:
        desk.add_contract(Contract("Support", name, date(2025, 1, 1), date(2026, 12, 31), True, None, 40 * 3600, 9500))
    month = billing.parse_month("2026-10", config.tz, now)
    last_month = [
        t for t in desk.tickets_for_period(month.since, month.until) if month.since <= t.created_at < month.until
    ]
    for t in rnd.sample(last_month, min(len(last_month), 20)):
        clock.set(t.created_at + timedelta(hours=1))
        desk.update(t.id, Change(classification="change_request"))
        desk.change_request(t.id, estimate=6 * 3600, approval="proposed")
        desk.change_request(t.id, approval="approved")
    for t in rnd.sample(last_month, len(last_month) // 50):
        clock.set(t.created_at + timedelta(hours=2))
        desk.log_time(t.id, rnd.choice((15, 30, 45, 60, 90)) * 60)
    clock.set(now)
    print(f"built {tickets:,} tickets ({len(last_month):,} in 2026-10) in {time.perf_counter() - t0:.1f} s")
    return month


def report(desk: Desk, month: billing.Month) -> None:
    config = desk.config
    last_month = [
        t for t in desk.tickets_for_period(month.since, month.until) if month.since <= t.created_at < month.until
    ]
    customer = Counter(t.customer for t in last_month).most_common(1)[0][0]

    def timed(label: str, goal: float, fn) -> None:
        t1 = time.perf_counter()
        fn()
        took = time.perf_counter() - t1
        print(f"{label:<44} {took:6.2f} s   goal < {goal:g} s: {'MET' if took < goal else 'NOT MET'}")

    timed(f"customer's report ({customer}, 2026-10)", 3, lambda: monthly.customer_report(desk, customer, "2026-10"))

    def bill() -> None:
        with desk.store.read() as session:
            billing.month_bill(session, customer, month, config.tz)

    timed("billing (the same customer, 2026-10)", 2, bill)
    timed("improvement report (2026-10)", 2, lambda: monthly.improvement_report(desk, "2026-10"))


if __name__ == "__main__":
    main()
