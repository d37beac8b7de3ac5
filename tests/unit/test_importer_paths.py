"""The importer's fast path for well-formed events accepts exactly what its detailed checks accept.

``importer._well_formed`` exists only for speed (most events of an export are fine and need no message);
if it ever accepted an event the detailed checks refuse, or built a different event, an import would
silently differ from its error report. Hypothesis throws events of every shape at both.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deskterm import importer

KEYS = ["at", "kind", "public", "author", "body", "to", "reason", "extra"]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 5),
    st.sampled_from(["", " ", "alice", "customer", "P1", "P5", "open", "pending", "resolved", "Open", "L2", "x"]),
    st.sampled_from(
        [
            "2026-03-27T16:05:00+01:00",
            "2026-03-27T16:05:00Z",
            "2026-03-27T16:05:00",
            "yesterday",
            "2026-03-27T16:05:00.250+00:00",
            "2026-02-30T10:00:00+00:00",
        ]
    ),
    st.lists(st.integers(), max_size=2),
)
KINDS = st.one_of(
    st.sampled_from([*importer.EVENT_KEYS, "note", "REPLY", ""]),
    st.integers(),
    st.lists(st.text(max_size=1), max_size=1),
)


@st.composite
def events(draw):
    event = {key: draw(VALUES) for key in draw(st.lists(st.sampled_from(KEYS), unique=True))}
    if draw(st.booleans()):
        event["kind"] = draw(KINDS)
    if draw(st.integers(0, 3)):  # mostly a readable instant, so that the later checks are reached
        event["at"] = draw(st.sampled_from(["2026-03-27T16:05:00+01:00", "2026-03-27T15:05:00.5Z"]))
    return draw(st.one_of(st.just(event), st.sampled_from([None, [], "reply", 3])))


@settings(max_examples=2000, deadline=None)
@given(events())
def test_fast_path_agrees_with_the_detailed_checks(event):
    problems: list[str] = []
    detailed, _ = importer._checked(event, "f:1: events[1]", None, None, problems, "importer")
    fast = importer._well_formed(event, "importer")
    assert (detailed is None) == bool(problems)
    assert fast == detailed


def test_well_formed_events_of_every_kind_take_the_fast_path():
    samples = [
        {"at": "2026-03-27T16:05:00+01:00", "kind": "reply", "public": True, "author": "customer", "body": "hi"},
        {"at": "2026-03-27T16:05:00+01:00", "kind": "reply", "public": False, "author": "bob", "body": ""},
        {"at": "2026-03-27T16:05:00Z", "kind": "status", "to": "pending", "reason": "waiting"},
        {"at": "2026-03-27T16:05:00Z", "kind": "assign", "to": "alice"},
        {"at": "2026-03-27T16:05:00Z", "kind": "escalate", "to": "L2", "reason": "network"},
        {"at": "2026-03-27T16:05:00Z", "kind": "priority", "to": "P1"},
        {"at": "2026-03-27T16:05:00Z", "kind": "group", "to": "apps"},
    ]
    for event in samples:
        fast = importer._well_formed(event, "importer")
        assert fast is not None, event
        assert fast == importer._checked(event, "here", None, None, [], "importer")[0]


TICKET_KEYS = [*importer.TICKET_KEYS, "extra"]
TICKET_VALUES = st.one_of(
    VALUES,
    st.sampled_from(["incident", "change", "Incident", "P2", "P4", "VPN down", "Acme", "ticket"]),
    st.sampled_from(["2026-03-27T09:00:00+01:00", "1969-12-31T23:00:00Z", "2301-01-01T00:00:00Z"]),
)
WELL_FORMED = [
    {"at": "2026-03-27T16:05:00+01:00", "kind": "reply", "public": True, "author": "customer", "body": "hi"},
    {"at": "2026-03-27T15:05:00Z", "kind": "status", "to": "pending", "reason": "waiting"},
    {"at": "2026-03-27T17:05:00+02:00", "kind": "assign", "to": "alice"},
    {"at": "2026-03-27T16:06:00Z", "kind": "escalate", "to": "L2", "reason": "network"},
    {"at": "2026-03-27T16:07:00Z", "kind": "priority", "to": "P1"},
    {"at": "2026-03-27T16:08:00Z", "kind": "group", "to": "apps"},
    {"at": "2300-01-01T00:00:00Z", "kind": "group", "to": "apps"},
]


@st.composite
def tickets(draw):
    rec = {key: draw(TICKET_VALUES) for key in draw(st.lists(st.sampled_from(TICKET_KEYS), unique=True))}
    if draw(st.integers(0, 3)):  # mostly the fields a ticket needs, so that the events are reached
        rec |= {"subject": "VPN down", "customer": "Acme", "created_at": "2026-03-27T09:00:00+01:00"}
        if draw(st.booleans()):
            rec["priority"] = draw(st.sampled_from(["P1", "P3", "P9", None]))
        else:
            rec["impact"], rec["urgency"] = draw(st.sampled_from([1, 2, 3, 4, True])), draw(st.integers(1, 3))
    if draw(st.booleans()):
        rec["events"] = draw(st.lists(st.one_of(st.sampled_from(WELL_FORMED), events()), max_size=4))
    return draw(st.one_of(st.just(rec), st.sampled_from([None, [], "ticket", 3])))


@settings(max_examples=1500, deadline=None)
@given(tickets())
def test_the_quick_ticket_path_agrees_with_the_detailed_checks(rec):
    problems: list[str] = []
    detailed = importer._ticket("f:1", rec, problems, "importer")
    quick = importer._quick_ticket(rec, "f:1", "importer")
    assert (detailed is None) == bool(problems)
    if quick is not None:  # what it accepts, the detailed checks accept, and they build the same ticket
        assert quick == detailed
    elif detailed is not None:  # it leaves to them only the records with a problem, or an instant past 2200
        assert any(e.at > importer.LATEST for e in detailed.events)


def test_well_formed_tickets_take_the_quick_path():
    rec = {
        "ref": "EXT-1",
        "subject": "VPN down",
        "customer": "Acme",
        "description": "",
        "impact": 2,
        "urgency": 1,
        "type": "request",
        "created_at": "2026-03-27T09:00:00+01:00",
        "category": "Network",
        "contact": "claire@example.org",
        "events": WELL_FORMED[:-1],
    }
    quick = importer._quick_ticket(rec, "f:1", "importer")
    assert quick is not None and quick.priority == "P2" and len(quick.events) == 6
    assert quick == importer._ticket("f:1", rec, [], "importer")
