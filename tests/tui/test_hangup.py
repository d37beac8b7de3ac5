"""Over SSH: when the terminal goes away (the session drops), the app leaves cleanly instead of spinning.

The real app runs in a real pseudo-terminal as its controlling terminal; closing the terminal's master side is
what sshd does when the connection drops: the kernel hangs the terminal up and sends SIGHUP."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import time

import pytest

from deskterm_testing import patience


def _read_until(fd: int, wanted: bytes, seconds: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def _app_in_a_pty(db, state, how: str = "hang-up", program: list[str] | None = None) -> tuple[subprocess.Popen, int]:
    """The real app in a new session whose terminal is a pseudo-terminal of 80x24: (the process, the master side).
    ``how``: "hang-up" (the pty is the session's controlling terminal), with "blocked" SIGHUP blocked by the
    parent (the mask is inherited), or "not the controlling terminal"."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, b"\x18\x00\x50\x00\x00\x00\x00\x00")  # 24 rows, 80 columns

    def controlling_terminal() -> None:  # in the child: a new session (setsid) whose terminal is the pty
        if how != "not the controlling terminal":
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        if "blocked" in how:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})

    env = {**os.environ, "TERM": "xterm-256color", "XDG_STATE_HOME": str(state)}
    proc = subprocess.Popen(
        [
            *(program or [sys.executable, "-m", "deskterm.cli"]),
            "--db",
            str(db),
            "--config",
            str(db.parent / "deskterm.toml"),
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
        preexec_fn=controlling_terminal,
        close_fds=True,
    )
    os.close(slave)
    return proc, master


@pytest.mark.parametrize("how", ["hang-up", "hang-up, SIGHUP blocked by the parent", "not the controlling terminal"])
def test_the_app_exits_when_its_terminal_hangs_up(demo, tmp_path, how):
    """The signal, also when the process that started the app had it blocked (the mask is inherited: the app
    then spun at more than a core on the dead terminal); without the signal, the clock notices."""
    db, _, _ = demo
    proc, master = _app_in_a_pty(db, tmp_path / "state", how)
    try:
        shown = _read_until(master, b"tickets", patience(20))
        assert b"tickets" in shown, shown[-500:]  # the queue is up
        os.close(master)  # the connection drops
        started = time.monotonic()
        code = proc.wait(timeout=patience(10))
        assert time.monotonic() - started < patience(5)  # 5 s on a quiet machine
        assert code == 0  # left through the app's own exit, not killed by the signal
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigterm_leaves_as_a_quit_does_with_the_draft_written_and_its_own_code(demo, tmp_path):
    """``kill`` (or the host shutting down) ends the app as a quit does, the terminal given back and a reply typed
    an instant before written to disk, but with the signal's code (143), not 0: the agent did not quit. Left to
    the default action, the app died at once in its own screen and the last half second of typing was lost."""
    db, _, _ = demo
    state = tmp_path / "state"
    proc, master = _app_in_a_pty(db, state, "not the controlling terminal")
    try:
        assert b"tickets" in _read_until(master, b"tickets", patience(20))  # the queue is up
        os.write(master, b"\r")  # the first ticket
        assert b"Reply" in _read_until(master, b"Reply", patience(10))
        os.write(master, b"r")
        assert b"sends" in _read_until(master, b"sends", patience(10))  # the editor: "ctrl+s sends"
        os.write(master, b"kept through a kill")
        _read_until(master, b"kill", patience(5))  # (echoed: the app has the keys)
        proc.send_signal(signal.SIGTERM)
        said = _read_until(master, b"stopped by SIGTERM", patience(10))
        code = proc.wait(timeout=patience(10))
        assert code == 128 + signal.SIGTERM
        assert b"\x1b[?1049l" in said  # the terminal's own screen given back
        assert b"1 unsent draft is kept" in said, said[-500:]
        drafts = [p.read_text() for p in state.rglob("*.json")]
        assert any("kept through a kill" in text for text in drafts), drafts
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


@pytest.mark.parametrize("pause", [0.0, 0.3, 1.0])
def test_a_terminal_gone_while_the_app_leaves_ends_the_process(demo, tmp_path, pause):
    """``q``, then the terminal closed before the app is out (tmux's session killed, the SSH window closed): the
    process ends. The input thread read the hung-up terminal's end of file in a busy loop, and the interpreter
    waited for it: the process lived on at a core's share."""
    db, _, _ = demo
    proc, master = _app_in_a_pty(db, tmp_path / "state")
    try:
        assert b"tickets" in _read_until(master, b"tickets", patience(20))
        os.write(master, b"q")
        time.sleep(pause)
        os.close(master)
        code = proc.wait(timeout=patience(15))
        assert code == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# the app, whose run is followed at once by a hang-up: the terminal closed as the app's event loop has just closed
# (its drafts, its last message still to come)
HUNG_UP_AFTER_THE_LOOP = """
import os, signal, sys, time
from deskterm import cli
from deskterm.tui.app import DeskApp

run = DeskApp.run

def run_then_hang_up(self, *args, **kwargs):
    result = run(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGHUP)
    time.sleep(0.2)
    return result

DeskApp.run = run_then_hang_up
cli.main(sys.argv[1:])
"""


def test_a_hang_up_after_the_event_loop_closed_does_not_kill_the_app(demo, tmp_path):
    """The event loop, closing, sets back to their default the signals it handled: a hang-up in the app's last
    moments (after "q", while the drafts are written) killed the process (exit -1; seen under load)."""
    db, _, _ = demo
    proc, master = _app_in_a_pty(db, tmp_path / "state", program=[sys.executable, "-c", HUNG_UP_AFTER_THE_LOOP])
    try:
        assert b"tickets" in _read_until(master, b"tickets", patience(20))
        os.write(master, b"q")
        _read_until(master, b"\x1b[?1049l", patience(10))  # (the terminal's own screen given back)
        assert proc.wait(timeout=patience(15)) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
