"""The customer panel (``i`` on a ticket, ``i`` on the dashboard's customers at risk): who the customer is for the
desk and what else it has going on.

The customer's name, VIP flag and the policy in force, its notes for the desk, the ticket's contact (name,
e-mail, phone, role) and its other contacts, then its open tickets and its last resolved ones: ``enter`` on one
opens it, ``esc`` closes the panel. Read in a thread before the panel opens (``open_customer_panel``); every
name, note and subject is ``rich.text.Text`` (inert).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from ...errors import DeskError
from ...fmt import one_line
from ...records import ContactRecord, CustomerRecord, TicketRecord
from ...store.queue_terms import OPEN_STATUSES

LAST_RESOLVED = 5


@dataclass
class PanelData:
    name: str  # as the ticket (or the dashboard) names it
    customer: CustomerRecord | None
    policy: str
    contact: ContactRecord | None = None
    open_tickets: list[TicketRecord] = field(default_factory=list)
    resolved: list[TicketRecord] = field(default_factory=list)
    current: int | None = None  # the ticket the panel was opened from (not listed among the others)


def load_panel(desk, name: str, ticket: TicketRecord | None = None) -> PanelData:
    """The panel's data (call it in a thread)."""
    customer = desk.find_customer(name)
    data = PanelData(name=name, customer=customer, policy=desk.policy_name(customer.name if customer else name))
    if ticket is not None:
        data.contact = desk.contact_of(ticket)
        data.current = ticket.id
    if customer is not None:
        data.open_tickets = [t for t in desk.customer_tickets(customer.id, OPEN_STATUSES) if t.id != data.current]
        data.resolved = desk.customer_tickets(customer.id, ["resolved", "closed"])[:LAST_RESOLVED]
    return data


def _row(t: TicketRecord) -> Text:
    row = Text()
    row.append(f"#{t.id:<5} ", style="bold")
    row.append(f"{t.priority} {t.status:<8} ")
    row.append(one_line(t.subject, 46))
    return row


class CustomerPanel(ModalScreen):
    """Returns the id of the ticket chosen (enter), or None (esc)."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="panel.close"),
        Binding("i", "close", "Close", show=False, id="panel.close_i"),
    ]

    def __init__(self, data: PanelData) -> None:
        super().__init__()
        self.data = data

    def compose(self) -> ComposeResult:
        d = self.data
        head = Text(one_line(d.customer.name if d.customer else d.name, 50))
        if d.customer is not None and d.customer.vip:
            head.append("  VIP", style="bold reverse")
        head.append(f"  · policy {one_line(d.policy, 20)}", style="dim")
        with Vertical(id="panel"):
            yield Label(head, id="panel-head")
            yield Static(self._about(), id="panel-about")
            options: list[Option | None] = []
            options.append(Option(Text(f"Open tickets ({len(d.open_tickets)})", style="bold"), disabled=True))
            options += [Option(_row(t), id=str(t.id)) for t in d.open_tickets]
            options.append(Option(Text(f"Last resolved ({len(d.resolved)})", style="bold"), disabled=True))
            options += [Option(_row(t), id=str(t.id)) for t in d.resolved]
            yield OptionList(*[o for o in options if o is not None], id="panel-tickets")
            yield Label(Text("enter opens the ticket · esc closes"), classes="panel-hint")

    def _about(self) -> Text:
        d = self.data
        out = Text()
        if d.customer is None:
            out.append("no customer record (its tickets name it; `deskterm customers import` adds one)", style="dim")
            return out
        if d.customer.notes:
            out.append("Notes: ", style="bold")
            out.append(one_line(d.customer.notes, 300))
            out.append("\n")
        if d.contact is not None:
            out.append("Caller: ", style="bold")
            out.append(
                one_line(
                    " · ".join(x for x in (d.contact.name, d.contact.email, d.contact.phone, d.contact.role) if x), 66
                )
            )
            out.append("\n")
        others = [c for c in d.customer.contacts if d.contact is None or c.id != d.contact.id]
        if others:
            out.append("Contacts: ", style="bold")
            out.append(
                one_line(
                    ", ".join(f"{c.name}" + (f" ({c.phone or c.email})" if c.phone or c.email else "") for c in others),
                    140,
                )
            )
        elif d.contact is None:
            out.append("no contact on record", style="dim")
        return out

    def on_mount(self) -> None:
        tickets = self.query_one("#panel-tickets", OptionList)
        tickets.focus()
        for i in range(tickets.option_count):
            if not tickets.get_option_at_index(i).disabled:
                tickets.highlighted = i
                break

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.dismiss(int(event.option.id))

    def action_close(self) -> None:
        self.dismiss(None)


def show_customer_panel(screen, name: str, ticket: TicketRecord | None = None) -> None:
    """``i``: the customer's panel, read in a worker. It comes after a read: the keys typed meanwhile wait for it
    (keygate.py; asked here, in the key's own handling, before the worker runs), not reach the screen behind."""
    coming = screen.app.keygate.expect()
    screen.run_worker(open_customer_panel(screen, name, ticket, coming), group="customer-panel")


async def open_customer_panel(screen, name: str, ticket: TicketRecord | None = None, coming=lambda: None) -> None:
    """Read the customer's panel in a thread, show it; a ticket chosen there opens on the ticket screen."""
    try:
        app = screen.app
        desk = getattr(app, "desk", None)
        if desk is not None:
            await _open_panel(app, screen, desk, name, ticket)
    finally:
        coming()


async def _open_panel(app, screen, desk, name: str, ticket: TicketRecord | None) -> None:
    try:
        data = await asyncio.to_thread(load_panel, desk, name, ticket)
    except DeskError as exc:
        screen.notify(one_line("; ".join(exc.problems), 200), title="Customer", severity="error")
        return

    def chosen(ticket_id: int | None) -> None:
        if ticket_id is not None:
            from .detail import DetailScreen

            app.push_screen(DetailScreen(ticket_id))

    app.push_screen(CustomerPanel(data), chosen)
