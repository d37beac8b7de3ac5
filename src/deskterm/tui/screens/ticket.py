"""A read-only view of one ticket: its fields, live SLA timers and whole history (esc goes back).

The full ticket screen is another issue; this one exists so that ``enter`` on the queue leads somewhere.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...domain.calendar import epoch
from ...fmt import inert, local, one_line
from ..widgets.countdown import Countdown, live_timer


class TicketScreen(Screen):
    BINDINGS = [Binding("escape,q", "back", "Back", id="ticket.back")]

    def __init__(self, ticket_id: int) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self._sla = None
        self._evaluated_at = 0

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="ticket"):
            yield Static(id="ticket-head")
            yield Horizontal(id="timers")
            yield Static(id="ticket-history")
        yield Footer()

    def on_mount(self) -> None:
        desk = self.app.desk  # type: ignore[attr-defined]
        record = desk.ticket(self.ticket_id)
        self.record = record
        now = desk.clock.now()
        self._sla = desk.sla(record, at=now)
        self._policy = desk.config.policy_for(record.customer)
        self._evaluated_at = epoch(now)
        tz = desk.config.tz
        head = Text()
        head.append(f"#{record.id}", style="bold")
        if record.ref:
            head.append(f"  {one_line(record.ref)}")
        head.append(f"  {one_line(record.subject)}\n", style="bold")
        head.append(f"{one_line(record.customer)} · {record.priority} · {record.status} · "
                    f"{one_line(record.assignee or 'unassigned')} · group {one_line(record.group)} · "
                    f"created {local(record.created_at, tz)} · version {record.version}\n")
        if record.description:
            head.append(inert(record.description, newlines=True) + "\n")
        self.query_one("#ticket-head", Static).update(head)
        timers = self.query_one("#timers", Horizontal)
        for name in self._sla.timers:
            timers.mount(Countdown(id=f"timer-{name}"))
        history = Text()
        for e in record.events:
            what = e.kind
            if e.kind == "reply":
                what = "reply" if e.public else "note"
            line = f"{local(e.at, tz)}  {one_line(e.author):<10} {what}"
            if e.to:
                line += f" → {one_line(e.to)}"
            if e.body:
                line += f": {one_line(e.body, 80)}"
            history.append(line + "\n")
        self.query_one("#ticket-history", Static).update(history or Text("no history yet"))
        self.call_after_refresh(self.clock_tick, now)

    def clock_tick(self, now) -> None:
        if self._sla is None:
            return
        for name, timer in self._sla.timers.items():
            live = live_timer(timer, self._policy.calendar, self._policy.warn_at, self._evaluated_at, epoch(now))
            for widget in self.query(f"#timer-{name}"):
                widget.timer = live  # type: ignore[attr-defined]

    def action_back(self) -> None:
        self.app.pop_screen()
