"""A ticket's whole history, oldest first: messages, replies, internal notes and every change.

Each event is one ``TimelineEntry`` (a Static): a heading line with the local time, the author and
what happened, then the body, wrapped. Bodies and names come from customers and other systems: they
are always built as ``rich.text.Text`` from ``fmt.inert`` (never markup). Internal notes carry the
class ``-note`` (a coloured left border, a tinted background and the label "internal note"), so they
cannot be mistaken for replies the customer sees.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...fmt import inert, local, one_line, work_words


def _v(value: str | None, empty: str = "none") -> str:
    return one_line(value) if value else empty


def describe(e) -> str:
    """One line for an event that is a change (``status open → pending``); for messages, what they are."""
    k = e.kind
    if k == "reply":
        if e.author == "customer":
            return "customer message"
        return "reply to customer" if e.public else "internal note"
    if k == "status":
        text = f"status {_v(e.from_value, '?')} → {_v(e.to, '?')}" if e.from_value else f"status → {_v(e.to, '?')}"
        if e.to == "resolved" and e.reason:
            return f"{text} (code {one_line(e.reason)})"
        return text + (f" ({one_line(e.reason)})" if e.reason else "")
    if k == "priority":
        text = f"priority {_v(e.from_value, '?')} → {_v(e.to, '?')}" if e.from_value else f"priority → {_v(e.to, '?')}"
        return text + (f" ({one_line(e.reason)})" if e.reason else "")
    if k == "assign":
        if e.to:
            return f"assigned to {one_line(e.to)}" + (f" (was {one_line(e.from_value)})" if e.from_value else "")
        return f"unassigned (was {_v(e.from_value)})"
    if k == "group":
        return f"group {_v(e.from_value, '?')} → {_v(e.to, '?')}" + (f" ({one_line(e.reason)})" if e.reason else "")
    if k == "escalate":
        kind = f"{one_line(e.from_value)} " if e.from_value else ""
        return f"{kind}escalation to {_v(e.to, '?')}" + (f": {one_line(e.reason)}" if e.reason else "")
    if k == "de-escalate":
        return f"returned from {_v(e.from_value, '?')} to {_v(e.to, '?')}" + (
            f": {one_line(e.reason)}" if e.reason else ""
        )
    if k == "acknowledge":
        # the event's author is who pressed `a` (the OS user); ``to`` is the escalation's target
        what = one_line(e.reason) if e.reason else "escalation"  # "escalation 12"
        return f"{what} to {_v(e.to, '?')} acknowledged by {_v(e.author, '?')}"
    if k == "type":
        return f"type {_v(e.from_value)} → {_v(e.to)}"
    if k == "classification":
        return f"classification {_v(e.from_value)} → {_v(e.to)}"
    if k == "category":
        return f"category {_v(e.from_value)} → {_v(e.to)}" + (f" ({one_line(e.reason)})" if e.reason else "")
    if k == "link":
        if e.to:
            return f"linked to major incident #{one_line(e.to)}" + (
                f" (was #{one_line(e.from_value)})" if e.from_value else ""
            )
        return f"unlinked from major incident #{_v(e.from_value, '?')}"
    if k == "csat":
        return f"satisfaction {_v(e.to, '?')}/5"
    if k in ("time", "estimate", "approval"):
        return work_words(k, e.from_value, e.to)
    return one_line(k) + (f" → {one_line(e.to)}" if e.to else "") + (f" ({one_line(e.reason)})" if e.reason else "")


def entry_class(e) -> str:
    if e.kind == "reply":
        if e.author == "customer":
            return "-customer"
        return "-reply" if e.public else "-note"
    return "-change"


def with_previous_values(events: Iterable, initial_priority: str | None = None) -> list:
    """Imported history often names only the new value: fill ``from_value`` by replaying (display only)."""
    state = {"status": "new", "priority": initial_priority, "group": "L1", "escalate": None, "assign": None}
    out = []
    for e in events:
        key = "group" if e.kind == "escalate" else e.kind
        if key in state:
            if e.from_value is None and e.kind in ("status", "priority") and state[key]:
                e = dataclasses.replace(e, from_value=state[key])
            if e.to is not None or e.kind == "assign":
                state[key] = e.to
        out.append(e)
    return out


class TimelineEntry(Static):
    """One event of the history."""

    DEFAULT_CSS = """
    TimelineEntry { height: auto; padding: 0 1; margin: 0 0 0 0; }
    TimelineEntry.-customer { border-left: thick $primary; margin-top: 1; }
    TimelineEntry.-reply { border-left: thick $success; margin-top: 1; }
    TimelineEntry.-note { border-left: thick $warning; background: $warning 12%; margin-top: 1; }
    TimelineEntry.-change { color: $text-muted; padding-left: 2; }
    TimelineEntry.-created { border-left: thick $primary; }
    """


def entry_text(e, zone: ZoneInfo, mail: str | None = None) -> Text:
    """An event's text; ``mail``: how the message it sent the customer stands (queued, sent, failed)."""
    head = Text()
    head.append(local(e.at, zone), style="bold")
    head.append("  ")
    head.append(one_line(e.author), style="bold")
    head.append("  ")
    label = describe(e)
    head.append(label.upper() if label == "internal note" else label, style="italic" if e.kind != "reply" else "bold")
    if mail:
        head.append("\n")
        head.append(f"✉ {one_line(mail)}", style="bold red" if mail.startswith("mail failed") else "dim")
    if e.kind == "reply" or (e.kind in ("csat", "time") and e.body):
        head.append("\n")
        head.append(inert(e.body, newlines=True))
    return head


class Timeline(VerticalScroll, can_focus=True):
    """The history of one ticket; scrolls with the arrow keys, page up/down, home/end."""

    DEFAULT_CSS = """
    Timeline { height: 1fr; background: $surface; scrollbar-size-vertical: 1; }
    Timeline:focus { background-tint: $foreground 3%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown: list[int] = []  # ids of the events shown, in order (tests read it)
        self._height = 0  # the height of the last layout (on_resize)

    def on_resize(self, event) -> None:
        """Stay at the bottom when the timeline shrinks (notifications take lines above the footer): the
        newest events are what the agent just changed."""
        was_at_end = self.scroll_y >= self.virtual_size.height - self._height
        self._height = self.size.height
        if was_at_end:
            self.scroll_end(animate=False, immediate=True)

    async def show(
        self,
        created_at: datetime,
        created_by: str,
        description: str,
        events: Iterable,
        zone: ZoneInfo,
        keep_position: bool = True,
        initial_priority: str | None = None,
        mail: dict[int, str] | None = None,
    ) -> None:
        """Replace the entries (a reload); stays at the bottom if it was there."""
        events = with_previous_values(events, initial_priority)
        at_end = self.scroll_y >= self.max_scroll_y
        await self.remove_children()
        first = Text()
        first.append(local(created_at, zone), style="bold")
        first.append("  ")
        first.append(one_line(created_by), style="bold")
        first.append("  ticket created", style="italic")
        if description:
            first.append("\n")
            first.append(inert(description, newlines=True))
        entries = [TimelineEntry(first, classes="-created")]
        mail = mail or {}
        entries += [TimelineEntry(entry_text(e, zone, mail.get(e.id)), classes=entry_class(e)) for e in events]
        await self.mount_all(entries)
        self.shown = [e.id for e in events]
        if at_end or not keep_position:
            self.call_after_refresh(self.scroll_end, animate=False)
