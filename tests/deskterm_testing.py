"""Helpers shared by test modules (a unique module name: `conftest` is taken by several directories).

- ``run_cli``: the real command line, in a new ``python -m deskterm.cli`` process (about a second of CPU for the
  imports alone).
- ``CliServer``: the same command line, forked from one process that imported deskterm once (a few tens of
  milliseconds a command). The CLI tests run each command on both database engines, so the suite takes this
  road for most commands; tests/test_corpus.py checks that both give byte-identical results.
- ``apply_changes``: a hypothesis example's (which ticket, change, minutes later) steps applied to a desk.
- ``db_state``, ``db_rows``, ``db_counts``: what a database holds, for a SQLite file or a PostgreSQL URL alike
  (the "nothing was written" checks on both engines).
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "examples" / "deskterm.toml"


def run_cli(*args: str, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command line, in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "deskterm.cli", *args],
        input=input,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=patience(120),
    )


def examples(n: int) -> int:
    """A hypothesis test's number of examples: ``n`` in the suite (sized so that ``make test`` stays within its
    10 minutes on 2 cores; the store's comparisons cost up to a second an example), times
    ``DESKTERM_TEST_EXAMPLES`` when it is set (``DESKTERM_TEST_EXAMPLES=5 make test``: more examples after a change
    to the incremental structures, the import or the SQL fast paths)."""
    return max(1, round(n * float(os.environ.get("DESKTERM_TEST_EXAMPLES") or 1)))


def patience(seconds: float) -> float:
    """How long to wait for a condition (a screen, a process to end) that takes at most ``seconds`` on a quiet
    machine: longer on a loaded one, by the load per core over the last minute when it is above 1 (at most 10
    times). A wait on a condition returns as soon as it holds, so this only moves the point where a test gives
    up; ``DESKTERM_TEST_PATIENCE=F`` sets the factor (e.g. 1 to see the quiet machine's limits)."""
    forced = os.environ.get("DESKTERM_TEST_PATIENCE")
    if forced:
        return seconds * float(forced)
    try:
        per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        per_core = 1.0
    return seconds * min(10.0, max(1.0, per_core))


# -- servers that die with the tests ------------------------------------------------------------------------

# A throwaway server (PostgreSQL, Dovecot) must not outlive the test process, even one killed with SIGKILL or by
# a CI timeout, when no fixture finalizer and no atexit handler runs. Linux sends a child its "parent death signal"
# (prctl PR_SET_PDEATHSIG) when the thread that created it ends, so every such server is started by one thread
# that lives as long as the process: then the signal comes exactly when the test process ends, however it ends.
_PR_SET_PDEATHSIG = 1
_spawner = None
_spawner_lock = threading.Lock()


def _die_with_parent(sig: int):
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, in the parent: the child only calls it
    parent = os.getpid()

    def set_signal() -> None:  # in the child, after fork (and after the switch of user), before exec
        prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), sig)

    return set_signal


def spawn_tied(args: list[str], sig: int, **popen) -> subprocess.Popen:
    """``subprocess.Popen(args, **popen)`` for a server that gets signal ``sig`` when this process ends (on Linux;
    elsewhere a plain Popen). ``sig``: what stops the server at once (SIGQUIT for PostgreSQL's immediate
    shutdown, SIGTERM for Dovecot)."""
    global _spawner
    if not sys.platform.startswith("linux"):
        return subprocess.Popen(args, **popen)
    from concurrent.futures import ThreadPoolExecutor

    with _spawner_lock:
        if _spawner is None:  # one thread, idle between spawns, ended only when the interpreter exits
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deskterm-spawner")
    return _spawner.submit(subprocess.Popen, args, preexec_fn=_die_with_parent(sig), **popen).result()


# -- the fork server ------------------------------------------------------------------------------------

