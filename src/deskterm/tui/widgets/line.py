"""A line of text shown by a ``Static``, updated only when it reads differently.

``Static.update`` lays the whole screen out again (the new text may need another size): on a screen with a long
list that costs more than the rest of a change, and most changes and clock ticks leave a title, a status line or
a ticket's head as it was. ``show_text`` compares what is asked with what the widget was last given (its
characters, their styles and how the line is laid out) and updates only when they differ.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def _reading(text: Text) -> tuple:
    return (text.plain, tuple(text.spans), str(text.style), text.justify, text.overflow, text.no_wrap, text.end)


def show_text(widget: Static, text: Text) -> None:
    """``widget`` shows ``text`` (always a ``Text``: never read as markup)."""
    reading = _reading(text)
    if getattr(widget, "_shown_reading", None) != reading:
        widget._shown_reading = reading  # type: ignore[attr-defined]
        widget.update(text)
