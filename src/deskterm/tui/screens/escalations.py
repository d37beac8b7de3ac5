"""Open escalations, most urgent first: level, target, age, acknowledgement and the ticket's live SLA.

Order: not acknowledged first, then the ticket's nearest deadline, then the oldest. An escalation still
unacknowledged after ``escalation.ack_within`` is overdue: the ``-overdue`` class colours it and a ``»``
marker plus ``NOT ACKED`` in capitals say it without colour (NO_COLOR). Keys: ``a`` acknowledge, ``r``
return to L1 with a note, ``e`` escalate further (a group or a manager of the configuration, with a reason),
``enter`` opens the ticket. Another connection's change to some tickets (``tickets_changed``) reads again only
their open escalations; any other commit (``data_changed``) reloads the list. The toast and
the bell for a new escalation are the app's (``DeskApp.poll``), whatever screen is on top.

The app's clock (``clock_tick``) runs in the app's own task, so it can call in while a reload rebuilds the
list across awaits: it leaves the list alone until the rebuild is done (the rebuild then ticks itself).
``up_to_date`` tells when the newest reload is on screen.

``apply_rules_in_background(app)`` applies the automatic escalation rules in a thread worker; the app
calls it periodically.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ListItem, ListView, Static

from ...fmt import compact, local, one_line
from ..keys import KeysFooter
from ..widgets.countdown import SLA_CLASSES, LiveTimer, countdown_text, state_style
from ..widgets.line import show_text
from .base import LoadingScreen
from .escalate import ask_escalation, escalation_targets
from .modals import TextPromptScreen

if TYPE_CHECKING:
    from collections.abc import Callable

    from ...service import Desk
    from ...store.models import Escalation
    from ..sla_cache import SlaCache

__all__ = [
    "EscalationScreen",
    "EscItem",
    "EscLine",
    "EscRow",
    "OVERDUE_MARK",
    "TextPromptScreen",
    "apply_rules_in_background",
    "escalation_targets",
    "ticket_screen",
]

OVERDUE_MARK = "»"
INF = float("inf")


# -- the automatic rules, for the app -----------------------------------------------------------------


def apply_rules_in_background(app):
    """Apply the automatic escalation rules once, in a thread; the new escalations reach every screen through
    the app's change poll (``data_changed``). Returns the worker, or None when the store is not open yet.

    Idempotent and safe alongside a cron ``escalate-due`` or other apps: the store fires each rule at most
    once per ticket and timer cycle.
    """
    desk = getattr(app, "desk", None)
    if desk is None or not desk.config.escalation.rules:
        return None

    def run() -> list[tuple[int, str]]:
        try:
            fired = desk.apply_rules()
        except Exception as exc:  # noqa: BLE001 - a busy database must not stop the app; shown, retried next time
            app.call_from_thread(app.notify, str(exc), title="Escalation rules not applied", severity="warning")
            return []
        if fired:  # each firing is its own transaction: announced together, not split by the app's poll
            try:
                app.call_from_thread(app.announce_escalations)
            except RuntimeError:  # the app closed meanwhile
                pass
        return fired

    return app.run_worker(run, thread=True, exclusive=True, group="escalation-rules", name="apply escalation rules")


# -- data ---------------------------------------------------------------------------------------------


@dataclass
class EscRow:
    """One open escalation with what the screen shows of its ticket."""

    esc: Escalation  # detached from its session: read, never written
    ticket_id: int
    ref: str | None
    subject: str
    customer: str
    version: int

    @property
    def id(self) -> int:
        assert self.esc.id is not None  # read from the store: it has its id
        return self.esc.id

    @property
    def acknowledged(self) -> bool:
        return self.esc.acknowledged_at is not None


def urgency_key(row: EscRow, due: int | None):
    """Not acknowledged first, then the ticket's nearest deadline (none last), then the oldest."""
    return (row.acknowledged, due if due is not None else INF, row.esc.created_at, row.id)


def overdue(row: EscRow, now: datetime, ack_within: int) -> bool:
    return not row.acknowledged and (now - row.esc.created_at).total_seconds() >= ack_within


class EscalationsLoaded(Message):
    def __init__(self, rows: list[EscRow], generation: int, tickets: frozenset[int] | None = None) -> None:
        super().__init__()
        self.rows = rows
        self.generation = generation
        self.tickets = tickets  # None: every open escalation; else the open escalations of these tickets only


