"""The ticket-detail screen: who, what, the SLA countdowns, the whole history, and every agent action.

Every change goes through ``Desk`` with the version this screen loaded (``expect_version``). When
another agent (another connection) changed the ticket first, the service refuses with ``Conflict``:
the screen reloads, says what changed and by whom, and keeps the agent's unsent text so that it can be
reviewed and sent again. ``data_changed`` (the app noticed a commit elsewhere) reloads the ticket if its
version moved. ``clock_tick`` moves the countdowns on from the last evaluation (``live_timer``), without
replaying the history each second.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from ...domain import workflow
from ...domain.calendar import epoch
from ...domain.explain import explain
from ...domain.priority import TYPES
from ...domain.sla import TIMER_LABELS
from ...errors import BadInput, Conflict, Refused
from ...fmt import SUBJECT_SHOWN, compact, exact, local, one_line
from ..keys import KeysFooter
from ..pending import refusal, run_write
from ..widgets.countdown import Countdown, live_timer
from ..widgets.timeline import Timeline, describe
from .detail_modals import (
    AssignDialog,
    BroadcastDialog,
    CloseDialog,
    EditorDialog,
    LinkDialog,
    PriorityDialog,
    ResolveDialog,
    TypeDialog,
    WhyDialog,
)
from .modals import ChoiceScreen

CLASSIFICATIONS = ("defect", "change_request")
SHORT = "%a %d %b %H:%M"


def in_background(method):
    """An async handler of the ticket screen (a key's action, a dialog's callback) run as a worker of the screen: the
    key's handler returns at once, so the app keeps answering keys while the change waits for the desk (Textual awaits
    an action in the app's own message loop, a dialog's callback in the screen's)."""
    @functools.wraps(method)
    def start(self, *args) -> None:
        self.run_worker(method(self, *args), group="detail-act")

    return start


def _local_epoch(t: int | None, zone: ZoneInfo, fmt: str = "%a %Y-%m-%d %H:%M") -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(t, UTC).astimezone(zone).strftime(fmt)


