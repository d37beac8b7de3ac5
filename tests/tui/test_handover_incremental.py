"""Issue 17: the handover's sections kept ticket by ticket (``ShiftTickets`` over ``reports.HandoverBook``) against
a full computation, after random changes and clock moves, on SQLite and PostgreSQL.

The kept sections read again only the tickets the feed of ticket changes names, and place again only those and
the tickets whose instant has passed (a deadline, a deadline entering the horizon, a wait on the customer
becoming long, a resolution leaving the shift); every line's time left is derived from its placing. After each
step they must be, line for line and in order (time left and hours waited included, and the Markdown), what
``reports.handover`` gives from every ticket of the desk evaluated as of now: what ``deskterm handover`` prints.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_dashboard_incremental import _apply, _handover, _seen, busy  # noqa: F401 (busy: the fixture)

from deskterm import reports
from deskterm.errors import DeskError
from deskterm.service import Change
from deskterm.store.changes import ChangeWatch
from deskterm.tui.screens.handover import ShiftTickets
from deskterm_testing import examples

pytestmark = pytest.mark.engines("sqlite", "postgresql")

steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000),  # which ticket (modulo the open ones)
        st.sampled_from(
            [
                None,  # no change: only the clock moves
                Change(status="open"),
                Change(status="pending"),
                Change(status="resolved"),
                Change(status="closed"),
                Change(status="on_hold"),
                Change(priority="P1"),
                Change(priority="P4"),
                Change(reply="On it."),
                Change(note="checked"),
                "escalate",
                "acknowledge",
                "new",
            ]
        ),
        # seconds the clock moves first: a second (a deadline a second away), minutes, the horizon's hours, a
        # shift (resolutions leave it), a day (waits on the customer become long)
        st.sampled_from([0, 1, 59, 600, 3_600, 4 * 3_600, 8 * 3_600 + 1, 25 * 3_600]),
    ),
    min_size=1,
    max_size=6,
)


def _full(desk, now, hours):
    return reports.handover(desk.tickets(), lambda t: desk.sla(t, now), desk.escalations(), now, hours)


@settings(max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=steps, hours=st.sampled_from([1, 8, 30]))
@example(changes=[(0, None, 25 * 3_600), (3, Change(status="pending"), 0), (0, None, 25 * 3_600)], hours=8)
@example(changes=[(1, Change(status="resolved"), 0), (0, None, 8 * 3_600 + 1)], hours=8)
def test_kept_sections_equal_a_full_computation(busy, changes, hours):  # noqa: F811
    desk = busy
    watch = ChangeWatch(desk.store)
    shift = ShiftTickets(desk, desk.clock.now(), hours)
    try:
        assert _handover(shift.handover(desk.clock.now())) == _handover(_full(desk, desk.clock.now(), hours))
        for which, step, seconds in changes:
            desk.clock.advance(seconds=seconds)
            if step is not None:
                try:
                    done = _apply(desk, which, step)
                except DeskError:
                    done = False  # refused by the workflow: nothing was written
                if done:
                    seen = _seen(watch)
                    assert seen is not None and seen.tickets is not None, "a change made through the service names them"
                    shift.refresh(seen.tickets)
            now = desk.clock.now()
            got, want = _handover(shift.handover(now)), _handover(_full(desk, now, hours))
            assert got == want
    finally:
        watch.close()


@pytest.mark.engines("sqlite")
def test_a_handover_of_the_book_makes_no_object_per_line(busy):  # noqa: F811
    """Each change hands the screen a new ``Handover``: its sections are copies of the kept lists, with no object
    made per line (a pair per long wait lived until the next change and fed the garbage collector's full passes,
    which cost the app more than the handover's own work). The lines are the same (the test above)."""
    import dataclasses
    import gc

    desk = busy
    tid = [t.id for t in desk.tickets(["new", "open"])][0]
    desk.update(tid, Change(status="pending"))
    desk.clock.advance(hours=25)  # a long wait
    now = desk.clock.now()
    shift = ShiftTickets(desk, now, 8)
    shift.handover(now)
    book = shift.book
    assert book is not None
    waiting = book.tickets[tid]
    sla, calendar = desk.sla(waiting, now), desk.config.policy_for(waiting.customer).calendar
    for i in range(500):  # 500 more tickets waiting as long
        book.put(dataclasses.replace(waiting, id=1_000_000 + i), sla, calendar, now)
    collecting = gc.isenabled()
    gc.disable()
    try:
        before = len(gc.get_objects())
        h = book.handover(now, shift.escalations)
        made = len(gc.get_objects()) - before
    finally:
        if collecting:
            gc.enable()
    assert len(h.long_pending) == 501
    assert h.long_pending[500][0].id == 1_000_499 and h.long_pending[-1][1] >= 25
    assert list(h.long_pending)[:2] == [h.long_pending[0], h.long_pending[1]] == h.long_pending[:2]
    assert made < 100, made


def test_a_change_reads_the_escalations_only_when_they_may_have_changed(busy):  # noqa: F811
    """A changed ticket with no waiting escalation, none raised since: its escalations are not read again (the
    highest id is looked up instead); one raised, or one of the changed tickets waiting, reads them; the sections
    equal a full computation at each step."""
    desk = busy
    watch = ChangeWatch(desk.store)
    shift = ShiftTickets(desk, desk.clock.now(), 8)
    reads: list = []
    escalations = desk.escalations
    # (the handover's reads name open_only; the full computation of the comparison reads them all, unnamed)
    desk.escalations = lambda *args, **kwargs: (kwargs and reads.append(kwargs)) or escalations(*args, **kwargs)
    try:
        tids = [t.id for t in desk.tickets(["new", "open"])]
        waiting = {e.ticket_id for e in shift.escalations}
        quiet = next(t for t in tids if t not in waiting)

        def step(change) -> None:
            change()
            seen = _seen(watch)
            assert seen is not None and seen.tickets is not None
            shift.refresh(seen.tickets)
            now = desk.clock.now()
            assert _handover(shift.handover(now)) == _handover(_full(desk, now, 8))

        step(lambda: desk.update(quiet, Change(note="checked")))
        assert reads == []
        step(lambda: desk.escalate(quiet, "hierarchical", "duty-manager", "asked twice"))
        assert len(reads) == 1
        step(lambda: desk.update(quiet, Change(note="again")))  # its escalation waits: read again
        assert len(reads) == 2
        waiting_on = next(e for e in shift.escalations if e.ticket_id == quiet)
        step(lambda: desk.acknowledge(waiting_on.id))
        assert len(reads) == 3 and all(e.ticket_id != quiet for e in shift.escalations)
        step(lambda: desk.update(quiet, Change(note="once more")))  # acknowledged: not read
        assert len(reads) == 3
    finally:
        del desk.escalations
        watch.close()
