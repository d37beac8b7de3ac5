"""What a deskterm command costs, from a script or cron: wall time and import time, beside Python itself.

On a working copy of the cached demo desk of N tickets (``benchmarks/desks.py``: 100,000 by default, about
47 % of them open; its configuration with one automatic escalation rule added, so that ``escalate-due`` has
rules to apply), each command is run as a script would run it (the installed ``deskterm`` entry point in a
new process, its output to a pipe that is read and dropped) ``--runs`` times after one untimed run (the cache
is warm: the desk's pages and Python's bytecode are in memory), and the median and the worst wall time and the
median CPU time (user + system) are printed, beside ``python -c pass`` and ``deskterm --version`` measured the
same way in the same run. A second pass runs each command once under ``python -X importtime`` and prints the
time spent importing modules (the sum of the top-level imports) and the five costliest packages.

    nice python benchmarks/cli.py [--tickets 100000] [--runs 7] [--against /work/main/.venv/bin] [--only show]

``--against`` runs every command a second time with another installation (a checkout of the baseline with its
own venv), one line each, in the same run: a figure and its baseline under the same load.

Machines are shared: run it with ``nice`` and give the load average (printed) with the figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))

import desks  # noqa: E402 - benchmarks/desks.py, beside this file


def commands(bin_dir: Path, db: Path, config: Path, ticket: int) -> list[tuple[str, list[str]]]:
    base = [str(bin_dir / "deskterm"), "--db", str(db), "--config", str(config)]
    return [
        ("python -c pass", [str(bin_dir / "python"), "-c", "pass"]),
        ("deskterm --version", [str(bin_dir / "deskterm"), "--version"]),
        ("list --status open", [*base, "list", "--status", "open"]),
        (f"show {ticket}", [*base, "show", str(ticket)]),
        (f"update {ticket} --note", [*base, "update", str(ticket), "--note", "checked from the benchmark"]),
        ("escalate-due", [*base, "escalate-due"]),
    ]


def wall(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """The command's wall time and its CPU time (user + system: less sensitive to the machine's load)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True)
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[-3:])}: exit {done.returncode}: {done.stderr.decode()[-500:]}")
    return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_profile(argv: list[str], env: dict[str, str]) -> tuple[float, list[tuple[str, float]]]:
    """Seconds spent importing (the top-level imports' cumulative times) and the costliest packages."""
    if not argv[0].endswith("/python"):
        argv = [str(Path(argv[0]).parent / "python"), *argv]
    argv = [argv[0], "-X", "importtime", *argv[1:]]
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    total = 0.0
    packages: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|", 2)
        seconds = int(cumulative) / 1e6
        if len(name) - len(name.lstrip(" ")) == 1:  # top level: what the program itself imported
            total += seconds
        module = name.strip()
        if "." not in module and module != "deskterm" and not module.startswith("_"):
            packages[module] = seconds  # a package with what it imported first (nested ones counted in both)
    top = sorted(packages.items(), key=lambda kv: -kv[1])[:5]
    return total, top


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--against",
        metavar="VENV_BIN",
        help="another installation's bin directory (e.g. /work/main/.venv/bin: the baseline), run beside this one",
    )
    parser.add_argument("--only", action="append", help="only the commands whose label starts so (repeatable)")
    args = parser.parse_args()
    # built by the baseline when there is one: both can open it (this deskterm migrates its copy)
    source = desks.cached_by(Path(args.against) if args.against else Path(sys.executable).parent, args.tickets)
    with tempfile.TemporaryDirectory(prefix="deskterm-bench-cli-") as tmp:
        db, config = desks.working_copy(args.tickets, Path(tmp) / "desk", rules=True, source=source)
        env = {
            **os.environ,
            "HOME": tmp,
            "XDG_CACHE_HOME": f"{tmp}/cache",
            "XDG_STATE_HOME": f"{tmp}/state",
            "XDG_DATA_HOME": f"{tmp}/data",
            "XDG_CONFIG_HOME": f"{tmp}/config",
            "DESKTERM_BUSY_TIMEOUT": "5",
        }
        # as a script or cron finds it: Python's bytecode cached. A shell that sets PYTHONDONTWRITEBYTECODE (this
        # project's development one does) would have every run compile deskterm's sources again (seconds)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        import sqlite3

        with sqlite3.connect(db) as conn:  # an open ticket in the middle of the desk
            (ticket,) = conn.execute(
                "SELECT id FROM tickets WHERE status IN ('new', 'open') ORDER BY id LIMIT 1 OFFSET 20000"
            ).fetchone()
            opened = conn.execute("SELECT count(*) FROM tickets WHERE status IN ('new', 'open')").fetchone()[0]
        print(
            f"{args.tickets} tickets ({opened} new or open), {args.runs} runs after one untimed; "
            f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs",
            file=sys.stderr,
        )
        installs = [("this", Path(sys.executable).parent, db)]
        desks.migrate(Path(sys.executable).parent, db, config)
        if args.against:  # its own copy, at its own schema
            old_db, _ = desks.working_copy(args.tickets, Path(tmp) / "baseline", rules=True, source=source)
            desks.migrate(Path(args.against), old_db, config)
            installs.append(("baseline", Path(args.against), old_db))
        print(
            f"{'command':24} {'install':9} {'median s':>9} {'worst s':>8} {'CPU s':>6} {'imports s':>10}"
            "  costliest imports"
        )
        for i, (label, _) in enumerate(commands(installs[0][1], db, config, ticket)):
            if args.only and not any(label.startswith(o) for o in args.only):
                continue
            for name, bin_dir, desk_db in installs:
                argv = commands(bin_dir, desk_db, config, ticket)[i][1]
                wall(argv, env)  # warm: the desk's pages, the bytecode, the holidays cache
                runs = [wall(argv, env) for _ in range(args.runs)]
                imported, top = import_profile(argv, env)
                costly = ", ".join(f"{package} {seconds:.3f}" for package, seconds in top[:3])
                times = [w for w, _ in runs]
                median, worst, cpu = statistics.median(times), max(times), statistics.median(c for _, c in runs)
                print(f"{label:24} {name:9} {median:9.3f} {worst:8.3f} {cpu:6.3f} {imported:10.3f}  {costly}")
                sys.stdout.flush()
        print(f"load average after: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
