"""A ticket's whole history, oldest first: messages, replies, internal notes and every change.

Each event is one ``TimelineEntry`` (a Static): a heading line with the local time, the author and
what happened, then the body, wrapped. Bodies and names come from customers and other systems: they
are always built as ``rich.text.Text`` from ``fmt.inert`` (never markup). Internal notes carry the
class ``-note`` (a coloured left border, a tinted background and the label "internal note"), so they
cannot be mistaken for replies the customer sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.widgets import Static

from ...eventtext import describe, with_previous_values
from ...fmt import DESCRIPTION_SHOWN, inert, local, one_line

__all__ = ["describe", "with_previous_values"]  # re-exported: screens import them from here too


def entry_class(e) -> str:
    if e.kind == "reply":
        if e.author == "customer":
            return "-customer"
        return "-reply" if e.public else "-note"
    return "-change"


class TimelineEntry(Static):
    """One event of the history: its text and its kind (a class of the CSS below), kept to compare."""

    def __init__(self, text: Text, classes: str) -> None:
        super().__init__(text, classes=classes)
        self.text, self.kind = text, classes

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        # The layout that placed an entry gave it its size: a line of text scrolls nothing, so its new virtual
        # size asks for no layout of its own (Textual's default asks for one per entry mounted: every new event
        # of the history laid the whole screen out twice).
        return super()._size_updated(size, virtual_size, container_size, layout=False)

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
    for line in (mail or "").split("\n") if mail else ():
        head.append("\n")
        mark = "+" if line.startswith("attachment ") else "✉"
        head.append(f"{mark} {one_line(line)}", style="bold red" if line.startswith("mail failed") else "dim")
    if e.kind == "reply" or (e.kind in ("csat", "nps", "ces", "time", "alert") and e.body):
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
        # where a reload leaves the timeline, until it gets there: (following, scroll_y). Two reloads at once
        # (the app's poll and a change's own reload) run one after the other; the second goes where the first
        # was going
        self._going: tuple[bool, bool, float] | None = None  # (following, this agent's own change, scroll_y)
        self._reloads = 0
        self._showing: asyncio.Lock | None = None  # made in the event loop that runs the widget

    # Following: the newest event stays in view as entries come, as they lay out and as the timeline shrinks
    # (notifications take lines above the footer), until the agent scrolls up; end (or scrolling back to the
    # bottom) follows again. Textual's anchor does it once the entries overflow; a timeline that fits is not
    # anchored (an anchor draws short content at the bottom of the pane).

    @property
    def following(self) -> bool:
        return not (self._anchored and self._anchor_released)

    def _follow(self) -> None:
        """Anchored (at the end, and kept there) when the entries overflow the pane; at the top when they fit."""
        overflows = self.virtual_size.height > self.scrollable_content_region.height
        if overflows and not self._anchored:
            self.anchor()
        elif overflows:
            self.scroll_end(animate=False, immediate=True)
        elif self._anchored:
            self.anchor(False)
            self.scroll_home(animate=False, immediate=True)

    # The agent's scrolls are not animated: an animation starting at the bottom was read as "back at the
    # bottom" on its first frame, and the anchor pulled the story down again (home did nothing); a second
    # key during an animation started again from where the first began (releasing the anchor resets the
    # target), and was lost.

    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False, immediate=True)

    def action_scroll_up(self) -> None:
        self.scroll_up(animate=False, immediate=True)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_scroll_down(self) -> None:
        self.scroll_down(animate=False, immediate=True)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def on_resize(self, event) -> None:
        if self.following:
            self.call_after_refresh(self._follow)

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        # The layout that placed the entries measured them: the history's new length asks for no second layout of
        # the whole screen (Textual's default, through the reactive ``virtual_size``); the scroll bars follow it
        # (``_scroll_update``, in Textual's own), and a bar that comes or goes still lays the screen out.
        grown = virtual_size != self.virtual_size
        resized = super()._size_updated(size, virtual_size, container_size, layout=False)
        if grown:
            self.watch_virtual_size()
        return resized

    def watch_virtual_size(self) -> None:
        """The entries laid out again (a reload, text wrapping once the width is known): following, go on
        following (whether they overflow is known only now)."""
        if self.following and self._going is None:
            self.call_later(self._follow)

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
        """Replace the entries (a reload). Following, it stays at the newest event; scrolled up, it keeps its
        place; ``keep_position=False`` (this agent's own change) goes to the newest event wherever it was. Two
        reloads at once (the screen's after a change, and one another change triggers) run one after the other:
        interleaved, both would remove the old entries before either mounted its own, and the history would show
        twice. (Following was decided from the scroll position at the reload, which the other reload was
        changing: the timeline stopped following after a reply; scrolled up, a reload jumped to the top.)"""
        if self._showing is None:
            self._showing = asyncio.Lock()
        async with self._showing:
            await self._show(created_at, created_by, description, events, zone, keep_position, initial_priority, mail)

    async def _show(
        self,
        created_at: datetime,
        created_by: str,
        description: str,
        events: Iterable,
        zone: ZoneInfo,
        keep_position: bool,
        initial_priority: str | None,
        mail: dict[int, str] | None,
    ) -> None:
        events = with_previous_values(events, initial_priority)
        following, forced, y = self._going or (self.following, False, self.scroll_y)
        first = Text()
        first.append(local(created_at, zone), style="bold")
        first.append("  ")
        first.append(one_line(created_by), style="bold")
        first.append("  ticket created", style="italic")
        for line in (mail or {}).get(0, "").split("\n") if (mail or {}).get(0) else ():
            first.append(f"\n+ {one_line(line)}", style="dim")
        if description:
            first.append("\n")
            first.append(inert(description[:DESCRIPTION_SHOWN], newlines=True))
            if len(description) > DESCRIPTION_SHOWN:  # a pasted log of a megabyte: stored whole, shown capped
                more = len(description) - DESCRIPTION_SHOWN
                first.append(f"\n… {more:,} more characters (deskterm show ID --json prints them all)", style="dim")
        mail = mail or {}
        wanted = [(first, "-created")] + [(entry_text(e, zone, mail.get(e.id)), entry_class(e)) for e in events]
        # A history only grows: the entries shown stay, those whose text changed (a mail's line) are updated in
        # place, and only the new events are mounted (every entry mounted again laid the whole screen out anew,
        # most of what another agent's change cost this screen). Anything else is laid out whole, as before.
        have = list(self.query_children(TimelineEntry))
        if len(have) <= len(wanted) and all(entry.kind == kind for entry, (_, kind) in zip(have, wanted, strict=False)):
            for entry, (text, _) in zip(have, wanted, strict=False):
                if entry.text != text:
                    entry.text = text
                    entry.update(text)
            wanted = wanted[len(have) :]
        else:
            await self.remove_children()
        if wanted:
            await self.mount_all([TimelineEntry(text, classes=kind) for text, kind in wanted])
        self.shown = [e.id for e in events]
        self._going = (following or not keep_position, forced or not keep_position, y)
        self._reloads += 1
        self.call_after_refresh(self._arrive, self._reloads)

    def _arrive(self, reload: int) -> None:
        if reload != self._reloads or self._going is None:
            return  # a newer reload goes there
        following, forced, y = self._going
        self._going = None
        if following and self._anchor_released and not forced:
            return  # the agent scrolled up while it reloaded: they stay where they went
        if following:
            self._anchor_released = False
            self._follow()
        else:
            self.scroll_to(y=y, animate=False)