# The server imports deskterm.cli (and what every command loads: the service, the importer, the store, SQLAlchemy's
# PostgreSQL dialect and psycopg) once, then forks a child per command. The child takes the caller's environment,
# working directory and fds 0/1/2 (files), then calls ``deskterm.cli.main(args)`` as ``python -m deskterm.cli``
# does, so exit code, stdout and stderr are those of the real command (an uncaught exception prints its traceback
# and exits 1, as the interpreter would). Nothing is opened before the fork: each child starts with no connection.
SERVER = r"""
import gc, io, json, os, sys, time, traceback
import deskterm.cli, deskterm.service, deskterm.importer, deskterm.store.engine  # the slow imports, once
# and what the commands load lazily: the configuration's holiday calendars, output, reports, and Alembic and
# the SQLite dialect (the first command on a new database migrates it)
import deskterm.config, deskterm.fmt, deskterm.jsonout, deskterm.reports, deskterm.store.migrate, sqlite3
import holidays, holidays.countries  # noqa: E401  (country_holidays loads every country)
import alembic.command, alembic.config, sqlalchemy.dialects.sqlite  # noqa: E401
try:  # what a postgresql+psycopg URL loads (optional: the SQLite-only machines have no psycopg)
    import psycopg, sqlalchemy.dialects.postgresql.psycopg  # noqa: F401
except ImportError:
    pass
# what was imported is frozen (never scanned by the collector): a child's collections, the gc.collect() below
# included, walk only what its command made, instead of the whole imported heap, whose every object they would
# also have copied on write. 228 ms of CPU a `show` came down to 91 (the whole suite forks thousands)
gc.collect()
gc.freeze()

def run(case):
    out, err, inp = case["stdout"], case["stderr"], case.get("stdin") or os.devnull
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            if case.get("fsize"):  # a disk that takes no more than this many bytes a file (RLIMIT_FSIZE)
                import resource, signal
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails (EFBIG) instead of killing
                resource.setrlimit(resource.RLIMIT_FSIZE, (case["fsize"], case["fsize"]))
            os.environ.clear()
            os.environ.update(case["env"])
            time.tzset()
            os.chdir(case["cwd"])
            for fd, path, flags in ((0, inp, os.O_RDONLY), (1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                    (2, err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
                f = os.open(path, flags, 0o600)
                os.dup2(f, fd)
                os.close(f)
            sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
            sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", line_buffering=False)
            sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace")
            sys.argv = ["deskterm", *case["args"]]
            try:
                deskterm.cli.main(case["args"])
                code = 0
            except SystemExit as exc:
                if exc.code is None:
                    code = 0
                elif isinstance(exc.code, int):
                    code = exc.code
                else:
                    print(exc.code, file=sys.stderr)
                    code = 1
            except BaseException:
                traceback.print_exc()
                code = 1
            # close what the command left open, as the interpreter's exit does for the real command: SQLite
            # checkpoints and removes its -wal file, PostgreSQL sees the session end rather than a dropped socket
            gc.collect()
            sys.stdout.flush(); sys.stderr.flush()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)

for line in sys.stdin:
    case = json.loads(line)
    code = run(case)
    sys.stdout.write(json.dumps({"rc": code}) + "\n")
    sys.stdout.flush()
"""


