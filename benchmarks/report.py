"""How long `deskterm report` takes over a desk of N tickets, and the memory it holds (issue 17: a year's
report <= 5 s and the 30-day figures <= 1 s at 1,000,000 tickets, <= 500 MB).

Runs the real command (`deskterm report --since Nd --until END --format json`) in a process of its own per
period and per installation, and prints its wall and CPU seconds and its peak resident memory (from the
kernel), with the load average beside. ``--against`` runs the same reports with another installation (a venv's
``bin``, or an older ``src`` run with this Python), in turn with this one, each on its own working copy of the
desk that installation builds (benchmarks/desks.py ``own_copies``; without ``--cached``, the baseline builds it),
migrated by its own deskterm before anything is timed, and says whether the two printed the same bytes.

    python benchmarks/report.py [--tickets 100000]            # a desk built here, spread over a year
    nice python benchmarks/report.py --tickets 1000000 --cached --periods 30,365 --against /work/baseline/src

``--cached``: the desk of benchmarks/desks.py instead (the demo's busy queue, kept between runs under
``$DESKTERM_BENCH_DIR``: a million tickets take ten minutes or more to build; every ticket of it touches the
last 30 days), reported up to its clock. Otherwise a desk is built with the demo generator (fixed seed), its
tickets spread over the last ``--days`` days as a desk accumulates them. ``--periods``: the report's periods
in days (a year's `report` is 365). ``--stop-mb`` / ``--stop-cpu``: a run that passes either is stopped, and
the memory and CPU it had reached are printed (a baseline at a million tickets holds gigabytes).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = "--build-into"  # (a desk built by the deskterm running this script: the baseline's, see ``built_by``)
if BUILD not in sys.argv:
    sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365, help="spread the tickets' creation over this many days")
    parser.add_argument("--cached", action="store_true", help="the desk of benchmarks/desks.py (kept between runs)")
    parser.add_argument("--periods", default="30", help="the report's periods, in days, comma-separated")
    parser.add_argument("--against", type=Path, help="a baseline deskterm: an older src directory, or a venv's bin")
    parser.add_argument("--stop-mb", type=float, default=8000, help="stop a run past this resident memory")
    parser.add_argument("--stop-cpu", type=float, default=900, help="stop a run past these CPU seconds")
    parser.add_argument(BUILD, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_into:
        build(args, args.build_into, END)
        return
    import desks

    installs: list[tuple[str, Path | None]] = [("now", None)]
    if args.against:
        installs.append(("baseline", args.against))
    with tempfile.TemporaryDirectory(dir=os.environ.get("DESKTERM_BENCH_DIR")) as tmp:
        if args.cached:
            end = desks.NOW
            copies = desks.own_copies(args.tickets, dict(installs), Path(tmp))
        else:
            end = END
            copies = built_by(args, installs, Path(tmp))
        print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
        for days in (int(d) for d in args.periods.split(",")):
            goal = 1.0 if days <= 30 else 5.0  # issue 17: the 30-day figures <= 1 s, a year's report <= 5 s
            print(f"{days}-day report over a desk of {args.tickets:,} tickets (goal <= {goal:g} s, <= 500 MB):")
            digests = {}
            for label, install in installs:  # in turn, so that both see the same load
                argv, env = command(install)
                db, config = copies[label]
                argv += ["--db", str(db), "--config", str(config), "report"]
                argv += ["--since", f"{days}d", "--until", end.isoformat(), "--format", "json"]
                out = Path(tmp) / f"{label}-{days}.json"
                wall, cpu, peak, stopped = run(argv, env, out, args.stop_mb, args.stop_cpu)
                load = os.getloadavg()[0]
                if stopped:
                    print(
                        f"  {label:8} STOPPED ({stopped}) after {wall:7.1f} s wall, {cpu:7.1f} s CPU, "
                        f"holding {peak:7,.0f} MB (load {load:.1f})"
                    )
                    continue
                digests[label] = hashlib.sha256(out.read_bytes()).hexdigest()
                print(
                    f"  {label:8} {wall:7.2f} s wall, {cpu:7.2f} s CPU, peak {peak:7,.0f} MB (load {load:.1f})"
                    f"   {'MET' if wall <= goal and peak <= 500 else 'NOT MET'}{figures(out)}"
                )
                out.unlink()
            if len(digests) == 2:
                same = len(set(digests.values())) == 1
                print(f"  output: {'the same bytes' if same else 'DIFFERENT'} ({digests['now'][:12]})")
        print(f"load average after: {os.getloadavg()[0]:.1f}")


def command(install: Path | None) -> tuple[list[str], dict[str, str]]:
    """How to run a deskterm: this checkout's (None), an older ``src`` (with this Python), or a ``bin``."""
    import desks

    python, env = desks.run_with(install)
    return [python, "-m", "deskterm.cli"], env


END = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # the clock of a desk built here


