"""Example tests of the SLA engine (contract section 5), with hand-computed values.

Targets are the contract's section-3 example (P1 15m/4h/next update 1h, P2 30m/8h, P3 2h/3d, P4 8h/10d),
under two policies: "gold" on the 24x7 calendar and "office" on the contract's office calendar
(Europe/Paris, mon 09:00-12:30 & 13:30-18:00, tue-thu 09:00-18:00, fri 09:00-17:00, FR holidays).
Tue 2026-03-10 is an ordinary Tuesday (09:00-18:00 +01:00); Mon 2026-03-16 an ordinary Monday.
Expected instants are literal ISO 8601 timestamps with their offsets.
"""

from __future__ import annotations

from datetime import datetime

import holidays
import pytest

from deskterm.domain.calendar import BusinessCalendar, always_calendar, epoch, from_epoch, parse_hhmm_interval
from deskterm.domain.sla import Event, Policy, Targets, evaluate

H = 3600
M = 60
D = 24 * H

TARGETS = {
    "P1": Targets(first_response=15 * M, resolution=4 * H, next_update=1 * H),
    "P2": Targets(first_response=30 * M, resolution=8 * H),
    "P3": Targets(first_response=2 * H, resolution=3 * D),
    "P4": Targets(first_response=8 * H, resolution=10 * D),
}


def t(iso: str) -> int:
    return epoch(datetime.fromisoformat(iso))


def office_calendar() -> BusinessCalendar:
    def iv(*xs: str) -> tuple[tuple[int, int], ...]:
        return tuple(parse_hhmm_interval(x) for x in xs)

    return BusinessCalendar(
        name="office",
        timezone="Europe/Paris",
        weekly={
            0: iv("09:00-12:30", "13:30-18:00"),
            1: iv("09:00-18:00"),
            2: iv("09:00-18:00"),
            3: iv("09:00-18:00"),
            4: iv("09:00-17:00"),
        },
        holidays=holidays.country_holidays("FR"),
    )


GOLD = Policy(name="gold", calendar=always_calendar(), targets=TARGETS, warn_at=0.75)
OFFICE = Policy(name="office", calendar=office_calendar(), targets=TARGETS, warn_at=0.75)


def reply(at: str, author: str = "alice", public: bool = True) -> Event:
    return Event(at=t(at), kind="reply", public=public, author=author)


def note(at: str, author: str = "alice") -> Event:
    return Event(at=t(at), kind="reply", public=False, author=author)


def status(at: str, to: str) -> Event:
    return Event(at=t(at), kind="status", to=to)


def prio(at: str, to: str) -> Event:
    return Event(at=t(at), kind="priority", to=to)


def run(created: str, priority: str, events: list[Event], now: str, policy: Policy = OFFICE):
    return evaluate(t(created), priority, events, policy, t(now))


def iso(instant: int | None) -> str | None:
    return None if instant is None else from_epoch(instant, "Europe/Paris").isoformat()


# -- the contract's example -------------------------------------------------------------------------------


CONTRACT_EVENTS = [
    reply("2026-03-27T16:20:00+01:00"),
    status("2026-03-27T16:40:00+01:00", "pending"),
    status("2026-03-30T09:10:00+02:00", "open"),
    status("2026-03-30T11:00:00+02:00", "resolved"),
]


def test_contract_example_while_pending():
    sla = run("2026-03-27T16:05:00+01:00", "P2", CONTRACT_EVENTS, "2026-03-28T12:00:00+01:00", GOLD)
    assert sla.policy == "gold" and sla.status == "pending" and sla.priority == "P2"
    fr, res = sla.timers["first_response"], sla.timers["resolution"]
    # Reply at 16:20, 15 minutes into a 30-minute target.
    assert (fr.due, fr.state, fr.warning, fr.remaining) == (t("2026-03-27T16:35:00+01:00"), "met", False, 900)
    # 16:05-16:40 counted: 35 m used, 7 h 25 (26700 s) left. (The contract's sample JSON shows 26400, which
    # would be 40 m used; the sample's own events give 35 m.)
    assert res.consumed == 35 * M
    assert (res.due, res.state, res.warning, res.remaining) == (None, "paused", False, 8 * H - 35 * M)
    assert "next_update" not in sla.timers  # P2 has no next_update in this policy


