"""The queue screen's model: what it shows and when it asks the store again. No Textual, no SQL.

The screen (tui/screens/queue.py) keeps the widgets, the keys and the workers; this holds the rest, so that it can
be tested without a pilot (``tests/unit/test_queue_model.py``):

- the agent's choices (view, filter typed, sort: ``QueueState``, saved between sessions) and the filter parsed;
- the generations of the queries in flight: each query the screen starts has a number, and only the newest
  result is shown (``begin``, ``is_current``, ``shown``);
- the instant the order is taken at (``order_at``) and the instants it changes by itself
  (``resort_at``, ``order_expired``): "time to breach" regroups when a warning starts or a deadline passes,
  "breaching soon" takes in a ticket when its deadline comes within the horizon;
- whether the next order can come from the one shown: moved on to a later instant (``can_move_on``), or
  patched with the tickets another connection changed (``can_patch``); else the view is read again;
- the tabs' counts: one count at a time, asked again while one runs, whole or only what the clock moves
  (``ask_count``, ``ask_count_changed``, ``counted``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..store.queue_terms import VIEWS, Filters, Sort, parse_filter
from .state import QueueState

VIEW_KEYS = list(VIEWS)
# seconds between recounts of "breaching soon" when nothing changed (time moves that view; the other
# counts change only with the data, and are recounted when it does)
COUNTS_EVERY = 60

Instants = tuple[datetime | None, datetime | None, datetime | None]
NO_INSTANTS: Instants = (None, None, None)


def moves_with_time(view: str, sort: Sort) -> bool:
    """Whether a query's order changes by the passing of time alone: "time to breach" (groups) or "breaching
    soon" (which tickets it holds). Other sorts of other views change only with the data."""
    return sort.column == "due" or view == "breaching"


