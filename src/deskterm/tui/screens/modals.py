"""Small dialogs: pick one choice from a list, type one required line of text. (The list of every key of a
screen, ``?``, is tui/keys.py's ``KeysScreen``.)"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ..keys import KeysScreen  # noqa: F401  (where the screens found it)
from ..widgets.fields import Field


class ChoiceScreen(ModalScreen[str | None]):
    """A short list of choices; enter picks one, esc cancels (returns None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, choices: list[str], chosen: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.chosen = chosen  # the choice the cursor starts on (the one made before, the dialog opened again)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text(self.title_text), id="dialog-title")
            yield OptionList(*[Option(Text(c), id=c) for c in self.choices], id="choices")

    def on_mount(self) -> None:
        if self.chosen in self.choices:
            self.query_one(OptionList).highlighted = self.choices.index(self.chosen)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextPromptScreen(ModalScreen[str | None]):
    """A title, a one-line input and a hint; enter submits (an empty text is refused), esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, placeholder: str = "", hint: str = "enter confirms · esc cancels", value: str = ""
    ) -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.hint = hint
        self.value = value  # what was typed before (the dialog opened again)

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-dialog"):
            yield Label(Text(self.title_text), id="prompt-title")
            yield Field(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static(Text(self.hint), id="prompt-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self.query_one("#prompt-hint", Static).update(Text("A text is required (esc cancels)."))
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class TicketListScreen(ModalScreen[bool]):
    """A bulk action's list of tickets: before it acts, which tickets it will touch and in what state (enter
    applies, esc cancels: returns True / False); after, what was done to each and what was skipped and why
    (``confirm=False``: enter or esc closes)."""

    BINDINGS = [
        Binding("enter,y", "confirm", "Apply", id="bulk.apply"),
        Binding("escape,n", "cancel", "Cancel", id="bulk.cancel"),
    ]

    def __init__(self, title: str, lines: list[str], hint: str, confirm: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines
        self.hint = hint
        self.confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical(id="list-dialog"):
            yield Label(Text(self.title_text), id="list-title")
            yield OptionList(
                *[Option(Text(line, no_wrap=True, overflow="ellipsis")) for line in self.lines], id="list-lines"
            )
            yield Static(Text(self.hint), id="list-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_confirm()

    def action_confirm(self) -> None:
        self.dismiss(self.confirm)

    def action_cancel(self) -> None:
        self.dismiss(False)