def test_contract_example_after_resume_and_resolution():
    created = "2026-03-27T16:05:00+01:00"
    # Mon 10:00 +02:00: used 35 m on Friday + 50 m since 09:10 = 85 m; 6 h 35 left → due 16:35 +02:00.
    sla = run(created, "P2", CONTRACT_EVENTS, "2026-03-30T10:00:00+02:00", GOLD)
    res = sla.timers["resolution"]
    assert (res.state, res.remaining, res.due) == ("running", 8 * H - 85 * M, t("2026-03-30T16:35:00+02:00"))
    # Resolved at 11:00 +02:00: used 35 m + 1 h 50 = 2 h 25; met, 5 h 35 left, same deadline.
    sla = run(created, "P2", CONTRACT_EVENTS, "2026-03-30T12:00:00+02:00", GOLD)
    res = sla.timers["resolution"]
    assert sla.status == "resolved"
    assert (res.state, res.remaining, res.due) == ("met", 5 * H + 35 * M, t("2026-03-30T16:35:00+02:00"))
    assert res.stopped_at == t("2026-03-30T11:00:00+02:00")


# -- creation outside business hours ------------------------------------------------------------------------


def test_created_in_the_evening():
    # Tue 19:30: nothing counts until Wed 09:00.
    sla = run("2026-03-10T19:30:00+01:00", "P2", [], "2026-03-11T08:00:00+01:00")
    fr, res = sla.timers["first_response"], sla.timers["resolution"]
    assert (fr.state, fr.consumed, fr.remaining, fr.warning) == ("running", 0, 30 * M, False)
    assert fr.due == t("2026-03-11T09:30:00+01:00")
    assert res.due == t("2026-03-11T17:00:00+01:00")
    # Wed 09:25: 25 of 30 minutes used (0.83 ≥ 0.75).
    fr = run("2026-03-10T19:30:00+01:00", "P2", [], "2026-03-11T09:25:00+01:00").timers["first_response"]
    assert (fr.state, fr.remaining, fr.warning) == ("running", 5 * M, True)


def test_created_on_saturday():
    sla = run("2026-03-14T10:00:00+01:00", "P1", [], "2026-03-15T20:00:00+01:00")
    fr, res = sla.timers["first_response"], sla.timers["resolution"]
    assert (fr.state, fr.remaining, fr.due) == ("running", 15 * M, t("2026-03-16T09:15:00+01:00"))
    # Mon 09:00-12:30 (3 h 30) + 13:30-14:00.
    assert res.due == t("2026-03-16T14:00:00+01:00")
    # Monday 09:20: first response breached at 09:15, five business minutes ago.
    fr = run("2026-03-14T10:00:00+01:00", "P1", [], "2026-03-16T09:20:00+01:00").timers["first_response"]
    assert (fr.state, fr.due, fr.breached_at, fr.remaining, fr.warning) == (
        "breached",
        t("2026-03-16T09:15:00+01:00"),
        t("2026-03-16T09:15:00+01:00"),
        -5 * M,
        False,
    )


# -- weekends, holidays, DST ---------------------------------------------------------------------------------


def test_deadline_across_the_paris_spring_change():
    # Fri 16:05 +01:00, P2 8 h: Fri 55 m, Mon 09:00-12:30, 13:30 + 3 h 35 = 17:05 +02:00.
    sla = run("2026-03-27T16:05:00+01:00", "P2", [], "2026-03-30T10:00:00+02:00")
    fr, res = sla.timers["first_response"], sla.timers["resolution"]
    assert (res.state, res.consumed, res.due) == ("running", 55 * M + 60 * M, t("2026-03-30T17:05:00+02:00"))
    assert res.remaining == 8 * H - 115 * M
    assert (fr.state, fr.due, fr.remaining) == ("breached", t("2026-03-27T16:35:00+01:00"), 30 * M - 115 * M)


def test_deadline_across_the_paris_autumn_change():
    sla = run("2026-10-23T16:00:00+02:00", "P2", [], "2026-10-24T10:00:00+02:00")
    assert sla.timers["resolution"].due == t("2026-10-26T17:00:00+01:00")


