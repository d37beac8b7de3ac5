"""QueueQuery against a real demo desk: SQL order, windows and positions agree with a Python sort."""

from __future__ import annotations

import pytest
from tuihelp import NOW

from deskterm.store.queue import OPEN_STATUSES, QueueQuery, Sort, parse_filter, view_counts


@pytest.fixture
def store(demo):
    from deskterm.store.engine import open_store

    s = open_store(demo[0])
    yield s
    s.dispose()


def _urgency(r, now=NOW):
    """The "time to breach" group of a row at ``now``: what its countdown shows."""
    if r.next_due is None:
        return 3  # every timer paused: last
    if r.next_due < now:
        return 0  # breached
    if r.next_warn is not None and r.next_warn <= now:
        return 1  # warning
    return 2


def test_default_order_is_time_to_breach(store):
    """Breached first (most overdue first), then warning, then the rest, each by deadline; then no deadline."""
    q = QueueQuery(store, view="open", user="alice", now=NOW)
    rows = q.window(0, q.count())
    assert {r.status for r in rows} <= set(OPEN_STATUSES)
    expected = sorted(rows, key=lambda r: (_urgency(r), r.next_due or NOW, r.id))
    assert [r.id for r in rows] == [r.id for r in expected]
    groups = [_urgency(r) for r in rows]
    assert groups[0] == 0 and {0, 1, 2, 3} <= set(groups)  # the demo has every group
    # a ticket in warning whose deadline is later than one that is not: the group wins over the deadline
    warning = [r for r in rows if _urgency(r) == 1]
    calm = [r for r in rows if _urgency(r) == 2]
    assert any(w.next_due > c.next_due for w in warning for c in calm)
    # reversed: each group reversed, in the reverse group order; no deadline stays last
    back = QueueQuery(store, view="open", sort=Sort("due", True), user="alice", now=NOW)
    reversed_rows = back.window(0, back.count())
    expected = [r for g in (2, 1, 0) for r in reversed([x for x in rows if _urgency(x) == g])]
    expected += list(reversed([r for r in rows if _urgency(r) == 3]))
    assert [r.id for r in reversed_rows] == [r.id for r in expected]


def test_the_order_moves_with_the_time_only_at_thresholds(store):
    """Later, tickets change groups; ``next_thresholds`` names the first instant at which one does."""
    from datetime import timedelta

    from deskterm.store.queue import next_thresholds

    warn, due = next_thresholds(store, NOW)
    assert warn is not None and due is not None and warn > NOW and due >= NOW
    first = min(warn, due + timedelta(seconds=1))
    before = list(QueueQuery(store, view="open", user="alice", now=NOW).ids())
    just_before = list(QueueQuery(store, view="open", user="alice", now=first - timedelta(seconds=1)).ids())
    assert just_before == before  # nothing crossed a threshold in between
    q = QueueQuery(store, view="open", user="alice", now=first)
    rows = q.window(0, q.count())
    assert any(_urgency(r, first) != _urgency(r, NOW) for r in rows)  # at it, one does
    assert [r.id for r in rows] == [
        r.id for r in sorted(rows, key=lambda r: (_urgency(r, first), r.next_due or NOW, r.id))
    ]
    later = NOW + timedelta(hours=3)
    q = QueueQuery(store, view="open", user="alice", now=later)
    rows = q.window(0, q.count())
    assert [r.id for r in rows] == [
        r.id for r in sorted(rows, key=lambda r: (_urgency(r, later), r.next_due or NOW, r.id))
    ]


def test_a_view_keeps_the_groups(store):
    """The groups apply within any view and filter (the warning set is read without them)."""
    q = QueueQuery(store, view="unassigned", filters=parse_filter("prio:P1,P2,P3"), user="alice", now=NOW)
    rows = q.window(0, q.count())
    assert rows and all(r.assignee is None and r.priority != "P4" for r in rows)
    assert [r.id for r in rows] == [r.id for r in sorted(rows, key=lambda r: (_urgency(r), r.next_due or NOW, r.id))]


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


def _reference(store, view, filters_text, sort=None):
    """What free words should find, by brute force: every word in subject, customer or ref (casefolded),
    or the word is the ticket's number."""
    from deskterm.store.queue import haystack

    f = parse_filter(filters_text)
    base = QueueQuery(
        store, view=view, filters=f.__class__(**{**f.__dict__, "words": ()}), sort=sort or Sort(), user="alice", now=NOW
    )
    rows = base.window(0, base.count())
    words = [w.casefold() for w in f.words]

    def match(r, w):
        digits = w.lstrip("#")
        return w in haystack(r.subject, r.customer, r.ref) or (digits.isdigit() and r.id == int(digits))

    return [r.id for r in rows if all(match(r, w) for w in words)]


