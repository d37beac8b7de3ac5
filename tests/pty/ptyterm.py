"""The installed ``deskterm`` command in a real pseudo-terminal, read through a terminal emulator (pyte).

``Term`` starts the program as an agent would (``TERM=xterm-256color``, a pty of the given size as its
controlling terminal, a private HOME and XDG directories), sends keys as a terminal sends them, and shows the
screen a person would see: ``text()`` is what is on the emulated screen now, ``wait_for`` waits (with a
timeout, no fixed sleeps) until some text is on it. Textual writes its frames to stderr, which is the terminal
here too: ``after_exit()`` is what the program printed once it had left the alternate screen (a traceback
would be there), ``wait_exit()`` its exit code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import ptyprocess
import pyte

from deskterm_testing import patience

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}

# what a terminal sends for a key (xterm, normal cursor mode)
KEYS = {
    "enter": b"\r",
    "escape": b"\x1b",
    "tab": b"\t",
    "shift+tab": b"\x1b[Z",
    "backspace": b"\x7f",
    "space": b" ",
    "up": b"\x1b[A",
    "down": b"\x1b[B",
    "right": b"\x1b[C",
    "left": b"\x1b[D",
    "home": b"\x1b[H",
    "end": b"\x1b[F",
    "pageup": b"\x1b[5~",
    "pagedown": b"\x1b[6~",
    "delete": b"\x1b[3~",
    "question_mark": b"?",
    "colon": b":",
    "slash": b"/",
    "plus": b"+",
    "minus": b"-",
}
for _c in "abcdefghijklmnopqrstuvwxyz":
    KEYS[f"ctrl+{_c}"] = bytes([ord(_c) - 96])

LEAVE_ALT_SCREEN = b"\x1b[?1049l"


def deskterm_command() -> str:
    """The ``deskterm`` script installed beside the interpreter running the tests (the project's .venv)."""
    for where in (Path(sys.executable).parent, Path(sys.prefix) / "bin"):
        found = shutil.which("deskterm", path=str(where))
        if found:
            return found
    found = shutil.which("deskterm")
    if found:
        return found
    raise RuntimeError("the deskterm command is not installed beside this Python (run make setup)")


def private_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of one agent: its own HOME and XDG directories, no DESKTERM_* from outside."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DESKTERM_", "XDG_", "PYTEST_", "COLUMNS", "LINES", "NO_COLOR", "TEXTUAL"))
    }
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local/state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        TERM="xterm-256color",
        COLORTERM="truecolor",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
    )
    env.update(extra)
    return env


class ScreenTimeout(AssertionError):
    pass


