"""The deskterm app: the queue first, one app-wide clock, the store opened after the first paint.

``tick`` is the single clock of the screens: an interval calls it every second (and polls the
database's change counter); tests freeze the injected clock, ``advance`` it and call ``tick`` themselves.
When the poll sees a change, the app also looks for new escalations (one ``max(id)`` read per change, in the
reader's thread, reader.py; on SQLite the change watch reads it with the feed, and the look is made only when
there is one): each
one that this agent did not raise by hand is a toast, and the bell rings (``escalation.bell``), whatever
screen is on top.
"""

from __future__ import annotations

import asyncio
import contextvars
import signal
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from ..clock import Clock
from ..config import Config
from ..errors import DeskError
from ..store.deskfile import new_desk_file
from .commands import ScreenActions
from .gcpolicy import GcPolicy
from .messages import DeskSignals, OthersOpen

if TYPE_CHECKING:
    from textual.driver import Driver
    from textual.notifications import Notification

    from ..service import Desk
    from ..store.changes import ChangeWatch
    from ..store.models import Escalation
    from .drafts import Drafts
    from .loading import LoadingProgress
    from .screens.queue import QueueScreen


class DeskApp(App):
    TITLE = "deskterm"
    CSS_PATH = "deskterm.tcss"
    COMMANDS = App.COMMANDS | {ScreenActions}
    BINDINGS = [
        # q quits from every screen, asking first while drafts are unsent; inside a text field it is a letter
        # (not a priority binding), ctrl+q works there too
        Binding("ctrl+q", "request_quit", "Quit", show=False, id="app.quit"),
        Binding("q", "request_quit", "Quit", id="app.quit_q"),
        # not priority bindings: typed into a search box or an editor, E, D and H are just letters
        Binding("E", "show('escalations')", "Escalations", show=False, id="app.escalations"),
        Binding("D", "show('dashboard')", "Dashboard", show=False, id="app.dashboard"),
        Binding("H", "show('handover')", "Handover", show=False, id="app.handover"),
        Binding("N", "new_ticket", "New ticket", show=False, id="app.new_ticket"),
        # every screen and dialog: its keys (the queue and the ticket have their own ?, the same list)
        Binding("question_mark", "keys", "Keys", id="app.keys"),
    ]
    RULES_EVERY = 30.0  # seconds between two applications of the automatic escalation rules

    def __init__(self, db: str | None, config: Config, clock: Clock | None = None, user: str | None = None) -> None:
        super().__init__()
        self.db = db
        self.config = config
        self.clock = clock or Clock()
        self.user = user
        self.gc_policy = GcPolicy()  # the garbage collector's thresholds and freezes (gcpolicy.py)
        # the desk file did not exist when the app started: it creates a new, empty desk, which the queue says
        # (a mistyped DESKTERM_DB would otherwise read as a quiet queue)
        self.new_desk_at = new_desk_file(db)
        self.desk: Desk | None = None  # the service layer, once the store is open (_opened)
        self.change_watch: ChangeWatch | None = None
        from ..config import CustomerEntries

        self.customer_entries = CustomerEntries(config)  # the customers' entries followed in the file (poll)
        self.load_error: str | None = None
        self.last_escalation: int | None = None  # the highest escalation id already seen (None: store not open)
        self._tty: int | None = None  # the terminal's file descriptor, watched by the clock (_terminal_gone)
        self.stopped_by: str | None = None  # the signal that ended the app ("SIGTERM"), if one did
        self.desk_problem: str | None = None  # why the desk cannot be used now (deleted, server down), else None
        self._problem_notice: Notification | None = None  # the notification that says so, as long as it lasts
        self._listening_again = False  # a worker is trying to reach the server again
        self._announcing = False  # a thread is looking for new escalations (announce_escalations)
        self._announce_again = False
        from .pending import PendingWrites

        self.writes = PendingWrites(self)  # changes in flight, each in a thread (pending.py)
        from .reader import Reader

        # the live refresh's reads, one long-lived thread for the app (not a worker per change: reader.py)
        self.reader = Reader(self._reader_failed)
        # presence: what this app's agent has open (ticket, activity), published by the presence thread, and
        # what the other apps have open (ticket → [(agent, activity)]), for the screens to show
        self.presence_state: tuple[int | None, str] = (None, "viewing")
        self.others_open: dict[int, list[tuple[str, str]]] = {}
        import threading

        self._presence_wake = threading.Event()
        self.drafts: Drafts | None = None  # the desk's unsent replies and notes (drafts.Drafts), once the store is open
        from .keygate import KeyGate

        self.keygate = KeyGate(self)  # keys one at a time, each once the app has settled (keygate.py)
        # what the screens are told (desk ready, ticks, changes, presence): messages.py, screens/base.py
        self.signals = DeskSignals(self)

    def notify(
        self, message, *, title: str = "", severity="information", timeout: float | None = None, markup: bool = False
    ) -> None:
        """Every notification is plain text, whatever the caller asked (screens and widgets pass markup=True
        by default): messages carry what agents type, names from the store and error texts, and Textual's
        markup would style ``[b]`` or fail on a stray ``[/]``. A ``rich.text.Text`` (or anything else) is given
        as its plain text: Textual's toast takes a string only, and drew a Text by crashing the app."""
        from rich.text import Text

        if isinstance(message, Text):
            message = message.plain
        elif not isinstance(message, str):
            message = str(message)
        super().notify(message, title=str(title), severity=severity, timeout=timeout, markup=False)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own palette entries, less two that deskterm has in its own words (commands.py): Textual's
        "Quit" quit at once, past the question about unsent drafts, and its "Keys" opened a panel other than
        `?`. One rule everywhere: quitting asks first while drafts are unsent. Its "Screenshot" is left out too:
        it wrote an SVG of the screen (tickets, customers' words) into ~/Downloads, following links and with the
        process's umask rather than the desk's modes, and said only "Failed to save screenshot" on a jump host
        without that directory."""
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Keys", "Screenshot"):
                yield command

    def get_driver_class(self) -> type[Driver]:
        """Textual's, but on Linux its driver with an input thread that sleeps while nothing is typed
        (tui/driver.py: it woke ten times a second)."""
        driver = super().get_driver_class()
        if driver.__name__ == "LinuxDriver" and driver.__module__ == "textual.drivers.linux_driver":
            from .driver import QuietLinuxDriver

            return QuietLinuxDriver
        return driver

    def on_mount(self) -> None:
        from .screens.queue import QueueScreen

        self.gc_policy.start()

        queue = QueueScreen()
        self.push_screen(queue)
        self.screen_change_signal.subscribe(self, self._screen_changed)
        cache = sys.modules.get("deskterm.holiday_cache")  # read with the configuration, before the app
        warning = cache.take_warning() if cache is not None else None
        if warning:
            self.notify(warning, title="Holidays cache", severity="warning", timeout=15)
        # kept: a test stops it to tell the app's seconds itself (``tick``), none coming between
        self.clock_timer = self.set_interval(1.0, self._every_second, name="deskterm clock")
        self._open_store(queue)
        self._watch_the_terminal()

    def _watch_the_terminal(self) -> None:
        """When the terminal goes away (the SSH connection drops), leave cleanly. The kernel hangs the
        terminal up and sends SIGHUP: handled here, and unblocked first, since a blocked signal mask is
        inherited from whatever started the app (then the signal never came, and Textual's input thread spun
        on the dead terminal's end of file at more than a core). Without the signal (ignored by ``nohup``, or
        no controlling terminal), the clock notices the dead terminal within a second (``_terminal_gone``)."""
        import os

        try:
            import asyncio

            loop = asyncio.get_running_loop()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})
            if not self.is_headless:  # (a test's pilot shares the test runner's process: its signals are the runner's)
                loop.add_signal_handler(signal.SIGTERM, self._terminated)

                def hung_up(_signum, _frame) -> None:
                    try:
                        loop.call_soon_threadsafe(self.exit)
                    except RuntimeError:  # (the loop has closed: the app is leaving already)
                        pass

                # not the loop's own handler: closing, the loop sets a signal it handled back to its default,
                # and a hang-up in the app's last moments (the terminal closed just after "q": the drafts being
                # written) then killed the process (exit -1, a draft lost)
                signal.signal(signal.SIGHUP, hung_up)
        except (AttributeError, NotImplementedError, RuntimeError, ValueError):
            pass
        if not self.is_headless:
            try:
                fd = sys.__stdin__.fileno() if sys.__stdin__ is not None else -1
                self._tty = fd if fd >= 0 and os.isatty(fd) else None
            except (OSError, ValueError):
                pass

    def _terminated(self) -> None:
        """SIGTERM (``kill``, the host shutting down, the session's processes ended): leave as on a quit, the
        terminal given back as it was and every draft written, but with the signal's exit code (128 + 15), not 0:
        the agent did not quit. Left to the default action, the process died at once, the terminal left in the
        app's screen and a draft typed in the last half second not written."""
        self.stopped_by = "SIGTERM"
        self.exit(return_code=128 + signal.SIGTERM)

    def _terminal_gone(self) -> bool:
        """The terminal the app was started in has been hung up (its attributes cannot be read: EIO)."""
        if self._tty is None:
            return False
        import termios

        try:
            termios.tcgetattr(self._tty)
        except termios.error:
            return True
        return False

    def _open_store(self, queue: QueueScreen | None = None) -> None:
        from functools import partial

        self.run_worker(partial(self._open, queue), thread=True, group="store", name="open store")

    def _open(self, queue: QueueScreen | None = None) -> None:
        # the queue's first screenful through the database's driver first, painted before the store's libraries
        # are imported: SQLAlchemy, SQLModel and the models cost a second and more, here after that frame
        if queue is not None:
            from ..errors import CannotConnect

            try:
                queue.first_from_driver(self.db, self.config, self.clock, self.user)
            except CannotConnect as exc:  # said once, at once (the store would wait for the server again)
                self.call_from_thread(self._failed, str(exc))
                return
        from ..service import Desk
        from ..store.changes import ChangeWatch
        from ..store.engine import open_store
        from ..store.queue import latest_escalation_id

        try:
            store = open_store(self.db)
            desk = Desk(store, self.config, clock=self.clock, user=self.user)
            # as every command does: one cheap read, unless the SLA configuration changed (or a migration asks);
            # then its progress goes to the screens (the queue's status line says it instead of "Opening the desk…")
            from .loading import Stopped, Told

            try:
                desk.rederive(progress=Told(self, gone=lambda: self.leaving))
            except Stopped:  # the agent quit meanwhile (nothing written: it is done again at the next start)
                return
            except Exception as exc:
                from ..store.engine import is_read_only

                if not is_read_only(exc):  # a read-only desk still opens, to be read
                    raise
            watch = ChangeWatch(store)
            latest = latest_escalation_id(store)  # what was there before the app opened is no news
        except Exception as exc:  # noqa: BLE001 - shown to the agent, never a traceback
            from ..store.engine import explain_failure

            # a damaged, busy or foreign file said as the command line says it, not as SQLAlchemy does
            self.call_from_thread(self._failed, str(explain_failure(exc, self.db) or exc))
            return
        from .drafts import Drafts, desk_identity

        drafts = Drafts.for_desk(desk_identity(store))
        self.call_from_thread(self._opened, desk, watch, latest, drafts)
        try:  # after the queue has what it needs: a busy desk must not hold the first rows back
            desk.shift(True)  # opening the app starts the agent's shift (the roster shows it)
        except Exception:  # noqa: BLE001 - a desk that takes no writes (read-only) still opens
            return
        self.call_from_thread(watch.absorb)  # the app's own shift start is no news to its screens

    def on_loading_progress(self, message: LoadingProgress) -> None:
        """The store's long work before it is ready (``_open``): told to the screens."""
        if self.desk is None:
            self.signals.loading.publish(message)

    leaving = False  # exit() was asked: long work in a thread stops at its next report (loading.py)

    def exit(self, *args, **kwargs) -> None:
        self.leaving = True
        super().exit(*args, **kwargs)

    def _failed(self, message: str) -> None:
        self.load_error = message
        self.notify(message, title="Cannot open the desk", severity="error", timeout=30)
        from .screens.queue import QueueScreen

        for screen in self.screen_stack:  # (the notice goes; the queue's status line keeps saying it)
            if isinstance(screen, QueueScreen):
                screen.desk_failed(message)

    def _opened(self, desk: Desk, watch: ChangeWatch, latest_escalation: int = 0, drafts: Drafts | None = None) -> None:
        self.desk, self.change_watch = desk, watch
        self.last_escalation = latest_escalation
        if drafts is not None:
            self.drafts = drafts
            self._offer_drafts(drafts)
        self.signals.desk_ready.publish(desk)
        self._watch_changes()
        # a thread of its own, not a worker: it runs as long as the app (waiting for workers must not wait for it)
        import threading

        self._presence_running = True
        # (the feed's look is handed to the event loop with the loop's context: Textual's active app)
        looking = (asyncio.get_running_loop(), contextvars.copy_context())
        threading.Thread(target=self._presence_loop, args=looking, name="deskterm presence", daemon=True).start()
        if desk.config.escalation.rules:
            self.apply_rules()
            self.set_interval(self.RULES_EVERY, self.apply_rules, name="escalation rules")
        # What is alive now (modules, classes, widgets, the store: over 100,000 objects) lives as long as the
        # app: out of the garbage collector's full passes, which otherwise stop the app for 70-90 ms at
        # unpredictable keystrokes (the worst key latencies of the queue at 100,000 tickets).
        self.steady("desk opened", collect=False)

    def steady(self, why: str, collect: bool = True) -> None:
        """The app is steady after a large load (the desk opened, the queue's first load): what is alive now is
        collected once and frozen (gcpolicy.py)."""
        self.gc_policy.settle(why, collect)

    def _offer_drafts(self, drafts: Drafts) -> None:
        """At start, drafts a previous run left unsent (a crash, a quit) are offered by the queue's status line
        ("1 unsent draft (#53)") and by their ticket's screen; only a drafts directory that cannot be used is
        a notice."""
        if drafts.problem:
            self.notify(drafts.problem, title="Drafts", severity="warning", timeout=15)

    def unsent_drafts(self) -> int:
        return self.drafts.count() if self.drafts is not None else 0

    def unsent_drafts_text(self) -> str:
        """``2 unsent drafts (#53, #61)``, or "" when there is none."""
        unsent: list[tuple[int, str]] = self.drafts.unsent() if self.drafts is not None else []
        if not unsent:
            return ""
        tickets = list(dict.fromkeys(t for t, _ in unsent))
        shown = ", ".join(f"#{t}" if t else "new ticket" for t in tickets[:3]) + (", …" if len(tickets) > 3 else "")
        return f"{len(unsent)} unsent draft{'s' if len(unsent) != 1 else ''} ({shown})"

    def action_request_quit(self) -> None:
        """q (and ctrl+q): quit; while drafts are unsent, ask first (they are kept for the next start anyway)."""
        from .screens.confirm import ConfirmScreen

        if isinstance(self.screen, ConfirmScreen):
            return
        n = self.unsent_drafts()
        if not n:
            self.exit()
            return
        question = f"{n} unsent draft{'s' if n != 1 else ''}: quit anyway? y/n"
        self.push_screen(
            ConfirmScreen(question, "They are kept, and offered again at the next start."),
            lambda yes: self.exit() if yes else None,
        )

    def action_help_quit(self) -> None:
        """ctrl+c no longer quits (it copies in a text field): say what does, as plain text (Textual's own
        message is markup, which this app's notify shows as it is)."""
        self.notify("Press q to quit the app (ctrl+q inside a text field)", title="Do you want to quit?")

    def apply_rules(self) -> None:
        """Apply the automatic escalation rules in a thread (idempotent: safe beside other apps and cron)."""
        from .screens.escalations import apply_rules_in_background

        apply_rules_in_background(self)

    # -- keys ------------------------------------------------------------------------------------

    async def on_event(self, event) -> None:
        """Keys and pastes from the terminal pass the key gate (keygate.py): handed out one at a time, each
        once the app has settled after the previous one, so that what is typed while a dialog or a prompt
        opens or closes reaches the widget that has the focus once it has."""
        from textual import events

        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            if self.keygate.hold(event):
                return
            await self._hand_out(event)
            self.keygate.handed_out(event)
            return
        await super().on_event(event)

    async def _hand_out(self, event) -> None:
        """What Textual does with a key from the terminal: a priority binding, else to the focused widget."""
        await super().on_event(event)

    def on_key_through(self, message) -> None:
        self.keygate.key_through(message.serial)

    # -- places ----------------------------------------------------------------------------------

    def action_show(self, which: str) -> None:
        """Open the escalation screen, the dashboard or the handover (once: pressing again stays)."""
        from .screens.dashboard import DashboardScreen
        from .screens.escalations import EscalationScreen
        from .screens.handover import HandoverScreen

        cls = {"escalations": EscalationScreen, "dashboard": DashboardScreen, "handover": HandoverScreen}[which]
        if isinstance(self.screen, cls):
            return
        for screen in self.screen_stack:
            if isinstance(screen, cls):  # already open below: go back to it
                while not isinstance(self.screen, cls):
                    self.pop_screen()
                return
        self.push_screen(cls())

    def action_new_ticket(self, same_caller_of: int | None = None) -> None:
        """``N``: the new-ticket form (``A`` on a ticket: the same caller again, pre-filled). What it completes
        over (customers, contacts, groups) and the draft are read in a thread; the saved ticket opens."""
        from .screens.new_ticket import NewTicketScreen

        if self.desk is None or isinstance(self.screen, NewTicketScreen):
            return
        caller_ticket = same_caller_of
        if caller_ticket is None:
            screen_ticket = getattr(self.screen, "ticket_id", None)
            caller_ticket = screen_ticket if isinstance(screen_ticket, int) else None
        # the form comes after a read in a thread: what is typed meanwhile waits for it (keygate.py). Else `N c l
        # i` typed at once claimed the queue's ticket under the cursor and "l i" were lost
        coming = self.keygate.expect()
        self.run_worker(self._open_new_ticket(caller_ticket, same_caller_of is not None, coming), group="new-ticket")

    async def _open_new_ticket(self, caller_ticket: int | None, fill: bool, coming=lambda: None) -> None:
        try:
            await self._open_new_ticket_now(caller_ticket, fill)
        finally:
            coming()  # the form is pushed (the gate waits for it to settle), or will not come

    async def _open_new_ticket_now(self, caller_ticket: int | None, fill: bool) -> None:
        import asyncio
        import json

        from ..fmt import one_line
        from .screens.new_ticket import DRAFT_KIND, DRAFT_TICKET, FormData, NewTicketScreen

        desk, drafts = self.desk, self.drafts
        if desk is None:  # (action_new_ticket starts it only once the desk is open)
            return

        def load() -> FormData:
            _, groups = desk.names_seen()
            caller = None
            if caller_ticket is not None:
                ticket = desk.ticket(caller_ticket)
                contact = desk.contact_of(ticket)
                caller = (ticket.customer, contact.label if contact else "")
            text = drafts.get(DRAFT_TICKET, DRAFT_KIND) if drafts is not None else ""
            try:
                draft = json.loads(text) if text else None
            except ValueError:
                draft = None
            return FormData(
                customers=desk.customers(),
                groups=sorted({"L1", *groups}, key=str.casefold),
                categories=desk.config.taxonomy.paths(),
                draft=draft if isinstance(draft, dict) else None,
                from_draft=isinstance(draft, dict),
                caller=caller,
                caller_ticket=caller_ticket,
            )

        try:
            data = await asyncio.to_thread(load)
        except DeskError as exc:  # a desk that went away: said, never a crash
            self.notify(one_line("; ".join(exc.problems), 200), title="New ticket", severity="error")
            return
        if fill and data.caller is not None and data.draft is None:
            data.draft = {"customer": data.caller[0], "contact": data.caller[1]}

        def opened(ticket_id: int | None) -> None:
            if ticket_id is not None:
                from .screens.detail import DetailScreen

                self.notify(f"ticket #{ticket_id} created", title="New ticket", timeout=4)
                self.push_screen(DetailScreen(ticket_id))

        self.push_screen(NewTicketScreen(desk, data, drafts), opened)

    def action_keys(self) -> None:
        """``?``: every key of the screen on top, and the app-wide ones."""
        from .keys import show_keys

        show_keys(self)

    def on_show_customer_queue(self, message) -> None:
        """The dashboard asks for the queue of one customer: back to the queue, filtered to it."""
        from .screens.queue import QueueScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, QueueScreen):
            self.pop_screen()
        queue = self.screen
        if isinstance(queue, QueueScreen):
            queue.show_customer(message.customer)

    # -- the clock and the change counter --------------------------------------------------------

    def tick(self) -> None:
        """One second passed (or a test says so): countdowns of every screen move on."""
        self.signals.clock_tick.publish(self.clock.now())

    def poll(self) -> bool:
        """Re-read the screens' data when another connection has committed; True if it had. When the feed of
        ticket changes says which tickets changed (store/changes.py), each screen is told which
        (``tickets_changed``: the queue touches only those); otherwise each reads its data again."""
        # the configuration file, each second (one stat): a customer's entry added or renamed there is taken at
        # once, even when no ticket changes with it (a ticket's policy may then change at the same version)
        followed = self.customer_entries.check() if self.desk is not None else None
        if followed == "customers":
            self.signals.config.publish(None)
        elif followed is not None:
            self.notify(followed, title="Configuration", severity="warning", timeout=15)
        return self.poll_changes() or followed == "customers"

    def poll_changes(self) -> bool:
        """Tell the screens what another connection committed since the last look; True if it had. Called by
        ``poll`` every second, and more often than that (``_watch_changes``): on SQLite every ``FEED_EVERY``
        seconds (a ``PRAGMA data_version`` on the watch's own connection, a few microseconds, and the feed read
        only when it moved), on PostgreSQL as soon as a notification arrives on the listening socket."""
        changes = self.change_watch.changes() if self.change_watch is not None else None
        if changes is None:
            return False
        latest = (
            self.change_watch.latest_escalation if self.change_watch is not None else None
        )  # (SQLite: read with the feed)
        nothing_new = (latest is not None and self.last_escalation is not None and latest <= self.last_escalation) or (
            self.change_watch is not None and self.change_watch.escalated is False and not self._escalation_unseen
        )  # (PostgreSQL: no notification said an escalation was raised since the last look)
        # the screens first: their reads go to the reader's thread before the look for new escalations
        self.signals.changes.publish(changes.tickets)
        if not nothing_new:
            if self.applying_rules:  # (this app's rules' are announced when they are done, if they fired any)
                self._escalation_unseen = True  # else the next change looks (PostgreSQL: its notification won't say)
            else:
                self._escalation_unseen = False
                self.announce_escalations()
        return True

    _escalation_unseen = False  # an escalation was notified while this app's rules ran, and not looked for yet

    @property
    def applying_rules(self) -> bool:
        """The automatic rules are being applied by this app (``apply_rules_in_background``)."""
        return any(w.group == "escalation-rules" and not w.is_finished for w in self.workers)

    SHOWN_ESCALATIONS = 3  # toasts at most per poll; the rest are counted in one more

    def announce_escalations(self) -> None:
        """Look for the escalations raised since the last look, in a thread (the desk is never read on the event
        loop: a server that stopped answering would freeze the keys), then toast them (``_announce``). Asked again
        while looking, it looks once more afterwards."""
        if self.desk is None or self.last_escalation is None:
            return
        if self._announcing:
            self._announce_again = True
            return
        self._announcing = True
        # in the reader's thread, after the screens' reads of the same change (reader.py: no worker per change)
        self.reader.submit(self._look_for_escalations, self._found_escalations)

    def _found_escalations(self, found: tuple[int | None, list]) -> None:
        self._announce(*found)

    def _look_for_escalations(self) -> tuple[int | None, list[tuple[Escalation, str]]]:
        from ..store.queue import escalations_after, latest_escalation_id

        desk, last = self.desk, self.last_escalation
        latest: int | None = None
        rows: list[tuple[Escalation, str]] = []
        try:
            if desk is not None and last is not None:
                latest = latest_escalation_id(desk.store)
                if latest > last:
                    rows = escalations_after(desk.store, last, limit=100)
        except Exception:  # noqa: BLE001 - a busy or lost database: look again at the next change
            latest, rows = None, []
        return latest, rows

    def _announce(self, latest: int | None, rows: list) -> int:
        """Toasts for the escalations found, and one bell; returns how many were news.

        Not news: those this agent raised by hand (the same user, no rule). A rule's escalation is news
        even when this app applied the rule. What one rule raised to one target is one toast ("7 tickets
        escalated by 'resolution.at 75%' → duty-manager"), the rule named by its ``name`` or its ``when``,
        never by its key. Costs one ``max(id)`` read; the new rows are read only when there are some.
        """
        self._announcing = False
        news = self._toast_escalations(latest, rows)
        if self._announce_again:
            self._announce_again = False
            self.announce_escalations()
        return news

    def _toast_escalations(self, latest: int | None, rows: list) -> int:
        from ..fmt import one_line

        desk, last = self.desk, self.last_escalation
        if desk is None or last is None or latest is None or latest <= last:
            return 0
        rows = [(e, subject) for e, subject in rows if e.id > last]  # (not those a look in between has shown)
        self.last_escalation = max([latest, *(e.id for e, _ in rows)])
        news = [(e, subject) for e, subject in rows if not (e.created_by == desk.user and e.rule is None)]
        if not news:
            return 0
        batches: dict[tuple, list] = {}  # by (rule, target) for a rule's escalations, one each for the others
        for e, subject in news:
            batches.setdefault((e.rule, e.target) if e.rule else (None, e.id), []).append((e, subject))
        shown = list(batches.values())[: self.SHOWN_ESCALATIONS]
        for batch in shown:
            e, subject = batch[0]
            target = f"{one_line(e.target, 30)} ({one_line(e.level, 10)})"
            by = (
                f"rule '{one_line(desk.config.escalation.rule_label(e.rule), 40)}'"
                if e.rule
                else one_line(e.created_by, 30)
            )
            if len(batch) == 1:
                self.notify(
                    f"#{e.ticket_id} {one_line(subject, 40)} → {target} by {by}: {one_line(e.reason, 60)}",
                    title="New escalation",
                    severity="warning",
                    timeout=10,
                    markup=False,
                )
            else:
                ids = ", ".join(f"#{x.ticket_id}" for x, _ in batch[:6]) + (", …" if len(batch) > 6 else "")
                self.notify(
                    f"{len(batch)} tickets escalated by {by} → {target}: {ids}",
                    title="New escalations",
                    severity="warning",
                    timeout=10,
                    markup=False,
                )
        rest = sum(len(b) for b in list(batches.values())[self.SHOWN_ESCALATIONS :])
        if rest:
            self.notify(
                f"… and {rest} more (E lists them)",
                title="New escalations",
                severity="warning",
                timeout=10,
                markup=False,
            )
        if desk.config.escalation.bell:
            self.bell()
        return len(news)

    # SQLite: seconds between two peeks at the desk's change counter, in the presence thread (its own period too)
    FEED_EVERY = 0.25

    def _watch_changes(self) -> None:
        """Look for other agents' changes more often than the clock's second: the time a change takes to reach
        the screens is mostly the wait for the next look. SQLite: the presence thread, which wakes every
        ``FEED_EVERY`` seconds anyway, peeks at the desk's change counter (``changes.Peek``) and wakes the event
        loop (``poll_changes``) only when it moved: an event-loop timer waking four times a second to find
        nothing cost an idle app about 1 ms of CPU a second. PostgreSQL: the event loop wakes the app when the
        listening socket has something to read (a notification), and ``_rewatch`` follows the socket when the
        connection is made again."""
        watch = self.change_watch
        if watch is None:
            return
        if not watch.store.is_sqlite:
            self._rewatch()

    _watched_fd: int | None = None

    def _feed_due(self) -> None:
        if self.desk is not None and self.desk_problem is None:
            self.poll_changes()

    # PostgreSQL: seconds a first notification waits for the others before the app looks at them all at once
    NOTIFY_WINDOW = 0.25
    _gathering: asyncio.TimerHandle | None = None  # the pending look while notifications are gathered

    def _socket_readable(self) -> None:
        """A notification arrived: stop waking on the socket, and look at what arrived in ``NOTIFY_WINDOW`` seconds
        (``_gathered``). Every app of the desk hears each notification at the same instant: following each change
        alone, all of them and their server backends at once, cost three times the CPU of one look at a
        quarter-second's changes (issue 17); the look drains whatever arrived meanwhile, in one read of each."""
        import asyncio

        loop = asyncio.get_running_loop()
        if self._watched_fd is not None:
            loop.remove_reader(self._watched_fd)
            self._watched_fd = None
        if self._gathering is None:
            self._gathering = loop.call_later(self.NOTIFY_WINDOW, self._gathered)

    def _gathered(self) -> None:
        self._gathering = None
        if self.change_watch is not None and self.change_watch.trouble is None:
            self.poll_changes()
        self._rewatch()

    def _rewatch(self) -> None:
        """Wake on the listening socket, the one of the connection as it is now (None: lost; the clock's second
        tries to listen again); not while notifications are being gathered (``_socket_readable``)."""
        import asyncio

        fd = self.change_watch.fileno() if self.change_watch is not None else None
        if fd == self._watched_fd or self._gathering is not None:
            return
        loop = asyncio.get_running_loop()
        if self._watched_fd is not None:
            loop.remove_reader(self._watched_fd)
        self._watched_fd = None
        if fd is not None:
            loop.add_reader(fd, self._socket_readable)
            self._watched_fd = fd

    def _every_second(self) -> None:
        self.keygate.watchdog()
        if self._terminal_gone():
            self.exit()
            return
        self.check_desk()
        if self.change_watch is not None and self.change_watch.trouble:
            self._listen_again()  # reaching a lost server can take seconds: never on the event loop
        else:
            self.poll()
            if self.change_watch is not None and not self.change_watch.store.is_sqlite:
                self._rewatch()  # (PostgreSQL: the poll may have listened again, on a new connection)
        self.tick()

    # -- losing the desk ---------------------------------------------------------------------------

    def check_desk(self) -> str | None:
        """Notice within a second that the desk went away (its SQLite file deleted or replaced, its server
        unreachable) and came back. Meanwhile a notice stays on screen, every write is refused with that reason
        (``Store.write``; a lost server refuses by itself), and drafts are kept."""
        if self.desk is None:
            return None
        problem = self.desk.store.lost() or (self.change_watch.trouble if self.change_watch is not None else None)
        if problem == self.desk_problem:
            return problem
        self.desk_problem = problem
        if self._problem_notice is not None:
            try:
                self._unnotify(self._problem_notice)
            except KeyError:  # dismissed already
                pass
            self._problem_notice = None
        if problem is not None:
            from textual.notifications import Notification, Notify

            notice = self._problem_notice = Notification(
                f"{problem} — retrying. Changes are refused until it is back; drafts are kept.",
                title="Desk unreachable",
                severity="error",
                timeout=24 * 3600,
                markup=False,
            )
            self.post_message(Notify(notice))
        else:
            self.notify("The desk answers again.", title="Desk back", timeout=5)
        return problem

    def _listen_again(self) -> None:
        if not self._listening_again:
            self._listening_again = True
            self.run_worker(self._reach_server, thread=True, group="listen-again", exit_on_error=False)

    def _reach_server(self) -> None:
        try:
            back = self.change_watch is not None and self.change_watch.changed() and self.change_watch.trouble is None
        finally:
            self._listening_again = False
        if back:
            self.call_from_thread(self._server_back)

    def _server_back(self) -> None:
        self.check_desk()
        self._rewatch()  # the new listening connection's socket
        self.signals.changes.publish(None)  # whatever changed while nobody listened is unknown: reload

    # -- presence: who else has which ticket open -------------------------------------------------

    def _screen_changed(self, _screen=None) -> None:
        """What this agent has open now: the ticket of the topmost ticket screen, and whether a reply or a note
        is being typed over it; the presence thread publishes it at once. Keys typed meanwhile wait for the
        screen on top to settle (keygate.py)."""
        self.keygate.screen_changed()
        ticket, activity = None, "viewing"
        for screen in reversed(self.screen_stack):
            kind = getattr(screen, "kind", None) if type(screen).__name__ == "EditorDialog" else None
            if kind is not None and activity == "viewing":
                activity = "replying" if kind == "reply" else "noting"
            ticket = getattr(screen, "ticket_id", None) if type(screen).__name__ == "DetailScreen" else None
            if ticket is not None:
                break
        state = (ticket, activity if ticket is not None else "viewing")
        if state != self.presence_state:
            self.presence_state = state
            self._presence_wake.set()

    def _presence_loop(self, loop: asyncio.AbstractEventLoop, context: contextvars.Context) -> None:
        """The presence thread (store/presence.py ``Keeper``): this app's state out, the others' in, every
        ``FEED_EVERY`` seconds; the screens hear only of a difference. On SQLite it also peeks at the desk's change
        counter and, when it moved, has the event loop look at the feed (``_watch_changes``), with or without a
        presence to keep."""
        import os
        import socket
        import time

        from ..store.changes import Peek
        from ..store.presence import Keeper, open_presence

        desk = self.desk
        if desk is None:
            return
        presence = open_presence(desk.store)
        keeper = (
            Keeper(presence, f"{socket.gethostname()}:{os.getpid()}:{id(self):x}", desk.user)
            if presence is not None
            else None
        )
        peek: Peek | None = None
        if desk.store.is_sqlite:
            try:
                peek = Peek(desk.store)
            except Exception:  # noqa: BLE001 - the clock's second still polls; the desk's trouble is said there
                peek = None
        if keeper is None and peek is None:
            return
        try:
            while self._presence_running:
                if self.desk_problem is None:
                    if peek is not None and peek.moved():
                        try:
                            loop.call_soon_threadsafe(self._feed_due, context=context)
                        except RuntimeError:  # the loop is closed: the app has ended
                            return
                    seen = keeper.step(self.presence_state, time.time()) if keeper is not None else None
                    if seen is not None and self._presence_running:
                        self.post_message(OthersOpen(seen))  # thread-safe, and never waits
                self._presence_wake.wait(self.FEED_EVERY)
                self._presence_wake.clear()
        finally:
            if keeper is not None:
                keeper.leave()
            if peek is not None:
                peek.close()

    def on_others_open(self, message: OthersOpen) -> None:
        seen = message.seen
        self.others_open = seen
        self.signals.presence.publish(seen)

    def _handle_exception(self, error: Exception) -> None:
        """A database that fails under the app (a server restarted, a file gone, a disk full) is a notice
        and the app goes on, with its drafts; anything else is a crash (non-zero exit)."""
        from textual.worker import WorkerFailed

        cause = error.error if isinstance(error, WorkerFailed) else error
        if self.desk is not None:
            from ..store.engine import explain_failure

            explained = explain_failure(cause, self.db)
            if explained is not None:
                self.notify(str(explained), title="The desk did not answer", severity="error", timeout=15)
                self.check_desk()
                return
        super()._handle_exception(error)

    _presence_running = False

    def _stop_presence(self) -> None:
        self._presence_running = False
        self._presence_wake.set()

    def _reader_failed(self, error: BaseException) -> None:
        """A live refresh's read failed (reader.py): as a failed worker's error."""
        if isinstance(error, Exception):
            self._handle_exception(error)
        else:
            raise error

    def on_unmount(self) -> None:
        self._stop_presence()
        self.reader.close()
        if self._gathering is not None:
            self._gathering.cancel()
            self._gathering = None
        if self._watched_fd is not None:
            import asyncio

            asyncio.get_running_loop().remove_reader(self._watched_fd)
            self._watched_fd = None
        if self.drafts is not None:
            self.drafts.close()  # what was typed in the last moments is written now
        self.gc_policy.stop()  # what was frozen is collectable again (an app that runs in a longer process: tests)
        if self.change_watch is not None:
            self.change_watch.close()
        if self.desk is not None:
            self.desk.store.dispose()
