"""Shift handover: what the next shift must know, section by section, as ``deskterm handover`` prints it.

The sections come from ``reports.handover`` (the function of the command): tickets that will breach within
N hours (``+``/``-`` change N), unacknowledged escalations, major incidents with their linked tickets, tickets
pending the customer for long, and what was resolved during the shift. Tickets already breached and still open
have a section of their own ("breached", not "will breach"). ``enter`` opens a ticket; ``y`` copies
the Markdown of ``reports.handover_markdown`` to the clipboard and writes it to a file (its path is notified),
since not every terminal passes the clipboard on (OSC 52).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.style import Style
from textual.visual import Padding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ... import reports
from ...domain.calendar import epoch
from ...domain.workflow import STOPPED
from ...fmt import local, one_line
from ...progress import Progress, counting
from ...safefile import write_atomic
from ..keys import KeysFooter
from ..loading import SLOW, LoadingProgress, Stopped, Told
from ..widgets.line import show_text
from .base import LoadingScreen

MIN_HOURS, MAX_HOURS = 1, 168
REFRESH_EVERY = 60  # seconds
SECTIONS = ("breaching", "breached", "unacknowledged", "majors", "long_pending", "resolved")
SHORT = {
    "breaching": "breaching",
    "breached": "breached",
    "unacknowledged": "unacked",
    "majors": "majors",
    "long_pending": "pending long",
    "resolved": "resolved",
}


def default_export_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("deskterm")) / "handovers"


@dataclass
class HandoverLine:
    section: str
    ticket_id: int
    text: str


def section_titles(h: reports.Handover) -> dict[str, str]:
    return {
        "breaching": f"Will breach within {h.hours:g} h ({len(h.breaching)})",
        "breached": f"Breached, still open ({len(h.breached)})",
        "unacknowledged": f"Unacknowledged escalations ({len(h.unacknowledged)})",
        "majors": f"Major incidents ({len(h.majors)})",
        "long_pending": f"Pending the customer for long ({len(h.long_pending)})",
        "resolved": f"Resolved during the shift ({len(h.resolved)})",
    }


def handover_line(h: reports.Handover, section: str, item, tz) -> HandoverLine:
    """The line of one item of a section (an item as ``reports.handover`` gives it)."""

    def name(t) -> str:
        return f"{one_line(t.subject, 50)} ({one_line(t.customer, 24)})"

    if section in ("breaching", "breached"):
        t, timer, due, left = item
        return HandoverLine(
            section,
            t.id,
            f"#{t.id} {t.priority} {reports.timer_due(timer, due, left, epoch(h.now), tz)}"
            f" · {one_line(t.assignee) or 'unassigned'} · {name(t)}",
        )
    if section == "unacknowledged":
        e = item
        return HandoverLine(
            section,
            e.ticket_id,
            f"#{e.ticket_id} escalation {e.id} to "
            f"{one_line(e.target)} ({e.level}), raised {local(e.created_at, tz)} by "
            f"{one_line(e.created_by)}: {one_line(e.reason, 60)}",
        )
    if section == "majors":
        major, linked = item
        return HandoverLine(
            section,
            major.id,
            f"#{major.id} [{major.status}] with {len(linked)} linked: "
            + ", ".join(f"#{t.id}" for t in linked)
            + f" · {name(major)}",
        )
    if section == "long_pending":
        t, hours = item
        return HandoverLine(section, t.id, f"#{t.id} waiting {hours:.0f} h · {name(t)}")
    t = item
    return HandoverLine(section, t.id, f"#{t.id} {one_line(t.resolution_code) or 'resolved'} · {name(t)}")


def handover_lines(h: reports.Handover, tz) -> dict[str, list[HandoverLine]]:
    """One line per item of each section, in the order of ``reports.handover`` (every line: the list on screen
    makes only those it shows, ``HandoverRows``)."""
    return {section: [handover_line(h, section, item, tz) for item in getattr(h, section)] for section in SECTIONS}


class HandoverRows(Sequence[Option]):
    """The rows of the list, made when read: each section's heading, then one row per item ("none" when it has
    none). Only the rows on screen are made (and those a test reads), whatever the sections hold: a change costs
    the list the rows it shows, not 33,000 lines formatted and laid out."""

    def __init__(self, h: reports.Handover, tz, width: int, before: HandoverRows | None = None) -> None:
        self.h, self.tz, self.width = h, tz, width
        # the rows made for the list before, by what they read: a row that reads the same is the same option,
        # whose lines Textual has rendered already
        self._before: dict[tuple[int, str | None, str], Option] = {}
        if before is not None and before.width == width:
            self._before = before._by_text
        self._by_text: dict[tuple[int, str | None, str], Option] = {}
        self.titles = section_titles(h)
        self.starts: list[int] = []  # the row of each section's heading
        at = 0
        for section in SECTIONS:
            self.starts.append(at)
            at += 1 + max(1, len(getattr(h, section)))
        self.total = at
        self._made: dict[int, Option] = {}

    def __len__(self) -> int:
        return self.total

    def locate(self, row: int) -> tuple[str, int]:
        """The section of a row and its place in it (-1: the heading)."""
        i = bisect_right(self.starts, row) - 1
        return SECTIONS[i], row - self.starts[i] - 1

    def row_of(self, section: str, item: int) -> int:
        return self.starts[SECTIONS.index(section)] + 1 + item

    def __getitem__(self, row):
        if isinstance(row, slice):  # a view, made when read too (Textual's page keys slice the options)
            return _RowsView(self, range(*row.indices(self.total)))
        if row < 0:
            row += self.total
        if not 0 <= row < self.total:
            raise IndexError(row)
        option = self._made.get(row)
        if option is None:
            if len(self._made) > 4096:  # rows scrolled past: made again if they come back
                self._made.clear()
            option = self._made[row] = self._make(row)
        return option

    def _make(self, row: int) -> Option:
        section, i = self.locate(row)
        if i < 0:
            option = Option(Text(self.titles[section], style="bold"), id=f"head:{section}", disabled=True)
        elif i >= len(getattr(self.h, section)):
            option = Option(Text("  none"), id=f"none:{section}", disabled=True)
        else:
            line = handover_line(self.h, section, getattr(self.h, section)[i], self.tz)
            option = Option(Text("  " + one_line(line.text, self.width)), id=f"{section}:{i}:{line.ticket_id}")
        key = (row, option.id, str(option.prompt))
        option = self._before.get(key, option)
        if len(self._by_text) > 4096:
            self._by_text.clear()
        self._by_text[key] = option
        option._row = row  # type: ignore[attr-defined]  # for the click's meta (HandoverList._get_option_render)
        return option

    def ticket_at(self, section: str, i: int) -> int | None:
        items = getattr(self.h, section)
        if not 0 <= i < len(items):
            return None
        raw = getattr(items, "_items", None)  # a kept section: its entries hold the ticket, no line to make
        item = raw[i] if raw is not None else items[i]
        first = item[0] if isinstance(item, tuple) else item
        if isinstance(first, tuple):  # (since, id) of a long wait
            return first[1]
        return getattr(first, "id", None) if section != "unacknowledged" else first.ticket_id

    def find(self, section: str, ticket_id: int, near: int) -> int | None:
        """The place of ``ticket_id`` in ``section`` within 64 items of ``near`` (a change moves a few lines; a
        ticket gone further, or to another section, leaves the cursor where it was, not a search of them all)."""
        count = len(getattr(self.h, section))
        for i in sorted(range(max(0, near - 64), min(count, near + 65)), key=lambda i: abs(i - near)):
            if self.ticket_at(section, i) == ticket_id:
                return i
        return None


class _RowsView(Sequence[Option]):
    def __init__(self, rows: HandoverRows, span: range) -> None:
        self.rows, self.span = rows, span

    def __len__(self) -> int:
        return len(self.span)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return _RowsView(self.rows, self.span[i])
        return self.rows[self.span[i]]


class _Lines(Sequence[tuple[int, int]]):
    """One line per row (every row is one line: ``one_line``)."""

    def __init__(self, count: int) -> None:
        self.total = count

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, y):
        if isinstance(y, slice):
            return [(i, 0) for i in range(*y.indices(self.total))]
        if not 0 <= y < self.total:
            raise IndexError(y)
        return (y, 0)


class _Ones(dict):
    """Each row's height (1) and first line (its index), for rows that exist."""

    def __init__(self, count: int, value: int | None) -> None:
        super().__init__()
        self.total, self.value = count, value

    def __missing__(self, key: int) -> int:
        if not 0 <= key < self.total:
            raise KeyError(key)
        return key if self.value is None else self.value