def test_pending_over_a_weekend_with_may_day():
    events = [
        reply("2026-04-30T17:10:00+02:00"),
        status("2026-04-30T17:30:00+02:00", "pending"),
        status("2026-05-04T10:00:00+02:00", "open"),
    ]
    sla = run("2026-04-30T17:00:00+02:00", "P2", events, "2026-05-04T11:00:00+02:00")
    res = sla.timers["resolution"]
    # Thu 17:00-17:30 (30 m) + Mon 10:00-11:00 = 1 h 30; 6 h 30 left:
    # Mon 11:00-12:30, 13:30-18:00 (6 h), Tue 2026-05-05 09:00-09:30.
    assert (res.state, res.consumed, res.remaining) == ("running", 90 * M, 6 * H + 30 * M)
    assert res.due == t("2026-05-05T09:30:00+02:00")


def test_long_target_across_dst_and_easter():
    # P4 resolution is 10 d = 240 h of business time. From Tue 2026-03-10 10:00: week 1 34 h, then 43, 43, 43,
    # Easter week 35 (= 198 h), Mon 13 Apr - Thu 16 Apr 35 h (233 h), Fri 17 Apr 09:00 + 7 h = 16:00 +02:00.
    res = run("2026-03-10T10:00:00+01:00", "P4", [], "2026-03-10T10:00:00+01:00").timers["resolution"]
    assert res.due == t("2026-04-17T16:00:00+02:00")


def test_new_york_business_calendar():
    def iv(x: str) -> tuple[tuple[int, int], ...]:
        return (parse_hhmm_interval(x),)

    cal = BusinessCalendar("ny", "America/New_York", {d: iv("09:00-17:00") for d in range(5)})
    policy = Policy("ny", cal, TARGETS)
    # Fri 2026-10-30 16:00 -04:00, P2 8 h: Fri 1 h; Mon 2026-11-02 09:00 -05:00 + 7 h = 16:00 -05:00.
    res = run("2026-10-30T16:00:00-04:00", "P2", [], "2026-11-02T12:00:00-05:00", policy).timers["resolution"]
    assert (res.consumed, res.remaining, res.due) == (4 * H, 4 * H, t("2026-11-02T16:00:00-05:00"))
    # Spring: Fri 2026-03-06 16:00 -05:00 → Mon 2026-03-09 16:00 -04:00.
    res = run("2026-03-06T16:00:00-05:00", "P2", [], "2026-03-06T16:00:00-05:00", policy).timers["resolution"]
    assert res.due == t("2026-03-09T16:00:00-04:00")


# -- pending: resolution and next_update pause, first_response does not ----------------------------------------


P1_PENDING = [
    reply("2026-03-10T10:10:00+01:00"),  # first response met; next-update cycle starts
    status("2026-03-10T10:40:00+01:00", "pending"),
    status("2026-03-11T09:30:00+01:00", "open"),
]


def test_pending_pauses_resolution_and_next_update():
    sla = run("2026-03-10T10:00:00+01:00", "P1", P1_PENDING, "2026-03-10T14:00:00+01:00")
    fr, res, nu = sla.timers["first_response"], sla.timers["resolution"], sla.timers["next_update"]
    assert (fr.state, fr.remaining, fr.due) == ("met", 5 * M, t("2026-03-10T10:15:00+01:00"))
    assert (res.state, res.due, res.consumed, res.remaining, res.warning) == (
        "paused",
        None,
        40 * M,
        4 * H - 40 * M,
        False,
    )
    assert (nu.state, nu.due, nu.consumed, nu.remaining, nu.warning) == ("paused", None, 30 * M, 30 * M, False)
    assert sla.next_due is None
    assert nu.paused and res.paused and not fr.active


def test_resume_after_pending():
    # Wed 09:45: resolution used 40 m + 15 m = 55 m, 3 h 05 left → Wed 12:50;
    # next update used 30 m + 15 m = 45 m of 60 (0.75: warning), 15 m left → Wed 10:00.
    sla = run("2026-03-10T10:00:00+01:00", "P1", P1_PENDING, "2026-03-11T09:45:00+01:00")
    res, nu = sla.timers["resolution"], sla.timers["next_update"]
    assert (res.state, res.remaining, res.due) == ("running", 3 * H + 5 * M, t("2026-03-11T12:50:00+01:00"))
    assert (nu.state, nu.remaining, nu.due, nu.warning) == ("running", 15 * M, t("2026-03-11T10:00:00+01:00"), True)
    assert sla.next_due == t("2026-03-11T10:00:00+01:00")
    assert sla.nearest() is nu
    # Wed 10:30: the update is 30 business minutes late.
    nu = run("2026-03-10T10:00:00+01:00", "P1", P1_PENDING, "2026-03-11T10:30:00+01:00").timers["next_update"]
    assert (nu.state, nu.due, nu.remaining, nu.warning) == ("breached", t("2026-03-11T10:00:00+01:00"), -30 * M, False)