def test_search_index_narrows_incrementally_and_agrees_with_brute_force(store):
    from deskterm.store.queue import SearchIndex

    index = SearchIndex()

    def ids(text, view="open", sort=None):
        return list(
            QueueQuery(
                store, view=view, filters=parse_filter(text), sort=sort or Sort(), user="alice", now=NOW, search=index
            ).ids()
        )

    everything = ids("")
    assert index.scanned == 0 and index.searches == 0  # no words: SQL only, no search
    for text in ("v", "vp", "vpn", "vpn prio:P1", "lyon", "LYON printer", "ext-10", "#3", "3", "x y z"):
        assert ids(text) == _reference(store, "open", text), text
    # typing on examines only the previous result; backspace examines nothing
    scanned = index.scanned
    ids("p")
    assert index.scanned - scanned == len(everything)
    scanned, searches, after_p = index.scanned, index.searches, len(ids("p"))
    assert index.searches == searches  # held
    ids("pr")
    assert index.scanned - scanned == after_p  # only the tickets that matched "p"
    scanned = index.scanned
    assert ids("p") == _reference(store, "open", "p") and index.scanned == scanned
    # another sort or view: another base, the same matching
    assert ids("pr", sort=Sort("customer", True)) == _reference(store, "open", "pr", Sort("customer", True))
    assert ids("pr", view="unassigned") == _reference(store, "unassigned", "pr")
    # a cleared search shows the held ids (no SQL), the same as SQL's
    # (in SQL's order: the query arranges them, grouping "time to breach" by the warnings started at its instant)
    cleared = QueueQuery(store, view="unassigned", user="alice", now=NOW)
    held = index.find(cleared, wait=False)
    assert held is not None and list(held) == list(cleared.sql_ids())
    assert list(cleared.arrange(held)) == list(QueueQuery(store, view="unassigned", user="alice", now=NOW).ids())
    assert index.find(QueueQuery(store, view="open", user="alice", now=NOW), wait=False) is None  # would need SQL


def test_a_change_drops_what_the_search_index_held(store):
    """``SearchIndex.invalidate`` (the data changed) lets go of the base order, the results and the warned tickets
    at once: a queue that follows changes asks nothing of the index until the next search, and at a million tickets
    kept them meanwhile. The next search reads them again and answers as a fresh one."""
    from deskterm.store.queue import SearchIndex

    index = SearchIndex()
    query = QueueQuery(store, view="open", filters=parse_filter("pr"), user="alice", now=NOW, search=index)
    before = list(query.ids())
    assert index._ids is not None and index._results and index._warned is not None
    index.invalidate()
    assert index._ids is None and not index._results and index._warned is None
    again = QueueQuery(store, view="open", filters=parse_filter("pr"), user="alice", now=NOW, search=index)
    assert list(again.ids()) == before == _reference(store, "open", "pr")


def test_search_is_case_insensitive_beyond_ascii(demo):
    """SQLite's LIKE folds ASCII only; the search folds like str.casefold."""
    from deskterm.service import Desk, NewTicket
    from deskterm.store.engine import open_store
    from deskterm.store.queue import SearchIndex

    db, config, clock = demo
    s = open_store(db)
    try:
        desk = Desk(s, config, clock=clock, user="alice")
        [upper, german] = desk.import_tickets(
            [
                NewTicket(
                    subject="PANNE ÉLECTRIQUE À L'ÉCOLE", customer="Banque Rhône-Alpes", priority="P2", created_at=NOW
                ),
                NewTicket(
                    subject="Drucker in der Hauptstraße", customer="Atelier Moreau", priority="P3", created_at=NOW
                ),
            ]
        )
        index = SearchIndex()

        def found(text):
            return set(QueueQuery(s, filters=parse_filter(text), user="alice", now=NOW, search=index).ids())

        assert upper in found("électrique") and upper in found("Électrique") and upper in found("à l'école")
        assert german in found("HAUPTSTRASSE") and german in found("hauptstraße")
        assert upper in found("RHÔNE électrique") and upper in found("customer:RHÔNE électrique")
        assert found("électrique") == found("ÉLECTRIQUE")
        # new data is seen after invalidate (the screen calls it when the data changes)
        [later] = desk.import_tickets(
            [NewTicket(subject="Électricité coupée", customer="Atelier Moreau", priority="P2", created_at=NOW)]
        )
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