class Term:
    """One run of ``argv`` in a pty of ``columns`` x ``rows``."""

    def __init__(
        self, argv: list[str], *, env: dict[str, str], columns: int = 80, rows: int = 24, cwd: str | None = None
    ) -> None:
        self.columns, self.rows = columns, rows
        self.screen = pyte.Screen(columns, rows)
        self._stream = pyte.ByteStream(self.screen)
        self._raw = bytearray()
        self._changed = threading.Condition()
        self._eof = False
        self._last_data = time.monotonic()
        self.proc = ptyprocess.PtyProcess.spawn(argv, env=env, cwd=cwd, dimensions=(rows, columns))
        self._reader = threading.Thread(target=self._read, name="pty reader", daemon=True)
        self._reader.start()

    # -- the terminal's side ---------------------------------------------------------------------

    def _read(self) -> None:
        while True:
            try:
                data = self.proc.read(65536)
            except (EOFError, OSError, ValueError):  # the end, a hang-up, or closed by close()
                break
            with self._changed:
                self._last_data = time.monotonic()
                self._raw.extend(data)
                try:
                    self._stream.feed(data)
                except Exception:  # noqa: BLE001 - an emulator hiccup must not stop the reading
                    pass
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    def text(self) -> str:
        """What the screen shows now, one line per row (trailing blanks removed)."""
        with self._changed:
            return "\n".join(line.rstrip() for line in self.screen.display)

    def lines(self) -> list[str]:
        return self.text().split("\n")

    def raw(self) -> bytes:
        with self._changed:
            return bytes(self._raw)

    def _wait(self, ok, timeout: float, what: str) -> str:
        started = time.monotonic()
        try:
            return self._wait_inner(ok, timeout, what)
        finally:
            if os.environ.get("PTY_TRACE"):
                print(f"[{time.monotonic() - started:6.2f}s] {what}", file=sys.__stderr__)

    def _wait_inner(self, ok, timeout: float, what: str) -> str:
        timeout = patience(timeout)  # longer on a loaded machine
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                shown = "\n".join(line.rstrip() for line in self.screen.display)
                if ok(shown):
                    return shown
                left = deadline - time.monotonic()
                if left <= 0 or (self._eof and not ok(shown)):
                    if self._eof and left > 0:
                        what += " (the program ended)"
                    raise ScreenTimeout(
                        f"{what} within {timeout:g} s; the screen ({self.columns}x{self.rows}):\n"
                        + shown
                        + "\n--- the last output:\n"
                        + repr(bytes(self._raw[-400:]))
                    )
                self._changed.wait(min(left, 0.05))

    def wait_for(self, *wanted: str | re.Pattern, timeout: float = 10.0) -> str:
        """Wait until every one of ``wanted`` (text, or a compiled regex) is on the screen; returns the screen."""

        def ok(shown: str) -> bool:
            return all((w.search(shown) if isinstance(w, re.Pattern) else w in shown) for w in wanted)

        return self._wait(ok, timeout, f"not on the screen: {wanted!r}")

    def wait_until(self, ok, what: str, timeout: float = 10.0) -> str:
        """Wait until ``ok(screen text)`` holds."""
        return self._wait(ok, timeout, f"not on the screen: {what}")

    def wait_for_any(self, *wanted: str, timeout: float = 10.0) -> str:
        return self._wait(lambda shown: any(w in shown for w in wanted), timeout, f"none on the screen: {wanted!r}")

    def _block_cursor_on(self, text: str) -> bool:
        """A text area draws its own cursor: a cell in light reverse colours on a line holding ``text``."""
        for y, line in enumerate(self.screen.display):
            if text not in line:
                continue
            for char in self.screen.buffer[y].values():
                bg = char.bg if not char.reverse else char.fg
                if len(bg) == 6 and all(int(bg[i : i + 2], 16) >= 0xB0 for i in (0, 2, 4)):
                    return True
        return False

    def wait_text_cursor_on(self, text: str, timeout: float = 10.0) -> str:
        """Wait until a text area shows its (blinking) cursor on a line holding ``text``: it has the focus."""
        return self._wait(lambda shown: self._block_cursor_on(text), timeout, f"no text cursor on a line with {text!r}")

    def wait_for_new(self, before: str, pattern: re.Pattern, timeout: float = 10.0) -> str:
        """Wait until a line matching ``pattern`` shows that was not on the screen ``before``, while the program
        runs (a program that ended fails this wait)."""
        old = set(before.split("\n"))

        def ok(shown: str) -> bool:
            return not self._eof and any(pattern.search(line) for line in shown.split("\n") if line not in old)

        return self._wait(ok, timeout, f"no new line matching {pattern.pattern!r}")

    def wait_for_any_re(self, *wanted: re.Pattern, timeout: float = 10.0) -> str:
        return self._wait(
            lambda shown: any(w.search(shown) for w in wanted), timeout, f"none on the screen: {wanted!r}"
        )

    def wait_gone(self, *gone: str, timeout: float = 10.0) -> str:
        """Wait until none of ``gone`` is on the screen any more."""
        return self._wait(lambda shown: not any(g in shown for g in gone), timeout, f"still on the screen: {gone!r}")

    def wait_quiet(self, quiet: float = 0.3, timeout: float = 10.0) -> str:
        """Wait until the program has written nothing for ``quiet`` seconds (its last frame is out). The
        clock repaints countdowns every second, so this is for the moments between keys, not a proof of rest."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while time.monotonic() < deadline:
                before = len(self._raw)
                self._changed.wait(quiet)
                if len(self._raw) == before or self._eof:
                    break
            return "\n".join(line.rstrip() for line in self.screen.display)

    # -- the agent's side ------------------------------------------------------------------------

    def press(self, *keys: str) -> None:
        """Keys by name (``enter``, ``escape``, ``ctrl+s``, ``shift+tab``, ``pagedown``...) or single characters."""
        for key in keys:
            data = KEYS.get(key)
            if data is None:
                if len(key) != 1:
                    raise ValueError(f"unknown key name: {key!r}")
                data = key.encode("utf-8")
            self.proc.write(data)
            if data == b"\x1b":
                # a lone ESC is read as the escape key only when nothing follows it at once (else it starts a
                # sequence, or makes the next key an alt+key): as a person types it
                time.sleep(0.15)

    def type(self, text: str) -> None:
        """Text as typed (UTF-8, all at once: as a paste or a fast typist over SSH)."""
        self.proc.write(text.encode("utf-8"))

    def resize(self, columns: int, rows: int) -> None:
        with self._changed:
            self.screen.resize(rows, columns)
            self.columns, self.rows = columns, rows
        self.proc.setwinsize(rows, columns)

    # -- the end ---------------------------------------------------------------------------------

    def wait_exit(self, timeout: float = 10.0) -> int:
        """The exit code once the program has ended (a signal: minus its number)."""
        timeout = patience(timeout)
        deadline = time.monotonic() + timeout
        while self.proc.isalive():
            if time.monotonic() > deadline:
                raise ScreenTimeout(f"the program did not end within {timeout:g} s; the screen:\n{self.text()}")
            time.sleep(0.05)
        self._reader.join(timeout=5)
        if self.proc.signalstatus is not None:
            return -self.proc.signalstatus
        return self.proc.exitstatus

    def after_exit(self) -> str:
        """What the program wrote once it had left the alternate screen (tracebacks, messages), as text."""
        raw = self.raw()
        at = raw.rfind(LEAVE_ALT_SCREEN)
        tail = raw[at + len(LEAVE_ALT_SCREEN) :] if at >= 0 else raw
        text = re.sub(rb"\x1b\[[0-9;?<>=]*[A-Za-z]", b"", tail).decode("utf-8", "replace")
        return text.strip()

    def close(self) -> None:
        if self.proc.isalive():
            try:
                self.proc.kill(signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        self._reader.join(timeout=5)  # it reads to the end of the output, then the pty is closed
        try:
            self.proc.close(force=True)
        except OSError:
            pass


def has_traceback(text: str) -> bool:
    return "Traceback (most recent call last)" in text or bool(re.search(r"\b\w+Error: ", text))


# -- steps an agent takes (each waits for what it should see) ------------------------------------------

QUEUE_READY = re.compile(r"\d+ tickets? · ")
TICKET_HEAD = re.compile(r"^ #(\d+) ", re.M)


QUEUE_COUNTED = re.compile(r"(?i)\bopen \d+")  # the views' tab counts come once the rows are shown


def queue_ready(term: Term) -> str:
    """The queue is on the screen with its rows (the status line says '0 tickets' before they come)."""
    return term.wait_for(QUEUE_READY, QUEUE_COUNTED, timeout=30)


def open_first_ticket(term: Term) -> int:
    """enter on the queue's first row; returns the ticket's number, read from the screen's head."""
    queue_ready(term)
    term.press("enter")
    shown = term.wait_for(TICKET_HEAD, re.compile(r" v\d+\b"))
    return int(TICKET_HEAD.search(shown).group(1))