def built_by(args, installs: list[tuple[str, Path | None]], tmp: Path) -> dict[str, tuple[Path, Path]]:
    """Each installation's own copy of a desk built here (``build``) by the last one (the baseline: an older
    deskterm cannot open a desk of a newer schema), each copy migrated by its own deskterm before it is timed."""
    import shutil
    import sqlite3

    import desks

    builder = installs[-1][1]
    made = tmp / "built"
    python, env = desks.run_with(builder)
    argv = [python, str(Path(__file__).resolve()), "--tickets", str(args.tickets), "--days", str(args.days)]
    subprocess.run([*argv, BUILD, str(made)], env=env, check=True)
    copies = {}
    for label, install in installs:
        (tmp / label).mkdir()
        db, config = tmp / label / "bench.db", tmp / label / "deskterm.toml"
        src, out = sqlite3.connect(made / "bench.db"), sqlite3.connect(db)
        try:
            src.backup(out)  # (what a write-ahead log holds too)
        finally:
            src.close()
            out.close()
        shutil.copy(made / "deskterm.toml", config)
        desks.migrate(install, db, config)
        copies[label] = (db, config)
    return copies


def run(argv: list[str], env: dict[str, str], out: Path, stop_mb: float, stop_cpu: float):
    """(wall s, CPU s, peak resident MB, why it was stopped or "") of one command, its output in ``out``."""
    tick = os.sysconf("SC_CLK_TCK")
    t0 = time.perf_counter()
    stopped = ""
    peak = cpu = 0.0
    with out.open("wb") as fh, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=fh, stderr=err, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                cpu = sum(int(f) for f in fields[11:15]) / tick  # its own and its ended children's
                peak = max(peak, held(proc.pid))
            except (OSError, IndexError, ValueError):
                pass
            if not stopped and (peak > stop_mb or cpu > stop_cpu):
                stopped = f"past {stop_mb:,.0f} MB" if peak > stop_mb else f"past {stop_cpu:,.0f} s of CPU"
                proc.kill()
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        if stopped:
            return wall, cpu, peak, stopped
        if code != 0:
            err.seek(0)
            sys.exit(f"{' '.join(argv[-8:])}: exit {code}:\n{err.read()[-4000:].decode()}")
    # CPU: wait4's, the command's and its children's (a report folds in two processes). Not ru_maxrss for the
    # memory: Linux keeps it across exec, so a command started by a process that held more (this one, after
    # building a desk) shows that process's peak; the high-water marks polled above are the command's own.
    return wall, usage.ru_utime + usage.ru_stime, peak, ""


def held(pid: int) -> float:
    """The peak resident memory (VmHWM) of a process and of its children still running, added up, in MB: a report
    that folds in two processes holds both."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            total += int(line.split()[1]) / 1024
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            total += held(int(child))
        except OSError:  # (ended meanwhile)
            pass
    return total


def figures(out: Path) -> str:
    import json

    total = json.loads(out.read_text())["total"]
    rate = total["overall_compliance"]
    return (
        f"\n           opened {total['opened']:,}, resolved {total['resolved']:,}, breaches listed "
        f"{len(total['breaches']):,}, compliance {'-' if rate is None else f'{rate:.1%}'}"
    )


def build(args, tmp: Path, end: datetime) -> tuple[Path, Path]:
    """A desk of ``args.tickets`` in ``tmp`` (bench.db, deskterm.toml) by the deskterm running this script."""
    tmp.mkdir(parents=True, exist_ok=True)
    from deskterm.clock import FrozenClock
    from deskterm.config import load_config
    from deskterm.demo import generate, write_demo_config
    from deskterm.service import Desk, NewEvent
    from deskterm.store.engine import open_store

    rnd = random.Random(42)
    clock = FrozenClock(end)
    config_path = write_demo_config(tmp)
    db = tmp / "bench.db"
    store = open_store(db)
    desk = Desk(store, load_config(config_path), clock=clock, user="bench")
    t0 = time.perf_counter()
    batch = 20_000
    for start in range(0, args.tickets, batch):
        tickets = generate(clock.now(), min(batch, args.tickets - start), seed=start + 1)
        for t in tickets:
            t.ref = None  # the generator's refs repeat between batches
            shift = timedelta(seconds=rnd.uniform(0, max(args.days - 20, 0) * 86400))  # ages up to 20 days already
            t.created_at -= shift
            t.events = [dataclasses.replace(e, at=e.at - shift) for e in t.events]
            # a desk closes its old tickets: anything over a month old and still open is resolved, then closed
            age = clock.now() - t.created_at
            last = next((e.to for e in reversed(t.events) if e.kind == "status"), "new")
            if age > timedelta(days=30) and last not in ("resolved", "closed"):
                end_at = max([t.created_at, *(e.at for e in t.events)]) + timedelta(days=rnd.uniform(0.5, 5))
                t.events.append(NewEvent(at=end_at, kind="status", author="bench", to="resolved"))
                t.events.append(NewEvent(at=end_at + timedelta(days=2), kind="status", author="bench", to="closed"))
        desk.import_tickets(tickets)
    store.dispose()
    print(f"built {args.tickets:,} tickets in {time.perf_counter() - t0:.1f} s")
    return db, config_path


if __name__ == "__main__":
    main()
