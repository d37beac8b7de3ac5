"""The queue's reads: one view + filters + search + sort, counted and windowed in SQL.

The queue screen never loads the whole desk: it asks for the total (``count``), a window of rows
(``window(offset, limit)``) and, to keep its cursor on a ticket across reloads, the position of one
ticket in the ordering (``position``). The view, field filters and sort are done in SQL, which returns
only the ordered ids (from indexes where it can); rows are then fetched a window at a time by primary
key. Sorting is always ``<column>, id`` so the order is total and positions are stable.

"Time to breach" (the default sort) is by urgency group, then by the stored ``next_due``: breached
tickets first (breached longest ago first), then those whose warning has started, then the rest, then
those with no running deadline (paused). SQL orders by deadline, which does not depend on the time; the groups,
which do, are cut out of that order at the query's instant (``QueueQuery.arrange``: two bisections and a
range of the next_warn index), so the same SQL order serves every instant. ``next_thresholds`` tells the
screen when the next ticket crosses a warning or a deadline: the only instants at which the order changes
by itself; ``QueueQuery.later`` then moves just the tickets that crossed.

Along its seams, the rest lives beside this module (which still exports their public names):
queue_conditions.py (the views, filters and sort keys as SQL), queue_thresholds.py (the instants and the
bisections by deadline), queue_search.py (free words, ``SearchIndex``), queue_counts.py (the tabs' counts).
The views, sorts, filters (``parse_filter``) and rows are queue_terms.py: no SQL there, so that the screens
can name them before SQLAlchemy is imported.
Noticing changes made elsewhere is store/changes.py (``ChangeWatch``).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from ..records import TicketRecord
from . import plain, queries
from .engine import Store
from .ids import IdBits, id_array
from .models import Customer, Escalation, Ticket, TicketSearch, core
from .queue_conditions import customer_names, escalated_condition, filter_conditions, sort_key, view_condition
from .queue_counts import ViewCounts, breaching_count, data_view_counts, view_bits, view_counts
from .queue_search import SearchIndex, haystack
from .queue_terms import (
    BREACHING_HORIZON,
    HEAD_SCAN_MOST,
    OPEN_STATUSES,
    SORTS,
    VIEWS,
    Filters,
    Row,
    Sort,
    parse_filter,
)
from .queue_thresholds import (
    breached_ids,
    due_bounds,
    next_entering,
    next_thresholds,
    position_by_due,
    soon_ids,
    thresholds_after,
    warned_ids,
)

if TYPE_CHECKING:
    from ..progress import Progress
    from .driver_reads import Reads

# Core columns (``core``): a window of rows, or ``deskterm list``'s, is read without the ORM
_T, _CU = core(Ticket).c, core(Customer).c
_SEARCH = core(TicketSearch)
_ROW_COLUMNS = plain.columns(plain.ROW, tickets=_T, customers=_CU)  # (the fields of a Row, in order)
# built once: see queue_thresholds._DEADLINES
_ROWS = (
    select(*_ROW_COLUMNS)
    .join(core(Customer), _CU.id == _T.customer_id)
    .where(_T.id.in_(bindparam("ids", expanding=True)))
)


_REGROUP_MOST = 500  # tickets crossing a threshold between two instants, beyond which all are arranged again


READING_QUEUE = "reading the queue"  # the step of ``sql_ids`` its progress names
READ_PART = 16384  # ids taken from the cursor between two reports of ``sql_ids``'s progress


@dataclass
class QueueQuery:
    """One queue as the agent sees it: a view, filters and free-text search, and a sort.

    The first question asked runs one query for the ordered ids of every ticket matching the view and
    field filters (an index scan and a sort in SQL, about 100 ms at 100,000 tickets) and keeps them;
    free words then narrow those ids in Python (``search``, a ``SearchIndex`` shared by the queries of
    one screen, keeps what that costs to load). Count, windows and positions are answered from that
    snapshot, and a window's rows are fetched by primary key. A reload (new data, new sort or filter)
    is a new QueueQuery.
    """

    store: Store
    view: str = "open"
    filters: Filters = field(default_factory=Filters)
    sort: Sort = field(default_factory=Sort)
    user: str = ""
    now: datetime | None = None  # the instant time-dependent views are taken at
    search: SearchIndex | None = field(default=None, repr=False, compare=False)
    _ids: array | None = field(default=None, init=False, repr=False)
    # "time to breach": the groups, each by deadline (breached, warning, rest, no deadline), as arranged
    _groups: tuple | None = field(default=None, init=False, repr=False)
    _earlier: QueueQuery | None = field(default=None, init=False, repr=False)  # see later()
    _found: array | None = field(default=None, init=False, repr=False)  # the SQL order, words matched
    _top: int | None = field(default=None, init=False, repr=False)  # the highest id in the order (_top_id)
    complete: bool = field(default=True, init=False)  # False: only the first ids of the order (``head``)

    @property
    def _sql_view(self) -> str:
        """The view as SQL selects it: "breaching soon" is every open ticket there, and ``arrange`` keeps
        those in it at the query's instant, so that its SQL order does not depend on the time."""
        return "open" if self.view == "breaching" else self.view

    def _where(self, conn) -> list[ColumnElement]:
        customers = customer_names(conn) if self.filters.customers else None
        return [
            view_condition(self._sql_view, self.user, self.now or datetime.now().astimezone()),
            *filter_conditions(self.filters, self.user, self.store.is_sqlite, customers),
        ]

    def base_key(self) -> tuple:
        """What the SQL order of the ids depends on besides the data: everything but the free words. Never
        the time: for "time to breach" the SQL order is by deadline whatever the time, which only regroups
        it, and "breaching soon" is all open tickets in SQL, the time only choosing among them (both in
        ``arrange``); so one base serves every instant, both directions, and "breaching soon" and "all open"
        alike."""
        sort = Sort("due") if self.sort.column == "due" else self.sort
        return (self._sql_view, replace(self.filters, words=()), sort, self.user)

    def _order(self) -> list:
        key = sort_key(self.sort.column)
        if self.sort.column == "due":  # by deadline, ascending: arrange() groups and reverses
            return [key.asc().nulls_last(), col(Ticket.id).asc()]
        if self.sort.descending:
            return [key.desc().nulls_last(), col(Ticket.id).desc()]
        return [key.asc().nulls_last(), col(Ticket.id).asc()]

    def sql_ids(self, progress: Progress | None = None) -> array:
        """The ids of the view and field filters, in the SQL order (no free words): one SQL query. For
        "time to breach", by deadline (``next_due, id``, no deadline last): ``arrange`` then groups them.
        ``progress``: told the ids read so far ("reading the queue", of a total not known)."""
        # Core, not the ORM session: 100,000 plain integers need no identity map
        with self.store.engine.connect() as conn:
            stmt = select(col(Ticket.id)).where(*self._where(conn)).order_by(*self._order())
            if self.sort.column == "customer":
                stmt = stmt.join(Customer, col(Customer.id) == col(Ticket.customer_id))
            if progress is None:
                return id_array(conn.execute(stmt).scalars())
            out = id_array()
            for part in conn.execute(stmt).scalars().partitions(READ_PART):
                out.extend(cast("Sequence[int]", part))  # (ids: never NULL)
                progress(READING_QUEUE, len(out), None)
            return out

    def arrange(self, ids: array) -> array:
        """The SQL order (any part of it: free words keep a subsequence) as the agent sees it.

        "Breaching soon" keeps, of the open tickets SQL gave, those whose warning has started or that are
        due within the horizon at the query's instant (by deadline: a prefix, found with the group bounds,
        and the warned beyond it; in another order: two index ranges, then a filter).

        Time to breach: breached (``next_due < now``), then warning (``next_warn <= now <= next_due``), then
        the rest, each by ``next_due, id``; then no running deadline, by id. Reversed (``O``): each group
        reversed, in the reverse group order, no deadline still last. The groups are the states the
        countdowns show (``live_timer``: breached once the deadline is passed, warning from the warning
        instant on), so a ticket moves when its countdown changes.

        The ids come by deadline, so the breached are a prefix and the paused a suffix: two bisections,
        reading the deadlines of a few hundred ids by primary key. The warning set is a range of the
        next_warn index (a few thousand ids at 100,000 tickets, read without the view conditions, on
        which SQLite would prefer the status index and visit every open ticket); it splits the middle in
        two, keeping its order. About 10 ms at 100,000 tickets, where sorting the view again in SQL costs
        70–130 ms (an ``ORDER BY CASE`` on the time would do that at every instant, and so would three range
        queries by group, which together cost what one sort of the view does). Later instants on the same
        data: ``later``, which moves only the tickets that crossed a threshold.
        """
        now = self.now or datetime.now().astimezone()
        breaching = self.view == "breaching"
        if self.sort.column != "due":
            if not breaching:
                return ids
            # "breaching soon" in another order: warning started or due within the horizon (two index ranges),
            # the breached left out (those in warning by another timer: their deadlines, by primary key)
            with self.store.engine.connect() as conn:
                warned = self._warned(conn, now)
                inside = IdBits(bytearray(warned.bits))
                for i in breached_ids(conn, warned, now):
                    inside.bits[i] = 0
                inside.add_all(soon_ids(conn, now))
            return inside.among(ids)
        with self.store.engine.connect() as conn:
            if not ids:
                breached = paused = soon = 0
            elif breaching:
                breached, paused, soon = due_bounds(conn, ids, now, now + BREACHING_HORIZON)
            else:
                breached, paused = due_bounds(conn, ids, now)
            warned = self._warned(conn, now)
        if breaching:
            # due within the horizon: a prefix of the deadline order; beyond it, only those in warning
            middle = ids[breached:soon] + warned.among(ids[soon:paused])
            last = warned.among(ids[paused:])
        else:
            middle, last = ids[breached:paused], ids[paused:]
        warning = warned.among(middle)
        rest = warned.outside(middle) if warning else middle
        # "breaching soon" holds no breached ticket: they are "breached", not "soon"
        self._groups = (id_array() if breaching else ids[:breached], warning, rest, last)
        return self._joined()

    def _warned(self, conn, now: datetime) -> IdBits:
        return self.search.warned(conn, now) if self.search is not None else warned_ids(conn, now)

    def _joined(self) -> array:
        assert self._groups is not None
        *groups, last = self._groups
        if self.sort.descending:
            groups, last = [g[::-1] for g in reversed(groups)], last[::-1]
        out = id_array()
        for group in (*groups, last):
            out.extend(group)
        return out

    def later(self, now: datetime) -> QueueQuery:
        """This query at a later instant, the data unchanged: "time to breach" regrouped by moving only the
        tickets that crossed a warning or a deadline in between (``_regroup``), not by arranging every id
        again. At 100,000 tickets one ticket or another crosses about every second; this costs 1–4 ms
        where arranging again costs about 10. "Breaching soon", which tickets enter as time passes, is
        arranged again from the same SQL order (about 10 ms; running its SQL again cost about 120)."""
        query = replace(self, now=now)
        if self.view == "breaching":
            query._found = self._found
        elif self.sort.column == "due":
            query._earlier = self
        return query

    def _regroup(self, earlier: QueueQuery) -> array | None:
        """``earlier``'s groups moved on to this query's instant; None when that is not cheaper."""
        t0, t1 = earlier.now, self.now
        if earlier._groups is None or t0 is None or t1 is None or t1 < t0:
            return None
        breached, warning, rest, paused = (id_array(g) for g in earlier._groups)
        crossed_warning = and_(col(Ticket.next_warn) > t0, col(Ticket.next_warn) <= t1)
        crossed_deadline = and_(col(Ticket.next_due) >= t0, col(Ticket.next_due) < t1)
        with self.store.engine.connect() as conn:
            crossed: Sequence[Any] = conn.execute(
                select(col(Ticket.id), col(Ticket.next_due), col(Ticket.next_warn))
                .where(or_(crossed_warning, crossed_deadline))
                .limit(_REGROUP_MOST + 1)
            ).all()
            if len(crossed) > _REGROUP_MOST:  # after a long pause: arranging again is cheaper
                return None
            newly_breached: list[tuple[datetime, int]] = []
            newly_warned: list[tuple[datetime, int]] = []
            sources: tuple[array[int], ...]
            for ticket_id, due, warn in crossed:
                if due is None:
                    continue
                if due < t1:
                    target, sources = newly_breached, (warning, rest)
                elif warn is not None and warn <= t1:
                    target, sources = newly_warned, (rest,)
                else:
                    continue
                for group in sources:  # not found: not in this query (another view, or filtered out)
                    try:
                        group.pop(group.index(ticket_id))
                    except ValueError:
                        continue
                    target.append((due, ticket_id))
                    break
            # their deadlines are all at or after t0, every other breached one's before: they go last
            breached.extend(i for _, i in sorted(newly_breached))
            for due, ticket_id in sorted(newly_warned):
                warning.insert(position_by_due(conn, warning, due, ticket_id), ticket_id)
        self._groups = (breached, warning, rest, paused)
        return self._joined()

    def can_patch(self) -> bool:
        """Whether ``patched`` can move changed tickets in this query's order: without free words, in any view
        but "breaching soon" (which the time also moves), its whole order known; "time to breach" by its groups,
        another sort by its key (``_patch_sorted``)."""
        return not (
            self._ids is None
            or not self.complete
            or (self._groups is None and self.sort.column == "due")
            or self._earlier is not None
            or self.view == "breaching"
            or self.filters.words
            or self.now is None
        )

    def patched(self, changed: Iterable[int]) -> QueueQuery | None:
        """This query after the tickets ``changed`` changed (the feed of ticket changes, store/changes.py),
        at the same instant: each of them taken out of the order and, when it still belongs to the view and
        filters, put back where its new deadline places it (one query for their rows, then a bisection of a
        few dozen deadlines each, read by primary key), instead of ordering the whole view again. The same ids
        as a new query's (``tests/store/test_incremental.py`` checks it against a full recomputation after
        random changes). ``follow`` does the same and more in one transaction, with the deadlines kept in memory.

        None when ``can_patch`` is not: then the screen queries again."""
        if not self.can_patch():
            return None
        changed = sorted(set(changed))
        with self.store.engine.connect() as conn:
            found: list[Any] = []
            for i in range(0, len(changed), 900):  # SQLite's variable limit
                stmt = select(col(Ticket.id), col(Ticket.next_due), col(Ticket.next_warn)).where(
                    col(Ticket.id).in_(changed[i : i + 900]), *self._where(conn)
                )
                found.extend(conn.execute(stmt).all())
            return self._patch(changed, {r[0]: (r[1], r[2]) for r in found}, conn, None)

    def _patch(
        self,
        changed: list[int],
        found: Mapping[int, tuple[datetime | None, datetime | None]],
        conn,
        kept: ViewCounts | None,
    ) -> QueueQuery:
        """This query with the tickets ``changed`` taken out and those of ``found`` (id → its deadline and warning
        instant, now) put back in their groups. ``kept``: the deadlines of the tickets as this query ordered them
        (see ``follow``: its lock held), found by bisection in memory; else read by primary key on ``conn``."""
        if self.sort.column != "due":
            return self._patch_sorted(changed, sorted(found), conn)
        assert self._groups is not None and self.now is not None
        query = replace(self)
        query._top = self._top
        if not changed:
            query._groups, query._ids = self._groups, self._ids
            return query
        groups = tuple(id_array(g) for g in self._groups)
        top = self._top_id()
        for ticket_id in changed:
            if kept is not None and _take_out_by_deadline(groups, ticket_id, kept):
                continue
            if ticket_id > top:  # (created since this order was taken: in none of its groups)
                continue
            for group in groups:
                position = _find(group, ticket_id)
                if position is not None:
                    group.pop(position)
                    break
        breached, warning, rest, paused = groups
        now = self.now
        for ticket_id, (due, warn) in sorted(found.items()):
            if due is None:  # no running deadline: last, by id
                paused.insert(bisect_left(paused, ticket_id), ticket_id)
                continue
            if due < now:
                group = breached
            elif warn is not None and warn <= now:
                group = warning
            else:
                group = rest
            position = _position_in_memory(group, due, ticket_id, kept) if kept is not None else None
            if position is None:
                position = position_by_due(conn, group, due, ticket_id)
            group.insert(position, ticket_id)
        query._groups = (breached, warning, rest, paused)
        query._ids = query._joined()
        if found:
            query._top = max(top, *found)
        return query

    def _patch_sorted(self, changed: list[int], held: list[int], conn) -> QueueQuery:
        """``_patch`` for a sort by another column than "time to breach": the order is ``key, id`` (nulls last,
        both reversed by ``O``), so each ticket of ``held`` goes where a bisection puts it, comparing its key with
        a few dozen others' in SQL (``_before``: the database's own comparison, the one its ORDER BY uses: its
        collation, its NULLs last)."""
        query = replace(self)
        ids = id_array(self._ids if self._ids is not None else ())
        top = self._top_id()
        for ticket_id in changed:
            if ticket_id <= top and (position := _find(ids, ticket_id)) is not None:
                ids.pop(position)
        for ticket_id in held:
            ids.insert(_position_by_key(conn, ids, ticket_id, self.sort), ticket_id)
        query._ids = ids
        query._top = max(top, *held) if held else top
        return query

    def _top_id(self) -> int:
        """The highest ticket id in this order (a ticket created since it was taken has a higher one)."""
        if self._top is None:
            ids = self._ids if self._ids is not None else id_array()
            self._top = max(ids, default=0)
        return self._top

    def head(self, n: int) -> QueueQuery | None:
        """This query holding only the first ``n`` ids of its order (``complete`` False): the first screenful,
        read without ordering the whole view, so that it can be shown before the whole order is known (a
        second or more at a million tickets). None where that is not cheap: then only the whole order answers.

        "Time to breach" in a data view without free words: its groups (``arrange``: breached, warning, the
        rest, no deadline; reversed by ``O``) are ranges of the deadline index, each read in its order with the
        view and filters as a column rather than a condition (so that the read follows the index and stops
        early), until ``n`` of them are in the view. A view whose first tickets are rare along the index (a
        filter on one customer) is given up after ``HEAD_SCAN_MOST`` rows: its whole order is cheap anyway
        (the filter's index). The same ids as the whole order's first ``n`` (``tests/store/test_queue_head.py``)."""
        if self.sort.column != "due" or self.view == "breaching" or self.now is None:
            return None
        now, due, warn, ticket_id = self.now, col(Ticket.next_due), col(Ticket.next_warn), col(Ticket.id)
        groups: list[list[ColumnElement[bool]]] = [  # as arrange() cuts them out of the order by deadline
            [due < now],
            [due >= now, warn <= now],
            [due >= now, or_(warn.is_(None), warn > now)],
        ]
        order: list[Any] = [due.asc(), ticket_id.asc()]
        if self.sort.descending:
            groups, order = groups[::-1], [due.desc(), ticket_id.desc()]
        ranges: list[tuple[list[ColumnElement[bool]], list[Any]]] = [(g, order) for g in groups]
        ranges.append(([due.is_(None)], [ticket_id.desc() if self.sort.descending else ticket_id.asc()]))
        found = id_array()
        budget = HEAD_SCAN_MOST
        with self.store.engine.connect() as conn:
            in_view = case((and_(*self._where(conn)), 1), else_=0)
            words = self.filters.words
            match = (self.search or SearchIndex()).matcher(conn, words) if words else None
            for conditions, by in ranges:
                if len(found) >= n:
                    break
                if budget <= 0:
                    return None
                read, limit = 0, budget
                stmt = select(ticket_id, in_view)
                if match is not None:  # free words: matched as each row is read (the same ``Matcher`` as the order's)
                    stmt = select(ticket_id, in_view, _SEARCH.c.text, _T.customer_id).outerjoin(
                        _SEARCH, _SEARCH.c.ticket_id == ticket_id
                    )
                result = conn.execute(stmt.where(*conditions).order_by(*by).limit(limit))
                try:
                    for i, inside, *texts in result:
                        read += 1
                        if inside and (match is None or match(i, *texts)):
                            found.append(i)
                            if len(found) >= n:
                                break
                finally:
                    result.close()
                budget -= read
                if len(found) < n and read == limit:  # the range goes on beyond what was read
                    return None
        query = replace(self)
        query._ids, query.complete = found, False
        return query

    def ids(self, progress: Progress | None = None) -> array:
        """Every matching ticket id, in order (computed once per QueueQuery). ``progress``: told the ids read by
        SQL, when SQL reads them (the first load of a large desk)."""
        if self._ids is None and self._earlier is not None:
            self._ids = self._regroup(self._earlier)
            self._earlier = None  # (and what it held can go)
        if self._ids is None:
            found = self._found
            if found is None and self.search is not None:
                found = self.search.find(self, progress=progress)
            elif found is None:
                found = SearchIndex().find(self) if self.filters.words else self.sql_ids(progress)
            assert found is not None
            self._found = found if self.view == "breaching" else None  # later() arranges it again
            self._ids = self.arrange(found)
        return self._ids

    def try_ids_now(self, most: int | None = None) -> bool:
        """Compute the ids if the search index holds their SQL order; True when they are known. ``most``: only
        when that costs at most that many tickets examined and arranged (see ``SearchIndex.find``)."""
        if self._ids is None and self.search is not None:
            found = self.search.find(self, wait=False, most=most)
            if found is not None:
                self._found = found if self.view == "breaching" else None
                self._ids = self.arrange(found)
        return self._ids is not None

    def count(self) -> int:
        return len(self.ids())

    def window(self, offset: int, limit: int, known: Mapping[int, Row] | None = None) -> list[Row]:
        """The rows at these positions; those in ``known`` (still current) are not read again."""
        offset = max(offset, 0)
        wanted = self.ids()[offset : offset + limit]
        if known:
            found = {i: known[i] for i in wanted if i in known}
            found.update(self.rows([i for i in wanted if i not in found]))
        else:
            found = self.rows(wanted)
        # a ticket deleted since the snapshot is skipped; the next reload takes a fresh one
        return [found[i] for i in wanted if i in found]

    def position(self, ticket_id: int | None) -> int | None:
        """Where a ticket stands in this ordering (0-based), None when the view/filters exclude it."""
        if ticket_id is None:
            return None
        return _find(self.ids(), ticket_id)

    def rows(self, ids: Sequence[int]) -> dict[int, Row]:
        """Fresh rows of these tickets, whatever the view (also for a frozen order)."""
        out: dict[int, Row] = {}
        ids = list(ids)
        if not ids:
            return out
        with self.store.engine.connect() as conn:
            for i in range(0, len(ids), 900):  # SQLite's variable limit
                rows: Iterable[Any] = conn.execute(_ROWS, {"ids": ids[i : i + 900]})
                out.update((r[0], Row(*r)) for r in rows)
        return out