def test_first_response_is_not_paused_by_pending():
    events = [status("2026-03-10T10:05:00+01:00", "pending")]
    sla = run("2026-03-10T10:00:00+01:00", "P2", events, "2026-03-10T10:40:00+01:00")
    fr, res = sla.timers["first_response"], sla.timers["resolution"]
    assert (fr.state, fr.due, fr.remaining) == ("breached", t("2026-03-10T10:30:00+01:00"), -10 * M)
    assert (res.state, res.due, res.consumed) == ("paused", None, 5 * M)


def test_paused_timer_past_its_warning_threshold_warns():
    # P2 resolution 8 h; pending from 16:00 after exactly 6 h (0.75) → warning while paused.
    events = [reply("2026-03-10T10:05:00+01:00"), status("2026-03-10T16:00:00+01:00", "pending")]
    res = run("2026-03-10T10:00:00+01:00", "P2", events, "2026-03-11T12:00:00+01:00").timers["resolution"]
    assert (res.state, res.due, res.remaining, res.warning) == ("paused", None, 2 * H, True)
    events[1] = status("2026-03-10T15:59:00+01:00", "pending")
    res = run("2026-03-10T10:00:00+01:00", "P2", events, "2026-03-11T12:00:00+01:00").timers["resolution"]
    assert (res.state, res.warning) == ("paused", False)


# -- resolve and reopen -------------------------------------------------------------------------------------


def test_reopen_resumes_resolution_with_the_time_already_used():
    created = "2026-03-16T09:00:00+01:00"  # Monday
    events = [reply("2026-03-16T09:10:00+01:00"), status("2026-03-16T11:00:00+01:00", "resolved")]
    # Resolved after 2 h: met, 6 h left; the deadline it stood under: 11:00-12:30, 13:30-18:00 = Mon 18:00.
    res = run(created, "P2", events, "2026-03-16T12:00:00+01:00").timers["resolution"]
    assert (res.state, res.remaining, res.due, res.stopped_at) == (
        "met",
        6 * H,
        t("2026-03-16T18:00:00+01:00"),
        t("2026-03-16T11:00:00+01:00"),
    )
    # Reopened Tue 10:00; at 11:00 it has used 3 h: 5 h left → Tue 16:00.
    events.append(status("2026-03-17T10:00:00+01:00", "open"))
    sla = run(created, "P2", events, "2026-03-17T11:00:00+01:00")
    res, fr = sla.timers["resolution"], sla.timers["first_response"]
    assert (res.state, res.consumed, res.remaining, res.due, res.stopped_at) == (
        "running",
        3 * H,
        5 * H,
        t("2026-03-17T16:00:00+01:00"),
        None,
    )
    assert sla.status == "open"
    assert (fr.state, fr.stopped_at) == ("met", t("2026-03-16T09:10:00+01:00"))


def test_breached_stays_breached_through_reopen_and_resolution():
    created = "2026-03-16T09:00:00+01:00"
    # P1 resolution 4 h: Mon 09:00-12:30 + 13:30-14:00 → breached at 14:00; resolved 15:00 (5 h used).
    events = [reply("2026-03-16T09:05:00+01:00"), status("2026-03-16T15:00:00+01:00", "resolved")]
    res = run(created, "P1", events, "2026-03-16T16:00:00+01:00").timers["resolution"]
    assert (res.state, res.due, res.breached_at, res.remaining) == (
        "breached",
        t("2026-03-16T14:00:00+01:00"),
        t("2026-03-16T14:00:00+01:00"),
        -H,
    )
    events.append(status("2026-03-17T09:00:00+01:00", "open"))
    res = run(created, "P1", events, "2026-03-17T10:00:00+01:00").timers["resolution"]
    assert (res.state, res.due, res.remaining) == ("breached", t("2026-03-16T14:00:00+01:00"), -2 * H)
    events.append(status("2026-03-17T10:30:00+01:00", "resolved"))
    res = run(created, "P1", events, "2026-03-17T11:00:00+01:00").timers["resolution"]
    assert (res.state, res.remaining, res.stopped_at) == ("breached", -2 * H - 30 * M, t("2026-03-17T10:30:00+01:00"))