@dataclass
class QueueModel:
    state: QueueState = field(default_factory=QueueState)
    filters: Filters = field(default_factory=Filters)
    generation: int = 0  # of the queries started: only the newest one's result is shown
    shown_generation: int = 0  # the generation of the rows on screen
    # "time to breach" and "breaching soon" are taken at order_at, and hold until the first of these instants:
    # the next warning to start (reached at it), the next deadline to pass (passed after it), the next deadline
    # to come within the horizon of "breaching soon" (reached at it)
    order_at: datetime | None = None
    resort_at: Instants = NO_INSTANTS
    data_moved: bool = False  # the data changed since the table last read its rows
    unsaved: bool = False  # the state differs from the state file (a search being typed)
    ticks: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # the tabs' counts as last counted
    counting: bool = False  # a count is running
    count_again: bool = False  # asked while it ran: once more afterwards
    recount_data: bool = True  # the counts that only data changes move are stale

    @classmethod
    def from_state(cls, state: QueueState) -> QueueModel:
        return cls(state=state, filters=parse_filter(state.filter))

    # -- the agent's choices ---------------------------------------------------------------------

    @property
    def sort(self) -> Sort:
        return Sort(self.state.sort, self.state.descending)

    def set_view(self, view: str) -> None:
        self.state.view = view

    def view_after(self, step: int) -> str:
        """The view ``step`` tabs after the current one (-1: before), round the tabs."""
        return VIEW_KEYS[(VIEW_KEYS.index(self.state.view) + step) % len(VIEW_KEYS)]

    def set_filter(self, text: str, typing: bool = False) -> None:
        """``typing``: a character typed in the search prompt; the state is saved when the prompt closes."""
        self.state.filter = text
        self.filters = parse_filter(text)
        if typing:
            self.unsaved = True

    def show_filter(self, text: str, filters: Filters) -> None:
        """A filter made elsewhere (the dashboard's customer): shown as ``text``, applied as ``filters``."""
        self.state.filter, self.filters = text, filters

    def sort_by(self, column: str, descending: bool) -> None:
        self.state.sort, self.state.descending = column, descending

    @property
    def hides_tickets(self) -> bool:
        """Some open tickets are not shown (another view than "All open", or a filter)."""
        return self.state.view != "open" or bool(self.state.filter)

    def show_all_open(self) -> None:
        """ "All open", no filter (a jump to a ticket the view hides)."""
        self.state.view, self.state.filter, self.filters = "open", "", Filters()

    def saved(self) -> None:
        self.unsaved = False

    def query_terms(self, now: Callable[[], datetime]) -> dict[str, Any]:
        """What the query is made of (``QueueQuery``'s arguments but the store, user and search index), at
        ``order_at`` (taken ``now()`` if no order was taken yet)."""
        if self.order_at is None:
            self.order_at = now()
        return {"view": self.state.view, "filters": self.filters, "sort": self.sort, "now": self.order_at}

    # -- queries in flight -----------------------------------------------------------------------

    def begin(self, now: datetime | None = None) -> int:
        """A query starts (a result still on its way is now stale): its generation. ``now``: the order is taken
        at this instant (the data or the time moved it); else at the order shown's, which typing leaves."""
        self.generation += 1
        if now is not None:
            self.order_at = now
        return self.generation

    def is_current(self, generation: int) -> bool:
        return generation == self.generation

    def shown(self, generation: int, instants: Instants | None = None) -> bool:
        """The rows of this query are on screen; ``instants``: when its order next changes by itself (None:
        the same as the order shown's). Returns whether the data had moved since the rows held were read (then
        all are read again)."""
        moved, self.data_moved = self.data_moved, False
        self.shown_generation = generation
        if instants is not None:
            self.resort_at = instants
        return moved

    def patched(self, generation: int, instants: Instants | None = None) -> None:
        """The order shown was patched with the tickets another connection changed (its rows of the others are
        still current): this generation is on screen."""
        self.shown_generation = generation
        if instants is not None:
            self.resort_at = instants

    def data_changed(self) -> None:
        """Another connection committed: the rows held are stale."""
        self.data_moved = True

    @property
    def in_flight(self) -> bool:
        """A query was started whose rows are not on screen yet."""
        return self.generation != self.shown_generation

    # -- the order and the time ------------------------------------------------------------------

    def order_expired(self, now: datetime) -> bool:
        """A ticket has crossed a warning or a deadline (or come within "breaching soon") since the order shown
        was taken: it changes place."""
        warn, due, enter = self.resort_at
        return (
            (warn is not None and now >= warn)
            or (due is not None and now > due)
            or (enter is not None and now >= enter)
        )

    def can_move_on(self, shown: Any, query: Any) -> bool:
        """Whether the query shown (``shown``: a QueueQuery, or None) can be moved on to a later instant (only
        the tickets that crossed move) instead of ``query`` being read: the same view, filters, sort and user,
        and the data unchanged since."""
        return (
            shown is not None
            and not self.data_moved
            and hasattr(shown, "filters")  # (not the first screenful read through the driver: store.plain.QueueHead)
            and (shown.view, shown.filters, shown.sort, shown.user)
            == (query.view, query.filters, query.sort, query.user)
        )

    def can_patch(self, shown: Any, frozen: bool) -> bool:
        """Whether the tickets that another connection changed can be moved in the order shown (``shown``: a
        QueueQuery, or None) rather than the view read again: any sort without free words, in any view but
        "breaching soon" (which the time also moves), nothing else on its way and the order not frozen."""
        return not (
            frozen
            or shown is None
            or not hasattr(shown, "filters")  # the first screenful (QueueHead): the view is read again
            or self.data_moved
            or shown.view == "breaching"
            or shown.filters.words
            or self.in_flight
        )

    def tick(self) -> bool:
        """A second passed: whether to recount "breaching soon" now (every ``COUNTS_EVERY`` ticks)."""
        self.ticks += 1
        return self.ticks % COUNTS_EVERY == 0

    # -- the tabs' counts ------------------------------------------------------------------------

    def ask_count(self, data: bool = True) -> bool | None:
        """A count is wanted (``data``: the data changed, so every view's may have; else only "breaching soon",
        which the clock moves). Returns what to count (True: every view) when one should start now, None when
        one is running (it runs again afterwards)."""
        if data:
            self.recount_data = True
        if self.counting:
            self.count_again = True
            return None
        self.counting = True
        data, self.recount_data = self.recount_data, False
        return data

    def ask_count_changed(self) -> bool:
        """Some tickets changed: True when their difference can be counted now; else a whole count follows the
        one that is running."""
        if self.counting:
            self.recount_data = True
            self.count_again = True
            return False
        self.counting = True
        return True

    def counted(self, counts: dict[str, int] | None, data: bool) -> bool:
        """A count ended (``counts``: None when it failed: counted again next time). Returns whether to count
        again now (asked while it ran)."""
        self.counting = False
        if counts is None:
            self.recount_data = self.recount_data or data
        else:
            self.counts = {v: counts.get(v, self.counts.get(v, 0)) for v in VIEWS}
        again, self.count_again = self.count_again, False
        return again
