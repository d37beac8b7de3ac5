"""Issue 17: ``show`` and ``list --status`` read through the driver alone (store/plain.py), without SQLAlchemy. The
plain reads and the store's must agree: column for column with the table models (the column lists are the one
home of both ways: the store's Core statements are built from them), and value for value after random changes
and random instants (microseconds included) on SQLite and PostgreSQL: every ticket with its history and contact,
the rows ``list`` prints (their instants as epoch seconds computed by the database), and ``list``'s lines."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Boolean, select, update

from deskterm.cli import list_from_deadlines, list_replayed
from deskterm.demo import generate
from deskterm.domain.billing import Contract
from deskterm.domain.calendar import epoch
from deskterm.errors import BadInput
from deskterm.records import TicketRecord
from deskterm.service import Change
from deskterm.store import plain, queries
from deskterm.store.models import SQLModel, Ticket, core
from deskterm.store.types import UTCDateTime
from deskterm_testing import apply_changes, examples

pytestmark = pytest.mark.engines("sqlite", "postgresql")
OPEN = ("new", "open", "pending", "on_hold")
SPECS = {"TICKET_RECORD": plain.TICKET_RECORD, "EVENT": plain.EVENT, "CONTACT": plain.CONTACT, "ROW": plain.ROW}
SPECS["LIST_LINE"] = plain.LIST_LINE


@pytest.mark.engines("sqlite")
def test_the_column_lists_agree_with_the_table_models():
    tables = SQLModel.metadata.tables
    for name, spec in SPECS.items():
        for table, column in spec:
            assert column in tables[table].c, (name, table, column)
            kind = tables[table].c[column].type
            assert ((table, column) in plain.INSTANTS) == isinstance(kind, UTCDateTime), (table, column)
            assert ((table, column) in plain.BOOLEANS) == isinstance(kind, Boolean), (table, column)
    fields = [f.name for f in dataclasses.fields(TicketRecord)]
    assert len(plain.TICKET_RECORD) == len(fields) - 1 and fields[-1] == "events"  # the record is built in order
    assert [c for _, c in plain.TICKET_RECORD] == [
        {"customer": "name", "group": "group_name"}.get(f, f) for f in fields[:-1]
    ]


@pytest.fixture
def busy(desk):
    desk.rederive()
    tickets = generate(desk.clock.now(), 40, seed=5)
    for t in tickets:
        t.ref = None
    desk.import_tickets(tickets)
    return desk


def _plain(desk):
    reader = plain.open_plain(desk.store.engine.url.render_as_string(hide_password=False), desk.config, desk.clock)
    assert reader is not None
    return reader


def _agree(desk, replayed: bool = True) -> None:
    reader = _plain(desk)
    try:
        ids = [t.id for t in desk.tickets()]
        for i in ids:
            stored = desk.ticket(i)
            assert reader.ticket(i) == stored
            assert reader.ticket(f"#{i}") == stored
            assert reader.contact_of(stored) == desk.contact_of(stored)
            _view_agrees(desk, i, stored)
        for statuses in (OPEN, ("pending",), ("new", "open")):
            assert list(reader.list_lines(statuses)) == list(desk.list_lines(statuses))
            now = desk.clock.now()
            lines = list(list_from_deadlines(reader, statuses, now))
            assert lines == list(list_from_deadlines(desk, statuses, now))
            if replayed:  # (the deadlines written below are no replay's)
                assert lines == list(list_replayed(desk, now, None, statuses))
        _periods_agree(desk)
        for key in ("99999999", "#0", "nothing", "99999999999999999999999", "\udcff"):
            with pytest.raises(BadInput, match="no such ticket"):
                reader.ticket(key)
            with pytest.raises(BadInput, match="no such ticket"):
                desk.ticket(key)
    finally:
        reader.close()


def _view_agrees(desk, key, stored=None) -> None:
    """The ticket screen's read (``Desk.ticket_view``, through the driver) is what the store's separate reads give."""
    view = desk.ticket_view(key)
    stored = stored or desk.ticket(key)
    assert view.record == stored
    assert view.work == desk.work_summary(key)
    assert view.open_lines == [(e.kind, e.target) for e in desk.escalations(open_only=True, tickets=[stored.id])]
    assert view.linked == (desk.linked(stored.id) if stored.major_id is None else [])


def test_the_ticket_screens_read_is_the_stores_separate_reads(busy):
    """Contracts (in force, ended, renewing), time logged, a change request approved, a problem with its record,
    linked incidents and actions, open and closed escalations, a major incident and its linked tickets: the ticket
    screen's one read through the driver gives what the store's reads give, for every ticket."""
    desk = busy
    tickets = desk.tickets(list(OPEN))
    a, b, c, d, e, f, g = (t.id for t in tickets[:7])
    customer = desk.ticket(a).customer
    desk.add_contract(Contract(name="Old", customer=customer, start=date(2000, 1, 1), end=date(2000, 12, 31)))
    desk.add_contract(
        Contract(name="Gold", customer=customer, start=date(2001, 1, 1), end=date(2001, 6, 30), renews=True)
    )
    desk.log_time(a, 1800, note="first look")
    desk.log_time(a, 600)
    desk.update(b, Change(classification="change_request"))
    desk.change_request(b, estimate=7200, approval="proposed")
    desk.change_request(b, approval="approved")
    desk.update(c, Change(type="problem"))
    desk.update_problem(c, root_cause="a bad cable", known_error=True, workaround="reboot")
    desk.link_problem(c, [d, e])
    desk.add_action(c, "replace the cable", "me", date(2030, 1, 1))
    desk.escalate(d, "functional", "L1", "router on ward B")
    desk.escalate(f, "functional", "L1", "angry customer")
    desk.escalate(e, "functional", "L1", "again")
    desk.update(e, Change(status="resolved", resolution_code="fixed"))  # its escalation closed with it
    desk.link(f, g)
    desk.link(a, g)
    seen = set()
    for t in desk.tickets():
        _view_agrees(desk, t.id)
        view = desk.ticket_view(t.id)
        seen |= {
            k
            for k, v in (
                ("linked", view.linked),
                ("escalated", view.open_lines),
                ("contract", view.work.contract),
                ("logged", view.work.logged_seconds),
                ("approval", view.work.approval),
                ("problem", view.work.problem_id),
                ("actions", view.work.open_actions),
            )
            if v
        }
    assert seen == {"linked", "escalated", "contract", "logged", "approval", "problem", "actions"}
    for key in ("99999999", "nothing", "\udcff"):
        with pytest.raises(BadInput, match="no such ticket"):
            desk.ticket_view(key)


def _periods_agree(desk, instants=()) -> None:
    """A report's batches read through the driver (``plain.period_batches``, on the store's connection) are the
    store's (``queries.period_batches``): the same tickets, records and histories, in the same batches."""
    now = desk.clock.now()
    ends = [now, now + timedelta(seconds=1), now - timedelta(days=1, microseconds=7), *instants]
    with desk.store.read() as session:
        conn = session.connection().connection.driver_connection
        for until in ends:
            for days in (1, 365):
                since = until - timedelta(days=days)
                for size in (3, 1000):
                    stored = list(queries.period_batches(session, since, until, size))
                    assert list(
                        plain.period_batches(conn, desk.store.engine.name == "postgresql", since, until, size)
                    ) == (stored)


