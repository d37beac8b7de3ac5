"""The full-text index of the tickets (subject and description) that triage finds similar tickets with.

Each engine's own: SQLite's FTS5 (an external-content table ``ticket_fts`` over ``tickets``, ranked by bm25, kept
current by triggers on ``tickets``), PostgreSQL's full-text search (the tickets' weighted ``tsvector`` in a stored
generated column, current by construction, under a GIN index, ranked by ``ts_rank``). They are created by the
migrations 0011 and 0017 and live outside the SQLModel tables (``db copy`` copies the tickets; the target's
triggers or generated column index them as they arrive). A query is the OR of the words of a ticket
(``words``): the engine's ranking weighs the rare words up, and the subject counts four times the description.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from ..domain.workflow import STOPPED
from .queue_terms import fold
from .types import UTCDateTime

FTS = "ticket_fts"
# what the FTS5 table is made of (the test of the models' schema leaves them out)
SQLITE_TABLES = frozenset(
    {f"{t}{part}" for t in (FTS, "ticket_trigram") for part in ("", "_data", "_idx", "_docsize", "_config")}
)
SQLITE_TRIGGERS = ("ticket_fts_ai", "ticket_fts_ad", "ticket_fts_au")
PG_INDEX = "ix_tickets_search"
INDEXED_CHARS = 20000  # of a description: a 1 MB one is stored whole, its first 20,000 characters indexed
# each FTS5 table's insert trigger, and what it does for every row at once (an import into an empty desk builds
# the indexes after the rows: store/bulk.py): this full-text index, and the queue's trigram index (migration 0018)
SQLITE_FILLS = (
    (
        SQLITE_TRIGGERS[0],
        f"INSERT INTO {FTS}(rowid, subject, description)"
        f" SELECT id, subject, substr(description, 1, {INDEXED_CHARS}) FROM tickets",
    ),
    ("ticket_trigram_ai", "INSERT INTO ticket_trigram(ticket_trigram) VALUES ('rebuild')"),
)
MAX_WORDS = 32

# the weighted vector of a ticket: what the generated column ``tickets.search_vector`` holds (migration 0017), under
# the GIN index ``PG_INDEX``; the queries rank the stored vector (``PG_RANKED``), never computing it again
PG_COLUMN = "search_vector"
PG_RANKED = f"t.{PG_COLUMN}"
PG_RARE_WORDS = True  # choose a query's words by how common they are (pg_stats); False: the first ones, as before
PG_VECTOR = (
    "(setweight(to_tsvector('simple'::regconfig, subject), 'A') || "
    f"setweight(to_tsvector('simple'::regconfig, left(description, {INDEXED_CHARS})), 'B'))"
)

_WORD = re.compile(r"\w+", re.UNICODE)
# words too common to tell tickets apart (English and French): left out of the queries, which they would slow
STOP_WORDS = frozenset(
    """a an and are as at be been but by can cannot could de des do does du en et for from has have he her his how i
    if in is it its la le les me my no not of on or our ou par pas pour qui que she so than that the their them
    then there they this to un une up was we were what when where which who will with you your since after
    before all any again still has get got hello bonjour merci please thanks thank us reported""".split()
)


def subject_words(subject: str, description: str) -> tuple[list[str], int]:
    """A ticket's query words (``words``) and how many of them come from its subject."""
    return words(subject, description), len(words(subject))


def words(subject: str, description: str = "") -> list[str]:
    """The query words of a ticket: its subject's, then its description's, folded, without stop words,
    duplicates or single characters, at most ``MAX_WORDS``."""
    seen: dict[str, None] = {}
    for part in (subject, description[:INDEXED_CHARS]):
        for w in _WORD.findall(part.casefold()):
            if len(w) > 1 and w not in STOP_WORDS and not w.isdigit() and w not in seen:
                seen[w] = None
                if len(seen) >= MAX_WORDS:
                    return list(seen)
    return list(seen)


@dataclass(frozen=True)
class Hit:
    """A ticket the index found, with its relevance (higher is more similar) and what triage learns from."""

    id: int
    score: float
    subject: str
    status: str
    type: str
    category: str | None
    group: str
    impact: int | None
    urgency: int | None
    priority: str
    resolution_code: str | None
    major_id: int | None
    created_at: datetime


_COLUMNS = (
    "t.id, t.subject, t.status, t.type, t.category, t.group_name, t.impact, t.urgency, t.priority,"
    " t.resolution_code, t.major_id, t.created_at"
)


CANDIDATES = 200  # the most similar tickets read from the index, whatever their status
RARE_WORDS = 8  # the words a query keeps: the subject's, then the description's found in the fewest tickets
WINDOW = 20_000  # the newest tickets the suggestions look among: the cost does not grow with the desk


