"""The customer-reply timer (Zammad's "update"): it runs while a customer's message waits for an answer.

Hand-made histories for each rule, and a property over random histories on a 24x7 calendar, checked against a
minute-by-minute model written apart from the engine: the customer waits, minute after minute, while a message
of theirs came after the last public agent reply (and after the first response) and the ticket is neither
resolved nor closed; the minute counts unless the ticket is pending; a cycle begins whenever the waiting
begins. Each cycle is met or breached against its target exactly as the other timers.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from deskterm.domain.calendar import always_calendar
from deskterm.domain.escalation import Condition, Rule, due_firings
from deskterm.domain.sla import CUSTOMER, Event, Policy, Targets, evaluate

M = 60
T0 = 1_774_000_000 - 1_774_000_000 % 60  # a whole minute
TARGET = 30 * M
POLICY = Policy(
    "p",
    always_calendar(),
    {p: Targets(first_response=15 * M, resolution=100 * 3600, customer_reply=TARGET) for p in ("P1", "P2")},
)


def customer(at: int) -> Event:
    return Event(T0 + at * M, "reply", public=True, author=CUSTOMER)


def agent(at: int, public: bool = True) -> Event:
    return Event(T0 + at * M, "reply", public=public, author="alice")


def status(at: int, to: str) -> Event:
    return Event(T0 + at * M, "status", author="alice", to=to)


def timer(events: list[Event], now: int):
    return evaluate(T0, "P1", events, POLICY, T0 + now * M).timers.get("customer_reply")


def test_absent_until_the_customer_writes_after_the_first_response() -> None:
    assert timer([], 60) is None
    assert timer([customer(5)], 60) is None  # before the first response, that timer chases
    assert timer([agent(5)], 60) is None
    t = timer([agent(5), customer(10)], 20)
    assert (t.state, t.started_at, t.consumed, t.remaining) == ("running", T0 + 10 * M, 10 * M, 20 * M)
    assert t.due == T0 + 40 * M


def test_a_second_message_does_not_restart_it_and_the_next_public_reply_stops_it() -> None:
    events = [agent(0), customer(10), customer(25), agent(30, public=False), agent(35)]
    t = timer(events, 60)
    assert (t.state, t.started_at, t.stopped_at, t.consumed) == ("met", T0 + 10 * M, T0 + 35 * M, 25 * M)
    late = timer([agent(0), customer(10), agent(45)], 60)
    assert (late.state, late.breached_at, late.remaining) == ("breached", T0 + 40 * M, -5 * M)


def test_pending_pauses_it() -> None:
    events = [agent(0), customer(10), status(20, "pending"), status(50, "open")]
    paused = timer(events, 40)
    assert (paused.state, paused.due, paused.consumed) == ("paused", None, 10 * M)
    t = timer(events, 60)
    assert (t.state, t.consumed, t.due) == ("running", 20 * M, T0 + 70 * M)
    # a message while pending starts the cycle paused
    t = timer([agent(0), status(5, "pending"), customer(10)], 60)
    assert (t.state, t.consumed) == ("paused", 0)


def test_resolution_stops_it_and_a_reopen_of_an_unanswered_message_starts_a_new_cycle() -> None:
    events = [agent(0), customer(10), status(20, "resolved")]
    t = timer(events, 60)
    assert (t.state, t.stopped_at) == ("met", T0 + 20 * M)
    t = timer([*events, status(100, "open")], 110)
    assert (t.state, t.started_at, t.consumed, len(t.cycles)) == ("running", T0 + 100 * M, 10 * M, 1)
    # answered before the reopen: nothing to chase
    t = timer([*events, agent(50), status(100, "open")], 110)
    assert (t.state, t.started_at, len(t.cycles)) == ("met", T0 + 10 * M, 0)
    # the customer writes to a resolved ticket, which is then reopened: the cycle starts at the reopen
    t = timer([agent(0), status(20, "resolved"), customer(30), status(31, "open")], 40)
    assert (t.state, t.started_at, t.consumed) == ("running", T0 + 31 * M, 9 * M)


def test_cycles_and_past_breaches() -> None:
    events = [agent(0), customer(10), agent(50), customer(60), agent(70), customer(80)]
    t = timer(events, 100)
    assert [(c.started_at, c.state) for c in t.cycles] == [(T0 + 10 * M, "breached"), (T0 + 60 * M, "met")]
    assert (t.started_at, t.state, t.past_breaches) == (T0 + 80 * M, "running", 1)


def test_the_escalation_rule_fires_once_per_cycle() -> None:
    rule = Rule("customer_reply.before 10m", Condition("customer_reply", lead=10 * M), "functional", "L2")
    events = [agent(0), customer(10), agent(50), customer(60)]

    def firings(now: int) -> list[str]:
        sla = evaluate(T0, "P1", events, POLICY, T0 + now * M)
        found = due_firings([rule], sla, events, T0 + now * M, customer="c", type="incident", group="L1")
        return [f.cycle for f in found]

    assert firings(25) == []  # 15 minutes left
    first = firings(31)
    assert len(first) == 1 and firings(45) == first  # the same cycle: fired once by the store's unique key
    assert firings(55) == []  # answered
    second = firings(81)
    assert len(second) == 1 and second != first


# -- the property ---------------------------------------------------------------------------------------

KINDS = ("customer", "agent", "note", "pending", "open", "resolved")


@st.composite
def histories(draw) -> list[tuple[int, str]]:
    steps = draw(st.lists(st.tuples(st.integers(1, 40), st.sampled_from(KINDS)), max_size=14))
    at, out = 0, []
    for gap, kind in steps:
        at += gap
        out.append((at, kind))
    return out


def to_events(history: list[tuple[int, str]]) -> list[Event]:
    status_now, out = "new", []
    for at, kind in history:
        if kind == "customer":
            out.append(customer(at))
        elif kind in ("agent", "note"):
            out.append(agent(at, public=kind == "agent"))
        else:
            allowed = {
                "pending": status_now in ("new", "open", "on_hold"),
                "open": status_now in ("new", "pending", "on_hold", "resolved"),
                "resolved": status_now not in ("resolved", "closed"),
            }[kind]
            if allowed:
                out.append(status(at, kind))
                status_now = kind
    return out


def model(events: list[Event], now: int) -> tuple[list[int], list[bool]]:
    """Counted minutes of each cycle, in order, by walking minute after minute; and whether each breached: its
    counted time reached the target at an instant (its deadline) before the cycle stopped (answered, resolved) or,
    for the cycle still waiting (running or paused), before ``now``. Stopped at the deadline is met."""
    cycles: list[int] = []
    due: list[int | None] = []  # the minute each cycle's counted time reached the target
    stopped: list[int | None] = []
    answered_once = resolved = pending = waiting = unanswered = False
    by_minute: dict[int, list[Event]] = {}
    for e in events:
        by_minute.setdefault((e.at - T0) // M, []).append(e)
    for minute in range(now + 1):  # the events at ``now`` count (a cycle may begin then), its minute does not
        for e in by_minute.get(minute, []):
            if e.kind == "reply" and e.author == CUSTOMER:
                if answered_once and not unanswered:
                    unanswered = True
            elif e.kind == "reply" and e.public:
                answered_once, unanswered = True, False
            elif e.kind == "status":
                resolved = e.to in ("resolved", "closed")
                pending = e.to == "pending"
                answered_once = answered_once or resolved  # a resolution stops the first response too
        now_waiting = unanswered and not resolved
        if now_waiting and not waiting:
            cycles.append(0)
            due.append(None)
            stopped.append(None)
        elif waiting and not now_waiting:
            stopped[-1] = minute
        waiting = now_waiting
        if waiting and not pending and minute < now:
            cycles[-1] += 1
            if cycles[-1] * M == TARGET:
                due[-1] = minute + 1
    breached = [d is not None and d < (now if stop is None else stop) for d, stop in zip(due, stopped, strict=True)]
    return cycles, breached


@settings(max_examples=300, deadline=None)
@given(histories(), st.integers(0, 40))
@example([(1, "resolved"), (2, "customer"), (3, "open"), (33, "pending")], 1)  # paused at the deadline: breached
@example([(1, "resolved"), (2, "customer"), (3, "open")], 30)  # running, at the deadline itself: not yet
@example([(1, "agent"), (2, "customer"), (32, "pending"), (33, "agent")], 0)  # paused at it, answered after
def test_the_engine_agrees_with_the_minute_by_minute_model(history, after) -> None:
    events = to_events(history)
    now = (history[-1][0] if history else 0) + after
    expected, breached = model(events, now)
    t = timer(events, now)
    if not expected:
        assert t is None
        return
    assert t is not None
    runs = [*t.cycles, t]
    assert [r.consumed // M for r in runs] == expected
    assert [r.state == "breached" for r in runs] == breached
    assert t.past_breaches == sum(breached[:-1])
