"""The app's garbage-collector policy: the one place the ``deskterm`` app tells Python's collector what to do.

CPython frees most objects by their reference counts; the cyclic collector only finds cycles, and to find them it
scans every object of the generations it collects. At Python's default thresholds (700, 10, 10) the app, which
keeps a few hundred thousand long-lived objects (the imported modules and classes, Textual's widgets and styles,
the store, what each screen keeps), had the collector scan them all again and again: in session 12, 63 of the
handover's 84 ms of CPU per remote change were full passes over its ~420,000 objects (docs/scale.md, "Handover");
in the test processes, 17 % of the screen tests' CPU.

The policy (``GcPolicy``, held by the app):

- from the app's mount, a young generation collected every ``YOUNG`` allocations instead of 700: a frame, a
  change read and shown, make thousands of short-lived objects whose cycles (Textual's messages and events,
  SQLAlchemy's rows) are found as well by one young collection as by fourteen;
- when the store is open, ``gc.freeze()``; when the queue's first load is done (its tabs counted), one
  collection of what is not frozen yet, then ``gc.freeze()`` again (``settle``): what is alive then is moved out
  of the collector's generations and never scanned again (it is still freed by its reference
  count when no longer used: only cycles among frozen objects wait for ``gc.unfreeze``);
- the handover and the dashboard do not freeze what they load (closing them would leave their cycles frozen);
- at the app's unmount everything is thawed and the thresholds put back (an app run inside a longer process: the
  tests).

Figures (jumphost.py at 100k beside main at 6a30c95, the collector's passes timed through ``gc.callbacks``): per
remote change the collector was already under 0.5 % of the app's CPU on the queue and the handover (none now);
the handover's first load spent 1.95 s in the collector (11 full passes, 1.38 s), now 0.61 s (3, 0.10 s); RSS the
same. (Those runs collected before the first freeze too: in the tests' processes that full collection added
half again to the collector's time, so the desk's opening only freezes.) More in docs/scale.md, "Session 13: the
collector".
"""

from __future__ import annotations

import gc

YOUNG = 10_000
THRESHOLDS = (YOUNG, 10, 10)


class GcPolicy:
    def __init__(self) -> None:
        self._before: tuple[int, int, int] | None = None
        self.settled: list[str] = []  # why each settle was made, in order (the tests read it)

    def start(self) -> None:
        """The app is mounting: the young generation's threshold raised."""
        if self._before is None:
            self._before = gc.get_threshold()
        gc.set_threshold(*THRESHOLDS)

    def settle(self, why: str, collect: bool = True) -> None:
        """The app is steady after a large load: collect once (what is not frozen yet), then freeze what is alive.
        Without ``collect`` only frozen: the first freeze, when the desk is open (a full collection then scans the
        whole heap: in a test process, pytest's and the apps' before, 0.1 s and more an app)."""
        if collect:
            gc.collect()
        gc.freeze()
        self.settled.append(why)

    def stop(self) -> None:
        """The app unmounts: all thawed, the thresholds put back."""
        gc.unfreeze()
        if self._before is not None:
            gc.set_threshold(*self._before)
            self._before = None
