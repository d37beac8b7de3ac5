"""Issue 17: the KPIs kept as folds of contributions (``reports.Fold``, ``reports.Ledger``), against the same
figures computed whole.

Random contributions are added, replaced and taken away in a random order; after each step the kept fold must
give exactly the KPIs of a fold built afresh from the contributions present (counts, rates, the breaches by
ticket) and the means and medians of ``statistics`` over the durations and acknowledgement times present
(``reports.Durations.of``, ``statistics.fmean``): a mean from a kept sum must be the same float as the mean of
the values. The fold is pure: no desk, no clock. ``tests/tui/test_dashboard_incremental.py`` checks the whole
chain (tickets, SLA, escalations) against ``reports.compute`` on a real desk.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from deskterm import reports
from deskterm.domain.sla import TIMERS

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 30, 12, tzinfo=UTC)

seconds = st.integers(min_value=0, max_value=10**7)
counts = st.lists(
    st.tuples(st.sampled_from(TIMERS), st.integers(min_value=1, max_value=3)), max_size=2, unique_by=lambda x: x[0]
).map(tuple)
contributions = st.builds(
    reports.Contribution,
    opened=st.sampled_from([None, "", "defect", "change_request"]),
    escalated=st.booleans(),
    backlog=st.booleans(),
    resolved=st.booleans(),
    first_contact=st.booleans(),
    reopened=st.booleans(),
    csat=st.none() | st.integers(min_value=1, max_value=5),
    nps=st.none() | st.integers(min_value=0, max_value=10),
    ces=st.none() | st.integers(min_value=1, max_value=7),
    met=counts,
    breached=counts,
    breaches=st.lists(st.tuples(st.sampled_from(TIMERS), st.integers(1_780_000_000, 1_790_000_000)), max_size=2).map(
        tuple
    ),
    first_response=st.none() | st.tuples(seconds, seconds),
    resolution=st.none() | st.tuples(seconds, seconds),
    # acknowledgement times as timedelta.total_seconds() gives them: microseconds, whose float sums round
    acks=st.lists(st.integers(min_value=0, max_value=10**12).map(lambda us: us / 10**6), max_size=3).map(tuple),
).map(lambda c: reports.NOTHING if c == reports.NOTHING else c)

steps = st.lists(st.tuples(st.integers(min_value=1, max_value=12), st.none() | contributions), min_size=1, max_size=40)


def _whole(present: dict[int, reports.Contribution]) -> dict:
    fold = reports.Fold()
    for key in sorted(present, reverse=True):  # any order: the breaches are listed by ticket
        fold.add(key, present[key], (None, f"c{key % 3}"))
    k = fold.kpis(SINCE, UNTIL).as_dict()
    cs = list(present.values())
    for name, get in (("first_response", lambda c: c.first_response), ("resolution", lambda c: c.resolution)):
        k[name] = reports.Durations.of([get(c) for c in cs if get(c) is not None]).__dict__
    acks = [a for c in cs for a in c.acks]
    k["mean_ack_seconds"] = statistics.fmean(acks) if acks else None
    csat = [c.csat for c in cs if c.resolved and c.csat is not None]
    k["csat_mean"] = statistics.fmean(csat) if csat else None
    ces = [c.ces for c in cs if c.resolved and c.ces is not None]
    k["ces_mean"] = statistics.fmean(ces) if ces else None
    return k


def _kept(fold: reports.Fold) -> dict:
    k = fold.kpis(SINCE, UNTIL).as_dict()
    k["first_response"] = fold.first_response.durations().__dict__
    k["resolution"] = fold.resolution.durations().__dict__
    return k


@settings(max_examples=100, deadline=None)
@given(steps=steps)
def test_a_fold_kept_through_changes_equals_the_fold_of_what_is_present(steps):
    fold = reports.Fold()
    present: dict[int, reports.Contribution] = {}
    for key, c in steps:
        old = present.pop(key, None)
        if old is not None:
            fold.remove(key, old)
        if c is not None:
            fold.add(key, c, (None, f"c{key % 3}"))
            present[key] = c
        assert _kept(fold) == _whole(present)
        assert fold.size == sum(1 for c in present.values() if c is not reports.NOTHING)


@settings(max_examples=100, deadline=None)
@given(steps=steps, moves=st.lists(st.integers(min_value=0, max_value=2), max_size=40))
def test_a_ledger_keeps_every_period_and_every_customer(steps, moves):
    """Two periods, three customers: ``put`` replaces a ticket's contributions to both (the same ones again, or
    under another customer: ``moves``); the customers listed are those with something counted."""
    from deskterm.records import TicketRecord

    def record(key: int, customer: str) -> TicketRecord:
        return TicketRecord(
            key, None, "s", "", customer, "P2", "P2", None, None, "incident", "open", None, "g",
            SINCE, "a", SINCE, 1, None, None,
        )  # fmt: skip

    ledger = reports.Ledger([(SINCE, UNTIL), (SINCE, UNTIL)])
    present: dict[int, tuple[str, tuple[reports.Contribution, reports.Contribution]]] = {}
    for j, (key, c) in enumerate(steps):
        if j < len(moves) and moves[j] and key in present:  # the same contributions again, maybe moved
            customer, pair = f"c{(key + moves[j] - 1) % 3}", present[key][1]
        else:
            customer = f"c{key % 3}"
            pair = (c or reports.NOTHING, reports.NOTHING if c is None or c.backlog else c)
        ledger.put(key, record(key, customer), pair)
        present[key] = (customer, pair)
        for i in (0, 1):
            assert ledger.kpis(i).as_dict() == reports_of({k: (n, p[i]) for k, (n, p) in present.items()})
            customers = sorted({n for n, p in present.values() if p[i] is not reports.NOTHING})
            assert ledger.customers(i) == customers
            for name in customers:
                mine = {k: (n, p[i]) for k, (n, p) in present.items() if n == name}
                assert ledger.kpis(i, name).as_dict() == reports_of(mine)


def reports_of(present: dict[int, tuple[str, reports.Contribution]]) -> dict:
    fold = reports.Fold()
    for key, (customer, c) in present.items():
        fold.add(key, c, (None, customer))
    return fold.kpis(SINCE, UNTIL).as_dict()


# -- the top contact reasons kept (``reports.Reasons``) -------------------------------------------------------


def _ticket(key: int, category: str | None, hours: int):
    from datetime import timedelta

    from deskterm.records import TicketRecord

    created = UNTIL - timedelta(hours=hours)
    return TicketRecord(
        key, None, "s", "", "c", "P3", "P3", None, None, "incident", "open", None, "", created, "x", created, 1,
        None, None, category=category,
    )  # fmt: skip


reason_steps = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=15),  # which ticket
        st.none()
        | st.tuples(  # None: gone; else its category and how many hours before UNTIL it was created
            st.none() | st.sampled_from(["network", "network/vpn", "network/wifi", "mail", "mail/spam", "printer"]),
            st.integers(min_value=-1, max_value=32).map(lambda n: 12 * n),  # half-days: ties with the bounds
        ),
        st.integers(min_value=0, max_value=6).map(lambda n: 12 * n),  # hours the window's end moves back
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(steps=reason_steps, limit=st.integers(min_value=1, max_value=6))
def test_the_reasons_kept_through_changes_equal_top_reasons_of_what_is_present(steps, limit):
    """Tickets come, change category or creation, and go in a random order; whatever the window (the last 7
    days ending at random instants, ties included), ``Reasons.top`` is ``top_reasons`` of the tickets present, at
    both levels."""
    from datetime import timedelta

    kept, present = reports.Reasons(), {}
    for key, what, back in steps:
        t = _ticket(key, *what) if what is not None else None
        kept.put(key, t)
        if t is None:
            present.pop(key, None)
        else:
            present[key] = t
        until = UNTIL - timedelta(hours=back)
        since = until - timedelta(days=7)
        for level in (1, 2):
            want = reports.top_reasons(list(present.values()), since, until, limit, level)
            assert kept.top(since, until, limit, level) == want


@settings(max_examples=100, deadline=None)
@given(steps=steps)
def test_breach_lines_read_as_a_list(steps: list[tuple[int, reports.Contribution | None]]) -> None:
    """The breaches a fold lists (``BreachLines``, each line made when read) are a sequence like the list of them:
    by index, negative index and slice; and the KPIs given keep their lines when the fold changes after."""
    fold = reports.Fold()
    present: dict[int, reports.Contribution] = {}
    given_before: list[tuple[reports.Kpis, list]] = []
    for key, c in steps:
        if key in present:
            fold.remove(key, present.pop(key))
        if c is not None:
            fold.add(key, c, (f"R{key}", f"c{key % 3}"))
            present[key] = c
        k = fold.kpis(SINCE, UNTIL)
        lines = list(k.breaches)
        assert len(k.breaches) == len(lines) == sum(len(c.breaches) for c in present.values())
        assert [k.breaches[i] for i in range(-len(lines), len(lines))] == lines + lines
        assert k.breaches[1:-1:2] == lines[1:-1:2] and k.breaches == lines and lines == k.breaches
        assert [(b["ticket"], b["timer"]) for b in lines] == [
            (key, name) for key in sorted(present) for name, _ in present[key].breaches
        ]
        given_before.append((k, lines))
    for k, lines in given_before:
        assert list(k.breaches) == lines
