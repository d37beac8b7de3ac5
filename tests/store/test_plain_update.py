"""Issue 17: the command line's ``update`` through the driver alone (store/plain_write.py) writes what the service
writes. Two desks made alike (the same tickets, escalations, clock and user), random changes (valid or not, with
or without the version expected) applied to one by the service and to the other by ``update_plain``: each change
gives the same version or the same refusal, and the two desks are the same, row for row (tickets with their
derived deadlines, events, escalations, the feed of changes, agents and groups; on PostgreSQL each sequence's last
value too), on SQLite and PostgreSQL. On SQLite the instants are compared as the text stored, which the queue's
order compares."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, MetaData, Table, create_engine

from deskterm.change import Change
from deskterm.clock import FrozenClock
from deskterm.demo import generate
from deskterm.errors import DeskError
from deskterm.service import Desk
from deskterm.store import writes
from deskterm.store.engine import open_store
from deskterm.store.plain_write import update_plain
from deskterm.store.types import UTCDateTime
from deskterm_testing import db_state, examples

pytestmark = pytest.mark.engines("sqlite", "postgresql")
OPEN = ("new", "open", "pending", "on_hold")
PARIS = ZoneInfo("Europe/Paris")


def _made(desk: Desk) -> None:
    desk.rederive()
    tickets = generate(desk.clock.now(), 24, seed=7)
    for t in tickets:
        t.ref = None
    desk.import_tickets(tickets)
    for tid in [t.id for t in desk.tickets(list(OPEN))][:6]:  # open escalations, which a stopped ticket closes
        desk.escalate(tid, "functional", "L1", "third call today")


@pytest.fixture
def pair(desk, db_url, empty_db, example_config):
    """(the service's desk, its URL, the other desk's URL, its clock): alike."""
    store = open_store(empty_db)
    other = Desk(store, example_config, clock=FrozenClock(desk.clock.now()), user="alice")
    try:
        _made(desk)
        _made(other)
        assert db_state(empty_db) == db_state(db_url)
        yield desk, db_url, empty_db, other.clock
    finally:
        store.dispose()


CHANGES = [
    Change(status="open"),
    Change(status="pending"),
    Change(status="on_hold", reason="waiting for a part"),
    Change(status="resolved", resolution_code="fixed", reply="Fixed."),
    Change(status="closed"),
    Change(status="cancelled"),
    Change(status="new"),
    Change(status="wrong"),
    Change(reply="On it."),
    Change(note="checked"),
    Change(note="   "),
    Change(customer_message="Any news?"),
    Change(priority="P1", reason="outage"),
    Change(priority="P4"),
    Change(priority="P9"),
    Change(impact=1, urgency=2),
    Change(impact=1),
    Change(assign="me"),
    Change(assign="bob"),
    Change(assign="none"),
    Change(group="L2", reason="network"),
    Change(group="Service Desk"),
    Change(type="service_request"),
    Change(classification="change_request"),
    Change(resolution_code="fixed"),
    Change(status="resolved", resolution_code="nonsense"),
    Change(category="none"),
    Change(),
]


def _outcome(write, *args, **kwargs):
    try:
        return ("version", write(*args, **kwargs))
    except DeskError as exc:
        return (type(exc).__name__, str(exc), getattr(exc, "current_version", None))


@settings(max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.sampled_from(CHANGES),
            st.integers(0, 3 * 24 * 60),
            st.sampled_from([None, 0, -1]),  # no version expected, the ticket's, an older one
            st.booleans(),  # the ticket named as #id
        ),
        max_size=8,
    )
)
def test_update_through_the_driver_writes_what_the_service_writes(pair, steps):
    desk, url, other_url, other_clock = pair
    ids = [t.id for t in desk.tickets()]
    for which, change, minutes, expect, hashed in steps:
        desk.clock.advance(minutes=minutes)
        other_clock.advance(minutes=minutes)
        tid = ids[which % len(ids)]
        key = f"#{tid}" if hashed else tid
        expected = None if expect is None else desk.ticket(tid).version + expect
        service = _outcome(desk.update, key, change, expected)
        plain = _outcome(update_plain, other_url, desk.config, key, change, expected, clock=other_clock, user="alice")
        assert plain == service, change
    assert db_state(other_url) == db_state(url)


def test_what_the_driver_does_not_do_is_left_to_the_store(pair):
    """A desk whose deadlines were derived with another configuration, or that sends mail: None, nothing
    written (the command line then writes through the store)."""
    import dataclasses

    desk, _, other_url, other_clock = pair
    tid = desk.tickets(list(OPEN))[0].id
    before = db_state(other_url)
    for config in (
        dataclasses.replace(desk.config, sla_basis="another"),  # deadlines derived under another SLA
        dataclasses.replace(desk.config, mail=object()),
    ):
        assert update_plain(other_url, config, tid, Change(note="x"), clock=other_clock, user="alice") is None
        assert db_state(other_url) == before
    version = desk.ticket(tid).version
    assert update_plain(other_url, desk.config, tid, Change(note="x"), clock=other_clock, user="alice") == version + 1


@pytest.mark.engines("sqlite")
@settings(max_examples=60, deadline=None)
@given(
    when=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2200, 12, 30), timezones=st.sampled_from([UTC, PARIS])
    )
)
def test_an_instant_is_written_as_sqlalchemy_writes_it(when):
    """Both ways write the driver's text through ``writes.instant``: it is the text SQLAlchemy's column type
    (``types.UTCDateTime``) writes on SQLite, which every other write of the store makes and the order compares."""
    engine = create_engine("sqlite://")
    table = Table("t", MetaData(), Column("at", UTCDateTime()))
    with engine.begin() as conn:
        table.create(conn)
        conn.execute(table.insert().values(at=when))
        stored = conn.exec_driver_sql("SELECT at FROM t").scalar()
    assert writes.instant(when, postgresql=False) == stored
    assert writes.instant(when, postgresql=True) == when.astimezone(UTC)
