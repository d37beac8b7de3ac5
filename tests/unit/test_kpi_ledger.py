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

import pickle
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
@given(steps=steps, parts=st.lists(st.integers(min_value=0, max_value=2), min_size=12, max_size=12))
def test_folds_of_parts_merged_equal_the_fold_of_the_whole(steps, parts):
    """A report folds parts of its tickets in two processes and merges the folds (``Fold.merge``, through pickle):
    the same figures as one fold of them all, whichever ticket went to which part, added in any order."""
    present: dict[int, reports.Contribution] = {}
    for key, c in steps:
        if c is None:
            present.pop(key, None)
        else:
            present[key] = c
    folds = [reports.Fold() for _ in range(3)]
    for key, c in present.items():
        folds[parts[key - 1]].add(key, c, (None, f"c{key % 3}"))
    merged = pickle.loads(pickle.dumps(folds[0]))
    merged.kpis(SINCE, UNTIL)  # (figures read before a merge, kept by the fold until something comes)
    for part in folds[1:]:
        merged.merge(pickle.loads(pickle.dumps(part)))
    assert _kept(merged) == _whole(present)
    assert merged.size == sum(1 for c in present.values() if c is not reports.NOTHING)
    whole = reports.Fold()
    for key in sorted(present):
        whole.add(key, present[key], (None, f"c{key % 3}"))
    assert merged.kpis(SINCE, UNTIL) == whole.kpis(SINCE, UNTIL)


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
    counting = reports.Ledger([(SINCE, UNTIL), (SINCE, UNTIL)], listed=False)  # the dashboard's: breaches counted
    present: dict[int, tuple[str, tuple[reports.Contribution, reports.Contribution]]] = {}
    for j, (key, c) in enumerate(steps):
        if j < len(moves) and moves[j] and key in present:  # the same contributions again, maybe moved
            customer, pair = f"c{(key + moves[j] - 1) % 3}", present[key][1]
        else:
            customer = f"c{key % 3}"
            pair = (c or reports.NOTHING, reports.NOTHING if c is None or c.backlog else c)
        ledger.put(key, record(key, customer), pair)
        counting.put(key, record(key, customer), pair, note=f"{key}:{j}".encode())
        if j % 2 and key in counting.kept:  # what it holds given back (the dashboard's past days): nothing moves
            again = counting.contributions(key)
            assert again == list(pair)
            counting.put(key, record(key, customer), again, note=f"{key}:{j}".encode())
        present[key] = (customer, pair)
        assert counting.note(key) == (f"{key}:{j}".encode() if any(c is not reports.NOTHING for c in pair) else None)
        for i in (0, 1):
            want = reports_of({k: (n, p[i]) for k, (n, p) in present.items()})
            assert ledger.kpis(i).as_dict() == want
            counted = ledger.kpis(i, lines=False)  # the dashboard's: the breaches counted, not listed
            assert counted.breach_count == len(want["breaches"]) and counted.breaches == ()
            assert {**counted.as_dict(), "breaches": want["breaches"]} == want
            assert counting.kpis(i, lines=False) == counted
            customers = sorted({n for n, p in present.values() if p[i] is not reports.NOTHING})
            assert ledger.customers(i) == customers == counting.customers(i)
            for name in customers:
                mine = {k: (n, p[i]) for k, (n, p) in present.items() if n == name}
                assert ledger.kpis(i, name).as_dict() == reports_of(mine)
                assert counting.kpis(i, name, lines=False) == ledger.kpis(i, name, lines=False)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(st.none() | contributions, max_size=35), min_size=1, max_size=5))
def test_rows_give_back_the_contributions_packed(rows):
    """``Rows.pack`` then ``unpack``: the same contributions (NOTHING as the one object, the kinds without
    durations, breaches or acknowledgements as one object each), whatever was packed before with the same
    ``Rows``."""
    packer = reports.Rows()
    packed = []
    for row in rows:
        row = [c or reports.NOTHING for c in row]
        head = len(packed) * 1000  # (a number and bytes kept before the row)
        note = bytes(range(len(row) * 5 % 256))
        data = packer.pack(row, head, note)
        assert len(data) >= len(row)
        packed.append((head, note, row, data))
    for head, note, row, data in packed:
        number, got = packer.unpack(data)
        assert number == head and packer.note(data) == note
        assert got == row
        assert all((g is reports.NOTHING) == (c == reports.NOTHING) for g, c in zip(got, row, strict=True))
        assert [hash(g) for g in got] == [hash(c) for c in row]


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


# -- a changed ticket's past contributions: its timers kept when its SLA as of the period's end is the same ----------

