"""A ticket's whole history, oldest first: messages, replies, internal notes and every change.

Each event is one entry: a heading line with the local time, the author and what happened, then the body,
wrapped. Bodies and names come from customers and other systems: they are always built as ``rich.text.Text``
from ``fmt.inert`` (never markup). Internal notes are of the kind ``-note`` (a coloured left border, a tinted
background and the label "internal note"), so they cannot be mistaken for replies the customer sees.

The timeline draws its entries itself, through Textual's line API (a ``ScrollView`` with ``render_line``): each
entry is rendered once into lines at the timeline's width, with the looks of its kind (the component classes
below: a border, padding, a background, a margin above), as Textual would render a widget of those styles. An
entry that comes (another agent's change) appends its lines: no widget is mounted, the screen is not laid out
again (each entry a widget, every new one laid the whole screen out, and the cost of a change grew with the
history); only the lines in view are painted again.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual._styles_cache import StylesCache
from textual.color import Color
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.visual import Visual, visualize

from ...eventtext import describe, with_previous_values
from ...fmt import DESCRIPTION_SHOWN, inert, local, one_line

__all__ = ["describe", "with_previous_values"]  # re-exported: screens import them from here too


KINDS = ("-created", "-customer", "-reply", "-note", "-change")  # the kinds of entries, each with its looks


def entry_class(e) -> str:
    if e.kind == "reply":
        if e.author == "customer":
            return "-customer"
        return "-reply" if e.public else "-note"
    return "-change"


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


class Timeline(ScrollView, can_focus=True):
    """The history of one ticket; scrolls with the arrow keys, page up/down, home/end."""

    # The looks of each kind of entry, as Textual styles (an entry's lines are rendered with them as a widget of
    # these styles would be: its border, padding and background; its margin above, in the timeline's background)
    COMPONENT_CLASSES = {f"timeline-{kind}" for kind in KINDS}

    DEFAULT_CSS = """
    Timeline { height: 1fr; background: $surface; scrollbar-size-vertical: 1; overflow-x: hidden; overflow-y: auto; }
    Timeline:focus { background-tint: $foreground 3%; }
    Timeline > .timeline--created { padding: 0 1; border-left: thick $primary; }
    Timeline > .timeline--customer { padding: 0 1; border-left: thick $primary; margin-top: 1; }
    Timeline > .timeline--reply { padding: 0 1; border-left: thick $success; margin-top: 1; }
    Timeline > .timeline--note { padding: 0 1; border-left: thick $warning; background: $warning 12%; margin-top: 1; }
    Timeline > .timeline--change { padding: 0 1 0 2; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown: list[int] = []  # ids of the events shown, in order (tests read it)
        self.entries: list[tuple[Text, str]] = []  # (text, kind) of each entry, oldest first ("ticket created" first)
        self._lines: list[list[Strip]] = []  # each entry's lines as rendered for ``_look`` (its margin above first)
        self._starts: list[int] = []  # the timeline's line at which each entry begins
        self._height = 0  # lines in all
        self._look: tuple | None = None  # (width, colours, theme) the lines were rendered for
        # where a reload leaves the timeline, until it gets there: (following, scroll_y). Two reloads at once
        # (the app's poll and a change's own reload) run one after the other; the second goes where the first
        # was going
        self._going: tuple[bool, bool, float] | None = None  # (following, this agent's own change, scroll_y)
        self._reloads = 0
        self._made: list[tuple] = []  # (event, its mail line, (text, kind)) of each entry after the first
        self._made_in: ZoneInfo | None = None  # the zone they were made in
        self._showing: asyncio.Lock | None = None  # made in the event loop that runs the widget

    # -- the entries' lines --------------------------------------------------------------------------------

    def entry_lines(self, index: int) -> tuple[int, int]:
        """(first line, lines) of entry ``index`` in the timeline, its margin above left out."""
        self._fit()
        margin = self._margins[index]
        return self._starts[index] + margin, len(self._lines[index]) - margin

    def _look_now(self) -> tuple:
        return (self.scrollable_content_region.width, self.background_colors, self.visual_style, self.app.theme)

    def _render_entry(self, text: Text, kind: str, width: int) -> list[Strip]:
        """The lines of one entry at ``width`` cells, with the looks of its kind (as Textual renders a widget of
        those styles: ``Widget._render_content`` for its text, ``StylesCache`` for its padding and border)."""
        styles = self.get_component_styles(f"timeline-{kind}")
        base = self.background_colors[1]
        own = styles.background.tint(styles.background_tint) if styles.has_rule("background") else Color(0, 0, 0, 0)
        background = base + own
        look = self.visual_style
        text_style = styles.text_style
        style = VisualStyle(
            background,
            styles.color if styles.has_rule("color") else look.foreground,
            bold=text_style.bold if text_style.bold is not None else look.bold,
            dim=text_style.dim if text_style.dim is not None else look.dim,
            italic=text_style.italic if text_style.italic is not None else look.italic,
            reverse=text_style.reverse if text_style.reverse is not None else look.reverse,
            underline=text_style.underline if text_style.underline is not None else look.underline,
            strike=text_style.strike if text_style.strike is not None else look.strike,
        )
        gutter = styles.gutter
        inner = max(1, width - gutter.width)
        content = Visual.to_strips(self, visualize(self, text, markup=False), inner, None, style)
        app = self.app
        lines = StylesCache().render(
            styles,
            Size(width, len(content) + gutter.height),
            base,
            background,
            content.__getitem__,
            [],
            None,
            None,
            content_size=Size(inner, len(content)),
            padding=styles.padding,
            ansi_theme=app.ansi_theme,
            native_ansi=app.native_ansi_color,
        )
        margin = styles.margin.top
        return [Strip.blank(width, look.rich_style)] * margin + lines

    @property
    def _margins(self) -> list[int]:
        return [self.get_component_styles(f"timeline-{kind}").margin.top for _, kind in self.entries]

    def _fit(self) -> None:
        """The entries' lines rendered for the timeline as it is now (its width, colours and theme): again only when
        one of those changed (a resize, the focus, the theme)."""
        look = self._look_now()
        if look == self._look:
            return
        self._look = look
        self._lines = []
        self._starts = []
        self._height = 0
        self._append(self.entries)

    def _append(self, entries: list[tuple[Text, str]]) -> None:
        """Render ``entries`` after those rendered (``entries`` are already in ``self.entries``)."""
        width = self._look[0] if self._look else 0
        for text, kind in entries:
            lines = self._render_entry(text, kind, width) if width > 0 else []
            self._starts.append(self._height)
            self._lines.append(lines)
            self._height += len(lines)
        self._set_virtual_size()

    def _set_virtual_size(self) -> None:
        size = Size(self._look[0] if self._look else 0, self._height)
        if size != self.virtual_size:
            # no layout of the screen for the history's new length: the scroll bar follows it (a bar that comes or
            # goes still lays the screen out)
            self.set_reactive(Timeline.virtual_size, size)
            self._scroll_update(size)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._fit()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        line = y + self.scroll_offset.y
        width = self.scrollable_content_region.width
        if not 0 <= line < self._height:
            return Strip.blank(width, self.visual_style.rich_style)
        index = bisect.bisect_right(self._starts, line) - 1
        return self._lines[index][line - self._starts[index]]

    def on_resize(self, event) -> None:
        self._fit()
        if self.following:
            self._follow()

    # Following: the newest event stays in view as entries come, as they lay out and as the timeline shrinks
    # (notifications take lines above the footer), until the agent scrolls up; end (or scrolling back to the
    # bottom) follows again. Textual's anchor keeps it there once the entries overflow; a timeline that fits is
    # not anchored (an anchor draws short content at the bottom of the pane).

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
        # Each event's text is made once: the events shown before, as they were (the event, its mail line, the
        # zone), keep the text made for them, and only the newer ones are made (making every entry's text again,
        # and comparing each with the old, cost more than the rest of a change on a long history: 9 ms at 240
        # events). An event's text depends on those before it (``with_previous_values``): from the first event
        # that differs, every text is made again.
        made = [(e, mail.get(e.id)) for e in events]
        same = 0
        if self._made_in == zone:
            for (old, old_said, _), (new, said) in zip(self._made, made, strict=False):
                if old != new or old_said != said:
                    break
                same += 1
        kept = self._made[:same]
        self._made = kept + [(e, said, (entry_text(e, zone, said), entry_class(e))) for e, said in made[same:]]
        self._made_in = zone
        wanted = [(first, "-created")] + [entry for _, _, entry in self._made]
        # A history only grows: the entries shown stay as rendered, from the first whose text or kind changed (a
        # mail's line) the lines are rendered again, and a new event's lines are added: no widget is mounted and
        # the screen is not laid out (each entry a widget, a new one laid the whole screen out: most of what another
        # agent's change of the ticket cost this screen, and more as the history grew).
        self._fit()  # (the lines kept are those of the timeline as it is now)
        have, keep = self.entries, 0
        if self._look is not None:
            for (old, old_kind), (new, kind) in zip(have, wanted, strict=False):
                if old is not new and (old_kind != kind or old != new):
                    break
                keep += 1
        self.entries = wanted
        before = self._height
        if keep < len(self._lines):
            self._height = self._starts[keep]
            del self._lines[keep:], self._starts[keep:]
        start = self._height
        self._append(wanted[keep:])
        if self._height != before or keep < len(have):
            self.refresh_lines(start, max(self._height, before) - start)  # the lines in view among them: no layout
        self.shown = [e.id for e in events]
        self._going = (following or not keep_position, forced or not keep_position, y)
        self._reloads += 1
        if self._look is not None and self._look[0] > 0:
            self._arrive(self._reloads)  # the entries' lines are known: it goes there now
        else:
            self.call_after_refresh(self._arrive, self._reloads)  # once the timeline has its size

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
