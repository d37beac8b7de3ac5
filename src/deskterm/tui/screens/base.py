"""The contract between the app and its screens, and what the screens of computed desk data share.

``DeskScreen`` is what the app tells a screen, and the only way it does. The app publishes its news on Textual
signals (``DeskApp.signals``, tui/messages.py: delivered at once, to every mounted screen of the stack, the
bottom one first); a ``DeskScreen`` subscribes while it is mounted (``on_mount``, unsubscribed ``on_unmount``)
and hears them as these typed hooks, which a screen overrides:

- ``desk_ready(desk)``: the store is open. It opens in a worker after the first paint, so a screen may be
  mounted before or after that: mounted after, it is told at the end of its ``on_mount`` (Textual calls the
  screen's own ``on_mount`` first, then ``DeskScreen``'s), so the screen's widgets are there either way;
- ``clock_tick(now)``: a second passed (countdowns move on); a covered screen (below) is told once, as of then,
  when it is uncovered;
- ``data_changed()``: another connection committed a change (re-read what is shown);
- ``tickets_changed(ids)``: another connection changed these tickets (a screen that can touch only them does;
  by default it reads its data again, as for ``data_changed``);
  a screen covered by another (the queue under a ticket, the handover or the escalations; not under a dialog,
  through which it shows) is not told at once: the changes are kept, merged (a ``data_changed`` takes in every
  ticket's), and told once when it is uncovered, before its first frame. A change costs a covered screen
  nothing; what it reads then is the same, since each hook reads the tickets' state as committed when it reads;
- ``presence_changed(seen)``: who else has which ticket open changed;
- ``config_changed()``: the app took new customers' entries from its configuration file (``DeskApp.poll``);
- ``writes_changed(keys)``: a change in flight (pending.py) started, settled or its spinner moved; ``keys``: it
  is this screen's own, whose keys that change tickets are off while it is pending.
- ``desk_loading(progress)``: the store, opening, has long work to do before ``desk_ready`` (every open ticket's
  deadlines derived again after a change of the SLA configuration): how far it has got (``loading.py``).

An error in a hook is the app's (``DeskApp._handle_exception``: a desk that went away is a notice, anything else
a crash), as it was when the app's clock called the screens itself.

``LoadingScreen`` adds what the dashboard, the handover, the escalations and the triage share: each reload gets a
new generation number so that a worker's late result for an older reload can be told apart and dropped.
``reload_soon`` is the reload of a screen whose computation is long (the dashboard and the handover read every
ticket: seconds at 100,000): a thread cannot be stopped, so a reload asked for while one is on its way waits for
its worker to end (``load_done``) and then starts once for all the changes noticed meanwhile, instead of one more
thread per change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from textual.screen import Screen
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from textual import getters

    from ...service import Desk
    from ..app import DeskApp
    from ..loading import LoadingProgress

_ENDED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)
_HELD_NONE = object()  # no change heard while covered
T = TypeVar("T")


class DeskScreen(Screen):
    """A screen the app keeps informed: each hook does nothing unless the screen overrides it."""

    if TYPE_CHECKING:
        # A DeskScreen lives in a DeskApp: ``self.app`` is typed as one, with Textual's ``getters.app`` (its
        # documented way). For the checker only: app.py imports this module, and at run time Textual's own
        # ``app`` property returns the same object.
        app = getters.app(DeskApp)

    def on_mount(self) -> None:
        """Listen to the app (after the screen's own ``on_mount``), and take the desk if it is open already."""
        signals = self.app.signals
        signals.desk_ready.subscribe(self, self._heard(self.desk_ready), immediate=True)
        signals.clock_tick.subscribe(self, self._heard(self._heard_tick), immediate=True)
        signals.changes.subscribe(self, self._heard(self._heard_changes), immediate=True)
        signals.presence.subscribe(self, self._heard(self.presence_changed), immediate=True)
        signals.config.subscribe(self, self._heard(self._config), immediate=True)
        signals.writes.subscribe(self, self._heard(self._writes), immediate=True)
        signals.loading.subscribe(self, self._heard(self.desk_loading), immediate=True)
        desk = self.app.desk
        if desk is not None:
            self.desk_ready(desk)

    def on_unmount(self) -> None:
        for signal in self.app.signals.all():
            signal.unsubscribe(self)

    # the changes heard while covered: not yet (_HELD_NONE), these tickets, or every one (None)
    _held: frozenset[int] | None | object = _HELD_NONE

    def _covered(self) -> bool:
        """Another screen that hides this one is above it (a dialog, whose background is not opaque, is not)."""
        stack = self.app.screen_stack
        if not stack or stack[-1] is self:
            return False
        try:
            above = stack[stack.index(self) + 1 :]
        except ValueError:  # not in the stack (going): as before
            return False
        return any(s.styles.background.a == 1 for s in above)

    # a clock tick came while covered (told once, as of now, when uncovered)
    _tick_held = False

    def on_screen_resume(self) -> None:
        """Uncovered: the clock, if it ticked meanwhile, and the changes kept meanwhile are told now (a handler of
        each class is called: this one too), before the screen's first frame."""
        if self._tick_held:
            self._tick_held = False
            self._heard(self.clock_tick)(self.app.clock.now())
        held, self._held = self._held, _HELD_NONE
        if held is not _HELD_NONE:
            self._heard(self._changes)(held)  # type: ignore[arg-type]

    def _heard(self, hook: Callable[[T], object]) -> Callable[[T], None]:
        """``hook``, its error handed to the app (Textual's ``Signal`` would log it and go on)."""

        def heard(data: T) -> None:
            try:
                hook(data)
            except Exception as error:  # noqa: BLE001 - the app's: a notice for a lost desk, else a crash
                self.app._handle_exception(error)

        return heard

    def _heard_tick(self, now: datetime) -> None:
        """Each second: a screen nobody sees (the queue under a ticket, the handover or the escalations) moves no
        countdown and recounts nothing; it catches up in one tick when uncovered. On a jump host most apps sit on
        a ticket screen over the queue: the queue's second cost them CPU for nothing."""
        if self._covered():
            self._tick_held = True
            return
        self.clock_tick(now)

    def _heard_changes(self, tickets: frozenset[int] | None) -> None:
        if self._covered():
            held = self._held
            if held is _HELD_NONE:
                self._held = tickets
            elif held is not None:
                self._held = None if tickets is None else held | tickets  # type: ignore[operator]
            return
        self._changes(tickets)

    def _changes(self, tickets: frozenset[int] | None) -> None:
        if tickets is None:
            self.data_changed()
        else:
            self.tickets_changed(tickets)

    def _config(self, _: None) -> None:
        self.config_changed()

    def _writes(self, owners: frozenset[object] | None) -> None:
        self.writes_changed(keys=owners is not None and self in owners)

    def desk_ready(self, desk: Desk) -> None:
        """The store is open: ``desk`` is the service layer's ``Desk``."""

    def clock_tick(self, now: datetime) -> None:
        """One second passed (or a test says so)."""

    def data_changed(self) -> None:
        """Another connection committed a change to the desk."""

    def tickets_changed(self, changed: frozenset[int]) -> None:
        """Another connection changed these tickets (the feed of ticket changes); by default: ``data_changed``."""
        self.data_changed()

    def presence_changed(self, seen: dict[int, list[tuple[str, str]]]) -> None:
        """Who else has which ticket open (ticket id → [(agent, activity)]) changed."""

    def config_changed(self) -> None:
        """The app took new customers' entries from its configuration file (a ticket's policy may differ at the
        same version): by default, as for ``data_changed``."""
        self.data_changed()

    def writes_changed(self, keys: bool) -> None:
        """A change in flight started, settled, or its spinner moved; ``keys``: this screen asked for it."""

    def desk_loading(self, progress: LoadingProgress) -> None:
        """The store is opening and has long work to do first: ``progress.line`` says how far it has got."""


class LoadingScreen(DeskScreen):
    def __init__(self) -> None:
        super().__init__()
        self.desk: Desk | None = None  # None until the store is open (desk_ready)
        self._generation = 0
        self._stale = False  # reload_soon asked while one ran: one more when it is done

    @property
    def _desk(self) -> Desk:
        """The desk, where it is there by construction: in ``load``, in what a loaded result shows, in an
        action on loaded data (none of them runs before ``desk_ready``)."""
        assert self.desk is not None, "used before desk_ready"
        return self.desk

    def desk_ready(self, desk: Desk) -> None:
        if self.desk is desk:
            return
        self.desk = desk
        self.on_desk(desk)
        self.reload()

    def on_desk(self, desk: Desk) -> None:
        """Set up what depends on the desk (caches), before the first load."""

    def reload(self) -> None:
        if self.desk is None:
            return
        self._generation += 1
        self.load(self._generation)

    LOAD_GROUP = ""  # the group of the workers ``load`` starts

    def _loading(self) -> bool:
        """A worker of ``load`` is waiting or running."""
        return any(
            w.node is self and w.group == self.LOAD_GROUP and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for w in self.app.workers
        )

    def reload_soon(self) -> None:
        """Reload, unless a computation is on its way: then once more when it is done (``load_done``)."""
        if self._loading():
            self._stale = True
            return
        self.reload()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == self.LOAD_GROUP and event.state in _ENDED:
            self.load_done()

    def load_done(self) -> None:
        """A computation ended (its result posted, or it failed or was superseded): start the one ``reload_soon``
        deferred."""
        if self._stale and not self._loading():
            self._stale = False
            self.reload()

    def load(self, generation: int) -> None:
        """Start loading the screen's data (in a worker)."""
        raise NotImplementedError
