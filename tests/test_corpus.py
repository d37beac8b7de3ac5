"""A corpus of malformed input (tests/corpus/), each case through the command line against a real database.

- ``import_*.json`` / ``import_*.jsonl``: ``deskterm import FILE``;
- ``config_*.toml``: ``deskterm --config FILE list``;
- ``args_*.args``: the arguments after ``deskterm --db DB --config CONFIG``, one per line (an empty line is an
  empty argument; bytes that are not UTF-8 reach the CLI as the OS passes them, surrogate-escaped), with
  standard input from ``NAME.stdin`` when that file exists.

Every case must: exit 2; print nothing on stdout; print one stderr line per problem, each naming where
(``FILE:RECORD: key``, ``FILE: key``, or the option / argument / command); print no traceback; and leave the
database file byte-identical.

"Byte-identical": the database is checkpointed (``PRAGMA wal_checkpoint(TRUNCATE)`` through sqlite3) and its
file hashed with sha256 before and after each case, and the -wal file must then be empty. This is stricter than
comparing ``iterdump()`` (which would not see a rewritten page, a bumped change counter or a no-op write
transaction); it can be, because a command that fails must not open a write transaction at all.

Speed: starting the real CLI costs about a second of CPU (imports), times 75 cases on a 2-core machine. So the
cases run in a fork server: one Python process imports ``deskterm.cli`` once, then forks a child per case; the
child points fds 0/1/2 at files and calls ``deskterm.cli.main(args)`` exactly as ``python -m deskterm.cli``
does, so exit code, stdout and stderr are those of the real command (an uncaught exception prints its
traceback and exits 1, as the interpreter would). ``test_fork_server_matches_the_real_cli`` runs a sample of
cases both ways and requires identical results.
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

# (not ``from conftest import ...``: another directory's conftest.py can shadow the module name "conftest")
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "examples" / "deskterm.toml"


def run_cli(*args: str, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command line, in a subprocess (as tests/conftest.py's run_cli)."""
    return subprocess.run([sys.executable, "-m", "deskterm.cli", *args], input=input, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)

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

SERVER = r'''
import io, json, os, sys, traceback
import deskterm.cli, deskterm.service, deskterm.importer, deskterm.store.engine  # the slow imports, once

def run(case):
    out, err, inp = case["stdout"], case["stderr"], case.get("stdin") or os.devnull
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            os.chdir(case["cwd"])
            for fd, path, flags in ((0, inp, os.O_RDONLY), (1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                    (2, err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
                f = os.open(path, flags, 0o600)
                os.dup2(f, fd)
                os.close(f)
            sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
            sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", line_buffering=False)
            sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace")
            sys.argv = ["deskterm", *case["args"]]
            try:
                deskterm.cli.main(case["args"])
                code = 0
            except SystemExit as exc:
                if exc.code is None:
                    code = 0
                elif isinstance(exc.code, int):
                    code = exc.code
                else:
                    print(exc.code, file=sys.stderr)
                    code = 1
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stdout.flush(); sys.stderr.flush()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)

for line in sys.stdin:
    case = json.loads(line)
    code = run(case)
    sys.stdout.write(json.dumps({"rc": code}) + "\n")
    sys.stdout.flush()
'''


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


def _fingerprint(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        conn.close()
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    return hashlib.sha256(db.read_bytes()).hexdigest()


class ForkServer:
    def __init__(self, workdir: Path, env: dict) -> None:
        self.workdir = workdir
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env, cwd=workdir)

    def run(self, args: list[str], stdin: Path | None = None) -> subprocess.CompletedProcess:
        out, err = self.workdir / "out.txt", self.workdir / "err.txt"
        case = {"args": args, "stdout": str(out), "stderr": str(err), "cwd": str(self.workdir), "stdin": stdin and str(stdin)}
        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        assert reply, "the fork server died"
        return subprocess.CompletedProcess(args, json.loads(reply)["rc"], out.read_text(encoding="utf-8", errors="replace"),
                                           err.read_text(encoding="utf-8", errors="replace"))

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def desk_db(tmp_path_factory):
    """A database with three valid tickets, made by the real CLI with the configuration every case uses."""
    root = tmp_path_factory.mktemp("corpus")
    db = root / "desk.db"
    seed = root / "seed.json"
    seed.write_text(json.dumps(SEED))
    r = run_cli("--db", str(db), "--config", str(EXAMPLE_CONFIG), "import", str(seed))
    assert r.returncode == 0, r.stderr
    return root, db


@pytest.fixture(scope="module")
def server(desk_db):
    root, _ = desk_db
    work = root / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DESKTERM_DB", "DESKTERM_CONFIG")}
    env.update(XDG_DATA_HOME=str(root / "xdg-data"), XDG_CONFIG_HOME=str(root / "xdg-config"))
    s = ForkServer(work, env)
    yield s
    s.close()


def _where_ok(name: str, line: str) -> bool:
    path = str(CORPUS / name)
    if name.endswith((".json", ".jsonl", ".toml")):
        return line.startswith(f"{path}:")  # FILE:RECORD: key: ... or FILE: key: ...
    return True  # an argument list: checked by EXPECT


def test_the_corpus_is_large_enough_and_every_case_has_expectations():
    kinds = {s: [c for c in CASES if c.endswith(s)] for s in (".json", ".jsonl", ".toml", ".args")}
    assert len(CASES) >= 40 and all(kinds.values()), kinds
    assert not [c for c in CASES if c.endswith(".args") and c not in EXPECT]


@pytest.mark.parametrize("name", CASES)
def test_malformed_input_is_rejected_cleanly_and_writes_nothing(name, server, desk_db):
    _, db = desk_db
    before = _fingerprint(db)
    args = ["--db", str(db), "--config", str(EXAMPLE_CONFIG), *_command(name)]
    r = server.run(args, _stdin_of(name))
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
    assert after == before, "the database file changed"


@pytest.mark.parametrize("name", ["import_missing_fields.json", "config_bad_hours.toml", "args_update_bad_priority.args",
                                  "args_show_unknown_ticket.args", "args_update_note_not_utf8.args",
                                  "args_new_description_stdin_not_utf8.args"])
def test_fork_server_matches_the_real_cli(name, server, desk_db):
    _, db = desk_db
    args = ["--db", str(db), "--config", str(EXAMPLE_CONFIG), *_command(name)]
    stdin = _stdin_of(name)
    forked = server.run(args, stdin)
    real = subprocess.run([sys.executable, "-m", "deskterm.cli", *map(os.fsencode, args)], capture_output=True,
                          input=stdin.read_bytes() if stdin else b"", cwd=server.workdir, timeout=120)
    assert (forked.returncode, forked.stdout, forked.stderr) == (real.returncode, real.stdout.decode(), real.stderr.decode())


def test_no_click_usage_block():
    """Click's usage errors become one line (``deskterm update: Invalid value ...``), not Usage:/Try/Error: blocks."""
    r = run_cli("update", "1", "--priority", "P9")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and not re.search(r"^(Usage|Try|Error):", r.stderr, re.M)