def test_next_update_stays_stopped_after_reopen_until_the_next_reply():
    created = "2026-03-16T09:00:00+01:00"
    events = [
        reply("2026-03-16T09:05:00+01:00"),  # cycle 1 starts (1 h)
        status("2026-03-16T09:30:00+01:00", "resolved"),  # cycle 1 met after 25 m
        status("2026-03-17T09:00:00+01:00", "open"),  # reopen
    ]
    sla = run(created, "P1", events, "2026-03-17T11:00:00+01:00")
    nu, res = sla.timers["next_update"], sla.timers["resolution"]
    assert (nu.state, nu.stopped_at, nu.remaining, nu.due) == (
        "met",
        t("2026-03-16T09:30:00+01:00"),
        35 * M,
        t("2026-03-16T10:05:00+01:00"),
    )
    # Resolution: 30 m on Monday + 2 h on Tuesday; 1 h 30 left → Tue 12:30.
    assert (res.state, res.remaining, res.due) == ("running", H + 30 * M, t("2026-03-17T12:30:00+01:00"))
    events.append(reply("2026-03-17T11:30:00+01:00"))
    nu = run(created, "P1", events, "2026-03-17T11:45:00+01:00").timers["next_update"]
    assert (nu.state, nu.started_at, nu.due, nu.remaining, nu.past_breaches) == (
        "running",
        t("2026-03-17T11:30:00+01:00"),
        t("2026-03-17T12:30:00+01:00"),
        45 * M,
        0,
    )


# -- what counts as a first response -----------------------------------------------------------------------


def test_customer_message_and_internal_note_are_not_a_first_response():
    created = "2026-03-10T10:00:00+01:00"
    events = [
        reply("2026-03-10T10:05:00+01:00", author="customer"),  # public, from the customer
        note("2026-03-10T10:10:00+01:00"),  # internal note by an agent
    ]
    sla = run(created, "P1", events, "2026-03-10T10:12:00+01:00")
    fr = sla.timers["first_response"]
    assert (fr.state, fr.consumed, fr.remaining, fr.due, fr.warning) == (
        "running",
        12 * M,
        3 * M,
        t("2026-03-10T10:15:00+01:00"),
        True,
    )
    assert "next_update" not in sla.timers  # no public agent reply yet
    # Alice's public reply at 10:14 is the first response; the next-update cycle starts with it.
    events.append(reply("2026-03-10T10:14:00+01:00"))
    sla = run(created, "P1", events, "2026-03-10T10:20:00+01:00")
    fr, nu = sla.timers["first_response"], sla.timers["next_update"]
    assert (fr.state, fr.remaining, fr.stopped_at) == ("met", M, t("2026-03-10T10:14:00+01:00"))
    assert (nu.state, nu.started_at, nu.due) == (
        "running",
        t("2026-03-10T10:14:00+01:00"),
        t("2026-03-10T11:14:00+01:00"),
    )
    # A later customer message does not restart the next-update cycle.
    events.append(reply("2026-03-10T10:30:00+01:00", author="customer"))
    nu = run(created, "P1", events, "2026-03-10T10:45:00+01:00").timers["next_update"]
    assert (nu.started_at, nu.remaining) == (t("2026-03-10T10:14:00+01:00"), 29 * M)


@pytest.mark.parametrize("final", ["resolved", "closed"])
def test_resolution_before_any_reply_stops_first_response(final):
    created = "2026-03-10T10:00:00+01:00"
    sla = run(created, "P2", [status("2026-03-10T10:20:00+01:00", final)], "2026-03-10T11:00:00+01:00")
    fr, res = sla.timers["first_response"], sla.timers["resolution"]
    assert (fr.state, fr.stopped_at, fr.remaining, fr.due) == (
        "met",
        t("2026-03-10T10:20:00+01:00"),
        10 * M,
        t("2026-03-10T10:30:00+01:00"),
    )
    assert (res.state, res.remaining) == ("met", 8 * H - 20 * M)
    assert sla.next_due is None and sla.nearest() is None
    # Resolved only at 10:45: the first response was due 10:30.
    fr = run(created, "P2", [status("2026-03-10T10:45:00+01:00", final)], "2026-03-10T11:00:00+01:00").timers[
        "first_response"
    ]
    assert (fr.state, fr.due, fr.remaining) == ("breached", t("2026-03-10T10:30:00+01:00"), -15 * M)