def test_the_queue_benchmark_does_not_shadow_the_standard_library_queue():
    """benchmarks/queue.py is named like the standard library's ``queue``, and benchmarks/ is sys.path[0] for
    the scripts run from there: imported as ``queue`` it must hand over to the real one (asyncio,
    concurrent.futures and multiprocessing import it)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = (
        "import runpy,sys; sys.path.insert(0,'benchmarks'); import queue; "
        "assert hasattr(queue,'Queue') and queue.Queue.__module__=='queue'; "
        "import asyncio, concurrent.futures; assert sys.modules['queue'] is queue; print(queue.__file__)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert not out.stdout.strip().startswith(str(root / "benchmarks"))


def test_later_moves_only_the_tickets_that_crossed_and_agrees_with_a_fresh_query(store, monkeypatch):
    """``QueueQuery.later``: step by step through two days, the regrouped order is the order a fresh query
    gives at each instant (any view, search words, both directions)."""
    regrouped = []
    original = QueueQuery._regroup

    def spy(self, earlier):
        out = original(self, earlier)
        regrouped.append(out is not None)
        return out

    monkeypatch.setattr(QueueQuery, "_regroup", spy)

    for view, text, descending in (("open", "", False), ("open", "", True), ("unassigned", "p", False)):
        _step_later(store, view, text, Sort("due", descending))
    assert regrouped and all(regrouped)  # every step moved the crossing tickets, none arranged all again


def _step_later(store, view, text, sort):
    """Step ``QueueQuery.later`` through the instants at which the order changes by itself, for two days,
    comparing each with a fresh query at that instant; return the queries' rows along the way."""
    from datetime import timedelta

    from deskterm.store.queue import SearchIndex, next_entering, next_thresholds

    query = QueueQuery(
        store, view=view, filters=parse_filter(text), sort=sort, user="alice", now=NOW, search=SearchIndex()
    )
    query.ids()
    now, steps, seen = NOW, 0, []
    while now < NOW + timedelta(days=2) and steps < 40:
        warn, due = next_thresholds(store, now)
        enter = next_entering(store, now) if view == "breaching" else None
        instants = [t for t in (warn, due and due + timedelta(seconds=1), enter) if t is not None]
        if not instants:
            break
        now = min(instants) + timedelta(seconds=steps % 3 * 600)  # sometimes several crossings at once
        query = query.later(now)
        fresh = QueueQuery(
            store, view=view, filters=parse_filter(text), sort=sort, user="alice", now=now, search=SearchIndex()
        )
        assert list(query.ids()) == list(fresh.ids()), (view, text, sort, now)
        seen.append((now, query.window(0, query.count())))
        steps += 1
    assert steps > 10
    return seen


@pytest.mark.parametrize(
    "text, sort",
    [("", Sort("due")), ("", Sort("due", True)), ("p", Sort("priority")), ("prio:P1,P2", Sort("customer", True))],
)
def test_breaching_soon_moves_with_the_time_from_one_sql_order(store, text, sort):
    """ "Breaching soon" is the open tickets whose warning has started or that are due within the hour, at
    the query's instant: stepped with ``later`` (no SQL of its own) it holds, at each instant, exactly what
    the view's SQL condition selects, and agrees with a fresh query."""
    from sqlalchemy import select

    from deskterm.store.models import Ticket
    from deskterm.store.queue import filter_conditions, view_condition

    f = parse_filter(text)
    for now, rows in _step_later(store, "breaching", text, sort):
        with store.engine.connect() as conn:
            wanted = set(
                conn.execute(
                    select(Ticket.id).where(view_condition("breaching", "alice", now), *filter_conditions(f, "alice"))
                ).scalars()
            )
        if f.words:
            assert {r.id for r in rows} <= wanted
            assert all(
                all(w in f"{r.subject}\x1f{r.customer}\x1f{r.ref or ''}".casefold() or str(r.id) == w for w in f.words)
                for r in rows
            )
        else:
            assert {r.id for r in rows} == wanted
        assert len(rows) == len({r.id for r in rows})


@pytest.mark.parametrize("sort", [Sort("due"), Sort("due", True), Sort("priority"), Sort("customer", True)])
def test_breaching_soon_holds_no_breached_ticket(store, sort):
    """Issue 13 item 12: a ticket breached 19 days ago is "breached", not "breaching soon". The view holds the
    open tickets not yet breached whose warning has started or that are due within the hour, in any sort, and
    its tab counts the same; the breached lead "All open"."""
    from datetime import timedelta

    from deskterm.store.queue import breaching_count

    q = QueueQuery(store, view="breaching", sort=sort, user="alice", now=NOW)
    rows = q.window(0, q.count())
    assert rows and all(r.next_due is None or r.next_due >= NOW for r in rows)
    assert all((r.next_warn is not None and r.next_warn <= NOW) or r.next_due <= NOW + timedelta(hours=1) for r in rows)
    everything = QueueQuery(store, view="open", user="alice", now=NOW)
    all_rows = everything.window(0, everything.count())
    breached = [r for r in all_rows if _urgency(r) == 0]
    assert breached and not {r.id for r in breached} & {r.id for r in rows}
    expected = {
        r.id
        for r in all_rows
        if _urgency(r) != 0
        and (
            (r.next_warn is not None and r.next_warn <= NOW)
            or (r.next_due is not None and r.next_due <= NOW + timedelta(hours=1))
        )
    }
    assert {r.id for r in rows} == expected
    assert breaching_count(store, NOW) == len(expected) == view_counts(store, "alice", NOW)["breaching"]