_POLICIES = """
[policies.silver]
calendar = "office"
P1 = { first_response = "15m", resolution = "4h", next_update = "1h" }
P2 = { first_response = "30m", resolution = "8h", next_update = "2h" }
P3 = { first_response = "2h",  resolution = "3bd" }
P4 = { first_response = "8h",  resolution = "10d" }

[customers."Silver"]
policy = "silver"
"""
T0 = datetime(2026, 11, 2, 8, tzinfo=UTC)  # a Monday
_EVENTS = [
    ("status", "open", "a", None),
    ("status", "pending", "a", None),
    ("status", "resolved", "a", None),
    ("status", "closed", "a", None),
    ("reply", None, "a", True),
    ("reply", None, "customer", True),
    ("note", None, "b", False),
    ("priority", "P1", "a", None),
    ("priority", "P3", "a", None),
    ("escalate", None, "a", None),
]
events = st.lists(
    st.tuples(st.integers(min_value=0, max_value=30 * 60), st.integers(min_value=0, max_value=len(_EVENTS) - 1)),
    max_size=8,
)
changes = st.one_of(
    st.tuples(st.just("append"), st.integers(min_value=0, max_value=3 * 24 * 60), events),  # after a gap
    st.tuples(st.just("insert"), st.integers(min_value=0, max_value=8), events),  # at an earlier event's instant
    st.tuples(st.just("drop"), st.integers(min_value=0, max_value=8), st.just([])),
    st.tuples(st.sampled_from(["customer", "initial priority", "fields"]), st.just(0), st.just([])),
)


def _timers():
    import tomllib

    from deskterm.clock import FrozenClock
    from deskterm.config import parse_config
    from deskterm.timers import Timers
    from deskterm_testing import EXAMPLE_CONFIG

    class Desk(Timers):  # the desk's SLA evaluation (``Timers.sla``), without a store
        def __init__(self, config, clock) -> None:
            self.config, self.clock = config, clock

    text = EXAMPLE_CONFIG.read_text(encoding="utf-8") + _POLICIES
    return Desk(parse_config(tomllib.loads(text), str(EXAMPLE_CONFIG)), FrozenClock(T0))


def _history(start: datetime, drawn) -> list:
    from datetime import timedelta

    from deskterm.records import EventRecord

    out, at = [], start
    for minutes, which in drawn:
        at += timedelta(minutes=minutes)
        kind, to, author, public = _EVENTS[which]
        out.append(EventRecord(at, kind, author, public, to=to))
    return out


def _record(key: int, customer: str, prio: str, created: datetime, history: list, **fields):
    from dataclasses import replace

    from deskterm.records import TicketRecord

    status = next((e.to for e in reversed(history) if e.kind == "status"), "new")
    updated = history[-1].at if history else created
    t = TicketRecord(
        key, None, "s", "", customer, prio, prio, None, None, "incident", status, None, "g", created, "x", updated, 1,
        None, None, events=history,
    )  # fmt: skip
    return replace(t, **fields)


