"""Desks for the benchmarks, built once and kept between runs.

``cached(tickets)`` returns a directory holding ``demo.db`` and ``deskterm.toml``: the demo's busy-queue
generator (``build_demo(story=False)``, fixed seed, the clock frozen at ``NOW``: about 47 % of the tickets
open), the desk the queue benchmark and the screen tests use. It is built the first time (100,000 tickets:
about a minute; 1,000,000: about ten) under ``$DESKTERM_BENCH_DIR`` (default: ``deskterm-bench-desks`` in the
temporary directory; a process asking for a desk that another is building waits for that build, by a lock
beside it), keyed by the generator's source and the schema it was built at, so that a desk made
by another generator is never measured and an older deskterm (a baseline: ``cached_by``) gets one it can
open. ``working_copy`` copies one to a scratch directory, where ``migrate`` brings it to the schema of the
deskterm that will measure it before anything is timed; the cached desk stays as it was built. ``own_copies``
gives each installation measured its own copy of the desk the baseline builds, each migrated by its own deskterm:
a desk opened by a newer deskterm is never handed to an older one (it refuses a newer schema; and a desk whose
deadlines another configuration's code derived is derived again on opening, inside what is timed).

An installation is named by a path: a venv's ``bin`` directory (its ``python``), an older checkout's ``src``
directory (run with this Python, first on ``PYTHONPATH``), or None for this checkout (``run_with``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

NOW = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)

# An automatic escalation rule, added to a working copy's configuration so that escalate-due has its work to
# do: every open ticket's timers evaluated against it. It fires for no ticket (no customer has that name), so
# that every run measures the steady state of a cron job (the desk's clock is long past the generator's: a rule
# that fired would escalate every old ticket on the first run, one transaction each).
RULES = """
[groups."L2-network"]
level = "L2"

[escalation]
managers = ["duty-manager"]

[[escalation.rules]]
name = "P1/P2 at 75 %"
when = "resolution.at 75%"
priority = ["P1", "P2"]
customer = ["(the benchmark: nobody)"]
action = "hierarchical"
to = "duty-manager"
"""


def root() -> Path:
    return Path(os.environ.get("DESKTERM_BENCH_DIR") or Path(tempfile.gettempdir()) / "deskterm-bench-desks")


def cached(tickets: int) -> Path:
    import deskterm.demo
    import deskterm.store.migrate

    made_by = hashlib.sha256(Path(deskterm.demo.__file__).read_bytes()).hexdigest()[:10]
    where = root() / f"{tickets}-{made_by}-{deskterm.store.migrate.HEAD}"
    if (where / "demo.db").exists() and (where / "done").exists():
        return where
    import fcntl

    from deskterm.clock import FrozenClock
    from deskterm.demo import build_demo

    where.parent.mkdir(parents=True, exist_ok=True)
    # one build at a time: a benchmark asking for a desk that another process is building waits for it (a build of
    # a million tickets takes ten minutes to an hour) instead of taking it for an interrupted build and deleting it
    with open(where.parent / f".{where.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (where / "demo.db").exists() and (where / "done").exists():  # built meanwhile by the one we waited for
            return where
        if where.exists():  # an interrupted build (its builder no longer holds the lock)
            shutil.rmtree(where)
        started = time.perf_counter()
        build_demo(where, tickets=tickets, clock=FrozenClock(NOW), story=False)
        (where / "done").touch()
    print(f"built {tickets} tickets in {time.perf_counter() - started:.0f} s → {where}", file=sys.stderr)
    return where


SRC = Path(__file__).resolve().parents[1] / "src"  # this checkout's deskterm


def run_with(install: Path | None) -> tuple[str, dict[str, str]]:
    """(the python, its environment) that runs the deskterm of ``install``: this checkout's (None: this Python, its
    ``src`` first), a venv's ``bin`` (its own python, nothing of this checkout on its path), or an older ``src``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if install is not None and (install / "python").exists():
        return str(install / "python"), env
    return sys.executable, {**env, "PYTHONPATH": str(install or SRC)}


def cached_by(install: Path, tickets: int) -> Path:
    """``cached(tickets)`` as the deskterm of ``install`` builds it (its generator, its schema): the desk a baseline
    and this deskterm both open (this one migrates its copy up, an older one could not open a desk of a newer
    schema)."""
    import subprocess

    python, env = run_with(install)
    argv = [python, str(Path(__file__).resolve()), str(tickets)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"building the desk with {install}: {done.stderr[-1000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def own_copies(
    tickets: int, installs: dict[str, Path | None], into: Path, rules: bool = False
) -> dict[str, tuple[Path, Path]]:
    """Each installation's own working copy (database, configuration) of the desk of ``tickets``, in ``into/LABEL``:
    the desk as the last installation given (the baseline, the oldest) builds it, or this checkout's when it is the
    only one; each copy is then brought to its own deskterm's schema by that deskterm (``migrate``), before anything
    is timed. No copy is opened by two installations."""
    last = list(installs.values())[-1]
    source = cached(tickets) if last is None else cached_by(last, tickets)
    copies = {}
    for label, install in installs.items():
        db, config = working_copy(tickets, into / label, rules=rules, source=source)
        migrate(install, db, config)
        copies[label] = (db, config)
    return copies


def working_copy(tickets: int, into: Path, rules: bool = False, source: Path | None = None) -> tuple[Path, Path]:
    """A copy of the cached desk of ``tickets`` (or of the one in ``source``) in ``into``: (database,
    configuration)."""
    source = source or cached(tickets)
    into.mkdir(parents=True, exist_ok=True)
    db, config = into / "demo.db", into / "deskterm.toml"
    import sqlite3

    src, out = sqlite3.connect(source / "demo.db"), sqlite3.connect(db)
    try:
        src.backup(out)  # what the write-ahead log holds too
    finally:
        src.close()
        out.close()
    text = (source / "deskterm.toml").read_text()
    config.write_text(text + (RULES if rules else ""))
    return db, config


def migrate(install: Path | None, db: Path, config: Path) -> None:
    """Bring a working copy to the schema of the deskterm of ``install`` (``run_with``), its deadlines derived with
    that deskterm's fingerprint (a command that reads: it opens the desk as every command does)."""
    import subprocess

    python, env = run_with(install)
    subprocess.run(
        [python, "-m", "deskterm.cli", "--db", str(db), "--config", str(config), "agents"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # (the configuration's warnings, once per copy)
    )


if __name__ == "__main__":
    for n in sys.argv[1:] or ["100000"]:
        print(cached(int(n)))
