"""The dialogs of the ticket-detail screen: a text editor, small forms, and the "why is it due" pane.

Every dialog works with the keyboard alone: tab moves between fields, ctrl+s applies (enter in a
one-line field too), esc cancels. Forms return a dict of their values (the screen calls the service and
shows its refusals); the editor returns ``(action, text)`` so that a cancelled draft is kept by the screen.
Labels that may come from customers (names) are ``rich.text.Text``, never markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from ...domain.priority import PRIORITIES
from ...fmt import one_line
from ..widgets.fields import Editor, Field

NONE = Select.NULL


def options(values, labels: dict | None = None) -> list[tuple[Text, object]]:
    return [(Text(labels.get(v, str(v)) if labels else str(v)), v) for v in values]


class DetailDialog(ModalScreen):
    """A centred box; ctrl+s applies, esc cancels (returns None)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="detail.dialog.cancel"),
        Binding("ctrl+s", "submit", "Apply", priority=True, id="detail.dialog.submit"),
    ]

    title_text = ""
    hint = "ctrl+s applies · esc cancels · tab moves"

    def compose(self) -> ComposeResult:
        with Vertical(id="detail-dialog"):
            yield Label(Text(self.title_text), id="detail-dialog-title")
            yield from self.fields()
            yield Label(Text(self.hint), classes="detail-hint")

    def fields(self) -> ComposeResult:
        yield from ()

    def values(self) -> dict | None:
        """The form's values, or None (after a notification) when they cannot be applied."""
        return {}

    def action_submit(self) -> None:
        values = self.values()
        if values is not None:
            self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def select(self, id: str):
        value = self.query_one(f"#{id}", Select).value
        return None if value is NONE else value

    def text(self, id: str) -> str:
        return self.query_one(f"#{id}", Input).value.strip()


class EditorDialog(DetailDialog):
    """A reply or an internal note: returns ("send", text) on ctrl+s, ("cancel", text) on esc, ("discard", text)
    on ctrl+g. ``on_change`` is called with the text as it is typed (the screen keeps the draft on disk)."""

    hint = "ctrl+s sends · esc keeps the draft and closes · ctrl+g discards it"
    BINDINGS = [Binding("ctrl+g", "discard", "Discard the draft", id="detail.dialog.discard")]

    def __init__(self, title: str, text: str = "", kind: str = "reply", on_change=None) -> None:
        super().__init__()
        self.title_text = title
        self.initial = text
        self.kind = kind
        self.on_change = on_change

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if self.on_change is not None:
            self.on_change(event.text_area.text)

    def action_discard(self) -> None:
        self.dismiss(("discard", self.query_one(TextArea).text))

    def fields(self) -> ComposeResult:
        area = Editor(self.initial, soft_wrap=True, tab_behavior="focus", id="detail-editor", classes=f"-{self.kind}")
        yield area

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    def action_submit(self) -> None:
        self.dismiss(("send", self.query_one(TextArea).text))

    def action_cancel(self) -> None:
        self.dismiss(("cancel", self.query_one(TextArea).text))


class PriorityDialog(DetailDialog):
    title_text = "Priority: impact × urgency, or a priority directly"

    def __init__(self, priority: str, impact: int | None, urgency: int | None, reason: str | None = None) -> None:
        super().__init__()
        self.current = (priority, impact, urgency)
        self.reason = reason or ""  # typed before (the dialog re-opened on a ticket changed meanwhile)

    def fields(self) -> ComposeResult:
        _, impact, urgency = self.current
        levels = {1: "1 high", 2: "2 medium", 3: "3 low"}
        with Horizontal():
            with Vertical():
                yield Label("impact", classes="detail-field-label")
                yield Select(options((1, 2, 3), levels), prompt="impact", value=impact or NONE, id="impact")
            with Vertical():
                yield Label("urgency", classes="detail-field-label")
                yield Select(options((1, 2, 3), levels), prompt="urgency", value=urgency or NONE, id="urgency")
            with Vertical():
                yield Label("or directly", classes="detail-field-label")
                yield Select(options(PRIORITIES), prompt="priority", id="direct")
        yield Label("reason (kept in the history)", classes="detail-field-label")
        yield Field(self.reason, placeholder="why the priority changes", id="reason")

    def values(self) -> dict | None:
        direct, impact, urgency = self.select("direct"), self.select("impact"), self.select("urgency")
        reason = self.text("reason") or None
        if direct is not None:
            return {"priority": direct, "reason": reason}
        if impact is None or urgency is None:
            self.notify(markup=False, message="choose both impact and urgency, or a priority", severity="warning")
            return None
        return {"impact": impact, "urgency": urgency, "reason": reason}


