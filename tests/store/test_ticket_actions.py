"""The detail screen's actions in the service layer: priority matrix, type and classification, resolution
with a code and first-contact flag, satisfaction, major incidents, canned responses."""

from __future__ import annotations

import pytest

from deskterm.config import parse_config
from deskterm.errors import BadInput, Conflict, Refused
from deskterm.service import Change, Desk, NewTicket

pytestmark = pytest.mark.engines("sqlite", "postgresql")


def _new(desk: Desk, subject: str = "VPN down", **kw) -> int:
    fields = dict(subject=subject, customer="Clinique Saint-Jean", priority="P3", created_at=desk.clock.now())
    fields.update(kw)
    return desk.create(NewTicket(**fields)).id


def test_priority_from_impact_and_urgency_with_reason(desk):
    tid = _new(desk)
    desk.update(tid, Change(impact=1, urgency=2, reason="whole ward"))
    t = desk.ticket(tid)
    assert (t.priority, t.impact, t.urgency) == ("P2", 1, 2)
    assert t.events[-1].kind == "priority" and t.events[-1].reason == "impact 1 × urgency 2: whole ward"
    # the timers take the new targets: gold P2 first response 30m
    assert desk.sla(t).timers["first_response"].target == 1800
    with pytest.raises(BadInput):
        desk.update(tid, Change(impact=1))


def test_type_and_classification_are_history_events(desk):
    tid = _new(desk)
    desk.update(tid, Change(type="change", classification="change_request"))
    t = desk.ticket(tid)
    assert (t.type, t.classification) == ("change", "change_request")
    assert [(e.kind, e.from_value, e.to) for e in t.events] == [
        ("type", "incident", "change"),
        ("classification", None, "change_request"),
    ]
    with pytest.raises(BadInput):
        desk.update(tid, Change(classification="free"))


def test_resolve_needs_a_known_code_and_records_first_contact(desk):
    tid = _new(desk)
    with pytest.raises(BadInput, match="resolution code"):
        desk.resolve(tid, "magic")
    desk.update(tid, Change(reply="Restarted the VPN concentrator."))
    desk.resolve(tid, "fixed")
    t = desk.ticket(tid)
    assert (t.status, t.resolution_code, t.first_contact) == ("resolved", "fixed", True)
    assert t.events[-1].to == "resolved" and t.events[-1].reason == "fixed"


def test_escalated_or_reassigned_ticket_is_not_first_contact(desk):
    tid = _new(desk)
    desk.update(tid, Change(group="L2-network", reason="router"))
    desk.resolve(tid, "fixed")
    assert desk.ticket(tid).first_contact is False
    other = _new(desk)
    for colleague in ("bruno", "chloe"):  # agents who have worked on the desk: known to its directory
        Desk(desk.store, desk.config, clock=desk.clock, user=colleague).update(tid, Change(note="seen"))
    desk.update(other, Change(assign="bruno"))
    desk.update(other, Change(assign="chloe"))
    desk.resolve(other, "workaround")
    assert desk.ticket(other).first_contact is False


def test_close_with_satisfaction_and_rate_later(desk):
    tid = _new(desk)
    with pytest.raises(Refused):
        desk.rate(tid, 5)
    desk.resolve(tid, "fixed")
    desk.close(tid, csat=4, comment="quick, thanks")
    t = desk.ticket(tid)
    assert (t.status, t.csat_score, t.csat_comment) == ("closed", 4, "quick, thanks")
    with pytest.raises(BadInput):
        desk.rate(tid, 6)
    desk.rate(tid, 5, "changed my mind")
    assert desk.ticket(tid).csat_score == 5


def test_a_comment_at_closing_without_a_score_is_kept(desk):
    """``close --comment`` without ``--csat`` (the close dialog with only the comment filled in) dropped the
    comment: it is the ticket's survey comment, and an internal note says it."""
    tid = _new(desk)
    desk.resolve(tid, "fixed")
    desk.close(tid, comment="works again, thanks")
    t = desk.ticket(tid)
    assert (t.status, t.csat_score, t.csat_comment) == ("closed", None, "works again, thanks")
    assert any(not e.public and e.body == "the customer's comment at closing: works again, thanks" for e in t.events)


