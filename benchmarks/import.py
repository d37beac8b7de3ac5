#!/usr/bin/env python
"""Import throughput and memory: generate N tickets as JSON Lines, run the real ``deskterm import``, print
tickets/s, CPU seconds and the import's peak resident memory.

    nice python benchmarks/import.py                 # 100,000 tickets
    nice python benchmarks/import.py --tickets 1000000 --against /tmp/baseline/src   # beside a baseline
    python benchmarks/import.py --tickets 5000 --repeat 3
    python benchmarks/import.py --profile       # also profile deskterm.cli.main in-process (cProfile)

Goals (issue 17): >= 15,000 tickets/s, <= 500 MB resident at 1,000,000 tickets. Each import is run twice:
into a new desk (the file is read twice then: checked before the desk is created) and into a desk that
exists (one ticket imported first). ``--against`` runs the same imports with another deskterm, in turn with
this one (the machine's load changes): a directory holding the ``deskterm`` package (an older ``src``, run with
this Python and ``PYTHONPATH``) or an environment's ``bin`` (its ``python``). The load average is printed.

Each ticket has a realistic history of 3-8 events (replies, customer messages, internal notes, assignment,
escalation, priority change, pending/open/resolved/closed), in time order after ``created_at``, with UTC
offsets of several zones. The import runs in a subprocess on a fresh SQLite file in a temporary directory,
with the contract's example configuration. The figure includes interpreter start-up; the time of a
one-ticket import (start-up, configuration, migrations) is printed too so the two can be told apart.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "deskterm.toml"
GOAL = 15_000  # tickets per second
RSS_GOAL = 500  # MB resident at most

CUSTOMERS = [
    "Clinique Saint-Jean",
    "Acme",
    "Globex",
    "Initech",
    "Umbrella Health",
    "Hooli",
    "Stark Logistics",
    "Wayne Foundation",
    "Soylent",
    "Tyrell Systems",
] + [f"Customer {i:03d}" for i in range(40)]
AGENTS = ["alice", "bob", "chloe", "dmitri", "emma", "farid"]
GROUPS = ["L1", "L2", "network", "apps"]
SUBJECTS = [
    "VPN down for ward B",
    "Printer jams on floor 3",
    "Cannot log in to the ERP",
    "Mailbox full",
    "New laptop for an intern",
    "Wi-Fi drops every hour",
    "Access to the shared drive",
    "Invoice export fails",
    "Phone line crackles",
    "Password reset",
    "Badge reader offline",
    "Slow database reports",
]
ZONES = [timezone(timedelta(hours=h)) for h in (0, 1, 2, -5, 9)]


def iso(dt: datetime) -> str:
    return dt.astimezone(random.choice(ZONES)).isoformat(timespec="seconds")


def ticket(i: int, rng: random.Random, start: datetime) -> dict:
    created = start + timedelta(seconds=rng.randrange(0, 90 * 86400))
    rec: dict = {
        "ref": f"EXT-{i:07d}",
        "subject": rng.choice(SUBJECTS),
        "description": "Reported by phone. " * rng.randint(0, 4),
        "customer": rng.choice(CUSTOMERS),
        "type": rng.choice(("incident", "incident", "incident", "request", "problem", "change")),
        "created_at": iso(created),
    }
    if rng.random() < 0.3:
        rec["impact"], rec["urgency"] = rng.randint(1, 3), rng.randint(1, 3)
    else:
        rec["priority"] = rng.choice(("P1", "P2", "P2", "P3", "P3", "P3", "P4"))
    at = created
    events: list[dict] = []

    def step(**event) -> None:
        nonlocal at
        at += timedelta(seconds=rng.randrange(60, 6 * 3600))
        events.append({"at": iso(at), **event})

    agent = rng.choice(AGENTS)
    n = rng.randint(3, 8)
    step(kind="assign", to=agent)
    step(kind="reply", public=True, author=agent, body="Thanks, we are looking into it.")
    middle = n - 3  # between the first reply and the resolution
    for _ in range(middle):
        choice = rng.random()
        if choice < 0.25:
            step(kind="status", to="pending")
            if len(events) < n - 1:
                step(kind="reply", public=True, author="customer", body="Here is the screenshot.")
            if len(events) < n - 1:
                step(kind="status", to="open")
        elif choice < 0.45:
            step(kind="reply", public=False, author=agent, body="Checked the logs: nothing obvious.")
        elif choice < 0.6:
            step(kind="escalate", to=rng.choice(GROUPS), reason="needs network access")
        elif choice < 0.7:
            step(kind="priority", to=rng.choice(("P1", "P2", "P3", "P4")), reason="customer impact revised")
        else:
            step(kind="reply", public=True, author=agent, body="Update: still working on it.")
        if len(events) >= n - 1:
            break
    events = events[: n - 1]
    # a pending left open at the end is fine: the ticket simply stays pending; most get resolved
    if rng.random() < 0.85:
        step(kind="status", to="resolved")
    else:
        step(kind="reply", public=True, author=agent, body="We will get back to you tomorrow.")
    rec["events"] = events
    return rec


def generate(path: Path, n: int, seed: int) -> tuple[int, int]:
    rng = random.Random(seed)
    random.seed(seed)
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    events = 0
    with path.open("w", encoding="utf-8") as fh:
        for i in range(1, n + 1):
            rec = ticket(i, rng, start)
            events += len(rec["events"])
            fh.write(json.dumps(rec, ensure_ascii=False))
            fh.write("\n")
    return n, events


def command(install: Path | None) -> tuple[list[str], dict[str, str]]:
    """How to run a deskterm: this checkout's (None), an older ``src`` (with this Python), or a ``bin``."""
    if install is not None and (install / "python").exists():
        return [str(install / "python"), "-m", "deskterm.cli"], dict(os.environ)
    src = install or ROOT / "src"
    return [sys.executable, "-m", "deskterm.cli"], {
        **os.environ,
        "PYTHONPATH": str(src) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }


def run_import(db: Path, file: Path, install: Path | None = None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak resident MB) of one import, in its own process."""
    cmd, env = command(install)
    cmd += ["--db", str(db), "--config", str(CONFIG), "import", str(file)]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"deskterm import failed (exit {proc.returncode}):\n{err.read()[-4000:].decode()}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def count(db: Path) -> tuple[int, int]:
    con = sqlite3.connect(db)
    try:
        return (
            con.execute("SELECT count(*) FROM tickets").fetchone()[0],
            con.execute("SELECT count(*) FROM events").fetchone()[0],
        )
    finally:
        con.close()


def profile(db: Path, file: Path, top: int) -> None:
    import cProfile
    import pstats

    sys.path.insert(0, str(ROOT / "src"))
    from deskterm.cli import main

    prof = cProfile.Profile()
    prof.enable()
    try:
        main(["--db", str(db), "--config", str(CONFIG), "import", str(file)])
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    finally:
        prof.disable()
    stats = pstats.Stats(prof, stream=sys.stdout).strip_dirs()
    print(f"\n--- cProfile, in-process import, top {top} by cumulative time ---")
    stats.sort_stats("cumulative").print_stats(top)
    print(f"--- top {top} by own time ---")
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=100_000, help="tickets to generate (default 100000)")
    ap.add_argument("--repeat", type=int, default=1, help="runs, each on a fresh database; the best is reported")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--against", type=Path, help="a baseline deskterm: an older src directory, or a venv's bin")
    ap.add_argument("--only", choices=("new", "existing"), help="only into a new desk, or one that exists")
    ap.add_argument("--profile", action="store_true", help="also profile the import in-process with cProfile")
    ap.add_argument("--top", type=int, default=25, help="rows of the profile to print")
    args = ap.parse_args()
    if args.tickets < 1:
        ap.error("--tickets must be at least 1")

    with tempfile.TemporaryDirectory(prefix="deskterm-bench-", dir=os.environ.get("DESKTERM_BENCH_DIR")) as tmp:
        tmp_path = Path(tmp)
        data = tmp_path / "tickets.jsonl"
        t0 = time.perf_counter()
        n_tickets, n_events = generate(data, args.tickets, args.seed)
        print(
            f"generated {n_tickets} tickets, {n_events} events ({n_events / n_tickets:.2f}/ticket), "
            f"{data.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s"
        )
        print(f"machine: {os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.1f}")
        one = tmp_path / "one.jsonl"
        generate(one, 1, args.seed + 1)
        one.write_text(one.read_text().replace('"EXT-', '"ONE-'))
        installs: list[tuple[str, Path | None]] = [("now", None)]
        if args.against:
            installs.append(("baseline", args.against))
        desks = [d for d in ("new", "existing") if args.only in (None, d)]
        results: dict[tuple[str, str], list[tuple[float, float, float, float]]] = {}
        for r in range(args.repeat):
            for desk in desks:
                for label, install in installs:  # in turn, so that both see the same load
                    db = tmp_path / f"bench-{label}-{desk}-{r}.db"
                    if desk == "existing":
                        run_import(db, one, install)
                    load = os.getloadavg()[0]
                    wall, cpu, rss = run_import(db, data, install)
                    load = (load + os.getloadavg()[0]) / 2
                    got = count(db)
                    expected = (n_tickets + (desk == "existing"), n_events + (desk == "existing") * count_events(one))
                    if got != expected:
                        sys.exit(f"database holds {got[0]} tickets and {got[1]} events, expected {expected}")
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{db}{suffix}").unlink(missing_ok=True)
                    results.setdefault((label, desk), []).append((wall, cpu, rss, load))
                    print(
                        f"  {label:8} into a {desk:8} desk: {wall:7.1f} s wall, {cpu:7.1f} s CPU, "
                        f"peak {rss:6.0f} MB, load {load:.1f}",
                        flush=True,
                    )
        print(f"\n{n_tickets:,} tickets, {n_events:,} events; best of {args.repeat} (by CPU):")
        for (label, desk), runs in results.items():
            wall, cpu, rss, load = min(runs, key=lambda x: x[1])
            print(
                f"  {label:8} {desk:8} desk: {n_tickets / wall:9,.0f} tickets/s wall, {n_tickets / cpu:9,.0f}/CPU s,"
                f" peak {rss:,.0f} MB (load {load:.1f})   goals: >= {GOAL:,}/s "
                f"{'MET' if n_tickets / wall >= GOAL else 'NOT MET'}, <= {RSS_GOAL} MB "
                f"{'MET' if rss <= RSS_GOAL else 'NOT MET'}"
            )

        if args.profile:
            profile(tmp_path / "profile.db", data, args.top)


def count_events(path: Path) -> int:
    return sum(len(json.loads(line).get("events", [])) for line in path.read_text().splitlines() if line.strip())


if __name__ == "__main__":
    main()