def dialog_options(shown: str, title: str) -> list[str]:
    """The lines of a list dialog (the status choice, an open drop-down) below the line holding ``title``."""
    lines = shown.split("\n")
    start = next(i for i, line in enumerate(lines) if title in line)
    out = []
    for line in lines[start + 1 :]:
        m = re.search(r"▊\s*(.*?)\s*▎", line)
        if m and m.group(1) and not set(m.group(1)) <= set("▔▁ "):
            out.append(m.group(1))
        elif "╰" in line:
            break
    return out


def choose(term: Term, title: str, option: str) -> None:
    """In a list dialog titled ``title``: move to ``option`` and press enter."""
    shown = term.wait_until(
        lambda shown: title in shown and option in dialog_options(shown, title), f"a list {title!r} offering {option!r}"
    )
    options = dialog_options(shown, title)
    term.press(*["down"] * options.index(option), "enter")


def select_entries(shown: str) -> list[str]:
    """The entries of an open drop-down: the lines below the one showing its ▲, to the list's end."""
    lines = shown.split("\n")
    opened = next((i for i, line in enumerate(lines) if "▲" in line), None)
    entries: list[str] = []
    if opened is None:
        return entries
    for line in lines[opened + 1 :]:
        m = re.search(r"▊\s*(.*?)\s*▎", line)
        if m is None or "▁▁" in line:
            if entries:
                break
            continue
        if m.group(1) and not set(m.group(1)) <= set("▔▁ "):
            entries.append(m.group(1))
    return entries


