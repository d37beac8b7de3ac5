"""Shift handover: what the next shift must know, section by section, as ``deskterm handover`` prints it.

The sections come from ``reports.handover`` (the function of the command): tickets that will breach within
N hours (``+``/``-`` change N), unacknowledged escalations, major incidents with their linked tickets, tickets
pending the customer for long, and what was resolved during the shift. Tickets already breached and still open
have a section of their own ("breached", not "will breach"). ``enter`` opens a ticket; ``y`` copies
the Markdown of ``reports.handover_markdown`` to the clipboard and writes it to a file (its path is notified),
since not every terminal passes the clipboard on (OSC 52).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ... import reports
from ...domain.calendar import epoch
from ...domain.workflow import STOPPED
from ...fmt import local, one_line
from ...safefile import write_atomic
from ..keys import KeysFooter
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


def handover_lines(h: reports.Handover, tz) -> dict[str, list[HandoverLine]]:
    """One line per item of each section, in the order of ``reports.handover``."""
    now_s = epoch(h.now)

    def name(t) -> str:
        return f"{one_line(t.subject, 50)} ({one_line(t.customer, 24)})"

    out: dict[str, list[HandoverLine]] = {s: [] for s in SECTIONS}
    for section in ("breaching", "breached"):
        for t, timer, due, left in getattr(h, section):
            out[section].append(
                HandoverLine(
                    section,
                    t.id,
                    f"#{t.id} {t.priority} {reports.timer_due(timer, due, left, now_s, tz)}"
                    f" · {one_line(t.assignee) or 'unassigned'} · {name(t)}",
                )
            )
    for e in h.unacknowledged:
        out["unacknowledged"].append(
            HandoverLine(
                "unacknowledged",
                e.ticket_id,
                f"#{e.ticket_id} escalation {e.id} to "
                f"{one_line(e.target)} ({e.level}), raised {local(e.created_at, tz)} by "
                f"{one_line(e.created_by)}: {one_line(e.reason, 60)}",
            )
        )
    for major, linked in h.majors:
        out["majors"].append(
            HandoverLine(
                "majors",
                major.id,
                f"#{major.id} [{major.status}] with {len(linked)} linked: "
                + ", ".join(f"#{t.id}" for t in linked)
                + f" · {name(major)}",
            )
        )
    for t, hours in h.long_pending:
        out["long_pending"].append(HandoverLine("long_pending", t.id, f"#{t.id} waiting {hours:.0f} h · {name(t)}"))
    for t in h.resolved:
        out["resolved"].append(
            HandoverLine("resolved", t.id, f"#{t.id} {one_line(t.resolution_code) or 'resolved'} · {name(t)}")
        )
    return out


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

    def __init__(self, desk, now, hours: float) -> None:
        from datetime import timedelta

        self.desk, self.hours = desk, hours
        # up to a day ahead: a ticket created at the instant of now (or by a clock a little ahead) is in too, as it
        # is in every section computed later (its change may have been noticed before this read)
        ahead = now + timedelta(days=1)
        self.by_id = {t.id: t for t in desk.tickets_for_period(now - timedelta(hours=hours), ahead)}
        self.escalations = self._waiting(desk.escalations(open_only=True))
        self._majors()
        self.book: reports.HandoverBook | None = None
        self._at = now  # the instant of the last placing
        self._instants = reports.Instants()
        self._todo: set[int] = set()  # changed since the book last took them in

    @staticmethod
    def _waiting(escalations) -> list:
        return [e for e in escalations if e.acknowledged_at is None and e.closed_at is None]

    def _majors(self) -> set[int]:
        from ...store.queue import records

        missing = {t.major_id for t in self.by_id.values() if t.major_id is not None} - self.by_id.keys()
        found = records(self.desk.store, sorted(missing)) if missing else []
        for t in found:
            self.by_id[t.id] = t
        return {t.id for t in found}

    def refresh(self, changed) -> None:
        """Read again these tickets (changed elsewhere) and their open escalations; the others are kept."""
        from ...store.queue import records

        if not changed:
            return
        for tid in changed:
            self.by_id.pop(tid, None)
        for t in records(self.desk.store, sorted(changed)):
            self.by_id[t.id] = t
        escalations = [e for e in self.escalations if e.ticket_id not in changed]
        escalations += self._waiting(self.desk.escalations(open_only=True, tickets=changed))
        self.escalations = sorted(escalations, key=lambda e: (e.created_at, e.id))
        self._todo |= set(changed) | self._majors()

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

    def handover(self, now) -> reports.Handover:
        if self.book is None or now < self._at:
            # the first computation, or a clock set back (a place is known to hold only after its instant)
            self.book, self._instants, self._todo = reports.HandoverBook(self.hours), reports.Instants(), set()
            for tid in sorted(self.by_id):
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
        self.lines: dict[str, list[HandoverLine]] = {}
        self.loaded = False
        self._ticks = 0
        self._shift: ShiftTickets | None = None  # the tickets of the last computation (thread side)
        self._changed: set[int] | None = None  # changed elsewhere since the last computation began (None: any)

    def compose(self) -> ComposeResult:
        yield Static(Text("Shift handover · computing…"), id="hand-title")
        yield Static(id="hand-summary")
        yield OptionList(id="hand-list", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def load(self, generation: int) -> None:
        changed, self._changed = self._changed, set()
        self._compute(generation, self.hours, changed)

    @work(thread=True, exclusive=True, group="handover")
    def _compute(self, generation: int, hours: float, changed: set[int] | None) -> None:
        desk = self._desk
        now = desk.clock.now()
        shift = self._shift
        if shift is None or changed is None or shift.hours != hours:
            shift = self._shift = ShiftTickets(desk, now, hours)
        else:
            shift.refresh(changed)
        self.post_message(HandoverLoaded(shift.handover(now), generation))

    @property
    def markdown(self) -> str:
        """The Markdown of the handover shown (made when asked for: ``y``), "" before the first computation."""
        h = self.handover
        if h is None:
            return ""
        if self._markdown is None or self._markdown[0] is not h:
            self._markdown = (h, reports.handover_markdown(h, self._desk.config.tz))
        return self._markdown[1]

    def on_handover_loaded(self, message: HandoverLoaded) -> None:
        if message.generation != self._generation:
            return
        self.handover = message.handover
        self.lines = handover_lines(message.handover, self._desk.config.tz)
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
        self.query_one("#hand-title", Static).update(title)
        counts = {
            "breaching": len(h.breaching),
            "breached": len(h.breached),
            "unacknowledged": len(h.unacknowledged),
            "majors": len(h.majors),
            "long_pending": len(h.long_pending),
            "resolved": len(h.resolved),
        }
        summary = " · ".join(f"{SHORT[s]} {n}" for s, n in counts.items())
        self.query_one("#hand-summary", Static).update(Text(summary, no_wrap=True, overflow="ellipsis"))
        options = self.query_one(OptionList)
        highlighted = options.highlighted_option.id if options.highlighted_option is not None else None
        options.clear_options()
        content: list[Option] = []
        # one line per item, shortened with "…" to what the list shows (less the indent, and the scroll bar a
        # long list gets): the option list would wrap it, or its edge cut it with no sign of it
        room = options.scrollable_content_region.width or self.size.width - 4
        width = max(20, room - 2 - options.styles.scrollbar_size_vertical)
        for section, heading in section_titles(h).items():
            content.append(Option(Text(heading, style="bold"), id=f"head:{section}", disabled=True))
            items = self.lines.get(section, [])
            for i, line in enumerate(items):
                content.append(Option(Text("  " + one_line(line.text, width)), id=f"{section}:{i}:{line.ticket_id}"))
            if not items:
                content.append(Option(Text("  none"), id=f"none:{section}", disabled=True))
        options.add_options(content)
        ids = [o.id for o in content]
        if highlighted in ids:
            options.highlighted = ids.index(highlighted)
        else:
            first = next((i for i, o in enumerate(content) if not o.disabled), None)
            if first is not None:
                options.highlighted = first

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
        options = self.query_one(OptionList)
        count = options.option_count
        if not count:
            return
        ids = [options.get_option_at_index(i).id or "" for i in range(count)]
        current = options.highlighted if options.highlighted is not None else 0
        heads = [i for i, x in enumerate(ids) if x.startswith("head:")]
        firsts = [h + 1 for h in heads if h + 1 < count and not ids[h + 1].startswith(("head:", "none:"))]
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
        if not self.markdown:
            return
        self.app.copy_to_clipboard(self.markdown)
        path = self.export_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # the data directory may be the desk's, shared with the group: never write through a planted name
            write_atomic(path, self.markdown.encode("utf-8"), 0o640)
        except OSError as exc:
            self.notify(
                f"Copied to the clipboard; not written to {path}: {exc.strerror or exc}",
                title="Handover",
                severity="warning",
            )
            return
        self.notify(f"written to {path}, and copied to the clipboard", title="Handover copied", timeout=10)