class HandoverList(OptionList):
    """Textual's option list (its keys, its looks), over rows made when shown (``HandoverRows``) instead of a
    list of options laid out whole: ``set_rows`` costs the same for 10 lines or 50,000."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: HandoverRows | None = None

    def set_rows(self, rows: HandoverRows, highlighted: int | None) -> None:
        """Show these rows: only the lines on screen that read differently are painted again (a row that reads
        as before is the same option: ``HandoverRows``)."""
        before = self.rows
        self.rows = rows
        self._options = rows  # type: ignore[assignment]  # read through OptionList's own code: a Sequence
        self._update_lines()
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if before is None or not height:
            self.refresh()
        else:
            width = self.size.width
            for y in range(top, min(top + height, max(len(rows), len(before)))):
                if y >= len(rows) or y >= len(before) or rows[y] is not before._made.get(y):
                    self.refresh(Region(0, y - top, width, 1))
        self.highlighted = highlighted

    def _update_lines(self) -> None:
        if not self.scrollable_content_region:
            return
        width = self.scrollable_content_region.width - self._get_left_gutter_width()
        virtual_size = Size(width, len(self._options))
        if virtual_size != self.virtual_size:
            self.virtual_size = virtual_size
            self._scroll_update(virtual_size)

    @property
    def _lines(self) -> Sequence[tuple[int, int]]:
        return _Lines(len(self._options))

    @property
    def _heights(self) -> dict[int, int]:
        return _Ones(len(self._options), 1)

    @property
    def _index_to_line(self) -> dict[int, int]:
        return _Ones(len(self._options), None)

    def _get_option_render(self, option: Option, style: Style) -> list[Strip]:
        """OptionList's, with the row's index as the click's meta (there is no option-to-index table)."""
        padding = self.get_component_styles("option-list--option").padding
        width = self.scrollable_content_region.width - self._get_left_gutter_width()
        key = (option, style, padding)
        strips = self._option_render_cache.get(key)
        if strips is None:
            visual = self._get_visual(option)
            if padding:
                visual = Padding(visual, padding)
            meta = {"option": getattr(option, "_row", 0)}
            strips = [
                strip.extend_cell_length(width, style.rich_style).apply_meta(meta)
                for strip in visual.to_strips(self, visual, width, None, style)
            ]
            self._option_render_cache[key] = strips
        return strips


