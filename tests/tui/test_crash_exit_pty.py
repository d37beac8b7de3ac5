"""The real program in a real terminal: an unhandled error in the app ends it with a non-zero exit code (it
ended with 0), and the draft being typed when it happened is offered again at the next start.

The installed ``deskterm`` runs in a pseudo-terminal, read through a terminal emulator (pyte). The error is
injected without touching the product: a ``sitecustomize`` module on ``PYTHONPATH`` makes the app's clock
raise once a trigger file exists, that is, an exception in a timer callback, at any moment the test chooses (and
the handover's computation, which runs in a worker thread, once ``<trigger>-worker`` exists).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pyte
import pytest
from ptyprocess import PtyProcess

from deskterm_testing import patience

pytestmark = pytest.mark.pty

DESKTERM = Path(sys.executable).parent / "deskterm"

HOOK = """
import os
import deskterm.tui.app as _app

_tick = _app.DeskApp.tick


def tick(self):
    if os.path.exists(os.environ["DESKTERM_TEST_CRASH_FILE"]):
        raise RuntimeError("injected by the test")
    _tick(self)


_app.DeskApp.tick = tick

import deskterm.reports as _reports

_put = _reports.HandoverBook.put


def put(*args, **kwargs):  # each ticket placed in the sections, in the handover screen's worker thread
    if os.path.exists(os.environ["DESKTERM_TEST_CRASH_FILE"] + "-worker"):
        raise RuntimeError("injected in a worker by the test")
    return _put(*args, **kwargs)


_reports.HandoverBook.put = put
"""


class Terminal:
    """The program in a pty of ``columns`` × ``rows``, and what a person would see on it."""

    def __init__(self, argv: list[str], env: dict[str, str], columns: int = 80, rows: int = 24) -> None:
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = b""
        self.proc = PtyProcess.spawn(argv, env=env, dimensions=(rows, columns))

    def pump(self, seconds: float = 0.1) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if not self.proc.isalive() and not self._readable(0):
                    return
                if self._readable(0.05):
                    data = self.proc.read(65536)
                    self.raw += data
                    self.stream.feed(data)
            except EOFError:
                return

    def _readable(self, timeout: float) -> bool:
        import select

        try:
            return bool(select.select([self.proc.fd], [], [], timeout)[0])
        except (OSError, ValueError):
            return False

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, wanted: str, seconds: float = 30) -> str:
        deadline = time.monotonic() + patience(seconds)
        while time.monotonic() < deadline:
            self.pump(0.2)
            if wanted in self.text():
                return self.text()
            if not self.proc.isalive():
                self.pump(0.5)
                break
        raise AssertionError(f"{wanted!r} never shown; screen:\n{self.text()}\nlast output: {self.raw[-800:]!r}")

    def keys(self, *keys: str, pause: float = 0.15) -> None:
        for key in keys:
            self.proc.write(key.encode("utf-8"))
            self.pump(pause)

    def exit_code(self, seconds: float = 15) -> int:
        deadline = time.monotonic() + patience(seconds)
        while self.proc.isalive() and time.monotonic() < deadline:
            self.pump(0.2)
        self.pump(0.3)
        assert not self.proc.isalive(), f"still running; screen:\n{self.text()}"
        self.proc.close()
        return self.proc.exitstatus if self.proc.exitstatus is not None else 128 + (self.proc.signalstatus or 0)

    def close(self) -> None:
        if self.proc.isalive():
            self.proc.terminate(force=True)


@pytest.fixture
def env(tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    home = tmp_path / "home"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DESKTERM_", "XDG_", "PYTHON"))}
    return {
        **base,
        "TERM": "xterm-256color",
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "DESKTERM_TEST_CRASH_FILE": str(tmp_path / "crash-now"),
        "HOOK": str(hook),
    }


def _with_hook(env: dict[str, str]) -> dict[str, str]:
    return {**env, "PYTHONPATH": env["HOOK"]}


def test_a_crash_exits_non_zero_and_the_draft_comes_back(demo, tmp_path, env):
    db, _, _ = demo
    argv = [str(DESKTERM), "--db", str(db), "--config", str(db.parent / "deskterm.toml")]
    term = Terminal(argv, _with_hook(env))
    try:
        term.wait_for("tickets")
        term.keys("\r")  # typed before the rows are in, it waits for them (tui/keygate.py)
        term.wait_for("Reply")  # the ticket screen's footer
        term.keys("n")
        term.wait_for("Internal note")
        term.keys(*"half a note", pause=0.05)
        term.wait_for("half a note")
        time.sleep(1.0)  # a pause in the typing
        (tmp_path / "crash-now").touch()  # the next clock tick raises, the note's editor still open
        code = term.exit_code()
    finally:
        term.close()
    assert code == 1, term.raw[-2000:]
    assert b"RuntimeError" in term.raw and b"injected by the test" in term.raw
    assert b"1 unsent draft is kept for the next start" in term.raw
    [draft] = (Path(env["XDG_STATE_HOME"]) / "deskterm" / "drafts").rglob("*.note.json")
    ticket = draft.name.split(".")[0]

    (tmp_path / "crash-now").unlink()
    term = Terminal(argv, env)
    try:
        shown = term.wait_for("1 unsent draft")
        assert "Traceback" not in shown
        term.keys(":", *ticket, "\r", "\r")  # enter straight after the prompt closes opens the ticket
        term.wait_for("unsent draft: note")
        term.keys("n")
        term.wait_for("half a note")
        term.keys("\x1b")  # esc: the draft stays
        term.wait_for("unsent draft: note")
        term.keys("q")
        term.wait_for("1 unsent draft: quit anyway? y/n")
        term.keys("y")
        assert term.exit_code() == 0
    finally:
        term.close()


@pytest.mark.parametrize("command", ["queue", "demo"])
def test_the_exit_code_of_a_crash_is_not_zero(demo, tmp_path, env, command):
    """`deskterm` and `deskterm demo` both: the error happens at the first tick of the clock."""
    db, _, _ = demo
    (tmp_path / "crash-now").touch()
    if command == "demo":
        argv = [str(DESKTERM), "demo", "--tickets", "20"]
    else:
        argv = [str(DESKTERM), "--db", str(db), "--config", str(db.parent / "deskterm.toml")]
    term = Terminal(argv, _with_hook(env))
    try:
        code = term.exit_code(seconds=60)
    finally:
        term.close()
    assert code == 1 and b"injected by the test" in term.raw


def test_an_error_in_a_worker_exits_non_zero(demo, tmp_path, env):
    db, _, _ = demo
    argv = [str(DESKTERM), "--db", str(db), "--config", str(db.parent / "deskterm.toml")]
    term = Terminal(argv, _with_hook(env))
    try:
        term.wait_for("tickets")
        (tmp_path / "crash-now-worker").touch()
        term.keys("H")
        code = term.exit_code()
    finally:
        term.close()
    assert code == 1 and b"injected in a worker by the test" in term.raw