def rarest(
    conn: Connection, query_words: Sequence[str], keep: int = RARE_WORDS, own: bool = False, first: int = 0
) -> list[str]:
    """The words a query keeps: the first ``first`` words (the subject's: what the ticket is about), then the
    others that the fewest tickets hold (a description's rare words tell more than its common ones), ``keep`` in
    all. SQLite reads how many tickets hold each word from the index's vocabulary (a temporary fts5vocab table
    of the connection) and leaves out the words no ticket holds, or only the ticket itself (``own``: it is on
    the desk). PostgreSQL reads the share of tickets holding each of its most common words from the statistics
    of the vectors' column (``pg_stats``, kept by ANALYZE): a word not among them is rare; without statistics
    yet, the first ``keep``."""
    if len(query_words) <= 1:
        return list(query_words[:keep])
    if conn.dialect.name != "sqlite":
        shares = _pg_shares(conn) if PG_RARE_WORDS else {}
        if not shares:
            return list(query_words[:keep])
        at = {w: i for i, w in enumerate(query_words)}
        return sorted(query_words, key=lambda w: (at[w] >= first, shares.get(w, 0.0), at[w]))[:keep]
    conn.exec_driver_sql(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{FTS}_vocab USING fts5vocab(main, {FTS}, row)")
    # the index holds its words without diacritics (remove_diacritics): "bloquée" is there as "bloquee"
    folded = {fold(w): w for w in reversed(query_words)}
    marks = ", ".join("?" * len(folded))
    rows = conn.exec_driver_sql(f"SELECT term, doc FROM temp.{FTS}_vocab WHERE term IN ({marks})", tuple(folded))
    found = {folded[term]: doc for term, doc in rows if doc > (1 if own else 0)}
    position = {w: i for i, w in enumerate(query_words)}
    return sorted(found, key=lambda w: (position[w] >= first, found[w], position[w]))[:keep]


def _pg_shares(conn: Connection) -> dict[str, float]:
    """word → the share of tickets whose vector holds it, for the most common words of the vectors' column (a few
    hundred, from ANALYZE's statistics: one small read); empty before the first ANALYZE."""
    row = conn.execute(
        text(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats"
            " WHERE schemaname = current_schema() AND tablename = 'tickets' AND attname = :column"
        ),
        {"column": PG_COLUMN},
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return {}
    return dict(zip(row[0], row[1], strict=False))  # the shares list ends with three summary figures


def similar(
    conn: Connection,
    query_words: Sequence[str],
    *,
    exclude: int | None = None,
    resolved: bool,
    limit: int,
    before: datetime | None = None,
    first: int = 0,
) -> list[Hit]:
    """The ``limit`` tickets most similar to ``query_words`` among the candidates (``candidates``): resolved (or
    closed) ones, else open ones; ``before``: created before that instant only."""
    return split(candidates(conn, query_words, exclude=exclude, before=before, first=first), resolved, limit)


def split(hits: Sequence[Hit], resolved: bool, limit: int) -> list[Hit]:
    return [h for h in hits if (h.status in STOPPED) == resolved][:limit]


def candidates(
    conn: Connection,
    query_words: Sequence[str],
    *,
    exclude: int | None = None,
    before: datetime | None = None,
    first: int = 0,
) -> list[Hit]:
    """The tickets the index ranks most similar to ``query_words``, best first: at most ``CANDIDATES``, among
    the newest ``WINDOW`` tickets (all of them with ``before``, for the evaluation), with what triage reads of
    them."""
    words = rarest(conn, query_words, own=exclude is not None, first=first)
    if not words:
        return []
    params: dict = {"limit": CANDIDATES, "low": 0}
    if before is None:
        top = conn.execute(text("SELECT max(id) FROM tickets")).scalar() or 0
        params["low"] = top - WINDOW
    if conn.dialect.name == "sqlite":
        params["q"] = " OR ".join(f'"{w}"' for w in words)  # \w+ words: no quote inside
        ranked = (
            f"SELECT rowid AS id, -bm25({FTS}, 4.0, 1.0) AS score FROM {FTS} WHERE {FTS} MATCH :q AND rowid > :low"
            f" ORDER BY bm25({FTS}, 4.0, 1.0) LIMIT :limit"
        )
    else:
        params["q"] = " | ".join(words)
        ranked = (
            f"SELECT t.id, ts_rank({PG_RANKED}, q) AS score FROM tickets t, to_tsquery('simple'::regconfig, :q) AS q"
            f" WHERE {PG_RANKED} @@ q AND t.id > :low ORDER BY score DESC, t.id LIMIT :limit"
        )
    scores = {i: float(score) for i, score in conn.execute(text(ranked), params).all() if i != exclude}
    if not scores:
        return []
    stmt = text(f"SELECT {_COLUMNS} FROM tickets t WHERE t.id IN :ids").bindparams(bindparam("ids", expanding=True))
    rows = conn.execute(stmt.columns(created_at=UTCDateTime()), {"ids": list(scores)}).all()
    hits = [_hit(r, scores[r[0]]) for r in rows if before is None or r[11] < before]
    return sorted(hits, key=lambda h: (-h.score, h.id))


def _hit(r, score: float) -> Hit:
    return Hit(
        id=r[0],
        subject=r[1],
        status=r[2],
        type=r[3],
        category=r[4],
        group=r[5],
        impact=r[6],
        urgency=r[7],
        priority=r[8],
        resolution_code=r[9],
        major_id=r[10],
        created_at=r[11],
        score=score,
    )


@dataclass(frozen=True)
class Known:
    """A resolved ticket as the evaluation sees it: its text and the fields triage suggests."""

    id: int
    subject: str
    description: str
    created_at: datetime
    type: str
    category: str | None
    group: str
    impact: int | None
    urgency: int | None


def resolved_tickets(conn: Connection) -> list[Known]:
    """Every resolved or closed ticket, oldest first (the evaluation's history)."""
    stopped = sorted(STOPPED)
    names = ", ".join(f":s{i}" for i in range(len(stopped)))
    stmt = text(
        f"SELECT id, subject, substr(description, 1, {INDEXED_CHARS}) AS description, created_at, type, category,"
        f" group_name, impact, urgency FROM tickets WHERE status IN ({names}) ORDER BY created_at, id"
    ).columns(created_at=UTCDateTime())
    return [Known(*row) for row in conn.execute(stmt, {f"s{i}": s for i, s in enumerate(stopped)}).all()]
