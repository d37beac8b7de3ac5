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
from deskterm.tui.screens.dashboard import Figures, period_bounds
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
        st.sampled_from([0, 0, 5, 180]),  # minutes the clock moves first (0: the evaluations as of now are reused)
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
    tz = f.desk.config.tz
    f.begin()
    out = {}
    for key, (since, until) in period_bounds(now, tz).items():
        total, by = f.period(since, until)
        out[key] = (total.as_dict(), {name: k.as_dict() for name, k in by.items()})
    out["trend"] = [(since, k.as_dict()) for since, k in f.trend(None, now)]
    customer = sorted({t.customer for t in f.tickets})[0]
    out["trend of one"] = [(since, k.as_dict()) for since, k in f.trend(customer, now)]
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


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=steps)
@example(changes=[(380, "new", 0), (530, Change(status="resolved"), 0)])
def test_figures_refreshed_with_the_changed_tickets_equal_a_full_read(busy, changes):
    desk = busy
    watch = ChangeWatch(desk.store)
    kept = Figures(desk)
    _figures(kept, desk.clock.now())  # evaluations cached, to be reused or let go
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
            assert _figures(kept, now) == _figures(Figures(desk, now), now)
            got, want = (
                _handover(shift.handover(now)),
                _handover(
                    reports.handover(desk.tickets(), lambda t, now=now: desk.sla(t, now), desk.escalations(), now, 8)
                ),
            )
            assert got == want
    finally:
        watch.close()