# -- priority changes ------------------------------------------------------------------------------------------


def test_raising_the_priority_applies_the_new_targets_from_the_start():
    created = "2026-03-10T10:00:00+01:00"
    sla = run(created, "P3", [prio("2026-03-10T10:30:00+01:00", "P1")], "2026-03-10T10:40:00+01:00")
    fr, res = sla.timers["first_response"], sla.timers["resolution"]
    assert sla.priority == "P1"
    # P1 first response is 15 m from 10:00: already breached at 10:15.
    assert (fr.target, fr.state, fr.due, fr.remaining) == (15 * M, "breached", t("2026-03-10T10:15:00+01:00"), -25 * M)
    assert (res.target, res.state, res.due, res.remaining) == (
        4 * H,
        "running",
        t("2026-03-10T14:00:00+01:00"),
        4 * H - 40 * M,
    )
    assert "next_update" not in sla.timers


def test_lowering_the_priority_extends_running_timers():
    created = "2026-03-10T10:00:00+01:00"
    sla = run(created, "P1", [prio("2026-03-10T10:05:00+01:00", "P4")], "2026-03-10T10:30:00+01:00")
    fr = sla.timers["first_response"]
    # P4 first response 8 h from Tue 10:00 → Tue 18:00 (end of the day, not Wed 09:00).
    assert (fr.target, fr.state, fr.due, fr.remaining) == (
        8 * H,
        "running",
        t("2026-03-10T18:00:00+01:00"),
        8 * H - 30 * M,
    )


def test_lowering_the_priority_after_a_breach_does_not_undo_the_breach():
    # Contract: a breached timer stays breached. The P1 first response (15 m) breached at 10:15; lowering to
    # P2 (30 m) at 10:20 leaves it breached at 10:15, reported against the 15 m it breached: 25 m used, -10 m.
    sla = run("2026-03-10T10:00:00+01:00", "P1", [prio("2026-03-10T10:20:00+01:00", "P2")], "2026-03-10T10:25:00+01:00")
    fr = sla.timers["first_response"]
    assert (fr.target, fr.state, fr.due, fr.remaining, fr.warning) == (
        15 * M,
        "breached",
        t("2026-03-10T10:15:00+01:00"),
        -10 * M,
        False,
    )
    # lowered before the breach: the new target simply applies
    sla = run("2026-03-10T10:00:00+01:00", "P1", [prio("2026-03-10T10:10:00+01:00", "P2")], "2026-03-10T10:25:00+01:00")
    fr = sla.timers["first_response"]
    assert (fr.target, fr.state, fr.due, fr.remaining) == (30 * M, "running", t("2026-03-10T10:30:00+01:00"), 5 * M)


def test_a_stopped_timer_keeps_the_priority_in_force_when_it_stopped():
    created = "2026-03-10T10:00:00+01:00"
    events = [reply("2026-03-10T10:30:00+01:00"), prio("2026-03-10T11:00:00+01:00", "P1")]
    sla = run(created, "P3", events, "2026-03-10T11:20:00+01:00")
    fr, res, nu = sla.timers["first_response"], sla.timers["resolution"], sla.timers["next_update"]
    # Met under P3 (2 h): 1 h 30 left, due 12:00.
    assert (fr.target, fr.state, fr.remaining, fr.due) == (2 * H, "met", 90 * M, t("2026-03-10T12:00:00+01:00"))
    # Resolution runs: P1's 4 h from 10:00.
    assert (res.target, res.due, res.remaining) == (4 * H, t("2026-03-10T14:00:00+01:00"), 4 * H - 80 * M)
    # The next-update cycle started at the 10:30 reply, now under P1's 1 h: due 11:30, 10 m left.
    assert (nu.target, nu.state, nu.due, nu.remaining, nu.warning) == (
        H,
        "running",
        t("2026-03-10T11:30:00+01:00"),
        10 * M,
        True,
    )


def test_a_priority_without_targets_has_no_timers():
    policy = Policy("partial", OFFICE.calendar, {"P1": TARGETS["P1"]})
    assert run("2026-03-10T10:00:00+01:00", "P3", [], "2026-03-10T10:30:00+01:00", policy).timers == {}


# -- next_update cycles ------------------------------------------------------------------------------------------