class TypeDialog(DetailDialog):
    title_text = "Type and classification"

    def __init__(self, types, current_type: str, classifications, current_class: str | None) -> None:
        super().__init__()
        self.types, self.current_type = types, current_type
        self.classifications, self.current_class = classifications, current_class

    def fields(self) -> ComposeResult:
        with Horizontal():
            with Vertical():
                yield Label("type", classes="detail-field-label")
                yield Select(options(self.types), value=self.current_type, allow_blank=False, id="type")
            with Vertical():
                yield Label("classification", classes="detail-field-label")
                yield Select(
                    options(
                        self.classifications,
                        {"defect": "defect (covered)", "change_request": "change request (billable)"},
                    ),
                    prompt="classification",
                    value=self.current_class or NONE,
                    id="classification",
                )

    def values(self) -> dict | None:
        return {"type": self.select("type"), "classification": self.select("classification")}


class TimeDialog(DetailDialog):
    """Log time spent on the ticket: a duration (25m, 1h30, 2h; at most 24 h) and what it was spent on."""

    title_text = "Log time spent on this ticket"
    hint = "25m, 1h30, 2h (at most 24 h) · enter or ctrl+s logs · esc cancels"

    def __init__(self, preset: dict | None = None) -> None:
        super().__init__()
        self.preset = preset or {}  # what was typed before the ticket changed under the dialog

    def fields(self) -> ComposeResult:
        yield Label("time spent", classes="detail-field-label")
        yield Field(self.preset.get("duration") or "", placeholder="25m, 1h30, 2h", id="duration")
        yield Label("note (what it was spent on; optional)", classes="detail-field-label")
        yield Field(self.preset.get("note") or "", placeholder="restored the tunnel", id="note")

    def values(self) -> dict | None:
        from ...domain.billing import RuleError, parse_work

        text = self.text("duration")
        try:
            seconds = parse_work(text)
        except RuleError as exc:
            self.notify(markup=False, message=str(exc) if text.strip() else "type the time spent", severity="warning")
            return None
        return {"seconds": seconds, "note": self.text("note").strip() or None}


class AssignDialog(DetailDialog):
    title_text = "Assign to an agent and/or a group"
    hint = "agent: a name, me, or none to unassign · enter or ctrl+s applies · esc cancels"

    def __init__(self, assignee: str | None, group: str, agents: list[str], groups: list[str]) -> None:
        super().__init__()
        self.assignee, self.group = assignee or "", group
        self.agents, self.groups = agents, groups

    def fields(self) -> ComposeResult:
        yield Label("agent", classes="detail-field-label")
        yield Field(
            self.assignee,
            placeholder="agent name, me, none",
            suggester=SuggestFromList([*self.agents, "me", "none"], case_sensitive=False),
            id="agent",
        )
        yield Label("group", classes="detail-field-label")
        yield Field(
            self.group, placeholder="group", suggester=SuggestFromList(self.groups, case_sensitive=False), id="group"
        )

    def values(self) -> dict | None:
        return {"assign": self.text("agent"), "group": self.text("group")}


