"""QueueQuery against a real demo desk: SQL order, windows and positions agree with a Python sort."""

from __future__ import annotations

import pytest

from deskterm.store.queue import OPEN_STATUSES, QueueQuery, Sort, parse_filter, view_counts

from tuihelp import NOW


@pytest.fixture
def store(demo):
    from deskterm.store.engine import open_store

    s = open_store(demo[0])
    yield s
    s.dispose()


def test_default_order_is_time_to_breach(store):
    q = QueueQuery(store, view="open", user="alice", now=NOW)
    rows = q.window(0, q.count())
    dues = [r.next_due for r in rows if r.next_due is not None]
    assert dues == sorted(dues)
    assert dues[0] < NOW  # breached tickets come first
    firsts_null = [i for i, r in enumerate(rows) if r.next_due is None]
    assert not firsts_null or firsts_null[0] == len(dues)  # no deadline: last
    assert {r.status for r in rows} <= set(OPEN_STATUSES)


@pytest.mark.parametrize("column", ["due", "priority", "status", "customer", "assignee", "age", "subject"])
@pytest.mark.parametrize("descending", [False, True])
def test_windows_and_positions_agree(store, column, descending):
    q = QueueQuery(store, view="open", sort=Sort(column, descending), user="alice", now=NOW)
    total = q.count()
    everything = q.window(0, total)
    assert len(everything) == total
    assert [r.id for r in q.window(37, 20)] == [r.id for r in everything[37:57]]
    for i in (0, 1, 36, total // 2, total - 1):
        assert q.position(everything[i].id) == i


def test_search_and_filters(store):
    q = QueueQuery(store, view="open", filters=parse_filter("vpn prio:P1,P2"), user="alice", now=NOW)
    rows = q.window(0, 500)
    assert rows and all("vpn" in r.subject.lower() and r.priority in ("P1", "P2") for r in rows)
    by_ref = QueueQuery(store, view="open", filters=parse_filter(rows[0].ref), user="alice", now=NOW).window(0, 5)
    assert [r.id for r in by_ref] == [rows[0].id]
    mine = QueueQuery(store, view="open", filters=parse_filter("assignee:me"), user="alice", now=NOW).window(0, 500)
    assert mine and {r.assignee for r in mine} == {"alice"}


def test_view_counts_match_the_views(store):
    counts = view_counts(store, "alice", NOW)
    for view, n in counts.items():
        assert QueueQuery(store, view=view, user="alice", now=NOW).count() == n
    assert counts["open"] > counts["pending"] > 0


def _reference(store, view, filters_text, sort=Sort()):
    """What free words should find, by brute force: every word in subject, customer or ref (casefolded),
    or the word is the ticket's number."""
    from deskterm.store.queue import haystack

    f = parse_filter(filters_text)
    base = QueueQuery(store, view=view, filters=f.__class__(**{**f.__dict__, "words": ()}), sort=sort, user="alice", now=NOW)
    rows = base.window(0, base.count())
    words = [w.casefold() for w in f.words]

    def match(r, w):
        digits = w.lstrip("#")
        return w in haystack(r.subject, r.customer, r.ref) or (digits.isdigit() and r.id == int(digits))

    return [r.id for r in rows if all(match(r, w) for w in words)]


def test_search_index_narrows_incrementally_and_agrees_with_brute_force(store):
    from deskterm.store.queue import SearchIndex

    index = SearchIndex()

    def ids(text, view="open", sort=Sort()):
        return list(QueueQuery(store, view=view, filters=parse_filter(text), sort=sort, user="alice", now=NOW,
                               search=index).ids())

    everything = ids("")
    assert index.scanned == 0 and index.loads == 0  # no words: SQL only, no haystacks
    for text in ("v", "vp", "vpn", "vpn prio:P1", "lyon", "LYON printer", "ext-10", "#3", "3", "x y z"):
        assert ids(text) == _reference(store, "open", text), text
    # typing on examines only the previous result; backspace examines nothing
    scanned = index.scanned
    ids("p")
    assert index.scanned - scanned == len(everything)
    scanned, after_p = index.scanned, len(ids("p"))
    ids("pr")
    assert index.scanned - scanned == after_p  # only the tickets that matched "p"
    scanned = index.scanned
    assert ids("p") == _reference(store, "open", "p") and index.scanned == scanned
    assert index.loads == 1
    # another sort or view: the same haystacks, another base
    assert ids("pr", sort=Sort("customer", True)) == _reference(store, "open", "pr", Sort("customer", True))
    assert ids("pr", view="unassigned") == _reference(store, "unassigned", "pr")
    assert index.loads == 1
    # a cleared search shows the held ids (no SQL), the same as SQL's
    held = index.find(QueueQuery(store, view="unassigned", user="alice", now=NOW), wait=False)
    assert held is not None and list(held) == list(QueueQuery(store, view="unassigned", user="alice", now=NOW).ids())
    assert index.find(QueueQuery(store, view="open", user="alice", now=NOW), wait=False) is None  # would need SQL


def test_search_is_case_insensitive_beyond_ascii(demo):
    """SQLite's LIKE folds ASCII only; the search folds like str.casefold."""
    from deskterm.service import Desk, NewTicket
    from deskterm.store.engine import open_store
    from deskterm.store.queue import SearchIndex

    db, config, clock = demo
    s = open_store(db)
    try:
        desk = Desk(s, config, clock=clock, user="alice")
        [upper, german] = desk.import_tickets([
            NewTicket(subject="PANNE ÉLECTRIQUE À L'ÉCOLE", customer="Banque Rhône-Alpes", priority="P2", created_at=NOW),
            NewTicket(subject="Drucker in der Hauptstraße", customer="Atelier Moreau", priority="P3", created_at=NOW),
        ])
        index = SearchIndex()

        def found(text):
            return set(QueueQuery(s, filters=parse_filter(text), user="alice", now=NOW, search=index).ids())

        assert upper in found("électrique") and upper in found("Électrique") and upper in found("à l'école")
        assert german in found("HAUPTSTRASSE") and german in found("hauptstraße")
        assert upper in found("RHÔNE électrique") and upper in found("customer:RHÔNE électrique")
        assert found("électrique") == found("ÉLECTRIQUE")
        # new data is seen after invalidate (the screen calls it when the data changes)
        [later] = desk.import_tickets([NewTicket(subject="Électricité coupée", customer="Atelier Moreau",
                                                 priority="P2", created_at=NOW)])
        assert later not in found("électri")  # what was loaded is held until invalidated
        index.invalidate()
        assert {upper, later} <= found("ÉLECTRI")
    finally:
        s.dispose()


def test_escalated_view_is_another_group_or_an_open_escalation(demo, esc_config, store):
    """A hierarchical escalation leaves the ticket in L1 but puts it in the view (count and window alike);
    closing the escalation takes it out again."""
    from deskterm.service import Desk

    desk = Desk(store, esc_config, clock=demo[2], user="bob")
    before = view_counts(store, "alice", NOW)["escalated"]
    l1 = sorted((t for t in desk.tickets(["open"]) if t.group == "L1"), key=lambda t: t.id)
    a, b = l1[0], l1[1]
    desk.escalate(a.id, "hierarchical", "duty-manager", "penalties")
    desk.escalate(b.id, "functional", "L2-network", "switch")
    q = QueueQuery(store, view="escalated", user="alice", now=NOW)
    assert view_counts(store, "alice", NOW)["escalated"] == q.count() == before + 2
    assert {a.id, b.id} <= set(q.ids())
    desk.de_escalate(desk.escalations(ticket=a.id)[0].id, "done")
    q = QueueQuery(store, view="escalated", user="alice", now=NOW)
    assert view_counts(store, "alice", NOW)["escalated"] == q.count() == before + 1
    assert a.id not in q.ids()
