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
from datetime import timedelta

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
from deskterm_testing import EXAMPLE_CONFIG, examples, patience

pytestmark = pytest.mark.engines("sqlite", "postgresql")

ESCALATION = '\n[escalation]\nmanagers = ["duty-manager"]\n'
CATEGORIES = '\n[categories]\nnetwork = ["vpn", "wifi"]\nemail = []\n'  # the top contact reasons

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
                Change(category="network/vpn"),
                Change(category="email"),
                Change(category="none"),
                "escalate",
                "acknowledge",
                "new",
            ]
        ),
        # minutes the clock moves first: 0, the contributions kept; else the tickets whose deadline passed are
        # evaluated again (and a day may begin: the past days moved)
        # a day, the past days moved by one; two days, everything computed again
        st.sampled_from([0, 0, 1, 5, 30, 180, 600, 1440, 2880]),
    ),
    min_size=1,
    max_size=3,
)


@pytest.fixture
def busy(desk):
    """bob's desk (escalations to a manager configured) with 20 tickets of the demo's busy queue."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8") + ESCALATION + CATEGORIES
    config = parse_config(tomllib.loads(text), str(EXAMPLE_CONFIG))
    bob = Desk(desk.store, config, clock=desk.clock, user="bob")
    tickets = generate(bob.clock.now(), 20, seed=7)
    for t in tickets:
        t.ref = None
    bob.import_tickets(tickets)
    return bob


def _seen(watch):
    """What the watch reports of a change just committed (PostgreSQL's notification comes a moment after)."""
    deadline = time.monotonic() + patience(5)
    while (seen := watch.changes()) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return seen


def _shown(k: reports.Kpis) -> dict:
    """The figures of ``k`` as the dashboard shows them: the breaches counted (the screen does not list them)."""
    return {**k.as_dict(), "breaches": k.breach_count}


def _figures(f: Figures, now) -> dict:
    """What the dashboard shows, from the figures kept (``advance`` to ``now``)."""
    f.advance(now)
    out = {}
    for key in period_bounds(now, f.desk.config.tz):
        total, by = f.period(key)
        out[key] = (_shown(total), {name: _shown(k) for name, k in by.items()})
    out["trend"] = [(since, _shown(k)) for since, k in f.trend(None)]
    for customer in sorted({t.customer for t in f.desk.tickets()}):
        out[f"trend of {customer}"] = [(since, _shown(k)) for since, k in f.trend(customer)]
    out["reasons"] = f.reasons.top(now - timedelta(days=7), now)
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
        out[key] = (_shown(total), {name: _shown(k) for name, k in by.items() if k.as_dict() != nothing})

    def trend(customer):
        mine = tickets if customer is None else [t for t in tickets if t.customer == customer]
        ids = {t.id for t in mine}
        theirs = escalations if customer is None else [e for e in escalations if e.ticket_id in ids]
        return [
            (since, _shown(reports.compute(mine, lambda t, u=until: desk.sla(t, u), since, until, theirs, tz)))
            for since, until in day_windows(now, tz)
        ]

    out["trend"] = trend(None)
    for customer in sorted({t.customer for t in tickets}):
        out[f"trend of {customer}"] = trend(customer)
    out["reasons"] = reports.top_reasons(tickets, now - timedelta(days=7), now)
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


@settings(max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=steps)
@example(changes=[(380, "new", 0), (530, Change(status="resolved"), 0)])
@example(changes=[(3, Change(category="network/vpn"), 0), (4, Change(category="email"), 600), (3, "new", 0)])
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


@settings(max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=steps)
@example(changes=[(2, Change(status="resolved"), 1440), (5, Change(reply="On it."), 600)])
def test_figures_that_read_a_change_before_the_feed_told_it_equal_a_full_read(busy, changes):
    """The dashboard keeps a digest of each ticket, not its record: the records are read again when an instant
    passes or a day begins, and may then hold a change the feed has not told yet (it tells it a moment after the
    commit). Figures brought to a later instant between a change and its refresh, then refreshed, equal the
    report's."""
    desk = busy
    watch = ChangeWatch(desk.store)
    kept = Figures(desk)
    kept.advance(desk.clock.now())
    try:
        for which, step, minutes in changes:
            try:
                if not _apply(desk, which, step):
                    continue
            except DeskError:
                continue
            seen = _seen(watch)
            assert seen is not None and seen.tickets is not None
            desk.clock.advance(minutes=minutes)  # (the instants passed, a day begun: records read again)
            kept.advance(desk.clock.now())
            kept.refresh(seen.tickets)
            now = desk.clock.now()
            assert _figures(kept, now) == _report(desk, now)
    finally:
        watch.close()


def test_a_new_day_moves_the_past_days_instead_of_computing_every_period(busy):
    """Six days, a change each day: Saturday, Sunday (Paris's clocks move on: a day of 23 hours), Monday (a new
    week), Tuesday, Wednesday the 1st (a new month). Each day the past days' figures move by one and yesterday's
    are what today's were (``Figures.days_moved``), never every period computed again, and the figures are the
    report's; two days at once compute everything again."""
    desk = busy
    watch = ChangeWatch(desk.store)
    kept = Figures(desk)
    try:
        assert _figures(kept, desk.clock.now()) == _report(desk, desk.clock.now())
        for day in range(6):
            desk.clock.advance(minutes=1440)
            if day % 2:
                tid = [t.id for t in desk.tickets(["new", "open", "pending"])][day]
                desk.update(tid, Change(note="checked"))
            else:
                desk.create(NewTicket(subject="new", customer="Lyon", priority="P2", created_at=desk.clock.now()))
            kept.refresh(_seen(watch).tickets)
            now = desk.clock.now()
            assert _figures(kept, now) == _report(desk, now), day
        assert (kept.computed_whole, kept.days_moved) == (1, 6)
        desk.clock.advance(minutes=2 * 1440)
        now = desk.clock.now()
        assert _figures(kept, now) == _report(desk, now)
        assert (kept.computed_whole, kept.days_moved) == (2, 6)
    finally:
        watch.close()


# -- the service manager's lines (monthly.KeptManagerLines) ----------------------------------------------------

manager_steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000),  # which ticket, problem, customer or action
        st.sampled_from(
            [
                "problem",  # a new ticket of type problem
                "make problem",  # an incident's type set to problem
                "make incident",  # a problem's type set back to incident
                "link",
                "move",  # a linked incident linked to another problem
                "record",  # a problem's root cause
                "action",  # a corrective action, due yesterday or tomorrow
                "action done",
                "contract",
                "time",
                "change request",
                "rename",  # a customer renamed (its tickets record it)
                Change(status="resolved"),
                Change(status="open"),
                Change(note="checked"),
                "new",
                "nothing",  # only the clock moves
            ]
        ),
        # minutes the clock moves first: a new day, a new month
        st.sampled_from([0, 0, 0, 5, 600, 1440, 20 * 1440]),
    ),
    min_size=1,
    max_size=6,
)


