"""A virtual ticket table: renders only the visible rows, fetched from SQL a window at a time.

The table holds the total row count and a window of rows around the viewport (``QueueQuery.window``);
scrolling past the window fetches the next one. Lines are rendered with the line API and cached as
strips keyed by everything that shows (ticket id and version, countdown text and state, age, cursor,
mark, width), so a repaint after a keypress or a clock tick costs a dictionary lookup for the lines
that did not change.

The cursor belongs to a ticket, not to a position: after any reload (new data, new sort, new view) the
table asks SQL where that ticket now stands and keeps it on the same screen line when it can.

Nothing on the path of a keystroke waits for an SLA evaluation (a screenful of histories read from the
database: up to ~100 ms cold at 100,000 tickets). A row whose ticket has not been evaluated yet is painted
from its own columns (``SlaCache.provisional``: the stored deadline, warning instant and timer, which almost
always read as the evaluation will); the visible rows missing an evaluation are evaluated in a worker, then
those of the screenfuls above and below, and only the lines whose countdown then reads differently are
repainted. Generally a line is repainted only when what it shows changes (``refresh_changed``): a clock
tick or a re-sort that leaves the screen as it was writes nothing to the terminal. Nor does the table ask
for a layout of the screen when its number of rows changes (see ``_set_lines``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...fmt import SUBJECT_SHOWN, compact, one_line
from ...store.queue_terms import SORTS, Row, Sort
from ..presence import presence_mark
from .countdown import SLA_CLASSES, SYMBOLS, LiveTimer, countdown_text, state_style

if TYPE_CHECKING:
    from ...store.queue import QueueQuery  # (SQLAlchemy: imported after the first frame, by the store's worker)
    from ..sla_cache import SlaCache

_MARGIN = 60  # rows fetched beyond each edge of the viewport
_UNKNOWN = ("unknown",)  # what a screen line shows before it is first painted
_NEAR = _MARGIN // 2  # rows held beyond the viewport under which the next ones are read ahead (``_prefetch``)
_AHEAD = 20  # tickets evaluated per batch ahead of the screen (a batch holds the GIL for a few ms)


@dataclass(frozen=True)
class Column:
    key: str  # also the sort key
    title: str
    width: int  # 0: takes the remaining width
    right: bool = False
    min_table_width: int = 0  # hidden on narrower tables


WIDE = 100  # tables at least this wide show the group and a wider SLA cell (timer name and due time both)

COLUMNS = (
    Column("mark", "", 1),
    Column("due", "SLA", 23),  # narrow tables: 14 (see ``layout``)
    Column("priority", "P", 2),
    Column("status", "Status", 7),
    Column("id", "ID", 6, right=True),
    Column("customer", "Customer", 16),
    Column("subject", "Subject", 0),
    Column("assignee", "Assignee", 8),
    Column("group", "Group", 10, min_table_width=WIDE),
    Column("age", "Age", 5, right=True),  # compact() of an age: 5 cells at most (9d23h)
)


def sortable_columns(width: int) -> list[str]:
    """The sort keys of the columns shown at this width, in the order ``o`` cycles through them."""
    shown = {c.key for c, _ in layout(width)}
    return [key for key in SORTS if key in shown]


def sort_named(name: str) -> str | None:
    """The sort key a word names: a column's title as the screen shows it ("SLA", "P"), a sort's key or
    title ("due", "time to breach"), case-insensitive; None for no sort."""
    name = " ".join(name.split()).casefold()
    for c in COLUMNS:
        if c.key in SORTS and name in (c.title.casefold(), c.key):
            return c.key
    for key, title in SORTS.items():
        if name == title.casefold():
            return key
    return {"sla": "due", "prio": "priority"}.get(name)


@lru_cache(maxsize=16)
def layout(width: int) -> tuple[tuple[Column, int], ...]:
    """The columns shown at this width, with their widths (the subject takes what is left). Kept per width: every
    row rendered asks for it."""
    columns = [c for c in COLUMNS if width >= c.min_table_width]
    widths = [c.width for c in columns]
    if width < WIDE:  # narrow: a shorter customer name leaves the subject readable; the SLA cell shows the
        keys = [c.key for c in columns]  # due time in place of the timer's name (``countdown_text``)
        widths[keys.index("customer")] = 12
        widths[keys.index("due")] = 14
    fixed = sum(widths) + len(columns) - 1
    flex = max(width - fixed, 8)
    return tuple((c, w or flex) for c, w in zip(columns, widths, strict=True))


def header_cell(col: Column, width: int, sorted_by: str, descending: bool) -> str:
    """A column's title fitted to its width; the sorted column's arrow always shows, the title shortened for it
    ("Assignee" is as wide as its column at 80 columns: "Assigne▲")."""
    title = col.title
    if col.key == sorted_by:
        title = title[: max(0, width - 1)] + ("▼" if descending else "▲")
    return set_cell_size(title.rjust(width) if col.right else title, width)


class QueueTable(ScrollView, can_focus=True, inherit_bindings=False):
    """The queue's rows. Give it its desk's SLA cache and clock with ``use``, a ``QueueQuery`` with
    ``set_query``; tick it with ``tick`` (and ``evaluate_visible`` first, for the rows the clock brings into
    view). What the screen reads: ``cursor_row``, ``visible_rows``, ``versions``, ``marked``, ``total``,
    ``loaded``, ``evaluating``. The rest (the window of rows, the strips, the line keys) is its own."""

    COMPONENT_CLASSES = {
        "queue-table--header",
        "queue-table--cursor",
        "queue-table--marked",
        "queue-table--placeholder",
        *SLA_CLASSES,
    }

    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False),
        Binding("k,up", "cursor_up", "Up", show=False),
        Binding("g,home", "first", "First", show=False),
        Binding("G,end", "last", "Last", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("space", "toggle_mark", "Mark", show=False, id="queue.mark"),
        Binding("v", "mark_range", "Mark range", show=False, id="queue.mark_range"),
    ]

    class CursorMoved(Message):
        def __init__(self, table: QueueTable, row: Row | None) -> None:
            super().__init__()
            self.table = table
            self.row = row

    class MarksChanged(Message):
        """A row was marked or unmarked by a key: the status line counts the marks."""

    def __init__(
        self, sla: SlaCache | None = None, now: Callable[[], datetime] | None = None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.sla = sla
        self._now = now or (lambda: datetime.now().astimezone())
        self.query_: QueueQuery | None = None
        self.total = 0
        self.loaded = False
        self._win_start = 0
        self._win: list[Row] = []
        self.cursor_index = 0
        self.cursor_id: int | None = None
        self.marked: dict[int, int] = {}  # marked ticket → its version when marked
        self.others_open: dict[int, list[tuple[str, str]]] = {}  # ticket → who else has it open (presence)
        self._range_anchor: int | None = None
        self.frozen = False  # Z: keep the order on screen when the data changes
        self._strips: LRUCache[tuple, Strip] = LRUCache(1024)
        self._strips_width = 0  # the width the strips held were painted at (on_resize)
        self._painted_with: dict[str, Style] = {}  # the styles they were painted with (_restyled)
        self._restyle = True  # the styles changed since (notify_style_update)
        self._line_keys: dict[int, tuple | None] = {}  # screen line → key of what it shows (_line_key)
        self.fetches = 0  # window queries run (benchmarks read it)
        self._sizes: tuple | None = None  # what the scrollbars were last laid out for
        self._evaluating = False  # an evaluation worker is running
        self._evaluate_again = False  # rows became visible meanwhile: look again when it is done
        self._prepare_scheduled = False  # evaluate_visible is to run after the next frame
        self.empty_text = ""  # shown on the first line when no ticket is there (the screen says why)
        self._last_wanted = False  # G while only the first screenful is known: the last row once the order is
        self._generation = 0  # the rows held were read for this query and data: a new one at each forced read
        self._prefetching = False  # a worker reads the window ahead (``_prefetch``)

    def use(self, sla: SlaCache, now: Callable[[], datetime]) -> None:
        """The desk's SLA cache and clock: the countdowns are evaluated by the one and read at the other's
        instant (the app's clock, frozen in tests)."""
        self.sla = sla
        self._now = now

    @property
    def evaluating(self) -> bool:
        """An evaluation of rows is running in a worker (``evaluate_visible``)."""
        return self._evaluating

    # -- data ------------------------------------------------------------------------------------

    @property
    def rows_visible(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    @property
    def sort(self) -> Sort:
        return self.query_.sort if self.query_ else Sort()

    @property
    def window_span(self) -> tuple[int, int, frozenset[int]]:
        """The window of rows held: its first and past-the-last positions in the order, and its tickets' ids
        (what a change's worker needs to know which lines it may have to read again)."""
        return self._win_start, self._win_start + len(self._win), frozenset(r.id for r in self._win)

    def line_shows(self, y: int) -> tuple[int, int] | None:
        """The ticket and version the screen line ``y`` was last rendered from (None: the header, a blank line, a
        placeholder or a line not rendered yet): what a change compares to find the lines it must render again."""
        key = self._line_keys.get(y)
        return (key[0], key[1]) if key and isinstance(key[0], int) else None

    def row_at(self, index: int) -> Row | None:
        i = index - self._win_start
        return self._win[i] if 0 <= i < len(self._win) else None

    @property
    def cursor_row(self) -> Row | None:
        return self.row_at(self.cursor_index)

    def visible_rows(self) -> list[Row]:
        top = int(self.scroll_y)
        return [r for r in (self.row_at(i) for i in range(top, top + self.rows_visible)) if r is not None]

    def _fetch(
        self,
        around: int,
        force: bool = False,
        reuse: bool = False,
        stale: Collection[int] = (),
        fresh: Mapping[int, Row] | None = None,
    ) -> None:
        """Make sure the window holds the rows from ``around`` to the bottom of the viewport.
        ``reuse``: the rows held are still current (only the order changed), but for those of ``stale`` (tickets
        that changed): read only the others, but those of ``fresh`` (read again already).

        On the event loop only the viewport's rows are read (a jump, ``G``, a new view: 22 rows at 80x24, not the
        142 of a whole window, ~0.7 ms at 100,000 tickets against 2.5), and of those only the ones not held (the
        held rows are current: a change of data comes as ``set_query``, with ``force``); the margins above and
        below come from a worker after the frame (``_prefetch``), which also reads ahead as the cursor nears an
        edge of the window, so that moving within them never waits for the store."""
        if self.query_ is None:
            return
        need_lo = max(around, 0)
        need_hi = min(around + self.rows_visible, self.total)
        have_hi = self._win_start + len(self._win)
        if not force and self._win_start <= need_lo and need_hi <= have_hi:
            return
        if force and reuse:  # the rows held are kept where they still are: the whole window, as before
            start, n = max(need_lo - _MARGIN, 0), self.rows_visible + 2 * _MARGIN
        else:
            start, n = need_lo, self.rows_visible
        if force:
            self._generation += 1  # (a prefetch on its way read the rows as they were)
            known = {r.id: r for r in self._win if r.id not in stale} if reuse else None
            if known is not None and fresh:
                known.update(fresh)
        else:
            known = {r.id: r for r in self._win}
        self._win = self.query_.window(start, n, known=known)
        self._win_start = start
        self.fetches += 1

    def _prefetch(self) -> None:
        """In a worker, the window's rows around the viewport, when the viewport is near an edge of the rows held
        (``_NEAR``, at least a page) that is not an end of the order: read as ``_fetch`` would, the held rows
        reused; kept when the data and the query are still those it read (``_generation``) and it still holds the
        viewport."""
        query = self.query_
        if query is None or self._prefetching or not self.loaded:
            return
        top, n = int(self.scroll_y), self.rows_visible
        have_lo, have_hi = self._win_start, self._win_start + len(self._win)
        near = max(_NEAR, n + 1)  # (so that a page up or down stays within the rows held)
        if not (have_lo <= top and min(top + n, self.total) <= have_hi):
            ahead = True  # (the viewport is not held: a miss the next key would read on the loop)
        else:
            ahead = (have_lo > 0 and top - have_lo < near) or (have_hi < self.total and have_hi - (top + n) < near)
        if not ahead:
            return
        margin = max(_MARGIN, 2 * n)
        start = max(top - margin, 0)
        known = {r.id: r for r in self._win}
        self._prefetching = True
        self.run_worker(
            partial(self._read_window, query, self._generation, start, n + 2 * margin, known),
            thread=True,
            group="window",
            name="read the window around the viewport",
            exit_on_error=False,
        )

    def _read_window(self, query: QueueQuery, generation: int, start: int, n: int, known: dict[int, Row]) -> None:
        rows = None
        try:
            rows = query.window(start, n, known=known)
        finally:  # even on an error (a busy database): the next key reads what it needs on the loop
            self.app.call_from_thread(self._window_read, query, generation, start, rows)

    def _window_read(self, query: QueueQuery, generation: int, start: int, rows: list[Row] | None) -> None:
        self._prefetching = False
        if rows is None or self.parent is None or query is not self.query_ or generation != self._generation:
            return
        top = int(self.scroll_y)
        if start <= top and min(top + self.rows_visible, self.total) <= start + len(rows):
            self._win, self._win_start = rows, start
            self.evaluate_visible()  # (the screenfuls above and below are now held)
        self._prefetch()  # the viewport moved on meanwhile: look again

    def versions(self, ids: Collection[int]) -> dict[int, int]:
        """The version of each of these tickets as the agent has it on screen: the rows held, else those the
        query reads now (a ticket it no longer shows is left out)."""
        known = {r.id: r.version for r in self._win}
        missing = [i for i in ids if i not in known]
        rows = self.query_.rows(missing) if missing and self.query_ is not None else {}
        return {**{i: r.version for i, r in rows.items()}, **{i: known[i] for i in ids if i in known}}

    def nearby_rows(self) -> list[Row]:
        """The rows of the screenful above and of the screenful below the visible ones (those fetched)."""
        top, n = int(self.scroll_y), self.rows_visible
        return [
            r for r in (self.row_at(i) for i in (*range(top - n, top), *range(top + n, top + 2 * n))) if r is not None
        ]

    def _ends(self) -> list[int]:
        """The tickets of the first and of the last screenful (``g`` and ``G``), from the query's ids."""
        if self.query_ is None:
            return []
        ids, n = self.query_.ids(), self.rows_visible
        return [*ids[:n], *ids[max(n, len(ids) - n) :]]

    def evaluate_visible(self) -> None:
        """Evaluate, in a worker, the visible tickets that have no evaluation yet; then, a batch at a time,
        those of the screenfuls above and below and of the first and last screenfuls, so that moving on,
        ``g``/``G`` or narrowing a search seldom shows a row before its evaluation (which costs one more
        frame, 17–33 ms after the key's). Never blocks."""
        if self.sla is None:
            return
        if self._evaluating:
            self._evaluate_again = True
            return
        missing = (
            [r.id for r in self.sla.missing(self.visible_rows())]
            or [r.id for r in self.sla.missing(self.nearby_rows())[:_AHEAD]]
            or self.sla.unknown(self._ends())[:_AHEAD]
        )
        if not missing:
            return
        self._evaluating = True
        self.run_worker(
            partial(self._evaluate, self.sla, missing),
            thread=True,
            group="sla",
            name="evaluate visible rows",
            exit_on_error=False,
        )

    def _evaluate(self, sla: SlaCache, ids: list[int]) -> None:
        entries = None
        try:
            entries = sla.load(ids)
        finally:  # even on an error (a busy database): the next tick tries again
            self.app.call_from_thread(self._evaluated, sla, entries)

    def _evaluated(self, sla: SlaCache, entries: list | None) -> None:
        self._evaluating = False
        if self.parent is None:  # removed meanwhile (the app is closing)
            return
        again, self._evaluate_again = self._evaluate_again, False
        if entries:
            sla.store(entries)
            self.tick()  # repaints the lines whose countdown now reads differently, only those
        if again or entries:  # (none read: failed or gone; the next tick tries again)
            self.evaluate_visible()

    def set_query(
        self,
        query: QueueQuery,
        keep_cursor: bool = True,
        reuse_rows: bool = False,
        stale: Collection[int] = (),
        fresh: Mapping[int, Row] | None = None,
    ) -> None:
        """Show a new or refreshed query; the cursor stays on its ticket when that ticket is still shown.
        ``reuse_rows``: the data has not changed since the rows held were read (a re-sort at a new instant), but
        for the tickets of ``stale`` (changed elsewhere): only the rows not held, and theirs, are read; ``fresh``:
        the rows of ``stale`` already read again (in a worker: then the event loop reads none of them)."""
        old_line = self.cursor_index - int(self.scroll_y)
        self.query_ = query
        self.total = query.count()
        position = query.position(self.cursor_id) if (keep_cursor and self.cursor_id is not None) else None
        if position is None:
            position = min(self.cursor_index, max(self.total - 1, 0)) if keep_cursor else 0
        if self._last_wanted and query.complete:  # G pressed while only the first screenful was known
            self._last_wanted = False
            position = max(self.total - 1, 0)
        self.cursor_index = position
        self._set_lines(self.total + 1)
        top = max(0, min(position - max(old_line, 0), self.total - self.rows_visible))
        if position < top or position >= top + self.rows_visible:
            top = max(0, position - self.rows_visible // 2)
        self._fetch(top, force=True, reuse=reuse_rows, stale=stale, fresh=fresh)
        self._scroll_top(top)
        self._settle_cursor()
        self.loaded = True
        self._prepare_after_frame()
        # only what reads differently: typing on in a search or a re-sort often leaves most lines as they were;
        # another agent's change: only the lines that show another ticket, or one of those that changed
        self.refresh_changed(stale if reuse_rows and stale else None)

    def reload(self) -> None:
        """Re-read the same query (the data changed); a frozen table only refreshes its rows' contents."""
        if self.query_ is None:
            return
        if self.frozen and self._win:
            fresh = self.query_.rows([r.id for r in self._win])
            self._win = [fresh.get(r.id, r) for r in self._win]
            self._generation += 1
            self.evaluate_visible()
            self.refresh()
            return
        self.set_query(self.query_, keep_cursor=True)

    def _scroll_top(self, top: int) -> None:
        self.scroll_target_y = top
        self.scroll_y = top  # the watcher fetches rows and repaints

    def _settle_cursor(self) -> None:
        row = self.cursor_row
        new_id = row.id if row else None
        if new_id != self.cursor_id:
            self.cursor_id = new_id
            self.post_message(self.CursorMoved(self, row))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        self._fetch(int(new_value))
        super().watch_scroll_y(old_value, new_value)
        self._prepare_after_frame()

    def _prepare_after_frame(self) -> None:
        """``evaluate_visible`` once the frame of the key being handled is out: the rows it shows are painted
        right from their ticket rows, and an evaluation worker started now would hold the GIL while that
        frame renders (at 120x40, a search character's frame came 10-20 ms later)."""
        if not self._prepare_scheduled:
            self._prepare_scheduled = True
            self.call_after_refresh(self._prepare_scheduled_now)

    def _prepare_scheduled_now(self) -> None:
        self._prepare_scheduled = False
        self._prefetch()
        self.evaluate_visible()

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        # Textual's ScrollView compares the compositor's virtual size (the region's) with ours (one line
        # per ticket), finds them different on every layout pass and repaints both scrollbars: after a
        # search, the prompt's own layout pass then cost one more frame (~15 ms). Skip it when nothing
        # that the scrollbars show has changed.
        sizes = (size, self.virtual_size, container_size, self.scroll_offset)
        if sizes == self._sizes:
            return False
        self._sizes = sizes
        return super()._size_updated(size, virtual_size, container_size, layout)

    def _set_lines(self, lines: int) -> None:
        """One line per ticket and the header. Assigning ``virtual_size`` would ask for a layout of the
        whole screen, which Textual runs in a frame of its own: after a search character that was one
        more frame, ~30 ms after the one that showed the narrowed rows. Here only the scrollbar depends on
        it (always shown: ``overflow-y: scroll``, so its presence never changes the table's width), so
        the scrollbar is updated directly."""
        size = Size(self.size.width, lines)
        if size == self.virtual_size:
            return
        self.set_reactive(QueueTable.virtual_size, size)
        self._scroll_update(size)  # the scrollbar; the rows are repainted by whoever changed them

    def on_resize(self) -> None:
        self._set_lines(self.total + 1)
        self._fetch(int(self.scroll_y))
        self.evaluate_visible()
        # (the strips are kept by width: a height that changes, the search prompt opening, keeps them)
        width = self.scrollable_content_region.width
        if width != self._strips_width:
            self._strips_width = width
            self._strips.clear()

    def _styles(self) -> dict[str, Style]:
        """The styles the strips are painted with: the table's, and each of its components' as the strips ask (none
        before its stylesheet is applied)."""
        styles = {"": self.rich_style}
        for name in sorted(self.COMPONENT_CLASSES):
            try:
                styles[name] = self.get_component_rich_style(name, partial=name in SLA_CLASSES)
            except KeyError:  # (not yet)
                return {}
        return styles

    def clear_strips(self) -> None:
        """Forget the lines painted: every line is painted anew (what the tests compare the strips kept with)."""
        self._strips.clear()

    def notify_style_update(self) -> None:
        """The styles changed: the strips painted with the old ones go, when the next line is rendered (the
        components' styles are applied after this call). See ``_restyled``."""
        super().notify_style_update()
        self._restyle = True
        self.refresh()

    def _restyled(self) -> None:
        """The focus coming or going changes only the cursor's colour (``QueueTable:focus``): then only the
        cursor's strips go, and opening the search prompt (which takes the focus) paints from the strips held, but
        the cursor's line. Any other change of style: all go."""
        self._restyle = False
        styles, before = self._styles(), self._painted_with
        self._painted_with = styles
        changed = {name for name in styles.keys() | before.keys() if styles.get(name) != before.get(name)}
        if styles and before and changed == {"queue-table--cursor"}:
            for key in [k for k in self._strips.keys() if len(k) == 7 and k[3]]:  # (a row's key: _line_key)
                self._strips.discard(key)
        elif changed or not styles:
            self._strips.clear()

    # -- cursor ----------------------------------------------------------------------------------

    def move_cursor(self, index: int) -> None:
        self._last_wanted = False
        if self.total == 0:
            return
        index = max(0, min(index, self.total - 1))
        old = self.cursor_index
        self.cursor_index = index
        top = int(self.scroll_y)
        if index < top:
            top = index
        elif index >= top + self.rows_visible:
            top = index - self.rows_visible + 1
        self._fetch(top)
        if top != int(self.scroll_y):
            self._scroll_top(top)  # repaints everything (and fetches rows) via watch_scroll_y
        else:
            # virtual line of row i is i + 1 (the header sits above the first row)
            self.refresh_line(old + 1)
            self.refresh_line(index + 1)
        self._settle_cursor()

    def select_ticket(self, ticket_id: int) -> bool:
        """Put the cursor on a ticket, if the current query shows it."""
        if self.query_ is None:
            return False
        position = self.query_.position(ticket_id)
        if position is None:
            return False
        self.move_cursor(position)
        return True

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_index + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_index - 1)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.total - 1)
        # only the first screenful is known (``QueueQuery.head``): the last row once the whole order is
        self._last_wanted = self.query_ is not None and not self.query_.complete

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_index + self.rows_visible)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_index - self.rows_visible)

    def action_toggle_mark(self) -> None:
        row = self.cursor_row
        if row is None:
            return
        if self.marked.pop(row.id, None) is None:
            self.marked[row.id] = row.version
        self.refresh_line(self.cursor_index + 1)
        self.move_cursor(self.cursor_index + 1)
        self.post_message(self.MarksChanged())

    def action_mark_range(self) -> None:
        """First ``v`` drops an anchor; the second marks every row between it and the cursor."""
        if self.query_ is None:
            return
        if self._range_anchor is None:
            self._range_anchor = self.cursor_index
            self.notify("Range started: move, then press v again", timeout=2)
            return
        lo, hi = sorted((self._range_anchor, self.cursor_index))
        self.marked.update((r.id, r.version) for r in self.query_.window(lo, hi - lo + 1))
        self._range_anchor = None
        self.refresh()
        self.post_message(self.MarksChanged())

    class HeaderClicked(Message):
        """A column title was clicked: sort by that column (the screen decides the direction)."""

        def __init__(self, column: str) -> None:
            super().__init__()
            self.column = column

    class RowActivated(Message):
        """A row was double-clicked: open its ticket, as ``enter`` does."""

        def __init__(self, row: Row) -> None:
            super().__init__()
            self.row = row

    def on_click(self, event) -> None:
        """The mouse, for those who have one: a title sorts, a row takes the cursor, a double click opens."""
        offset = event.get_content_offset(self)
        if offset is None:  # on the scrollbar: Textual's own handling
            return
        if offset.y == 0:
            column = self.column_at(offset.x)
            if column is not None:
                self.post_message(self.HeaderClicked(column))
            return
        self.move_cursor(int(self.scroll_y) + offset.y - 1)
        row = self.cursor_row
        if event.chain >= 2 and row is not None:
            self.post_message(self.RowActivated(row))

    def column_at(self, x: int) -> str | None:
        """The sort key of the column under cell ``x`` of a line (None: the mark column or a gap)."""
        start = 0
        for col, w in layout(self.scrollable_content_region.width):
            if start <= x < start + w:
                return None if col.key == "mark" else col.key
            start += w + 1
        return None

    # -- the clock -------------------------------------------------------------------------------

    def tick(self) -> int:
        """Repaint the lines whose countdown or age text changed; return how many."""
        return self.refresh_changed()

    def refresh_changed(self, tickets: Collection[int] | None = None) -> int:
        """Repaint the lines (header included) that would read differently from what they show; return how
        many. A clock tick, a re-sort that leaves the screen as it was, an evaluation that confirms what the
        ticket row said: nothing to write to the terminal.

        ``tickets``: only these tickets changed (another agent's change, the order patched): a line that still
        shows the ticket it showed, at the same version, with the same cursor, mark and presence, and not one
        of these, is left as it is without computing its countdown: only the clock moves its cells, and the
        clock's tick (every second) compares every line. The others are compared as always."""
        changed = 0
        now = self._now()
        width = self.scrollable_content_region.width
        top = int(self.scroll_y)
        for y in range(0, self.rows_visible + 1):
            old = self._line_keys.get(y, _UNKNOWN)
            if (
                tickets is not None
                and y
                and old is not None
                and len(old) == 7
                and self._same(old, y, top, width, tickets)
            ):
                continue
            new = self._line_key(y, top, now, width)
            if old == new:
                continue
            changed += 1
            cells = self._changed_cells(old, new, width)
            if cells is None:
                self.refresh_line(top + y)  # virtual line top + y is on screen line y
            else:  # the same ticket, as it was, but its countdown or its age: only those cells
                for x, w in cells:
                    self.refresh(Region(x, y, w, 1))
        return changed

    def _same(self, old: tuple, y: int, top: int, width: int, tickets: Collection[int]) -> bool:
        """Screen line ``y`` (a ticket's, ``old`` its key) would show the same ticket at the same version, with the
        same cursor, mark, width and presence: all it could show differently is its clock-driven cells."""
        index = top + y - 1
        row = self.row_at(index) if index < self.total else None
        return (
            row is not None
            and row.id not in tickets
            and (row.id, row.version, index == self.cursor_index, row.id in self.marked)
            == (old[0], old[1], old[3], old[4])
            and old[5] == width
            and old[6] == presence_mark(self.others_open.get(row.id))
        )

    @staticmethod
    def _changed_cells(old: tuple | None, new: tuple | None, width: int) -> list[tuple[int, int]] | None:
        """Where (x, width) a line showing the same ticket reads differently when only its clock-driven
        cells changed (the countdown, the age): a tick then writes those few cells, not whole lines. None
        when anything else differs."""
        if old is None or new is None or len(old) != 7 or len(new) != 7 or old[0] == "header":
            return None
        (oid, over, ocells, ocursor, omarked, owidth, oseen), (nid, nver, ncells, ncursor, nmarked, nwidth, nseen) = (
            old,
            new,
        )
        if (oid, over, ocursor, omarked, owidth, oseen) != (nid, nver, ncursor, nmarked, nwidth, nseen):
            return None
        (otext, ostate, oage), (ntext, nstate, nage) = ocells, ncells
        wanted = set()
        if (otext, ostate) != (ntext, nstate):
            wanted.add("due")
        if oage != nage:
            wanted.add("age")
        cells, x = [], 0
        for col, w in layout(width):
            if col.key in wanted:
                cells.append((x, w))
            x += w + 1
        return cells

    def countdown(self, row: Row, now: datetime | None = None) -> LiveTimer | None:
        """The row's countdown from its evaluation; None until it is evaluated."""
        if self.sla is None:
            return None
        return self.sla.nearest(row.id, row.version, now or self._now())

    def _cells_key(self, row: Row, now: datetime, width: int = WIDE) -> tuple:
        """What the clock-driven cells read: the countdown (business time left, and the wall-clock due time
        when the two differ: ``countdown_text``), its state, the age."""
        timer = self.countdown(row, now)
        clocks: dict[str, Any] = (
            {"now": int(now.timestamp()), "tz": self.sla.desk.config.tz, "wide": width >= WIDE} if self.sla else {}
        )
        if timer is not None:
            text = countdown_text(timer, **clocks)
        elif self.sla is not None:
            # not evaluated yet: what the ticket row says (deadline, timer, time left when paused); a row
            # written before those were derived knows no paused time: the symbol alone
            timer = self.sla.provisional(row, now)
            text = (
                SYMBOLS["paused"] if row.next_due is None and row.next_left is None else countdown_text(timer, **clocks)
            )
        else:
            text = ""
        age = compact(int((now - row.created_at).total_seconds()))
        return (text, timer.state if timer else "", age)

    # -- rendering -------------------------------------------------------------------------------

    def _line_key(self, y: int, top: int, now: datetime, width: int) -> tuple | None:
        """Everything screen line ``y`` shows when the view starts at row ``top`` (None: a blank line)."""
        if y == 0:
            return ("header", self.sort, width)
        index = top + y - 1
        if index >= self.total:
            if index == 0 and self.loaded and self.empty_text:
                return ("empty", self.empty_text, width)
            return None
        row = self.row_at(index)
        if row is None:
            return ("placeholder", width)
        return (
            row.id,
            row.version,
            self._cells_key(row, now, width),
            index == self.cursor_index,
            row.id in self.marked,
            width,
            presence_mark(self.others_open.get(row.id)),
        )

    def render_line(self, y: int) -> Strip:
        if self._restyle:
            self._restyled()
        width = self.scrollable_content_region.width  # without the scrollbar
        top = int(self.scroll_y)
        now = self._now()
        key = self._line_key(y, top, now, width)
        self._line_keys[y] = key
        if y == 0:  # (the same at every scroll: kept with the rows' strips, which a new style or size clears)
            assert key is not None
            header = self._strips.get(key)
            if header is None:
                header = self._strips[key] = self._header(width)
            return header
        if key is None:
            return Strip.blank(width, self.rich_style)
        if key[0] == "empty":  # (typed by the agent: a plain segment, never markup)
            style = self.rich_style + self.get_component_rich_style("queue-table--placeholder")
            return Strip([Segment(set_cell_size("  " + one_line(self.empty_text), width), style)], width)
        row = self.row_at(top + y - 1)
        if row is None:  # not fetched yet: the next scroll event fetches it
            style = self.rich_style + self.get_component_rich_style("queue-table--placeholder")
            return Strip([Segment(set_cell_size("  …", width), style)], width)
        strip = self._strips.get(key)
        if strip is None:
            _, _, cells, is_cursor, marked, _, seen = key
            strip = self._render_row(row, cells, is_cursor, marked, width, now, seen)
            self._strips[key] = strip
        return strip

    def _header(self, width: int) -> Strip:
        style = self.rich_style + self.get_component_rich_style("queue-table--header")
        sort = self.sort
        segments: list[Segment] = []
        for col, w in layout(width):
            if segments:
                segments.append(Segment(" ", style))
            segments.append(Segment(header_cell(col, w, sort.column, sort.descending), style))
        return Strip(segments).adjust_cell_length(width, style)

    def _render_row(
        self, row: Row, cells: tuple, is_cursor: bool, marked: bool, width: int, now: datetime, seen: str = ""
    ) -> Strip:
        base = self.rich_style
        if marked:
            base += self.get_component_rich_style("queue-table--marked")
        if is_cursor:
            base += self.get_component_rich_style("queue-table--cursor")
        countdown, state, age = cells
        values = {
            "mark": "●" if marked else ("▶" if is_cursor else (seen or " ")),
            "due": countdown,
            "priority": row.priority,
            "status": row.status,
            "id": str(row.id),
            "customer": one_line(row.customer),
            "subject": one_line(row.subject, SUBJECT_SHOWN),
            "assignee": one_line(row.assignee or "—"),
            "group": one_line(row.group),
            "age": age,
        }
        segments: list[Segment] = []
        for col, w in layout(width):
            if segments:
                segments.append(Segment(" ", base))
            text = values[col.key]
            text = text.rjust(w) if col.right else text
            style = base
            if col.key == "due" and state:
                style = base + state_style(self, state)
            segments.append(Segment(set_cell_size(text, w), style))
        return Strip(segments).adjust_cell_length(width, base)


__all__ = [
    "COLUMNS",
    "Column",
    "QueueTable",
    "SORTS",
    "layout",
    "sort_named",
    "sortable_columns",
]  # SORTS: the keys ``o`` cycles
