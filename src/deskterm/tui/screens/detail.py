"""The ticket-detail screen: who, what, the SLA countdowns, the whole history, and every agent action.

No change is made blind: every dialog, and every reply or note draft, keeps the version of the ticket it was
opened (begun) on (``stale.Seen``), and its change goes through ``Desk`` with that version
(``expect_version``). When another agent changed the ticket meanwhile the service refuses with ``Conflict``:
the screen reloads and ``StaleDialog`` shows what changed since (who, what), for the agent to apply anyway,
re-open the dialog on the new state, or cancel; unsent text is kept. ``data_changed`` (the app noticed a
commit elsewhere) reloads the ticket if its version moved, and a major incident if its linked tickets
changed; ``tickets_changed`` (the feed named the tickets changed) reads only when this ticket or one linked to
it is among them. The desk is read and written in worker threads, never on the event loop. ``clock_tick`` moves the
countdowns on from the last evaluation (``live_timer``), without replaying the history each second.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker

from ...domain import workflow
from ...domain.calendar import epoch
from ...domain.priority import CLASSIFICATIONS, TYPES, matrix_note
from ...errors import BadInput, Conflict, Refused
from ...fmt import SUBJECT_SHOWN, hours_minutes, local, one_line
from ...why import why_lines
from ..keys import KeysFooter
from ..pending import refusal, run_write
from ..widgets.countdown import Countdown, live_timer
from ..widgets.line import show_text
from ..widgets.timeline import Timeline, describe
from .base import DeskScreen
from .detail_modals import (
    AssignDialog,
    BroadcastDialog,
    CategoryDialog,
    CloseDialog,
    EditorDialog,
    LinkDialog,
    PriorityDialog,
    ResolveDialog,
    TimeDialog,
    TypeDialog,
    WhyDialog,
)
from .modals import ChoiceScreen
from .stale import APPLY, REOPEN, Seen, StaleDialog

if TYPE_CHECKING:
    from ...domain.sla import Policy, TicketSla
    from ...records import TicketRecord
    from ...service import Desk, WorkSummary

SHORT = "%a %d %b %H:%M"


def in_background(method):
    """An async handler of the ticket screen (a key's action, a dialog's callback) run as a worker of the screen: the
    key's handler returns at once, so the app keeps answering keys while the change waits for the desk (Textual awaits
    an action in the app's own message loop, a dialog's callback in the screen's)."""

    @functools.wraps(method)
    def start(self, *args) -> None:
        self._later(method(self, *args))

    return start


def _local_epoch(t: int | None, zone: ZoneInfo, fmt: str = "%a %Y-%m-%d %H:%M") -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(t, UTC).astimezone(zone).strftime(fmt)


