"""What the app tells its screens, declared in one place: Textual signals, one per kind of news, and the message
the presence thread posts to the app.

The app publishes (``DeskApp.signals``); each ``DeskScreen`` subscribes while it is mounted and turns the news
into its typed hooks (screens/base.py says what each means to a screen). Textual's ``Signal`` is a publisher
that knows its subscribers: the app never walks its screen stack nor looks a method up by name.

The guarantees the screens rely on:

- delivered at once, inside ``publish`` (``immediate``): ``app.tick()`` has moved every countdown when it
  returns, and a change is noticed in the same turn of the event loop as the poll that saw it;
- to every screen of the stack that is mounted, not only the one on top (a tick reaches the queue under a
  ticket; a change reaches every stacked screen), in the order they subscribed: the bottom one first;
- a subscriber's error is the app's (``App._handle_exception``, where a database that went away is a notice and
  anything else a crash), as when the app's clock called the screens itself: Textual's ``Signal`` would log it
  and go on.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from textual.message import Message
from textual.signal import Signal

if TYPE_CHECKING:
    from textual.app import App

    from ..service import Desk
    from .loading import LoadingProgress

Seen = dict[int, list[tuple[str, str]]]  # ticket id → [(agent, activity)] of the other apps


class DeskSignals:
    """The app's kinds of news for its screens."""

    def __init__(self, app: App) -> None:
        # the store is open (it opens in a worker after the first paint): the service layer's Desk
        self.desk_ready: Signal[Desk] = Signal(app, "desk-ready")
        # one second passed (or a test says so): the app clock's now
        self.clock_tick: Signal[datetime] = Signal(app, "clock-tick")
        # another connection committed: the tickets changed (the feed of ticket changes, store/changes.py), or
        # None when which is not known (no feed, or a server reached again): then anything may have changed
        self.changes: Signal[frozenset[int] | None] = Signal(app, "changes")
        # who else has which ticket open changed
        self.presence: Signal[Seen] = Signal(app, "presence")
        # the app took new customers' entries from its configuration file (a ticket's policy may differ at the
        # same version): DeskApp.poll
        self.config: Signal[None] = Signal(app, "config")
        # a change in flight started or settled (the screens that asked for it: their keys changed), or its
        # spinner moved (None): pending.py
        self.writes: Signal[frozenset[object] | None] = Signal(app, "writes")
        # the store is opening and has long work to do first (deadlines derived again after a change of the SLA
        # configuration): how far it has got (loading.py), until desk_ready
        self.loading: Signal[LoadingProgress] = Signal(app, "loading")

    def all(self) -> tuple[Signal, ...]:
        return (self.desk_ready, self.clock_tick, self.changes, self.presence, self.config, self.writes, self.loading)


class OthersOpen(Message):
    """From the presence thread to the app: which tickets the other apps have open (ticket → [(agent, activity)])."""

    def __init__(self, seen: Seen) -> None:
        super().__init__()
        self.seen = seen