# -- widgets ------------------------------------------------------------------------------------------

COLUMNS = (("", 2), ("ticket", 7), ("level", 8), ("target", 15), ("age", 6), ("ack", 13), ("SLA", 14))


def _cell(text: str, width: int, right: bool = False) -> str:
    text = one_line(text, width - 1)
    return (text.rjust(width - 1) if right else text.ljust(width - 1)) + " "


class EscLine(Widget):
    """One escalation on one line; the screen sets ``row``, ``timer`` and ``now`` and refreshes it."""

    COMPONENT_CLASSES = {*SLA_CLASSES, "esc-line--overdue"}
    DEFAULT_CSS = "EscLine { height: 1; }"

    def __init__(self, row: EscRow) -> None:
        super().__init__()
        self.row = row
        self.timer: LiveTimer | None = None
        self.now: datetime | None = None
        self.late = False

    def render(self) -> Text:
        r, e = self.row, self.row.esc
        now = self.now or e.created_at
        age = compact(int((now - e.created_at).total_seconds()))
        if r.acknowledged:
            ack = f"✓ {e.acknowledged_by}"
        else:
            ack = "NOT ACKED" if self.late else "not acked"
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(_cell(OVERDUE_MARK if self.late else "", 2))
        text.append(_cell(f"#{r.ticket_id}", 7))
        text.append(_cell(e.level, 8))
        text.append(_cell(e.target, 15))
        text.append(_cell(age, 6, right=True))
        ack_text = Text(_cell(ack, 13))
        if self.late:
            ack_text.stylize(self.get_component_rich_style("esc-line--overdue", partial=True))
        text.append_text(ack_text)
        if self.timer is not None:
            text.append(_cell(countdown_text(self.timer), 14), style=state_style(self, self.timer.state))
        else:
            text.append(_cell("", 14))
        text.append(one_line(r.subject))
        return text


class EscItem(ListItem):
    def __init__(self, row: EscRow) -> None:
        super().__init__(EscLine(row), id=f"esc-{row.id}")
        self.row = row

    @property
    def line(self) -> EscLine:
        return self.query_one(EscLine)


# -- the screen ---------------------------------------------------------------------------------------