class DetailScreen(Screen):
    """One ticket; ``DetailScreen(ticket_id)``. esc goes back to the queue."""

    DEFAULT_CSS = """
    DetailScreen { layout: vertical; }
    DetailScreen #detail-head { height: auto; padding: 0 1; background: $panel; }
    DetailScreen #detail-timers { height: auto; padding: 0 1; background: $panel; border-bottom: solid $primary 40%; }
    DetailScreen .detail-timer { height: 1; width: 1fr; }
    DetailScreen .detail-timer Countdown { width: 28; }
    DetailScreen .detail-due { width: 1fr; color: $text-muted; }
    DetailScreen #detail-drafts { height: auto; padding: 0 1; color: $warning; display: none; }
    DetailScreen #detail-drafts.-shown { display: block; }
    DetailScreen #detail-saving { height: 1; padding: 0 1; color: $warning; text-style: bold; display: none; }
    DetailScreen #detail-saving.-shown { display: block; }
    """

    BINDINGS = [
        Binding("escape", "back", "Back", id="detail.back"),
        Binding("r", "reply", "Reply", id="detail.reply"),
        Binding("n", "note", "Note", id="detail.note"),
        Binding("s", "status", "Status", id="detail.status"),
        Binding("x", "resolve", "Resolve", id="detail.resolve"),
        Binding("X", "close_ticket", "Close", id="detail.close"),
        Binding("p", "priority", "Priority", id="detail.priority"),
        Binding("t", "type", "Type", id="detail.type"),
        Binding("c", "claim", "Claim", id="detail.claim"),
        Binding("a", "assign", "Assign", id="detail.assign"),
        Binding("l", "link", "Link", id="detail.link"),
        Binding("b", "broadcast", "Broadcast", id="detail.broadcast"),
        Binding("e", "escalate", "Escalate", id="detail.escalate"),
        Binding("m", "canned", "Canned", id="detail.canned"),
        Binding("w", "why", "Why due", id="detail.why"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="detail.reload"),
        Binding("question_mark", "keys", "Keys", id="detail.keys"),
    ]

    def __init__(self, ticket_id: int) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.record = None
        self.linked: list = []
        self.drafts: dict[str, str] = {"reply": "", "note": ""}
        self._sla = None
        self._policy = None
        self._evaluated_at = 0
        self._timer_names: tuple[str, ...] = ()

    # -- layout and loading ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="detail-head")
        yield Static(id="detail-presence")
        yield Vertical(id="detail-timers")
        yield Static(id="detail-drafts")
        yield Static(id="detail-saving")
        yield Timeline(id="detail-timeline")
        yield KeysFooter()

    @property
    def desk(self):
        return getattr(self.app, "desk", None)

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

    def on_mount(self) -> None:
        self.presence_changed(getattr(self.app, "others_open", {}))
        if self.desk is not None:  # read in a thread, as a worker (the screen's messages go on meanwhile)
            self.run_worker(self.reload(), group="detail-load", exclusive=True)
        self.query_one(Timeline).focus()

    def desk_ready(self, desk) -> None:
        if self.record is None:
            self.run_worker(self.reload(), group="detail-load", exclusive=True)

    async def _fetch(self) -> tuple:
        """The ticket and, for a ticket not linked to another, the tickets linked to it: read in a worker
        thread (the event loop never waits on the desk)."""
        desk, key = self.desk, self.ticket_id

        def read() -> tuple:
            record = desk.ticket(key)
            return record, (desk.linked(record.id) if record.major_id is None else [])

        return await asyncio.to_thread(read)

    async def reload(self) -> None:
        """Read the ticket again and show it (drafts are kept)."""
        if self.desk is None:
            return
        try:
            record, linked = await self._fetch()
        except (BadInput, Refused) as exc:  # deleted meanwhile, or never existed
            self.say(str(exc), title="Cannot show the ticket", severity="error")
            if self.record is None and self.is_current:
                self.app.pop_screen()
            return
        await self._show(record, linked)

    async def _show(self, record, linked: list) -> None:
        desk = self.desk
        self.record = record
        self._restore_drafts()
        self.linked = linked
        now = desk.clock.now()
        self._sla = desk.sla(record, at=now)
        self._policy = desk.config.policy_for(record.customer)
        self._evaluated_at = epoch(now)
        zone = desk.config.tz
        self.query_one("#detail-head", Static).update(self._head_text(record, zone))
        await self._show_timers(zone)
        self._show_drafts()
        await self.query_one(Timeline).show(record.created_at, record.created_by, record.description, record.events, zone,
                                                   initial_priority=record.initial_priority)
        self.clock_tick(now)

    def _head_text(self, r, zone: ZoneInfo) -> Text:
        cfg = self.desk.config
        t = Text()
        t.append(f"#{r.id}", style="bold")
        if r.ref:
            t.append(f"  {one_line(r.ref)}")
        t.append(f"  {one_line(r.subject, SUBJECT_SHOWN)}", style="bold")  # a 1 MB subject: the rest is kept, not shown
        t.append(f"   v{r.version}\n", style="dim")
        t.append(one_line(r.customer), style="bold")
        t.append(f" · policy {one_line(self._policy.name)}")
        why = "this customer's" if r.customer in cfg.customers else "the default: no entry for this customer"
        t.append(f" ({why}; w explains)\n", style="dim")
        t.append(f"{r.type} · {(r.classification or 'unclassified').replace('_', ' ')} · ")
        t.append(r.priority, style="bold")
        if r.impact is not None and r.urgency is not None:
            t.append(f" (impact {r.impact} × urgency {r.urgency})")
        t.append(" · ")
        t.append(r.status, style="bold")
        if r.resolution_code:
            t.append(f" ({one_line(r.resolution_code)})")
        t.append(f" · {one_line(r.assignee) if r.assignee else 'unassigned'} · group {one_line(r.group)}")
        if r.csat_score is not None:
            t.append(f" · CSAT {r.csat_score}/5")
        if r.major_id is not None:
            t.append(f"\nlinked to major incident #{r.major_id}", style="bold")
        elif self.linked:
            shown = ", ".join(f"#{x.id} {one_line(x.status)}" for x in self.linked[:8])
            more = f" … +{len(self.linked) - 8}" if len(self.linked) > 8 else ""
            t.append(f"\nmajor incident: {len(self.linked)} linked ({shown}{more})", style="bold")
        return t

    async def _show_timers(self, zone: ZoneInfo) -> None:
        box = self.query_one("#detail-timers", Vertical)
        names = tuple(self._sla.timers)
        if names != self._timer_names:
            await box.remove_children()
            rows = [Horizontal(Countdown(id=f"detail-timer-{n}"), Static(id=f"detail-due-{n}", classes="detail-due"),
                               classes="detail-timer") for n in names]
            await box.mount_all(rows)
            self._timer_names = names
        for name, timer in self._sla.timers.items():
            self.query_one(f"#detail-due-{name}", Static).update(Text(self._due_text(timer, zone)))

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
        box.update(Text(f"unsent draft: {', '.join(kept)} (r / n reopens it)" if kept else ""))

    # -- the clock and other connections ---------------------------------------------------------

    def clock_tick(self, now) -> None:
        if self._sla is None:
            return
        t = epoch(now)
        for name, timer in self._sla.timers.items():
            live = live_timer(timer, self._policy.calendar, self._policy.warn_at, self._evaluated_at, t)
            for widget in self.query(f"#detail-timer-{name}"):
                widget.timer = live  # type: ignore[attr-defined]

    def data_changed(self) -> None:
        if self.record is not None:
            self.run_worker(self._reload_if_moved(), group="detail-poll", exclusive=True)

    async def _reload_if_moved(self) -> None:
        old = self.record
        try:
            record, linked = await self._fetch()
        except (BadInput, Refused):
            return
        if old is None or record.version == old.version:
            return
        await self._show(record, linked)
        changes = self.changes_since(old)
        if changes:
            self.say(changes, title="Ticket changed", timeout=8)

    def changes_since(self, old) -> str:
        """``ticket changed by bob: status open → pending`` for the events newer than ``old``."""
        seen = {e.id for e in old.events}
        new = [e for e in self.record.events if e.id not in seen]
        if not new:
            return f"ticket changed (version {old.version} → {self.record.version})"
        by: dict[str, list[str]] = {}
        for e in new:
            by.setdefault(one_line(e.author), []).append(describe(e))
        return "; ".join(f"ticket changed by {who}: {', '.join(what)}" for who, what in by.items())

    # -- doing -----------------------------------------------------------------------------------
    # Every change runs in a thread (``act`` → ``pending.run_write``): while it waits for the desk (another
    # agent's long transaction holds the write lock) the line under the header says "⠹ saving claim #12…",
    # the keys that change the ticket are off, and the others (scrolling, w, esc) work.

    WRITERS = ("reply", "note", "canned", "status", "resolve", "close_ticket", "priority", "type", "claim", "assign",
               "link", "broadcast", "escalate")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
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

    async def act(self, what: str, fn, done: str | None = None) -> bool:
        """Run ``fn(expect_version)``; reload; say what happened. False when it was refused."""
        if self.record is None:
            return False
        old = self.record
        try:
            await run_write(self, f"{what.lower()} #{old.id}", lambda: fn(old.version))
        except Conflict:
            await self.reload()
            changes = self.changes_since(old)
            kept = " Your unsent text is kept." if any(v.strip() for v in self.drafts.values()) else ""
            self.say(f"{changes}.{kept} Review and try again.", title=f"{what}: not applied",
                        severity="warning", timeout=12)
            return False
        except Exception as exc:
            message = refusal(exc, self.app.db)
            if message is None:
                raise
            self.say(message, title=f"{what}: refused", severity="warning", timeout=10)
            return False
        await self.reload()
        if done:
            self.say(done, title=what)
        return True

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

    def _edit(self, kind: str) -> None:
        if self.record is None:
            return
        title = (f"Reply to {one_line(self.record.customer)} (public)" if kind == "reply"
                 else "Internal note (agents only, never sent to the customer)")
        self.app.push_screen(EditorDialog(title, self.drafts[kind], kind=kind,
                                          on_change=lambda text: self.set_draft(kind, text)),
                             lambda result: self._edited(kind, result))

    @in_background
    async def _edited(self, kind: str, result) -> None:
        if result is None:
            return
        action, text = result
        self.set_draft(kind, "" if action == "discard" else text)
        if action == "discard" and text.strip():
            self.say(f"the {kind} draft is discarded", title="Draft")
        if action == "send":
            from ...service import Change

            change = Change(reply=text) if kind == "reply" else Change(note=text)
            label = "Reply" if kind == "reply" else "Note"
            if await self.act(label, lambda v: self.desk.update(self.ticket_id, change, expect_version=v),
                              "sent to the customer" if kind == "reply" else "internal note added"):
                self.set_draft(kind, "")
        self._show_drafts()

    def action_canned(self) -> None:
        if self.record is None:
            return
        names = sorted(self.desk.config.canned)
        if not names:
            self.say("no canned responses configured ([canned.NAME] body = \"…\")", severity="warning")
            return
        self.app.push_screen(ChoiceScreen("Canned response (inserted into the reply for review)", names),
                             self._canned_chosen)

    def _canned_chosen(self, name: str | None) -> None:
        if not name:
            return
        try:
            text = self.desk.canned(name, self.record)
        except BadInput as exc:
            self.say(str(exc), severity="warning")
            return
        draft = self.drafts["reply"]
        self.set_draft("reply", (draft.rstrip("\n") + "\n\n" + text) if draft.strip() else text)
        self._edit("reply")

    # status, resolve, close -------------------------------------------------------------------

    def action_status(self) -> None:
        if self.record is None:
            return
        allowed = workflow.TRANSITIONS[self.record.status]
        if not allowed:
            self.say(f"ticket {self.record.key} is {self.record.status}: it is final", severity="warning")
            return
        self.app.push_screen(ChoiceScreen(f"Status: {self.record.status} →", list(allowed)), self._status_chosen)

    @in_background
    async def _status_chosen(self, status: str | None) -> None:
        if not status:
            return
        if status == "resolved":
            self.action_resolve()
        elif status == "closed":
            self.action_close_ticket()
        else:
            await self.set_status(status)

    async def set_status(self, status: str) -> bool:
        from ...service import Change

        return await self.act("Status", lambda v: self.desk.update(self.ticket_id, Change(status=status), expect_version=v),
                              f"status → {status}")

    def action_resolve(self) -> None:
        if self.record is None:
            return
        self.app.push_screen(ResolveDialog(self.desk.config.resolution_codes, self.drafts["reply"],
                                           on_change=lambda text: self.set_draft("reply", text)), self._resolve_chosen)

    @in_background
    async def _resolve_chosen(self, values: dict | None) -> None:
        if values is None:
            return
        await self.resolve(values["code"], values["reply"])

    async def resolve(self, code: str | None, reply: str | None = None) -> bool:
        if not code:
            self.say("resolve: a resolution code is required", title="Resolve: refused", severity="warning")
            return False
        ok = await self.act("Resolve", lambda v: self.desk.resolve(self.ticket_id, code, reply=reply, expect_version=v),
                            f"resolved ({code})")
        if ok and reply:
            self.set_draft("reply", "")
            self._show_drafts()
        return ok

    def action_close_ticket(self) -> None:
        if self.record is None:
            return
        self.app.push_screen(CloseDialog(), self._close_chosen)

    @in_background
    async def _close_chosen(self, values: dict | None) -> None:
        if values is None:
            return
        csat, comment = values["csat"], values["comment"]
        await self.act("Close", lambda v: self.desk.close(self.ticket_id, csat=csat, comment=comment, expect_version=v),
                       "closed" + (f" (CSAT {csat}/5)" if csat else ""))

    # priority, type, assignment ----------------------------------------------------------------

    def action_priority(self) -> None:
        if self.record is None:
            return
        r = self.record
        self.app.push_screen(PriorityDialog(r.priority, r.impact, r.urgency), self._priority_chosen)

    @in_background
    async def _priority_chosen(self, values: dict | None) -> None:
        if values is None:
            return
        from ...service import Change

        change = Change(**values)
        await self.act("Priority", lambda v: self.desk.update(self.ticket_id, change, expect_version=v), "priority changed")

    def action_type(self) -> None:
        if self.record is None:
            return
        r = self.record
        self.app.push_screen(TypeDialog(TYPES, r.type, CLASSIFICATIONS, r.classification), self._type_chosen)

    @in_background
    async def _type_chosen(self, values: dict | None) -> None:
        if values is None:
            return
        from ...service import Change

        r = self.record
        change = Change(type=values["type"] if values["type"] != r.type else None,
                        classification=values["classification"] if values["classification"] != r.classification else None)
        if change.is_empty():
            self.say("nothing changed", severity="information")
            return
        await self.act("Type", lambda v: self.desk.update(self.ticket_id, change, expect_version=v), "type/classification changed")

    @in_background
    async def action_claim(self) -> None:
        if self.record is None:
            return
        await self.act("Claim", lambda v: self.desk.claim(self.ticket_id, expect_version=v), "the ticket is yours")

    def known_names(self) -> tuple[list[str], list[str]]:
        """Agents and groups for completion: those the desk has seen, and the configured groups."""
        agents, groups = self.desk.names_seen()
        groups.update(self.desk.config.escalation.groups)
        for e in self.record.events:
            if e.kind == "assign" and e.to:
                agents.add(e.to)
            elif e.kind == "reply" and e.author != "customer":
                agents.add(e.author)
            elif e.kind in ("group", "escalate") and e.to:
                groups.add(e.to)
        return sorted(agents), sorted(groups)

    @in_background
    async def action_assign(self) -> None:
        if self.record is None:
            return
        agents, groups = await asyncio.to_thread(self.known_names)  # read off the event loop
        self.app.push_screen(AssignDialog(self.record.assignee, self.record.group, agents, groups), self._assign_chosen)

    @in_background
    async def _assign_chosen(self, values: dict | None) -> None:
        if values is None:
            return
        from ...service import UNASSIGN, Change

        r = self.record
        agent, group = values["assign"], values["group"]
        same_agent = (agent.lower() in UNASSIGN and r.assignee is None) or agent == (r.assignee or "")
        change = Change(assign=None if same_agent else agent, group=None if (not group or group == r.group) else group)
        if change.is_empty():
            self.say("nothing changed", severity="information")
            return
        await self.act("Assign", lambda v: self.desk.update(self.ticket_id, change, expect_version=v), "assignment changed")

    # major incidents ---------------------------------------------------------------------------

    def action_link(self) -> None:
        if self.record is None:
            return
        self.app.push_screen(LinkDialog(self.record.major_id), self._link_chosen)

    @in_background
    async def _link_chosen(self, values: dict | None) -> None:
        if values is None:
            return
        major = values["major"]
        if major is not None and major.lstrip("#").isdigit():
            major = int(major.lstrip("#"))
        await self.act("Link", lambda v: self.desk.link(self.ticket_id, major, expect_version=v),
                       f"linked to #{major}" if major is not None else "unlinked")

    def action_broadcast(self) -> None:
        if self.record is None:
            return
        if not self.linked:
            self.say("not a major incident: no ticket is linked to this one (link them with l)", severity="warning")
            return
        self.app.push_screen(BroadcastDialog(self.desk.config.resolution_codes, len(self.linked)), self._broadcast_chosen)

    @in_background
    async def _broadcast_chosen(self, values: dict | None) -> None:
        if values is None:
            return
        try:
            changed = await run_write(self, f"broadcast of #{self.ticket_id}", lambda: self.desk.broadcast(
                self.ticket_id, reply=values["reply"], resolve_code=values["resolve_code"]))
        except Exception as exc:
            message = refusal(exc, self.app.db)
            if message is None:
                raise
            self.say(message, title="Broadcast: refused", severity="warning", timeout=10)
            return
        await self.reload()
        self.say(f"applied to {len(changed)} ticket{'s' if len(changed) != 1 else ''}", title="Broadcast")

    # escalation --------------------------------------------------------------------------------

    def action_escalate(self) -> None:
        """A group above L1 (functional: the ticket moves there) or a manager (hierarchical), with a reason."""
        from ...domain.escalation import why_not_escalate
        from .escalate import ask_escalation

        if self.record is None:
            return
        refused = why_not_escalate(self.record.status)
        if refused is not None:  # said before the dialog, not after the agent filled it in
            self.say(f"#{self.record.id}: {refused}", title="Escalate: refused", severity="warning", timeout=8)
            return
        ask_escalation(self.app, self.desk.config, f"#{self.record.id}",
                       lambda kind, to, reason: self.run_worker(self.escalate(kind, to, reason), group="detail-act"))

    async def escalate(self, kind: str, to: str, reason: str) -> bool:
        """Escalate with the version on screen; refusals and conflicts are shown like the other actions."""
        what = "escalation to a manager" if kind == "hierarchical" else "moved to the group"
        return await self.act("Escalate", lambda v: self.desk.escalate(self.ticket_id, kind, to, reason, expect_version=v),
                              f"escalated to {to} ({what})")

    # why is it due then? -----------------------------------------------------------------------

    def action_why(self) -> None:
        if self.record is None:
            return
        self.app.push_screen(WhyDialog(self.explanation()))

    def explanation(self) -> Text:
        """The reasoning behind every timer, from ``domain.explain`` on a fresh evaluation."""
        desk, r = self.desk, self.record
        now = desk.clock.now()
        sla = desk.sla(r, at=now)
        policy = desk.config.policy_for(r.customer)
        cal = policy.calendar
        zone = desk.config.tz if cal.always else ZoneInfo(cal.timezone)
        out = Text()
        out.append("Why is it due then?", style="bold")
        out.append("  (esc closes)\n", style="dim")
        out.append(f"policy {one_line(policy.name)}: {one_line(desk.config.policy_reason(r.customer))}\n")
        if cal.always:
            out.append(f"calendar {one_line(cal.name)}: 24x7, every second counts (times shown in {zone.key})\n")
        else:
            out.append(f"calendar {one_line(cal.name)}: business hours in {cal.timezone}; nights, weekends, "
                       "holidays and closed days are not counted\n")
        out.append(f"now: {local(now, zone)}\n")
        for name, timer in sla.timers.items():
            ex = explain(timer, policy, epoch(now))
            out.append("\n")
            out.append(f"{TIMER_LABELS.get(name, name)}", style="bold underline")
            out.append(f" — {_target_words(timer, r.priority, ex.target)} — {ex.state}\n")
            out.append(f"started {_local_epoch(timer.started_at, zone)}\n")
            out.append("counted (business time):\n")
            for a, b in ex.counted:
                out.append(f"  {_local_epoch(a, zone)} → {_local_epoch(b, zone, '%H:%M') if _same_day(a, b, zone) else _local_epoch(b, zone)}"
                           f"   {exact(b - a)}\n")
            if not ex.counted:
                out.append("  nothing yet\n")
            out.append(f"  = {exact(ex.counted_seconds)} counted\n")
            if ex.pauses:
                out.append("paused (not counted: waiting on the customer):\n")
                for a, b in ex.pauses:
                    out.append(f"  {_local_epoch(a, zone)} → {_local_epoch(b, zone)}\n")
            days = _closed_days(cal, timer.started_at, timer.stopped_at or ex.due or epoch(now))
            if days:
                out.append("holidays and closed days in between:\n")
                for d, why in days:
                    out.append(f"  {d:%a %Y-%m-%d} {one_line(why)}\n")
            if ex.state == "running":
                out.append("still to count, up to the due time:\n")
                for a, b in ex.future:
                    out.append(f"  {_local_epoch(a, zone)} → {_local_epoch(b, zone, '%H:%M') if _same_day(a, b, zone) else _local_epoch(b, zone)}"
                               f"   {exact(b - a)}\n")
                out.append(f"  = {exact(ex.future_seconds)} left\n")
                out.append(f"{exact(ex.counted_seconds)} counted + {exact(ex.remaining)} left = {exact(ex.target)} target"
                           f" → due {_local_epoch(ex.due, zone)}\n", style="bold")
            elif ex.state == "paused":
                out.append(f"{exact(ex.consumed)} counted + {exact(ex.remaining)} left = {exact(ex.target)} target; "
                           "no due time while paused: it is set again when the ticket is reopened\n", style="bold")
            elif ex.state == "met":
                out.append(f"stopped {_local_epoch(timer.stopped_at, zone)} with {exact(ex.remaining)} to spare "
                           f"({exact(ex.consumed)} of {exact(ex.target)} used): met\n", style="bold")
            else:
                over = -ex.remaining
                out.append(f"{exact(ex.consumed)} counted = {exact(ex.target)} target + {exact(over)} over; "
                           f"the target was reached {_local_epoch(ex.due, zone) or 'earlier'}: breached\n", style="bold")
        return out


