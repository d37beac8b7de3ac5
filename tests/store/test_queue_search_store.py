"""Issue 17: the queue's free words matched by the store (``ticket_search`` under a trigram index, migration 0018).

The app no longer holds a folded text per ticket: the store finds the tickets holding a word (SQLite's FTS5 trigram
table, PostgreSQL's pg_trgm, or a scan of the narrow table for a word of one or two characters), the customers are
matched by id, a word of digits finds its ticket. The answer must be the one the in-memory scan gave: every word,
folded, within the subject, the customer's name or the ref (``haystack``), or the ticket's number; in the view's
order, whichever path narrows it (the store, an earlier result read by id, backspace), after random texts
(non-ASCII, case and diacritics to fold, LIKE's and FTS5's special characters), random searches typed a character
at a time, a renamed customer and tickets added between two searches. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskterm.errors import DeskError
from deskterm.service import NewTicket
from deskterm.store.queue import QueueQuery
from deskterm.store.queue_search import SearchIndex, fold_words, haystack
from deskterm.store.queue_terms import Filters, Sort
from deskterm_testing import examples

pytestmark = pytest.mark.engines("sqlite", "postgresql")

# letters that fold (case, diacritics, ß, the dotted I, compatibility forms), LIKE's and FTS5's special characters
ALPHABET = 'abcvpnABCVPN0123 éÉèàÀßẞİıÅå\u0301ℂﬁ%_\\"*:#-'
CUSTOMERS = ["Banque Rhône-Alpes", "Atelier Moreau", "STRASSE GmbH", "Ça va SA"]
texts = st.text(alphabet=ALPHABET, min_size=0, max_size=24)
_refs = itertools.count(1)


def _reference(store, view: str, words: tuple[str, ...], sort: Sort) -> list[int]:
    """By brute force, as the search matched in memory before: every word folded within the ticket's haystack
    (subject, customer, ref, folded), or the word is its number."""
    base = QueueQuery(store, view=view, sort=sort, user="alice", now=NOW_OF[0])
    rows = base.window(0, base.count())
    folded = fold_words(words)

    def match(r, w: str) -> bool:
        digits = w.lstrip("#")
        return w in haystack(r.subject, r.customer, r.ref) or (
            digits.isascii() and digits.isdigit() and r.id == int(digits)
        )

    return [r.id for r in rows if all(match(r, w) for w in folded)]


NOW_OF: list = [None]


@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tickets=st.lists(
        st.tuples(texts, st.sampled_from(CUSTOMERS), st.one_of(st.none(), texts)), min_size=1, max_size=12
    ),
    searches=st.lists(st.one_of(texts, st.sampled_from(["#1", "2", "vpn", "é", "SS", "ß", "rhone", "ça"])), max_size=4),
    view=st.sampled_from(["open", "unassigned"]),
    sort=st.sampled_from([Sort(), Sort("due", True), Sort("customer"), Sort("subject", True)]),
    by_id_most=st.sampled_from([0, 3, 20_000]),
    rename=st.booleans(),
)
def test_the_store_matches_as_the_scan_in_memory_did(desk, tickets, searches, view, sort, by_id_most, rename):
    now = desk.clock.now()
    NOW_OF[0] = now
    desk.import_tickets(
        [
            NewTicket(
                subject=subject or "x",
                customer=customer,
                priority="P3",
                created_at=now - timedelta(minutes=5),
                ref=None if ref is None else f"{ref}~{next(_refs)}",
            )
            for subject, customer, ref in tickets
        ]
    )
    index = SearchIndex()
    index.BY_ID_MOST = by_id_most

    def found(text: str) -> list[int]:
        words = tuple(text.split())
        query = QueueQuery(
            desk.store, view=view, filters=Filters(words=words), sort=sort, user="alice", now=now, search=index
        )
        return list(query.ids())

    for text in searches:
        # typed a character at a time (each narrowing the last), then erased (the results held)
        typed = [text[: i + 1] for i in range(len(text))]
        for prefix in [*typed, *reversed(typed)]:
            assert found(prefix) == _reference(desk.store, view, tuple(prefix.split()), sort), prefix
    if rename:
        try:
            desk.rename_customer("Atelier Moreau", "Ölwerk Moreau")
        except DeskError:
            return  # renamed by an earlier example, or refused (the SLA policy would change)
        index.invalidate()
        for text in ("olw", "ölwerk", "moreau", "atelier"):
            assert found(text) == _reference(desk.store, view, (text,), sort), text