def test_next_update_cycles():
    created = "2026-03-10T10:00:00+01:00"
    events = [reply("2026-03-10T10:05:00+01:00"), reply("2026-03-10T10:50:00+01:00")]
    # Cycle 2 started 10:50, due 11:50; at 12:30 it is 40 business minutes late.
    nu = run(created, "P1", events, "2026-03-10T12:30:00+01:00").timers["next_update"]
    assert (nu.state, nu.started_at, nu.due, nu.remaining, nu.past_breaches) == (
        "breached",
        t("2026-03-10T10:50:00+01:00"),
        t("2026-03-10T11:50:00+01:00"),
        -40 * M,
        0,
    )
    # A reply at 12:40 starts cycle 3 (due 13:40); cycle 2 is counted as a past breach.
    events.append(reply("2026-03-10T12:40:00+01:00"))
    nu = run(created, "P1", events, "2026-03-10T12:45:00+01:00").timers["next_update"]
    assert (nu.state, nu.started_at, nu.due, nu.remaining, nu.past_breaches) == (
        "running",
        t("2026-03-10T12:40:00+01:00"),
        t("2026-03-10T13:40:00+01:00"),
        55 * M,
        1,
    )


def test_next_update_cycle_across_the_night():
    events = [reply("2026-03-10T17:30:00+01:00")]
    nu = run("2026-03-10T17:00:00+01:00", "P1", events, "2026-03-10T20:00:00+01:00").timers["next_update"]
    # 17:30-18:00 (30 m) then Wed 09:00-09:30.
    assert (nu.state, nu.remaining, nu.due) == ("running", 30 * M, t("2026-03-11T09:30:00+01:00"))


# -- warning threshold, remaining, now --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "state", "warning", "remaining"),
    [
        ("2026-03-10T10:22:00+01:00", "running", False, 8 * M),  # 22/30 = 0.733
        ("2026-03-10T10:22:30+01:00", "running", True, 7 * M + 30),  # 22.5/30 = 0.75
        ("2026-03-10T10:30:00+01:00", "running", True, 0),  # due now, not yet late
        ("2026-03-10T10:30:01+01:00", "breached", False, -1),
        ("2026-03-10T12:00:00+01:00", "breached", False, -90 * M),
    ],
)
def test_warning_threshold_and_remaining(now, state, warning, remaining):
    fr = run("2026-03-10T10:00:00+01:00", "P2", [], now).timers["first_response"]
    assert (fr.state, fr.warning, fr.remaining, fr.due) == (state, warning, remaining, t("2026-03-10T10:30:00+01:00"))


def test_custom_warn_at():
    policy = Policy("early", OFFICE.calendar, TARGETS, warn_at=0.5)
    fr = run("2026-03-10T10:00:00+01:00", "P2", [], "2026-03-10T10:15:00+01:00", policy).timers["first_response"]
    assert fr.warning
    fr = run("2026-03-10T10:00:00+01:00", "P2", [], "2026-03-10T10:14:59+01:00", policy).timers["first_response"]
    assert not fr.warning


def test_remaining_counts_business_seconds_only():
    # P2 first response due Tue 10:30; at Wed 09:10 it is late by 7 h 30 (Tue) + 10 m (Wed).
    fr = run("2026-03-10T10:00:00+01:00", "P2", [], "2026-03-11T09:10:00+01:00").timers["first_response"]
    assert (fr.state, fr.remaining) == ("breached", -(7 * H + 40 * M))


def test_events_after_now_are_ignored():
    events = [reply("2026-03-10T10:20:00+01:00"), status("2026-03-10T10:30:00+01:00", "resolved")]
    sla = run("2026-03-10T10:00:00+01:00", "P1", events, "2026-03-10T10:10:00+01:00")
    fr, res = sla.timers["first_response"], sla.timers["resolution"]
    assert sla.status == "new"
    assert (fr.state, fr.remaining, fr.due, fr.stopped_at) == ("running", 5 * M, t("2026-03-10T10:15:00+01:00"), None)
    assert res.state == "running" and "next_update" not in sla.timers
    # An event exactly at now counts.
    sla = run("2026-03-10T10:00:00+01:00", "P1", events, "2026-03-10T10:20:00+01:00")
    assert sla.timers["first_response"].state == "breached"
    assert sla.timers["first_response"].stopped_at == t("2026-03-10T10:20:00+01:00")