class CategoryDialog(DetailDialog):
    """The contact reason: type to narrow the taxonomy (the first match is completed in the field; the list
    shows every match), ``down`` goes to the list, enter applies the category typed, else the one highlighted.
    ``none`` clears it."""

    title_text = "Category (contact reason)"
    hint = "type to narrow · down: the list · enter applies · none clears · esc cancels"

    def __init__(self, current: str | None, paths: list[str], about: str | None = None) -> None:
        super().__init__()
        self.current, self.paths, self.about = current, paths, about
        self._to_list = False  # down was pressed in the field: the list is taking the focus
        self._listed_for = ""  # the text the list shows the matches of

    def fields(self) -> ComposeResult:
        yield Label(Text(self.about or f"now: {self.current or 'none'}"), classes="detail-field-label")
        yield Field(
            "",
            placeholder="category, e.g. network/vpn",
            suggester=SuggestFromList([*self.paths, "none"], case_sensitive=False),
            id="category",
        )
        yield OptionList(*[Option(Text(p), id=p) for p in self.paths], id="categories")

    def on_mount(self) -> None:
        self.query_one("#category", Input).focus()

    def matches(self, typed: str) -> list[str]:
        needle = typed.strip().casefold()
        starts = [p for p in self.paths if p.casefold().startswith(needle)]
        return starts or [p for p in self.paths if needle in p.casefold()]

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        # the field's text now, not the message's: the messages of a burst of typing arrive after the keys
        # that follow it ("net" then down at once), and "n" would rebuild the list the down moved in
        self._narrow(self.query_one("#category", Input).value)

    def _narrow(self, typed: str) -> None:
        """The list of the categories ``typed`` matches, the first highlighted (once per text: the message of a
        change may arrive after the keys typed next, which must not be undone)."""
        if typed == self._listed_for:
            return
        self._listed_for = typed
        found = self.query_one("#categories", OptionList)
        found.clear_options()
        found.add_options([Option(Text(p), id=p) for p in self.matches(typed)])
        if found.option_count:
            found.highlighted = 0

    def on_key(self, event) -> None:
        if event.key == "down" and self.focused is self.query_one("#category", Input):
            event.stop()
            event.prevent_default()
            found = self.query_one("#categories", OptionList)
            self._narrow(self.query_one("#category", Input).value)  # what is typed so far, before moving
            if self._to_list:  # a second down typed before the list took the focus: it moves in the list
                found.action_cursor_down()
            else:
                self._to_list = True
                found.focus()

    def on_descendant_focus(self, event) -> None:
        if event.widget is self.query_one("#category", Input):
            self._to_list = False

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss({"category": event.option.id})

    def values(self) -> dict | None:
        typed = self.text("category")
        if typed.casefold() in ("none", "-") or any(p.casefold() == typed.casefold() for p in self.paths):
            return {"category": typed}
        found = self.query_one("#categories", OptionList)
        if typed and found.highlighted is not None and found.option_count:
            return {"category": found.get_option_at_index(found.highlighted).id}
        return {"category": typed}  # empty or unknown: the service says why


class LinkDialog(DetailDialog):
    """The open major incidents first (enter links to the highlighted one), then any ticket by id or ref."""

    title_text = "Link to a major incident"
    hint = "enter links · tab: another ticket by id or ref (empty unlinks) · esc cancels"

    def __init__(self, current: int | None, majors: list | None = None) -> None:
        super().__init__()
        self.current = current
        self.majors = majors or []  # (TicketRecord, number of linked tickets), open ones

    def fields(self) -> ComposeResult:
        if self.majors:
            yield Label("open major incidents", classes="detail-field-label")
            yield OptionList(
                *[
                    Option(
                        Text(
                            f"#{t.id} {one_line(t.subject, 40)} · {t.status} · {n} linked"
                            + (" · linked now" if t.id == self.current else "")
                        ),
                        id=str(t.id),
                    )
                    for t, n in self.majors
                ],
                id="majors",
            )
        else:
            yield Label("no open major incident: give the ticket that becomes one", classes="detail-field-label")
        yield Label("another ticket (id or ref; empty unlinks)", classes="detail-field-label")
        yield Field(str(self.current) if self.current else "", placeholder="major incident: id or ref", id="major")

    def on_mount(self) -> None:
        self.query_one("#majors" if self.majors else "#major").focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss({"major": event.option.id})

    def values(self) -> dict | None:
        return {"major": self.text("major") or None}


