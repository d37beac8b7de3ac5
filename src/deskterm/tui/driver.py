"""Textual's Linux driver with an input thread that sleeps while nothing is typed (issue 17).

Textual's input thread waits for the terminal with a tenth of a second's timeout, so that it notices the end of
input (``exit_event``) and a lone escape (its parser's timeout: an ``esc`` key, or the start of a sequence whose
rest did not come). An idle app thus woke ten times a second: 1.2 ms of CPU a second on this machine, a third of
what an idle queue app spent, 30 apps on a jump host 3.6 % of a core for nothing.

Here the thread waits without a timeout while the parser awaits nothing, and for exactly the parser's timeout
while it does (the escape key comes as promptly as in Textual's); ``exit_event`` also writes to a pipe the thread
waits on, so that stopping the input (leaving; Textual's suspend, which deskterm does not use) wakes it at once.
Everything else is Textual's ``LinuxDriver``. Its ``run_input_thread`` is followed line for line otherwise
(textual 8.2); the parser's timeout is read from its private ``_timeout_time``, and without it the thread waits a
tenth of a second as Textual's does. Not used by the tests' pilot (Textual's headless driver); ``tests/pty``
runs the app with it.
"""

from __future__ import annotations

import os
import selectors
import threading
from codecs import getincrementaldecoder
from typing import Any

from textual._loop import loop_last
from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

_TICK = 0.1  # Textual's own wait, when the parser's timeout cannot be read
_UNKNOWN = object()


class _WakingEvent(threading.Event):
    """``exit_event``: set, it also wakes the input thread's wait (a byte on the pipe)."""

    def __init__(self, wake: int) -> None:
        super().__init__()
        self._wake = wake

    def set(self) -> None:
        super().set()
        try:
            os.write(self._wake, b"x")
        except OSError:  # (the pipe is full: the thread is already woken)
            pass


class QuietLinuxDriver(LinuxDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._woken, wake = os.pipe()
        os.set_blocking(self._woken, False)
        os.set_blocking(wake, False)
        self.exit_event = _WakingEvent(wake)

    def run_input_thread(self) -> None:
        """Wait for input and dispatch events (Textual's, but for the wait)."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(self._woken, selectors.EVENT_READ)

        fileno = self.fileno
        woken = self._woken
        EVENT_READ = selectors.EVENT_READ

        parser = XTermParser(self._debug)
        feed = parser.feed
        tick = parser.tick

        utf8_decoder = getincrementaldecoder("utf-8")().decode
        decode = utf8_decoder
        read = os.read

        def wait() -> float | None:
            """Until input comes, or the parser's timeout (a lone escape) is due."""
            due = getattr(parser, "_timeout_time", _UNKNOWN)
            if due is None:
                return None
            if not isinstance(due, float | int):
                return _TICK
            return max(0.0, due - get_time())

        ended = False  # the terminal's end of input: hung up (its session gone), or a pipe closed

        def process_selector_events(
            selector_events: list[tuple[selectors.SelectorKey, int]],
            final: bool = False,
        ) -> None:
            nonlocal ended
            events = [(key, mask) for key, mask in selector_events if key.fd != woken]
            if len(events) != len(selector_events):
                try:
                    while read(woken, 512):
                        pass
                except OSError:  # (emptied)
                    pass
            for last, (_selector_key, mask) in loop_last(events):
                if mask & EVENT_READ:
                    data = read(fileno, 1024 * 4)
                    if not data:
                        # The end of input: a terminal hung up reads nothing at once, for ever. Textual's thread went
                        # on selecting it, a busy loop that kept the process alive at a core's share when the
                        # terminal went away while the app was leaving (the interpreter waits for this thread)
                        ended = True
                        break
                    unicode_data = decode(data, final=final and last)
                    if not unicode_data:
                        break
                    for event in feed(unicode_data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set() and not ended:
                process_selector_events(selector.select(wait()))
            selector.unregister(self.fileno)
            process_selector_events(selector.select(_TICK), final=True)

        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):
                pass


__all__ = ["QuietLinuxDriver"]