class ShiftTickets:
    """What the handover is made of (thread side): the open tickets and those changed since the shift began
    (``Desk.tickets_for_period``: exact for every section, a ticket closed before the shift is in none), the major
    incidents of open linked tickets (read by id when closed before it), the unacknowledged escalations, and the
    sections kept ticket by ticket (``reports.HandoverBook``).

    Kept from one computation to the next while the shift's length stays (its start only moves forward): another
    agent's change reads again only the tickets it changed (``refresh``), and ``handover`` places again only those
    and the tickets whose instant has passed (a deadline, a deadline entering the horizon, a wait becoming long, a
    resolution leaving the shift: ``reports.Instants``); the others keep their place, their time left derived
    from it. Every ticket is placed again on the first computation, after a change that names no ticket (a new
    ``ShiftTickets``), and when the clock goes back."""

    def __init__(self, desk, now, hours: float, progress: Progress | None = None) -> None:
        from datetime import timedelta

        from ...store.queue import latest_escalation_id

        self.desk, self.hours = desk, hours
        # up to a day ahead: a ticket created at the instant of now (or by a clock a little ahead) is in too, as it
        # is in every section computed later (its change may have been noticed before this read)
        ahead = now + timedelta(days=1)
        read = desk.tickets_for_period(now - timedelta(hours=hours), ahead, progress=progress)
        self.by_id = {t.id: t for t in read}
        self._latest_escalation = latest_escalation_id(
            desk.store
        )  # (before the read: one raised between is read again)
        self.escalations = self._waiting(desk.escalations(open_only=True))
        self._majors()
        self.book: reports.HandoverBook | None = None
        self._at = now  # the instant of the last placing
        self._instants = reports.Instants()
        self._todo: set[int] = set()  # changed since the book last took them in

    @staticmethod
    def _waiting(escalations) -> list:
        return [e for e in escalations if e.acknowledged_at is None and e.closed_at is None]

    def _majors(self, tickets=None) -> set[int]:
        """Read the major incidents of these tickets (of all kept) that are not kept; their ids."""
        from ...store.queue import records

        tickets = self.by_id.values() if tickets is None else tickets
        # (not ``set - by_id.keys()``: that walks every kept ticket's key, 66,000 at 100k, for each change)
        kept = self.by_id
        missing = {t.major_id for t in tickets if t.major_id is not None and t.major_id not in kept}
        found = records(self.desk.store, sorted(missing)) if missing else []
        for t in found:
            self.by_id[t.id] = t
        return {t.id for t in found}

    def refresh(self, changed) -> None:
        """Read again these tickets (changed elsewhere) and their open escalations; the others are kept."""
        from ...store.queue import latest_escalation_id, records

        if not changed:
            return
        before = {tid: self.by_id.pop(tid, None) for tid in changed}
        fresh = records(self.desk.store, sorted(changed))
        for t in fresh:
            self.by_id[t.id] = t
        # A changed ticket's waiting escalations change only if one of them is waiting already (acknowledged,
        # closed, the ticket resolved), if one was raised (an id above the highest known: then every open one is
        # read, whatever ticket it is of), or if the ticket is reopened (an escalation left open by a desk older
        # than the rule that closes them with their ticket is read as waiting again). Else they are not read: one
        # lookup of the highest id instead of the escalations joined to their tickets through the ORM (2.4 ms a
        # change at 100,000 tickets)
        latest = latest_escalation_id(self.desk.store)
        if latest > self._latest_escalation:
            self.escalations = self._waiting(self.desk.escalations(open_only=True))
            self._latest_escalation = latest
        elif any(e.ticket_id in changed for e in self.escalations) or any(
            (old := before[t.id]) is not None and old.status in STOPPED and t.status not in STOPPED for t in fresh
        ):
            escalations = [e for e in self.escalations if e.ticket_id not in changed]
            escalations += self._waiting(self.desk.escalations(open_only=True, tickets=changed))
            self.escalations = sorted(escalations, key=lambda e: (e.created_at, e.id))
        # a major incident is read when a kept ticket is linked to it: a link is a change of that ticket
        self._todo |= set(changed) | self._majors(fresh)

    def _put(self, tid: int, now) -> None:
        assert self.book is not None
        t = self.by_id.get(tid)
        if t is None:
            self.book.remove(tid)
            self._instants.put(tid, float("inf"))
            return
        desk = self.desk
        sla = None if t.status in STOPPED else desk.sla(t, now)
        until = self.book.put(t, sla, desk.config.policy_for(t.customer).calendar, now)
        self._instants.put(tid, until)

    def handover(self, now, progress: Progress | None = None) -> reports.Handover:
        """``progress``: told the tickets placed when every one is (the first computation)."""
        if self.book is None or now < self._at:
            # the first computation, or a clock set back (a place is known to hold only after its instant)
            self.book, self._instants, self._todo = reports.HandoverBook(self.hours), reports.Instants(), set()
            every = sorted(self.by_id)
            for tid in counting(every, progress, reports.HANDOVER, len(every)):
                self._put(tid, now)
        else:
            todo, self._todo = self._todo, set()
            for tid in sorted(todo | self._instants.passed(now.timestamp())):
                self._put(tid, now)
        self._at = now
        return self.book.handover(now, self.escalations)