def _manager_step(desk: Desk, which: int, step) -> bool:
    """One change of what the service manager's lines read; False when there was nothing to do (DeskError:
    refused, nothing written)."""
    from deskterm.domain.billing import Contract

    tickets = desk.tickets()
    problems = [t for t in tickets if t.type == "problem"] or [None]
    others = [t for t in tickets if t.type != "problem"]
    customers = sorted({t.customer for t in tickets})
    customer = customers[which % len(customers)]
    theirs = [t for t in others if t.customer == customer] or others
    problem, ticket = problems[which % len(problems)], theirs[which % len(theirs)]
    today = desk.clock.now().astimezone(desk.config.tz).date()
    if step == "problem":
        desk.create(
            NewTicket(
                subject=f"problem {which}",
                customer=customer,
                priority="P3",
                type="problem",
                created_at=desk.clock.now(),
            )
        )
    elif step == "make problem":
        desk.update(ticket.id, Change(type="problem"))
    elif step == "make incident" and problem is not None:
        desk.update(problem.id, Change(type="incident"))
    elif step == "link" and problem is not None:
        desk.link_problem(problem.id, [ticket.id])
    elif step == "move" and problem is not None:
        linked = [(t.id, p) for t in others if (p := desk.work_summary(t.id).problem_id) is not None]
        if linked:
            incident, now_of = linked[which % len(linked)]
            elsewhere = [t.id for t in problems if t is not None and t.id != now_of]
            if elsewhere:
                desk.link_problem(elsewhere[which % len(elsewhere)], [incident])
                return True
        return False
    elif step == "record" and problem is not None:
        desk.update_problem(problem.id, root_cause=f"cause {which}")
    elif step == "action" and problem is not None:
        desk.add_action(problem.id, f"fix {which}", "me", today + timedelta(days=which % 3 - 1))
    elif step == "action done":
        desk.set_action(1 + which % 4, "done")  # an action that does not exist, or is done already: refused
    elif step == "contract":
        start = today - timedelta(days=400 - which % 300)
        end = today + timedelta(days=which % 90 - 30)
        desk.add_contract(Contract(f"C{which}", customer, start, end, renews=which % 4 == 0, rate_cents=9000))
    elif step == "time":
        desk.log_time(ticket.id, 60 * (1 + which % 90))
    elif step == "change request":
        if ticket.classification != "change_request":
            desk.update(ticket.id, Change(classification="change_request"))
        desk.change_request(ticket.id, estimate=3600 * (1 + which % 5))
    elif step == "rename":
        desk.rename_customer(customer, f"{customer.split(' ·')[0]} · {which}")
    elif isinstance(step, Change):
        desk.update(ticket.id, step)
    elif step == "new":
        desk.create(NewTicket(subject="new", customer=customer, priority="P2", created_at=desk.clock.now()))
    else:
        return False
    return True


