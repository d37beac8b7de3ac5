"""Free words, matched in the store (``SearchIndex``, ``Matcher``).

A ticket matches a free word when the word, folded (``fold``: case and diacritics), is in its subject, its ref or
its customer's name, folded alike, or when the word is its number (``1234``, ``#1234``); it matches the search when
it matches every word. The subject and ref are kept folded in the store (``ticket_search``, written beside each
ticket: ``domain.text.search_text``) under a trigram index (migration 0018), so that the app holds no text of its
own: SQLite's FTS5 trigram table ``ticket_trigram`` or PostgreSQL's ``pg_trgm`` finds the tickets holding a word
of three characters or more; a shorter word (no trigram) is looked for along the narrow table. The customers
(a handful) are folded in memory and matched by their id.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import compress
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlmodel import col

from .ids import IdBits, id_array
from .models import Ticket, TicketSearch
from .queue_conditions import customer_names
from .queue_terms import fold
from .queue_thresholds import warned_ids

if TYPE_CHECKING:
    from ..progress import Progress
    from .queue import QueueQuery


def haystack(subject: str, customer: str, ref: str | None) -> str:
    """Everything a free word is looked for in, as one text (the reference the store's matching is tested
    against): subject, customer and ref, folded, joined by a character nobody types (whitespace to the prompt)
    so that a word never matches across two of them."""
    return fold(f"{subject}\x1f{customer}\x1f{ref or ''}")


def fold_words(words: Sequence[str]) -> tuple[str, ...]:
    return tuple(fold(w) for w in words)


def _ticket_number(word: str) -> int | None:
    digits = word.lstrip("#")
    return int(digits) if digits.isascii() and digits.isdigit() else None


TRIGRAM = 3  # the shortest word a trigram index can find
TRGM_INDEX = "ix_ticket_search_trgm"  # PostgreSQL's pg_trgm index (migration 0018; outside the models)
BY_ID = 900  # ids read per statement (SQLite's variable limit)
_SEARCH = TicketSearch.__table__  # type: ignore[attr-defined]
_BY_ID = (
    select(col(Ticket.id), _SEARCH.c.text, col(Ticket.customer_id))
    .select_from(Ticket)
    .outerjoin(_SEARCH, _SEARCH.c.ticket_id == col(Ticket.id))
)


class Matcher:
    """Folded words matched against a ticket's ``search_text``, customer and number, in Python: the same as the
    store's matching (``matching_ids``), for the few tickets read by id."""

    def __init__(self, words: tuple[str, ...], customers: dict[int, str]) -> None:
        self.words = words
        self.customers = [frozenset(c for c, name in customers.items() if w in name) for w in words]
        self.numbers = [_ticket_number(w) for w in words]

    def __call__(self, ticket_id: int, haystack: str | None, customer_id: int) -> bool:
        hay = haystack or ""
        return all(
            w in hay or customer_id in c or ticket_id == n
            for w, c, n in zip(self.words, self.customers, self.numbers, strict=True)
        )

    def among(self, conn, ids: Iterable[int]) -> set[int]:
        """Those of these tickets that match, read by id."""
        ids = list(ids)
        found: set[int] = set()
        for i in range(0, len(ids), BY_ID):
            rows = conn.execute(_BY_ID.where(col(Ticket.id).in_(ids[i : i + BY_ID])))
            found.update(t for t, hay, customer in rows if self(t, hay, customer))
        return found

    def word_ids(self, conn, k: int, top: int) -> bytearray:
        """Every ticket up to number ``top`` matching the ``k``-th word, from the store: its text by the trigram
        index (three characters or more) or along ``ticket_search`` (fewer), its customers' tickets, its number. A
        byte per ticket number, 1 where it matches: about 1 MB at a million tickets, where a set of the 416,819
        tickets holding a "v" took 30 MB."""
        w = self.words[k]
        if conn.dialect.name == "sqlite":
            if len(w) >= TRIGRAM:
                phrase = '"' + w.replace('"', '""') + '"'
                stmt = text("SELECT rowid FROM ticket_trigram WHERE ticket_trigram MATCH :w").bindparams(w=phrase)
            else:
                stmt = text("SELECT ticket_id FROM ticket_search WHERE instr(text, :w) > 0").bindparams(w=w)
        elif len(w) >= TRIGRAM:  # pg_trgm's index, exact by its recheck (LIKE is case-sensitive)
            like = "%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = text("SELECT ticket_id FROM ticket_search WHERE text LIKE :w").bindparams(w=like)
        else:
            stmt = text("SELECT ticket_id FROM ticket_search WHERE strpos(text, :w) > 0").bindparams(w=w)
        bits = bytearray(top + 1)
        _mark(bits, conn.execute(stmt).scalars())
        customers = sorted(self.customers[k])
        for i in range(0, len(customers), BY_ID):
            chunk = customers[i : i + BY_ID]
            _mark(bits, conn.execute(select(col(Ticket.id)).where(col(Ticket.customer_id).in_(chunk))).scalars())
        n = self.numbers[k]
        if n is not None:
            _mark(bits, [n])
        return bits

    def matching_ids(self, conn, most_by_id: int, top: int) -> bytearray:
        """Every ticket up to ``top`` matching every word (``word_ids``): the longest word's (the fewest, as a rule)
        from the store, the others checked by id among them when they are at most ``most_by_id``, else from the
        store too."""
        order = sorted(range(len(self.words)), key=lambda k: -len(self.words[k]))
        found = self.word_ids(conn, order[0], top)
        if len(order) > 1:
            if found.count(1) <= most_by_id:
                bits = bytearray(top + 1)
                _mark(bits, self.among(conn, [i for i, b in enumerate(found) if b]))
                return bits
            for k in order[1:]:
                both = int.from_bytes(found, "little") & int.from_bytes(self.word_ids(conn, k, top), "little")
                found = bytearray(both.to_bytes(top + 1, "little"))
        return found