def test_other_event_kinds_do_not_touch_timers():
    events = [
        Event(at=t("2026-03-10T10:01:00+01:00"), kind="assign", to="alice"),
        Event(at=t("2026-03-10T10:02:00+01:00"), kind="escalate", to="L2"),
        status("2026-03-10T10:03:00+01:00", "open"),
        status("2026-03-10T10:04:00+01:00", "on_hold"),  # on_hold does not pause
    ]
    sla = run("2026-03-10T10:00:00+01:00", "P2", events, "2026-03-10T11:00:00+01:00")
    res = sla.timers["resolution"]
    assert (sla.status, res.state, res.consumed, res.due) == ("on_hold", "running", H, t("2026-03-10T18:00:00+01:00"))


def test_a_reply_on_a_resolved_ticket_keeps_the_last_next_update_cycle():
    # next_update is absent only until the first public agent reply; a reply while resolved (say, a
    # closing note to the customer) neither starts a cycle nor makes the timer vanish.
    created = "2026-03-16T09:00:00+01:00"
    events = [
        reply("2026-03-16T09:05:00+01:00"),
        status("2026-03-16T11:00:00+01:00", "resolved"),  # cycle 1 breached at 10:05
        reply("2026-03-16T11:30:00+01:00"),
    ]
    nu = run(created, "P1", events, "2026-03-16T12:00:00+01:00").timers["next_update"]
    assert (nu.state, nu.started_at, nu.stopped_at, nu.due) == (
        "breached",
        t("2026-03-16T09:05:00+01:00"),
        t("2026-03-16T11:00:00+01:00"),
        t("2026-03-16T10:05:00+01:00"),
    )
    # Reopened: still that stopped cycle until the next reply, which counts it as a past breach.
    events += [status("2026-03-17T09:00:00+01:00", "open"), reply("2026-03-17T09:30:00+01:00")]
    nu = run(created, "P1", events, "2026-03-17T09:40:00+01:00").timers["next_update"]
    assert (nu.state, nu.started_at, nu.due, nu.past_breaches) == (
        "running",
        t("2026-03-17T09:30:00+01:00"),
        t("2026-03-17T10:30:00+01:00"),
        1,
    )


def test_a_zero_target_is_due_at_the_start():
    # Created on Saturday with a zero target: due at creation, not at Friday's 17:00 close.
    policy = Policy("zero", OFFICE.calendar, {"P1": Targets(first_response=0, resolution=0)})
    sla = run("2026-03-14T10:00:00+01:00", "P1", [], "2026-03-14T11:00:00+01:00", policy)
    fr = sla.timers["first_response"]
    assert (fr.state, fr.due, fr.remaining) == ("breached", t("2026-03-14T10:00:00+01:00"), 0)


def test_breach_at_the_close_of_business_leaves_zero_remaining_until_the_next_day():
    # Due exactly at Tue 18:00 (end of the day); replied 18:30: breached, yet no business second has passed
    # since the deadline, so remaining is 0 (it turns negative from Wed 09:00).
    created = "2026-03-10T17:30:00+01:00"
    fr = run(created, "P2", [], "2026-03-10T19:00:00+01:00").timers["first_response"]
    assert (fr.state, fr.due, fr.remaining) == ("breached", t("2026-03-10T18:00:00+01:00"), 0)
    fr = run(created, "P2", [], "2026-03-11T09:01:00+01:00").timers["first_response"]
    assert (fr.state, fr.remaining) == ("breached", -M)


def test_the_warning_instant_stays_once_the_timer_has_breached():
    """A ticket's stored ``next_warn`` is derived at its last change; evaluated later, after the timer breached,
    the instant its warning started is the same (it was dropped, so ``rederive`` changed tickets that nothing
    had changed). P2 on the office calendar from Tue 10:00: first response 30 min, warning at 75 % (10:22:30),
    resolution 8 h counted, warning at 6 h (16:00)."""
    events = [reply("2026-03-10T10:05:00+01:00"), status("2026-03-10T10:06:00+01:00", "open")]
    at_change = run("2026-03-10T10:00:00+01:00", "P2", events, "2026-03-10T10:06:00+01:00")
    later = run("2026-03-10T10:00:00+01:00", "P2", events, "2026-03-12T09:00:00+01:00")
    assert at_change.timers["resolution"].state == "running" and later.timers["resolution"].state == "breached"
    assert iso(at_change.next_warn) == iso(later.next_warn) == "2026-03-10T16:00:00+01:00"
    assert iso(later.timers["resolution"].warn_due) == "2026-03-10T16:00:00+01:00"
