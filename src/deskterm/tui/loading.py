"""Progress of long work in the app: the first load of a large desk, deadlines derived again, the dashboard's and
the handover's first computation.

The work runs in a worker thread and takes a ``Progress`` hook at its boundary (``progress.py``:
``progress(what, done, total)``), the same hook the command line draws on stderr. ``Told`` is that hook for a
thread: it posts a ``LoadingProgress`` message to the screen (or the app) waiting for the work — Textual's
``post_message`` is safe from a thread and does not wait, so the worker never waits for the event loop — at
most ``EVERY`` seconds apart (the first report of each step at once), and nothing before ``after`` seconds
(work that ends sooner shows nothing but its result). The screen shows ``loading_line``: what is being done,
how many so far, of how many.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from textual.message_pump import MessagePump

EVERY = 0.1  # seconds between two reports shown of one step (a line redrawn ten times a second is enough)
SLOW = 0.5  # a computation that shows its progress only once it has taken this long (the dashboard's, the handover's)


class LoadingProgress(Message):
    """Long work in a thread has got this far: ``done`` of ``total`` (None: not known) of the step ``what``."""

    bubble = False  # for the screen (or the app) it is posted to only

    def __init__(self, what: str, done: int, total: int | None, generation: int = 0) -> None:
        super().__init__()
        self.what, self.done, self.total, self.generation = what, done, total, generation

    @property
    def line(self) -> str:
        return loading_line(self.what, self.done, self.total)


def loading_line(what: str, done: int, total: int | None) -> str:
    """``reading histories: 12,000 of 47,538…`` (``reading the queue: 12,000…`` when the total is not known)."""
    if total is None:
        return f"{what}: {done:,}…"
    return f"{what}: {done:,} of {total:,}…"


class Stopped(Exception):
    """Raised by a ``Told`` hook in the worker's thread when what waits for the work is gone (the app is leaving,
    the screen was closed): the work stops at its next report instead of running on for seconds. Work that
    writes (``rederive``) writes in one transaction, which is rolled back: it is done again next time."""


class Told:
    """A ``Progress`` hook for a worker thread: posts ``LoadingProgress`` to ``target`` (``generation``: the load it
    is about, for a screen that drops a late report of an older one), at most every ``EVERY`` seconds of one
    step, and nothing in the first ``after`` seconds. Once ``gone()`` is true, it raises ``Stopped``."""

    def __init__(
        self,
        target: MessagePump,
        after: float = 0.0,
        generation: int = 0,
        gone: Callable[[], bool] | None = None,
    ) -> None:
        self.target, self.generation = target, generation
        self.start = time.monotonic()
        self.after = after
        self.gone = gone
        self.what = ""
        self.last = 0.0

    def __call__(self, what: str, done: int, total: int | None) -> None:
        if self.gone is not None and self.gone():
            raise Stopped(what)
        now = time.monotonic()
        if now - self.start < self.after:
            return
        if what == self.what and now - self.last < EVERY and done != total:
            return
        self.what, self.last = what, now
        self.target.post_message(LoadingProgress(what, done, total, self.generation))
