"""Keys typed while the app changes under them go where the agent meant them: one key at a time.

Textual hands a key from the terminal to the widget that has the focus *when the key is read*; the binding it
triggers runs only once the key has travelled to that widget and back up to the app, and a dialog pushed by
that binding takes its focus later still (``Widget.focus`` waits its turn in the app's queue). Keys typed back
to back (a fast typist, a paste, ``tmux send-keys 'X\\t4'``, an SSH link delivering a burst) were all handed
out before the first one had opened its dialog: the first ``tab`` of the close dialog went to the ticket behind
it, ``enter`` right after a prompt closed went to the prompt that was going away, text typed after ``r`` or
``:`` was lost or came out of order.

``KeyGate`` makes key delivery sequential. A key (or a paste) that arrives while the previous one is still being
handled is held; it is handed out, as Textual would hand it out then, once the app has *settled*:

- the previous key has come back up to the app: a ``KeyThrough`` message sent after it to the widget it was
  handed to bubbles up behind it in every queue on the way, so its binding has run when this arrives; a second
  one is sent the same way, behind what handling the key posted there (an input's ``Submitted``, an option
  list's ``OptionSelected``) and the focus changes their handlers asked the app for;
- if the screens changed meanwhile (a dialog pushed; one popped and its result handled, which may push the
  next), the new screen on top has mounted and handled what it had queued (a callback through its queue), its
  focus has been set (then through the app's queue), and the screens are looked at again.

Characters (and pastes) for the text field that has the focus are the exception: they only add to the field,
in the field's own queue, in order, so they are handed out at once, one after the other (a paste of 100
characters into the reply editor takes no longer than without the gate); the key that follows them (enter,
ctrl+s, tab) waits until the field has them all.

A key typed at a pause finds the gate open and is handed out at once, as before: nothing waits on it. A screen
pushed or popped without a key (a worker's dialog, a result callback) closes the gate too, so what is typed
while it opens belongs to it. A key whose dialog comes only after a read in a thread (``a`` and ``l`` on the
ticket, a bulk action's list) says so with ``expect()``, and so do the queue until its first rows are shown and
the ticket until it is read: keys typed meanwhile wait for it instead of reaching the screen behind it (``me``
typed after ``a`` opened the canned responses and escalated); the app's own keys (``q``, ``?``, ``ctrl+p``) do not
wait for the queue's first rows, which take seconds on a large desk, nor the keys of a screen opened over it
(``expect(loading=screen)``). The gate never
holds a key longer than ``PATIENCE`` seconds (a desk slow to answer, a widget removed with a KeyThrough in its
queue): the app's clock opens it (``watchdog``). Those are seconds the app could run: the time its threads waited
for a processor (``CpuWait``) does not count, up to ``LIMIT`` seconds in all. On a loaded machine (many apps on
one jump host, a test run beside others) reading a ticket or mounting a dialog took longer than ``PATIENCE`` of
the wall clock, and the keys typed meanwhile went to the screen behind (``r`` and a reply typed as a ticket
opened: the ``a`` of "Quick answer" opened the assign dialog).

Textual 8.2 internals relied on (pinned in pyproject.toml): ``App.on_event`` forwards a key to ``focused or
screen``; ``MessagePump._is_mounted``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import events
from textual.message import Message

if TYPE_CHECKING:
    from textual.app import App
    from textual.message_pump import MessagePump


class KeyThrough(Message):
    """Follows a key from the widget it was handed to up to the app (it bubbles, as the key does): when it
    arrives, the key has been handled by that widget and every ancestor, and its binding (if any) has run."""

    def __init__(self, serial: int) -> None:
        super().__init__()
        self.serial = serial


class KeyGate:
    PATIENCE = 2.0  # seconds a key may be held at most, of the time the app could run (CpuWait)
    LIMIT = 30.0  # seconds a key may be held at most however loaded the machine (as the desk's busy window)
    ROUNDS = 30  # settling checks at most per key (a widget that keeps posting to itself cannot hold keys)

    def __init__(self, app: App) -> None:
        self.app = app
        self.held: deque[events.Key | events.Paste] = deque()
        self.busy = False  # closed: a key is being handled, or a screen is coming or going
        self.serial = 0  # of the current round of checks (a late answer to an older round is ignored)
        self.keys = 0  # keys handed out (each KeyThrough carries its number)
        self.awaiting: int | None = None  # the key whose KeyThrough the gate waits for (closed)
        self.typing: int | None = None  # the last character handed to a text field, not through yet
        self.since = 0.0  # when the gate closed (monotonic)
        self.cpu_wait = CpuWait()  # since it closed, how long the app waited for a processor
        self.rounds = 0
        self.target: MessagePump | None = None  # the widget the key being settled was handed to
        self.passes = 0  # KeyThrough passes made from it
        self.stack: tuple = ()  # the screens at the last look
        self.expecting = 0  # dialogs announced by expect() and not pushed yet
        self.loading: list[object] = []  # of those, screens waiting for a desk's first rows (expect(loading=…))
        self.settled = False  # closed only for those rows, their screen on top: settled after the last key
        self.held_count = 0  # keys that had to wait (a measure, for tests and benchmarks)

    # -- from the app ---------------------------------------------------------------------------

    # actions of the focused widget's own bindings that only move in it (a cursor, a scroll): no screen comes or goes
    MOVES = frozenset(
        {
            "cursor_down", "cursor_up", "cursor_left", "cursor_right", "first", "last", "page_down", "page_up",
            "scroll_down", "scroll_up", "scroll_home", "scroll_end", "scroll_page_down", "scroll_page_up",
        }
    )  # fmt: skip

    def typed_text(self, event: events.Key | events.Paste) -> bool:
        """A key that stays in the widget that has the focus: a character (or a paste) for a text field, or a
        movement key of the focused widget's own bindings (``j`` on the queue). It only changes that widget, in
        order behind the keys before it (the widget's own queue), so the gate need not settle after it: a burst
        of ``j`` costs what it did without the gate. The key that follows a run of them (enter, ctrl+s, tab)
        waits until the widget has them all."""
        from textual.widgets import Input, TextArea

        focused = self.app.focused
        if isinstance(event, events.Key) and not event.is_printable:
            return self._moves_in(focused, event.key)
        if isinstance(focused, Input) or (isinstance(focused, TextArea) and not focused.read_only):
            return True
        return isinstance(event, events.Key) and self._moves_in(focused, event.key)

    def _moves_in(self, focused: MessagePump | None, key: str) -> bool:
        """``key`` is bound by ``focused`` itself to movement only, and no priority binding of the screen or the
        app takes it first."""
        if focused is None:
            return False
        own = getattr(focused, "_bindings", None)
        found = own.key_to_bindings.get(key, []) if own is not None else []
        if not found or any(b.action not in self.MOVES for b in found):
            return False
        for node in (self.app.screen, self.app):
            if any(b.priority for b in node._bindings.key_to_bindings.get(key, [])):
                return False
        return True

    # the app's own keys, which mean the same whatever the rows: quit, help, the command palette
    APP_KEYS = frozenset({"q", "ctrl+q", "question_mark", "ctrl+p"})

    def hold(self, event: events.Key | events.Paste) -> bool:
        """A key or a paste from the terminal. True: it waits (handed out later); False: hand it out now
        (``handed_out`` is told once it is)."""
        if self._through_while_loading(event):
            return False
        if self.busy or self.held:
            self.held.append(event)
            self.held_count += 1
            return True
        if self.typed_text(event):
            return False
        self._close()
        if self.typing is not None:  # characters typed just before are still on their way to their field
            self.held.append(event)
            self.held_count += 1
            return True
        return False

    def _through_while_loading(self, event: events.Key | events.Paste) -> bool:
        """The gate waits only for the first rows of the screen on top (seconds on a large desk, or while
        deadlines are derived again), the app settled after the last key and nothing held: the app's own keys
        (``APP_KEYS``) need not wait for them. The keys meant for the rows (``enter``, a view's number, ``j``)
        still wait. (Over another screen, the keys' help or the palette, the rows are not waited for: ``check``.)"""
        if not (self.busy and self.settled and not self.held and self._only_loading()):
            return False
        if isinstance(event, events.Key) and event.key in self.APP_KEYS:
            self.settled = False  # (the gate settles after this key, as after any)
            return True
        return False

    def _only_loading(self) -> bool:
        """Every dialog expected is a screen's first rows."""
        return self.expecting > 0 and self.expecting == len(self.loading)

    def _loading_on_top(self) -> bool:
        """The screen on top is waiting for its first rows: the keys meant for it wait for them."""
        top = self.app.screen
        return any(screen is top for screen in self.loading)

    def handed_out(self, event: events.Key | events.Paste) -> None:
        """``event`` has just been given by ``App.on_event`` to a widget (forwarded), or used by a priority
        binding: a KeyThrough follows it, and (unless it was text for a field) the gate waits for it."""
        self.keys += 1
        app = self.app
        target: MessagePump = app.focused or app.screen  # where App.on_event forwarded it
        if event.is_forwarded and not self.busy:  # text for a field: the gate stays open
            self.typing = self.keys
            if not target.post_message(KeyThrough(self.keys)):
                self.typing = None
            return
        if not self.busy:
            self._close()  # text for a field that a priority binding took after all
        self.target = target
        # a form's control answers a key with a message of its own (Submitted, OptionSelected, Changed) that its
        # screen handles afterwards: a second pass waits for that too; a table or a list acts in the binding
        self.passes = 0 if isinstance(target, self.forms()) else 1
        self.stack = tuple(app.screen_stack)
        if event.is_forwarded:
            self._pass()
        else:
            self._look_again()

    @staticmethod
    def forms() -> tuple[type, ...]:
        from textual.widgets import Button, Checkbox, Input, ListView, OptionList, RadioSet, Select, TextArea

        return (Button, Checkbox, Input, ListView, OptionList, RadioSet, Select, TextArea)

    def _pass(self) -> None:
        """Send a KeyThrough from the widget the key went to: it arrives behind what that widget and its
        ancestors had queued (the key itself the first time, then what handling it posted there: an input's
        Submitted, an option list's OptionSelected, and the focus changes their handlers ask the app for)."""
        self.keys += 1
        self.passes += 1
        target = self.target if self.target is not None and self.target.is_attached else self.app.screen
        self.awaiting = self.keys
        if not target.post_message(KeyThrough(self.keys)):
            self.awaiting = None
            self._look_again()

    def key_through(self, number: int) -> None:
        """The KeyThrough ``number`` has reached the app: what was queued before it on its way is handled."""
        if number == self.typing:
            self.typing = None
            if self.busy and self.awaiting is None:
                self._look_again()
        if number == self.awaiting:
            self.awaiting = None
            self._look_again()

    def screen_changed(self) -> None:
        """A screen was pushed, popped or switched: keys wait until it has settled."""
        if not self.busy or self.settled:  # (settled: closed for a screen's first rows; another may be on top now)
            self._close()
            self.target = None
            self._look_again()
        # else: the settling under way sees the new screen (it checks every screen of the stack)

    def expect(self, loading: object | None = None) -> Callable[[], None]:
        """A dialog is coming after some work (a read in a thread): keys wait for it. Returns the function to
        call once the dialog is pushed, or once it will not come (a refusal, a failure); calling it again does
        nothing. ``loading``: what is coming is this screen's first rows of the desk, which the app's own keys
        (``APP_KEYS``) and the keys of another screen over it need not wait for."""
        self.expecting += 1
        if loading is not None:
            self.loading.append(loading)
        if not self.busy:
            self._close()
            if loading is not None:
                self._look_again()  # (the app settles meanwhile: check)
        called = False

        def done() -> None:
            nonlocal called
            if called:
                return
            called = True
            self.expecting = max(0, self.expecting - 1)
            if loading is not None and loading in self.loading:
                self.loading.remove(loading)
                # the gate waits for these rows only when parked for them (``settled``): else it is settling a
                # key (the rows waited for by a screen below), and a look now would cut that short
                if not self.settled:
                    return
            if self.busy and not self.expecting:
                self._look_again()

        return done

    def watchdog(self) -> None:
        """Called every second by the app's clock: a gate closed for longer than PATIENCE (of the time the app could
        run) opens."""
        if self.busy and self._overdue():
            self._open()

    def _overdue(self) -> bool:
        held = time.monotonic() - self.since
        if held <= self.PATIENCE:
            return False
        return held > self.LIMIT or held - self.cpu_wait.seconds() > self.PATIENCE

    # -- settling -------------------------------------------------------------------------------

    def _close(self) -> None:
        self.busy = True
        self.settled = False
        self._started()
        self.rounds = 0

    def _started(self) -> None:
        self.since = time.monotonic()
        self.cpu_wait.mark()

    def _look_again(self) -> None:
        self.serial += 1
        self.app.call_later(self.check, self.serial)

    def check(self, serial: int) -> None:
        """In the app's context, behind what the app had queued: open the gate once the app has settled.

        Settled: the KeyThrough of the last key has made its second pass (see ``_pass``), and the screens have
        not changed since the last look; when they have (a dialog pushed, a dialog popped and its result
        handled), the new screen on top is waited for (a callback through its queue: it runs once the screen is
        mounted and has handled what it had queued, its focus asked for), then the app's queue (the focus set),
        and the screens are looked at again."""
        if not self.busy or serial != self.serial:
            return  # a late answer to an earlier round
        overdue = self._overdue()
        # waiting only for a screen's first rows, the app settles meanwhile: then, that screen on top, the gate
        # stays closed (``settled``: the keys that need not wait for the rows know they may go, see
        # ``_through_while_loading``); another screen on top (a ticket, the keys' help), it opens as after any key
        only_loading = self._only_loading()
        waiting = self.awaiting is not None or self.typing is not None or (self.expecting and not only_loading)
        if waiting and not overdue:
            return  # key_through() or expect()'s done() looks again
        if overdue:
            self._open()
            return
        park = only_loading and self._loading_on_top()
        if self.rounds >= self.ROUNDS:
            if park:
                self.settled = True
                return
            self._open(keep_loading=only_loading)
            return
        self.rounds += 1
        app = self.app
        stack = tuple(app.screen_stack)
        if stack != self.stack or not stack[-1]._is_mounted:
            self.stack = stack
            self.target = None
            self.serial += 1
            serial = self.serial
            if not stack[-1].call_later(app.call_later, self.check, serial):
                self._look_again()
            return
        if self.target is not None and self.passes < 2:  # (a form's control: see handed_out)
            self._pass()
            return
        if park:  # settled, but for the first rows: expect()'s done() (or a screen change) looks again
            self.settled = True
            return
        self._open(keep_loading=only_loading)

    def _open(self, keep_loading: bool = False) -> None:
        """``keep_loading``: the first rows a screen below waits for are still expected (its keys wait for them
        when it is on top again); else every expectation is dropped (after PATIENCE: a dialog that did not come
        is no longer waited for)."""
        if keep_loading:
            self.expecting = len(self.loading)
        else:
            self.expecting = 0
            self.loading = []
        self.settled = False
        self.awaiting = None
        self.typing = None
        self.serial += 1  # answers still on their way are stale
        self.busy = False
        if self.held:
            self.busy = True
            self._started()
            self.app.call_later(self._next)

    async def _next(self) -> None:
        """Hand out what was held, in order: characters for a text field one after the other, any other key
        alone (the gate settles after it before the next)."""
        self.busy = False
        while self.held:
            event = self.held[0]
            if not self.typed_text(event):
                self._close()
                if self.typing is not None:  # wait for the characters just handed out
                    return
            self.held.popleft()
            await self.app._hand_out(event)  # type: ignore[attr-defined]
            self.handed_out(event)
            if self.busy:
                return


class CpuWait:
    """How long the app has waited for a processor since ``mark()``: of its threads (the event loop, the reader, the
    workers), the one that waited longest in the kernel's run queue, ready to run (Linux: the second field of
    ``/proc/self/task/*/schedstat``, nanoseconds; a thread started since counts all its wait). 0 where the kernel
    does not say. A reading costs a few files of /proc (about 0.1 ms a thread): the gate marks when it closes (a key
    other than text or a move) and reads only once it has been closed for ``PATIENCE`` seconds."""

    TASKS = "/proc/self/task"

    def __init__(self) -> None:
        self.base: dict[str, int] = {}

    def mark(self) -> None:
        self.base = self._waits()

    def seconds(self) -> float:
        base = self.base
        return max((wait - base.get(tid, 0) for tid, wait in self._waits().items()), default=0) / 1e9

    @classmethod
    def _waits(cls) -> dict[str, int]:
        import os

        waits: dict[str, int] = {}
        try:
            tasks = os.listdir(cls.TASKS)
        except OSError:
            return waits
        for tid in tasks:
            try:
                with open(f"{cls.TASKS}/{tid}/schedstat", "rb") as f:
                    waits[tid] = int(f.read().split()[1])
            except (OSError, ValueError, IndexError):
                continue
        return waits
