"""A desk file that does not exist: the commands that only read it (or act on what it holds) say so and exit 2,
creating nothing; the commands that add tickets create the desk. Before, ``list`` or ``escalate-due`` pointed at
a mistyped path created an empty desk there and answered from it, exit 0: a cron line with a typo in
DESKTERM_DB escalated nothing, silently."""

from __future__ import annotations

import pytest

READS = [
    ("list",),
    ("list", "--status", "open"),
    ("show", "1"),
    ("history", "1"),
    ("report", "--since", "7d"),
    ("escalations",),
    ("handover",),
    ("escalate-due",),
]


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a))
def test_a_read_on_a_missing_desk_says_so_and_creates_nothing(cli_server, tmp_path, args):
    desk = tmp_path / "typo" / "desk.db"
    r = cli_server.run("--db", str(desk), *args)
    assert r.returncode == 2, r.stderr
    assert r.stderr == f"--db: {desk}: no desk there (the app, `deskterm new` or `deskterm import` creates one)\n"
    assert r.stdout == ""
    assert not (tmp_path / "typo").exists()


def test_the_environment_s_desk_too(cli_server, tmp_path):
    desk = tmp_path / "desk.db"
    r = cli_server.run("escalate-due", env={"DESKTERM_DB": str(desk)})
    assert r.returncode == 2 and "no desk there" in r.stderr
    assert not desk.exists()


def test_new_creates_the_desk_and_then_reads_work(cli_server, tmp_path):
    desk = tmp_path / "new" / "desk.db"
    r = cli_server.run("--db", str(desk), "new", "--subject", "Printer down", "--customer", "ACME")
    assert r.returncode == 0, r.stderr
    assert desk.exists()
    r = cli_server.run("--db", str(desk), "list", "--status", "new")
    assert r.returncode == 0 and "Printer down" in r.stdout


def test_help_of_a_read_needs_no_desk(cli_server, tmp_path):
    r = cli_server.run("--db", str(tmp_path / "none.db"), "list", "--help")
    assert r.returncode == 0 and r.stdout.startswith("Usage: deskterm list")
