"""A corpus of malformed input (tests/corpus/), each case through the command line against a real database, on
SQLite and on PostgreSQL.

- ``import_*.json`` / ``import_*.jsonl``: ``deskterm import FILE``;
- ``config_*.toml``: ``deskterm --config FILE list``;
- ``args_*.args``: the arguments after ``deskterm --db DB --config CONFIG``, one per line (an empty line is an
  empty argument; bytes that are not UTF-8 reach the CLI as the OS passes them, surrogate-escaped), with
  standard input from ``NAME.stdin`` when that file exists.

Every case must, on both engines: exit 2; print nothing on stdout; print one stderr line per problem, each
naming where (``FILE:RECORD: key``, ``FILE: key``, or the option / argument / command); print no traceback;
and leave the database exactly as it was. The cases about a SQLite file path (``--db`` naming a directory)
run on SQLite only: with a PostgreSQL URL they would be the very same command.

"Exactly as it was", on SQLite: byte-identical. The database is checkpointed (``PRAGMA wal_checkpoint(TRUNCATE)``
through sqlite3) and its file hashed with sha256 before and after each case, and the -wal file must then be
empty. This is stricter than comparing ``iterdump()`` (which would not see a rewritten page, a bumped change
counter or a no-op write transaction); it can be, because a command that fails must not open a write
transaction at all. On PostgreSQL there is no file to hash: every row of every table and every sequence's last
value (``deskterm_testing.db_state``) must be unchanged; a sequence does not roll back, so even a row inserted
then rolled back would show.

Speed: starting the real CLI costs about a second of CPU (imports), times 75 cases, times two engines, on a
2-core machine. So the cases run through the fork server of tests/deskterm_testing.py (``CliServer``): one
Python process imports ``deskterm.cli`` once, then forks a child per case that runs ``deskterm.cli.main(args)``
exactly as ``python -m deskterm.cli`` does. ``test_fork_server_matches_the_real_cli*`` run a sample of cases
both ways, on both engines, and require identical results (the CLI tests of tests/cli rely on it too). One
database per engine serves every case: the cases must not write, and each is checked for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from deskterm_testing import EXAMPLE_CONFIG, db_state, is_pg, run_cli

pytestmark = pytest.mark.engines("sqlite", "postgresql", scope="module")

CORPUS = Path(__file__).with_name("corpus")
CASES = sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".json", ".jsonl", ".toml", ".args"))

# What each line of stderr must name, beyond the generic rule of its kind (see _where_ok).
EXPECT: dict[str, list[str]] = {
    "import_missing_fields.json": ["subject: missing", "customer: missing", "created_at: missing", "priority: missing"],
    "import_bad_priority.json": ["priority:"],
    "import_priority_lowercase.json": ["priority:"],
    "import_bad_timestamp.jsonl": [":2: created_at:"],
    "import_naive_timestamp.json": ["created_at:"],
    "import_unknown_key.jsonl": [":1: colour: unknown key"],
    "import_event_before_created.json": ["events[1].at"],
    "import_events_out_of_order.jsonl": ["events[2].at"],
    "import_bad_event_kind.json": ["events[1].kind"],
    "import_bad_status_to.json": ["events[1].to"],
    "import_event_missing_fields.json": ["events[1].author", "events[1].body", "events[1].public"],
    "import_reply_wrong_types.json": ["events[1].public"],
    "import_events_not_a_list.json": ["events:"],
    "import_duplicate_ref_in_file.jsonl": [":2: ref:"],
    "import_ref_already_imported.json": [":2: ref:"],
    "import_impact_without_urgency.json": ["urgency:"],
    "import_bad_type.json": ["type:"],
    "import_blank_subject.json": ["subject:", "customer:"],
    "import_one_bad_line.jsonl": [":2: created_at:"],
    "import_not_objects.json": [":1:", ":2:", ":3:", ":4:"],
    "config_bad_timezone.toml": [": timezone:"],
    "config_unknown_key.toml": [": colour:"],
    "config_bad_duration.toml": ["policies.gold.P1.first_response", "policies.gold.P3.resolution", "policies.gold.P4.resolution"],
    "config_unknown_calendar.toml": ["policies.gold.calendar"],
    "config_unknown_policy_for_customer.toml": ["policy"],
    "config_bad_hours.toml": ["calendars.office.mon", "calendars.office.tue", "calendars.office.wed"],
    "config_warn_at_out_of_range.toml": ["policies.gold.warn_at"],
    "config_bad_holidays.toml": ["calendars.office.holidays", "calendars.office.closed"],
    "config_missing_priority.toml": ["policies.gold.P1.overtime", "policies.gold.P2"],
    "config_wrong_types.toml": ["timezone", "calendars", "policies"],
    "args_update_bad_priority.args": ["--priority"],
    "args_list_at_yesterday.args": ["--at"],
    "args_list_at_without_offset.args": ["--at"],
    "args_show_at_bad_date.args": ["--at"],
    "args_new_empty_subject.args": ["--subject"],
    "args_new_blank_customer.args": ["--customer"],
    "args_new_missing_customer.args": ["--customer"],
    "args_new_impact_without_urgency.args": ["--impact", "--urgency"],
    "args_new_impact_out_of_range.args": ["--impact"],
    "args_new_bad_type.args": ["--type"],
    "args_update_expect_version_abc.args": ["--expect-version"],
    "args_update_nothing.args": ["nothing to change"],
    "args_update_unknown_ticket.args": ["ticket 999"],
    "args_update_bad_status.args": ["--status"],
    "args_update_empty_note.args": ["note"],
    "args_update_empty_group.args": ["group"],
    "args_update_priority_no_value.args": ["--priority"],
    "args_show.args": ["TICKET"],
    "args_show_unknown_ticket.args": ["ticket NOPE-1"],
    "args_history_unknown_ticket.args": ["ticket #999"],
    "args_unknown_command.args": ["frobnicate"],
    "args_unknown_option.args": ["--colour"],
    "args_list_bad_status.args": ["--status"],
    "args_import_missing_file.args": ["/nonexistent/deskterm/tickets.json:"],
    "args_import_no_file.args": ["FILE"],
    "args_db_is_a_directory.args": ["--db"],
    "args_config_missing.args": ["/nonexistent/deskterm.toml:"],
    "args_extra_argument.args": ["2"],
    "args_show_huge_number.args": ["ticket 99999999999999999999999"],
    "args_show_superscript_digit.args": ["ticket ²"],
    "args_update_note_not_utf8.args": ["note:"],
    "args_new_description_stdin_not_utf8.args": ["--description"],
    "import_lone_surrogate.json": [":1: subject:", ":1: events[1].body:"],
    # issue 13 item 22: dates outside 1970-2200, durations beyond 100 years, an import dated in the future
    "args_show_at_year_1.args": ["--at", "outside the years 1970 to 2200"],
    "args_handover_at_year_1.args": ["--at", "outside the years 1970 to 2200"],
    "args_handover_at_year_9999.args": ["--at", "outside the years 1970 to 2200"],
    "args_report_since_year_1.args": ["--since", "outside the years 1970 to 2200"],
    "args_report_since_huge_duration.args": ["--since", "longer than 100 years"],
    "args_report_until_before_1970.args": ["--until", "outside the years 1970 to 2200"],
    "args_list_at_after_2200.args": ["--at", "outside the years 1970 to 2200"],
    "args_escalate_due_at_before_1970.args": ["--at", "outside the years 1970 to 2200"],
    "import_created_in_future.json": [":1: created_at:", "in the future"],
    "import_event_in_future.json": [":1: events[2].at:", "in the future"],
    "import_created_year_1.json": [":1: created_at: outside the years 1970 to 2200"],
    "config_duration_too_long.toml": ["policies.gold.P1.first_response", "longer than 100 years"],
}

SEED = [
    {"ref": "SEED-1", "subject": "VPN down for ward B", "customer": "Clinique Saint-Jean", "priority": "P2",
     "created_at": "2026-03-27T16:05:00+01:00",
     "events": [{"at": "2026-03-27T16:20:00+01:00", "kind": "reply", "public": True, "author": "alice", "body": "On it."},
                {"at": "2026-03-27T16:40:00+01:00", "kind": "status", "to": "pending"}]},
    {"ref": "SEED-2", "subject": "New laptop", "customer": "Acme", "impact": 3, "urgency": 2, "type": "request",
     "created_at": "2026-03-26T10:00:00Z"},
    {"ref": "SEED-3", "subject": "Printer", "customer": "Acme", "priority": "P4", "created_at": "2026-03-25T08:00:00Z"},
]


def _args_of(name: str) -> list[str]:
    data = (CORPUS / name).read_bytes()
    data = data[:-1] if data.endswith(b"\n") else data
    return [os.fsdecode(a) for a in data.split(b"\n")]


def _stdin_of(name: str) -> Path | None:
    path = CORPUS / (Path(name).stem + ".stdin")
    return path if path.exists() else None


def _command(name: str) -> list[str]:
    path = str(CORPUS / name)
    if name.endswith(".toml"):
        return ["--config", path, "list"]
    if name.endswith(".args"):
        return _args_of(name)
    return ["import", path]


def _fingerprint(db: str) -> object:
    if is_pg(db):
        return db_state(db)
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        conn.close()
    wal = Path(db + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    return hashlib.sha256(Path(db).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def desk_db(module_db_url, cli_server, tmp_path_factory):
    """A database with three valid tickets, made by the CLI with the configuration every case uses (one per
    engine), and the working directory the cases run in."""
    root = tmp_path_factory.mktemp("corpus")
    seed = root / "seed.json"
    seed.write_text(json.dumps(SEED))
    r = cli_server.run("--db", module_db_url, "--config", str(EXAMPLE_CONFIG), "import", str(seed))
    assert r.returncode == 0, r.stderr
    work = root / "work"
    work.mkdir()
    return module_db_url, work


def _where_ok(name: str, line: str) -> bool:
    path = str(CORPUS / name)
    if name.endswith((".json", ".jsonl", ".toml")):
        return line.startswith(f"{path}:")  # FILE:RECORD: key: ... or FILE: key: ...
    return True  # an argument list: checked by EXPECT


# Cases about the SQLite file named by --db: they override --db, so on PostgreSQL they would run the same command.
SQLITE_FILE_CASES = ["args_db_is_a_directory.args"]


def test_the_corpus_is_large_enough_and_every_case_has_expectations():
    kinds = {s: [c for c in CASES if c.endswith(s)] for s in (".json", ".jsonl", ".toml", ".args")}
    assert len(CASES) >= 40 and all(kinds.values()), kinds
    assert not [c for c in CASES if c.endswith(".args") and c not in EXPECT]
    assert set(SQLITE_FILE_CASES) <= set(CASES)


def _rejected_cleanly(name: str, cli_server, desk_db) -> None:
    db, work = desk_db
    before = _fingerprint(db)
    args = ["--db", db, "--config", str(EXAMPLE_CONFIG), *_command(name)]
    r = cli_server.run(*args, stdin=_stdin_of(name), cwd=work)
    after = _fingerprint(db)

    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.rstrip("\n").split("\n")
    assert lines and all(line.strip() for line in lines), repr(r.stderr)
    for line in lines:
        assert _where_ok(name, line), f"does not say where: {line!r}"
        assert len(line) < 2000, "one problem per line, not a dump"
    for needle in EXPECT.get(name, []):
        assert any(needle in line for line in lines), f"{needle!r} not named in:\n{r.stderr}"
    if name.endswith(".args"):
        # a problem of the command line names the option, argument or command on every line
        assert all(any(n in line for n in EXPECT[name]) for line in lines), r.stderr
    assert after == before, "the database changed"


@pytest.mark.parametrize("name", [c for c in CASES if c not in SQLITE_FILE_CASES])
def test_malformed_input_is_rejected_cleanly_and_writes_nothing(name, cli_server, desk_db):
    _rejected_cleanly(name, cli_server, desk_db)


@pytest.mark.engines("sqlite")
@pytest.mark.parametrize("name", SQLITE_FILE_CASES)
def test_malformed_sqlite_file_argument_is_rejected_cleanly(name, cli_server, desk_db):
    _rejected_cleanly(name, cli_server, desk_db)


def _both_ways(args: list[str], stdin: Path | None, cli_server, work: Path) -> None:
    forked = cli_server.run(*args, stdin=stdin, cwd=work)
    real = subprocess.run([sys.executable, "-m", "deskterm.cli", *map(os.fsencode, args)], capture_output=True,
                          input=stdin.read_bytes() if stdin else b"", cwd=work, timeout=120)
    assert (forked.returncode, forked.stdout, forked.stderr) == (real.returncode, real.stdout.decode(), real.stderr.decode())


# Cases that fail before the database is opened (configuration, arguments, standard input): one engine is enough.
@pytest.mark.engines("sqlite")
@pytest.mark.parametrize("name", ["import_missing_fields.json", "config_bad_hours.toml", "args_update_bad_priority.args",
                                  "args_update_note_not_utf8.args", "args_new_description_stdin_not_utf8.args"])
def test_fork_server_matches_the_real_cli(name, cli_server, desk_db):
    db, work = desk_db
    _both_ways(["--db", db, "--config", str(EXAMPLE_CONFIG), *_command(name)], _stdin_of(name), cli_server, work)


# Commands that read the database, on each engine: a refusal and a success (what the CLI tests mostly run).
@pytest.mark.parametrize("command", [_command("args_show_unknown_ticket.args"),
                                     ["show", "SEED-1", "--json", "--at", "2026-03-28T12:00:00+01:00"]],
                         ids=["show-unknown", "show-json"])
def test_fork_server_matches_the_real_cli_on_the_database(command, cli_server, desk_db):
    db, work = desk_db
    _both_ways(["--db", db, "--config", str(EXAMPLE_CONFIG), *command], None, cli_server, work)


def test_no_click_usage_block():
    """Click's usage errors become one line (``deskterm update: Invalid value ...``), not Usage:/Try/Error: blocks."""
    r = run_cli("update", "1", "--priority", "P9")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and not re.search(r"^(Usage|Try|Error):", r.stderr, re.M)
