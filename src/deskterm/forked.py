"""Work shared with a forked process: what a year's report does with the machine's second core.

The parent reads (one transaction: one snapshot of the desk) and sends part of what it read to a child forked from
it, which does the same work on it (``work``) and, once told there is no more, sends back what it made
(``result``): the parent merges it with its own. The child reads no database and writes nothing: it has the
parent's configuration and code (forked), is sent plain rows (pickled), and leaves with ``os._exit``, so that
nothing of the parent's (its connection, its buffered output) is closed or flushed twice. The sending runs in a
thread of the parent, so that the parent works on while the child takes in a batch.
"""

from __future__ import annotations

import os
import pickle
import queue
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, Pipe
from typing import Any


def available() -> bool:
    """Whether a second process would run beside this one: a second CPU, and ``fork``."""
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1


class Forked:
    """A child process that applies ``work`` to each thing ``send`` gives it and, at ``result``, returns its
    ``result()``. An error in the child is raised in the parent at ``result`` (with the child's traceback)."""

    def __init__(self, work: Callable[[Any], None], result: Callable[[], Any]) -> None:
        mine, theirs = Pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            mine.close()
            _serve(theirs, work, result)
        theirs.close()
        self.pid: int | None = pid
        self._conn: Connection = mine
        self._outbox: queue.Queue[bytes] = queue.Queue(maxsize=2)
        self._broken = False
        self._sender = threading.Thread(target=self._send_all, name="forked-send", daemon=True)
        self._sender.start()

    def _send_all(self) -> None:
        while True:
            data = self._outbox.get()
            if not self._broken:
                try:
                    self._conn.send_bytes(data)
                except OSError:  # the child is gone: ``result`` says why
                    self._broken = True
            if not data:
                return

    def ready(self) -> bool:
        """Whether the child has taken (or is taking) everything sent so far: what the parent sends it then is its
        next work, not a wait (the parent works on what it does not send: the two share the work by their pace)."""
        return self._outbox.empty()

    def send(self, item: Any) -> None:
        self._outbox.put(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))

    def result(self) -> Any:
        """What the child made of everything sent (its ``result()``); the child has ended."""
        self._outbox.put(b"")  # no more
        self._sender.join()
        try:
            ok, value = pickle.loads(self._conn.recv_bytes())
        except (EOFError, OSError):
            ok, value = False, "it ended without a word"
        finally:
            self._conn.close()
            self._wait()
        if not ok:
            raise RuntimeError(f"the second process failed: {value}")
        return value

    def close(self) -> None:
        """End the child if it still runs (the parent gives up: an error, an interruption)."""
        if self.pid is not None:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass
            self._wait()
            self._outbox.put(b"")  # (the sender, if it was writing, has found the pipe broken)
            self._sender.join()
            self._conn.close()

    def _wait(self) -> None:
        if self.pid is not None:
            os.waitpid(self.pid, 0)
            self.pid = None


def _serve(conn: Connection, work: Callable[[Any], None], result: Callable[[], Any]) -> None:
    code = 0
    try:
        while True:
            data = conn.recv_bytes()
            if not data:
                break
            work(pickle.loads(data))
        conn.send_bytes(pickle.dumps((True, result()), protocol=pickle.HIGHEST_PROTOCOL))
    except BaseException:  # noqa: BLE001  (anything, an interruption too, is told; the child never returns)
        code = 1
        try:
            conn.send_bytes(pickle.dumps((False, traceback.format_exc())))
        except OSError:  # (the parent is gone)
            pass
    finally:
        os._exit(code)