def _target_words(timer, priority: str, target: int) -> str:
    """``P1 target 4h00m of counted time``; a timer that stopped (or breached) under another priority than the
    ticket's present one names that one: ``stopped under P4 (target 8h00m) before the priority became P1``."""
    under = timer.priority or priority
    if under == priority:
        return f"{priority} target {exact(target)} of counted time" + (f" ({compact(target)})" if target >= 86400 else "")
    how = "stopped" if timer.stopped_at is not None else "breached"
    return f"{how} under {under} (target {exact(target)}) before the priority became {priority}"


def _same_day(a: int, b: int, zone: ZoneInfo) -> bool:
    da = datetime.fromtimestamp(a, UTC).astimezone(zone).date()
    db = datetime.fromtimestamp(b, UTC).astimezone(zone).date()
    return da == db


def _closed_days(cal, start: int, end: int, limit: int = 31) -> list:
    """Weekdays with hours that are holidays or closed days, between two instants (for the pane)."""
    if cal.always or end <= start:
        return []
    zone = ZoneInfo(cal.timezone)
    day = datetime.fromtimestamp(start, UTC).astimezone(zone).date()
    last = datetime.fromtimestamp(end, UTC).astimezone(zone).date()
    out = []
    while day <= last and len(out) < limit:
        if day.weekday() in cal.weekly:
            if day in cal.closed:
                out.append((day, "closed"))
            elif cal.holidays is not None and day in cal.holidays:
                name = cal.holidays.get(day) if hasattr(cal.holidays, "get") else None
                out.append((day, f"holiday{': ' + str(name) if name else ''}"))
        day += timedelta(days=1)
    return out

