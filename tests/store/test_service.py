"""The service layer on a real SQLite file and on PostgreSQL: workflow, optimistic versions, atomic claims, history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deskterm.errors import BadInput, Conflict, Refused
from deskterm.service import Change, Desk, NewTicket
from deskterm.store.engine import open_store

pytestmark = pytest.mark.engines("sqlite", "postgresql")


def _new(desk: Desk, **kw) -> int:
    fields = dict(subject="VPN down", customer="Clinique Saint-Jean", priority="P2", created_at=desk.clock.now())
    fields.update(kw)
    return desk.create(NewTicket(**fields)).id


def test_every_change_is_one_event_with_the_os_user_and_bumps_the_version(desk):
    tid = _new(desk)
    assert desk.update(tid, Change(status="open")) == 2
    desk.clock.advance(60)
    assert desk.update(tid, Change(reply="On it.", priority="P1", reason="ward closed")) == 3
    t = desk.ticket(tid)
    assert [(e.kind, e.author, e.to) for e in t.events] == [
        ("status", "alice", "open"),
        ("reply", "alice", None),
        ("priority", "alice", "P1"),
    ]
    assert t.events[2].from_value == "P2" and t.events[2].reason == "ward closed"
    assert t.priority == "P1" and t.status == "open" and t.version == 3


def test_invalid_transition_is_refused_with_the_allowed_targets_and_writes_nothing(desk):
    tid = _new(desk)
    desk.update(tid, Change(status="resolved"))
    with pytest.raises(Refused) as exc:
        desk.update(tid, Change(status="pending"))
    assert "open, closed" in str(exc.value)
    desk.update(tid, Change(status="closed"))
    with pytest.raises(Refused, match="nothing"):
        desk.update(tid, Change(status="open"))
    assert desk.ticket(tid).version == 3


def test_stale_version_is_a_conflict_and_nothing_is_written(desk):
    tid = _new(desk)
    desk.update(tid, Change(note="first"))
    with pytest.raises(Conflict):
        desk.update(tid, Change(note="second"), expect_version=1)
    t = desk.ticket(tid)
    assert t.version == 2 and len(t.events) == 1


def test_claim_is_atomic_between_two_agents_on_one_file(db_url, example_config, frozen_clock):
    a = Desk(open_store(db_url), example_config, clock=frozen_clock, user="alice")
    b = Desk(open_store(db_url), example_config, clock=frozen_clock, user="bruno")
    tid = _new(a)
    read_by_b = b.ticket(tid).version
    a.claim(tid)
    with pytest.raises(Refused, match="already claimed by alice"):
        b.claim(tid, expect_version=read_by_b)
    with pytest.raises(Refused, match="already claimed by alice"):
        b.claim(tid)
    assert b.ticket(tid).assignee == "alice"


def test_bad_values_are_bad_input(desk):
    tid = _new(desk)
    with pytest.raises(BadInput):
        desk.update(tid, Change())
    with pytest.raises(BadInput):
        desk.update(tid, Change(reply="   "))
    with pytest.raises(BadInput):
        desk.update(tid, Change(priority="P9"))
    with pytest.raises(BadInput):
        desk.ticket("EXT-404")


def test_reply_moves_the_derived_deadline_and_pending_clears_it(desk):
    tid = _new(desk)  # gold / always: P2 first response 30m, resolution 8h
    t = desk.ticket(tid)
    assert t.next_due == datetime(2026, 3, 27, 15, 30, tzinfo=UTC)  # first response first
    desk.clock.advance(600)
    desk.update(tid, Change(reply="On it."))
    assert desk.ticket(tid).next_due == datetime(2026, 3, 27, 23, 0, tzinfo=UTC)  # resolution
    desk.update(tid, Change(status="pending"))
    assert desk.ticket(tid).next_due is None  # paused: no deadline to sort by


def test_sla_of_a_ticket_is_replayed_from_history(desk):
    tid = _new(desk, priority="P1")
    desk.clock.advance(20 * 60)  # P1 first response 15m: breached 5 minutes ago
    sla = desk.sla(desk.ticket(tid))
    fr = sla.timers["first_response"]
    assert (fr.state, fr.remaining, fr.warning) == ("breached", -300, False)
    assert "next_update" not in sla.timers
