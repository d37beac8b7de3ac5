"""`deskterm import` with malformed files, through the real command line (contract sections 2 and 4).

Every bad file: exit 2, one stderr line per problem starting with ``FILE:N:`` (``FILE:`` for a problem of the
whole file) and naming the field, no traceback, nothing on stdout, and the database exactly as before (a valid
import done first is still intact, nothing added).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from deskterm_testing import EXAMPLE_CONFIG, run_cli

TABLES = ("tickets", "events", "customers", "agents", "groups")

BASELINE = [
    {"ref": "BASE-1", "subject": "VPN down for ward B", "description": "since 8am",
     "customer": "Clinique Saint-Jean", "priority": "P2", "type": "incident",
     "created_at": "2026-03-27T16:05:00+01:00",
     "events": [
         {"at": "2026-03-27T16:20:00+01:00", "kind": "reply", "public": True, "author": "alice", "body": "On it."},
         {"at": "2026-03-27T16:40:00+01:00", "kind": "status", "to": "pending"},
         {"at": "2026-03-30T09:10:00+02:00", "kind": "status", "to": "open"},
         {"at": "2026-03-30T11:00:00+02:00", "kind": "status", "to": "resolved"},
     ]},
    {"ref": "BASE-2", "subject": "New laptop", "customer": "Acme", "impact": 3, "urgency": 2, "type": "request",
     "created_at": "2026-03-26T10:00:00Z",
     "events": [{"at": "2026-03-26T10:30:00Z", "kind": "assign", "to": "bob"}]},
    {"ref": "BASE-3", "subject": "Printer", "customer": "Acme", "priority": "P4", "created_at": "2026-03-25T08:00:00Z"},
]

# A valid ticket to build bad ones from.
GOOD = {"ref": "NEW-1", "subject": "Mail bounces", "customer": "Acme", "priority": "P3",
        "created_at": "2026-03-27T09:00:00+01:00",
        "events": [
            {"at": "2026-03-27T09:15:00+01:00", "kind": "reply", "public": True, "author": "alice", "body": "Looking."},
            {"at": "2026-03-27T10:00:00+01:00", "kind": "status", "to": "resolved"},
        ]}


def good(**changes) -> dict:
    rec = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        if value is ...:
            rec.pop(key, None)
        else:
            rec[key] = value
    return rec


def jsonl(*records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def snapshot(db: Path) -> dict:
    con = sqlite3.connect(db)
    try:
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in TABLES}
    finally:
        con.close()


def counts(db: Path) -> dict:
    con = sqlite3.connect(db)
    try:
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in ("tickets", "events", "customers")}
    finally:
        con.close()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """A database holding a first, valid import (made once; each test works on a copy)."""
    where = tmp_path_factory.mktemp("baseline")
    db = where / "desk.db"
    src = where / "first.json"
    src.write_text(json.dumps(BASELINE, indent=1), encoding="utf-8")
    out = run_cli("--db", str(db), "--config", str(EXAMPLE_CONFIG), "import", str(src))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "imported 3 tickets"
    assert counts(db) == {"tickets": 3, "events": 5, "customers": 2}
    return db, snapshot(db)


@pytest.fixture
def db(baseline, tmp_path) -> Path:
    path = tmp_path / "desk.db"
    shutil.copy(baseline[0], path)
    return path


def deskterm(db: Path, *args: str, input: str | None = None):
    return run_cli("--db", str(db), "--config", str(EXAMPLE_CONFIG), *args, input=input)


def assert_intact(db: Path, baseline) -> None:
    """Every row of every table exactly as after the first import (so nothing added, nothing changed)."""
    assert counts(db) == {"tickets": 3, "events": 5, "customers": 2}
    assert snapshot(db) == baseline[1]


def rejected(db: Path, baseline, name: str, expected: list[tuple[int | None, str]], *, input: str | None = None,
             ordered: bool = True, out=None) -> list[str]:
    """Import NAME, expect exit 2 and exactly one line per expected (record, field) problem."""
    if out is None:
        out = deskterm(db, "import", name, input=input)
    name = "<stdin>" if name == "-" else name
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == len(expected), lines
    pairs = list(zip(lines, expected)) if ordered else [(next(l for l in lines if _matches(l, name, e)), e) for e in expected]
    for line, exp in pairs:
        assert _matches(line, name, exp), (line, exp)
    assert_intact(db, baseline)
    return lines


def _matches(line: str, name: str, exp: tuple[int | None, str]) -> bool:
    record, field = exp
    prefix = f"{name}: " if record is None else f"{name}:{record}: "
    return line.startswith(prefix + field)


def write(tmp_path: Path, text: str, name: str = "tickets.jsonl") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- malformed files, one problem each -------------------------------------------------------------------

CASES = {
    "bad JSON in an array": ("tickets.json", '[\n  {"subject": "s",}\n]\n', [(2, "not valid JSON")]),
    "bad JSON Lines": ("tickets.jsonl", jsonl(good()) + '{"subject": \n' + "{'ref': 'x'}\n",
                       [(2, "not valid JSON"), (3, "not valid JSON")]),
    "JSON that is not an array of tickets": ("tickets.json", "[]", [(None, "no tickets in the file")]),
    "missing subject": ("t.jsonl", jsonl(good(subject=...)), [(1, "subject: missing")]),
    "missing customer": ("t.jsonl", jsonl(good(customer=...)), [(1, "customer: missing")]),
    "missing created_at": ("t.jsonl", jsonl(good(created_at=...)), [(1, "created_at: missing")]),
    "empty subject": ("t.jsonl", jsonl(good(subject="  ")), [(1, "subject: empty")]),
    "subject not a string": ("t.jsonl", jsonl(good(subject=42)), [(1, "subject: must be a string")]),
    "unknown ticket key": ("t.jsonl", jsonl(good(severity="high")), [(1, "severity: unknown key")]),
    "unknown event key": ("t.jsonl", jsonl(good(events=[dict(GOOD["events"][0], colour="red")])),
                          [(1, "events[1].colour: unknown key")]),
    "naive created_at": ("t.jsonl", jsonl(good(created_at="2026-03-27T09:00:00")),
                         [(1, "created_at: timestamp has no UTC offset")]),
    "naive event time": ("t.jsonl", jsonl(good(events=[dict(GOOD["events"][0], at="2026-03-27T09:15:00")])),
                         [(1, "events[1].at: timestamp has no UTC offset")]),
    "created_at not a timestamp": ("t.jsonl", jsonl(good(created_at="yesterday")),
                                   [(1, "created_at: not an ISO 8601 timestamp")]),
    "event without at": ("t.jsonl", jsonl(good(events=[{"kind": "assign", "to": "bob"}])),
                         [(1, "events[1].at: missing")]),
    "event before created_at": ("t.jsonl", jsonl(good(events=[dict(GOOD["events"][0], at="2026-03-27T07:59:59Z")])),
                                [(1, "events[1].at: before created_at")]),
    "events out of time order": ("t.jsonl", jsonl(good(events=list(reversed(GOOD["events"])))),
                                 [(1, "events[2].at: events must be in time order")]),
    "unknown status": ("t.jsonl", jsonl(good(events=[{"at": "2026-03-27T10:00:00+01:00", "kind": "status", "to": "done"}])),
                       [(1, "events[1].to: 'done' is not one of")]),
    "unknown event kind": ("t.jsonl", jsonl(good(events=[{"at": "2026-03-27T10:00:00+01:00", "kind": "call"}])),
                           [(1, "events[1].kind: 'call' is not one of")]),
    "event kind that is a list": ("t.jsonl", jsonl(good(events=[{"at": "2026-03-27T10:00:00+01:00", "kind": ["reply"]}])),
                                  [(1, "events[1].kind: ")]),
    "status event without to": ("t.jsonl", jsonl(good(events=[{"at": "2026-03-27T10:00:00+01:00", "kind": "status"}])),
                                [(1, "events[1].to: missing")]),
    "events not a list": ("t.jsonl", jsonl(good(events={"kind": "reply"})), [(1, "events: must be a list")]),
    "duplicate ref in one file": ("t.jsonl", jsonl(good(), good(subject="again")),
                                  [(2, "ref: 'NEW-1' appears twice in the file (first at ")]),
    "bad priority": ("t.jsonl", jsonl(good(priority="P5")), [(1, "priority: 'P5' is not one of P1, P2, P3, P4")]),
    "no priority": ("t.jsonl", jsonl(good(priority=...)), [(1, "priority: missing")]),
    "impact without urgency": ("t.jsonl", jsonl(good(priority=..., impact=1)), [(1, "urgency: missing")]),
    "impact out of range": ("t.jsonl", jsonl(good(priority=..., impact=4, urgency=1)), [(1, "impact: must be 1")]),
    "impact true": ("t.jsonl", jsonl(good(priority=..., impact=True, urgency=1)), [(1, "impact: must be 1")]),
    "bad type": ("t.jsonl", jsonl(good(type="bug")), [(1, "type: 'bug' is not one of")]),
    "non-object records in an array": ("t.json", json.dumps([1, "ticket", None]),
                                       [(1, "expected a JSON object"), (2, "expected a JSON object"),
                                        (3, "expected a JSON object")]),
    "non-object record in JSON Lines": ("t.jsonl", jsonl(good()) + "[1, 2]\n", [(2, "expected a JSON object")]),
    "empty file": ("t.jsonl", "", [(None, "empty file")]),
    "blank file": ("t.jsonl", "\n  \n\t\n", [(None, "empty file")]),
    "absurdly nested JSON": ("t.json", "[" * 100_000 + "]" * 100_000, [(None, "not valid JSON")]),
}


@pytest.fixture(scope="module")
def outcomes(baseline, tmp_path_factory):
    """Run every case of CASES at once (each a subprocess on its own copy of the baseline), to keep the suite fast."""
    from concurrent.futures import ThreadPoolExecutor

    def run(i_case):
        i, case = i_case
        filename, text, _ = CASES[case]
        where = tmp_path_factory.mktemp(f"case{i}")
        db = where / "desk.db"
        shutil.copy(baseline[0], db)
        name = write(where, text, filename)
        return case, (db, name, deskterm(db, "import", name))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, enumerate(CASES)))


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_malformed_file_is_rejected_and_nothing_is_written(outcomes, baseline, case):
    db, name, out = outcomes[case]
    rejected(db, baseline, name, CASES[case][2], out=out)


def test_first_import_is_still_readable_after_a_rejected_one(db, baseline, tmp_path):
    rejected(db, baseline, write(tmp_path, jsonl(good(ref="BASE-1", subject=...))),
             [(1, "subject: missing")])
    shown = deskterm(db, "show", "BASE-1", "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["ref"] == "BASE-1" and data["status"] == "resolved"
    assert [e["kind"] for e in data["events"]] == ["reply", "status", "status", "status"]
    listed = json.loads(deskterm(db, "list", "--json").stdout)
    assert sorted(t["ref"] for t in listed) == ["BASE-1", "BASE-2", "BASE-3"]


def test_file_that_does_not_exist(db, baseline, tmp_path):
    missing = str(tmp_path / "nope.jsonl")
    lines = rejected(db, baseline, missing, [(None, "cannot read")])
    assert "No such file" in lines[0]


def test_file_that_is_not_utf8(db, baseline, tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(json.dumps(good(subject="Caf\u00e9"), ensure_ascii=False).encode("latin-1") + b"\n")
    rejected(db, baseline, str(path), [(None, "not UTF-8 text")])


def test_ref_already_imported_by_an_earlier_import(db, baseline, tmp_path):
    name = write(tmp_path, jsonl(good(ref="BASE-1")))
    rejected(db, baseline, name, [(1, "ref: 'BASE-1' was already imported")])


def test_mixed_new_and_already_imported_refs_write_nothing(db, baseline, tmp_path):
    name = write(tmp_path, jsonl(good(ref="NEW-1"), good(ref="BASE-2"), good(ref="NEW-2"), good(ref="BASE-3", customer="Brand New Co")))
    rejected(db, baseline, name, [(2, "ref: 'BASE-2' was already imported"), (4, "ref: 'BASE-3' was already imported")])


# -- several problems ------------------------------------------------------------------------------------


def test_three_bad_records_give_three_lines(db, baseline, tmp_path):
    name = write(tmp_path, jsonl(good(ref="A", subject=...), good(ref="B", customer=...), good(ref="C", created_at=...)))
    rejected(db, baseline, name, [(1, "subject: missing"), (2, "customer: missing"), (3, "created_at: missing")])


def test_every_problem_of_one_record_is_reported(db, baseline, tmp_path):
    rec = good(subject=..., priority="urgent", created_at="2026-03-27", colour="red",
               events=[{"at": "2026-03-27T10:00:00+01:00", "kind": "status", "to": "done"},
                       {"at": "2026-03-27T09:00:00+01:00", "kind": "assign", "to": "bob"}])
    name = write(tmp_path, jsonl(rec))
    rejected(db, baseline, name, [
        (1, "colour: unknown key"),
        (1, "subject: missing"),
        (1, "priority: 'urgent'"),
        (1, "created_at: timestamp has no UTC offset"),
        (1, "events[1].to: 'done'"),
        (1, "events[2].at: events must be in time order"),
    ], ordered=False)


def test_mixed_valid_and_invalid_records_write_nothing(db, baseline, tmp_path):
    records = [good(ref=f"MIX-{i}", customer="Mixed Customer") for i in range(1, 8)]
    records[2] = good(ref="MIX-3", priority="P9")
    records[5] = good(ref="MIX-6", events=[{"at": "2026-03-27T10:00:00+01:00", "kind": "status", "to": "closing"}])
    name = write(tmp_path, json.dumps(records, indent=2), "mixed.json")
    rejected(db, baseline, name, [(3, "priority: 'P9'"), (6, "events[1].to: 'closing'")])


def test_jsonl_with_blank_lines_reports_file_line_numbers(db, baseline, tmp_path):
    text = "\n" + jsonl(good(ref="L-2")) + "\n   \n" + jsonl(good(ref="L-5", subject=...)) + "\n"
    rejected(db, baseline, write(tmp_path, text), [(5, "subject: missing")])


def test_bad_import_into_a_database_that_does_not_exist_creates_nothing(tmp_path):
    db = tmp_path / "fresh.db"
    name = write(tmp_path, jsonl(good(subject=...)))
    out = deskterm(db, "import", name)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [f"{name}:1: subject: missing"]
    assert not db.exists()


# -- stdin and JSON Lines that are valid -----------------------------------------------------------------


def test_import_from_stdin(db, baseline):
    out = deskterm(db, "import", "-", input=jsonl(good(ref="IN-1"), good(ref="IN-2", customer="Stdin Co")))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "imported 2 tickets"
    assert counts(db) == {"tickets": 5, "events": 9, "customers": 3}
    shown = json.loads(deskterm(db, "show", "IN-2", "--json").stdout)
    assert shown["customer"] == "Stdin Co" and shown["status"] == "resolved"


def test_bad_import_from_stdin(db, baseline):
    text = jsonl(good(ref="IN-1"), good(ref="IN-2", created_at="2026-03-27 09:00"))
    lines = rejected(db, baseline, "-", [(2, "created_at: ")], input=text)
    assert lines[0].startswith("<stdin>:2: created_at: ")


def test_empty_stdin(db, baseline):
    out = deskterm(db, "import", "-", input="")
    assert out.returncode == 2
    assert out.stderr.splitlines() == ["<stdin>: empty file: expected a JSON array or JSON Lines of tickets"]
    assert_intact(db, baseline)


def test_jsonl_with_blank_lines_imports(db, baseline, tmp_path):
    text = "\n\n" + jsonl(good(ref="B-1")) + "\n  \n" + jsonl(good(ref="B-2", events=[])) + "\n\n"
    out = deskterm(db, "import", write(tmp_path, text))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "imported 2 tickets"
    assert counts(db) == {"tickets": 5, "events": 7, "customers": 2}
    before = snapshot(db)
    # the same file again: both refs are now taken; nothing changes
    again = deskterm(db, "import", write(tmp_path, text))
    assert again.returncode == 2
    assert again.stderr.splitlines() == [
        f"{tmp_path / 'tickets.jsonl'}:3: ref: 'B-1' was already imported",
        f"{tmp_path / 'tickets.jsonl'}:6: ref: 'B-2' was already imported",
    ]
    assert snapshot(db) == before
