"""Processes to kill, forked from one that imported deskterm once (the SIGKILL tests, test_sigkill.py), and the
stress test's agents (test_stress.py).

A new ``python -m deskterm.cli`` spends about a second of CPU importing deskterm before it touches the desk; the
SIGKILL tests start 51 of them. ``ForkServer`` runs this file as a script: it imports what the commands need,
opens nothing, and forks a child per request, which runs ``deskterm.cli.main(args)`` (as ``python -m
deskterm.cli`` does), ``worker.loop`` or ``worker.stress`` (as ``python worker.py loop|stress`` does), its stdout
and stderr in files. The
test kills the child by its pid, as it killed the process it had started; only the server can reap it, so
``wait`` asks it for the exit code.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


class Child:
    def __init__(self, server: ForkServer, pid: int, out: Path, err: Path) -> None:
        self.server, self.pid, self.out, self.err = server, pid, out, err
        self.returncode: int | None = None

    def running(self) -> bool:
        """Still running (not yet ended: a child that ended and is not reaped yet is a zombie, state Z)."""
        if self.returncode is not None:
            return False
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except FileNotFoundError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> tuple[int, str, str]:
        """(exit code, as subprocess gives it: -9 when killed; stdout; stderr)."""
        if self.returncode is None:
            self.returncode = self.server._ask({"op": "wait", "pid": self.pid})["rc"]
        return self.returncode, self.out.read_text(errors="replace"), self.err.read_text(errors="replace")

    def wait_for_line(self, line: str, timeout: float = 60) -> None:
        """Until the child printed ``line`` (it flushes it) or ended; ends the child and fails past ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self.out.exists() or (line + "\n") not in self.out.read_text(errors="replace"):
            if not self.running():
                raise AssertionError(f"the child ended before printing {line!r}: {self.wait()}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"no {line!r} within {timeout:g} s: {self.wait()}")
            time.sleep(0.005)


class ForkServer:
    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.count = 0
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=self.workdir,
        )

    def _ask(self, request: dict) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        assert reply, "the fork server died"
        return json.loads(reply)

    def start(self, mode: str, *args: str) -> Child:
        """``cli`` ARGS: ``deskterm ARGS``; ``loop`` DB SEED: worker.py's update loop; ``stress`` ARGS: worker.py's
        stress agent (``worker.py stress ARGS``)."""
        self.count += 1
        out, err = self.workdir / f"child{self.count}.out", self.workdir / f"child{self.count}.err"
        pid = self._ask({"op": "start", "mode": mode, "args": list(args), "out": str(out), "err": str(err)})["pid"]
        return Child(self, pid, out, err)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _serve() -> None:
    import io
    import sqlite3  # noqa: F401 - loaded once here rather than in every child
    import traceback

    import deskterm.cli
    import deskterm.config
    import deskterm.importer
    import deskterm.service
    import deskterm.store.engine
    import deskterm.store.migrate

    try:  # what a postgresql+psycopg URL loads (the stress test runs on PostgreSQL too)
        import psycopg  # noqa: F401
        import sqlalchemy.dialects.postgresql.psycopg  # noqa: F401
    except ImportError:
        pass

    sys.path.insert(0, str(HERE))
    import worker

    # the imported heap frozen: the children's collections walk (and copy on write) only what they made
    gc.collect()
    gc.freeze()

    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "wait":
            _, status = os.waitpid(request["pid"], 0)
            reply: dict = {"rc": os.waitstatus_to_exitcode(status)}
        else:
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                code = 70
                try:
                    for fd, path, flags in (
                        (0, os.devnull, os.O_RDONLY),
                        (1, request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                        (2, request["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                    ):
                        f = os.open(path, flags, 0o600)
                        os.dup2(f, fd)
                        os.close(f)
                    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
                    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8")
                    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8")
                    args = request["args"]
                    try:
                        if request["mode"] == "cli":
                            sys.argv = ["deskterm", *args]
                            deskterm.cli.main(args)
                        elif request["mode"] == "stress":
                            db, config, agent, seed, n, out, *go = args
                            worker.stress(db, config, agent, int(seed), int(n), out, *go)
                        else:
                            worker.loop(args[0], int(args[1]))
                        code = 0
                    except SystemExit as exc:
                        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                    except BaseException:  # noqa: BLE001 - printed, as the interpreter would
                        traceback.print_exc()
                        code = 1
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
            reply = {"pid": pid}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
