"""`deskterm import` with malformed files, through the command line (contract sections 2 and 4), on SQLite and
on PostgreSQL.

Every bad file: exit 2, one stderr line per problem starting with ``FILE:N:`` (``FILE:`` for a problem of the
whole file) and naming the field, no traceback, nothing on stdout, and the database exactly as before (a valid
import done first is still intact, nothing added): the row counts, and every row of every table (and on
PostgreSQL every sequence: ``deskterm_testing.db_state``).

The first import is made once per engine; each test that writes works on its own copy (a copied file, or a
database created from it as a template). The commands go through the fork server of tests/deskterm_testing.py
(``cli_server``: the real ``deskterm.cli.main`` in a new process, without a second of imports each time;
tests/test_corpus.py checks it answers exactly as ``python -m deskterm.cli``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from deskterm_testing import EXAMPLE_CONFIG, db_counts, db_rows, db_state, is_pg

pytestmark = pytest.mark.engines("sqlite", "postgresql", scope="module")

BASELINE = [
    {
        "ref": "BASE-1",
        "subject": "VPN down for ward B",
        "description": "since 8am",
        "customer": "Clinique Saint-Jean",
        "priority": "P2",
        "type": "incident",
        "created_at": "2026-03-27T16:05:00+01:00",
        "events": [
            {"at": "2026-03-27T16:20:00+01:00", "kind": "reply", "public": True, "author": "alice", "body": "On it."},
            {"at": "2026-03-27T16:40:00+01:00", "kind": "status", "to": "pending"},
            {"at": "2026-03-30T09:10:00+02:00", "kind": "status", "to": "open"},
            {"at": "2026-03-30T11:00:00+02:00", "kind": "status", "to": "resolved"},
        ],
    },
    {
        "ref": "BASE-2",
        "subject": "New laptop",
        "customer": "Acme",
        "impact": 3,
        "urgency": 2,
        "type": "request",
        "created_at": "2026-03-26T10:00:00Z",
        "events": [{"at": "2026-03-26T10:30:00Z", "kind": "assign", "to": "bob"}],
    },
    {"ref": "BASE-3", "subject": "Printer", "customer": "Acme", "priority": "P4", "created_at": "2026-03-25T08:00:00Z"},
]

# A valid ticket to build bad ones from.
GOOD = {
    "ref": "NEW-1",
    "subject": "Mail bounces",
    "customer": "Acme",
    "priority": "P3",
    "created_at": "2026-03-27T09:00:00+01:00",
    "events": [
        {"at": "2026-03-27T09:15:00+01:00", "kind": "reply", "public": True, "author": "alice", "body": "Looking."},
        {"at": "2026-03-27T10:00:00+01:00", "kind": "status", "to": "resolved"},
    ],
}


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


class Db:
    """A database (a SQLite file or a PostgreSQL URL) and the command line to run on it."""

    def __init__(self, url: str, cli) -> None:
        self.url, self.cli = url, cli

    def __call__(self, *args: str, input: str | None = None):
        return self.cli("--db", self.url, "--config", str(EXAMPLE_CONFIG), *args, input=input)


class Copies:
    """Copies of the first import: a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL."""

    def __init__(self, engine: str, source: str, request) -> None:
        self.engine, self.source, self.request = engine, source, request

    def make(self, where: Path) -> str:
        if self.engine == "sqlite":
            path = where / "desk.db"
            shutil.copy(self.source, path)  # (the CLI leaves no -wal file behind: the file holds everything)
            return str(path)
        return self.request.getfixturevalue("pg_server").create_database(template=self.source)

    def drop(self, url: str) -> None:
        if self.engine != "sqlite":
            self.request.getfixturevalue("pg_server").drop_database(url)


@pytest.fixture(scope="module")
def baseline(module_db_url, cli_server, db_engine, tmp_path_factory, request):
    """A database holding a first, valid import (made once per engine; the tests work on copies), its content,
    and how to copy it."""
    where = tmp_path_factory.mktemp("baseline")
    src = where / "first.json"
    src.write_text(json.dumps(BASELINE, indent=1), encoding="utf-8")
    out = Db(module_db_url, cli_server.run)("import", str(src))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "imported 3 tickets"
    assert db_counts(module_db_url) == {"tickets": 3, "events": 5, "customers": 2}
    return module_db_url, db_state(module_db_url), Copies(db_engine, module_db_url, request)


@pytest.fixture
def db(baseline, tmp_path, cli_server) -> Db:
    copies = baseline[2]
    url = copies.make(tmp_path)
    yield Db(url, cli_server.run)
    copies.drop(url)


def assert_intact(db: Db, baseline) -> None:
    """Every row of every table exactly as after the first import (so nothing added, nothing changed)."""
    assert db_counts(db.url) == {"tickets": 3, "events": 5, "customers": 2}
    assert db_state(db.url) == baseline[1]


def rejected(
    db: Db,
    baseline,
    name: str,
    expected: list[tuple[int | None, str]],
    *,
    input: str | None = None,
    ordered: bool = True,
    out=None,
    state: dict | None = None,
) -> list[str]:
    """Import NAME, expect exit 2 and exactly one line per expected (record, field) problem, and the database
    intact (``state``: what it held right after the import, when that was run earlier)."""
    if out is None:
        out = db("import", name, input=input)
    name = "<stdin>" if name == "-" else name
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == len(expected), lines
    pairs = (
        list(zip(lines, expected, strict=False))
        if ordered
        else [(next(line for line in lines if _matches(line, name, e)), e) for e in expected]
    )
    for line, exp in pairs:
        assert _matches(line, name, exp), (line, exp)
    if state is not None:
        assert state == baseline[1]
    else:
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
    "bad JSON Lines": (
        "tickets.jsonl",
        jsonl(good()) + '{"subject": \n' + "{'ref': 'x'}\n",
        [(2, "not valid JSON"), (3, "not valid JSON")],
    ),
    "JSON that is not an array of tickets": ("tickets.json", "[]", [(None, "no tickets in the file")]),
    "missing subject": ("t.jsonl", jsonl(good(subject=...)), [(1, "subject: missing")]),
    "missing customer": ("t.jsonl", jsonl(good(customer=...)), [(1, "customer: missing")]),
    "missing created_at": ("t.jsonl", jsonl(good(created_at=...)), [(1, "created_at: missing")]),
    "empty subject": ("t.jsonl", jsonl(good(subject="  ")), [(1, "subject: empty")]),
    "subject not a string": ("t.jsonl", jsonl(good(subject=42)), [(1, "subject: must be a string")]),
    "unknown ticket key": ("t.jsonl", jsonl(good(severity="high")), [(1, "severity: unknown key")]),
    "unknown event key": (
        "t.jsonl",
        jsonl(good(events=[dict(GOOD["events"][0], colour="red")])),
        [(1, "events[1].colour: unknown key")],
    ),
    "naive created_at": (
        "t.jsonl",
        jsonl(good(created_at="2026-03-27T09:00:00")),
        [(1, "created_at: timestamp has no UTC offset")],
    ),
    "naive event time": (
        "t.jsonl",
        jsonl(good(events=[dict(GOOD["events"][0], at="2026-03-27T09:15:00")])),
        [(1, "events[1].at: timestamp has no UTC offset")],
    ),
    "created_at not a timestamp": (
        "t.jsonl",
        jsonl(good(created_at="yesterday")),
        [(1, "created_at: not an ISO 8601 timestamp")],
    ),
    "event without at": (
        "t.jsonl",
        jsonl(good(events=[{"kind": "assign", "to": "bob"}])),
        [(1, "events[1].at: missing")],
    ),
    "event before created_at": (
        "t.jsonl",
        jsonl(good(events=[dict(GOOD["events"][0], at="2026-03-27T07:59:59Z")])),
        [(1, "events[1].at: before created_at")],
    ),
    "events out of time order": (
        "t.jsonl",
        jsonl(good(events=list(reversed(GOOD["events"])))),
        [(1, "events[2].at: events must be in time order")],
    ),
    "unknown status": (
        "t.jsonl",
        jsonl(good(events=[{"at": "2026-03-27T10:00:00+01:00", "kind": "status", "to": "done"}])),
        [(1, "events[1].to: 'done' is not one of")],
    ),
    "unknown event kind": (
        "t.jsonl",
        jsonl(good(events=[{"at": "2026-03-27T10:00:00+01:00", "kind": "call"}])),
        [(1, "events[1].kind: 'call' is not one of")],
    ),
    "event kind that is a list": (
        "t.jsonl",
        jsonl(good(events=[{"at": "2026-03-27T10:00:00+01:00", "kind": ["reply"]}])),
        [(1, "events[1].kind: ")],
    ),
    "status event without to": (
        "t.jsonl",
        jsonl(good(events=[{"at": "2026-03-27T10:00:00+01:00", "kind": "status"}])),
        [(1, "events[1].to: missing")],
    ),
    "events not a list": ("t.jsonl", jsonl(good(events={"kind": "reply"})), [(1, "events: must be a list")]),
    "duplicate ref in one file": (
        "t.jsonl",
        jsonl(good(), good(subject="again")),
        [(2, "ref: 'NEW-1' appears twice in the file (first at ")],
    ),
    "bad priority": ("t.jsonl", jsonl(good(priority="P5")), [(1, "priority: 'P5' is not one of P1, P2, P3, P4")]),
    "no priority": ("t.jsonl", jsonl(good(priority=...)), [(1, "priority: missing")]),
    "impact without urgency": ("t.jsonl", jsonl(good(priority=..., impact=1)), [(1, "urgency: missing")]),
    "impact out of range": ("t.jsonl", jsonl(good(priority=..., impact=4, urgency=1)), [(1, "impact: must be 1")]),
    "impact true": ("t.jsonl", jsonl(good(priority=..., impact=True, urgency=1)), [(1, "impact: must be 1")]),
    "bad type": ("t.jsonl", jsonl(good(type="bug")), [(1, "type: 'bug' is not one of")]),
    "non-object records in an array": (
        "t.json",
        json.dumps([1, "ticket", None]),
        [(1, "expected a JSON object"), (2, "expected a JSON object"), (3, "expected a JSON object")],
    ),
    "non-object record in JSON Lines": ("t.jsonl", jsonl(good()) + "[1, 2]\n", [(2, "expected a JSON object")]),
    "empty file": ("t.jsonl", "", [(None, "empty file")]),
    "blank file": ("t.jsonl", "\n  \n\t\n", [(None, "empty file")]),
    "absurdly nested JSON": ("t.json", "[" * 100_000 + "]" * 100_000, [(None, "not valid JSON")]),
}


@pytest.fixture(scope="module")
def outcomes(baseline, cli_server, tmp_path_factory):
    """Run every case of CASES at once, each on a copy of the baseline, and keep what each printed and what the
    database held right after it. A rejected import writes nothing, so the next case reuses the same copy; only
    a case that did change it (a failure, reported by its own test) costs a fresh copy for the cases after it."""
    copies = baseline[2]
    scratch = None
    made = []
    results = {}
    for i, case in enumerate(CASES):
        filename, text, _ = CASES[case]
        where = tmp_path_factory.mktemp(f"case{i}")
        if scratch is None:
            scratch = Db(copies.make(where), cli_server.run)
            made.append(scratch.url)
        name = write(where, text, filename)
        out = scratch("import", name)
        state = db_state(scratch.url)
        results[case] = (scratch, name, out, state)
        if state != baseline[1]:
            scratch = None
    yield results
    for url in made:
        copies.drop(url)


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_malformed_file_is_rejected_and_nothing_is_written(outcomes, baseline, case):
    db, name, out, state = outcomes[case]
    rejected(db, baseline, name, CASES[case][2], out=out, state=state)


def test_first_import_is_still_readable_after_a_rejected_one(db, baseline, tmp_path):
    rejected(db, baseline, write(tmp_path, jsonl(good(ref="BASE-1", subject=...))), [(1, "subject: missing")])
    shown = db("show", "BASE-1", "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["ref"] == "BASE-1" and data["status"] == "resolved"
    assert [e["kind"] for e in data["events"]] == ["reply", "status", "status", "status"]
    listed = json.loads(db("list", "--json").stdout)
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
    name = write(
        tmp_path,
        jsonl(good(ref="NEW-1"), good(ref="BASE-2"), good(ref="NEW-2"), good(ref="BASE-3", customer="Brand New Co")),
    )
    rejected(db, baseline, name, [(2, "ref: 'BASE-2' was already imported"), (4, "ref: 'BASE-3' was already imported")])


# -- several problems ------------------------------------------------------------------------------------


def test_three_bad_records_give_three_lines(db, baseline, tmp_path):
    name = write(
        tmp_path, jsonl(good(ref="A", subject=...), good(ref="B", customer=...), good(ref="C", created_at=...))
    )
    rejected(db, baseline, name, [(1, "subject: missing"), (2, "customer: missing"), (3, "created_at: missing")])


def test_every_problem_of_one_record_is_reported(db, baseline, tmp_path):
    rec = good(
        subject=...,
        priority="urgent",
        created_at="2026-03-27",
        colour="red",
        events=[
            {"at": "2026-03-27T10:00:00+01:00", "kind": "status", "to": "done"},
            {"at": "2026-03-27T09:00:00+01:00", "kind": "assign", "to": "bob"},
        ],
    )
    name = write(tmp_path, jsonl(rec))
    rejected(
        db,
        baseline,
        name,
        [
            (1, "colour: unknown key"),
            (1, "subject: missing"),
            (1, "priority: 'urgent'"),
            (1, "created_at: timestamp has no UTC offset"),
            (1, "events[1].to: 'done'"),
            (1, "events[2].at: events must be in time order"),
        ],
        ordered=False,
    )


def test_mixed_valid_and_invalid_records_write_nothing(db, baseline, tmp_path):
    records = [good(ref=f"MIX-{i}", customer="Mixed Customer") for i in range(1, 8)]
    records[2] = good(ref="MIX-3", priority="P9")
    records[5] = good(ref="MIX-6", events=[{"at": "2026-03-27T10:00:00+01:00", "kind": "status", "to": "closing"}])
    name = write(tmp_path, json.dumps(records, indent=2), "mixed.json")
    rejected(db, baseline, name, [(3, "priority: 'P9'"), (6, "events[1].to: 'closing'")])


def test_jsonl_with_blank_lines_reports_file_line_numbers(db, baseline, tmp_path):
    text = "\n" + jsonl(good(ref="L-2")) + "\n   \n" + jsonl(good(ref="L-5", subject=...)) + "\n"
    rejected(db, baseline, write(tmp_path, text), [(5, "subject: missing")])


def test_bad_import_into_a_new_database_creates_nothing(empty_db, tmp_path, cli_server):
    # SQLite: the file is not created; PostgreSQL: the database gets no table (not even the schema)
    name = write(tmp_path, jsonl(good(subject=...)))
    out = Db(empty_db, cli_server.run)("import", name)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [f"{name}:1: subject: missing"]
    if is_pg(empty_db):
        assert db_rows(empty_db, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") == [
            (0,)
        ]
    else:
        assert not Path(empty_db).exists()
        # nor the file it was being made in, beside the desk (a new SQLite desk is made aside, then put in place)
        assert [p.name for p in Path(empty_db).parent.iterdir() if "importing" in p.name] == []


def test_a_new_desk_that_cannot_be_made_is_named_as_given(tmp_path, cli_server):
    name = write(tmp_path, jsonl(good()))
    desk = Path(name) / "desk.db"  # under a file, not a directory
    out = Db(str(desk), cli_server.run)("import", name)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [f"--db: {desk}: cannot open the desk: Not a directory"]


def test_a_bad_import_into_a_new_desk_leaves_no_directory_either(tmp_path, cli_server):
    desk = tmp_path / "new" / "dir" / "desk.db"
    name = write(tmp_path, jsonl(good(), good(subject=...)))
    out = Db(str(desk), cli_server.run)("import", name)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [f"{name}:2: subject: missing"]
    assert not (tmp_path / "new").exists()


def test_a_new_sqlite_desk_is_made_aside_and_put_in_its_place(tmp_path, cli_server):
    desk = tmp_path / "new-dir" / "desk.db"
    name = write(tmp_path, jsonl(good(ref="NEW-1"), good(ref="NEW-2", customer="Aside Co")))
    out = Db(str(desk), cli_server.run)("import", name)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "imported 2 tickets\n"
    # the desk alone, closed cleanly (no write-ahead log left), with a new desk's mode; nothing else beside it
    assert [p.name for p in desk.parent.iterdir()] == ["desk.db"]
    assert desk.stat().st_mode & 0o777 == 0o660
    assert db_rows(str(desk), "SELECT ref, status FROM tickets ORDER BY id") == [
        ("NEW-1", "resolved"),
        ("NEW-2", "resolved"),
    ]
    shown = Db(str(desk), cli_server.run)("show", "NEW-2")
    assert shown.returncode == 0 and "Aside Co" in shown.stdout


# -- stdin and JSON Lines that are valid -----------------------------------------------------------------


def test_import_from_stdin(db, baseline):
    out = db("import", "-", input=jsonl(good(ref="IN-1"), good(ref="IN-2", customer="Stdin Co")))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "imported 2 tickets"
    assert db_counts(db.url) == {"tickets": 5, "events": 9, "customers": 3}
    shown = json.loads(db("show", "IN-2", "--json").stdout)
    assert shown["customer"] == "Stdin Co" and shown["status"] == "resolved"


def test_bad_import_from_stdin(db, baseline):
    text = jsonl(good(ref="IN-1"), good(ref="IN-2", created_at="2026-03-27 09:00"))
    lines = rejected(db, baseline, "-", [(2, "created_at: ")], input=text)
    assert lines[0].startswith("<stdin>:2: created_at: ")


def test_empty_stdin(db, baseline):
    out = db("import", "-", input="")
    assert out.returncode == 2
    assert out.stderr.splitlines() == ["<stdin>: empty file: expected a JSON array or JSON Lines of tickets"]
    assert_intact(db, baseline)


def test_jsonl_with_blank_lines_imports(db, baseline, tmp_path):
    text = "\n\n" + jsonl(good(ref="B-1")) + "\n  \n" + jsonl(good(ref="B-2", events=[])) + "\n\n"
    out = db("import", write(tmp_path, text))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "imported 2 tickets"
    assert db_counts(db.url) == {"tickets": 5, "events": 7, "customers": 2}
    before = db_state(db.url)
    # the same file again: both refs are now taken; nothing changes
    again = db("import", write(tmp_path, text))
    assert again.returncode == 2
    assert again.stderr.splitlines() == [
        f"{tmp_path / 'tickets.jsonl'}:3: ref: 'B-1' was already imported",
        f"{tmp_path / 'tickets.jsonl'}:6: ref: 'B-2' was already imported",
    ]
    assert db_state(db.url) == before
