"""The app's text fields: one line (``Field``: the : and / prompts, reasons, durations, a new ticket's fields) and
several (``Editor``: reply, note, resolution, broadcast, a new ticket's description). Their cursors never blink: a
blinking cursor repaints its line twice a second, which over SSH is output for nothing while an agent reads or
thinks (and a screenshot would catch either half)."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Input, TextArea


class Field(Input):
    """An ``Input`` whose cursor is drawn while it has the focus, without blinking."""

    cursor_blink = reactive(False, init=False)


class Editor(TextArea):
    """A ``TextArea`` whose cursor does not blink: drawn while the field has the focus, never otherwise.

    Textual's own ``cursor_blink = False`` is not enough here: ``TextArea`` keys its cache of rendered lines
    on the cursor only while it blinks, so a line rendered in the blink's off half (or before the focus came) was
    served again without its cursor once the blink stopped (seen as a reply editor with no cursor, on a loaded
    machine where the off half came before the blink was turned off). Here the blink's timer never runs and the
    cursor is visible exactly while focused, so the cache's key, which includes the cursor while "blinking",
    follows it."""

    def _restart_blink(self) -> None:  # Textual: focus gained, a key typed: the cursor shown, the timer restarted
        self._cursor_visible = True

    def _toggle_cursor_blink_visible(self) -> None:  # Textual's blink timer (paused from the start: never runs)
        self._cursor_visible = True