def _mark(bits: bytearray, ids: Iterable[int]) -> None:
    top = len(bits) - 1
    for i in ids:
        if 0 <= i <= top:
            bits[i] = 1


def customers_folded(conn) -> dict[int, str]:
    return {i: fold(name) for i, name in customer_names(conn).items()}


class SearchIndex:
    """Free words, matched in the store: per (view, filters, sort), the ids in SQL order (no free words), kept,
    and the positions among them of the tickets each search matched (the query then ``arrange``s them: for "time
    to breach", grouped at its instant).

    The ordered ids of the view + field filters + sort come from SQL (or from the screen's query without words,
    which the index keeps: clearing the search shows them again without SQL). A search asks the store which
    tickets match (``Matcher.matching_ids``: a trigram index) and keeps those of the held ids, in their order.
    When the new words extend earlier ones (typing on: "v" → "vp" → "vpn"), only the earlier result is examined:
    read by id when it is small (``BY_ID_MOST``), else intersected with the store's answer; earlier results are
    kept for backspace, which answers without the store.

    One index serves the queries of one screen, from the event loop and from workers (a lock); the event loop
    only takes what is held (``find(wait=False)``). ``invalidate`` (the data changed) drops the ids and results:
    the next query reads its ids again.
    """

    RESULTS_KEPT = 32
    BY_ID_MOST = 20_000  # tickets of an earlier result (or of a first word) read by id rather than the index

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.generation = 0  # bumped by invalidate(): what was loaded before is dropped
        self._held = 0  # the generation of what is held
        self._key: tuple | None = None
        self._ids: array | None = None
        self._positions: dict[int, int] | None = None  # id → position in _ids, when a word is a number
        self._top: int | None = None  # the highest id in _ids
        self._customers: dict[int, str] | None = None  # the customers' names, folded
        # words → positions in _ids (an array: 4 bytes each, where a list of ints took 36)
        self._results: OrderedDict[tuple[str, ...], array] = OrderedDict()
        self._warned: tuple | None = None  # (generation, instant, ids) of the last warned_ids
        self.searches = 0  # searches asked of the store (tests and benchmarks read these)
        self.scanned = 0  # held ids examined

    def invalidate(self) -> None:
        """The data changed: what is held is stale, and dropped now unless a worker is using the index (then by
        the next call, which waits for no load). A queue that follows changes (``follow``) asks nothing of the index
        until the next search: at a million tickets it kept the stale base order and warned tickets meanwhile."""
        self.generation += 1
        self._warned = None
        if self._lock.acquire(blocking=False):  # (never waits: the event loop calls it)
            try:
                self._check_generation()
            finally:
                self._lock.release()

    def warned(self, conn, now: datetime) -> IdBits:
        """``warned_ids`` at ``now``, kept for the next queries at the same instant (typing on)."""
        generation, held = self.generation, self._warned
        if held is not None and held[:2] == (generation, now):
            return held[2]
        found = warned_ids(conn, now)
        self._warned = (generation, now, found)  # one assignment: safe between the loop and a worker
        return found

    def customers(self, conn) -> dict[int, str]:
        """The customers' names, folded (kept until the data changes)."""
        held = self._customers
        if held is None or self._held != self.generation:
            held = self._customers = customers_folded(conn)
        return held

    def matcher(self, conn, words: Sequence[str]) -> Matcher:
        return Matcher(fold_words(words), self.customers(conn))

    def _check_generation(self) -> None:
        if self._held != self.generation:
            self._held = self.generation
            self._key, self._ids, self._positions, self._customers, self._top = None, None, None, None, None
            self._results.clear()

    def _use_base(self, key: tuple, ids: array) -> None:
        if key != self._key or ids is not self._ids:
            self._key, self._ids, self._positions, self._top = key, ids, None, None
            self._results.clear()

    def _holds(self, query: QueueQuery) -> bool:
        return self._held == self.generation and self._ids is not None and self._key == query.base_key()

    def ready(self, query: QueueQuery) -> bool:
        """Whether ``find`` would answer this query without SQL."""
        words = query.filters.words
        return self._holds(query) and (not words or fold_words(words) in self._results)

    def prepare(self, query: QueueQuery) -> None:
        """Load what a search on this query will need (in a worker, when the search prompt opens): its ids in
        SQL order, the customers, and what its grouping will."""
        with self._lock:
            self._load(query)
            with query.store.engine.connect() as conn:
                self.customers(conn)
        if query.sort.column == "due" and query.now is not None:
            with query.store.engine.connect() as conn:
                self.warned(conn, query.now)

    def find(
        self, query: QueueQuery, wait: bool = True, most: int | None = None, progress: Progress | None = None
    ) -> array | None:
        """The query's ids, its words matched by the store; with ``wait=False``, None unless the answer is held
        (no SQL: the event loop asks so) and holds at most ``most`` ids (to be arranged after). ``progress``: told
        the ids SQL reads, when a query without words reads them (``QueueQuery.sql_ids``)."""
        if not query.filters.words:
            found = self._base(query, wait, progress)
            return None if found is None or (most is not None and len(found) > most) else found
        if not self._lock.acquire(blocking=wait):
            return None
        try:
            self._check_generation()
            if not wait and not self.ready(query):
                return None
            self._load(query)
            ids = self._ids
            assert ids is not None
            positions = self._narrow(query, query.filters.words)
            if not wait and most is not None and len(positions) > most:  # (held, but too many to arrange now)
                return None
            return id_array([ids[p] for p in positions])
        finally:
            self._lock.release()

    def _source(self, words: tuple[str, ...]) -> array | None:
        """The smallest earlier result whose every word is within one of the new words: it holds every ticket
        whose texts hold the new words, so only it needs examining (None: every ticket). (Not the ticket a
        number finds: see ``_numbered``.)"""
        source: array | None = None
        for earlier, positions in self._results.items():
            if (source is None or len(positions) < len(source)) and all(any(e in w for w in words) for e in earlier):
                source = positions
        return source

    def _base(self, query: QueueQuery, wait: bool, progress: Progress | None = None) -> array | None:
        """Without words: the held ids when they are this query's, else SQL (kept for the searches that
        follow). Never waits for a search: the agent switching views should not."""
        generation = self.generation
        if self._lock.acquire(blocking=False):
            try:
                self._check_generation()
                if self._holds(query):
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
        """Under the lock: the query's base ids."""
        self._check_generation()
        key = query.base_key()
        if key != self._key or self._ids is None:
            self._use_base(key, query.sql_ids())

    def _narrow(self, query: QueueQuery, typed: Sequence[str]) -> array:
        """Positions (in the base ids) of the tickets matching every word, in order."""
        words = fold_words(typed)
        results = self._results
        found = results.get(words)
        if found is not None:
            results.move_to_end(words)
            return found
        ids = self._ids
        assert ids is not None
        source = self._source(words)
        with query.store.engine.connect() as conn:
            match = Matcher(words, self.customers(conn))
            positions: Sequence[int] = range(len(ids)) if source is None else source
            if source is not None and len(source) <= self.BY_ID_MOST:
                matched = match.among(conn, [ids[p] for p in source])
                found = id_array([p for p in positions if ids[p] in matched])
            else:
                if self._top is None:
                    self._top = max(ids, default=0)
                bits = match.matching_ids(conn, self.BY_ID_MOST, self._top)
                self.searches += 1
                # (filtered in C: a list of every position first held 19 MB at a million tickets, at its peak)
                held = ids if source is None else map(ids.__getitem__, source)
                found = id_array(compress(positions, map(bits.__getitem__, held)))
            self.scanned += len(positions)
            if source is not None and any(n is not None for n in match.numbers):
                found = self._numbered(conn, found, match)
        results[words] = found
        if len(results) > self.RESULTS_KEPT:
            results.popitem(last=False)
        return found

    def _numbered(self, conn, found: array, match: Matcher) -> array:
        """The tickets whose number is a word (``1234``, ``#1234``) match it wherever the text does not: an earlier
        result without that word may lack them."""
        ids = self._ids
        assert ids is not None
        if self._positions is None:
            self._positions = {i: p for p, i in enumerate(ids)}
        numbered = {n for n in match.numbers if n is not None and n in self._positions}
        extra = [self._positions[i] for i in match.among(conn, numbered)]
        return id_array(sorted(set(found).union(extra))) if extra else found