instants = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 12, 30), timezones=st.just(UTC))
changes = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000),
        st.sampled_from(
            [Change(status="open"), Change(status="pending"), Change(status="on_hold"), Change(reply="On it.")]
            + [Change(note="checked"), Change(priority="P1"), Change(status="resolved", resolution_code="fixed")]
        ),
        st.integers(min_value=0, max_value=3 * 24 * 60),
    ),
    max_size=6,
)


@settings(max_examples=examples(4), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=changes, stamps=st.lists(st.tuples(st.integers(0, 10_000), instants, instants), max_size=4))
def test_plain_reads_agree_with_the_store_after_random_changes(busy, steps, stamps):
    desk = busy
    ids = [t.id for t in desk.tickets(list(OPEN))]
    apply_changes(desk, OPEN, steps)
    _agree(desk)
    # instants of any second and fraction, written through the store's column type, read back both ways (then
    # put back: hypothesis runs every example on the same desk)
    t = core(Ticket)
    stamped = sorted({ids[which % len(ids)] for which, _, _ in stamps})
    with desk.store.engine.begin() as conn:
        kept = conn.execute(
            select(t.c.id, t.c.next_due, t.c.next_warn, t.c.updated_at).where(t.c.id.in_(stamped))
        ).all()
        for which, due, updated in stamps:
            conn.execute(
                update(t)
                .where(t.c.id == ids[which % len(ids)])
                .values(next_due=due, next_warn=due - timedelta(microseconds=1), updated_at=updated)
            )
    try:
        _agree(desk, replayed=False)
        _periods_agree(desk, [updated for _, _, updated in stamps])
    finally:
        with desk.store.engine.begin() as conn:
            for tid, due, warn, updated in kept:
                conn.execute(update(t).where(t.c.id == tid).values(next_due=due, next_warn=warn, updated_at=updated))


def test_the_epoch_seconds_of_fractions_are_those_of_epoch(busy):
    """The database's epoch seconds drop the fraction, as ``epoch`` does (SQLite would round it to milliseconds)."""
    desk = busy
    t = core(Ticket)
    ticket = desk.tickets(list(OPEN))[0].id
    for due in ("2026-03-29 13:36:10.999999", "2026-03-29 13:36:10.9996", "1970-01-02 00:00:00.000001"):
        when = datetime.fromisoformat(due).replace(tzinfo=UTC)
        with desk.store.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == ticket).values(next_due=when))
        reader = _plain(desk)
        try:
            row = next(r for r in reader.list_lines(OPEN) if r[0] == ticket)
        finally:
            reader.close()
        assert row[6] == epoch(when) == int(when.replace(microsecond=0).timestamp())


@pytest.mark.engines("sqlite")
@settings(max_examples=200, deadline=None)
@given(
    when=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2199, 12, 31)).map(
        lambda d: d.replace(tzinfo=UTC)
    )
)
def test_sqlites_two_epoch_expressions_are_epoch(when):
    """``unixepoch()`` (SQLite 3.38 on) and the cast of ``strftime('%s')`` (before) give the same whole seconds as
    ``epoch``, the fraction dropped, for the text SQLAlchemy writes (``plain.sqlite_epoch``)."""
    import sqlite3

    text = when.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(":memory:") as conn:
        ways = [False, True] if sqlite3.sqlite_version_info >= (3, 38) else [False]
        found = {u: conn.execute(f"SELECT {plain.sqlite_epoch('?', u)}", (text,)).fetchone()[0] for u in ways}
    assert set(found.values()) == {epoch(when)}, found
