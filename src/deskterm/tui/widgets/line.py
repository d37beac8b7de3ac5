"""A line of text shown by a ``Static``, updated only when it reads differently.

``Static.update`` lays the whole screen out again (the new text may need another size): on a screen with a long
list that costs more than the rest of a change, and most changes and clock ticks leave a title, a status line or
a ticket's head as it was. ``show_text`` compares what is asked with what the widget was last given (its
characters, their styles and how the line is laid out) and updates only when they differ; and when the new text
takes the very room the old one took (as many lines, none wrapped at the widget's width, and as wide when the
widget's width follows its text), it repaints the widget without laying the screen out (a ticket's version in its
head, a count in a status line).
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static


def _reading(text: Text) -> tuple:
    return (text.plain, tuple(text.spans), str(text.style), text.justify, text.overflow, text.no_wrap, text.end)


def _room(text: Text, width: int) -> tuple[int, int] | None:
    """(lines, widest) when no line of ``text`` wraps at ``width`` cells; None when one may (or tabs expand)."""
    if "\t" in text.plain:
        return None
    widths = [cell_len(line) for line in text.plain.split("\n")]
    widest = max(widths)
    return None if widest > width else (len(widths), widest)


def same_room(widget: Static, old: Text, new: Text) -> bool:
    """Whether ``new`` takes exactly the room ``old`` took in ``widget`` as it is laid out now: then the screen
    need not be laid out again for it."""
    width = widget.content_region.width
    if width <= 0 or (old.justify, old.overflow, old.no_wrap) != (new.justify, new.overflow, new.no_wrap):
        return False
    before, after = _room(old, width), _room(new, width)
    if before is None or after is None or before[0] != after[0]:
        return False
    return widget.styles.width is None or not widget.styles.width.is_auto or before[1] == after[1]


def show_text(widget: Static, text: Text) -> None:
    """``widget`` shows ``text`` (always a ``Text``: never read as markup)."""
    reading = _reading(text)
    if getattr(widget, "_shown_reading", None) == reading:
        return
    old = getattr(widget, "_shown_text", None)
    widget._shown_reading = reading  # type: ignore[attr-defined]
    widget._shown_text = text  # type: ignore[attr-defined]
    widget.update(text, layout=old is None or not same_room(widget, old, text))
