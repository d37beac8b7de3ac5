"""The new-ticket form (``N`` from anywhere; ``A`` on a ticket: the same caller again): an agent logs a phone call.

Customer (completed over the known customers: typing "cli" and tab gives "Clinique Saint-Jean"), contact
(completed over that customer's contacts, or a new one: name, and e-mail and phone in their own fields),
subject, description (multi-line), priority (``P2``, or impact and urgency as ``21``: impact 2, urgency 1),
type, category (the configured taxonomy), group. The line under the fields shows the SLA the ticket will get
(its policy, when the first response is due), computed by the domain from the clock as the fields change. ctrl+s
saves through the service in a thread and opens the new ticket; a customer the desk does not know is refused
once, with the closest names (ctrl+s again creates it). esc keeps everything typed as a draft (tui/drafts.py,
on disk), which the next ``N`` takes back; ctrl+g discards it. Every label that comes from customers is
``rich.text.Text`` (inert).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.suggester import Suggester
from textual.widgets import Input, Label, Static, TextArea

from ...domain import priority as prio_rules
from ...domain.calendar import epoch
from ...domain.customers import ContactSpec, name_key
from ...domain.sla import TIMER_LABELS, evaluate
from ...errors import DeskError
from ...fmt import hours_minutes, one_line
from ...records import ContactRecord, CustomerRecord, NewEvent, NewTicket
from ..pending import run_write
from ..widgets.fields import Editor, Field
from .detail_modals import DetailDialog

DRAFT_TICKET, DRAFT_KIND = 0, "new"  # the form's draft: tui/drafts.py keeps it beside the replies and notes
FIELDS = ("customer", "contact", "subject", "priority", "type", "category", "group", "email", "phone")


@dataclass
class FormData:
    """What the form needs, read off the event loop before it opens."""

    customers: list[CustomerRecord]
    groups: list[str]
    categories: list[str] = field(default_factory=list)
    draft: dict | None = None
    caller: tuple[str, str] | None = None  # (customer, contact) of the ticket the form was opened from
    caller_ticket: int | None = None
    from_draft: bool = False  # ``draft`` is a draft kept by an earlier esc (else the same caller's fields)


class CallbackSuggester(Suggester):
    """Completes from a list that changes (the contacts of the customer typed): the first that begins with it."""

    def __init__(self, choices) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.choices = choices

    async def get_suggestion(self, value: str) -> str | None:
        return complete(value, self.choices())


def complete(typed: str, choices: list[str]) -> str | None:
    """The choice a typed beginning means: one that begins with it (case and accents aside), else one that
    contains it as the beginning of a word ("saint" → "Clinique Saint-Jean")."""
    key = name_key(typed)
    if not key:
        return None
    for c in choices:
        if name_key(c).startswith(key):
            return c
    for c in choices:
        folded = name_key(c)
        if any(w.startswith(key) for w in folded.replace("-", " ").replace("<", " ").split()):
            return c
    return None


def parse_priority(text: str) -> tuple[str | None, int | None, int | None]:
    """``P2`` → ("P2", None, None); ``21`` or ``2/1`` or ``2x1`` (impact, urgency) → (matrix, 2, 1);
    empty → P3. ValueError says why otherwise."""
    text = text.strip().upper().replace(" ", "")
    if not text:
        return "P3", None, None
    if prio_rules.is_priority(text):
        return text, None, None
    digits = [c for c in text if c.isdigit()]
    if len(digits) == 2 and all(c.isdigit() or c in "/X*" for c in text):
        impact, urgency = int(digits[0]), int(digits[1])
        try:
            return prio_rules.from_matrix(impact, urgency), impact, urgency
        except ValueError:
            pass
    raise ValueError(f"{text!r}: give P1..P4, or impact and urgency as 21 (each 1 high … 3 low)")


class NewTicketScreen(DetailDialog):
    """Returns the new ticket's id (saved), or None (esc: kept as a draft; ctrl+g: discarded)."""

    BINDINGS = [
        Binding("ctrl+g", "discard", "Discard the draft", id="new.discard"),
        Binding("f2", "same_caller", "Same caller as the ticket", id="new.same_caller"),
    ]

    title_text = "New ticket"

    def __init__(self, desk, data: FormData, drafts=None) -> None:
        super().__init__()
        self.desk = desk
        self.data = data
        self.drafts = drafts
        self.by_key = {name_key(c.name): c for c in data.customers}
        self.confirm_new: str | None = None  # a new customer's name, once refused: ctrl+s again creates it
        self.saving = False
        caller = f" · f2: caller of #{data.caller_ticket}" if data.caller_ticket else " · tab moves"
        self.hint = f"ctrl+s saves · esc keeps a draft · ctrl+g discards{caller}"

    # -- layout --------------------------------------------------------------------------------------

    def _row(self, label: str, *widgets) -> Horizontal:
        return Horizontal(Label(label, classes="nt-label"), *widgets, classes="nt-row")

    def fields(self) -> ComposeResult:
        names = [c.name for c in self.data.customers]
        yield self._row(
            "Customer",
            Field(
                placeholder="type to complete · tab",
                suggester=CallbackSuggester(lambda: names),
                id="nt-customer",
            ),
        )
        yield Static("", id="nt-about")
        yield self._row(
            "Contact",
            Field(
                placeholder="name or e-mail (a new one: type it)",
                suggester=CallbackSuggester(self._contact_labels),
                id="nt-contact",
            ),
        )
        yield self._row("Subject", Field(placeholder="what the caller reports", id="nt-subject"))
        yield Label("Description", classes="nt-label")
        yield Editor("", soft_wrap=True, tab_behavior="focus", id="nt-description")
        types = list(prio_rules.TYPES)
        yield self._row(
            "Priority",
            Field("", placeholder="P3 or 21=impact,urgency", id="nt-priority", classes="nt-small"),
            Label(" Type ", classes="nt-label"),
            Field("incident", suggester=CallbackSuggester(lambda: types), id="nt-type", classes="nt-small"),
        )
        categories = self.data.categories
        yield self._row(
            "Category",
            Field(
                placeholder="network/vpn" if categories else "(no taxonomy configured)",
                suggester=CallbackSuggester(lambda: categories),
                id="nt-category",
                classes="nt-small",
                disabled=not categories,
            ),
            Label(" Group ", classes="nt-label"),
            Field("L1", suggester=CallbackSuggester(lambda: self.data.groups), id="nt-group", classes="nt-small"),
        )
        yield self._row(
            "New contact",
            Field(placeholder="e-mail", id="nt-email", classes="nt-small"),
            Field(placeholder="phone", id="nt-phone", classes="nt-small"),
        )
        yield Static("", id="nt-sla")
        yield Static("", id="nt-problem")

    def on_mount(self) -> None:
        draft = self.data.draft or {}
        for name in FIELDS:
            if name in draft and isinstance(draft[name], str):
                self.query_one(f"#nt-{name}", Input).value = draft[name]
        if isinstance(draft.get("description"), str):
            self.query_one("#nt-description", TextArea).text = draft["description"]
        if draft and self.data.from_draft:
            self.say("your draft is back (ctrl+g discards it)", problem=False)
        first = "#nt-subject" if draft.get("customer") else "#nt-customer"
        self.query_one(first, Input).focus()
        self.refresh_about()

    # -- what the form shows -------------------------------------------------------------------------

    def customer(self) -> CustomerRecord | None:
        typed = self.text("nt-customer")
        return self.by_key.get(name_key(typed)) if typed else None

    def _contact_labels(self) -> list[str]:
        found = self.customer()
        return [c.label for c in found.contacts] if found else []

    def contact(self) -> ContactRecord | None:
        found = self.customer()
        typed = self.text("nt-contact")
        if found is None or not typed:
            return None
        for c in found.contacts:
            if typed in (c.label, c.email) or name_key(typed) == name_key(c.name):
                return c
        return None

    def say(self, text: str, problem: bool = True) -> None:
        line = self.query_one("#nt-problem", Static)
        line.styles.color = None if not problem else "red"
        line.update(Text(text))

    def refresh_about(self) -> None:
        found = self.customer()
        about = self.query_one("#nt-about", Static)
        if found is None:
            typed = self.text("nt-customer")
            about.update(Text(f"{one_line(typed, 40)!r}: not a customer of the desk yet" if typed else ""))
        else:
            bits = [*(["VIP"] if found.vip else []), f"policy {self.desk.policy_name(found.name)}"]
            bits.append(f"{len(found.contacts)} contact{'s' if len(found.contacts) != 1 else ''}")
            if found.notes:
                bits.append(one_line(found.notes, 200))
            about.update(Text(one_line("  " + " · ".join(bits), 76)))
        self.refresh_sla()

    def refresh_sla(self) -> None:
        line = self.query_one("#nt-sla", Static)
        typed = self.text("nt-customer")
        found = self.customer()
        try:
            priority, _, _ = parse_priority(self.text("nt-priority"))
        except ValueError as exc:
            line.update(Text(f"priority {exc}"))
            return
        name = found.name if found else typed
        if not name:
            line.update(Text("SLA: choose the customer"))
            return
        policy = self.desk.config.policy_for(name)
        now = self.desk.clock.now()
        sla = evaluate(epoch(now), priority or "P3", [], policy, epoch(now))
        tz = self.desk.config.tz
        parts = []
        for timer in ("first_response", "resolution"):
            t = sla.timers.get(timer)
            if t is None or t.due is None:
                continue
            due = datetime.fromtimestamp(t.due, UTC).astimezone(tz).strftime("%a %H:%M")
            parts.append(f"{TIMER_LABELS[timer]} {due} ({hours_minutes(t.target)})")
        line.update(Text(one_line(f"SLA {self.desk.policy_name(name)} {priority} · due: " + " · ".join(parts), 76)))

    # -- typing ---------------------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.input.id in ("nt-customer", "nt-priority"):
            self.confirm_new = None if event.input.id == "nt-customer" else self.confirm_new
            self.refresh_about()
        self._keep_draft()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._keep_draft()

    def on_descendant_blur(self, event) -> None:
        """Leaving a field with a completion offered takes it (tab after "cli" gives "Clinique Saint-Jean")."""
        widget = event.widget if hasattr(event, "widget") else None
        if not isinstance(widget, Input) or widget.id not in (
            "nt-customer",
            "nt-contact",
            "nt-type",
            "nt-group",
            "nt-category",
        ):
            return
        typed = widget.value.strip()
        if not typed:
            return
        choices = {
            "nt-customer": lambda: [c.name for c in self.data.customers],
            "nt-contact": self._contact_labels,
            "nt-type": lambda: list(prio_rules.TYPES),
            "nt-group": lambda: self.data.groups,
            "nt-category": lambda: self.data.categories,
        }[widget.id]()
        if any(c == typed for c in choices):
            return
        found = complete(typed, choices)
        if found is not None:
            widget.value = found

    def values(self) -> dict:
        out = {name: self.query_one(f"#nt-{name}", Input).value for name in FIELDS}
        out["description"] = self.query_one("#nt-description", TextArea).text
        return out

    def _keep_draft(self) -> None:
        if self.drafts is None or self.saving:
            return
        values = self.values()
        typed = any(v.strip() for k, v in values.items() if k not in ("type", "group")) or values["type"] != "incident"
        self.drafts.put(DRAFT_TICKET, DRAFT_KIND, json.dumps(values, ensure_ascii=False) if typed else "")

    # -- keys -----------------------------------------------------------------------------------------

    def action_same_caller(self) -> None:
        if self.data.caller is None:
            self.say("f2 fills the caller of the ticket the form was opened from (open one, then A or N)")
            return
        customer, contact = self.data.caller
        self.query_one("#nt-customer", Input).value = customer
        self.query_one("#nt-contact", Input).value = contact
        self.query_one("#nt-subject", Input).focus()

    def action_cancel(self) -> None:
        self._keep_draft()
        self.dismiss(None)

    def action_discard(self) -> None:
        if self.drafts is not None:
            self.drafts.put(DRAFT_TICKET, DRAFT_KIND, "")
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """enter in a field moves to the next one (ctrl+s saves): a caller's name is not a finished ticket."""
        event.stop()
        self.focus_next()

    def action_submit(self) -> None:
        if self.saving:
            return
        for widget in self.query(Input):  # the field being left takes its completion, as tab would
            if widget.has_focus:
                self.on_descendant_blur(type("Blur", (), {"widget": widget})())
        values = self.values()
        try:
            new, new_contact, create_customer = self.ticket(values)
        except ValueError as exc:
            self.say(str(exc))
            return
        self.saving = True
        self.say("saving…", problem=False)
        self.run_worker(self._save(new, new_contact, create_customer), group="new-ticket")

    def ticket(self, values: dict) -> tuple[NewTicket, ContactSpec | None, bool]:
        """The ticket the form describes, or ValueError naming the field to fix."""
        customer_typed = values["customer"].strip()
        if not customer_typed:
            raise ValueError("customer: empty (type its first letters: the known ones complete)")
        if not values["subject"].strip():
            raise ValueError("subject: empty")
        try:
            priority, impact, urgency = parse_priority(values["priority"])
        except ValueError as exc:
            raise ValueError(f"priority: {exc}") from None
        ticket_type = values["type"].strip() or "incident"
        if ticket_type not in prio_rules.TYPES:
            raise ValueError(f"type: {ticket_type!r} is not one of {', '.join(prio_rules.TYPES)}")
        found = self.customer()
        create_customer = found is None and self.confirm_new == name_key(customer_typed)
        contact_typed = values["contact"].strip()
        known = self.contact()
        new_contact = None
        if contact_typed and known is None:
            email = values["email"].strip() or (contact_typed if "@" in contact_typed else None)
            name = contact_typed if "@" not in contact_typed else contact_typed.split("@")[0]
            new_contact = ContactSpec(customer="", name=name, email=email, phone=values["phone"].strip() or None)
        new = NewTicket(
            subject=values["subject"].strip(),
            customer=found.name if found else customer_typed,
            priority=priority or "P3",
            created_at=self.desk.clock.now(),
            type=ticket_type,
            description=values["description"],
            impact=impact,
            urgency=urgency,
            where="new ticket",
            contact=(known.email or known.name) if known else None,
        )
        new.category = values["category"].strip() or None
        group = values["group"].strip()
        if group and group != "L1":  # written with the ticket, in its transaction: a group event at creation
            new.events = [NewEvent(at=new.created_at, kind="group", author=self.desk.user, from_value="L1", to=group)]
        return new, new_contact, create_customer

    async def _save(self, new: NewTicket, new_contact: ContactSpec | None, create_customer: bool) -> None:
        desk = self.desk

        def write() -> int:
            return desk.create(new, new_customer=create_customer, new_contact=new_contact).id

        try:
            ticket_id = await run_write(self, f"saving the new ticket for {one_line(new.customer, 30)}", write)
        except DeskError as exc:
            self.saving = False
            message = "; ".join(exc.problems)
            if "unknown customer" in message:
                self.confirm_new = name_key(new.customer)
                message = message.replace("add --new-customer to create it", "ctrl+s again creates it")
            self.say(message.removeprefix("--customer: "))
            return
        if self.drafts is not None:
            self.drafts.put(DRAFT_TICKET, DRAFT_KIND, "")
        self.dismiss(ticket_id)
