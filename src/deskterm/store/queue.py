"""The queue's reads: one view + filters + search + sort, counted and windowed in SQL.

The queue screen never loads the whole desk: it asks for the total (``count``), a window of rows
(``window(offset, limit)``) and, to keep its cursor on a ticket across reloads, the position of one
ticket in the ordering (``position``). The view, field filters and sort are done in SQL, which returns
only the ordered ids (from indexes where it can); rows are then fetched a window at a time by primary
key. Sorting is always ``<column>, id`` so the order is total and positions are stable.

"Breaching soon" holds the open tickets not yet breached whose warning has started or that are due within the
hour (a ticket breached 19 days ago is "breached", not "soon": it leads "All open").

"Time to breach" (the default sort) is by urgency group, then by the stored ``next_due``: breached
tickets first (breached longest ago first), then those whose warning has started, then the rest, then
those with no running deadline (paused). SQL orders by deadline, which does not depend on the time; the groups,
which do, are cut out of that order at the query's instant (``QueueQuery.arrange``: two bisections and a
range of the next_warn index), so the same SQL order serves every instant. ``next_thresholds`` tells the
screen when the next ticket crosses a warning or a deadline: the only instants at which the order changes
by itself; ``QueueQuery.later`` then moves just the tickets that crossed.

Free words are matched in Python (``SearchIndex``): a folded haystack per ticket (``fold``: case and
diacritics), looked up along the ordered ids of the view + filters + sort, so that a search typed character
by character narrows in milliseconds, and matches "RHÔNE" or "Rhône" for "rhone" (SQLite's LIKE only folds
ASCII case).

The views, sorts, filters (``parse_filter``) and rows are queue_terms.py: no SQL there, so that the screens
can name them before SQLAlchemy is imported.
Noticing changes made elsewhere is store/changes.py (``ChangeWatch``).
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement, SQLColumnExpression
from sqlmodel import col

from ..domain.workflow import STATUSES
from ..records import TicketRecord
from . import queries
from .engine import Store
from .models import Customer, Escalation, Ticket
from .queue_terms import (
    BREACHING_HORIZON,
    FIRST_LEVEL,
    OPEN_STATUSES,
    SORTS,
    VIEWS,
    Filters,
    Row,
    Sort,
    fold,
    parse_filter,
)

_ROW_COLUMNS = (
    col(Ticket.id),
    col(Ticket.ref),
    col(Ticket.subject),
    col(Customer.name),
    col(Ticket.priority),
    col(Ticket.status),
    col(Ticket.assignee),
    col(Ticket.group_name),
    col(Ticket.created_at),
    col(Ticket.next_due),
    col(Ticket.next_warn),
    col(Ticket.version),
    col(Ticket.next_timer),
    col(Ticket.next_left),
    col(Ticket.updated_at),
)

_STATUS_RANK = case({s: i for i, s in enumerate(STATUSES)}, value=col(Ticket.status), else_=len(STATUSES))


def _sort_key(column: str) -> SQLColumnExpression[Any]:
    return {
        "due": col(Ticket.next_due),
        "priority": col(Ticket.priority),
        "status": _STATUS_RANK,
        "id": col(Ticket.id),
        "customer": func.lower(Customer.name),
        "subject": func.lower(Ticket.subject),
        "assignee": col(Ticket.assignee),
        "group": col(Ticket.group_name),
        "age": col(Ticket.created_at),
    }[column]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column, text: str, sqlite: bool) -> ColumnElement:
    # SQLite's LIKE already ignores (ASCII) case and, without lower(), costs no function call per row
    pattern = _like(text)
    return column.like(pattern, escape="\\") if sqlite else column.ilike(pattern, escape="\\")


def _customers_matching(text: str, sqlite: bool, customers: Mapping[int, str] | None = None):
    if customers is not None:
        # matched in Python, folding case and diacritics ("rhone" finds "Banque RHÔNE-Alpes")
        needle = fold(text)
        return col(Ticket.customer_id).in_([i for i, name in customers.items() if needle in fold(name)])
    # a subquery on the small customers table spares joining it to every ticket
    return col(Ticket.customer_id).in_(select(col(Customer.id)).where(_contains(col(Customer.name), text, sqlite)))


def escalated_condition() -> ColumnElement:
    """In a group other than L1 (functional), or with an open escalation record (a hierarchical one leaves the
    group alone). The same condition for the view's window and its count; the EXISTS is answered from the
    (closed_at, ticket_id) index of the escalations, only for the tickets in L1."""
    has_open = (
        select(col(Escalation.id))
        .where(col(Escalation.closed_at).is_(None), col(Escalation.ticket_id) == col(Ticket.id))
        .exists()
    )
    return or_(col(Ticket.group_name) != FIRST_LEVEL, has_open)


def view_condition(view: str, user: str, now: datetime) -> ColumnElement:
    is_open = col(Ticket.status).in_(OPEN_STATUSES)
    if view == "mine":
        return and_(is_open, col(Ticket.assignee) == user)
    if view == "unassigned":
        return and_(is_open, col(Ticket.assignee).is_(None))
    if view == "breaching":
        # not breached yet (a breached ticket is "breached", not "soon"), and warning started or due within the hour
        return and_(
            is_open,
            or_(col(Ticket.next_due).is_(None), col(Ticket.next_due) >= now),
            or_(col(Ticket.next_warn) <= now, col(Ticket.next_due) <= now + BREACHING_HORIZON),
        )
    if view == "escalated":
        return and_(is_open, escalated_condition())
    if view == "pending":
        return col(Ticket.status) == "pending"
    if view == "open":
        return is_open
    raise ValueError(f"unknown view {view!r}")


def filter_conditions(
    filters: Filters, user: str, sqlite: bool = True, customers: Mapping[int, str] | None = None
) -> list[ColumnElement]:
    """The field terms as SQL conditions. Free words are not here: ``SearchIndex`` matches them in Python.

    With ``customers`` (id → name, a small table) ``customer:`` terms are matched in Python, folded (``fold``);
    without, by SQL LIKE (which folds ASCII case only).
    """
    conds: list[ColumnElement] = []
    if filters.priorities:
        conds.append(col(Ticket.priority).in_(filters.priorities))
    if filters.statuses:
        conds.append(col(Ticket.status).in_(filters.statuses))
    if filters.customers:
        conds.append(or_(*(_customers_matching(c, sqlite, customers) for c in filters.customers)))
    if filters.assignees:
        alts: list[ColumnElement[bool]] = []
        for a in filters.assignees:
            if a.lower() in ("none", "nobody", "-"):
                alts.append(col(Ticket.assignee).is_(None))
            else:
                alts.append(func.lower(col(Ticket.assignee)) == (user if a.lower() == "me" else a).lower())
        conds.append(or_(*alts))
    if filters.groups:
        # a prefix: group:L2 takes L2-network and L2-apps
        conds.append(
            or_(*(func.lower(col(Ticket.group_name)).like(_like(g.lower())[1:], escape="\\") for g in filters.groups))
        )
    if filters.categories:
        # a prefix too: category:network takes network and network/vpn (the taxonomy's names are ASCII)
        conds.append(
            or_(*(func.lower(col(Ticket.category)).like(_like(c.lower())[1:], escape="\\") for c in filters.categories))
        )
    return conds


def _customer_names(conn) -> dict[int, str]:
    return dict(conn.execute(select(col(Customer.id), col(Customer.name))).all())


def haystack(subject: str, customer: str, ref: str | None) -> str:
    """What a free word is looked for in: subject, customer and ref, folded (``fold``: "rhone" finds "RHÔNE",
    "strasse" finds "Straße"), joined by a character nobody types so that a word never matches across two
    of them. A word of digits (``1234`` or ``#1234``) also finds the ticket with that number."""
    return fold(f"{subject}\x1f{customer}\x1f{ref or ''}")


def fold_words(words: Sequence[str]) -> tuple[str, ...]:
    return tuple(fold(w) for w in words)


def _ticket_number(word: str) -> int | None:
    digits = word.lstrip("#")
    return int(digits) if digits.isascii() and digits.isdigit() else None


def warned_ids(conn, now: datetime) -> set[int]:
    """The tickets whose warning has started at ``now`` (the breached among them too): the next_warn index."""
    return set(conn.execute(select(col(Ticket.id)).where(col(Ticket.next_warn) <= now)).scalars())


_SAMPLES = 48  # deadlines read per stretch and step: three steps find a bound among 100,000 ids


def _bounds(conn, ids: array, now: datetime, soon: datetime | None = None) -> tuple[int, ...]:
    """In ids ordered by ``next_due, id`` (no deadline last): where the not-yet-breached start, where the
    no-deadline start and, given ``soon``, where the deadlines after ``soon`` start (before the no-deadline).
    Each step reads, by primary key and in one query for every bound, the deadlines of 48 evenly spaced ids
    of the stretch a bound is known to lie in, and narrows it to the gap between two of them: about 300
    deadlines in three queries among 100,000 ids."""

    def not_breached(due) -> bool:
        return due is None or due >= now

    def no_deadline(due) -> bool:
        return due is None

    def after_soon(due) -> bool:
        return due is None or due > soon

    tests = (not_breached, no_deadline) if soon is None else (not_breached, no_deadline, after_soon)
    # the first index where a test holds lies in lo..hi (hi: it holds nowhere before the stretch's end)
    stretches = [(0, len(ids))] * len(tests)
    dues: dict[int, datetime | None] = {}
    while any(lo < hi for lo, hi in stretches):
        picks = []
        for lo, hi in stretches:
            step = max(1, -(-(hi - lo) // _SAMPLES))
            picks.append(range(lo, hi, step))
        dues.update(_dues(conn, sorted({ids[i] for pick in picks for i in pick if ids[i] not in dues})))
        narrowed = []
        for test, (lo, hi), pick in zip(tests, stretches, picks, strict=True):
            if lo >= hi:
                narrowed.append((lo, hi))
                continue
            first = next((i for i in pick if test(dues.get(ids[i]))), None)
            before = max((i for i in pick if first is None or i < first), default=lo - 1)
            end = hi if first is None else first
            narrowed.append((end, end) if pick.step == 1 else (before + 1, end))
        stretches = narrowed
    return tuple(lo for lo, _ in stretches)


def soon_ids(conn, now: datetime) -> set[int]:
    """The tickets due within the "breaching soon" horizon of ``now``, not yet breached: the next_due index."""
    return set(
        conn.execute(
            select(col(Ticket.id)).where(col(Ticket.next_due) >= now, col(Ticket.next_due) <= now + BREACHING_HORIZON)
        ).scalars()
    )


def breached_ids(conn, ids: set[int], now: datetime) -> set[int]:
    """Those of ``ids`` whose deadline has passed at ``now`` (breached), by primary key."""
    return {i for i, due in _dues(conn, sorted(ids)).items() if due is not None and due < now}


_REGROUP_MOST = 500  # tickets crossing a threshold between two instants, beyond which all are arranged again


def _position_by_due(conn, group: array, due: datetime, ticket_id: int) -> int:
    """Where (due, ticket_id) goes in a group ordered by ``next_due, id`` (none without a deadline): the
    same narrowing as ``_bounds``, on the deadlines of a few dozen ids per step."""
    key = (due, ticket_id)
    lo, hi = 0, len(group)  # the position lies in lo..hi
    while lo < hi:
        step = max(1, -(-(hi - lo) // _SAMPLES))
        pick = range(lo, hi, step)
        dues = _dues(conn, [group[i] for i in pick])
        after = next((i for i in pick if (dues.get(group[i]) or due, group[i]) > key), None)
        before = max((i for i in pick if after is None or i < after), default=lo - 1)
        end = hi if after is None else after
        lo, hi = (end, end) if step == 1 else (before + 1, end)
    return lo


def _dues(conn, ids: Sequence[int]) -> dict[int, datetime | None]:
    out: dict[int, datetime | None] = {}
    for i in range(0, len(ids), 900):  # SQLite's variable limit
        out.update(
            conn.execute(select(col(Ticket.id), col(Ticket.next_due)).where(col(Ticket.id).in_(ids[i : i + 900]))).all()
        )
    return out


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

    @property
    def _sql_view(self) -> str:
        """The view as SQL selects it: "breaching soon" is every open ticket there, and ``arrange`` keeps
        those in it at the query's instant, so that its SQL order does not depend on the time."""
        return "open" if self.view == "breaching" else self.view

    def _where(self, conn) -> list[ColumnElement]:
        customers = _customer_names(conn) if self.filters.customers else None
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
        key = _sort_key(self.sort.column)
        if self.sort.column == "due":  # by deadline, ascending: arrange() groups and reverses
            return [key.asc().nulls_last(), col(Ticket.id).asc()]
        if self.sort.descending:
            return [key.desc().nulls_last(), col(Ticket.id).desc()]
        return [key.asc().nulls_last(), col(Ticket.id).asc()]

    def sql_ids(self) -> array:
        """The ids of the view and field filters, in the SQL order (no free words): one SQL query. For
        "time to breach", by deadline (``next_due, id``, no deadline last): ``arrange`` then groups them."""
        # Core, not the ORM session: 100,000 plain integers need no identity map
        with self.store.engine.connect() as conn:
            stmt = select(col(Ticket.id)).where(*self._where(conn)).order_by(*self._order())
            if self.sort.column == "customer":
                stmt = stmt.join(Customer, col(Customer.id) == col(Ticket.customer_id))
            return array("q", conn.execute(stmt).scalars())

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
                inside = (warned - breached_ids(conn, warned, now)) | soon_ids(conn, now)
            return array("q", [i for i in ids if i in inside])
        with self.store.engine.connect() as conn:
            if not ids:
                breached = paused = soon = 0
            elif breaching:
                breached, paused, soon = _bounds(conn, ids, now, now + BREACHING_HORIZON)
            else:
                breached, paused = _bounds(conn, ids, now)
            warned = self._warned(conn, now)
        if breaching:
            # due within the horizon: a prefix of the deadline order; beyond it, only those in warning
            middle = ids[breached:soon] + array("q", [i for i in ids[soon:paused] if i in warned])
            last = array("q", [i for i in ids[paused:] if i in warned])
        else:
            middle, last = ids[breached:paused], ids[paused:]
        warning = array("q", [i for i in middle if i in warned])
        rest = array("q", [i for i in middle if i not in warned]) if warning else middle
        # "breaching soon" holds no breached ticket: they are "breached", not "soon"
        self._groups = (array("q") if breaching else ids[:breached], warning, rest, last)
        return self._joined()

    def _warned(self, conn, now: datetime) -> set[int]:
        return self.search.warned(conn, now) if self.search is not None else warned_ids(conn, now)

    def _joined(self) -> array:
        assert self._groups is not None
        *groups, last = self._groups
        if self.sort.descending:
            groups, last = [g[::-1] for g in reversed(groups)], last[::-1]
        out = array("q")
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
        breached, warning, rest, paused = (array("q", g) for g in earlier._groups)
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
                warning.insert(_position_by_due(conn, warning, due, ticket_id), ticket_id)
        self._groups = (breached, warning, rest, paused)
        return self._joined()

    def patched(self, changed: Iterable[int]) -> QueueQuery | None:
        """This query after the tickets ``changed`` changed (the feed of ticket changes, store/changes.py),
        at the same instant: each of them taken out of the order and, when it still belongs to the view and
        filters, put back where its new deadline places it (one query for their rows, then a bisection of a
        few dozen deadlines each), instead of ordering the whole view again. The same ids as a new query's
        (``tests/store/test_incremental.py`` checks it against a full recomputation after random changes).

        Only "time to breach" without free words, in any view but "breaching soon" (which the time also
        moves); None otherwise, or before the ids are known: then the screen queries again."""
        if (
            self._ids is None
            or self._groups is None
            or self._earlier is not None
            or self.sort.column != "due"
            or self.view == "breaching"
            or self.filters.words
            or self.now is None
        ):
            return None
        changed = sorted(set(changed))
        query = replace(self)
        if not changed:
            query._groups, query._ids = self._groups, self._ids
            return query
        groups = tuple(array("q", g) for g in self._groups)
        for ticket_id in changed:
            for group in groups:
                try:
                    group.pop(group.index(ticket_id))  # (a search in C: well under a millisecond)
                except ValueError:
                    continue
                break
        breached, warning, rest, paused = groups
        now = self.now
        with self.store.engine.connect() as conn:
            found: list[Any] = []
            for i in range(0, len(changed), 900):  # SQLite's variable limit
                stmt = select(col(Ticket.id), col(Ticket.next_due), col(Ticket.next_warn)).where(
                    col(Ticket.id).in_(changed[i : i + 900]), *self._where(conn)
                )
                found.extend(conn.execute(stmt).all())
            for ticket_id, due, warn in sorted(found, key=lambda r: r[0]):
                if due is None:  # no running deadline: last, by id
                    paused.insert(bisect_left(paused, ticket_id), ticket_id)
                    continue
                if due < now:
                    group = breached
                elif warn is not None and warn <= now:
                    group = warning
                else:
                    group = rest
                group.insert(_position_by_due(conn, group, due, ticket_id), ticket_id)
        query._groups = (breached, warning, rest, paused)
        query._ids = query._joined()
        return query

    def ids(self) -> array:
        """Every matching ticket id, in order (computed once per QueueQuery)."""
        if self._ids is None and self._earlier is not None:
            self._ids = self._regroup(self._earlier)
            self._earlier = None  # (and what it held can go)
        if self._ids is None:
            found = self._found
            if found is None and self.search is not None:
                found = self.search.find(self)
            elif found is None:
                found = SearchIndex().find(self) if self.filters.words else self.sql_ids()
            assert found is not None
            self._found = found if self.view == "breaching" else None  # later() arranges it again
            self._ids = self.arrange(found)
        return self._ids

    def try_ids_now(self) -> bool:
        """Compute the ids if the search index holds their SQL order; True when they are known."""
        if self._ids is None and self.search is not None:
            found = self.search.find(self, wait=False)
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
        try:
            return self.ids().index(ticket_id)
        except ValueError:
            return None

    def rows(self, ids: Sequence[int]) -> dict[int, Row]:
        """Fresh rows of these tickets, whatever the view (also for a frozen order)."""
        out: dict[int, Row] = {}
        ids = list(ids)
        if not ids:
            return out
        with self.store.engine.connect() as conn:
            for i in range(0, len(ids), 900):  # SQLite's variable limit
                stmt = (
                    select(*_ROW_COLUMNS)
                    .join(Customer, col(Customer.id) == col(Ticket.customer_id))
                    .where(col(Ticket.id).in_(ids[i : i + 900]))
                )
                rows: Iterable[Any] = conn.execute(stmt)
                out.update((r[0], Row(*r)) for r in rows)
        return out


class SearchIndex:
    """Free words, matched in memory: per (view, filters, sort), the ids in SQL order and a haystack per id
    (the query then ``arrange``s what matches: for "time to breach", grouped at its instant).

    The haystacks (``haystack``: subject, customer, ref, folded) of every open ticket are loaded
    once, in one sequential scan (about 150 ms at 70,000 open tickets, in a worker); the ordered ids of
    the view + field filters + sort come from SQL (or from the screen's query without words, which the
    index keeps: clearing the search shows them again without SQL). A search is then a substring test
    per haystack along that list, 5–20 ms at 70,000; when the new words extend earlier ones (typing on:
    "v" → "vp" → "vpn"), only the earlier, smaller result is examined, and earlier results are kept for
    backspace.

    One index serves the queries of one screen, from the event loop and from workers (a lock).
    ``invalidate`` (the data changed) drops the ids and results: the next query reads its ids again, and
    the haystacks of the tickets it has not seen yet. The queue screen loads the haystacks once it has
    opened, so that the agent's first ``/`` finds them there.
    """

    RESULTS_KEPT = 32

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.generation = 0  # bumped by invalidate(): what was loaded before is dropped
        self._held = 0  # the generation of what is held
        self._texts: dict[int, str] | None = None
        self._key: tuple | None = None
        self._ids: array | None = None
        self._hays: list[str] | None = None
        self._positions: dict[int, int] | None = None  # id → position in _ids, when a word is a number
        self._results: OrderedDict[tuple[str, ...], list[int]] = OrderedDict()  # words → positions in _ids
        self._warned: tuple | None = None  # (generation, instant, ids) of the last warned_ids
        self.loads = 0  # full loads of the haystacks (tests and benchmarks read these)
        self.scanned = 0  # haystacks examined

    def invalidate(self) -> None:
        """The data changed: what is held is stale (dropped by the next call, which waits for no load), but
        for the haystacks: a ticket's subject, customer and ref never change once it exists (the service has
        no such edit), so the next load reads only the tickets it has not seen (the new ones)."""
        self.generation += 1

    def warned(self, conn, now: datetime) -> set[int]:
        """``warned_ids`` at ``now``, kept for the next queries at the same instant (typing on)."""
        generation, held = self.generation, self._warned
        if held is not None and held[:2] == (generation, now):
            return held[2]
        found = warned_ids(conn, now)
        self._warned = (generation, now, found)  # one assignment: safe between the loop and a worker
        return found

    def _check_generation(self) -> None:
        if self._held != self.generation:
            self._held = self.generation
            self._key, self._ids, self._hays, self._positions = None, None, None, None  # (not _texts: invalidate)
            self._results.clear()

    def _use_base(self, key: tuple, ids: array) -> None:
        if key != self._key or ids is not self._ids:
            self._key, self._ids, self._hays, self._positions = key, ids, None, None
            self._results.clear()

    def _holds(self, query: QueueQuery, texts: bool) -> bool:
        return (
            self._held == self.generation
            and self._ids is not None
            and self._key == query.base_key()
            and (not texts or self._texts is not None)
        )

    def ready(self, query: QueueQuery) -> bool:
        """Whether ``find`` would answer this query without SQL."""
        return self._holds(query, texts=bool(query.filters.words))

    def prepare(self, query: QueueQuery) -> None:
        """Load what a search on this query will need (in a worker, when the search prompt opens)."""
        with self._lock:
            self._load(query)
        if query.sort.column == "due" and query.now is not None:  # and what grouping its results will
            with query.store.engine.connect() as conn:
                self.warned(conn, query.now)

    def find(self, query: QueueQuery, wait: bool = True) -> array | None:
        """The query's ids, its words matched in memory; with ``wait=False``, None unless no SQL is needed."""
        if not query.filters.words:
            return self._base(query, wait)
        if not self._lock.acquire(blocking=wait):
            return None
        try:
            if not wait and not self.ready(query):
                return None
            self._load(query)
            ids = self._ids
            assert ids is not None
            return array("q", [ids[p] for p in self._narrow(fold_words(query.filters.words))])
        finally:
            self._lock.release()

    def _base(self, query: QueueQuery, wait: bool) -> array | None:
        """Without words: the held ids when they are this query's, else SQL (kept for the searches that
        follow). Never waits for a search's load: the agent switching views should not."""
        generation = self.generation
        if self._lock.acquire(blocking=False):
            try:
                self._check_generation()
                if self._holds(query, texts=False):
                    return self._ids
            finally:
                self._lock.release()
        if not wait:
            return None
        ids = query.sql_ids()
        if self._lock.acquire(blocking=False):
            try:
                self._check_generation()
                if generation == self.generation:
                    self._use_base(query.base_key(), ids)
            finally:
                self._lock.release()
        return ids

    def _load(self, query: QueueQuery) -> None:
        """Under the lock: the haystacks, the query's base ids and their haystacks in that order."""
        self._check_generation()
        if self._texts is None:
            self._texts = self._load_texts(query.store)
            self.loads += 1
        key = query.base_key()
        if key != self._key or self._ids is None:
            self._use_base(key, query.sql_ids())
        if self._hays is None:
            texts, ids = self._texts, self._ids
            assert ids is not None
            missing = [i for i in ids if i not in texts]
            if missing:  # committed between the two reads (data_changed follows and reloads anyway)
                texts.update(self._load_texts(query.store, missing))
            self._hays = [texts[i] for i in ids]
        # invalidated meanwhile: this answer is from the old data, and the next call drops it all

    @staticmethod
    def _load_texts(store: Store, ids: Sequence[int] | None = None) -> dict[int, str]:
        out: dict[int, str] = {}
        stmt = select(col(Ticket.id), col(Ticket.subject), col(Ticket.customer_id), col(Ticket.ref))
        with store.engine.connect() as conn:
            customers = {i: fold(name) for i, name in _customer_names(conn).items()}
            if ids is None:
                # every open ticket (every view is within them); "status || ''" keeps SQLite off the status
                # index: a sequential scan reads them about 2.5x faster than 70,000 index lookups
                chunks = [stmt.where((col(Ticket.status) + "").in_(OPEN_STATUSES))]
            else:
                ids = list(ids)
                chunks = [stmt.where(col(Ticket.id).in_(ids[i : i + 900])) for i in range(0, len(ids), 900)]
            for chunk in chunks:
                found: Iterable[Any] = conn.execute(chunk)
                for i, subject, customer_id, ref in found:
                    # = haystack(), with each customer folded once rather than once per ticket
                    out[i] = f"{fold(subject)}\x1f{customers.get(customer_id, '')}\x1f{fold(ref or '')}"
        return out

    def _narrow(self, words: tuple[str, ...]) -> list[int]:
        """Positions (in the base ids) of the tickets matching every word, in order."""
        results = self._results
        found = results.get(words)
        if found is not None:
            results.move_to_end(words)
            return found
        hays = self._hays
        assert hays is not None
        # An earlier result whose every word is within one of the new words holds every ticket whose
        # haystack holds the new words: only it needs examining. (Not the ticket a number finds: below.)
        source: list[int] | None = None
        for earlier, positions in results.items():
            if (source is None or len(positions) < len(source)) and all(any(e in w for w in words) for e in earlier):
                source = positions
        if len(words) == 1:
            needle = words[0]
            if source is None:
                found = [p for p, h in enumerate(hays) if needle in h]
            else:
                found = [p for p in source if needle in hays[p]]
        elif source is None:
            found = [p for p, h in enumerate(hays) if all(w in h for w in words)]
        else:
            found = [p for p in source if all(w in hays[p] for w in words)]
        self.scanned += len(hays) if source is None else len(source)
        numbers = {n for n in map(_ticket_number, words) if n is not None}
        if numbers:
            found = self._add_numbered(found, words, numbers)
        results[words] = found
        if len(results) > self.RESULTS_KEPT:
            results.popitem(last=False)
        return found

    def _add_numbered(self, found: list[int], words: tuple[str, ...], numbers: set[int]) -> list[int]:
        """The tickets whose number is a word (``1234``, ``#1234``) match it wherever the text does not."""
        ids, hays = self._ids, self._hays
        assert ids is not None and hays is not None
        if self._positions is None:
            self._positions = {i: p for p, i in enumerate(ids)}
        extra = []
        for n in numbers:
            p = self._positions.get(n)
            if p is not None and all(w in hays[p] or _ticket_number(w) == n for w in words):
                extra.append(p)
        return sorted(set(found).union(extra)) if extra else found


def _data_views(user: str) -> dict[str, ColumnElement[bool]]:
    """The views that only the data moves (not the clock), as conditions on a ticket."""
    is_open = col(Ticket.status).in_(OPEN_STATUSES)
    return {
        "mine": and_(is_open, col(Ticket.assignee) == user),
        "unassigned": and_(is_open, col(Ticket.assignee).is_(None)),
        "escalated": and_(is_open, escalated_condition()),
        "pending": col(Ticket.status) == "pending",
        "open": is_open,
    }


def _open_counts(user: str) -> dict[str, ColumnElement]:
    """The data views as conditional sums over every ticket."""
    return {v: func.sum(case((c, 1), else_=0)) for v, c in _data_views(user).items()}


def data_view_counts(store: Store, user: str) -> dict[str, int]:
    """The counts of every view but "breaching soon": they change only when the data does.

    One statement, no WHERE: a sequential scan of the table (about 70 ms at 100,000 tickets) where the
    status index would cost a lookup per open ticket (about 190 ms).
    """
    sums = _open_counts(user)
    with store.engine.connect() as conn:
        values = conn.execute(select(*sums.values()).select_from(Ticket)).one()
    return {v: int(n or 0) for v, n in zip(sums, values, strict=True)}


class ViewCounts:
    """The counts of the data views (``data_view_counts``), kept up to date from the tickets that changed.

    ``load`` counts them with one scan and notes which views each ticket is in (a byte per ticket id, a bit per
    view: 1 MB at a million tickets); ``apply`` reads the views of the changed tickets only (one query by
    primary key) and moves the counts by the difference, so that a change costs the same at 1,000 or 1,000,000
    tickets. Thread-safe (workers call it). ``tests/store/test_incremental.py`` compares it with a full count
    after random changes, on both engines.
    """

    def __init__(self, store: Store, user: str) -> None:
        self.store, self.user = store, user
        self._lock = threading.Lock()
        self._views = list(_data_views(user))
        conditions = list(_data_views(user).values())
        bits: Any = case((conditions[0], 1), else_=0)
        for n, condition in enumerate(conditions[1:], start=1):
            bits = bits + case((condition, 1 << n), else_=0)
        self._bits = bits
        self._masks: bytearray | None = None
        # each ticket's deadline and warning instant as last read (epoch seconds, nan: none): what "breaching
        # soon" held it to be before a change, for the difference a change makes to that count
        self._due = array("d")
        self._warn = array("d")
        self.counts: dict[str, int] = {}
        self.breaching_moved = 0  # what the last ``apply`` moved the count of "breaching soon" by, at its instant

    def load(self) -> dict[str, int]:
        """Count every view again (one scan) and note each ticket's views."""
        with self._lock, self.store.engine.connect() as conn:
            rows: Sequence[Any] = conn.execute(  # (every data view holds open tickets only)
                select(col(Ticket.id), self._bits.label("bits"), col(Ticket.next_due), col(Ticket.next_warn)).where(
                    col(Ticket.status).in_(OPEN_STATUSES)
                )
            ).all()
            size = (max((r[0] for r in rows), default=0) + 1) if rows else 1
            masks, due, warn = bytearray(size), array("d", [_NONE]) * size, array("d", [_NONE]) * size
            counts = dict.fromkeys(self._views, 0)
            for ticket_id, m, d, w in rows:
                if m:
                    masks[ticket_id] = m
                    for n, view in enumerate(self._views):
                        if m >> n & 1:
                            counts[view] += 1
                    due[ticket_id] = d.timestamp() if d is not None else _NONE
                    warn[ticket_id] = w.timestamp() if w is not None else _NONE
            self._masks, self._due, self._warn, self.counts = masks, due, warn, counts
            return dict(counts)

    def apply(self, changed: Iterable[int], at: datetime | None = None) -> dict[str, int] | None:
        """The counts after the tickets ``changed`` changed; None before ``load``. With ``at``,
        ``breaching_moved`` is what the change moved the count of "breaching soon" by at that instant (the
        tickets' membership before, from the deadlines last read, and after)."""
        ids = sorted(set(changed))
        with self._lock:
            if self._masks is None:
                return None
            rows: dict[int, tuple] = {}
            with self.store.engine.connect() as conn:
                for i in range(0, len(ids), 900):  # SQLite's variable limit
                    found: Iterable[Any] = conn.execute(
                        select(col(Ticket.id), self._bits, col(Ticket.next_due), col(Ticket.next_warn)).where(
                            col(Ticket.id).in_(ids[i : i + 900])
                        )
                    )
                    rows.update((r[0], tuple(r[1:])) for r in found)
            masks, due, warn = self._masks, self._due, self._warn
            moved = 0
            open_bit = 1 << self._views.index("open")
            for ticket_id in ids:
                if ticket_id >= len(masks):
                    grow = ticket_id + 1 - len(masks) + 1024
                    masks.extend(bytes(grow))
                    due.extend(array("d", [_NONE]) * grow)
                    warn.extend(array("d", [_NONE]) * grow)
                bits, d, w = rows.get(ticket_id, (0, None, None))  # (a ticket deleted: in no view)
                new, old = int(bits or 0), masks[ticket_id]
                new_due = d.timestamp() if d is not None else _NONE
                new_warn = w.timestamp() if w is not None else _NONE
                if at is not None:
                    t = at.timestamp()
                    moved += _breaching(new & open_bit, new_due, new_warn, t) - _breaching(
                        old & open_bit, due[ticket_id], warn[ticket_id], t
                    )
                masks[ticket_id], due[ticket_id], warn[ticket_id] = new, new_due, new_warn
                if old != new:
                    for n, view in enumerate(self._views):
                        self.counts[view] += (new >> n & 1) - (old >> n & 1)
            self.breaching_moved = moved
            return dict(self.counts)


_NONE = float("nan")  # no instant (a nan compares false with everything, as SQL's NULL does)


def _breaching(is_open: int, due: float, warn: float, at: float) -> int:
    """Whether a ticket is in "breaching soon" at ``at`` (``view_condition``'s rule, on epoch seconds)."""
    horizon = at + BREACHING_HORIZON.total_seconds()
    not_breached = due != due or due >= at  # (nan: no deadline)
    return int(bool(is_open) and not_breached and (warn <= at or due <= horizon))


def breaching_count(store: Store, now: datetime) -> int:
    """How many tickets "breaching soon" holds at ``now`` (about 10 ms at 100,000 tickets).

    Split in two so that each part is answered from an index: due within the horizon (the (status,
    next_due) index alone), plus warning started but not due within the horizon (the next_warn index;
    "status || ''" keeps SQLite from preferring the status index, which would visit every open ticket).
    """
    soon = now + BREACHING_HORIZON
    due = (
        select(func.count())
        .select_from(Ticket)
        .where(col(Ticket.status).in_(OPEN_STATUSES), col(Ticket.next_due) >= now, col(Ticket.next_due) <= soon)
    )
    warned = (
        select(func.count())
        .select_from(Ticket)
        .where(
            col(Ticket.next_warn) <= now,
            (col(Ticket.status) + "").in_(OPEN_STATUSES),
            or_(col(Ticket.next_due).is_(None), col(Ticket.next_due) > soon),
        )
    )
    with store.engine.connect() as conn:
        return int(conn.execute(due).scalar() or 0) + int(conn.execute(warned).scalar() or 0)


def view_counts(store: Store, user: str, now: datetime) -> dict[str, int]:
    """How many tickets each view holds (two cheap reads: see ``data_view_counts`` and ``breaching_count``)."""
    counts = {**data_view_counts(store, user), "breaching": breaching_count(store, now)}
    return {v: counts[v] for v in VIEWS}


def next_thresholds(store: Store, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The first warning instant after ``now`` and the first deadline at or after it, of any ticket: until
    then, no ticket changes group in the "time to breach" order by the passing of time alone (a ticket
    enters its warning *at* its warning instant, but is breached only once its deadline is *passed*).
    Two lookups at one end of an index each (well under a millisecond at 100,000 tickets)."""
    with store.engine.connect() as conn:
        warn = conn.execute(select(func.min(col(Ticket.next_warn))).where(col(Ticket.next_warn) > now)).scalar()
        due = conn.execute(select(func.min(col(Ticket.next_due))).where(col(Ticket.next_due) >= now)).scalar()
    return warn, due  # typed by the column (min() keeps its argument's type): aware, in UTC


def next_entering(store: Store, now: datetime) -> datetime | None:
    """The first instant after ``now`` at which a ticket enters "breaching soon" because its deadline comes
    within the horizon (entering by a warning that starts is ``next_thresholds``' first instant). One
    lookup at one end of the next_due index."""
    with store.engine.connect() as conn:
        due = conn.execute(
            select(func.min(col(Ticket.next_due))).where(col(Ticket.next_due) > now + BREACHING_HORIZON)
        ).scalar()
    return None if due is None else due - BREACHING_HORIZON


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
    with store.read() as session:
        found = queries._records(session, col(Ticket.id).in_(list(ids)))
        events = queries.events_of(session, [t.id for t in found])
    for t in found:
        t.events = events.get(t.id, [])
    return found


__all__ = [
    "Filters",
    "QueueQuery",
    "Row",
    "SearchIndex",
    "Sort",
    "SORTS",
    "VIEWS",
    "breaching_count",
    "data_view_counts",
    "escalated_condition",
    "escalations_after",
    "latest_escalation_id",
    "haystack",
    "next_entering",
    "next_thresholds",
    "parse_filter",
    "records",
    "view_counts",
]