class DetailScreen(DeskScreen):
    """One ticket; ``DetailScreen(ticket_id)``. esc goes back to the queue."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="detail.back"),
        Binding("r", "reply", "Reply", id="detail.reply"),
        Binding("n", "note", "Note", id="detail.note"),
        Binding("s", "status", "Status", id="detail.status"),
        Binding("x", "resolve", "Resolve", id="detail.resolve"),
        Binding("X", "close_ticket", "Close", id="detail.close"),
        Binding("p", "priority", "Priority", id="detail.priority"),
        Binding("t", "log_time", "Time", id="detail.time"),
        Binding("T", "type", "Type", id="detail.type"),
        Binding("C", "category", "Category", show=False, id="detail.category"),
        Binding("c", "claim", "Claim", id="detail.claim"),
        Binding("a", "assign", "Assign", id="detail.assign"),
        Binding("l", "link", "Link", id="detail.link"),
        Binding("b", "broadcast", "Broadcast", id="detail.broadcast"),
        Binding("e", "escalate", "Escalate", id="detail.escalate"),
        Binding("m", "canned", "Canned", id="detail.canned"),
        Binding("A", "same_caller", "New ticket, same caller", show=False, id="detail.same_caller"),
        Binding("i", "customer_panel", "Customer", show=False, id="detail.customer"),
        Binding("w", "why", "Why due", id="detail.why"),
        Binding("R", "retry_mail", "Retry mail", show=False, id="detail.retry_mail"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="detail.reload"),
        Binding("question_mark", "keys", "Keys", id="detail.keys"),
    ]

    def __init__(self, ticket_id: int) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.record: TicketRecord | None = None  # the ticket as shown (None until it is read)
        self.linked: list = []
        self.work: WorkSummary | None = (
            None  # the service manager's side (Desk.work_summary): contract, time, change request
        )
        self.drafts: dict[str, str] = {"reply": "", "note": ""}
        # what each draft saw of the ticket when it began (None: no draft); sent with that version
        self.draft_seen: dict[str, Seen | None] = {"reply": None, "note": None}
        self._open_lines: list[tuple[str, str]] = []  # (kind, target) of its open escalations, as read
        self._sla: TicketSla | None = None
        self._policy: Policy | None = None
        self._evaluated_at = 0
        self._timer_names: tuple[str, ...] = ()
        self._countdowns: dict[str, Countdown] = {}  # the timers' widgets, by name (the clock sets them each second)
        self._key_waits: list = []  # keys wait for the changes under way (see _later)
        self._changing = 0  # changes of this screen under way (written, then shown)
        self._missed = False  # the desk changed meanwhile
        self._sending: set[str] = set()  # the drafts being sent ("reply", "note")
        self.news: list[str] = []  # what was said of others' changes of the ticket, oldest first (tests read it)
        self._news_timer: Timer | None = None  # hides the line that says the last one

    # -- layout and loading ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="detail-head")
        yield Static(id="detail-presence")
        yield Vertical(id="detail-timers")
        yield Static(id="detail-drafts")
        yield Static(id="detail-saving")
        yield Timeline(id="detail-timeline")
        yield Static(id="detail-news")
        yield KeysFooter()

    @property
    def desk(self) -> Desk | None:
        """The app's desk (None until the store is open)."""
        return self.app.desk

    @property
    def _desk(self) -> Desk:
        """The desk, where it is there by construction: reading or changing the ticket shown (the ticket is read
        once the desk is open)."""
        desk = self.app.desk
        assert desk is not None, "used before desk_ready"
        return desk

    @property
    def _ticket(self) -> TicketRecord:
        """The ticket as shown, where it is there by construction: an action on it, a dialog's answer, a change."""
        assert self.record is not None, "no ticket shown yet"
        return self.record

    def presence_changed(self, seen: dict[int, list[tuple[str, str]]]) -> None:
        """Who else has this ticket open, and who is typing on it: "bruno is viewing · chloe is replying"."""
        from ..presence import presence_line

        line = presence_line(seen.get(self.ticket_id, []), getattr(self.desk, "user", ""))
        found = self.query("#detail-presence")
        if not found:  # not composed yet: on_mount shows what the app knows then
            return
        widget = found.first(Static)
        widget.update(Text(line))
        widget.display = bool(line)

    _ticket_coming = None  # while the ticket is read the first time: keys typed meanwhile wait (keygate.py)

    def on_mount(self) -> None:
        if self.record is None:  # enter then r, typed at once: the r is for the ticket, once it is shown
            self._ticket_coming = self.app.keygate.expect()
        self.presence_changed(self.app.others_open)
        self.query_one(Timeline).focus()
        # (then DeskScreen's on_mount: desk_ready, if the store is open already)

    def desk_ready(self, desk: Desk) -> None:
        # read in a thread, as a worker (the screen's messages go on meanwhile)
        if self.record is None:
            self._read_again()

    async def _read_ticket(self) -> tuple:
        """The ticket and, for a ticket not linked to another, the tickets linked to it: read in a worker
        thread (the event loop never waits on the desk)."""
        desk, key = self._desk, self.ticket_id

        def read() -> tuple:
            view = desk.ticket_view(key)  # one transaction: the ticket, its work summary, escalations, links
            self._mail = desk.mail_lines(view.record.id) if desk.config.mail is not None else {}
            self.work = view.work
            # its open escalations' lines: `e` does not offer their targets again (escalate.escalation_targets)
            self._open_lines = view.open_lines
            return view.record, view.linked

        return await asyncio.to_thread(read)

    def _read_failed(self, exc: Exception) -> str:
        """Why a read of the desk failed (busy, deleted, unreachable: the app says so too); other errors are bugs
        and raised."""
        message = refusal(exc, getattr(self.app, "db", None))
        if message is None and type(exc).__module__.startswith("sqlalchemy."):  # the file deleted: "no such table"
            message = getattr(self.app, "desk_problem", None) or f"the desk cannot be read: {type(exc).__name__}"
        if message is None:
            raise exc
        return message

    def _later(self, work) -> None:
        """Run a coroutine of this screen (a change and its questions) as a worker: the dialog callbacks return
        at once, and the screen keeps handling messages while the desk is written.

        Keys typed meanwhile wait until the change is written and shown (keygate.py), or until it asks a
        question (``ask``): ``x`` typed right after a note's ``ctrl+s`` opens the resolve dialog on the ticket
        with the note, not on the version before it (which the dialog would then find changed, by the agent's
        own note). The gate lets them through after ``KeyGate.PATIENCE`` on a desk slow to answer."""
        done = self.app.keygate.expect()
        self._key_waits.append(done)

        async def run() -> None:
            try:
                await work
            finally:
                done()
                if done in self._key_waits:
                    self._key_waits.remove(done)

        self.run_worker(run(), group="detail-act")

    def _keys_may_pass(self) -> None:
        """A change asks a question: the keys typed from now on are for its dialog."""
        waits, self._key_waits = self._key_waits, []
        for done in waits:
            done()

    async def reload(self, follow: bool = False) -> None:
        """Read the ticket again and show it (drafts are kept); ``follow``: the timeline goes to the newest
        event (this agent's own change), wherever it was scrolled."""
        if self.desk is None:
            return
        try:
            record, linked = await self._read_ticket()
        except (BadInput, Refused) as exc:  # deleted meanwhile, or never existed
            self.say(str(exc), title="Cannot show the ticket", severity="error")
            if self.record is None and self.is_current:
                self.app.pop_screen()
            return
        except Exception as exc:  # noqa: BLE001 - the desk busy or gone: said, the screen stays as it was
            self.say(self._read_failed(exc), title="Cannot show the ticket", severity="error")
            return
        await self._show(record, linked, follow)

    async def _show(self, record: TicketRecord, linked: list, follow: bool = False) -> None:
        desk = self._desk
        self.record = record
        self._restore_drafts()
        self.linked = linked
        now = desk.clock.now()
        self._sla = desk.sla(record, at=now)
        self._policy = desk.config.policy_for(record.customer)
        self._evaluated_at = epoch(now)
        zone = desk.config.tz
        self._put_text("#detail-head", self._head_text(record, zone))
        await self._show_timers(zone)
        self._show_drafts()
        await self.query_one(Timeline).show(
            record.created_at,
            record.created_by,
            record.description,
            record.events,
            zone,
            keep_position=not follow,
            initial_priority=record.initial_priority,
            mail=getattr(self, "_mail", None),
        )
        self.clock_tick(now)
        self._ticket_shown()

    def on_resize(self) -> None:
        """The head's fields are laid out for the width: a resized terminal lays them out again."""
        if self.record is not None and self._policy is not None and self.query("#detail-head"):
            self._put_text("#detail-head", self._head_text(self.record, self._desk.config.tz))

    def _ticket_shown(self) -> None:
        coming = self._ticket_coming
        if coming is not None:
            self._ticket_coming = None
            coming()

    def on_unmount(self) -> None:
        self._ticket_shown()
        self._keys_may_pass()

    def _head_text(self, r, zone: ZoneInfo) -> Text:
        cfg = self._desk.config
        t = Text()
        t.append(f"#{r.id}", style="bold")
        if r.ref:
            t.append(f"  {one_line(r.ref)}")
        t.append(f"  {one_line(r.subject, SUBJECT_SHOWN)}", style="bold")  # a 1 MB subject: the rest is kept, not shown
        t.append(f"   v{r.version}\n", style="dim")
        t.append(one_line(r.customer), style="bold")
        policy = self._policy
        assert policy is not None  # (read with the ticket, before its head is drawn)
        t.append(f" · policy {one_line(policy.name)}")
        why = "this customer's" if r.customer in cfg.customers else "the default: no entry for this customer"
        t.append(f" ({why}; w explains)\n", style="dim")
        fields: list[list[tuple[str, str]]] = [
            [(r.type, "")],
            [((r.classification or "unclassified").replace("_", " "), "")],
        ]
        if r.category:
            fields.append([(one_line(r.category), "")])
        priority = [(r.priority, "bold")]
        matrix = matrix_note(r.priority, r.impact, r.urgency)
        if matrix is not None:
            priority.append((f" ({matrix})", ""))
        fields.append(priority)
        status = [(r.status, "bold")]
        if r.resolution_code:
            status.append((f" ({one_line(r.resolution_code)})", ""))
        fields.append(status)
        fields.append([(one_line(r.assignee) if r.assignee else "unassigned", "")])
        fields.append([(f"group {one_line(r.group)}", "")])
        if r.csat_score is not None:
            fields.append([(f"CSAT {r.csat_score}/5", "")])
        width = self.query_one("#detail-head").content_region.width or self.app.size.width - 2
        _append_fields(t, fields, max(40, width))
        work = self.work
        if work is not None and (work.contract or work.logged_seconds or work.approval or work.estimate_seconds):
            parts = [f"contract {one_line(work.contract.name, 30)}" if work.contract else "no contract in force"]
            if work.logged_seconds:
                parts.append(f"{hours_minutes(work.logged_seconds)} logged")
            if r.classification == "change_request" or work.approval:
                cr = f"change request {work.approval or 'not proposed'}"
                if work.approval_by and work.approval_at:
                    cr += f" ({one_line(work.approval_by, 16)} {local(work.approval_at, zone)})"
                parts.append(cr)
                if work.estimate_seconds:
                    parts.append(f"estimate {hours_minutes(work.estimate_seconds)}")
            t.append("\n" + " · ".join(parts), style="dim")
        if work is not None and work.problem_id is not None:
            t.append(f"\ncaused by problem #{work.problem_id}", style="dim")
        if work is not None and r.type == "problem" and (work.root_cause or work.incidents or work.workaround):
            bits = [f"{work.incidents} incident{'s' if work.incidents != 1 else ''} linked"]
            if work.root_cause:
                bits.append(f"root cause: {one_line(work.root_cause, 60)}")
            if work.workaround:
                bits.append(f"{'known error, ' if work.known_error else ''}workaround: {one_line(work.workaround, 50)}")
            if work.open_actions:
                bits.append(f"{work.open_actions} open action{'s' if work.open_actions != 1 else ''}")
            t.append("\n" + " · ".join(bits), style="dim")
        if r.major_id is not None:
            t.append(f"\nlinked to major incident #{r.major_id}", style="bold")
        elif self.linked:
            shown = ", ".join(f"#{x.id} {one_line(x.status)}" for x in self.linked[:8])
            more = f" … +{len(self.linked) - 8}" if len(self.linked) > 8 else ""
            t.append(f"\nmajor incident: {len(self.linked)} linked ({shown}{more})", style="bold")
        return t

    async def _show_timers(self, zone: ZoneInfo) -> None:
        box = self.query_one("#detail-timers", Vertical)
        sla = self._sla
        assert sla is not None  # (read with the ticket, before its timers are drawn)
        names = tuple(sla.timers)
        if names != self._timer_names:
            await box.remove_children()
            self._countdowns = {n: Countdown(id=f"detail-timer-{n}") for n in names}
            rows = [
                Horizontal(
                    self._countdowns[n],
                    Static(id=f"detail-due-{n}", classes="detail-due"),
                    classes="detail-timer",
                )
                for n in names
            ]
            await box.mount_all(rows)
            self._timer_names = names
        for name, timer in sla.timers.items():
            self._put_text(f"#detail-due-{name}", Text(self._due_text(timer, zone)))

    def _put_text(self, selector: str, text: Text) -> None:
        """A line of the head shows ``text`` (another agent's change mostly leaves it as it was)."""
        show_text(self.query_one(selector, Static), text)

    def _due_text(self, timer, zone: ZoneInfo) -> str:
        if timer.state == "paused":
            return "paused: no due time while waiting on the customer"
        when = _local_epoch(timer.due, zone, SHORT)
        if timer.state == "met":
            stopped = _local_epoch(timer.stopped_at, zone, SHORT)
            return f"met {stopped} (due {when})"
        if timer.state == "breached":
            return f"was due {when} {zone.key}"
        return f"due {when} {zone.key}"

    def _restore_drafts(self) -> None:
        """The drafts kept on disk for this ticket (an earlier run's, or this run's from before the screen was
        opened again) come back, unless one is being worked on here."""
        kept = getattr(self.app, "drafts", None)
        if kept is None:
            return
        for kind in self.drafts:
            if not self.drafts[kind].strip():
                self.drafts[kind] = kept.get(self.ticket_id, kind)
                begun = kept.begun(self.ticket_id, kind) if self.drafts[kind].strip() else None
                if begun is not None:  # the version the draft began on, kept with it
                    self.draft_seen[kind] = Seen(*begun)

    def begin_draft(self, kind: str, seen: Seen | None) -> None:
        """The ticket as the draft (now) begins on it; kept on disk with the draft's text."""
        self.draft_seen[kind] = seen
        kept = getattr(self.app, "drafts", None)
        if kept is not None and seen is not None:
            kept.begin(self.ticket_id, kind, seen.version, seen.last_event)

    def set_draft(self, kind: str, text: str) -> None:
        """The draft as it stands (also while typed): kept on disk until it is sent or discarded."""
        self.drafts[kind] = text
        kept = getattr(self.app, "drafts", None)
        if kept is not None:
            kept.put(self.ticket_id, kind, text)

    def _show_drafts(self) -> None:
        kept = [k for k, v in self.drafts.items() if v.strip()]
        box = self.query_one("#detail-drafts", Static)
        box.set_class(bool(kept), "-shown")
        show_text(box, Text(f"unsent draft: {', '.join(kept)} (r / n reopens it)" if kept else ""))

    # -- the clock and other connections ---------------------------------------------------------

    def clock_tick(self, now) -> None:
        sla, policy = self._sla, self._policy
        if sla is None or policy is None:  # (both read with the ticket)
            return
        t = epoch(now)
        for name, timer in sla.timers.items():
            widget = self._countdowns.get(name)
            if widget is not None:  # (mounted with the timers' rows; a query per timer each second cost more)
                widget.timer = live_timer(timer, policy.calendar, policy.warn_at, self._evaluated_at, t)

    # (typed Worker[None]: Textual's run_worker infers no result type from an async method by itself)
    def _read_again(self) -> Worker[None]:
        """Read the ticket in a worker (the screen's messages go on meanwhile); a newer read replaces one on its
        way."""
        return self.run_worker(self.reload, group="detail-load", exclusive=True)

    def _look_again(self) -> Worker[None]:
        """Another connection changed the ticket, maybe: read it, and show it if it moved (in a worker)."""
        return self.run_worker(self._reload_if_moved, group="detail-poll", exclusive=True)

    def config_changed(self) -> None:
        """The customer's entry may be another now (its policy), at the same version: read again."""
        if self.record is not None:
            self._read_again()

    def data_changed(self) -> None:
        # the agent's own change is on its way: its reload shows it (told "ticket changed by <self>" otherwise,
        # when the desk's notice of the change came before the write's answer)
        if self._changing:
            self._missed = True  # looked at once the change is shown: what others did meanwhile is told then
        elif self.record is not None:
            self._look_again()

    def tickets_changed(self, changed: frozenset[int]) -> None:
        """Another connection changed these tickets: read again only when this ticket is among them, or a ticket
        linked to it (a link names its major incident too, ``Desk._write``); any other change costs nothing."""
        if self._concerns(changed):
            self.data_changed()

    def _concerns(self, changed: frozenset[int]) -> bool:
        record = self.record
        if record is None:  # the first read is on its way: it shows what is committed by then
            return False
        return record.id in changed or any(t.id in changed for t in self.linked)

    async def _reload_if_moved(self) -> None:
        old, old_linked, old_mail = self.record, self.linked, getattr(self, "_mail", None)
        try:
            record, linked = await self._read_ticket()
        except Exception as exc:  # noqa: BLE001 - deleted, or the desk busy or gone: the next change tries again
            self._read_failed(exc)
            return
        if old is None:
            return
        moved = record.version != old.version
        links = _links_changed(old_linked, linked)  # another agent linked a ticket to this major incident
        if not moved and not links:
            if self._mail != old_mail:  # a reply's mail sent or failed (the sender does not move the version)
                await self._show(record, linked)
            return
        await self._show(record, linked)
        changes = [self.changes_since(old)] if moved else []
        if links:
            changes.append(links)
        self.tell_changed("; ".join(changes))

    NEWS_SECONDS = 8

    def tell_changed(self, message: str) -> None:
        """Another agent's change of the ticket shown: said for ``NEWS_SECONDS`` on a line of its own above the keys
        (the newest change; each is in the history too), or in a toast while a dialog covers the screen. Not a toast
        on the screen: a toast is a widget mounted, then removed, each laying the whole screen out (most of what a
        change of the ticket cost once the history was drawn as lines; at a change a second, eight toasts stacked
        and took the history's lines). The line takes its room when it appears and gives it back when it goes; a
        change while it is there repaints it alone."""
        self.news.append(message)
        if not self.is_current:
            self.say(message, title="Ticket changed", timeout=self.NEWS_SECONDS)
            return
        line = self.query_one("#detail-news", Static)
        room = line.content_region.width or max(20, self.size.width - 4)
        text = Text(no_wrap=True, overflow="ellipsis")
        head = "Ticket changed"
        # "Ticket changed by bob: status open → pending" (the message says who: not "Ticket changed: ticket changed…")
        said = message[len(head) :] if message[:1].upper() + message[1 : len(head)] == head else f": {message}"
        text.append(head, style="bold")
        text.append(one_line(said, max(1, room - len(head))))
        show_text(line, text)
        line.set_class(True, "-shown")
        if self._news_timer is not None:
            self._news_timer.stop()
        self._news_timer = self.set_timer(self.NEWS_SECONDS, self._news_gone)

    def _news_gone(self) -> None:
        self._news_timer = None
        self.query_one("#detail-news", Static).set_class(False, "-shown")

    def changes_since(self, old: TicketRecord) -> str:
        """``ticket changed by bob: status open → pending`` for the events newer than ``old``."""
        seen = {e.id for e in old.events}
        now = self._ticket
        new = [e for e in now.events if e.id not in seen]
        if not new:
            return f"ticket changed (version {old.version} → {now.version})"
        by: dict[str, list[str]] = {}
        for e in new:
            by.setdefault(one_line(e.author), []).append(describe(e))
        return "; ".join(f"ticket changed by {who}: {', '.join(what)}" for who, what in by.items())

    # -- doing -----------------------------------------------------------------------------------
    # Every change runs in a thread (``change`` → ``pending.run_write``): while it waits for the desk (another
    # agent's long transaction holds the write lock) the line under the header says "⠹ saving claim #12…",
    # the keys that change the ticket are off, and the others (scrolling, w, esc) work.

    WRITERS = (
        "reply",
        "note",
        "canned",
        "status",
        "resolve",
        "close_ticket",
        "priority",
        "type",
        "log_time",
        "claim",
        "assign",
        "link",
        "broadcast",
        "escalate",
    )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("reply", "note"):
            # the editor of a draft being sent stays closed (it would offer the text again); the other opens:
            # ``n`` typed right after a reply's ctrl+s begins the note while the reply is written
            return None if action in self._sending else True
        if action in self.WRITERS and self.app.writes.busy(self):
            return None
        return True

    def writes_changed(self, keys: bool) -> None:
        if not self.is_mounted or not self.query("#detail-saving"):
            return
        line = self.app.writes.line(self) if self.app.writes.busy(self) else ""
        marker = self.query_one("#detail-saving", Static)
        marker.set_class(bool(line), "-shown")
        marker.update(Text(line))
        if keys:  # the footer dims them after the frame that says so
            self.call_after_refresh(self.refresh_bindings)

    async def change(
        self,
        what: str,
        seen: Seen | None,
        fn,
        done: str | Callable[[], str] | None = None,
        reopen=None,
        draft: str | None = None,
    ) -> bool:
        """Apply ``fn(expect_version)`` (a service call, run in a worker thread) to the ticket as ``seen`` (the
        dialog's or the draft's; None: as shown now). When the ticket changed since, nothing is written: the
        agent is shown what changed and chooses to apply anyway (with the new version, checked again),
        ``reopen()`` the dialog on the new state, or cancel. Reloads and says what happened (``done``, or what
        ``done()`` says of the ticket as reloaded); False when nothing was applied."""
        if self.record is None:
            return False
        seen = seen or Seen.of(self.record)
        self._changing += 1
        try:
            return await self._change(what, seen, fn, done, reopen, draft)
        finally:
            self._changing -= 1
            if not self._changing and self._missed:
                self._missed = False
                self.data_changed()

    async def _change(
        self, what: str, seen: Seen, fn, done: str | Callable[[], str] | None, reopen, draft: str | None
    ) -> bool:
        version = seen.version
        while True:
            try:
                new_version = await run_write(self, f"{what.lower()} #{self.ticket_id}", functools.partial(fn, version))
            except Conflict:
                await self.reload()
                choice = await self.ask(StaleDialog(what, seen, self.record, self._desk.config.tz, draft=draft))
                if choice == APPLY:
                    version = self._ticket.version
                    continue
                if choice == REOPEN and reopen is not None:
                    reopen()
                else:
                    kept = " The draft is kept." if draft and self.drafts.get(draft, "").strip() else ""
                    self.say(f"nothing changed.{kept}", title=f"{what}: cancelled", timeout=6)
                return False
            except Exception as exc:  # a refusal, the desk busy or gone: said; anything else raised
                message = refusal(exc, getattr(self.app, "db", None))
                if message is None:
                    raise
                self.say(message, title=f"{what}: refused", severity="warning", timeout=8)
                return False
            break
        await self.reload(follow=True)  # the agent sees what they just did
        if self.record is not None and isinstance(new_version, int) and self.record.version == new_version:
            # a draft that had seen everything up to this change has seen it too (it is this agent's own)
            for kind, begun in self.draft_seen.items():
                if begun is not None and begun.version == version:
                    self.begin_draft(kind, Seen.of(self.record))
        if done:
            self.say(done if isinstance(done, str) else done(), title=what)
        return True

    async def ask(self, dialog):
        """Push a dialog and wait for its answer (from a worker, or any task but this screen's own messages)."""
        answer = asyncio.get_running_loop().create_future()
        self._keys_may_pass()

        def answered(value: object) -> None:
            if not answer.done():
                answer.set_result(value)

        self.app.push_screen(dialog, answered)
        return await answer

    def refuse(self, what: str, why: str) -> None:
        """An action the ticket's state does not allow: said before any dialog opens."""
        self.say(why, title=f"{what}: not possible", severity="warning", timeout=8)

    def say(self, message: str, title: str = "", severity: str = "information", timeout: float | None = None) -> None:
        """A notification that is never read as markup (messages quote ticket text and names)."""
        self.notify(str(message), title=title, severity=severity, timeout=timeout, markup=False)  # type: ignore[arg-type]

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_keys(self) -> None:
        from ..keys import show_keys

        show_keys(self.app)

    @in_background
    async def action_reload(self) -> None:
        await self.reload()

    # reply and note ---------------------------------------------------------------------------

    def action_reply(self) -> None:
        self._edit("reply")

    def action_note(self) -> None:
        self._edit("note")

    def _edit(self, kind: str, seen: Seen | None = None) -> None:
        """Open the editor on the draft; a draft begins (its version is taken) when the editor opens on none."""
        if self.record is None:
            return
        if seen is not None or self.draft_seen.get(kind) is None or not self.drafts[kind].strip():
            self.begin_draft(kind, seen or Seen.of(self.record))
        title = (
            f"Reply to {one_line(self.record.customer)} (public)"
            if kind == "reply"
            else "Internal note (agents only, never sent to the customer)"
        )
        self.app.push_screen(
            EditorDialog(title, self.drafts[kind], kind=kind, on_change=lambda text: self.set_draft(kind, text)),
            lambda result: self._edited(kind, result),
        )

    def _edited(self, kind: str, result) -> None:
        if result is None:
            return
        action, text = result
        self.set_draft(kind, "" if action == "discard" else text)
        if action == "discard" and text.strip():
            self.say(f"the {kind} draft is discarded", title="Draft")
        if action == "send":
            self._later(self.send(kind))
        elif not self.drafts[kind].strip():  # emptied or discarded: no draft, nothing begun
            self.draft_seen[kind] = None
        self._show_drafts()

    async def send(self, kind: str) -> bool:
        """Send the draft with the version it began on (asking first when the ticket changed since)."""
        from ...service import Change

        text = self.drafts[kind]
        change = Change(reply=text) if kind == "reply" else Change(note=text)
        label = "Reply" if kind == "reply" else "Note"
        self._sending.add(kind)
        self.refresh_bindings()
        try:
            return await self._send(kind, change, label)
        finally:
            self._sending.discard(kind)
            self.refresh_bindings()

    async def _send(self, kind: str, change, label: str) -> bool:
        ok = await self.change(
            label,
            self.draft_seen.get(kind),
            lambda v: self._desk.update(self.ticket_id, change, expect_version=v),
            self._reply_sent if kind == "reply" else "internal note added",
            reopen=lambda: self._edit(kind, seen=Seen.of(self.record)),
            draft=kind,
        )
        if ok:
            self.set_draft(kind, "")
            self.draft_seen[kind] = None
        elif not self.drafts[kind].strip():
            self.draft_seen[kind] = None
        self._show_drafts()
        return ok

    def _reply_sent(self) -> str:
        """What became of the reply just sent, as the reloaded ticket says: its mail queued for the customer,
        or recorded only (no mail configured, or no address to write to). Never "sent": the sender sends."""
        if self._desk.config.mail is None:
            return "reply recorded (no mail is configured: nothing is mailed to the customer)"
        replies = [e for e in (self.record.events if self.record else []) if e.kind == "reply" and e.public]
        if replies and replies[-1].id in self._mail:
            return "reply recorded; its mail to the customer is queued"
        return "reply recorded; not mailed: the ticket has no customer address"

    def action_customer_panel(self) -> None:
        """``i``: the customer panel (contact, VIP, notes, its other open and last resolved tickets)."""
        if self.record is None:
            return
        from .customer_panel import show_customer_panel

        show_customer_panel(self, self.record.customer, self.record)

    def action_same_caller(self) -> None:
        """``A``: the new-ticket form with this ticket's customer and contact filled in (the same caller again)."""
        self.app.action_new_ticket(self.ticket_id)

    def action_canned(self) -> None:
        if self.record is None:
            return
        names = sorted(self._desk.config.canned)
        if not names:
            self.say('no canned responses configured ([canned.NAME] body = "…")', severity="warning")
            return
        self.app.push_screen(
            ChoiceScreen("Canned response (inserted into the reply for review)", names), self._canned_chosen
        )

    def _canned_chosen(self, name: str | None) -> None:
        if name:
            self.run_worker(self._insert_canned(name), group="detail-act")

    async def _insert_canned(self, name: str) -> None:
        """The response filled in (``{contact}`` reads the ticket's contact: in a thread), into the reply draft."""
        try:
            text = await asyncio.to_thread(self._desk.canned, name, self._ticket)
        except BadInput as exc:
            self.say(str(exc), severity="warning")
            return
        draft = self.drafts["reply"]
        self.set_draft("reply", (draft.rstrip("\n") + "\n\n" + text) if draft.strip() else text)
        self._edit("reply")

    # status, resolve, close -------------------------------------------------------------------

    def _may(self, what: str, target: str) -> bool:
        """Whether the workflow lets the ticket go to ``target``; if not, says why and what is allowed."""
        try:
            workflow.check_transition(self._ticket.status, target)
        except workflow.TransitionError as exc:
            hint = (
                " (x resolves it first)"
                if target == "closed" and "resolved" in workflow.TRANSITIONS[self._ticket.status]
                else ""
            )
            self.refuse(what, f"ticket {self._ticket.key}: {exc}{hint}")
            return False
        return True

    def action_status(self) -> None:
        if self.record is None:
            return
        allowed = workflow.TRANSITIONS[self.record.status]
        if not allowed:
            self.say(f"ticket {self.record.key} is {self.record.status}: it is final", severity="warning")
            return
        seen = Seen.of(self.record)
        self.app.push_screen(
            ChoiceScreen(f"Status: {self.record.status} →", list(allowed)),
            lambda status: self._status_chosen(status, seen),
        )

    def _status_chosen(self, status: str | None, seen: Seen | None = None) -> None:
        if not status:
            return
        if status == "resolved":
            self.action_resolve(seen=seen)
        elif status == "closed":
            self.action_close_ticket(seen=seen)
        else:
            self._later(self.set_status(status, seen))

    async def set_status(self, status: str, seen: Seen | None = None) -> bool:
        from ...service import Change

        return await self.change(
            "Status",
            seen,
            lambda v: self._desk.update(self.ticket_id, Change(status=status), expect_version=v),
            f"status → {status}",
            reopen=self.action_status,
        )

    def action_resolve(self, seen: Seen | None = None, preset: dict | None = None) -> None:
        if self.record is None or not self._may("Resolve", "resolved"):
            return
        seen = seen or Seen.of(self.record)
        reply = self.drafts["reply"]
        if reply.strip() and self.draft_seen["reply"] is not None and self.draft_seen["reply"].version < seen.version:
            seen = self.draft_seen["reply"]  # the dialog carries the reply draft: as old as it is
        if self.draft_seen["reply"] is None or not reply.strip():
            self.begin_draft("reply", seen)  # a reply typed here begins the reply draft
        preset = preset or {}
        self.app.push_screen(
            ResolveDialog(
                self._desk.config.resolution_codes,
                preset.get("reply") or reply,
                code=preset.get("code"),
                on_change=lambda text: self.set_draft("reply", text),
            ),
            lambda values: self._resolve_chosen(values, seen),
        )

    def _resolve_chosen(self, values: dict | None, seen: Seen | None = None) -> None:
        if values is None:
            return
        self._later(self.resolve(values["code"], values["reply"], seen=seen))

    async def resolve(self, code: str | None, reply: str | None = None, seen: Seen | None = None) -> bool:
        if not code:
            self.say("resolve: a resolution code is required", title="Resolve: refused", severity="warning")
            return False
        ok = await self.change(
            "Resolve",
            seen,
            lambda v: self._desk.resolve(self.ticket_id, code, reply=reply, expect_version=v),
            f"resolved ({code})",
            reopen=lambda: self.action_resolve(preset={"code": code, "reply": reply}),
            draft="reply" if reply else None,
        )
        if ok and reply:
            self.set_draft("reply", "")
            self.draft_seen["reply"] = None
            self._show_drafts()
        return ok

    def action_close_ticket(self, seen: Seen | None = None, preset: dict | None = None) -> None:
        if self.record is None or not self._may("Close", "closed"):
            return
        seen = seen or Seen.of(self.record)
        self.app.push_screen(CloseDialog(**(preset or {})), lambda values: self._close_chosen(values, seen))

    def _close_chosen(self, values: dict | None, seen: Seen | None = None) -> None:
        if values is None:
            return
        self._later(self.close(values["csat"], values["comment"], seen))

    async def close(self, csat: int | None, comment: str | None, seen: Seen | None = None) -> bool:
        return await self.change(
            "Close",
            seen,
            lambda v: self._desk.close(self.ticket_id, csat=csat, comment=comment, expect_version=v),
            "closed" + (f" (CSAT {csat}/5)" if csat else ""),
            reopen=lambda: self.action_close_ticket(preset={"csat": csat, "comment": comment}),
        )

    # priority, type, assignment ----------------------------------------------------------------

    def action_priority(self, preset: dict | None = None) -> None:
        if self.record is None:
            return
        r = self.record
        seen = Seen.of(r)
        self.app.push_screen(
            PriorityDialog(r.priority, r.impact, r.urgency, reason=(preset or {}).get("reason")),
            lambda values: self._priority_chosen(values, seen),
        )

    def _priority_chosen(self, values: dict | None, seen: Seen | None = None) -> None:
        if values is None:
            return
        from ...service import Change

        change = Change(**values)
        self._later(
            self.change(
                "Priority",
                seen,
                lambda v: self._desk.update(self.ticket_id, change, expect_version=v),
                "priority changed",
                reopen=lambda: self.action_priority(preset=values),
            )
        )

    def action_type(self) -> None:
        if self.record is None:
            return
        r = self.record
        seen = Seen.of(r)
        self.app.push_screen(
            TypeDialog(TYPES, r.type, CLASSIFICATIONS, r.classification),
            lambda values: self._type_chosen(values, r, seen),
        )

    def _type_chosen(self, values: dict | None, shown=None, seen: Seen | None = None) -> None:
        if values is None:
            return
        from ...service import Change

        r = shown or self._ticket  # what the dialog showed: only what the agent changed there is applied
        change = Change(
            type=values["type"] if values["type"] != r.type else None,
            classification=values["classification"] if values["classification"] != r.classification else None,
        )
        if change.is_empty():
            self.say("nothing changed", severity="information")
            return
        self._later(
            self.change(
                "Type",
                seen,
                lambda v: self._desk.update(self.ticket_id, change, expect_version=v),
                "type/classification changed",
                reopen=self.action_type,
            )
        )

    @in_background
    async def action_retry_mail(self) -> None:
        """R: send the ticket's failed messages again (queued now for the mail sender)."""
        if self.record is None or self.desk is None:
            return
        desk, key = self.desk, self.ticket_id
        try:
            n = await asyncio.to_thread(desk.mail_retry, key)
        except (BadInput, Refused) as exc:
            self.say(str(exc), title="Retry mail", severity="warning")
            return
        except Exception as exc:  # noqa: BLE001 - the desk busy or gone: said, nothing changed
            self.say(self._read_failed(exc), title="Retry mail", severity="error")
            return
        self.say(f"{n} message{'s' if n != 1 else ''} queued again", title="Retry mail")
        await self.reload()

    def action_category(self) -> None:
        if self.record is None:
            return
        r = self.record
        seen = Seen.of(r)
        if not self._desk.config.taxonomy:
            self.refuse("Category", "no categories are configured: add a [categories] table to the configuration")
            return
        self.app.push_screen(
            CategoryDialog(r.category, self._desk.config.taxonomy.paths()),
            lambda values: self._category_chosen(values, seen),
        )

    def _category_chosen(self, values: dict | None, seen: Seen | None = None) -> None:
        if values is None:
            return
        from ...service import Change

        typed = values["category"].strip()
        if not typed:
            self.say("no category typed: nothing changed", severity="information")
            return
        change = Change(category=typed)
        self._later(
            self.change(
                "Category",
                seen,
                lambda v: self._desk.update(self.ticket_id, change, expect_version=v),
                "category set",
                reopen=self.action_category,
            )
        )

    def action_log_time(self, preset: dict | None = None) -> None:
        if self.record is None:
            return
        seen = Seen.of(self.record)
        self.app.push_screen(TimeDialog(preset), lambda values: self._time_chosen(values, seen))

    def _time_chosen(self, values: dict | None, seen: Seen | None = None) -> None:
        if values is None:
            return
        seconds, note = values["seconds"], values["note"]
        self._later(
            self.change(
                "Time",
                seen,
                lambda v: self._desk.log_time(self.ticket_id, seconds, note, expect_version=v),
                f"{hours_minutes(seconds)} logged",
                reopen=lambda: self.action_log_time(preset={"duration": hours_minutes(seconds), "note": note}),
            )
        )

    def action_claim(self) -> None:
        if self.record is None:
            return
        # no question here: the claim checks inside its transaction that nobody has the ticket
        self._later(
            self.change(
                "Claim", None, lambda v: self._desk.claim(self.ticket_id, expect_version=v), "the ticket is yours"
            )
        )

    def known_names(self) -> tuple[list[str], list[str]]:
        """Agents and groups for completion: those the desk has seen, and the configured groups."""
        agents, groups = self._desk.names_seen()
        groups.update(self._desk.config.escalation.groups)
        for e in self._ticket.events:
            if e.kind == "assign" and e.to:
                agents.add(e.to)
            elif e.kind == "reply" and e.author != "customer":
                agents.add(e.author)
            elif e.kind in ("group", "escalate") and e.to:
                groups.add(e.to)
        return sorted(agents), sorted(groups)

    def action_assign(self) -> None:
        if self.record is None:
            return
        # the dialog comes after a read: what is typed meanwhile waits for it (keygate.py)
        self._later(self._open_assign(self.record, self.app.keygate.expect()))

    async def _open_assign(self, r, pushed) -> None:
        try:
            seen = Seen.of(r)
            agents, groups = await asyncio.to_thread(self.known_names)
            self.app.push_screen(
                AssignDialog(r.assignee, r.group, agents, groups), lambda values: self._assign_chosen(values, r, seen)
            )
        finally:
            pushed()

    def _assign_chosen(self, values: dict | None, shown=None, seen: Seen | None = None) -> None:
        if values is None:
            return
        from ...service import UNASSIGN, Change

        r = shown or self._ticket
        agent, group = values["assign"], values["group"]
        same_agent = (agent.lower() in UNASSIGN and r.assignee is None) or agent == (r.assignee or "")
        change = Change(assign=None if same_agent else agent, group=None if (not group or group == r.group) else group)
        if change.is_empty():
            self.say("nothing changed", severity="information")
            return
        self._later(
            self.change(
                "Assign",
                seen,
                lambda v: self._desk.update(self.ticket_id, change, expect_version=v),
                "assignment changed",
                reopen=self.action_assign,
            )
        )

    # major incidents ---------------------------------------------------------------------------

    def action_link(self) -> None:
        if self.record is None:
            return
        if self.linked:
            n = len(self.linked)
            self.refuse(
                "Link",
                f"ticket {self.record.key} is a major incident with {n} linked ticket{'s' if n != 1 else ''}: "
                "it cannot itself be linked to another",
            )
            return
        self._later(self._open_link(self.record, self.app.keygate.expect()))

    async def _open_link(self, r, pushed) -> None:
        """The open major incidents first (a list), or any other ticket by id or ref."""
        try:
            seen = Seen.of(r)
            majors = [(t, n) for t, n in await asyncio.to_thread(self._desk.open_majors) if t.id != r.id]
            self.app.push_screen(LinkDialog(r.major_id, majors), lambda values: self._link_chosen(values, seen))
        finally:
            pushed()

    def _link_chosen(self, values: dict | None, seen: Seen | None = None) -> None:
        if values is None:
            return
        major = values["major"]
        if major is not None and major.lstrip("#").isdigit():
            major = int(major.lstrip("#"))
        self._later(
            self.change(
                "Link",
                seen,
                lambda v: self._desk.link(self.ticket_id, major, expect_version=v),
                f"linked to #{major}" if major is not None else "unlinked",
                reopen=self.action_link,
            )
        )

    def action_broadcast(self, again: dict | None = None) -> None:
        """``again``: what was typed in a dialog whose tickets changed before it was applied (it opens again
        with it, on the tickets as they are now)."""
        if self.record is None:
            return
        if not self.linked:
            self.say("not a major incident: no ticket is linked to this one (link them with l)", severity="warning")
            return
        # the tickets shown when the dialog opened, at their versions: nothing is applied if the set changed since
        seen = {self.record.id: self.record.version, **{t.id: t.version for t in self.linked}}
        self.app.push_screen(
            BroadcastDialog(self._desk.config.resolution_codes, len(self.linked), again),
            lambda values: None if values is None else self._later(self._broadcast(values, seen)),
        )

    async def _broadcast(self, values: dict, seen: dict[int, int]) -> None:
        try:
            changed = await run_write(
                self,
                f"broadcast #{self.ticket_id}",
                lambda: self._desk.broadcast(
                    self.ticket_id, reply=values["reply"], resolve_code=values["resolve_code"], seen=seen
                ),
            )
        except Exception as exc:  # a refusal, the desk busy or gone: said; anything else raised
            message = refusal(exc, getattr(self.app, "db", None))
            if message is None:
                raise
            self.say(message, title="Broadcast: refused", severity="warning", timeout=10)
            if isinstance(exc, Conflict):  # the reply typed is not lost: the dialog again, on the tickets as now
                await self.reload(follow=True)
                if self.is_current:
                    self.action_broadcast(again=values)
            return
        await self.reload(follow=True)
        self.say(f"applied to {len(changed)} ticket{'s' if len(changed) != 1 else ''}", title="Broadcast")

    # escalation --------------------------------------------------------------------------------

    def action_escalate(self, again: tuple[str, str, str] | None = None) -> None:
        """A group above L1 (functional: the ticket moves there) or a manager (hierarchical), with a reason;
        ``again``: what was given before the ticket changed under the dialog (it opens again with it)."""
        from ...domain.escalation import why_not_escalate
        from .escalate import ask_escalation

        if self.record is None:
            return
        why = why_not_escalate(self.record.status)
        if why is not None:  # said before the dialog, not after the agent filled it in
            self.say(f"#{self.record.id}: {why}", title="Escalate: refused", severity="warning", timeout=8)
            return
        seen = Seen.of(self.record)
        ask_escalation(
            self.app,
            self._desk.config,
            f"#{self.record.id}",
            lambda kind, to, reason: self._later(self.escalate(kind, to, reason, seen)),
            open_lines=self._open_lines,
            again=again,
        )

    async def escalate(self, kind: str, to: str, reason: str, seen: Seen | None = None) -> bool:
        """Escalate with the version the dialog was opened on; refusals and changes are shown like the others."""
        what = "escalation to a manager" if kind == "hierarchical" else "moved to the group"
        return await self.change(
            "Escalate",
            seen,
            lambda v: self._desk.escalate(self.ticket_id, kind, to, reason, expect_version=v),
            f"escalated to {to} ({what})",
            reopen=lambda: self.action_escalate(again=(kind, to, reason)),  # the reason typed is not lost
        )

    # why is it due then? -----------------------------------------------------------------------

    def action_why(self) -> None:
        if self.record is None:
            return
        self.app.push_screen(WhyDialog(self.explanation()))

    def explanation(self) -> Text:
        """The reasoning behind every timer (``why.why_lines``, as ``deskterm show --why`` prints it)."""
        desk, r = self._desk, self._ticket
        now = desk.clock.now()
        policy = desk.config.policy_for(r.customer)
        lines = why_lines(
            desk.sla(r, at=now), policy, desk.config.policy_reason(r.customer), r.priority, desk.config.tz, now
        )
        out = Text()
        out.append("Why is it due then?", style="bold")
        out.append("  (esc closes)\n", style="dim")
        styles = {"": "", "bold": "bold", "heading": "bold underline"}
        for line in lines:
            for text, style in line:
                out.append(text, style=styles[style])
            out.append("\n")
        return out


def _append_fields(t: Text, fields: list[list[tuple[str, str]]], width: int) -> None:
    """``a · b · c`` on as many lines as ``width`` needs, broken between fields, never inside one (at 80
    columns a status and its resolution code were cut in two)."""
    column = 0
    for i, field in enumerate(fields):
        size = sum(len(text) for text, _ in field)
        last = i == len(fields) - 1
        if i:
            if column + 3 + size + (0 if last else 2) > width:  # (2: the " ·" that may end the line)
                t.append(" ·\n")
                column = 0
            else:
                t.append(" · ")
                column += 3
        for text, style in field:
            t.append(text, style=style or None)
        column += size


def _links_changed(old: list, new: list) -> str:
    """``linked tickets: +#12, -#9, #7 resolved`` when a major incident's linked tickets changed, else ""."""
    before, after = {t.id: t.status for t in old}, {t.id: t.status for t in new}
    if before == after:
        return ""
    parts = [f"+#{i}" for i in after if i not in before] + [f"-#{i}" for i in before if i not in after]
    parts += [f"#{i} {one_line(after[i])}" for i in after if i in before and before[i] != after[i]]
    return "linked tickets: " + ", ".join(parts)
