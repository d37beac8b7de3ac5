"""Every next_update cycle counts in the KPIs (issue 13 item 11): a property over random reply times.

24x7 calendar, next_update target 1 h, no pause: cycle i runs from reply i to reply i+1 (the last one to the
resolution); it is breached when longer than the target (stopped exactly at the deadline is met). Over a
period holding the whole history, ``reports.compute`` must count one met or breached per cycle, with the
breaches at reply i + 1 h.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from deskterm import reports
from deskterm.domain.calendar import always_calendar, epoch
from deskterm.domain.sla import Policy, Targets, evaluate
from deskterm.records import EventRecord, TicketRecord

H = 3600
POLICY = Policy("p", always_calendar(), {"P1": Targets(first_response=15 * 60, resolution=100 * H, next_update=H)})
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def ticket(gaps: list[int]) -> TicketRecord:
    at, events = START, []
    for i, gap in enumerate(gaps):
        at += timedelta(seconds=gap)
        events.append(EventRecord(at, "reply", "alice", public=True, body="x", id=i))
    events.append(EventRecord(at + timedelta(seconds=gaps[-1]), "status", "alice", to="resolved", id=len(gaps)))
    return TicketRecord(
        id=1,
        ref=None,
        subject="s",
        description="",
        customer="c",
        priority="P1",
        initial_priority="P1",
        impact=None,
        urgency=None,
        type="incident",
        status="resolved",
        assignee=None,
        group="L1",
        created_at=START,
        created_by="alice",
        updated_at=START,
        version=1,
        next_due=None,
        next_warn=None,
        events=events,
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=60, max_value=3 * H), min_size=1, max_size=8))
def test_every_cycle_counts_once(gaps):
    t = ticket(gaps)
    until = START + timedelta(days=2)

    def sla_of(record: TicketRecord):
        return evaluate(
            epoch(record.created_at),
            record.initial_priority,
            [e.for_engine() for e in record.events],
            POLICY,
            epoch(until),
        )

    k = reports.compute([t], sla_of, START, until)
    # cycle i lasts gaps[i + 1] (the last one, to the resolution, gaps[-1] as well: see ``ticket``)
    lengths = [*gaps[1:], gaps[-1]]
    c = k.compliance["next_update"]
    assert c.met + c.breached == len(gaps)
    assert c.breached == sum(1 for n in lengths if n > H)
    replies = [e.at for e in t.events if e.kind == "reply"]
    expected = sorted((r + timedelta(hours=1)).isoformat() for r, n in zip(replies, lengths, strict=True) if n > H)
    assert sorted(b["at"] for b in k.breaches if b["timer"] == "next_update") == expected
    assert sla_of(t).timers["next_update"].past_breaches == sum(1 for n in lengths[:-1] if n > H)
