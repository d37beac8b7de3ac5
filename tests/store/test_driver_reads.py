"""The store's statements run on the driver's connection alone (store/driver_reads.py) read what SQLAlchemy reads:
the same rows, each value as SQLAlchemy's result gives it (instants as aware datetimes, booleans), for the
statements the live refresh runs and for the kinds of parameters they take (expanding lists, one value, an
instant, a list and single values mixed, an empty list). SQLite only: PostgreSQL keeps the store's path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import bindparam, literal_column, select
from sqlmodel import col

from deskterm.demo import generate
from deskterm.service import Change
from deskterm.store import queries
from deskterm.store import queue as queue_store
from deskterm.store.driver_reads import Reads, Unsupported
from deskterm.store.models import Ticket
from deskterm.store.queue import VIEWS, QueueQuery, Sort, follow
from deskterm.store.queue_conditions import customer_names
from deskterm.store.queue_thresholds import _DEADLINES, _NEXT_DUE, _NEXT_WARN


@pytest.fixture
def reads(desk):
    if not desk.store.is_sqlite:
        pytest.skip("the driver's reads are SQLite's")
    tickets = generate(desk.clock.now(), 40, seed=3)
    for t in tickets:
        t.ref = None
    desk.import_tickets(tickets)
    first, second = (t.id for t in desk.tickets()[:2])
    desk.update(first, Change(note="a note"))
    desk.update(second, Change(reply="a reply"))
    r = Reads(desk.store)
    yield r
    r.close()


def _both(desk, reads, stmt, params=None):
    with desk.store.engine.connect() as conn:
        theirs = [tuple(r) for r in conn.execute(stmt, params or {})]
    with reads.snapshot() as conn:
        ours = conn.execute(stmt, params).all()
    return ours, theirs


def test_the_refresh_statements_read_the_same_rows(desk, reads):
    ids = [t.id for t in desk.tickets()]
    assert len(ids) > 3
    for stmt in (queries._EVENTS_OF, queue_store._ROWS, _DEADLINES):
        for chosen in (ids[:1], ids[:3], ids, ids[::-1], []):
            ours, theirs = _both(desk, reads, stmt, {"ids": chosen})
            assert ours == theirs, (stmt, chosen)
    events, _ = _both(desk, reads, queries._EVENTS_OF, {"ids": ids})
    assert events and all(e[2].tzinfo is not None for e in events)  # instants: aware, as SQLAlchemy's
    assert any(type(e[5]) is bool for e in events)  # booleans: bool, as SQLAlchemy's


def test_an_instant_as_a_parameter(desk, reads):
    now = desk.clock.now()
    for at in (now - timedelta(days=30), now, now + timedelta(days=30)):
        for stmt in (_NEXT_WARN, _NEXT_DUE):
            ours, theirs = _both(desk, reads, stmt, {"now": at})
            assert ours == theirs
    with reads.snapshot() as conn:
        assert conn.execute(_NEXT_DUE, {"now": now}).scalar() == queue_store.next_thresholds(desk.store, now)[1]


def test_a_list_and_single_values_mixed_in_their_places(desk, reads):
    ids = [t.id for t in desk.tickets()]
    stmt = (
        select(col(Ticket.id), col(Ticket.subject))
        .where(col(Ticket.id) > bindparam("low"))
        .where(col(Ticket.id).in_(bindparam("ids", expanding=True)))
        .where(col(Ticket.id) < bindparam("high"))
        .where(col(Ticket.status).not_in(bindparam("not", expanding=True)))
        .order_by(col(Ticket.id))
    )
    for low, high, chosen, excluded in ((0, 10**9, ids, ["closed"]), (2, 5, ids, []), (0, 10**9, [], ["new", "open"])):
        ours, theirs = _both(desk, reads, stmt, {"low": low, "high": high, "ids": chosen, "not": excluded})
        assert ours == theirs
    # values bound in the statement itself (the views' conditions, one-off statements): their own values
    ours, theirs = _both(desk, reads, select(col(Ticket.id)).where(col(Ticket.id) == ids[1]))
    assert ours == theirs == [(ids[1],)]
    with reads.snapshot() as conn:
        assert customer_names(conn) == customer_names(desk.store.engine.connect())


def test_the_follow_statement_of_every_view(desk, reads):
    ids = [t.id for t in desk.tickets()]
    for view in VIEWS:
        query = QueueQuery(desk.store, view=view, sort=Sort("due"), user=desk.user, now=desk.clock.now())
        with desk.store.engine.connect() as conn:
            stmt = queue_store._follow_statement(query, conn)
        ours, theirs = _both(desk, reads, stmt, {"ids": ids})
        assert ours == theirs, view
        # and what follow() makes of them, both ways
        query.ids()
        a = follow(query, ids[:3], near=(0, 50), window=(0, 20, ()), reads=reads)
        b = follow(query, ids[:3], near=(0, 50), window=(0, 20, ()))
        assert a.rows == b.rows and [r.id for r in a.records] == [r.id for r in b.records], view
        assert [r.events for r in a.records] == [r.events for r in b.records], view
        assert (a.query is None) == (b.query is None) == (not query.can_patch()), view  # ("breaching soon": read again)
        assert a.query is None or b.query is None or list(a.query.ids()) == list(b.query.ids()), view


def test_a_parameter_rendered_at_execution_is_refused_before_reading(desk, reads):
    stmt = select(col(Ticket.id)).limit(bindparam("n", literal_execute=True))
    with pytest.raises(Unsupported), reads.snapshot() as conn:
        conn.execute(stmt, {"n": 3})
    assert select(literal_column("1")) is not None  # (a statement without parameters runs)
    with reads.snapshot() as conn:
        assert conn.execute(select(literal_column("1"))).scalar() == 1


def test_one_snapshot_for_every_statement(desk, reads):
    """Inside ``snapshot()`` a commit elsewhere is not seen (the store's ``connect()`` and ``begin()`` alike)."""
    ticket = desk.tickets()[0].id
    with reads.snapshot() as conn:
        before = conn.execute(queue_store._ROWS, {"ids": [ticket]}).all()
        desk.update(ticket, Change(note="meanwhile"))
        assert conn.execute(queue_store._ROWS, {"ids": [ticket]}).all() == before
    with reads.snapshot() as conn:
        assert conn.execute(queue_store._ROWS, {"ids": [ticket]}).all() != before
