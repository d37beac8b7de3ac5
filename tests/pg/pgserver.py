"""A throwaway PostgreSQL server for the tests, from the machine's own binaries.

``PgServer.start()`` runs ``initdb`` and then ``postgres`` in a new temporary directory (data directory,
log and unix socket all inside it), listening on a free port of 127.0.0.1 with trust authentication for
the superuser ``postgres``; durability is off (fsync, synchronous_commit, full_page_writes) since nothing
outlives the session. The server is a child of the test process that gets SIGQUIT (immediate shutdown) when
that process ends, however it ends: a pytest killed by a CI timeout leaves no server behind. PostgreSQL
refuses to run as root: as root the server runs as ``nobody`` (``runuser`` for initdb, Popen's ``user`` for
the server), which then owns the temporary directory.

``create_database()`` clones a template database that was migrated to the current schema once, which
takes a few tens of milliseconds instead of a migration per test; ``create_database(template=URL)`` clones
another test database (e.g. one holding a first import, copied for each test that writes to it).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # benchmarks import this file from tests/pg alone
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from deskterm_testing import spawn_tied

SERVER_USER = "nobody"  # as root only: the server may not run as root
TEMPLATE = "deskterm_template"


class PgUnavailable(Exception):
    """No PostgreSQL server can be started here (the reason says why)."""


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl: from PATH, else the newest /usr/lib/postgresql/*/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    raise PgUnavailable("initdb not found (on PATH or under /usr/lib/postgresql/*/bin); install the postgresql package")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, bindir: Path, root: Path, port: int, as_user: str | None) -> None:
        self.bindir, self.root, self.port, self.as_user = bindir, root, port, as_user
        self.data = root / "data"
        self._names = itertools.count(1)
        self.version = 0
        self.proc: subprocess.Popen | None = None
        self.strategy = os.environ.get("DESKTERM_PG_STRATEGY", "FILE_COPY")

    # -- life cycle ---------------------------------------------------------------------------------

    @classmethod
    def start(cls) -> PgServer:
        try:
            import psycopg  # noqa: F401 - only whether it imports
        except ImportError as exc:
            raise PgUnavailable(f"the psycopg driver is not installed ({exc})") from None
        bindir = find_bindir()
        as_user = None
        root = Path(tempfile.mkdtemp(prefix="deskterm-pg-"))
        if os.geteuid() == 0:
            as_user = SERVER_USER
            if shutil.which("runuser") is None:
                shutil.rmtree(root, ignore_errors=True)
                raise PgUnavailable("running as root and runuser is missing: cannot start PostgreSQL as another user")
            pw = pwd.getpwnam(as_user)
            os.chown(root, pw.pw_uid, pw.pw_gid)
            os.chmod(root, 0o755)  # the tests (root) reach the socket and the log
        server = cls(bindir, root, _free_port(), as_user)
        try:
            server._initdb()
            server._start_on_a_free_port()
            server._make_template()
        except Exception as exc:
            log = server.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            server.stop()
            if isinstance(exc, PgUnavailable):
                raise
            raise PgUnavailable(f"{type(exc).__name__}: {exc}\n{tail}") from None
        return server

    def _run(self, *args: str, timeout: float = 120) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_user:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
        )
        if proc.returncode != 0:
            raise PgUnavailable(
                f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()[-1500:] or proc.stdout.strip()[-1500:]}"
            )

    def _initdb(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        )

    def _start_on_a_free_port(self, tries: int = 3) -> None:
        """Start the server; if the port was taken meanwhile (by another test worker's server, say: each
        pytest-xdist worker starts its own), try again on another free port."""
        for attempt in range(tries):
            try:
                self.start_server()
                return
            except PgUnavailable:
                log = self.root / "server.log"
                taken = log.exists() and "could not bind" in log.read_text(errors="replace")
                if not taken or attempt == tries - 1:
                    raise
                log.unlink()
                self.port = _free_port()

    def start_server(self, timeout: float = 60) -> None:
        """Start the postmaster as a child of this process that dies with it (``spawn_tied``: SIGQUIT, the
        immediate shutdown, when the test process ends however it ends, SIGKILL included), as ``pg_ctl start -w``
        would otherwise: return once it accepts connections."""
        import psycopg

        options = [
            f"port={self.port}",
            "listen_addresses=127.0.0.1",
            f"unix_socket_directories={self.root}",
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
            "max_connections=200",
            "shared_buffers=32MB",
            "log_min_messages=warning",
        ]
        user = {}
        if self.as_user:
            pw = pwd.getpwnam(self.as_user)
            user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        with open(self.root / "server.log", "ab") as log:
            self.proc = spawn_tied(
                [str(self.bindir / "postgres"), "-D", str(self.data), *(a for o in options for a in ("-c", o))],
                signal.SIGQUIT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.root,
                env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
                start_new_session=True,  # a Ctrl-C at the terminal reaches pytest, which stops the server itself
                **user,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres").close()
                return
            except psycopg.OperationalError as exc:
                if self.proc.poll() is not None:
                    raise PgUnavailable(f"postgres exited ({self.proc.returncode}) at start") from None
                if time.monotonic() > deadline:
                    self.stop_server("immediate")
                    raise PgUnavailable(f"postgres did not accept connections within {timeout:.0f} s: {exc}") from None
                time.sleep(0.05)

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the postmaster as ``pg_ctl stop -m MODE`` would (fast: every session is terminated, a checkpoint is
        written; immediate: at once) and wait until it is gone."""
        proc = getattr(self, "proc", None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal({"fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode])
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self) -> None:
        """Restart the server as an operator would (``pg_ctl restart -m fast``): every session is terminated."""
        self.stop_server("fast")
        self.start_server()

    def stop(self) -> None:
        self.stop_server("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases ----------------------------------------------------------------------------------

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def admin(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE) on the maintenance database."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)

    def _make_template(self) -> None:
        import psycopg

        from deskterm.store.engine import open_store

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres") as conn:
            self.version = conn.info.server_version
        self.admin(f"CREATE DATABASE {TEMPLATE}")
        store = open_store(self.url(TEMPLATE))  # migrates to HEAD
        store.dispose()

    def create_database(self, migrated: bool = True, template: str | None = None) -> str:
        """A new database: a clone of the migrated template, or of the database at the URL ``template`` (which
        nobody may be connected to), or empty (``migrated=False``)."""
        name = f"t{os.getpid()}_{next(self._names)}"
        source = template.rsplit("/", 1)[1] if template else TEMPLATE
        self.admin(
            f"CREATE DATABASE {name}"
            + (
                f" TEMPLATE {source}" + (f" STRATEGY {self.strategy}" if self.version >= 150000 else "")
                if migrated or template
                else ""
            )
        )
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        try:
            self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except Exception:  # noqa: BLE001 - the server goes away at the end of the session anyway
            pass
