"""Free words, matched in Python (``SearchIndex``).

A folded haystack per ticket (``fold``: case and diacritics), looked up along the ordered ids of the view +
filters + sort, so that a search typed character by character narrows in milliseconds, and matches "RHÔNE" or
"Rhône" for "rhone" (SQLite's LIKE only folds ASCII case).
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import col

from .engine import Store
from .models import Ticket
from .queue_conditions import customer_names
from .queue_terms import (
    OPEN_STATUSES,
    fold,
)
from .queue_thresholds import warned_ids

if TYPE_CHECKING:
    from ..progress import Progress
    from .queue import QueueQuery


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
        # by ticket id (None: not loaded): a list, not a dict, whose keys and slots held about as much again as
        # the texts (35 MB of 100 at a million tickets, 473,030 open)
        self._texts: list[str | None] | None = None
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

    def find(
        self, query: QueueQuery, wait: bool = True, most: int | None = None, progress: Progress | None = None
    ) -> array | None:
        """The query's ids, its words matched in memory; with ``wait=False``, None unless no SQL is needed, and
        with ``most`` also unless at most that many tickets are to be examined (and their ids arranged after):
        the event loop asks so, and leaves more to a worker. ``progress``: told the ids SQL reads, when a query
        without words reads them (``QueueQuery.sql_ids``)."""
        if not query.filters.words:
            found = self._base(query, wait, progress)
            return None if found is None or (most is not None and len(found) > most) else found
        if not self._lock.acquire(blocking=wait):
            return None
        try:
            if not wait and not self.ready(query):
                return None
            self._load(query)
            ids = self._ids
            assert ids is not None
            words = fold_words(query.filters.words)
            if most is not None and self._examines(words) > most:
                return None
            return array("q", [ids[p] for p in self._narrow(words)])
        finally:
            self._lock.release()

    def _examines(self, words: tuple[str, ...]) -> int:
        """How many tickets ``_narrow(words)`` would look at (or give, when it holds the result already)."""
        held = self._results.get(words)
        if held is not None:
            return len(held)
        source = self._source(words)
        return len(source) if source is not None else len(self._ids or ())

    def _source(self, words: tuple[str, ...]) -> list[int] | None:
        """The smallest earlier result whose every word is within one of the new words: it holds every ticket
        whose haystack holds the new words, so only it needs examining (None: every ticket). (Not the ticket a
        number finds: see ``_add_numbered``.)"""
        source: list[int] | None = None
        for earlier, positions in self._results.items():
            if (source is None or len(positions) < len(source)) and all(any(e in w for w in words) for e in earlier):
                source = positions
        return source

    def _base(self, query: QueueQuery, wait: bool, progress: Progress | None = None) -> array | None:
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
        ids = query.sql_ids(progress)
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
            known = len(texts)
            missing = [i for i in ids if i >= known or texts[i] is None]
            if missing:  # committed between the two reads (data_changed follows and reloads anyway)
                self._load_texts(query.store, missing, texts)
            self._hays = [texts[i] for i in ids]  # (every one loaded now)
        # invalidated meanwhile: this answer is from the old data, and the next call drops it all

    @staticmethod
    def _load_texts(
        store: Store, ids: Sequence[int] | None = None, into: list[str | None] | None = None
    ) -> list[str | None]:
        """The haystacks of these tickets (None: every open ticket), by id, into ``into`` (grown to hold them)."""
        out: list[str | None] = [] if into is None else into
        stmt = select(col(Ticket.id), col(Ticket.subject), col(Ticket.customer_id), col(Ticket.ref))
        with store.engine.connect() as conn:
            customers = {i: fold(name) for i, name in customer_names(conn).items()}
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
                    if i >= len(out):
                        out.extend([None] * (i + 1 - len(out) + 4096))
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
        source = self._source(words)
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
