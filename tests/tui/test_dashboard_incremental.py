"""Issue 17: the dashboard's figures and the handover's tickets kept from one computation to the next, against a
full recomputation.

``Figures`` (dashboard) and ``ShiftTickets`` (handover) are read once, then after each random change (made
through the service, as the screens and the command line make them) they read again only the tickets the feed
of ticket changes names (``refresh``); the dashboard's periods and trends must equal those of a ``Figures`` read
from scratch at the same instant, and the handover must be ``reports.handover`` of every ticket (what
``deskterm handover`` prints), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
import tomllib

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from deskterm import reports
from deskterm.config import parse_config
from deskterm.demo import generate
from deskterm.errors import DeskError
from deskterm.service import Change, Desk, NewTicket
from deskterm.store.changes import ChangeWatch
from deskterm.tui.screens.dashboard import Figures, day_windows, period_bounds
from deskterm.tui.screens.handover import ShiftTickets
from deskterm_testing import EXAMPLE_CONFIG

pytestmark = pytest.mark.engines("sqlite", "postgresql")

ESCALATION = '\n[escalation]\nmanagers = ["duty-manager"]\n'

steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000),  # which ticket (modulo the desk's size)
        st.sampled_from(
            [
                Change(status="open"),
                Change(status="pending"),
                Change(status="resolved"),
                Change(status="closed"),
                Change(priority="P1"),
                Change(reply="On it."),
                Change(note="checked"),
                Change(classification="defect"),
                "escalate",
                "acknowledge",
                "new",
            ]
        ),
        # minutes the clock moves first: 0, the contributions kept; else the tickets whose deadline passed are
        # evaluated again (and a day may begin: everything computed again)
        st.sampled_from([0, 0, 1, 5, 30, 180, 600]),
    ),
    min_size=1,
    max_size=3,
)


@pytest.fixture
def busy(desk):
    """bob's desk (escalations to a manager configured) with 20 tickets of the demo's busy queue."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8") + ESCALATION
    config = parse_config(tomllib.loads(text), str(EXAMPLE_CONFIG))
    bob = Desk(desk.store, config, clock=desk.clock, user="bob")
    tickets = generate(bob.clock.now(), 20, seed=7)
    for t in tickets:
        t.ref = None
    bob.import_tickets(tickets)
    return bob


def _seen(watch):
    """What the watch reports of a change just committed (PostgreSQL's notification comes a moment after)."""
    deadline = time.monotonic() + 5
    while (seen := watch.changes()) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return seen


def _figures(f: Figures, now) -> dict:
    """What the dashboard shows, from the figures kept (``advance`` to ``now``)."""
    f.advance(now)
    out = {}
    for key in period_bounds(now, f.desk.config.tz):
        total, by = f.period(key)
        out[key] = (total.as_dict(), {name: k.as_dict() for name, k in by.items()})
    out["trend"] = [(since, k.as_dict()) for since, k in f.trend(None)]
    for customer in sorted({t.customer for t in f.desk.tickets()}):
        out[f"trend of {customer}"] = [(since, k.as_dict()) for since, k in f.trend(customer)]
    return out


def _report(desk: Desk, now) -> dict:
    """The same figures computed whole, as ``deskterm report`` computes them: every ticket of the desk, every
    escalation, each period evaluated as of its end."""
    tz = desk.config.tz
    tickets, escalations = desk.tickets(), desk.escalations(open_only=False)
    out = {}
    for key, (since, until) in period_bounds(now, tz).items():
        sla_of = lambda t, until=until: desk.sla(t, until)  # noqa: E731
        total = reports.compute(tickets, sla_of, since, until, escalations, tz)
        by = reports.compute_by(
            "customer", tickets, sla_of, since, until, lambda c: desk.config.policy_for(c).name, escalations, tz
        )
        nothing = reports.compute((), sla_of, since, until, (), tz).as_dict()
        out[key] = (total.as_dict(), {name: k.as_dict() for name, k in by.items() if k.as_dict() != nothing})

    def trend(customer):
        mine = tickets if customer is None else [t for t in tickets if t.customer == customer]
        ids = {t.id for t in mine}
        theirs = escalations if customer is None else [e for e in escalations if e.ticket_id in ids]
        return [
            (since, reports.compute(mine, lambda t, u=until: desk.sla(t, u), since, until, theirs, tz).as_dict())
            for since, until in day_windows(now, tz)
        ]

    out["trend"] = trend(None)
    for customer in sorted({t.customer for t in tickets}):
        out[f"trend of {customer}"] = trend(customer)
    return out


def _handover(h: reports.Handover) -> tuple:
    sections = (h.breaching, h.breached, h.long_pending)
    return (
        reports.handover_markdown(h, "UTC"),
        [[(x[0].id, *x[1:]) for x in section] for section in sections],
        [t.id for t in h.resolved],
        [e.id for e in h.unacknowledged],
        [(m.id, [t.id for t in ts]) for m, ts in h.majors],
    )


def _apply(desk: Desk, which: int, step) -> bool:
    """Make the change; False when there was nothing to do (no escalation waits for an acknowledgement)."""
    ids = [t.id for t in desk.tickets(["new", "open", "pending"])] or [1]
    tid = ids[which % len(ids)]
    if step == "new":
        desk.create(NewTicket(subject="new", customer="Lyon", priority="P2", created_at=desk.clock.now()))
    elif step == "escalate":
        desk.escalate(tid, "hierarchical", "duty-manager", "the customer insists")
    elif step == "acknowledge":
        waiting = [e for e in desk.escalations(open_only=True) if e.acknowledged_at is None]
        if not waiting:
            return False
        desk.acknowledge(waiting[which % len(waiting)].id)
    else:
        desk.update(tid, step)
    return True


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=steps)
@example(changes=[(380, "new", 0), (530, Change(status="resolved"), 0)])
def test_figures_refreshed_with_the_changed_tickets_equal_a_full_read(busy, changes):
    desk = busy
    watch = ChangeWatch(desk.store)
    kept = Figures(desk)
    assert _figures(kept, desk.clock.now()) == _report(desk, desk.clock.now())
    shift = ShiftTickets(desk, desk.clock.now(), 8)
    try:
        for which, step, minutes in changes:
            desk.clock.advance(minutes=minutes)
            try:
                if not _apply(desk, which, step):
                    continue
            except DeskError:
                continue  # refused by the workflow: nothing was written
            seen = _seen(watch)
            assert seen is not None and seen.tickets is not None, "a change made through the service names them"
            kept.refresh(seen.tickets)
            shift.refresh(seen.tickets)
            now = desk.clock.now()
            assert _figures(kept, now) == _report(desk, now)
            got, want = (
                _handover(shift.handover(now)),
                _handover(
                    reports.handover(desk.tickets(), lambda t, now=now: desk.sla(t, now), desk.escalations(), now, 8)
                ),
            )
            assert got == want
    finally:
        watch.close()
