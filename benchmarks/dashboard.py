"""What an open dashboard spends on a change made elsewhere, on a desk of N tickets (issue 17: ≤ 5 ms of CPU).

Each installation measured (this one, and with ``--against`` a baseline: another installation's bin
directory, or an older ``src`` put first on ``PYTHONPATH``) works on its own copy of the cached demo desk as the
baseline builds it, migrated by its own deskterm before anything is timed (``desks.own_copies``: an older
deskterm refused a copy of a newer schema), in a process of its own, as the dashboard's worker does: it reads
the desk and computes the figures once (the first load), then for each change, made by another ``Desk`` on the
same file (an open ticket set to ``pending`` and back, a note, a new ticket), with the clock moved a few seconds
as between two changes on a real desk, it reads again the changed tickets and computes what the screen shows:
the three periods for all customers and for each, the 30-day trend, the top contact reasons and the service
manager's lines. It prints the CPU seconds (``time.process_time``) of each phase, the median and worst per change.

With ``--screen handover`` it measures the handover screen the same way (the shift of the last 8 hours): the
first read and computation, then per change the changed tickets read again, the sections computed (with the
Markdown, when the installation's worker makes it on every computation), and apart the Markdown and the lines
of the list made on the event loop when the sections arrive (every line, ``handover_lines``, before; the 20 rows
of an 80x24 screen, ``HandoverRows``, now).

    DESKTERM_BENCH_DIR=/work/bench-desks nice .venv/bin/python benchmarks/dashboard.py --tickets 100000 \\
        --changes 5 --against /path/to/older/src
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import desks


def _change_elsewhere(other, clock, watch, opened: list[int], i: int):
    """The i-th change another agent makes, 7 s after the last (a ticket set to pending, a note, a new ticket, in
    turn), and what the feed says of it."""
    from deskterm.service import Change, NewTicket  # (imported in the worker: the installation measured)

    clock.advance(seconds=7)
    which = i % 3
    if which == 0:
        other.update(opened[i], Change(status="pending"))
    elif which == 1:
        other.update(opened[i], Change(note="called the customer"))
    else:
        other.create(NewTicket(subject="printer", customer="Lyon", priority="P3", created_at=clock.now()))
    seen = watch.changes()
    assert seen is not None and seen.tickets, "the change is in the feed"
    return seen


def worker(db: str, config_path: str, changes: int, profile: str = "") -> dict:
    """Runs in the measured installation: the dashboard's computations, timed (``profile``: a file to write a
    cProfile of the per-change part to)."""
    from deskterm import monthly, reports
    from deskterm.clock import FrozenClock
    from deskterm.config import load_config
    from deskterm.service import Desk
    from deskterm.store.changes import ChangeWatch
    from deskterm.store.engine import open_store
    from deskterm.tui.screens import dashboard

    config = load_config(Path(config_path))
    clock = FrozenClock(desks.NOW + timedelta(hours=1))
    store = open_store(Path(db))
    desk = Desk(store, config, clock=clock, user="bench")
    other = Desk(open_store(Path(db)), config, clock=clock, user="carol")
    incremental = hasattr(dashboard.Figures, "advance")
    kept = monthly.KeptManagerLines(desk) if hasattr(monthly, "KeptManagerLines") else None

    def compute(figures, now) -> None:
        """What DashboardScreen._compute does once the tickets are read."""
        if incremental:
            figures.advance(now)
            for key in dashboard.PERIODS:
                figures.period(key)
            figures.trend(None)
        else:
            figures.begin()
            for since, until in dashboard.period_bounds(now, config.tz).values():
                figures.period(since, until)
            figures.trend(None, now)
        if hasattr(figures, "reasons"):  # the top contact reasons kept as a fold
            figures.reasons.top(now - timedelta(days=7), now)
        else:
            tickets = list(figures.tickets.values()) if isinstance(figures.tickets, dict) else figures.tickets
            reports.top_reasons(tickets, now - timedelta(days=7), now)
        if kept is not None:  # the lines kept, computed again only when what they read changed
            kept.lines(now, None)
        else:
            monthly.manager_lines(desk, now, None)

    out: dict = {"incremental": incremental}
    c0 = time.process_time()
    figures = dashboard.Figures(desk, clock.now())
    c1 = time.process_time()
    compute(figures, clock.now())
    c2 = time.process_time()
    out["first read"], out["first compute"] = c1 - c0, c2 - c1
    out["first rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak resident, MB
    # the records kept (before), the tickets the ledger keeps something of (now: a digest and their contributions)
    out["tickets kept"] = len(figures.tickets) if hasattr(figures, "tickets") else len(figures.ledger.kept)
    watch = ChangeWatch(store)
    watch.changes()
    opened = [t.id for t in other.tickets(["open"])][:changes]
    reads, computes = [], []
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    for i in range(changes):
        seen = _change_elsewhere(other, clock, watch, opened, i)
        c0 = time.process_time()
        figures.refresh(seen.tickets)
        if kept is not None:
            kept.changed(seen.tickets)
        c1 = time.process_time()
        if profiler is not None:
            profiler.enable()
        compute(figures, clock.now())
        if profiler is not None:
            profiler.disable()
        c2 = time.process_time()
        reads.append(c1 - c0)
        computes.append(c2 - c1)
    out["reads"], out["computes"] = reads, computes
    if profiler is not None:
        profiler.dump_stats(profile)
    watch.close()
    return out


def handover_worker(db: str, config_path: str, changes: int) -> dict:
    """Runs in the measured installation: the handover screen's computations, timed (``--screen handover``)."""
    from deskterm import reports
    from deskterm.clock import FrozenClock
    from deskterm.config import load_config
    from deskterm.service import Desk
    from deskterm.store.changes import ChangeWatch
    from deskterm.store.engine import open_store
    from deskterm.tui.screens import handover

    config = load_config(Path(config_path))
    clock = FrozenClock(desks.NOW + timedelta(hours=1))
    store = open_store(Path(db))
    desk = Desk(store, config, clock=clock, user="bench")
    other = Desk(open_store(Path(db)), config, clock=clock, user="carol")
    # the Markdown made by the worker on every computation (before), or when asked for (``y``)
    eager = "markdown" in handover.HandoverLoaded.__init__.__code__.co_varnames

    def compute(shift, now) -> tuple[float, float, float, dict]:
        """What HandoverScreen._compute and on_handover_loaded do once the tickets are read: the sections
        (and the Markdown when the worker makes it), then the lines of the list."""
        c0 = time.process_time()
        h = shift.handover(now)
        c1 = time.process_time()
        reports.handover_markdown(h, config.tz)
        c2 = time.process_time()
        if hasattr(handover, "HandoverRows"):  # the rows on an 80x24 screen, made when shown
            rows = handover.HandoverRows(h, config.tz, 74)
            for row in range(min(len(rows), 20)):
                rows[row]
        else:  # every line, on every computation
            handover.handover_lines(h, config.tz)
        c3 = time.process_time()
        sizes = {s: len(getattr(h, s)) for s in handover.SECTIONS}
        return c1 - c0, c2 - c1, c3 - c2, sizes

    out: dict = {"markdown in the worker": eager}
    c0 = time.process_time()
    shift = handover.ShiftTickets(desk, clock.now(), 8)
    c1 = time.process_time()
    sections, markdown, lines, out["sections"] = compute(shift, clock.now())
    out["first read"], out["first compute"] = c1 - c0, sections + (markdown if eager else 0)
    out["tickets kept"] = len(shift.by_id)
    watch = ChangeWatch(store)
    watch.changes()
    opened = [t.id for t in other.tickets(["open"])][:changes]
    reads, computes, markdowns, liness = [], [], [], []
    for i in range(changes):
        seen = _change_elsewhere(other, clock, watch, opened, i)
        c0 = time.process_time()
        shift.refresh(seen.tickets)
        c1 = time.process_time()
        sections, markdown, lines, _ = compute(shift, clock.now())
        reads.append(c1 - c0)
        computes.append(sections + (markdown if eager else 0))
        markdowns.append(markdown)
        liness.append(lines)
    out["reads"], out["computes"], out["markdowns"], out["lines"] = reads, computes, markdowns, liness
    watch.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument(
        "--against",
        metavar="PATH",
        help="the baseline: another installation's bin directory, or an older deskterm's src directory",
    )
    parser.add_argument(
        "--screen",
        choices=("dashboard", "handover"),
        default="dashboard",
        help="the screen measured (the handover: its sections for the last 8 hours)",
    )
    parser.add_argument(
        "--profile", metavar="FILE", default="", help="write a cProfile of this installation's per-change part"
    )
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        db, config, changes, profile = args.worker
        if args.screen == "handover":
            print(json.dumps(handover_worker(db, config, int(changes))))
        else:
            print(json.dumps(worker(db, config, int(changes), profile)))
        return 0
    installs = [("this", sys.executable, str(Path(__file__).resolve().parents[1] / "src"))]
    if args.against:
        against = Path(args.against)
        if (against / "python").exists():
            installs.append(("baseline", str(against / "python"), ""))
        else:
            installs.append(("baseline", sys.executable, str(against)))
    print(f"{args.screen}: {args.tickets} tickets, {args.changes} changes; load average {os.getloadavg()[0]:.2f}, "
          f"{os.cpu_count()} CPUs", file=sys.stderr)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="deskterm-bench-dashboard-") as tmp:
        # each installation its own copy of the desk the baseline builds, migrated by its own deskterm (desks.py)
        copies = desks.own_copies(
            args.tickets, {"this": None, **({"baseline": Path(args.against)} if args.against else {})}, Path(tmp)
        )
        results = []
        for name, python, src in installs:
            db, config = copies[name]
            env = {**os.environ, "PYTHONPATH": src} if src else dict(os.environ)
            done = subprocess.run(
                [
                    python,
                    __file__,
                    "--screen",
                    args.screen,
                    "--worker",
                    str(db),
                    str(config),
                    str(args.changes),
                    args.profile if name == "this" else "",
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise SystemExit(f"{name}: {done.stderr[-2000:]}")
            r = json.loads(done.stdout.strip().splitlines()[-1])
            results.append((name, r))
            print(f"{name}: done, load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print(f"{'CPU seconds':34} " + " ".join(f"{name:>14}" for name, _ in results))
    rows = [
        ("tickets kept", lambda r: f"{r['tickets kept']:>14,}"),
        ("first load: reading", lambda r: f"{r['first read']:14.2f}"),
        ("first load: computing", lambda r: f"{r['first compute']:14.2f}"),
        ("per change: reading (median)", lambda r: f"{statistics.median(r['reads'] or [0]) * 1000:11.1f} ms"),
        ("per change: computing (median)", lambda r: f"{statistics.median(r['computes'] or [0]) * 1000:11.1f} ms"),
        ("per change: computing (worst)", lambda r: f"{max(r['computes'] or [0]) * 1000:11.1f} ms"),
    ]
    if args.screen == "dashboard":
        rows[3:3] = [("first load: peak resident (MB)", lambda r: f"{r.get('first rss', 0):14.0f}")]
    if args.screen == "handover":
        rows[3:3] = [
            ("sections on screen", lambda r: f"{sum(r['sections'].values()):>14,}"),
        ]
        rows += [
            ("per change: the Markdown (median)", lambda r: f"{statistics.median(r['markdowns']) * 1000:11.1f} ms"),
            ("per change: the list's lines (median)", lambda r: f"{statistics.median(r['lines']) * 1000:11.1f} ms"),
            ("Markdown made by the worker", lambda r: f"{'yes' if r['markdown in the worker'] else 'no (y)':>14}"),
        ]
    for label, cell in rows:
        print(f"{label:34} " + " ".join(cell(r) for _, r in results))
    print(f"load average after: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