class EscalationScreen(LoadingScreen):
    BINDINGS = [
        Binding("a", "acknowledge", "Acknowledge", id="escalations.acknowledge"),
        Binding("r", "return_to_l1", "Return to L1", id="escalations.return"),
        Binding("e", "escalate", "Escalate further", id="escalations.escalate"),
        Binding("enter", "open", "Open ticket", id="escalations.open"),
        Binding("j", "cursor_down", "Down", show=False, id="escalations.down"),
        Binding("k", "cursor_up", "Up", show=False, id="escalations.up"),
        Binding("g,home", "cursor_first", "First", show=False, id="escalations.first"),
        Binding("G,end", "cursor_last", "Last", show=False, id="escalations.last"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="escalations.reload"),
        Binding("escape", "back", "Back", id="escalations.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[EscRow] = []
        self.loaded = False
        self._sla: SlaCache | None = None  # (on_desk)
        self._shown = 0  # the generation of the rows on screen (the newest is ``_generation``)
        self._rebuilding = False  # the list's items are being removed and mounted (across awaits)
        self._pending: set[int] = set()  # tickets changed elsewhere whose escalations are not on screen yet
        self._whole = False  # a reload of every open escalation is on its way

    def compose(self) -> ComposeResult:
        yield Static(Text("Loading escalations…"), id="esc-status")
        yield Static(self._header(), id="esc-header")
        yield ListView(id="esc-list")
        yield Static(id="esc-detail")
        yield KeysFooter()

    @staticmethod
    def _header() -> Text:
        return Text(
            "".join(_cell(name, width, right=name == "age") for name, width in COLUMNS) + "subject",
            no_wrap=True,
            overflow="ellipsis",
        )

    @property
    def list_view(self) -> ListView:
        return self.query_one("#esc-list", ListView)

    def on_mount(self) -> None:
        self.list_view.focus()

    def on_desk(self, desk: Desk) -> None:
        from ..sla_cache import SlaCache

        self._sla = SlaCache(desk, size=512)

    # -- loading ---------------------------------------------------------------------------------

    def load(self, generation: int) -> None:
        self._load(generation)

    @work(thread=True, group="escalations")
    def _load(self, generation: int, changed: frozenset[int] | None = None) -> None:
        """Read the open escalations (``changed``: only those of these tickets) and their tickets; the SLA of a
        ticket is replayed only when its version is new to the cache."""
        from ...store.queue import records

        desk, sla = self._desk, self._sla
        assert sla is not None  # (on_desk, before the first load)
        escalations = desk.escalations(open_only=True, tickets=changed)
        tickets = {t.id: t for t in records(desk.store, sorted({e.ticket_id for e in escalations}))}
        now = desk.clock.now()
        rows = []
        for e in escalations:
            t = tickets.get(e.ticket_id)
            if t is None:
                continue
            if not sla.has(t.id, t.version):
                sla.put(t, now)
            rows.append(EscRow(e, t.id, t.ref, t.subject, t.customer, t.version))
        self.post_message(EscalationsLoaded(rows, generation, changed))

    PATCH_MOST = 500  # more tickets changed at once than this: every open escalation is read again

    def tickets_changed(self, changed: frozenset[int]) -> None:
        """Another connection changed these tickets (every change of an escalation changes its ticket: the
        service writes both in one transaction and names the ticket in the feed). Only the open escalations of
        those tickets are read again (by the escalations' index, whatever the size of the desk), and the list
        is laid out again only when its rows or their order changed; otherwise the changed lines are redrawn
        in place. A change noticed while a whole reload is on its way (its read may have come before the
        change's commit) is read once that reload is on screen."""
        if self._app_closing() or self.desk is None:
            return
        self._pending |= changed
        if not self._pending:
            return
        if self._whole:
            return
        if len(self._pending) > self.PATCH_MOST:
            self.reload()
            return
        self._generation += 1
        self._load(self._generation, frozenset(self._pending))

    def reload(self) -> None:
        self._pending = set()  # the whole read takes in every change committed before it
        self._whole = True
        super().reload()

    async def on_escalations_loaded(self, message: EscalationsLoaded) -> None:
        if message.generation != self._generation:
            return  # a newer load is on its way (a patch's tickets stay pending: the newer one reads them too)
        if message.tickets is not None:
            self._pending -= message.tickets
            rows = [r for r in self.rows if r.ticket_id not in message.tickets] + message.rows
            rows.sort(key=lambda r: urgency_key(r, self._due(r)))
            if [r.id for r in rows] == [r.id for r in self.rows] and not self._rebuilding:
                # the same escalations in the same order: only the changed tickets' lines take their new row
                # and are redrawn (the others are as the last tick drew them; the next one redraws all)
                now = self._desk.clock.now()
                ack_within = self._desk.config.escalation.ack_within
                for item, row in zip(self.list_view.query(EscItem), rows, strict=True):
                    if item.row is not row:
                        item.row = item.line.row = row
                        self._paint(item, now, ack_within)
                self.rows = rows
                self._shown = message.generation
                self._show_status(sum(overdue(r, now, ack_within) for r in rows))
                self._show_detail()
                return
            message = EscalationsLoaded(rows, message.generation, message.tickets)
        lv = self.list_view
        current = self.cursor_row
        keep = current.id if current is not None else None
        # Removing the old items and mounting the new ones takes several turns of the event loop, and the
        # app's clock ticks from its own task meanwhile: an old item has already lost its line, a new one
        # has none yet (querying them raised NoMatches, which stops the app). The tick waits for the end.
        self._rebuilding = True
        try:
            before = [r.id for r in self.rows]
            self.rows = sorted(message.rows, key=lambda r: urgency_key(r, self._due(r)))
            await lv.clear()
            if self.rows:
                await lv.extend(EscItem(r) for r in self.rows)
                lv.index = _keep_place(before, keep, [r.id for r in self.rows])
        finally:
            self._rebuilding = False
        self.loaded = True
        self._shown = message.generation
        self.clock_tick(self._desk.clock.now())  # the time now, after the awaits
        if message.tickets is None:
            self._whole = False
            if self._pending:  # changed while the whole read was on its way
                self.tickets_changed(frozenset())

    @property
    def up_to_date(self) -> bool:
        """The newest reload is on screen: none is waiting for its worker or rebuilding the list."""
        return self.loaded and self._shown == self._generation

    def _due(self, row: EscRow) -> int | None:
        entry = self._sla.entry(row.ticket_id, row.version) if self._sla is not None else None
        if entry is None:
            return None
        timer = entry[0].nearest()
        return timer.due if timer is not None else None

    # -- the app's hooks -------------------------------------------------------------------------

    def _app_closing(self) -> bool:
        """The app is closing: its screens' widgets are being removed, possibly under a clock that still
        runs (``run_test`` prunes the screens before it stops the app's timers)."""
        return not self.app.is_running

    def data_changed(self) -> None:
        if not self._app_closing():
            self.reload()

    def clock_tick(self, now) -> None:
        if self.desk is None or not self.is_mounted or self._app_closing():
            return
        if self._rebuilding:  # on_escalations_loaded ticks when the new items are mounted
            return
        ack_within = self.desk.config.escalation.ack_within
        late = 0
        for item in self.list_view.query(EscItem):
            late += self._paint(item, now, ack_within)
        self._show_status(late)
        self._show_detail()

    def _paint(self, item: EscItem, now, ack_within) -> bool:
        """One line as of ``now`` (its age, whether it is overdue, its ticket's nearest timer); True: overdue."""
        row = item.row
        line = item.line
        line.now = now
        line.late = overdue(row, now, ack_within)
        line.timer = self._sla.nearest(row.ticket_id, row.version, now) if self._sla else None
        item.set_class(line.late, "-overdue")
        item.set_class(row.acknowledged, "-acked")
        line.refresh()
        return line.late

    def _show_status(self, late: int) -> None:
        self._late = late
        n = len(self.rows)
        unacked = sum(1 for r in self.rows if not r.acknowledged)
        if not self.loaded:
            text = Text("Loading escalations…")
        elif not n:
            text = Text("No open escalation.")
        else:
            text = Text(f"{n} open escalation{'s' if n != 1 else ''} · {unacked} not acknowledged")
            if late:
                text.append(
                    f" · {late} overdue {OVERDUE_MARK} (ack within {compact(self._desk.config.escalation.ack_within)})",
                    style="bold",
                )
        saving = self.app.writes.line(self)  # "⠹ saving acknowledge escalation 12…" while a write waits
        if saving:
            text = Text(saving + " · ").append_text(text)
        show_text(self.query_one("#esc-status", Static), text)

    WRITERS = ("acknowledge", "return_to_l1", "escalate")  # off (dimmed) while this screen's write is pending

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.WRITERS and self.app.writes.busy(self):
            return None
        return True

    def writes_changed(self, keys: bool) -> None:
        if keys:  # the footer dims them after the frame that says so (laying the footer out again costs a frame)
            self.call_after_refresh(self.refresh_bindings)
        if self.is_mounted and not self._app_closing() and self.desk is not None:
            self._show_status(getattr(self, "_late", 0))

    def _show_detail(self) -> None:
        row = self.cursor_row
        detail = self.query_one("#esc-detail", Static)
        if row is None:
            show_text(detail, Text("a acknowledge · r return to L1 · e escalate further · enter open the ticket"))
            return
        config = self._desk.config
        e, tz = row.esc, config.tz
        text = Text(no_wrap=False)
        text.append(f"Escalation {row.id} ", style="bold")
        text.append(
            f"of #{row.ticket_id}{' ' + one_line(row.ref) if row.ref else ''} ({one_line(row.customer)}) · "
            f"{e.kind} to {one_line(e.target)} · raised {local(e.created_at, tz)} by {one_line(e.created_by)}"
        )
        if e.rule:
            text.append(f" (rule '{one_line(config.escalation.rule_label(e.rule))}')")
        if e.acknowledged_at is not None:
            text.append(f" · acknowledged {local(e.acknowledged_at, tz)} by {one_line(e.acknowledged_by or '')}")
        text.append(f"\nReason: {one_line(e.reason)}")
        show_text(detail, text)

    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        if self.desk is not None:
            self._show_detail()

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        event.stop()
        self.action_open()

    # -- actions ---------------------------------------------------------------------------------

    @property
    def cursor_row(self) -> EscRow | None:
        item = self.list_view.highlighted_child
        return item.row if isinstance(item, EscItem) else None

    def action_cursor_down(self) -> None:
        self.list_view.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.list_view.action_cursor_up()

    def action_cursor_first(self) -> None:
        if self.rows:
            self.list_view.index = 0

    def action_cursor_last(self) -> None:
        if self.rows:
            self.list_view.index = len(self.rows) - 1

    def action_reload(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_open(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.app.push_screen(ticket_screen(row.ticket_id))

    def _do(self, what: str, call, done: str, label: str = "", again: Callable[[], None] | None = None) -> None:
        """Write in a thread (a desk busy with another writer must not freeze the screen for its retry
        window; the status line shows it pending, pending.py), then say ``done`` (or why not) and reload.
        ``again``: the dialog opened again with what was typed, when the ticket changed since the row shown."""
        from ...errors import Conflict
        from ..pending import write_in_thread

        changed: list[bool] = []

        def guarded():
            try:
                return call()
            except Conflict:
                changed.append(True)
                raise

        def ok(_result) -> None:
            self.app.notify(done, title=what.capitalize())
            self._reload_if_shown()

        def refused(message: str) -> None:
            self.app.notify(message, title=f"Not {what}", severity="warning", timeout=10, markup=False)
            self._reload_if_shown()
            if changed and again is not None and self.is_current:
                again()

        write_in_thread(self, label or what, guarded, done=ok, failed=refused)

    def _reload_if_shown(self) -> None:
        if self.is_mounted and not self._app_closing():
            self.reload()

    def action_acknowledge(self) -> None:
        row = self.cursor_row
        if row is None or self.desk is None:
            return
        desk = self.desk
        self._do(
            "acknowledged",
            lambda: desk.acknowledge(row.id),
            f"escalation {row.id} of #{row.ticket_id}",
            f"acknowledgement of escalation {row.id}",
        )

    def action_return_to_l1(self, again: str = "") -> None:
        """``r``: back to L1 with a note, at the ticket's version shown (``again``: the note typed before the
        ticket changed under the prompt: it opens again with it, on the row as it is now)."""
        row = self.cursor_row
        if row is None or self.desk is None:
            return
        desk = self.desk

        def done(note: str | None) -> None:
            if note:
                version = self._version_shown(row, again=bool(again))
                self._do(
                    "returned",
                    lambda: desk.de_escalate(row.id, note, expect_version=version),
                    f"#{row.ticket_id} is back with L1",
                    f"return of #{row.ticket_id} to L1",
                    again=lambda: self.action_return_to_l1(again=note),
                )

        self.app.push_screen(
            TextPromptScreen(
                f"Return #{row.ticket_id} to L1: a note for L1 (required)",
                "what was done, what L1 should do next",
                value=again,
            ),
            done,
        )

    def _version_shown(self, row: EscRow, again: bool) -> int:
        """The ticket's version a change from a dialog is made at: the row's when the dialog opened; for a dialog
        opened again after a refusal (the ticket changed), the row's as the list shows it now (reloaded since)."""
        if again:
            return next((r.version for r in self.rows if r.id == row.id), row.version)
        return row.version

    def escalation_targets(self) -> dict[str, tuple[str, str]]:
        """Choice label → (kind, target): the configured groups above L1, then the managers."""
        return escalation_targets(self._desk.config)

    def action_escalate(self, again: tuple[str, str, str] | None = None) -> None:
        row = self.cursor_row
        if row is None or self.desk is None:
            return

        desk = self.desk

        def escalate(kind: str, to: str, reason: str) -> None:
            version = self._version_shown(row, again=again is not None)
            self._do(
                "escalated",
                lambda: desk.escalate(row.ticket_id, kind, to, reason, expect_version=version),
                f"#{row.ticket_id} → {to}",
                f"escalation of #{row.ticket_id} to {to}",
                again=lambda: self.action_escalate(again=(kind, to, reason)),
            )

        ask_escalation(
            self.app,
            desk.config,
            f"#{row.ticket_id}",
            escalate,
            title="Escalate further",
            further=(row.esc.kind, row.esc.target),
            open_lines=[(r.esc.kind, r.esc.target) for r in self.rows if r.ticket_id == row.ticket_id],
            again=again,
        )


def _keep_place(before: list[int], current: int | None, after: list[int]) -> int:
    """Where the cursor goes once the list is reloaded: on the row it was on; when that row has left the list
    (acknowledged elsewhere, returned to L1, its ticket resolved), on the row that followed it, else the one
    before it, as a list of work to go through expects."""
    where = {row: i for i, row in enumerate(after)}
    if current in where:
        return where[current]
    if current in before:
        p = before.index(current)
        for row in [*before[p + 1 :], *reversed(before[:p])]:
            if row in where:
                return where[row]
        return min(p, len(after) - 1)
    return 0


def ticket_screen(ticket_id: int) -> Screen:
    from .detail import DetailScreen

    return DetailScreen(ticket_id)
