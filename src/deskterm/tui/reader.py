"""One long-lived thread per app that reads the desk for the live refresh (issue 17).

Every change another agent makes reaches every open app, so what an app spends to hand a change's reads to a
thread and their result back is paid per change and per app. A Textual thread worker per change costs about a
millisecond of that (a ``Worker`` with its task and its state messages to the screen, a thread of the executor,
and ``call_from_thread``, which runs the callback as a task and waits for it); here one thread, started with the
app's first job, takes jobs in order from a queue, and hands each result to the event loop with
``call_soon_threadsafe`` (it does not wait for the loop). The desk is still never read on the event loop.

Jobs run one at a time, in the order given: a change's reads never overtake the previous change's. A job that
fails hands its error to ``failed`` on the event loop (the app: a notice for a desk that stopped answering, else
a crash, as a failed worker's). ``idle()`` waits until every job given so far has been handed back (tests and
benchmarks: ``tests/tui/tuihelp.workers_done``).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

_STOP = object()


class Reader:
    def __init__(self, failed: Callable[[BaseException], None], name: str = "deskterm reader") -> None:
        self._failed = failed
        self._name = name
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending = 0  # jobs given and not handed back yet (counted on the event loop)
        self._idle: asyncio.Event | None = None
        self._closed = False

    def submit(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run ``work()`` in the reader's thread, then ``done(result)`` on the event loop; if it raised, ``failed``
        (the job's own clean-up, if given) then the reader's ``failed``, on the loop. Call it on the loop."""
        if self._closed:
            return
        if self._thread is None:
            self._loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        self._pending += 1
        if self._idle is not None:
            self._idle.clear()
        self._jobs.put((work, done, failed))

    @property
    def busy(self) -> bool:
        return self._pending > 0

    async def idle(self) -> None:
        """Until every job given so far has been handed back (and the next one given is waited for too)."""
        while self._pending:
            if self._idle is None:
                self._idle = asyncio.Event()
            self._idle.clear()
            await self._idle.wait()

    def close(self) -> None:
        """No more jobs; the thread ends after the one it runs (a daemon: it never holds the process)."""
        self._closed = True
        if self._thread is not None:
            self._jobs.put(_STOP)

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        while (job := self._jobs.get()) is not _STOP:
            work, done, failed = job
            handed: Callable[[], None]
            try:
                result = work()
            except BaseException as exc:  # noqa: BLE001 - handed to the app on the event loop, as a worker's
                handed = partial(self._fail, failed, exc)
            else:
                handed = partial(self._deliver, done, result)
            try:
                loop.call_soon_threadsafe(handed)
            except RuntimeError:  # the loop is closed: the app has ended
                return

    def _deliver(self, done: Callable[[Any], None], result: Any) -> None:
        try:
            if not self._closed:
                done(result)
        finally:
            self._handed()

    def _fail(self, failed: Callable[[BaseException], None] | None, exc: BaseException) -> None:
        try:
            if failed is not None:
                failed(exc)
            if not self._closed:
                self._failed(exc)
        finally:
            self._handed()

    def _handed(self) -> None:
        self._pending -= 1
        if not self._pending and self._idle is not None:
            self._idle.set()