@settings(max_examples=150, deadline=None)
@given(
    first=events,
    change=changes,
    customer=st.sampled_from(["Gold", "Silver"]),
    hours=st.integers(min_value=0, max_value=72),
)
def test_a_changed_tickets_contributions_with_its_earlier_timers_equal_those_computed_whole(
    first, change, customer, hours
):
    """A ticket's history changed at random (events after a gap, or inserted or dropped among the earlier ones, its
    customer's policy, its initial priority, its fields): to every day around its life, its contribution computed
    with what it contributed before (``reports.Earlier``: the timers kept when ``sla_same_before`` says its SLA as of
    the day's end is the same) equals its contribution computed whole, the SLA evaluated again."""
    from dataclasses import replace
    from datetime import timedelta

    timers = _timers()
    created = T0 + timedelta(hours=hours)
    old = _record(7, customer, "P2", created, _history(created, first))
    how, n, drawn = change
    history = list(old.events)
    last = history[-1].at if history else created
    if how == "append":
        history += _history(last + timedelta(minutes=n), drawn)
    elif how == "insert" and history:
        i = n % len(history)
        history[i:i] = _history(history[i].at, drawn[:1])
    elif how == "drop" and history:
        del history[n % len(history)]
    new = _record(7, old.customer, old.initial_priority, created, history)
    if how == "customer":
        new = replace(new, customer="Gold" if customer == "Silver" else "Silver")
    elif how == "initial priority":
        new = replace(new, initial_priority="P1")
    elif how == "fields":
        new = replace(new, classification="defect", csat_score=5, first_contact=True)
    same = reports.sla_same_before(old, new)
    kept = reports.digest(old)
    assert (kept.created_at, kept.updated_at, kept.status, kept.events) == (
        old.created_at, old.updated_at, old.status, len(old.events),
    )  # fmt: skip
    same_kept = reports.digest_same_before(kept, new)
    # never later than the records' own comparison; the same when events were only added after the old ones
    assert same_kept <= same
    if how in ("append", "fields") or (how in ("insert", "drop") and not old.events):
        assert same_kept == same, how
    assert reports.digest_same_before(kept, old) == float("inf")
    assert reports.digest(new) != kept or same == float("inf")
    days = [(T0 + timedelta(days=d), T0 + timedelta(days=d + 1)) for d in range(-1, 8)]
    days += [(T0, T0 + timedelta(hours=h)) for h in (1, 5, 30)]  # periods ending at odd instants
    for since, until in days:

        def sla_of(t, until=until):
            return timers.sla(t, until)

        before = reports.contribution(old, sla_of, since, until)
        earlier = reports.Earlier(old, before, same)
        assert reports.contribution(new, sla_of, since, until, (), earlier) == reports.contribution(
            new, sla_of, since, until
        ), (since, until, how)
        # the same with the digest of the old record (what the dashboard keeps instead of the record)
        earlier = reports.Earlier(kept, before, same_kept)
        assert reports.contribution(new, sla_of, since, until, (), earlier) == reports.contribution(
            new, sla_of, since, until
        ), (since, until, how, "digest")


def test_a_change_made_now_evaluates_no_past_days_sla_again():
    """Events added now leave every past day's SLA as it was: their timers come from the earlier contributions,
    the SLA is not evaluated (``sla_of`` would say so)."""
    from datetime import timedelta

    timers = _timers()
    old = _record(7, "Silver", "P1", T0, _history(T0, [(5, 4), (600, 5), (30, 1), (2000, 0)]))
    now = old.events[-1].at + timedelta(days=3)  # after the end of every day below
    new = _record(7, "Silver", "P1", T0, [*old.events, *_history(now, [(0, 6), (0, 2)])])
    same = reports.sla_same_before(old, new)
    assert same == int(now.timestamp())

    def never(t):
        raise AssertionError("the SLA was evaluated again")

    counted = 0
    for d in range(0, 4):
        since, until = T0 + timedelta(days=d), T0 + timedelta(days=d + 1)
        before = reports.contribution(old, lambda t, until=until: timers.sla(t, until), since, until)
        got = reports.contribution(new, never, since, until, (), reports.Earlier(old, before, same))
        assert got == reports.contribution(new, lambda t, until=until: timers.sla(t, until), since, until)
        counted += got.met != () or got.breached != ()
    assert counted  # some of those days had timers to keep


@settings(max_examples=150, deadline=None)
@given(first=events, customer=st.sampled_from(["Gold", "Silver"]), hours=st.integers(min_value=0, max_value=72))
def test_contributions_to_days_from_evaluations_shared_equal_one_evaluation_a_day(first, customer, hours):
    """``reports.contributions`` over the days around a ticket's life (one SLA evaluation serving the days up to
    the ticket's next instant) equals ``contribution`` to each day with the SLA evaluated as of its end."""
    from datetime import timedelta

    timers = _timers()
    created = T0 + timedelta(hours=hours)
    t = _record(7, customer, "P2", created, _history(created, first))
    days = [(T0 + timedelta(days=d), T0 + timedelta(days=d + 1)) for d in range(-1, 12)]
    # then periods all ending at the same later instant (the dashboard's today, week and month, ending now)
    now = T0 + timedelta(days=12, hours=hours % 24, minutes=7)
    days += [(now - timedelta(hours=hours % 24), now), (T0 + timedelta(days=7), now), (T0, now)]
    evaluated = []

    def sla_at(at):
        evaluated.append(at)
        return timers.sla(t, at)

    used: list = []
    got = reports.contributions(t, sla_at, days, used=used)
    assert got == [reports.contribution(t, lambda t, u=until: timers.sla(t, u), since, until) for since, until in days]
    assert len(evaluated) <= len(days)
    # the evaluation each period read: none where nothing of the ticket counts, else one as of an instant up to its end
    assert len(used) == len(days)
    for (since, until), sla, c in zip(days, used, got, strict=True):
        if sla is None:  # (a period in which the ticket counts reads its timers)
            assert c is reports.NOTHING
        else:
            assert reports.contribution(t, lambda _, sla=sla: sla, since, until) == c