def test_major_incident_links_and_broadcast(desk):
    major = _new(desk, "Internet down at the whole clinic", priority="P1")
    a, b = _new(desk, "No email"), _new(desk, "Teams down")
    desk.link(a, major)
    desk.link(b, str(major))
    assert [t.id for t in desk.linked(major)] == [a, b]
    with pytest.raises(Refused):
        desk.link(major, a)  # a major incident with linked tickets cannot itself be linked
    with pytest.raises(Refused):
        desk.link(a, a)
    changed = desk.broadcast(major, reply="The ISP is repairing the fibre.", resolve_code="fixed")
    assert sorted(changed) == sorted([major, a, b])
    for tid in (major, a, b):
        t = desk.ticket(tid)
        assert t.status == "resolved" and t.resolution_code == "fixed"
        assert any(e.kind == "reply" and e.public and e.body == "The ISP is repairing the fibre." for e in t.events)
    desk.link(a, None)
    assert desk.ticket(a).major_id is None


def test_a_broadcast_applies_only_to_the_tickets_and_versions_shown(desk):
    """The ticket screen's `b` gives what it showed: a linked ticket changed, linked or unlinked since by another
    agent, and nothing is applied (the whole set, as one transaction), with what changed said."""
    major = _new(desk, "Internet down at the whole clinic", priority="P1")
    a, b, c = _new(desk, "No email"), _new(desk, "Teams down"), _new(desk, "VPN down")
    desk.link(a, major)
    desk.link(b, major)

    def shown() -> dict[int, int]:
        return {t.id: t.version for t in [desk.ticket(major), *desk.linked(major)]}

    seen = shown()
    desk.update(b, Change(status="pending", reason="the customer says ward C is still down"))
    desk.link(c, major)
    before = {t: desk.ticket(t).version for t in (major, a, b, c)}
    with pytest.raises(Conflict) as caught:
        desk.broadcast(major, reply="Fixed.", resolve_code="fixed", seen=seen)
    assert f"#{b} changed (now pending" in str(caught.value) and f"#{c} linked" in str(caught.value)
    assert {t: desk.ticket(t).version for t in (major, a, b, c)} == before  # nothing applied
    desk.link(a, None)
    with pytest.raises(Conflict, match=f"#{a} unlinked"):
        desk.broadcast(major, reply="Fixed.", seen={**shown(), a: desk.ticket(a).version})
    assert sorted(desk.broadcast(major, reply="Fixed.", resolve_code="fixed", seen=shown())) == sorted([major, b, c])


def test_a_closed_ticket_is_refused_as_a_major_incident_and_open_majors_are_listed(desk):
    """Issue 13 item 19: `l` accepted any ticket, a closed one too; the open majors are offered first."""
    big, small, done = _new(desk, "Internet down"), _new(desk, "Printer queue stuck"), _new(desk, "Old outage")
    a, b, c, d = (_new(desk, f"affected {i}") for i in range(4))
    desk.link(a, big)
    desk.link(b, big)
    desk.link(c, small)
    desk.link(d, done)
    desk.resolve(done, "fixed")
    desk.close(done)
    assert [(t.id, n) for t, n in desk.open_majors()] == [(big, 2), (small, 1)]  # the most linked first
    before = desk.ticket(c)
    with pytest.raises(Refused, match=f"ticket {done} is closed: it cannot be a major incident"):
        desk.link(c, done)
    assert desk.ticket(c).version == before.version and desk.ticket(c).major_id == small
    desk.resolve(small, "fixed")  # resolved: no longer offered, still accepted (it may be reopened)
    assert [t.id for t, _ in desk.open_majors()] == [big]
    desk.link(a, small)
    assert desk.ticket(a).major_id == small


def test_canned_response_placeholders(db_url, frozen_clock):
    from deskterm.store.engine import open_store

    config = parse_config({"canned": {"ack": {"body": "Hello {customer}, {agent} took {ticket}. {unknown} stays."}}})
    desk = Desk(open_store(db_url), config, clock=frozen_clock, user="alice")
    t = desk.ticket(_new(desk, ref="EXT-7"))
    assert desk.canned("ack", t) == "Hello Clinique Saint-Jean, alice took EXT-7. {unknown} stays."
    with pytest.raises(BadInput):
        desk.canned("nope", t)
