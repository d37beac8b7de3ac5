"""Issue 17: `deskterm report` reads the tickets of its period a batch at a time (``Desk.kpis``: the tickets with
their histories and escalations, folded and dropped), so that its memory does not grow with the desk. Its
figures must be those of ``reports.compute`` / ``reports.compute_by`` over every ticket of the period and every
escalation at once (the path it replaced), whatever the batch size, after random changes, for any period and
grouping, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from deskterm import reports
from deskterm.config import parse_config
from deskterm.demo import generate
from deskterm.errors import DeskError
from deskterm.service import Change, Desk, NewEvent, NewTicket
from deskterm.store.models import Ticket
from deskterm_testing import EXAMPLE_CONFIG, examples

pytestmark = pytest.mark.engines("sqlite", "postgresql")

ESCALATION = '\n[escalation]\nmanagers = ["duty-manager"]\n'

changes = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000),  # which ticket (modulo the open ones)
        st.sampled_from(
            [
                Change(status="open"),
                Change(status="pending"),
                Change(status="resolved"),
                Change(status="closed"),
                Change(priority="P1"),
                Change(reply="On it."),
                Change(classification="defect"),
                "escalate",
                "acknowledge",
                "new",
                "back-dated",
            ]
        ),
        st.sampled_from([0, 5, 60, 600, 3000]),  # minutes the clock moves first
    ),
    max_size=6,
)
periods = st.tuples(
    st.sampled_from([1, 7, 30, 365]),  # days back from the end
    st.sampled_from([0, 0, 1, 3]),  # days the end is before now
    st.sampled_from([None, "customer", "policy", "group", "priority", "type", "category"]),
    st.sampled_from([1, 2, 3, 7, 1000]),  # tickets a batch
    st.sampled_from([1, 2]),  # processes: 2, batches folded by a forked process too, the folds merged
)


@pytest.fixture
def busy(desk):
    """bob's desk (escalations to a manager configured): 25 tickets of the demo's busy queue, some of them
    created up to two months ago."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8") + ESCALATION
    config = parse_config(tomllib.loads(text), str(EXAMPLE_CONFIG))
    bob = Desk(desk.store, config, clock=desk.clock, user="bob")
    tickets = generate(bob.clock.now(), 25, seed=11)
    for i, t in enumerate(tickets):
        t.ref = None
        shift = timedelta(days=(i * 7) % 60)
        t.created_at -= shift
        t.events = [dataclasses.replace(e, at=e.at - shift) for e in t.events]
    bob.import_tickets(tickets)
    return bob


def _apply(desk: Desk, which: int, step) -> None:
    ids = [t.id for t in desk.tickets(["new", "open", "pending"])] or [1]
    tid = ids[which % len(ids)]
    now = desk.clock.now()
    if step == "new":
        desk.create(NewTicket(subject="new", customer="Lyon", priority="P2", created_at=now))
    elif step == "back-dated":  # an import of last month's tickets: the past changes
        old = now - timedelta(days=20 + which % 20)
        desk.import_tickets(
            [
                NewTicket(
                    subject="from the old tool",
                    customer="Lyon",
                    priority="P3",
                    created_at=old,
                    events=[
                        NewEvent(at=old + timedelta(hours=2), kind="reply", author="bob", public=True, body="ok"),
                        NewEvent(at=old + timedelta(days=1), kind="status", author="bob", to="resolved"),
                    ],
                )
            ]
        )
    elif step == "escalate":
        desk.escalate(tid, "hierarchical", "duty-manager", "the customer insists")
    elif step == "acknowledge":
        waiting = [e for e in desk.escalations(open_only=True) if e.acknowledged_at is None]
        if waiting:
            desk.acknowledge(waiting[which % len(waiting)].id)
    else:
        desk.update(tid, step)


def _whole(desk: Desk, since, until, by):
    """The figures as `report` computed them before: every ticket of the period and every escalation at once."""
    tz = desk.config.tz
    tickets, escalations = desk.tickets_for_period(since, until), desk.escalations(open_only=False)

    def sla_of(t):
        return desk.sla(t, until)

    total = reports.compute(tickets, sla_of, since, until, escalations, tz)
    groups = (
        reports.compute_by(by, tickets, sla_of, since, until, lambda c: desk.config.policy_for(c).name, escalations, tz)
        if by
        else {}
    )
    return total.as_dict(), {k: v.as_dict() for k, v in groups.items()}, len(tickets)


@settings(max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=changes, period=periods)
def test_the_report_folded_batch_by_batch_equals_the_whole_computation(busy, steps, period):
    desk = busy
    for which, step, minutes in steps:
        desk.clock.advance(minutes=minutes)
        try:
            _apply(desk, which, step)
        except DeskError:
            pass  # refused by the workflow: nothing written
    days, before, by, batch, processes = period
    until = desk.clock.now() - timedelta(days=before)
    since = until - timedelta(days=days)
    told: list[int] = []
    total, groups = desk.kpis(since, until, by, on_batch=told.append, batch=batch, processes=processes)
    want_total, want_groups, n = _whole(desk, since, until, by)
    assert total.as_dict() == want_total
    assert {k: v.as_dict() for k, v in groups.items()} == want_groups
    assert list(groups) == list(want_groups)  # the same order: the groups' names
    # one call a batch, with the tickets folded so far
    assert told == [min(n, batch * (i + 1)) for i in range(math.ceil(n / batch))]


def test_an_acknowledgement_of_a_ticket_outside_the_period_still_counts(busy):
    """An escalation raised and acknowledged in the period whose ticket is not among the period's (a desk
    written before the ticket's change time followed its escalations): ``compute`` counted its acknowledgement,
    for all customers; so does the batched path, which reads those escalations apart."""
    desk = busy
    tid = desk.tickets(["new", "open"])[0].id
    desk.escalate(tid, "hierarchical", "duty-manager", "the customer insists")
    desk.clock.advance(minutes=20)
    desk.acknowledge(desk.escalations(open_only=True)[-1].id)
    desk.clock.advance(minutes=20)
    desk.update(tid, Change(status="resolved"))
    desk.update(tid, Change(status="closed"))
    with desk.store.engine.begin() as conn:  # its last change recorded long before: outside the period
        conn.execute(
            update(Ticket.__table__)  # type: ignore[attr-defined]
            .where(Ticket.__table__.c.id == tid)  # type: ignore[attr-defined]
            .values(updated_at=desk.clock.now() - timedelta(days=90))
        )
    until = desk.clock.now() + timedelta(seconds=1)
    since = until - timedelta(days=1)
    assert tid not in {t.id for t in desk.tickets_for_period(since, until)}
    total, groups = desk.kpis(since, until, "customer", batch=2)
    want_total, want_groups, _ = _whole(desk, since, until, "customer")
    assert total.mean_ack_seconds == 20 * 60
    assert desk.kpis(since, until, "customer", batch=1, processes=2) == (total, groups)
    assert total.as_dict() == want_total
    assert {k: v.as_dict() for k, v in groups.items()} == want_groups