def pick_in_select(term: Term, prompt: str, option: str) -> None:
    """A drop-down (Textual's Select) showing ``prompt``, focused: open it, move to ``option``, enter. The open
    list shows the prompt first (no choice), then the options."""
    term.wait_for(re.compile(r"▊\s*" + re.escape(prompt) + r"\s+▼"))
    term.press("enter")
    shown = term.wait_until(lambda shown: option in select_entries(shown), f"a drop-down offering {option!r}")
    term.press(*["down"] * select_entries(shown).index(option), "enter")
    term.wait_for(re.compile(r"▊\s*" + re.escape(option) + r"\s+▼"))


def command_line(term: Term, command: str) -> None:
    """``:`` on the queue, then ``command`` and enter."""
    queue_ready(term)
    term.press("colon")
    term.wait_for(": 1234")
    term.type(command)
    term.wait_for(re.compile(r"^ " + re.escape(command) + r"\s*$", re.M))
    term.press("enter")


def open_ticket(term: Term, number: int) -> None:
    """``:N`` puts the cursor on ticket N in the queue (or opens it when the queue does not hold it); enter."""
    command_line(term, str(number))
    row = re.compile(r"^▶.*\s" + str(number) + r" ", re.M)
    head = re.compile(r"^ #" + str(number) + r" ", re.M)
    if not head.search(term.wait_for_any_re(row, head)):
        term.press("enter")
    term.wait_for(head, re.compile(r" v\d+\b"))


def quit_cleanly(term: Term) -> None:
    """``q`` from the queue: the program ends with 0 and prints nothing (no traceback) after the screen."""
    term.press("q")
    code = term.wait_exit(timeout=15)
    after = term.after_exit()
    assert not has_traceback(after), after
    assert code == 0, (code, after)


def back_to_queue(term: Term, screens: int = 1) -> None:
    """esc on each of the ``screens`` opened over the queue (a ticket, E, D, H; E over a ticket: 2), pressed
    at once as a person who knows the way does: the queue with its rows."""
    term.press(*["escape"] * screens)
    queue_ready(term)


def on_desk(desk) -> list[str]:
    """``--db`` and ``--config`` of a demo desk's directory."""
    return ["--db", str(desk / "demo.db"), "--config", str(desk / "deskterm.toml")]


def show_json(agent, desk, ticket: int) -> dict:
    return json.loads(agent.cli(*on_desk(desk), "show", str(ticket), "--json").stdout)