def _position_by_key(conn, ids: array, ticket_id: int, sort: Sort) -> int:
    """Where ``ticket_id`` goes in ``ids`` ordered by ``sort`` (not "time to breach"): the same narrowing as
    ``position_by_due``, each step asking SQL which of a few dozen evenly spaced ids come before it."""
    lo, hi = 0, len(ids)  # the position lies in lo..hi
    while lo < hi:
        step = max(1, -(-(hi - lo) // 48))
        pick = range(lo, hi, step)
        before = _before(conn, [ids[i] for i in pick], ticket_id, sort)
        after = next((i for i in pick if ids[i] not in before), None)
        last_before = max((i for i in pick if after is None or i < after), default=lo - 1)
        end = hi if after is None else after
        lo, hi = (end, end) if step == 1 else (last_before + 1, end)
    return lo


def _before(conn, probes: list[int], ticket_id: int, sort: Sort) -> set[int]:
    """Those of ``probes`` that ``key, id`` (nulls last; reversed: ``key desc, id desc``, nulls last) puts
    before ``ticket_id``: compared in SQL, with the ticket's own key as the database has it."""
    key = sort_key(sort.column)
    joined = sort.column == "customer"
    mine = select(key).select_from(Ticket).where(col(Ticket.id) == ticket_id)
    if joined:
        mine = mine.join(Customer, col(Customer.id) == col(Ticket.customer_id))
    value = conn.execute(mine).scalar()
    tid = col(Ticket.id)
    if value is None:
        later_id = tid > ticket_id if sort.descending else tid < ticket_id
        condition = or_(key.is_not(None), and_(key.is_(None), later_id))
    elif sort.descending:
        condition = or_(key > value, and_(key == value, tid > ticket_id))
    else:
        condition = or_(key < value, and_(key == value, tid < ticket_id))
    stmt = select(tid).where(tid.in_(probes), condition)
    if joined:
        stmt = stmt.join(Customer, col(Customer.id) == col(Ticket.customer_id))
    return set(conn.execute(stmt).scalars())


class _Unknown(Exception):
    """A deadline kept in memory is not known (not an open ticket when last read)."""


def _key(kept: ViewCounts) -> Any:
    """Sort key of an id in a group: (its deadline kept, id), as ``next_due, id`` orders them."""

    def key(ticket_id: int) -> tuple[float, int]:
        due = kept.deadline(ticket_id)
        if due != due:  # nan: none known
            raise _Unknown
        return (due, ticket_id)

    return key


def _take_out_by_deadline(groups: tuple[array, ...], ticket_id: int, kept: ViewCounts) -> bool:
    """Take ``ticket_id`` out of the group where its deadline kept places it; False when it is not found there
    (not in the order, or ordered by another deadline: then it is looked for in every group)."""
    due = kept.deadline(ticket_id)
    try:
        if due != due:  # no deadline: the last group, by id
            candidates: list[tuple[array, int]] = [(groups[3], bisect_left(groups[3], ticket_id))]
        else:
            key = _key(kept)
            candidates = [(g, bisect_left(g, (due, ticket_id), key=key)) for g in groups[:3]]
    except _Unknown:
        return False
    for group, position in candidates:
        if position < len(group) and group[position] == ticket_id:
            group.pop(position)
            return True
    return False


_HEAD = 256


def _find(group: array, ticket_id: int) -> int | None:
    """Where ``ticket_id`` is in ``group`` (None: not there): a search of its bytes, in C, without making an
    object of each id as ``array.index`` does (2 ms at 100,000 ids)."""
    head = group[:_HEAD]  # (near the start, where the screen mostly is: no copy of the whole)
    if ticket_id in head:
        return head.index(ticket_id)
    if len(group) <= _HEAD:
        return None
    data, needle, start = group.tobytes(), array(group.typecode, [ticket_id]).tobytes(), _HEAD * group.itemsize
    while (at := data.find(needle, start)) >= 0:
        if at % group.itemsize == 0:
            return at // group.itemsize
        start = at + 1
    return None


def _position_in_memory(group: array, due: datetime, ticket_id: int, kept: ViewCounts) -> int | None:
    """Where (due, ticket_id) goes in a group ordered by ``next_due, id``, bisected on the deadlines kept in
    memory; None when one of those it compares with is not known."""
    try:
        return bisect_left(group, (due.timestamp(), ticket_id), key=_key(kept))
    except _Unknown:
        return None


@dataclass
class Followed:
    """What a change of the desk does to one queue (``follow``)."""

    query: QueueQuery | None  # the order patched (None: it cannot be: read the view again)
    rows: dict[int, Row]  # the changed tickets' rows as they are now (a ticket gone: none), and the window's new ones
    records: list[TicketRecord]  # the changed tickets asked for (``histories``), with their histories
    counts: dict[str, int] | None  # the data views' counts after it (None: not counted yet)
    breaching_moved: int  # what it moved "breaching soon" by, at the query's instant
    thresholds: tuple[datetime | None, datetime | None]  # the next warning and deadline (``next_thresholds``)
    in_memory: bool  # the order was patched on the deadlines kept in memory (no deadline read)


# the changed tickets' records, their view bits and whether the query holds them: built once per query terms
_FOLLOW_STATEMENTS: dict[tuple, Any] = {}


def follow(
    query: QueueQuery,
    changed: Iterable[int],
    counts: ViewCounts | None = None,
    *,
    thresholds: tuple[datetime | None, datetime | None] = (None, None),
    fed_at: float | None = None,
    counted_at: datetime | None = None,
    near: tuple[int, int] | None = None,
    window: tuple[int, int, Collection[int]] | None = None,
    reads: Reads | None = None,
) -> Followed:
    """Everything one queue reads for a change of the desk, on one connection in one transaction: the changed
    tickets' records with their view bits and whether the query holds them (one statement), then the histories
    of those ``histories`` picks (given the patched query and the changed ids it holds: those near the screen)
    (a second). The order is patched as ``patched`` does, the counts moved as ``ViewCounts.apply`` does, and the
    next thresholds are the earlier of ``thresholds`` (the query's, at its instant) and the changed tickets'
    instants after it: a ticket that moved away leaves a threshold early, and reaching it only regroups.

    The deadlines of the tickets in the order are those ``counts`` keeps, when it was last read before
    ``fed_at`` (the instant, ``time.monotonic()``, the feed that named ``changed`` was read): every ticket whose
    deadline differs between what the order was taken from and what the counts were read from changed before
    that, so is among ``changed`` (taken out, not compared with). Otherwise they are read by primary key.
    ``tests/store/test_incremental.py`` compares both ways with a full recomputation, on both engines.

    ``reads`` (SQLite: ``driver_reads.Reads``, made in the calling thread): the same statements on the driver's
    connection alone, in one snapshot (a few tenths of a millisecond less per change); else the store's."""
    from .queries import _RECORD_COLUMNS

    ids = sorted(set(changed))
    patchable = query.can_patch()
    now = query.now or datetime.now().astimezone()
    with _snapshot(query.store, reads) as conn:
        stmt = _follow_statement(query, conn)
        n = len(_RECORD_COLUMNS)
        records: dict[int, TicketRecord] = {}
        bits: dict[int, tuple] = {}
        held: dict[int, tuple[datetime | None, datetime | None]] = {}
        for i in range(0, len(ids), 900):  # SQLite's variable limit
            found: Iterable[Any] = conn.execute(stmt, {"ids": ids[i : i + 900]})
            for r in found:
                record = TicketRecord(*r[:n])
                records[record.id] = record
                bits[record.id] = (r[n], record.next_due, record.next_warn)
                if r[n + 1]:
                    held[record.id] = (record.next_due, record.next_warn)
        lock = counts.lock if counts is not None else None
        if lock is not None:
            lock.acquire()
        try:
            loaded = counts is not None and counts.loaded
            kept = (
                counts
                if loaded
                and counts is not None
                and counts.read_until is not None
                and fed_at is not None
                and counts.read_until < fed_at - (0.0 if query.store.is_sqlite else _FEED_MARGIN)
                else None
            )
            patched = query._patch(ids, held, conn, kept) if patchable else None
            moved = counts.apply_rows(ids, bits, counted_at or now) if loaded and counts is not None else None
            breaching = counts.breaching_moved if moved is not None and counts is not None else 0
        finally:
            if lock is not None:
                lock.release()
        wanted: list[int] = []
        extra: dict[int, Row] = {}
        if patched is not None and near is not None:
            wanted = sorted(set(patched.ids()[max(near[0], 0) : max(near[1], 0)]).intersection(held))
        events = queries.events_on(conn, wanted) if wanted else {}
        if patched is not None and window is not None:
            start, stop, known = window
            missing = [i for i in patched.ids()[max(start, 0) : max(stop, 0)] if i not in known and i not in records]
            for i in range(0, len(missing), 900):
                window_rows: Iterable[Any] = conn.execute(_ROWS, {"ids": missing[i : i + 900]})
                extra.update((r[0], Row(*r)) for r in window_rows)
    chosen = []
    for ticket_id in wanted:
        record = records[ticket_id]
        record.events = events.get(ticket_id, [])
        chosen.append(record)
    return Followed(
        query=patched,
        rows={**extra, **{i: _row(r) for i, r in records.items()}},
        records=chosen,
        counts=moved,
        breaching_moved=breaching,
        thresholds=thresholds_after(thresholds, [(d, w) for _, d, w in bits.values()], now),
        in_memory=kept is not None and query.sort.column == "due",
    )


@contextmanager
def _snapshot(store: Store, reads: Reads | None) -> Iterator[Any]:
    """One transaction to read in: on ``reads`` (the driver's connection) when given, else the store's."""
    if reads is not None and reads.store is store:
        with reads.snapshot() as driver:
            yield driver
        return
    with store.engine.connect() as conn, conn.begin():
        yield conn


# how long before the feed was read the counts' deadlines must have been read for the order to use them. SQLite:
# none (the feed is read from the desk itself: it names every change committed before it is read); PostgreSQL: a
# notification reaches the listener a moment after its transaction is visible to other readers
_FEED_MARGIN = 0.25


def _follow_statement(query: QueueQuery, conn) -> Any:
    from .queries import _RECORD_COLUMNS

    key = (query._sql_view, replace(query.filters, words=()), query.user)
    stmt = _FOLLOW_STATEMENTS.get(key) if not query.filters.customers else None
    if stmt is None:
        holds = case((and_(*query._where(conn)), 1), else_=0)
        stmt = (
            select(*_RECORD_COLUMNS, view_bits(query.user), holds)
            .join(core(Customer), _CU.id == _T.customer_id)
            .where(_T.id.in_(bindparam("ids", expanding=True)))
        )
        if not query.filters.customers:  # (customers matched by name: their ids are read each time)
            if len(_FOLLOW_STATEMENTS) > 32:
                _FOLLOW_STATEMENTS.clear()
            _FOLLOW_STATEMENTS[key] = stmt
    return stmt


def _row(r: TicketRecord) -> Row:
    return Row(
        r.id,
        r.ref,
        r.subject,
        r.customer,
        r.priority,
        r.status,
        r.assignee,
        r.group,
        r.created_at,
        r.next_due,
        r.next_warn,
        r.version,
        r.next_timer,
        r.next_left,
        r.updated_at,
    )


def rows_in_statuses(store: Store, statuses: Sequence[str]) -> list[Row]:
    """The rows of every ticket in these statuses, by id: what the ticket rows hold (their stored deadlines and
    countdowns), no history read (``deskterm list --status``)."""
    stmt = (
        select(*_ROW_COLUMNS)
        .join(core(Customer), _CU.id == _T.customer_id)
        .where(_T.status.in_(list(statuses)))
        .order_by(_T.id)
    )
    with store.engine.connect() as conn:
        rows: Iterable[Any] = conn.execute(stmt)
        return [Row(*r) for r in rows]


def latest_escalation_id(store: Store) -> int:
    """The highest escalation id (0: none yet): one primary-key lookup, for noticing new escalations."""
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.max(col(Escalation.id)))).scalar() or 0)


