"""The queue: every ticket of a view, most urgent first, with live SLA countdowns.

Views are tabs with live counts (1–6, tab); ``/`` narrows as you type (free words and ``key:value``
filters); ``o``/``O`` sort; ``c`` claims; space/``v`` mark rows for ``a``/``p``/``s``/``e`` (escalate: one
target and one reason for all); ``:`` jumps to a ticket or a view. Every change goes through ``Desk`` with the
version the agent saw.

"Time to breach" groups the tickets by what their countdowns show (breached, warning, the rest) at an
instant, the model's ``order_at`` (tui/queue_model.py). The order moves on only when the app's clock passes the next instant at which a
ticket crosses a warning or a deadline (``next_thresholds``), and then only the tickets that crossed move
(``QueueQuery.later``), so a ticket moves up in the tick its countdown changes colour, the cursor staying
on its ticket; ``Z`` freezes that too. "Breaching soon" is taken at that instant as well, and taken again
from the same SQL order when a ticket enters it (``next_entering``). The search index's base is the SQL
order by deadline, which the time does not change.

A keystroke lays nothing out and gives one frame: see ``Prompt``; the status line has a fixed size and is
updated without a layout pass, and only when it reads differently.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.widgets import Input, Static

from ...domain.priority import PRIORITIES
from ...domain.workflow import STATUSES
from ...errors import Conflict
from ...fmt import one_line
from ...store.plain import QueueHead
from ...store.queue_terms import SORTS, VIEWS, Filters, Row, Sort
from ..keys import KeysFooter
from ..queue_model import VIEW_KEYS, QueueModel, moves_with_time
from ..state import QueueState, read_state, save_state
from ..widgets.countdown import LEGEND
from ..widgets.fields import Field
from ..widgets.queue_table import COLUMNS, QueueTable, sort_named, sortable_columns
from .base import DeskScreen
from .modals import ChoiceScreen, TicketListScreen

if TYPE_CHECKING:  # the reads import SQLAlchemy: in the worker that opens the store, after the first frame
    import threading

    from textual.widget import Widget

    from ...clock import Clock
    from ...config import Config
    from ...service import Change, Desk
    from ...store.queue import QueueQuery
    from ...store.queue_counts import ViewCounts
    from ...store.queue_search import SearchIndex
    from ...timers import Timers
    from ..loading import LoadingProgress

# tab titles for narrow terminals (80 columns must show all six, with their counts)
SHORT_TITLES = {
    "mine": "Mine",
    "unassigned": "Unassigned",
    "breaching": "Soon",
    "escalated": "Escalated",
    "pending": "Pending",
    "open": "Open",
}
# seconds after the queue opens at which the search's base is loaded (the view's ids in SQL order and the
# customers' names): after the first paint and the first evaluations, before the agent's first "/"
SEARCH_PRELOAD_AFTER = 1.0
# ids a cleared search, or a search's result held (after a backspace), may arrange on the event loop; more are
# arranged in a worker, the first screenful first. A search's words are matched by the store, in a worker. About
# 10 ms for 47,538 ids (100,000 tickets): 20,000 leaves the key's frame within 16 ms (at a million tickets "v",
# held, took 39 ms of the loop's CPU after a backspace)
SEARCH_ON_KEY = 20_000
# ids of a first screenful read before the whole order (``QueueQuery.head``): a tall terminal's rows and the
# margins the table fetches around them
HEAD_ROWS = 200
# a search's first matches read before its whole order: the rows of a tall terminal and some (each row read along
# the order costs about 10 µs at a million tickets, and a word in 5 % of the tickets reads 20 rows per match)
SEARCH_HEAD_ROWS = 60
# seconds a worker started by a key waits for that key's frame before it runs (``_after_frame``): a bound, for a
# screen that is not refreshed
FRAME_WAIT = 0.25


class ViewTabs(Static):
    """``1 My tickets 4 │ 2 Unassigned 12 …``: the current view stands out (bold, underlined, colour).
    A click on a tab chooses its view (``Chosen``)."""

    COMPONENT_CLASSES = {"view-tabs--active", "view-tabs--count"}

    class Chosen(Message):
        def __init__(self, view: str) -> None:
            super().__init__()
            self.view = view

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.current = "open"
        self.counts: dict[str, int] = {}
        self._spans: list[tuple[int, int, str]] = []  # (first cell, end, view) of each tab as last rendered

    def show(self, current: str, counts: dict[str, int] | None = None) -> None:
        """Repainted only when it reads differently: every change of the desk recounts the tabs, and most leave
        their counts as they were (a repaint of the line costs the frame a few ms)."""
        if current == self.current and (counts is None or counts == self.counts):
            return
        self.current = current
        if counts is not None:
            self.counts = dict(counts)
        self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        active = self.get_component_rich_style("view-tabs--active")
        count_style = self.get_component_rich_style("view-tabs--count", partial=True)
        wide = self.size.width >= 110
        titles = VIEWS if wide else SHORT_TITLES
        spans = []
        for i, (key, title) in enumerate(titles.items(), 1):
            if i > 1:
                text.append(" │ " if wide else "│")
            count = self.counts.get(key)
            label = Text(f"{i} {title}")
            if count is not None:
                label.append(f" {count}", style=count_style)
            if key == self.current:
                label.stylize(active)
            spans.append((text.cell_len, text.cell_len + label.cell_len, key))
            text.append_text(label)
        self._spans = spans
        return text

    def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        if offset is not None:
            for start, end, key in self._spans:
                if start <= offset.x < end:
                    self.post_message(self.Chosen(key))


class Prompt(Field):
    """The search / command line at the bottom of the queue (its cursor steady, as every field's); ``on_change`` is called with each new value,
    in the keystroke's own handler.

    A keystroke should give one frame, with the character and the narrowed rows. Textual paints the
    widgets that asked for a repaint when the screen's update timer fires, and after a frame that timer
    fires again only 17–33 ms later: whatever misses the frame of the character waits that long. Two
    things made the rows miss it:

    - Input sets its ``virtual_size`` on every keystroke, and ``virtual_size`` is a layout reactive: each
      character re-laid out the whole screen. The prompt's size is fixed by CSS (one line, the screen's
      width) and Input scrolls its text from ``virtual_size`` as it stands, so a repaint is all it needs.
    - The search ran on Input's ``Changed`` message, which the screen handles after the prompt has already
      asked for its repaint: the frame went out with the character alone. Narrowing in the watcher of the
      value (a few ms when the search index holds the order) puts the table's and the status line's
      repaints in the same frame.
    """

    virtual_size = Reactive(Size(0, 0), layout=False)

    def __init__(self, on_change: Callable[[str], None], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._on_change = on_change

    def watch_value(self, value: str) -> None:
        self._on_change(value)

    async def _on_key(self, event) -> None:
        # what is typed in the prompt belongs to it: tab and shift+tab would otherwise reach the screen's
        # bindings and switch the view behind the prompt
        if event.key in ("tab", "shift+tab"):
            event.stop()
            event.prevent_default()  # nor Input._on_key (Textual calls each class's handler in turn)
            if event.key == "tab" and self._suggestion:  # tab takes the completion shown (an agent's name)
                self.cursor_position = len(self.value)
                self.action_cursor_right()


class QueueScreen(DeskScreen):
    KEYS_LEGEND = LEGEND  # ``?`` explains the SLA column first (tui/keys.py)
    BINDINGS = [
        Binding("enter", "open", "Open", id="queue.open"),
        Binding("c", "claim", "Claim", id="queue.claim"),
        # priority: handled as the key arrives, so that the prompt has the focus before the next key is
        # delivered (what is typed straight after "/" belongs to the prompt); inside the prompt they are
        # just characters (check_action)
        Binding("slash", "search", "Search", priority=True, id="queue.search"),
        Binding("o", "cycle_sort", "Sort", id="queue.sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False, id="queue.reverse_sort"),
        Binding("a", "assign", "Assign", show=False, priority=True, id="queue.assign"),
        Binding("p", "set_priority", "Priority", show=False, id="queue.priority"),
        Binding("s", "set_status", "Status", show=False, id="queue.status"),
        Binding("e", "escalate", "Escalate", show=False, id="queue.escalate"),
        Binding("C", "set_category", "Category (contact reason)", show=False, id="queue.category"),
        Binding("T", "triage", "To triage (suggestions)", show=False, id="queue.triage"),
        Binding("L", "link_problem", "Link to a problem", show=False, id="queue.link_problem"),
        Binding("colon", "command_line", "Command", show=False, priority=True, id="queue.command"),
        Binding("tab", "next_view", "Next view", show=False, id="queue.next_view"),
        Binding("shift+tab", "previous_view", "Previous view", show=False, id="queue.previous_view"),
        *[
            Binding(str(i), f"view('{key}')", VIEWS[key], show=False, id=f"queue.view.{key}")
            for i, key in enumerate(VIEW_KEYS, 1)
        ],
        Binding("Z", "freeze", "Freeze order", show=False, id="queue.freeze"),
        Binding("R", "roster", "Who is on shift (roster)", show=False, id="queue.roster"),
        Binding("u", "undo", "Undo the last change made here (a few seconds)", show=False, id="queue.undo"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="queue.reload"),
        Binding("escape", "clear", "Clear", show=False, id="queue.clear"),
        Binding("question_mark", "keys", "Keys", id="queue.keys"),
        Binding("q", "app.request_quit", "Quit", id="queue.quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        # a damaged state file is rewritten, and said once (on_mount)
        state, self._state_problem = read_state()
        # the agent's choices, the queries in flight, the order's instants and the tabs' counts (Textual-free)
        self.model = QueueModel.from_state(state)
        self.desk: Desk | None = None  # None until the store is open (desk_ready)
        self._desk_applied = False
        self._composed = False
        self._prompt_mode = ""  # "search", "command" or "assign" while the prompt is open
        # free words are matched in memory, over what this index loads (made once the store is open)
        self.search: SearchIndex | None = None
        self._view_counts: ViewCounts | None = None  # the data views' counts, moved by the tickets that change
        self._status = ""  # the status line as shown (updated only when it reads differently)
        self._count_when_shown = False  # the tabs are counted when the first rows are shown
        self._preload_when_shown = False  # and the search's base loaded a little after
        self._pending: tuple[list[int], dict[int, int], bool] | None = None  # the assign prompt's tickets
        self._directory = None  # the agents the assign prompt checks against (loaded when it opens)
        self._undo: tuple[str, list, float] | None = None  # the last change made here: label, undo, until when

    @property
    def state(self) -> QueueState:
        """The agent's view, filter and sort (saved between sessions)."""
        return self.model.state

    @property
    def filters(self) -> Filters:
        return self.model.filters

    @property
    def counts(self) -> dict[str, int]:
        """The tabs' counts as last counted."""
        return self.model.counts

    PROMPT_OPENERS = (
        "search",
        "command_line",
        "assign",
        "link_problem",
    )  # their keys are characters while a prompt is open
    # the keys that change tickets: off (shown dimmed) while a change this screen asked for is pending (pending.py)
    WRITERS = ("claim", "assign", "set_priority", "set_status", "escalate", "link_problem")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.PROMPT_OPENERS and self._prompt_mode:
            return False
        if action in self.WRITERS and self.app.writes.busy(self):
            return None
        return True

    def writes_changed(self, keys: bool) -> None:
        """A change in flight started, settled, or its spinner moved: the status line says so, and the keys that
        change tickets are off while this screen's own is pending."""
        if keys:  # the footer dims them after the frame that says so (laying the footer out again costs a frame)
            self.call_after_refresh(self.refresh_bindings)
        if self._composed and not self._widgets_gone():
            self.show_status()

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        self._tabs = ViewTabs(id="views")
        yield self._tabs
        self._status_line = Static(Text("Opening the desk…"), id="queue-status")
        yield self._status_line
        self._roster = Static(Text(""), id="roster")
        yield self._roster
        self._table = QueueTable(id="queue-table")
        yield self._table
        yield Prompt(self._prompt_changed, id="prompt")
        yield KeysFooter()

    @property
    def table(self) -> QueueTable:
        table = self._table
        return table if table is not None and table.parent is self else self.query_one(QueueTable)

    _table: QueueTable | None = None  # (compose)
    # (compose) the widgets every change of the desk may touch, held rather than queried: a query of the screen's
    # widgets walks the DOM, about 0.3 ms each, several times per change in every open app
    _tabs: ViewTabs | None = None
    _status_line: Static | None = None
    _roster: Static | None = None

    def _mounted(self, widget: Widget | None) -> Widget | None:
        """``widget`` if it is still on this screen (the app closes its widgets one by one), else None."""
        return widget if widget is not None and widget.parent is self else None

    def _widgets_gone(self) -> bool:
        """The app is closing and the screen's widgets are gone: a late callback (the clock's, a worker's)
        does nothing. (Its table's parent, not a query of the screen's widgets: this is asked several times for
        each change of the desk, by every open app.)"""
        return self._table is None or self._table.parent is not self

    def on_mount(self) -> None:
        # (then DeskScreen's on_mount: desk_ready, if the store is open already)
        self._composed = True
        # keys typed before the first rows are shown (enter, a view's number) wait for them (keygate.py)
        # (the app's own keys, q, ? and ctrl+p, do not wait: on a large desk the first rows take seconds)
        self._rows_coming = self.app.keygate.expect(loading=self) if self.table.query_ is None else None
        failed = getattr(self.app, "load_error", None)
        if failed:  # the desk failed before the screen was up
            self.call_after_refresh(self.desk_failed, failed)
        if self._state_problem:
            self.notify(self._state_problem, title="Queue state", severity="warning", timeout=15, markup=False)
            self._state_problem = None
        self.query_one(ViewTabs).show(self.state.view)
        self.table.focus()
        if self._first_read is not None:  # the first screenful, read through the driver before the screen was mounted
            first, self._first_read = self._first_read, None
            self._first_shown(*first)

    # -- data ------------------------------------------------------------------------------------

    def desk_ready(self, desk: Desk) -> None:
        """The store is open (it opens in a worker: the frame paints first); told once the table is composed."""
        from ...store.queue_search import SearchIndex
        from ..sla_cache import SlaCache

        self.desk = desk
        if self.search is None:
            self.search = SearchIndex()
        if not self._composed:  # (DeskScreen.on_mount tells it again once the table exists)
            return
        self._desk_applied = True
        self.table.use(SlaCache(desk), desk.clock.now)
        # in a worker, like typing: the rows paint when it is done, and the app answers keys meanwhile (a
        # filter saved with free words is matched by the store, its first screenful first)
        self.requery_in_background(fresh=True)
        # the tabs are counted once the rows are shown (_shown): a count (a scan of every ticket) run beside
        # the first query made both wait for each other, about 0.1 s more before the rows at 100,000 open
        # and the search's base (its ids in SQL order) a little after the whole order is shown (_shown)
        self._count_when_shown = True
        self._preload_when_shown = True

    def first_from_driver(self, db: str | None, config: Config, clock: Clock, user: str | None) -> None:
        """(In the app's thread that opens the store, before it imports the store's libraries: SQLAlchemy, SQLModel
        and the table models, a second and more of a launch.) The first screenful of the agent's queue, read
        through the database's driver (``PlainDesk.queue_head``: a data view in "time to breach" without filters,
        the same rows as ``QueueQuery.head``), is shown with its countdowns as the ticket rows say them, and this
        waits for its frame (half a second at most) before the imports take the interpreter. The keys typed
        meanwhile wait for the store (``_rows_coming``): what they do needs it. Nothing is shown where the driver
        cannot read the desk as it is (a desk to create, migrate or derive again, a busy or damaged file: the
        store opens it, or says why it cannot) or the queue is another; then the store's path shows the rows.
        A server that cannot be reached raises ``CannotConnect``: the app says it at once, as the command line
        does, rather than have the store wait for the server a second time."""
        import threading

        from ...errors import CannotConnect
        from ...store.plain import open_plain

        view, sort = self.state.view, self.model.sort
        if sort.column != "due" or view == "breaching" or self.model.filters != Filters():
            return
        try:
            reader = open_plain(db, config, clock)
        except CannotConnect:
            raise  # the store would wait for the server again (an unreachable host: its whole connect timeout)
        except Exception:  # noqa: BLE001 - the store opens the desk next, and says what is wrong with it
            return
        if reader is None:
            return
        try:
            now = clock.now()
            head = reader.queue_head(view, config.acting_agent(user), sort.descending, now, HEAD_ROWS)
        except Exception:  # noqa: BLE001 - (the same)
            head = None
        finally:
            reader.close()
        if head is None:
            return
        painted = threading.Event()
        self.app.call_from_thread(self._first_shown, head, reader, now, painted)
        painted.wait(0.5)

    def _first_shown(self, head: QueueHead, timers: Timers, now: datetime, painted: threading.Event) -> None:
        if not self._composed and self.desk is None:  # read before the screen is mounted: shown when it is
            self._first_read = (head, timers, now, painted)
            return
        if self.desk is not None or self._widgets_gone() or self.table.loaded:
            painted.set()
            return
        from ..sla_cache import ProvisionalSla

        generation = self.model.begin(now)
        self.table.use(ProvisionalSla(timers), self.app.clock.now)
        # (a QueueHead answers what the table asks of a query, for the rows it holds: ids, window, position, rows)
        self.table.set_query(cast("QueueQuery", head), keep_cursor=False)
        self.model.shown(generation)
        self.show_status()
        self.call_after_refresh(painted.set)

    @property
    def _from_driver(self) -> bool:
        """The rows shown were read through the driver, before the store was open (``first_from_driver``)."""
        return isinstance(self.table.query_, QueueHead)

    def _preload_search(self) -> None:
        if self.desk is not None and not self._widgets_gone():
            self._prepare_search(self.make_query())

    def make_query(self) -> QueueQuery:
        """The query as the agent set it up, at the model's ``order_at`` (taken now if no order was taken yet)."""
        from ...store.queue import QueueQuery

        assert self.desk is not None
        terms = self.model.query_terms(self.desk.clock.now)
        return QueueQuery(self.desk.store, user=self.desk.user, search=self.search, **terms)

    def _thresholds(self, query: QueueQuery) -> tuple[datetime | None, datetime | None, datetime | None]:
        """When this query next changes by time alone: "time to breach" regroups when a warning starts or a
        deadline passes; "breaching soon" takes in a ticket when its warning starts or its deadline comes
        within the horizon, and lets it go when its deadline passes. Other sorts of other views do not change with the time."""
        from ...store.queue_thresholds import next_entering, next_thresholds

        breaching = query.view == "breaching"
        if query.now is None or not moves_with_time(query.view, query.sort):
            return (None, None, None)
        warn, due = next_thresholds(query.store, query.now)
        if query.sort.column != "due" and not breaching:  # (a ticket leaves "breaching soon" when it breaches)
            due = None
        return (warn, due, next_entering(query.store, query.now) if breaching else None)

    def requery(self, keep_cursor: bool = True) -> None:
        if self.desk is None:
            return
        generation = self.model.begin(self.desk.clock.now())  # a background result still on its way is now stale
        query = self.make_query()
        self.model.data_moved = False
        # unless the search index holds this order and arranging it is cheap (SEARCH_ON_KEY), its first screenful
        # first (a few LIMITed reads), and the whole order from a worker: at a million tickets that is a second or
        # more (arranging the 473,030 held ids of "All open" again when a search is cleared: 0.2 s and more)
        held = query.try_ids_now(most=SEARCH_ON_KEY)
        first = None if held else query.head(HEAD_ROWS)
        if first is not None:
            self.table.set_query(first, keep_cursor=keep_cursor)
            self.model.shown(generation)
            self.show_status()
            self._shown(first)
            self._background_query(query, generation, after=self._after_frame())
            return
        if not held:
            # no first screenful either (another sort than time to breach, "breaching soon", a filter whose first
            # tickets are rare along the deadlines): the whole order from the worker too, the keys meant for the
            # rows waiting for it. On the loop it took 60-120 ms of CPU at 100,000 tickets for a view sorted by
            # priority, seconds at a million, the screen frozen meanwhile
            self._await_rows()
            self._background_query(query, generation, after=self._after_frame())
            return
        self.table.set_query(query, keep_cursor=keep_cursor)
        self.model.shown(generation, self._thresholds(query))
        self.show_status()
        self._shown(query)

    def requery_in_background(self, fresh: bool = False) -> None:
        """Re-run the query in a thread (typing and live refresh): the screen stays responsive while
        SQL filters and sorts, and a result that a newer one has overtaken is dropped. When the search
        index can answer without SQL (typing on in a loaded search: a few ms), it answers at once.

        ``fresh``: take the order at the clock's instant (the data or the time moved it); else at the
        instant of the order shown, which typing leaves as it is."""
        if self.desk is None:
            return
        generation = self.model.begin(self.desk.clock.now() if fresh else None)
        query = self.make_query()
        # typing on: the search index holds the SQL order, and narrowing it costs a few ms: the character and the
        # rows in one frame. Not when that would examine more than SEARCH_ON_KEY tickets (the first character
        # at a million tickets: 150 ms and more): the character shows at once and the rows come from the worker.
        # (A fresh order is grouped in the worker: about 10 ms at 100,000 tickets, off the keys' path.)
        if not fresh and query.try_ids_now(most=SEARCH_ON_KEY):
            self._background_done(query, generation, None)
            return
        # the first rows of a large desk take seconds: the status line says how many are read meanwhile
        # (a first screenful read through the driver, the store not open yet, is replaced as at the first load)
        self._background_query(
            query, generation, first=not self.table.loaded or self._from_driver, after=self._after_frame()
        )

    def _resort(self, now: datetime) -> None:
        """A ticket has crossed a warning or a deadline: it changes group in "time to breach" (or enters
        "breaching soon"). When the table shows the query as set up now, on the same data, only the tickets
        that crossed are moved (``QueueQuery.later``); else the query is run again at ``now``."""
        assert self.desk is not None
        generation = self.model.begin(now)
        query = self.make_query()
        shown = self.table.query_
        if shown is not None and self.model.can_move_on(shown, query):
            query = shown.later(now)
        self._background_query(query, generation)

    def _after_frame(self) -> threading.Event:
        """Set once the frame of the key being handled is written. A worker that a key starts waits for it before it
        runs: started at once, it took the interpreter's lock from the event loop while that frame rendered (at a
        million tickets a search character's frame came 50 ms after the key for 4 ms of the loop's CPU)."""
        import threading

        written = threading.Event()
        self.call_after_refresh(written.set)
        return written

    @work(thread=True, group="query")
    def _background_query(
        self, query: QueueQuery, generation: int, first: bool = False, after: threading.Event | None = None
    ) -> None:
        """``after``: wait for it first (``_after_frame``), then give up if a newer query was asked meanwhile
        (another character typed: this one's result would be dropped). ``first``: nothing is shown yet (the app opens): the first screenful is shown before the whole order
        (``QueueQuery.head``), which takes a second or more at a million tickets; until one or the other is shown
        the status line says how many ids are read (``Told``). A search shows its first screenful of matches the
        same way (read along the order, a few ms), then the whole order (the store's trigram index: at a million
        tickets, a word of one or two characters is looked for in every ticket's text, a second or so)."""
        from ..loading import Stopped, Told

        if after is not None:
            after.wait(FRAME_WAIT)
            if not self.model.is_current(generation):
                return
        if first or query.filters.words:  # a search: its first screenful of matches, then the whole order's
            head = query.head(HEAD_ROWS if first else SEARCH_HEAD_ROWS)
            if head is not None:
                self.app.call_from_thread(self._background_done, head, generation, None)
        told = Told(self, generation=generation, gone=lambda: self.app.leaving) if first else None
        try:
            query.ids(told)  # the costly part, off the event loop
        except Stopped:  # the agent quit before the rows came
            return
        thresholds = self._thresholds(query)
        self.app.call_from_thread(self._background_done, query, generation, thresholds)

    def _background_done(self, query: QueueQuery, generation: int, thresholds: tuple | None) -> None:
        if not self.model.is_current(generation) or self._widgets_gone() or self.table.frozen:
            return
        # the rows held are current unless the data changed since they were read: then all are read again.
        # thresholds None: answered from the search index: the same order, the same instants
        moved = self.model.shown(generation, thresholds)
        # (rows read through the driver before the store was open are read again: no change was watched then)
        self.table.set_query(query, keep_cursor=True, reuse_rows=not moved and not self._from_driver)
        self.show_status()
        self._shown(query)

    def on_loading_progress(self, message: LoadingProgress) -> None:
        """The first rows are being read (``_background_query``): how many so far."""
        if self.model.is_current(message.generation):
            self._show_loading(message)

    def desk_loading(self, progress: LoadingProgress) -> None:
        """The store, opening, derives every open ticket's deadlines again (a new SLA configuration)."""
        self._show_loading(progress)

    def desk_failed(self, message: str) -> None:
        """The desk could not be opened: the status line says so instead of "Opening the desk…" for ever (the
        notice, gone after 30 s, says it whole)."""
        if not self._composed or self._widgets_gone() or self.table.loaded:
            return
        said = one_line(f"Cannot open the desk: {message}", max(self.size.width - 2, 20))  # (cut with an ellipsis)
        line = Text(said, no_wrap=True, overflow="ellipsis")  # (plain text)
        for status in self.query("#queue-status").results(Static):
            status.update(line, layout=False)

    def _show_loading(self, progress: LoadingProgress) -> None:
        """Until the first rows are shown, the status line says what is being loaded, how many so far, of how
        many, instead of "Opening the desk…" over an empty table."""
        if not self._composed or self._widgets_gone() or self.table.loaded:
            return
        line = progress.line[:1].upper() + progress.line[1:]
        for status in self.query("#queue-status").results(Static):
            status.update(Text(line, no_wrap=True, overflow="ellipsis"), layout=False)  # (plain text)

    _rows_coming: Callable[[], None] | None = None
    _first_read: tuple[QueueHead, Timers, datetime, threading.Event] | None = None  # (first_from_driver)
    _settled = False  # the app was told the queue's first load is done (``DeskApp.steady``)

    def _await_rows(self) -> None:
        """The search prompt closed, or a view or sort was chosen, while the rows are still being read: the keys
        typed next (``enter`` to open the first match) wait for them instead of acting on the rows shown before."""
        if self.model.in_flight and self._rows_coming is None:
            self._rows_coming = self.app.keygate.expect()

    def _shown(self, query: QueueQuery) -> None:
        """Rows are on screen: let the keys typed meanwhile through; the first time the whole order is (not only
        its first screenful: ``QueueQuery.head``), count the tabs and, a little later, load the search's
        base (see desk_ready): each reads every open ticket, and would delay the order they ran beside."""
        coming = self._rows_coming
        if coming is not None:
            self._rows_coming = None
            coming()
        if not query.complete:
            return
        if self._count_when_shown:
            self._count_when_shown = False
            self.recount()
        if self._preload_when_shown:
            self._preload_when_shown = False
            self.set_timer(SEARCH_PRELOAD_AFTER, self._preload_search)

    @work(thread=True, group="search")
    def _prepare_search(self, query: QueueQuery, after: threading.Event | None = None) -> None:
        if after is not None:  # (the prompt's frame first: ``_after_frame``)
            after.wait(FRAME_WAIT)
        if self.search is not None:
            self.search.prepare(query)

    def data_changed(self, changed: frozenset[int] | None = None) -> None:
        """Another connection committed: re-read the window (the cursor stays on its ticket). ``changed``: the
        tickets the feed named (the counts then move by their difference only)."""
        if self.desk is None or self._widgets_gone():
            return
        if self.search is not None:
            self.search.invalidate()
        self.model.data_changed()
        if self.table.frozen:
            self.table.reload()
        else:
            self.requery_in_background(fresh=True)  # new deadlines: new order, new thresholds
        if changed is not None:
            self.recount_changed(changed)
        else:
            self.recount()
        self._reload_roster()

    def tickets_changed(self, changed: frozenset[int]) -> None:
        """Another connection changed these tickets (the feed of ticket changes, store/changes.py): only they
        are touched, by one worker reading on one connection in one transaction (``store.queue.follow``): their
        rows, view bits and deadlines (one statement), the histories of those near the screen (a second); their
        places in the order found by bisection on the deadlines the counts keep, the tabs' counts moved by their
        difference, the next thresholds from theirs; then one call on the event loop shows it all in one frame.
        Where the order cannot be patched (another sort, free words, "breaching soon", a frozen order) the view
        is read again, the counts still moved by the difference."""
        if self.desk is None or self._widgets_gone():
            return
        if not changed:  # no ticket changed (a shift started, an escalation's note): only the roster may show it
            self._reload_roster()
            return
        if self.search is not None:
            self.search.invalidate()
        if self._following is not None and self.model.is_current(self._following):
            # the previous change's follow is on its way: these wait for it, then are followed together on the order
            # it patched (``_deferred_after``). Read again whole for each change that came meanwhile, as before, an
            # app that fell behind (a loaded host: 30 apps at a million tickets) read a million ids for every change
            self._deferred |= changed
            return
        shown = self.table.query_
        if not self.model.can_patch(shown, self.table.frozen) or shown is None or not shown.can_patch():
            self.data_changed(changed)  # (a query on its way, a filter typed, only a first screenful: redo it)
            return
        watch = getattr(self.app, "change_watch", None)
        table = self.table
        top, n = int(table.scroll_y), table.rows_visible
        generation, count = self.model.begin(), self.model.ask_count_changed()
        self._following = generation
        # in the app's reader thread (reader.py: one long-lived thread, not a worker per change)
        self.app.reader.submit(
            partial(
                self._follow,
                shown,
                changed,
                count,
                getattr(watch, "read_at", None),
                self.model.resort_at[:2],
                (top - n, top + 2 * n),
                table.window_span,
            ),
            partial(self._followed, changed=changed, generation=generation),
            partial(self._follow_failed, count, generation),
        )
        self._reload_roster()

    def _follow(
        self,
        shown: QueueQuery,
        changed: frozenset[int],
        count: bool,
        fed_at: float | None,
        thresholds: tuple,
        near: tuple[int, int],
        window: tuple,
    ) -> tuple:
        """In the reader's thread: what ``_followed`` shows. ``count``: the counts are moved here (else a whole
        count is running, and another follows it)."""
        from ...store.queue import follow

        desk, sla = self.desk, self.table.sla
        assert desk is not None
        counts: dict[str, int] | None = None
        whole = False
        kept = self._kept_counts() if count else None
        now = desk.clock.now()
        followed = follow(
            shown,
            changed,
            kept,
            thresholds=thresholds,
            fed_at=fed_at,
            counted_at=now,
            near=near,
            window=window,
            reads=self._driver_reads(desk.store),
        )
        entries = [sla.evaluate(r, now) for r in followed.records] if sla is not None else []
        if count and kept is not None:
            if followed.counts is not None:
                counts = followed.counts
            else:  # not counted yet: counted whole
                counts, whole = kept.load(), True
                counts["breaching"] = kept.breaching(now)
        return followed, entries, (counts, whole) if count else None

    _reads: Any = None  # SQLite: the reader thread's connection of the driver's alone (store/driver_reads.py)

    def _driver_reads(self, store: Any) -> Any:
        """In the reader's thread: the statements of a change on a connection of the driver's, made in that
        thread and used only there (SQLite; None on PostgreSQL, or when it cannot be made: the store's path)."""
        if not store.is_sqlite:
            return None
        if self._reads is None or self._reads.store is not store:
            from ...store.driver_reads import Reads

            try:
                self._reads = Reads(store)
            except Exception:  # noqa: BLE001 - the store's path says what is wrong with the desk
                return None
        return self._reads

    _following: int | None = None  # the generation of the follow on its way (None: none)
    _deferred: frozenset[int] = frozenset()  # tickets changed meanwhile: followed once it is shown

    def _deferred_after(self, generation: int, patched: bool) -> None:
        """The follow of ``generation`` is over: the tickets changed meanwhile are followed now, on the order it
        patched (``patched``), else (it was dropped, failed, or read the view again) the view is read again for
        them too, as for any change that comes while another query is on its way."""
        if self._following == generation:
            self._following = None
        deferred, self._deferred = self._deferred, frozenset()
        if not deferred or self._widgets_gone():
            return
        if patched:
            self.tickets_changed(deferred)
        else:
            self.data_changed(deferred)

    def _follow_failed(self, count: bool, generation: int, _error: BaseException) -> None:
        if count:  # the count asked is over (failed: counted again next time)
            self._counted(None, False)
        self._deferred_after(generation, False)

    def _kept_counts(self) -> ViewCounts:
        from ...store.queue_counts import ViewCounts

        desk = self.desk
        assert desk is not None
        if self._view_counts is None or self._view_counts.user != desk.user:
            self._view_counts = ViewCounts(desk.store, desk.user)
        return self._view_counts

    def _followed(self, result: tuple, changed: frozenset[int], generation: int) -> None:
        """On the event loop, once per change: the tabs, the order, the changed rows and their countdowns, the
        status line, all in the frame that follows."""
        followed, entries, counted = result
        if counted is not None:
            counts, whole = counted
            known = self._view_counts.breaching_known if self._view_counts is not None else None
            if counts is not None and not whole and known is not None:
                # "breaching soon" as the kept counts moved it: the clock to the change's instant, then the change
                counts = {**counts, "breaching": known}
            elif counts is not None and not whole and self._view_counts is not None and "breaching" in self.counts:
                # "breaching soon" moved by what the changed tickets' membership became (the time moves it
                # too: recounted every COUNTS_EVERY seconds, as without changes)
                counts = {**counts, "breaching": self.counts["breaching"] + self._view_counts.breaching_moved}
            elif counts is not None and "breaching" not in counts:
                counts = None  # (no count of "breaching soon" to move yet: a whole count next)
            self._counted(counts, counts is None)
        if not self.model.is_current(generation) or self._widgets_gone():
            self._deferred_after(generation, False)
            return
        if followed.query is None or self.table.frozen:
            self._deferred, changed = frozenset(), changed | self._deferred
            self._deferred_after(generation, False)
            self.data_changed(changed)
            return
        if entries and self.table.sla is not None:
            self.table.sla.store(entries)
        query = followed.query
        self.table.set_query(query, keep_cursor=True, reuse_rows=True, stale=changed, fresh=followed.rows)
        # (an order that the time does not move has no instants: see _thresholds)
        moves = moves_with_time(query.view, query.sort)
        self.model.patched(generation, (*followed.thresholds, None) if moves else (None, None, None))
        self.show_status()
        self._deferred_after(generation, True)

    def _reload_roster(self) -> None:
        roster = self._mounted(self._roster)
        if roster is not None and roster.display:
            self._load_roster()

    def presence_changed(self, seen: dict[int, list[tuple[str, str]]]) -> None:
        """Other agents opened or left tickets: the rows mark them (``◦`` open, ``✎`` someone typing)."""
        if self._composed and not self._widgets_gone():
            self.table.others_open = seen
            self.table.refresh()

    def clock_tick(self, now) -> None:
        if self.desk is None or self._widgets_gone():
            return
        count_due = self.model.tick()
        # the countdowns first, in this tick: a ticket crossing its warning changes colour now, and moves
        # when the regrouped order arrives from a worker (a few ms later)
        self.table.evaluate_visible()
        self.table.tick()
        # (not while only the first screenful is shown, nor while another order is on its way from a worker (a
        # search typed, cleared): starting one would drop it; at a million tickets, where an order takes longer than
        # a second, for ever, each dropped one still running beside the next. Once it is shown, the next tick
        # moves it on to the time, if a ticket crossed meanwhile)
        shown = self.table.query_
        if (
            not self.table.frozen
            and not self.model.in_flight
            and self.model.order_expired(now)
            and (shown is None or shown.complete)
        ):
            self._resort(now)
        if count_due:
            self.recount(data=False)

    def recount_changed(self, changed: frozenset[int]) -> None:
        """Some tickets changed: move the counts by their difference (a full count while one runs)."""
        if self.desk is None:
            return
        if self.model.ask_count_changed():  # else counted again afterwards, whole
            self._count_views(False, changed)

    def recount(self, data: bool = True) -> None:
        """Recount the tabs in a thread; asked again while counting, count once more afterwards.

        ``data``: the data changed, so every count may have (one scan, about 70 ms at 100,000
        tickets); else only "breaching soon", which the clock moves (two index reads, about 10 ms).
        (Not an exclusive worker: cancelling one would make ``wait_for_complete`` raise in tests.)
        """
        if self.desk is None:
            self.model.recount_data = self.model.recount_data or data
            return
        whole = self.model.ask_count(data)
        if whole is not None:
            self._count_views(whole)

    @work(thread=True, group="counts")
    def _count_views(self, data: bool, changed: frozenset[int] | None = None) -> None:
        """``changed``: only these tickets changed (the feed): the counts move by their difference
        (``ViewCounts.apply``) instead of a scan of every ticket."""

        desk = self.desk
        counts = None
        try:
            assert desk is not None  # (counted once the store is open)
            kept = self._kept_counts()
            now = desk.clock.now()
            applied = kept.apply(changed, now) if changed is not None else None
            if applied is None and (data or changed is not None or not kept.loaded):
                applied = kept.load()
            # "breaching soon" from the deadlines the counts keep: the clock's recount (every COUNTS_EVERY seconds)
            # visits only the tickets whose instant passed since the last (at a million tickets its two index
            # ranges visited every breached ticket's row, a second of CPU a minute in every app)
            counts = {**(applied or {}), "breaching": kept.breaching(now)}
        finally:  # even on an error, so that the next recount is not blocked forever
            self.app.call_from_thread(self._counted, counts, data)

    def _counted(self, counts: dict[str, int] | None, data: bool) -> None:
        if self._widgets_gone():
            self.model.counting = False
            return
        again = self.model.counted(counts, data)  # (failed: counted again next time)
        if counts is not None and not self._settled:
            self._settled = True
            self.app.steady("queue counted")  # the first load done: the collector's full passes skip it
        if counts is not None:
            tabs = self._mounted(self._tabs)  # none while the app closes (the table can outlive the tabs)
            if isinstance(tabs, ViewTabs):
                tabs.show(self.state.view, self.counts)
        if again:
            self.recount(data=False)

    def show_status(self) -> None:
        """``12 tickets · filter: vpn prio:P1 · 2 marked · sorted by time to breach ▲``, fitted to one line:
        the sort goes first when it does not fit (the table's header marks its column too), then the filter
        is shortened at its end (``…``); the count is always whole."""
        table = self.table
        if not table.loaded:  # "Opening the desk…" until the first rows: never "0 tickets" while loading
            return
        status_line = self._mounted(self._status_line)
        if not isinstance(status_line, Static):  # the app is closing: its widgets go one by one
            return
        self._show_empty(table)
        filter_text = one_line(self.state.filter, 1000) if self.state.filter else ""
        head = [f"{table.total} ticket{'s' if table.total != 1 else ''}"]
        if table.query_ is not None and not table.query_.complete:  # the first screenful: the rest is on its way
            head = ["… tickets"]
        tail = []
        if table.marked:
            tail.append(f"{len(table.marked)} marked")
        if table.frozen:
            tail.append("order frozen (Z)")
        unsent = self.app.unsent_drafts_text() if hasattr(self.app, "unsent_drafts_text") else ""
        if unsent:
            tail.append(unsent)
        sort = "sorted by " + SORTS[self.state.sort] + (" ▼" if self.state.descending else " ▲")
        width = max(status_line.content_region.width, 20)

        def line(filter_shown: str, with_sort: bool) -> str:
            parts = head + ([f"filter: {filter_shown}"] if filter_shown else []) + tail + ([sort] if with_sort else [])
            return " · ".join(parts)

        saving = self.app.writes.line()  # "⠹ saving claim #12…": first, whatever else has to give way
        if saving:
            head = [saving, *head]
        status = line(filter_text, True)
        if Text(status).cell_len > width:
            status = line(filter_text, False)
        if Text(status).cell_len > width and filter_text:
            room = width - Text(line("x", False)).cell_len + 1  # the cells left for the filter's text
            status = line(_cut(filter_text, max(room, 4)), False)
        if status == self._status:
            return
        self._status = status
        # the filter is typed by the agent: plain text, never markup. No layout: the line's size is fixed
        # (one line, the screen's width), and a layout pass costs a frame of its own
        status_line.update(Text(status, no_wrap=True, overflow="ellipsis"), layout=False)

    def _show_empty(self, table: QueueTable) -> None:
        """An empty table says why: the filter matches nothing (esc clears it), or the view is empty."""
        if self.state.filter:
            # the whole line in the table's width: the filter is cut (…) before "esc clears" is
            room = table.scrollable_content_region.width - 2 - cell_len("No ticket matches  — esc clears")
            text = f"No ticket matches {_cut(one_line(self.state.filter, 1000), max(room, 8))} — esc clears"
        elif (where := getattr(self.app, "new_desk_at", None)) and table.total == 0 and not self._any_ticket():
            # a desk created by this start: said with where it is (a mistyped DESKTERM_DB reads as a quiet queue)
            room = table.scrollable_content_region.width - 2 - cell_len("No ticket yet: a new desk, ")
            text = f"No ticket yet: a new desk, {_cut_left(where, max(room, 12))}"
        else:
            text = f"No ticket in {VIEWS[self.state.view]}"
        if text != table.empty_text:
            table.empty_text = text
            if table.total == 0:
                table.refresh()

    def _any_ticket(self) -> bool:
        """Whether any view counts a ticket (the tabs' counts, once counted)."""
        return self._tabs is not None and any(self._tabs.counts.values())

    def on_resize(self) -> None:
        if self._composed and not self._widgets_gone():
            self.show_status()

    def remember(self) -> None:
        self.model.saved()
        save_state(self.state)

    # -- views and sorting -----------------------------------------------------------------------

    def on_view_tabs_chosen(self, message: ViewTabs.Chosen) -> None:
        self.action_view(message.view)

    def on_queue_table_marks_changed(self, message: QueueTable.MarksChanged) -> None:
        self.show_status()  # "3 marked"

    def on_queue_table_header_clicked(self, message: QueueTable.HeaderClicked) -> None:
        """Sort by the clicked column; clicked again, the other way round."""
        same = message.column == self.state.sort
        self._sort_by(message.column, not self.state.descending if same else False)

    def on_queue_table_row_activated(self, message: QueueTable.RowActivated) -> None:
        self.app.push_screen(_ticket_screen(message.row.id))

    def action_view(self, key: str) -> None:
        if key not in VIEWS:
            return
        self._drop_marks(key)
        self.model.set_view(key)
        self.query_one(ViewTabs).show(key)
        self.remember()
        self.requery()

    def _drop_marks(self, view: str) -> None:
        """Marks belong to the view they were made in: leaving it clears them, and says so."""
        if view != self.state.view and self.table.marked:
            count = len(self.table.marked)
            self.table.marked.clear()
            self.table.refresh()
            self.notify(
                f"{count} mark{'s' if count != 1 else ''} of {VIEWS[self.state.view]} cleared",
                title="Marks cleared",
                timeout=3,
            )

    def action_next_view(self) -> None:
        self.action_view(self.model.view_after(1))

    def action_previous_view(self) -> None:
        self.action_view(self.model.view_after(-1))

    def show_customer(self, customer: str) -> None:
        """The tickets of one customer in "All open" (the dashboard asks for them)."""
        self.action_view("open")
        self.model.show_filter(f"customer:{customer}", Filters(customers=(customer,)))
        self.requery()

    def _sort_by(self, column: str, descending: bool) -> None:
        self.model.sort_by(column, descending)
        self.remember()
        self.requery()

    def action_cycle_sort(self) -> None:
        """The next column shown (at 80 columns the group is not: ``o`` passes it)."""
        sort = Sort(self.state.sort).next(among=sortable_columns(self.table.scrollable_content_region.width))
        self._sort_by(sort.column, sort.descending)

    def action_reverse_sort(self) -> None:
        self._sort_by(self.state.sort, not self.state.descending)

    def action_freeze(self) -> None:
        self.table.frozen = not self.table.frozen
        if not self.table.frozen:
            self.requery()
        self.show_status()

    def action_reload(self) -> None:
        if self.search is not None:
            self.search.invalidate()
        self.requery()
        self.recount()

    # -- the prompt: search, command line, assignee ----------------------------------------------

    def _open_prompt(self, mode: str, value: str, placeholder: str) -> None:
        prompt = self.query_one("#prompt", Input)
        self._prompt_mode = mode
        prompt.placeholder = placeholder
        prompt.value = value
        prompt.cursor_position = len(value)
        prompt.display = True
        # focused now, not after the keys already queued: Widget.focus() waits its turn behind them, and
        # what is typed straight after "/" ("/Rhône" in one paste) reached the table instead of the prompt
        self.set_focus(prompt)

    def _close_prompt(self) -> None:
        prompt = self.query_one("#prompt", Input)
        prompt.suggester = None
        self._prompt_mode = ""
        prompt.display = False
        self.table.focus()
        if self.model.unsaved:
            self.remember()

    def on_screen_resume(self) -> None:
        if self.desk is not None and self._desk_applied:
            self.show_status()  # back from a ticket: a draft may have been sent, or begun

    def on_unmount(self) -> None:
        if self._rows_coming is not None:
            self._rows_coming()
        if self.model.unsaved:  # the app closed with the search prompt open: the filter typed is kept too
            self.remember()

    def action_search(self) -> None:
        self._open_prompt(
            "search", self.state.filter, "/ search: words, prio:P1 status:open customer:lyon assignee:me group:L2"
        )
        if self.desk is not None:
            # load the base ids while the agent starts typing, so that the first character is fast too
            self._prepare_search(self.make_query(), after=self._after_frame())

    def action_command_line(self) -> None:
        self._open_prompt("command", "", ": 1234, EXT-1042, view breaching, sort customer, q")

    def set_filter(self, text: str, background: bool = False) -> None:
        """``background``: typed in the search prompt, a character at a time. The state file is then written
        when the prompt closes (or the screen goes), not on every character (2 ms each on the key's path)."""
        self.model.set_filter(text, typing=background)
        if background:
            self.requery_in_background()
        else:
            self.remember()
            self.requery()

    def _prompt_changed(self, value: str) -> None:
        if self._prompt_mode == "search":
            self.set_filter(value, background=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        mode, value = self._prompt_mode, event.value
        if mode == "assign" and value.strip() and self._directory is not None:
            who = self._directory.resolve(value) if value.strip().lower() not in ("me", "none") else value.strip()
            if who is None and not self._directory.allow_new:
                # a typo must not give the ticket to nobody's view: say who was meant, keep the prompt
                self.notify(self._directory.unknown_message(value), title="Not assigned", severity="warning")
                return
            value = who or value
        self._close_prompt()
        if mode == "search":
            self._await_rows()
        if mode == "command":
            self.run_command(value)
        elif mode == "assign" and value.strip() and self._pending is not None:
            ids, versions, bulk = self._pending
            self._act(ids, versions, bulk, "assign", value.strip())
        elif mode == "problem" and value.strip() and self._pending is not None:
            ids, versions, bulk = self._pending
            problem = value.strip().lstrip("#")
            self._run_bulk(
                ids,
                versions,
                bulk,
                f"link to problem #{problem}",
                "Linked",
                lambda desk, ticket_id, version: desk.link_problem(problem, [ticket_id], expect_version=version)[0],
            )
        self._pending = None

    def action_clear(self) -> None:
        """esc: closes the prompt (clearing a search), else unmarks, else clears the filter."""
        if self._prompt_mode:
            if self._prompt_mode == "search":
                self.set_filter("")
            self._close_prompt()
        elif self.table.marked:
            self.table.marked.clear()
            self.table.refresh()
            self.show_status()
        elif self.state.filter:
            self.set_filter("")

    def run_command(self, text: str) -> None:
        words = text.strip().lstrip(":").split()
        if not words:
            return
        head, rest = words[0].lower(), " ".join(words[1:]).lower()
        if head in ("q", "quit"):
            self.app.action_request_quit()  # as q does: asks first while drafts are unsent
        elif head == "view":
            match = [k for k, t in VIEWS.items() if k.startswith(rest) or t.lower().startswith(rest)] if rest else []
            if match:
                self.action_view(match[0])
            else:
                self.notify(f"no view {rest!r}; views: {', '.join(VIEWS)}", severity="warning")
        elif head == "sort":
            # the words the screen shows ("sort SLA", "sort time to breach desc") or the sorts' names
            named = rest.split()
            descending = (
                bool(named)
                and named[-1] in ("desc", "descending", "asc", "ascending")
                and named.pop().startswith("desc")
            )
            key = sort_named(" ".join(named))
            if key is not None:
                self._sort_by(key, descending)
            else:
                shown = [c.title for c in COLUMNS if c.key in SORTS]
                self.notify(
                    f"no sort {' '.join(named)!r}; sort by {', '.join(shown)} (add desc to reverse)", severity="warning"
                )
        else:
            self.jump(words[0])

    def jump(self, key: str) -> None:
        """Put the cursor on a ticket (by number or ref), switching to All open if the view hides it. The ticket
        is looked up in a thread (the keys never wait on the desk)."""
        if self.desk is not None:
            # keys typed meanwhile (":42" enter enter) wait for the cursor to be on it (keygate.py)
            self._find(key, self.app.keygate.expect())

    @work(thread=True, group="jump", exclusive=True)
    def _find(self, key: str, found: Callable[[], None] = lambda: None) -> None:
        from ...store import queries

        desk = self.desk
        assert desk is not None
        try:
            try:
                with desk.store.read() as session:
                    ticket_id = queries.find_ticket_id(session, key)
            except (ValueError, OverflowError, UnicodeError):  # "²", a number beyond 64 bits
                ticket_id = None
        except BaseException:
            self.app.call_from_thread(found)
            raise
        self.app.call_from_thread(self._jump_to, key, ticket_id, found)

    def _jump_to(self, key: str, ticket_id: int | None, found: Callable[[], None] = lambda: None) -> None:
        try:
            self._jump_now(key, ticket_id)
        finally:
            found()

    def _jump_now(self, key: str, ticket_id: int | None) -> None:
        if self._widgets_gone():
            return
        if ticket_id is None:
            self.notify(f"no ticket {key!r}", severity="warning")
            return
        if self.table.select_ticket(ticket_id):
            return
        if self.model.hides_tickets:
            self._drop_marks("open")
            self.model.show_all_open()
            self.query_one(ViewTabs).show("open")
            self.remember()
            self.requery()
            if self.table.select_ticket(ticket_id):
                return
        self.app.push_screen(_ticket_screen(ticket_id))  # closed tickets: not in any view

    # -- acting on tickets -----------------------------------------------------------------------

    def action_open(self) -> None:
        row = self.table.cursor_row
        if row is not None:
            self.app.push_screen(_ticket_screen(row.id))

    def action_claim(self) -> None:
        """Claim in a thread: on a busy desk the status line says "saving claim #12…" and the keys that change
        tickets wait for it; it lands when the lock is released, or is refused when the retry window ends."""
        from ..pending import write_in_thread

        row = self.table.cursor_row
        if row is None or self.desk is None:
            return
        desk, ticket_id, version = self.desk, row.id, row.version

        def claimed(_version: int) -> None:
            self.app.notify(f"#{ticket_id} is yours", title="Claimed")
            self.data_changed()

        def refused(message: str) -> None:
            self.app.notify(message, title="Not claimed", severity="warning", timeout=10)
            self.data_changed()

        write_in_thread(
            self,
            f"claim #{ticket_id}",
            lambda: desk.claim(ticket_id, expect_version=version),
            done=claimed,
            failed=refused,
        )

    # -- bulk actions ----------------------------------------------------------------------------
    # Marks belong to the view they were made in: changing the view clears them (and says so). With marks,
    # an action first lists the tickets it will touch as they stand now (read in a worker) and acts on each
    # only at the version listed, so nothing is changed in a state the agent has not seen; a marked ticket
    # that has left the view is listed as skipped. Afterwards it says what it did to each ticket, and what it
    # skipped and why. Without marks it acts on the cursor's ticket at the version on screen when the key
    # was pressed.

    def _targets(self) -> list[int]:
        if self.table.marked:
            return list(self.table.marked)  # in the order they were marked
        row = self.table.cursor_row
        return [row.id] if row else []

    def _snapshot(self) -> tuple[list[int], dict[int, int], bool]:
        """At the key press: the tickets an action is for, the versions on screen, and whether it is bulk."""
        ids = self._targets()
        return ids, self.table.versions(ids), bool(self.table.marked)

    def action_assign(self) -> None:
        ids = self._targets()
        if ids:
            self._pending = self._snapshot()
            self._open_prompt("assign", "", f"assign {_count(len(ids))} to: agent name (tab completes), me, or none")
            self._load_directory()

    @work(thread=True, group="directory")
    def _load_directory(self) -> None:
        """The agents the assign prompt completes from and checks against (read off the event loop)."""
        if self.desk is not None:
            directory = self.desk.directory()
            self.app.call_from_thread(self._directory_loaded, directory)

    def _directory_loaded(self, directory) -> None:
        from textual.suggester import SuggestFromList

        self._directory = directory
        if self._prompt_mode == "assign":
            prompt = self.query_one("#prompt", Input)
            prompt.suggester = SuggestFromList([*directory.names, "me", "none"], case_sensitive=False)

    # -- the roster: who is on shift, and how many open tickets each holds -------------------------

    def action_roster(self) -> None:
        roster = self.query_one("#roster", Static)
        roster.display = not roster.display
        if roster.display:
            roster.update(Text("Roster: loading…"))
            self._load_roster()

    @work(thread=True, group="roster")  # not exclusive: a cancelled worker makes wait_for_complete raise
    def _load_roster(self) -> None:
        if self.desk is not None:
            rows = self.desk.roster()
            self.app.call_from_thread(self._show_roster, rows)

    def _show_roster(self, rows) -> None:
        if self._widgets_gone():
            return
        on = [r for r in rows if r[2] is not None]
        off = [r for r in rows if r[2] is None]
        text = Text("On shift: ", style="bold")
        text.append(" · ".join(f"{one_line(name)} {load}" for name, _, _, load in on) or "nobody")
        if off:
            text.append("   Off shift, holding tickets: ", style="bold")
            text.append(" · ".join(f"{one_line(name)} {load}" for name, _, _, load in off))
        text.append("   (open tickets each · R hides)", style="dim")
        self.query_one("#roster", Static).update(text)

    def action_set_priority(self) -> None:
        self._choose("priority", "Priority", PRIORITIES)

    def action_set_status(self) -> None:
        self._choose("status", "Status", STATUSES)

    def _choose(self, field: str, title: str, choices: Iterable[str]) -> None:
        """One of ``choices`` for ``field`` of the marked tickets (else the cursor's)."""
        ids, versions, bulk = self._snapshot()
        if not ids:
            return

        def chosen(value: str | None) -> None:
            if value:
                self._act(ids, versions, bulk, field, value)

        self.app.push_screen(ChoiceScreen(f"{title} of {_count(len(ids))}", list(choices)), chosen)

    def action_triage(self) -> None:
        from .triage import TriageScreen

        self.app.push_screen(TriageScreen())

    def action_set_category(self) -> None:
        ids, versions, bulk = self._snapshot()
        if not ids or self.desk is None:
            return
        taxonomy = self.desk.config.taxonomy
        if not taxonomy:
            self.notify(
                "no categories are configured: add a [categories] table to the configuration",
                severity="warning",
                markup=False,
            )
            return
        from .detail_modals import CategoryDialog

        def chosen(values: dict | None) -> None:
            typed = (values or {}).get("category", "").strip()
            if typed:
                self._act(ids, versions, bulk, "category", typed)

        self.app.push_screen(CategoryDialog(None, taxonomy.paths(), about=f"for {_count(len(ids))}"), chosen)

    def _act(self, ids: list[int], versions: dict[int, int], bulk: bool, field: str, value: str) -> None:
        from ...service import Change

        label = f"{field} → {value}"
        fields: dict[str, Any] = {field: value}  # a text field of Change, named at run time
        one = partial(_change_one, Change(**fields))
        if field != "category":  # the rows do not hold a category: that change is not undone from here
            one.reverse = partial(_reverse, field)  # type: ignore[attr-defined]  # what undoes it, from the row before
        self._run_bulk(ids, versions, bulk, label, "Updated", one)

    def _run_bulk(
        self, ids: list[int], versions: dict[int, int], bulk: bool, label: str, title: str, one: Callable
    ) -> None:
        if self.desk is None or self.table.query_ is None or not ids:
            return
        if bulk:
            fresh = dataclasses.replace(self.make_query(), search=None)  # not the search's cached order
            # the list comes after a read: what is typed meanwhile waits for it (keygate.py)
            self._list_targets(ids, dict(self.table.marked), fresh, label, title, one, self.app.keygate.expect())
        else:
            self._start_apply([(i, versions.get(i)) for i in ids], [], label, title, one)

    @work(thread=True, group="apply")
    def _list_targets(
        self,
        ids: list[int],
        marked: dict[int, int],
        query: QueueQuery,
        label: str,
        title: str,
        one: Callable,
        listed: Callable[[], None],
    ) -> None:
        """Read the marked tickets as they are now, and which the view (with its filters) holds now: taken
        afresh, not the rows on screen, which a live refresh may not have caught up with yet. ``listed`` is
        called once the list is shown (or will not be)."""
        try:
            rows = query.rows(ids)
            shown = set(query.ids())
        except BaseException:
            self.app.call_from_thread(listed)
            raise
        width = max(len(str(i)) for i in ids) + 1
        items, skipped, lines = [], [], []
        for ticket_id in ids:
            row = rows.get(ticket_id)
            if row is None:
                skipped.append((ticket_id, "no such ticket any more"))
                lines.append(f"{'#' + str(ticket_id):<{width}}  skipped: no such ticket any more")
                continue
            # a change since the mark is said before the subject, which a narrow list cuts
            flag = "(changed since you marked it) " if marked.get(ticket_id) not in (None, row.version) else ""
            line = (
                f"{'#' + str(row.id):<{width}}  {row.priority}  {row.status:<8} "
                f"{one_line(row.assignee or '-')[:12]:<12} {flag}{one_line(row.subject)}"
            )
            if ticket_id not in shown:
                reason = f"no longer in this view ({row.status}, {row.assignee or 'unassigned'})"
                skipped.append((ticket_id, reason))
                lines.append(f"{'#' + str(row.id):<{width}}  skipped: {reason}")
                continue
            items.append((ticket_id, row.version))
            lines.append(line)
        self.app.call_from_thread(self._confirm_bulk, items, skipped, lines, label, title, one, listed)

    def _confirm_bulk(
        self,
        items: list[tuple[int, int]],
        skipped: list[tuple[int, str]],
        lines: list[str],
        label: str,
        title: str,
        one: Callable,
        listed: Callable[[], None] = lambda: None,
    ) -> None:
        try:
            self._confirm_bulk_now(items, skipped, lines, label, title, one)
        finally:
            listed()

    def _confirm_bulk_now(
        self,
        items: list[tuple[int, int]],
        skipped: list[tuple[int, str]],
        lines: list[str],
        label: str,
        title: str,
        one: Callable,
    ) -> None:
        if self._widgets_gone():
            return
        if not items:
            self._bulk_done(label, title, [], skipped)
            return
        hint = (
            f"enter applies to the {_count(len(items))} listed, each as shown here"
            + (f" ({len(skipped)} skipped)" if skipped else "")
            + " · esc cancels, the marks stay"
        )

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._start_apply(items, skipped, label, title, one)

        self.app.push_screen(TicketListScreen(f"{label} on {_count(len(items))}", lines, hint), confirmed)

    def _start_apply(
        self,
        items: Sequence[tuple[int, int | None]],
        skipped: list[tuple[int, str]],
        label: str,
        title: str,
        one: Callable,
    ) -> None:
        """The changes run in a thread; meanwhile the status line shows them pending (pending.py)."""
        what = f"{label} on #{items[0][0]}" if len(items) == 1 else f"{label} on {_count(len(items))}"
        pending = self.app.writes.start(what, self)
        self._apply_each(items, skipped, label, title, one, pending)

    @work(thread=True, group="apply")
    def _apply_each(
        self,
        items: Sequence[tuple[int, int | None]],
        skipped: list[tuple[int, str]],
        label: str,
        title: str,
        one: Callable,
        pending=None,
    ) -> None:
        """One change per ticket, each at its version; a ticket changed meanwhile is skipped, saying by whom; one
        the desk did not take (busy for its whole retry window, gone) is skipped saying why."""
        from ..pending import refusal

        desk = self.desk
        assert desk is not None
        done, skipped = [], list(skipped)
        reverse = getattr(one, "reverse", None)
        query = self.table.query_
        before = query.rows([i for i, _ in items]) if reverse is not None and query is not None else {}
        undo: list[tuple[int, int, object]] = []  # (ticket, version made, the change that undoes it)
        busy = None  # the desk stayed busy for a whole retry window: the others are not tried (as long again each)
        try:
            for ticket_id, version in items:
                if busy is not None:
                    skipped.append((ticket_id, f"not tried: {busy}"))
                    continue
                try:
                    made = one(desk, ticket_id, version)
                    done.append(ticket_id)
                    row = before.get(ticket_id)
                    if reverse is not None and row is not None and row.version == version and isinstance(made, int):
                        undo.append((ticket_id, made, reverse(row)))
                except Conflict:
                    skipped.append((ticket_id, _changed_by(desk, ticket_id)))
                except Exception as exc:
                    why = refusal(exc, self.app.db)
                    if why is None:
                        raise
                    skipped.append((ticket_id, one_line(why)))
                    if why.startswith("the desk is busy"):
                        busy = why.split(";")[0]
        finally:
            if pending is not None:
                self.app.call_from_thread(self.app.writes.finish, pending)
        self.app.call_from_thread(self._bulk_done, label, title, done, skipped, undo)

    def _bulk_done(
        self, label: str, title: str, done: list[int], skipped: list[tuple[int, str]], undo: list | None = None
    ) -> None:
        """What the action did: a notice when it did all; each ticket done and skipped (why) otherwise."""
        if self._widgets_gone():
            return
        self.table.marked.clear()
        again = ""
        if undo:  # u undoes it for a few seconds, each ticket only if nobody changed it since
            self._undo = (label, undo, time.monotonic() + UNDO_SECONDS)
            again = f" · u undoes ({UNDO_SECONDS} s)"
        if skipped and len(done) + len(skipped) > 1:  # the list says it all, ticket by ticket
            width = max(len(str(i)) for i, *_ in [*((d,) for d in done), *skipped]) + 1
            lines = [f"✓ {'#' + str(i):<{width}}  {label}" for i in done] + [
                f"✗ {'#' + str(i):<{width}}  skipped: {why}" for i, why in skipped
            ]
            self.app.push_screen(
                TicketListScreen(
                    f"{label}: {len(done)} done, {len(skipped)} skipped",
                    lines,
                    "enter or esc closes" + again,
                    confirm=False,
                )
            )
        elif done:
            ids = ", ".join(f"#{i}" for i in done[:8]) + (f" and {len(done) - 8} more" if len(done) > 8 else "")
            self.notify(f"{label} on {_count(len(done))}: {ids}{again}", title=title, markup=False)
        elif skipped:
            [(ticket_id, why)] = skipped
            self.notify(f"#{ticket_id}: {why}", title="1 skipped", severity="warning", timeout=10, markup=False)
        self.data_changed()
        self.show_status()

    def action_undo(self) -> None:
        """Undo the last assignment, priority or status change made from the queue, a few seconds after, by
        compensating changes (history keeps both); a ticket changed since by anyone is left as it is."""
        label, undo, until = self._undo or ("", [], 0.0)
        self._undo = None
        if not undo or time.monotonic() > until:
            self.notify(
                f"Nothing to undo (an assignment, priority or status change can be undone for {UNDO_SECONDS} s)",
                title="Undo",
                timeout=4,
            )
            return
        changes = {ticket_id: change for ticket_id, _, change in undo}
        self._start_apply(
            [(ticket_id, version) for ticket_id, version, _ in undo],
            [],
            f"undo of {label}",
            "Undone",
            lambda desk, ticket_id, version: desk.update(ticket_id, changes[ticket_id], expect_version=version),
        )

    def action_link_problem(self) -> None:
        """Link the marked incidents (else the cursor's) to a problem: its number or ref is asked in the prompt;
        each incident at the version listed (marked) or on screen (the cursor's)."""
        ids = self._targets()
        if ids:
            self._pending = self._snapshot()
            self._open_prompt("problem", "", f"link {_count(len(ids))} to the problem: its number or ref")

    def action_escalate(self) -> None:
        """Escalate the marked tickets (else the cursor's): one target and one reason for all, each ticket
        at the version listed (marked) or on screen (the cursor's)."""
        from .escalate import ask_escalation

        ids, versions, bulk = self._snapshot()
        if not ids or self.desk is None or self.table.query_ is None:
            return
        what = f"#{ids[0]}" if not bulk else _count(len(ids))

        def chosen(kind: str, to: str, reason: str) -> None:
            self._run_bulk(
                ids,
                versions,
                bulk,
                f"escalation to {to} ({kind})",
                "Escalated",
                lambda desk, ticket_id, version: desk.escalate(ticket_id, kind, to, reason, expect_version=version),
            )

        ask_escalation(self.app, self.desk.config, what, chosen)

    # -- help ------------------------------------------------------------------------------------

    def action_keys(self) -> None:
        from ..keys import show_keys

        show_keys(self.app)


def _cut_left(text: str, cells: int) -> str:
    """``text`` in at most ``cells`` cells, shortened at its start with ``…`` (a path: its end says most)."""
    if cell_len(text) <= cells:
        return text
    while text and cell_len(text) > cells - 1:
        text = text[1:]
    return "…" + text


def _cut(text: str, cells: int) -> str:
    """``text`` in at most ``cells`` cells, shortened at its end with ``…``."""
    if cell_len(text) <= cells:
        return text
    return set_cell_size(text, cells - 1) + "…"


UNDO_SECONDS = 10  # how long after a change from the queue u undoes it


def _change_one(change: Change, desk: Desk, ticket_id: int, version: int | None) -> int:
    return desk.update(ticket_id, change, expect_version=version)


def _reverse(field: str, row: Row) -> Change:
    """The change that gives back what ``row`` showed for ``field`` (a status back only where the workflow
    allows: the service refuses the others, and the undo says so)."""
    from ...service import Change

    if field == "assign":
        return Change(assign=row.assignee or "none")
    return Change(**{field: getattr(row, field)})


def _count(n: int) -> str:
    return f"{n} ticket{'s' if n != 1 else ''}"


def _changed_by(desk, ticket_id: int) -> str:
    """Why a change at an old version was skipped: who changed the ticket last, and how."""
    from ..widgets.timeline import describe

    try:
        ticket = desk.ticket(ticket_id)
    except Exception:  # noqa: BLE001 - the reason is all that is wanted here
        return "changed since you saw it"
    if not ticket.events:
        return "changed since you saw it"
    last = ticket.events[-1]
    return f"changed since you saw it: {describe(last)} by {one_line(last.author)}"


def _ticket_screen(ticket_id: int):
    from .detail import DetailScreen

    return DetailScreen(ticket_id)