def _lines(get, customer):
    try:
        return get(customer)
    except DeskError as exc:  # a customer renamed away: both say so
        return ("refused", str(exc))


@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=manager_steps)
@example(changes=[(1, "problem", 0), (2, "link", 0), (3, "action", 0), (0, "contract", 0), (1, "time", 1440)])
@example(changes=[(1, "problem", 0), (1, "action", 0), (0, "nothing", 1440)])  # the action is overdue the next day
@example(changes=[(5, "contract", 0), (5, "time", 0)])  # the customer's billable month
@example(changes=[(1, "problem", 0), (2, "problem", 0), (0, "link", 0), (0, "move", 0)])  # from one to another
@example(changes=[(2, "rename", 0), (2, Change(note="checked"), 0)])  # the kept customer's lines are refused
def test_service_manager_lines_kept_equal_a_full_computation(busy, changes):
    """The lines kept (computed again only when what they read changed) equal ``monthly.manager_lines`` computed
    whole, for all customers and for each customer ever shown, after random changes of problems, links, actions,
    contracts, time entries, change requests, customers' names and other tickets, and days passing."""
    from deskterm import monthly

    desk = busy
    watch = ChangeWatch(desk.store)
    kept = monthly.KeptManagerLines(desk)
    asked: list[str | None] = [None, *sorted({t.customer for t in desk.tickets()})]
    try:
        for which, step, minutes in [(0, "nothing", 0), *changes]:
            desk.clock.advance(minutes=minutes)
            if step != "nothing":
                try:
                    if not _manager_step(desk, which, step):
                        continue
                except DeskError:
                    continue  # refused: nothing was written
                seen = _seen(watch)
                assert seen is not None, "every write is noticed"
                kept.changed(seen.tickets)
            now = desk.clock.now()
            asked += [c for c in sorted({t.customer for t in desk.tickets()}) if c not in asked]
            for customer in asked:
                want = _lines(lambda c, now=now: monthly.manager_lines(desk, now, c), customer)
                assert _lines(lambda c, now=now: kept.lines(now, c), customer) == want, (step, customer)
    finally:
        watch.close()


def test_service_manager_lines_are_not_computed_again_for_an_unrelated_change(busy):
    """A note on a ticket that is neither a problem nor linked, nor billed this month, keeps the lines, and so does
    a note on a problem (read again alone: the same for the lines); a link computes them again from the problems
    kept, without reading every problem again."""
    from deskterm import monthly
    from deskterm.domain.billing import Contract

    desk = busy
    customer = sorted({t.customer for t in desk.tickets()})[0]
    today = desk.clock.now().astimezone(desk.config.tz).date()
    desk.add_contract(Contract("Gold", customer, today - timedelta(days=100), today + timedelta(days=20)))
    problem = desk.create(
        NewTicket(subject="switch", customer=customer, priority="P3", type="problem", created_at=desk.clock.now())
    ).id
    incidents = [t.id for t in desk.tickets(["new", "open"]) if t.type != "problem"]
    watch = ChangeWatch(desk.store)
    kept = monthly.KeptManagerLines(desk)
    try:
        now = desk.clock.now()
        first = kept.lines(now, None), kept.lines(now, customer)
        assert kept.computed == 2 and first[0] and first[1]
        desk.update(incidents[0], Change(note="called"))
        kept.changed(_seen(watch).tickets)
        assert (kept.lines(now, None), kept.lines(now, customer)) == first
        assert kept.computed == 2  # kept
        desk.update(problem, Change(note="looking into it"))  # the problem read again: the same for the lines
        kept.changed(_seen(watch).tickets)
        assert (kept.lines(now, None), kept.lines(now, customer)) == first
        assert kept.computed == 2 and kept.read_whole == 1
        desk.link_problem(problem, [incidents[1]])
        kept.changed(_seen(watch).tickets)
        assert kept.lines(now, None) == monthly.manager_lines(desk, now, None) != first[0]
        assert kept.computed == 3 and kept.read_whole == 1  # from the problems kept, the linked one read again
    finally:
        watch.close()