def escalations_after(store: Store, after_id: int, limit: int = 50) -> list[tuple[Escalation, str]]:
    """The escalations with an id above ``after_id``, oldest first, each with its ticket's subject."""
    stmt = (
        select(Escalation, col(Ticket.subject))
        .join(Ticket, col(Ticket.id) == col(Escalation.ticket_id))
        .where(col(Escalation.id) > after_id)
        .order_by(col(Escalation.id))
        .limit(limit)
    )
    with store.read() as session:
        return [(e, subject) for e, subject in session.execute(stmt).all()]


def records(store: Store, ids: Sequence[int]) -> list[TicketRecord]:
    """Whole tickets with their history, for evaluating the SLA of the visible rows.

    Plain rows (``queries._records``), not ORM objects: reading them is most of the cost of evaluating the
    20-odd rows of a screen (the replay itself is about 1 ms).
    """
    if not ids:
        return []
    with store.engine.connect() as conn:  # one transaction: the tickets and their histories as of one instant
        found = queries.records_by_id(conn, list(ids))
        events = queries.events_on(conn, [t.id for t in found])
    for t in found:
        t.events = events.get(t.id, [])
    return found


__all__ = [
    "OPEN_STATUSES",
    "Filters",
    "QueueQuery",
    "Row",
    "SearchIndex",
    "Sort",
    "SORTS",
    "VIEWS",
    "ViewCounts",
    "breaching_count",
    "data_view_counts",
    "escalated_condition",
    "escalations_after",
    "filter_conditions",
    "follow",
    "Followed",
    "latest_escalation_id",
    "haystack",
    "next_entering",
    "next_thresholds",
    "parse_filter",
    "records",
    "rows_in_statuses",
    "view_condition",
    "view_counts",
]
