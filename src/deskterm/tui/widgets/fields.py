"""The app's text fields: one line (``Field``: the : and / prompts, reasons, durations, a new ticket's fields) and
several (``Editor``: reply, note, resolution, broadcast, a new ticket's description). Their cursors never blink: a
blinking cursor repaints its line twice a second, which over SSH is output for nothing while an agent reads or
thinks (and a screenshot would catch either half).

What goes into either (typed, pasted, a draft brought back, a completion) is made inert as it goes in
(``fmt.typed``): a field draws its text again, and an escape sequence pasted from a customer's mail reached the
agent's terminal as such (its title changed, its colours, an OSC 52 write to its clipboard). The visible escapes
(``\\x1b``) are then the text itself: what is drawn is what is kept as a draft and what is sent."""

from __future__ import annotations

from typing import Any

from textual.reactive import reactive
from textual.widgets import Input, TextArea
from textual.widgets.text_area import Edit, EditResult

from ... import fmt


class Field(Input):
    """An ``Input`` whose cursor is drawn while it has the focus, without blinking."""

    cursor_blink = reactive(False, init=False)

    def replace(self, text: str, start: int, end: int) -> None:  # Textual: a key, a paste, a deletion
        super().replace(fmt.typed(text, newlines=False), start, end)  # (the cursor after the text as inserted)

    def validate_value(self, value: str) -> str:  # a value set (a completion taken, a draft brought back)
        return fmt.typed(value, newlines=False)

    def validate__suggestion(self, suggestion: str) -> str:  # the completion drawn after the cursor
        return fmt.typed(suggestion, newlines=False)


class Editor(TextArea):
    """A ``TextArea`` whose cursor does not blink: drawn while the field has the focus, never otherwise.

    Textual's own ``cursor_blink = False`` is not enough here: ``TextArea`` keys its cache of rendered lines
    on the cursor only while it blinks, so a line rendered in the blink's off half (or before the focus came) was
    served again without its cursor once the blink stopped (seen as a reply editor with no cursor, on a loaded
    machine where the off half came before the blink was turned off). Here the blink's timer never runs and the
    cursor is visible exactly while focused, so the cache's key, which includes the cursor while "blinking",
    follows it."""

    def __init__(self, text: str = "", **kwargs: Any) -> None:
        super().__init__(fmt.typed(text), **kwargs)

    def load_text(self, text: str) -> None:  # (also ``editor.text = …``)
        super().load_text(fmt.typed(text))

    def edit(self, edit: Edit) -> EditResult:  # Textual: every change of the text (a key, a paste, undo)
        edit.text = fmt.typed(edit.text)
        return super().edit(edit)

    def _restart_blink(self) -> None:  # Textual: focus gained, a key typed: the cursor shown, the timer restarted
        self._cursor_visible = True

    def _toggle_cursor_blink_visible(self) -> None:  # Textual's blink timer (paused from the start: never runs)
        self._cursor_visible = True