class ResolveDialog(DetailDialog):
    title_text = "Resolve"

    def __init__(self, codes, reply: str = "", code: str | None = None, on_change=None) -> None:
        super().__init__()
        self.codes = codes
        self.reply = reply
        self.code = code if code in codes else None
        self.on_change = on_change  # called with the reply as it is typed: it is the ticket's reply draft

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if self.on_change is not None and event.text_area.id == "resolve-reply":
            self.on_change(event.text_area.text)

    def fields(self) -> ComposeResult:
        yield Label("resolution code (required)", classes="detail-field-label")
        yield Select(options(self.codes), prompt="resolution code", value=self.code or NONE, id="code")
        yield Label("reply to the customer (optional)", classes="detail-field-label")
        yield Editor(self.reply, soft_wrap=True, id="resolve-reply")

    def on_mount(self) -> None:
        self.query_one("#code", Select).focus()

    def values(self) -> dict | None:
        code = self.select("code")
        if code is None:
            self.notify(
                markup=False, message="resolve: choose a resolution code", title="Not resolved", severity="warning"
            )
            return None
        text = self.query_one("#resolve-reply", TextArea).text
        return {"code": code, "reply": text if text.strip() else None}


class CloseDialog(DetailDialog):
    title_text = "Close (the customer's satisfaction, when they gave it)"

    def __init__(self, csat: int | None = None, comment: str | None = None) -> None:
        super().__init__()
        self.csat, self.comment = csat, comment or ""  # given before (re-opened on a ticket changed meanwhile)

    def fields(self) -> ComposeResult:
        labels = {1: "1 very unhappy", 2: "2 unhappy", 3: "3 neutral", 4: "4 happy", 5: "5 very happy"}
        yield Label("satisfaction (optional)", classes="detail-field-label")
        yield Select(options((1, 2, 3, 4, 5), labels), prompt="CSAT 1–5", value=self.csat or NONE, id="csat")
        yield Label("comment (optional)", classes="detail-field-label")
        yield Field(self.comment, placeholder="what the customer said", id="comment")

    def values(self) -> dict | None:
        return {"csat": self.select("csat"), "comment": self.text("comment") or None}


class BroadcastDialog(DetailDialog):
    title_text = "Apply to the major incident and every linked ticket"

    def __init__(self, codes, count: int, again: dict | None = None) -> None:
        super().__init__()
        self.codes = codes
        self.title_text = f"Apply to this major incident and its {count} linked ticket{'s' if count != 1 else ''}"
        self.again = again or {}  # what was typed before the tickets changed (the dialog opened again)

    def fields(self) -> ComposeResult:
        yield Label("public reply (optional)", classes="detail-field-label")
        yield Editor(self.again.get("reply") or "", soft_wrap=True, id="broadcast-reply")
        yield Label("resolve with code (optional)", classes="detail-field-label")
        code = self.again.get("resolve_code")
        yield Select(options(self.codes), prompt="do not resolve", id="code", value=code or NONE)

    def values(self) -> dict | None:
        text = self.query_one("#broadcast-reply", TextArea).text
        code = self.select("code")
        if not text.strip() and code is None:
            self.notify(markup=False, message="give a reply or a resolution code", severity="warning")
            return None
        return {"reply": text if text.strip() else None, "resolve_code": code}


class WhyDialog(ModalScreen[None]):
    """ "Why is it due then?": the explanation of every timer, scrollable."""

    BINDINGS = [Binding("escape,w", "close", "Close", id="detail.why.close")]

    def __init__(self, text: Text) -> None:
        super().__init__()
        self.explanation = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="why"):
            yield Static(self.explanation, id="why-text")

    def on_mount(self) -> None:
        self.query_one("#why", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