class CliServer:
    """``run(*args, input=, env=)`` as ``run_cli``, from a fork server (see SERVER above).

    Arguments may hold surrogate escapes (bytes that are not UTF-8, as the OS would pass them): JSON carries
    them to the child unchanged. One command at a time (a lock serialises callers).
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self._lock = threading.Lock()
        self._inputs = itertools.count(1)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=self.workdir
        )

    def run(
        self,
        *args: str,
        input: str | bytes | None = None,
        env: dict | None = None,
        stdin: Path | None = None,
        cwd: Path | None = None,
        fsize: int | None = None,
    ) -> subprocess.CompletedProcess:
        """Run ``deskterm ARGS`` with the caller's environment plus ``env``, in the caller's working directory
        (or ``cwd``); standard input from the string ``input``, from the file ``stdin``, else empty; ``fsize``:
        no file may grow past that many bytes (RLIMIT_FSIZE: a full disk without root)."""
        with self._lock:
            out, err = self.workdir / "out.txt", self.workdir / "err.txt"
            if input is not None:
                stdin = self.workdir / f"stdin-{next(self._inputs)}"
                stdin.write_bytes(input.encode("utf-8") if isinstance(input, str) else input)
            case = {
                "args": list(args),
                "stdout": str(out),
                "stderr": str(err),
                "cwd": str(cwd or os.getcwd()),
                "stdin": stdin and str(stdin),
                "env": {**os.environ, **(env or {})},
                "fsize": fsize,
            }
            self.proc.stdin.write(json.dumps(case) + "\n")
            self.proc.stdin.flush()
            reply = self.proc.stdout.readline()
            assert reply, "the fork server died"
            return subprocess.CompletedProcess(
                list(args),
                json.loads(reply)["rc"],
                out.read_text(encoding="utf-8", errors="replace"),
                err.read_text(encoding="utf-8", errors="replace"),
            )

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# -- what a database holds, on either engine ----------------------------------------------------------------


def is_pg(db: str | os.PathLike) -> bool:
    return str(db).startswith(("postgresql", "postgres:"))


def _pg_connect(url: str):
    import psycopg

    # the tests' URLs are SQLAlchemy's (postgresql+psycopg://...): libpq takes the bare scheme
    return psycopg.connect("postgresql://" + str(url).split("://", 1)[1], autocommit=True)


def db_rows(db: str | os.PathLike, sql: str) -> list[tuple]:
    """The rows of one query, on a SQLite file or a PostgreSQL URL (``sql`` must suit both)."""
    if is_pg(db):
        with _pg_connect(str(db)) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def db_counts(db: str | os.PathLike, tables=("tickets", "events", "customers")) -> dict[str, int]:
    return {t: db_rows(db, f'SELECT count(*) FROM "{t}"')[0][0] for t in tables}


def db_state(db: str | os.PathLike) -> dict:
    """Every row of every table (ordered by all its columns), and on PostgreSQL every sequence's last value:
    equal before and after means nothing was added, changed or deleted, and (PostgreSQL) not even a row inserted
    then rolled back, since a sequence does not roll back. On SQLite the callers that can also compare the file's
    bytes, which is stricter still."""
    if is_pg(db):
        with _pg_connect(str(db)) as conn:
            with conn.transaction():  # one snapshot for every table
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                tables = [
                    r[0]
                    for r in conn.execute(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                        " AND table_type = 'BASE TABLE' ORDER BY 1"
                    )
                ]
                state = {t: _ordered(conn, t) for t in tables}
                state["(sequences)"] = [
                    tuple(r)
                    for r in conn.execute(
                        "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"
                    )
                ]
                return state
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")]
        return {t: _ordered(conn, t) for t in tables}
    finally:
        conn.close()


def _ordered(conn, table: str) -> list[tuple]:
    width = len(conn.execute(f'SELECT * FROM "{table}" LIMIT 0').description)
    order = ", ".join(str(i) for i in range(1, width + 1))
    return [tuple(r) for r in conn.execute(f'SELECT * FROM "{table}" ORDER BY {order}').fetchall()]


def apply_changes(desk, statuses, steps) -> None:
    """Apply (which, change, minutes) steps to ``desk``'s tickets in ``statuses`` as they were at the start (which
    modulo their number), the clock moved ``minutes`` before each; a change the workflow refuses writes nothing
    and is skipped."""
    from deskterm.errors import DeskError

    ids = [t.id for t in desk.tickets(list(statuses))]
    for which, change, minutes in steps:
        desk.clock.advance(minutes=minutes)
        try:
            desk.update(ids[which % len(ids)], change)
        except DeskError:
            continue
