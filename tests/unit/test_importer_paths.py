"""The importer's fast path for well-formed events accepts exactly what its detailed checks accept.

``importer._well_formed`` exists only for speed (most events of an export are fine and need no message);
if it ever accepted an event the detailed checks refuse, or built a different event, an import would
silently differ from its error report. Hypothesis throws events of every shape at both.
"""

from __future__ import annotations

import io
import json
from datetime import UTC

from hypothesis import given, settings
from hypothesis import strategies as st

from deskterm import importer
from deskterm_testing import examples

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


@settings(max_examples=examples(500), deadline=None)
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


@settings(max_examples=examples(400), deadline=None)
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


@settings(max_examples=examples(400), deadline=None)
@given(tickets())
def test_the_quick_ticket_path_knows_the_latest_instant(rec):
    """``NewTicket.latest``, which the service takes instead of comparing every instant again, is the greatest."""
    quick = importer._quick_ticket(rec, "f:1", "importer")
    if quick is not None:
        assert quick.latest == max([quick.created_at, *(e.at for e in quick.events)])
        assert quick.latest.tzinfo is UTC


ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=6)  # lone surrogates too
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), ANY_TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(ANY_TEXT, inner, max_size=3)),
    max_leaves=8,
)


def strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings(v))]
    return []


def encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=examples(400), deadline=None)
@given(JSON_VALUES, st.booleans())
def test_a_record_known_storable_holds_no_lone_surrogate(value, ascii):
    """The service leaves out of its check for unstorable text the tickets whose JSON text ``storable`` passed: it
    must never pass one holding a lone surrogate, written as itself or as an escape; and it passes the usual ones."""
    text = json.dumps(value, ensure_ascii=ascii)
    found = strings(json.loads(text))
    if importer.storable(text):
        assert all(encodable(s) for s in found)
    plain = all(encodable(s) and "\\" not in s and (not ascii or max(s, default=" ") < "\U00010000") for s in found)
    if plain:  # (ensure_ascii writes a character beyond the first plane as an escaped pair of surrogates)
        assert importer.storable(text)


def test_the_reader_marks_the_tickets_whose_text_it_knows_storable():
    base = {"subject": "VPN down", "customer": "Acme", "priority": "P3", "created_at": "2026-03-27T09:00:00Z"}
    records = [
        base,
        {**base, "subject": "Réseau"},
        {**base, "subject": "x\ud800"},
        {
            **base,
            "events": [
                {"at": "2026-03-27T10:00:00Z", "kind": "reply", "public": True, "author": "bob", "body": "caf\udce9"}
            ],
        },
    ]
    for ascii in (True, False):
        lines = "".join(json.dumps(r, ensure_ascii=ascii) + "\n" for r in records)
        array = json.dumps(records, ensure_ascii=ascii)
        for text in (lines, array):
            source = importer.ImportFile(lambda text=text: io.StringIO(text), "f", "importer")
            got = [t.storable for t in source.tickets()]
            assert got == [True, True, False, False]
    source = importer.ImportFile(lambda: io.StringIO(json.dumps(base)), "f", "imp\udc80rter")  # the events' author
    assert [t.storable for t in source.tickets()] == [False]