class HandoverLoaded(Message):
    def __init__(self, handover: reports.Handover, generation: int) -> None:
        super().__init__()
        self.handover = handover
        self.generation = generation


class HandoverScreen(LoadingScreen):
    LOAD_GROUP = "handover"
    BINDINGS = [
        Binding("y", "copy", "Copy Markdown", id="handover.copy"),
        Binding("plus,equals_sign", "hours(1)", "+1 h", id="handover.more"),
        Binding("minus", "hours(-1)", "-1 h", id="handover.less"),
        Binding("tab", "section(1)", "Next section", id="handover.next_section"),
        Binding("shift+tab", "section(-1)", "Previous section", show=False, id="handover.previous_section"),
        Binding("j", "cursor_down", "Down", show=False, id="handover.down"),
        Binding("k", "cursor_up", "Up", show=False, id="handover.up"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="handover.reload"),
        Binding("escape", "back", "Back", id="handover.back"),
    ]

    def __init__(self, hours: float = 8, export_dir: Path | str | None = None) -> None:
        super().__init__()
        self.hours = hours
        self.export_dir = Path(export_dir) if export_dir is not None else None
        self.handover: reports.Handover | None = None
        self._markdown: tuple[reports.Handover, str] | None = None
        self.loaded = False
        self._ticks = 0
        self._shift: ShiftTickets | None = None  # the tickets of the last computation (thread side)
        self._changed: set[int] | None = None  # changed elsewhere since the last computation began (None: any)
        self._following = False  # a change's computation is in the app's reader thread (``_follow``)
        self._load_after = False  # a load asked for meanwhile: it starts when that one is handed back

    def compose(self) -> ComposeResult:
        yield Static(Text("Shift handover · computing…"), id="hand-title")
        yield Static(id="hand-summary")
        yield HandoverList(id="hand-list", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def load(self, generation: int) -> None:
        if self._following:  # one computation at a time on the kept tickets: this one after the change's
            self._load_after = True
            return
        changed, self._changed = self._changed, set()
        shift = self._shift
        if (
            self.handover is not None
            and shift is not None
            and changed is not None
            and shift.hours == self.hours
            and not self._loading()
        ):
            # another agent's change, or the minute: in the app's long-lived reader thread (``tui/reader.py``), as
            # the queue's changes, not a worker per change (its thread, its task and state messages)
            self._following = True
            self.app.reader.submit(
                partial(self._follow, shift, frozenset(changed)),
                partial(self._followed, shift),
                self._follow_failed,
            )
            return
        self._compute(generation, self.hours, changed)

    def _follow(self, shift: ShiftTickets, changed: frozenset[int]) -> reports.Handover:
        """In the reader's thread: the kept tickets read again where changed, placed again where changed or their
        instant has passed."""
        shift.refresh(changed)
        return shift.handover(self._desk.clock.now())

    def _followed(self, shift: ShiftTickets, h: reports.Handover) -> None:
        self._following = False
        if shift is self._shift and shift.hours == self.hours and self.is_attached:
            self.handover = h
            self.show()
            self.loaded = True
        self._then_load()

    def _follow_failed(self, _: BaseException) -> None:
        self._following = False
        self._shift = None  # (perhaps half placed: every ticket is read and placed again)
        self._changed = None
        self._then_load()

    def _then_load(self) -> None:
        if self._load_after and self.is_attached:
            self._load_after = False
            self.reload()

    @work(thread=True, exclusive=True, group="handover")
    def _compute(self, generation: int, hours: float, changed: set[int] | None) -> None:
        desk = self._desk
        now = desk.clock.now()
        shift = self._shift
        # the first computation says how far it has got once it has taken SLOW seconds (the title), and stops
        # when the screen is closed before it ends
        told = (
            None
            if self.handover is not None
            else Told(self, SLOW, generation, lambda: self.app.leaving or not self.is_attached)
        )
        try:
            if shift is None or changed is None or shift.hours != hours:
                shift = self._shift = ShiftTickets(desk, now, hours, told)
            else:
                shift.refresh(changed)
            h = shift.handover(now, told)
        except Stopped:
            self._shift = None  # (perhaps half made)
            return
        self.post_message(HandoverLoaded(h, generation))

    @property
    def markdown(self) -> str:
        """The Markdown of the handover shown (made when asked for: ``y``), "" before the first computation."""
        h = self.handover
        return "" if h is None else self._markdown_of(h, self._desk.config.tz)

    def _markdown_of(self, h: reports.Handover, tz) -> str:
        """``h``'s Markdown, made once (in ``y``'s worker, or on the caller's thread: ``h`` is never changed once
        computed, each computation makes a new one)."""
        made = self._markdown
        if made is None or made[0] is not h:
            made = self._markdown = (h, reports.handover_markdown(h, tz))
        return made[1]

    def on_loading_progress(self, message: LoadingProgress) -> None:
        """The first computation's progress, until its sections come: in the title."""
        if message.generation == self._generation and self.handover is None:
            self.query_one("#hand-title", Static).update(Text(f"Shift handover · {message.line}", no_wrap=True))

    def on_handover_loaded(self, message: HandoverLoaded) -> None:
        if message.generation != self._generation:
            return
        self.handover = message.handover
        self.show()
        self.loaded = True

    def show(self) -> None:
        h = self.handover
        if h is None:
            return
        tz = self._desk.config.tz
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append("Shift handover", style="bold")
        title.append(f" · {local(h.now, tz)} · last {h.hours:g} h (+/-) · y copies the Markdown")
        self._update("#hand-title", title)
        counts = {
            "breaching": len(h.breaching),
            "breached": len(h.breached),
            "unacknowledged": len(h.unacknowledged),
            "majors": len(h.majors),
            "long_pending": len(h.long_pending),
            "resolved": len(h.resolved),
        }
        summary = " · ".join(f"{SHORT[s]} {n}" for s, n in counts.items())
        self._update("#hand-summary", Text(summary, no_wrap=True, overflow="ellipsis"))
        options = self.query_one(HandoverList)
        before = options.rows
        here = options.highlighted
        # one line per item, shortened with "…" to what the list shows (less the indent, and the scroll bar a
        # long list gets): the option list would wrap it, or its edge cut it with no sign of it
        room = options.scrollable_content_region.width
        if room and options.show_vertical_scrollbar:  # the width without the bar, which the line leaves room for
            room += options.styles.scrollbar_size_vertical
        room = room or self.size.width - 4
        width = max(20, room - 2 - options.styles.scrollbar_size_vertical)
        rows = HandoverRows(h, tz, width, before)
        target = None
        if before is not None and here is not None and 0 <= here < len(before):
            # the same ticket in the same section when it is still there, else the same place
            section, i = before.locate(here)
            ticket = before.ticket_at(section, i) if i >= 0 else None
            found = rows.find(section, ticket, i) if ticket is not None else None
            target = rows.row_of(section, found) if found is not None else min(here, len(rows) - 1)
            if rows[target].disabled:
                target = next((r for r in range(target, len(rows)) if not rows[r].disabled), None)
        if target is None:
            target = next((r for r, o in enumerate(rows) if not o.disabled), None)
        options.set_rows(rows, target)

    def _update(self, selector: str, text: Text) -> None:
        """The title's or the summary's line (their minute and counts change seldom: ``show_text``)."""
        show_text(self.query_one(selector, Static), text)

    # -- the app's hooks -------------------------------------------------------------------------

    def on_resize(self) -> None:
        self.show()

    def data_changed(self) -> None:
        self._changed = None  # any ticket may have changed: all are read again
        self.reload_soon()  # as the dashboard: never two computations at once

    def tickets_changed(self, changed: frozenset[int]) -> None:
        """Only these tickets are read again; the sections are computed again from the tickets in memory."""
        if self._changed is not None:
            self._changed |= changed
        self.reload_soon()

    def clock_tick(self, now) -> None:
        self._ticks += 1
        if self._ticks % REFRESH_EVERY == 0:
            self.reload_soon()

    # -- actions ---------------------------------------------------------------------------------

    def action_hours(self, step: int) -> None:
        hours = min(MAX_HOURS, max(MIN_HOURS, int(self.hours) + step))
        if hours != self.hours:
            self.hours = hours
            self.reload()

    def action_section(self, step: int) -> None:
        """Highlight the first item of the next (or previous) section that has one."""
        options = self.query_one(HandoverList)
        rows = options.rows
        if rows is None or not len(rows):
            return
        current = options.highlighted if options.highlighted is not None else 0
        heads = rows.starts
        firsts = [h + 1 for h, section in zip(heads, SECTIONS, strict=True) if len(getattr(rows.h, section))]
        if not firsts:
            return
        here = max((h for h in heads if h <= current), default=heads[0])
        if step > 0:
            later = [f for f in firsts if f > here + 1]
            target = later[0] if later else firsts[0]
        else:
            earlier = [f for f in firsts if f < here + 1]
            target = earlier[-1] if earlier else firsts[-1]
        options.highlighted = target

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_reload(self) -> None:
        self._changed = None  # ctrl+r reads everything again
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        parts = option_id.split(":")
        if len(parts) == 3 and parts[2].isdigit():
            from .escalations import ticket_screen

            self.app.push_screen(ticket_screen(int(parts[2])))

    def export_path(self) -> Path:
        assert self.handover is not None
        stamp = self.handover.now.astimezone(self._desk.config.tz).strftime("%Y%m%d-%H%M")
        return (self.export_dir or default_export_dir()) / f"handover-{stamp}.md"

    def action_copy(self) -> None:
        """The handover shown when ``y`` is pressed, as Markdown: made and written in a thread (0.5 s of CPU at
        33,000 lines: never on the event loop), then copied to the clipboard with its toast. A computation that
        comes meanwhile does not change it: it is the one shown when the key was pressed."""
        h = self.handover
        if h is None:
            return
        self._copy(h, self.export_path(), self._desk.config.tz)

    @work(thread=True, group="handover-copy")
    def _copy(self, h: reports.Handover, path: Path, tz) -> None:
        text = self._markdown_of(h, tz)
        failed: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # the data directory may be the desk's, shared with the group: never write through a planted name
            write_atomic(path, text.encode("utf-8"), 0o640)
        except OSError as exc:
            failed = str(exc.strerror or exc)
        try:
            self.app.call_from_thread(self._copied, text, path, failed)
        except RuntimeError:  # the app closed meanwhile: the file is written, there is no clipboard to copy to
            pass

    def _copied(self, text: str, path: Path, failed: str | None) -> None:
        self.app.copy_to_clipboard(text)
        if failed is not None:
            self.notify(
                f"Copied to the clipboard; not written to {path}: {failed}", title="Handover", severity="warning"
            )
            return
        self.notify(f"written to {path}, and copied to the clipboard", title="Handover copied", timeout=10)
