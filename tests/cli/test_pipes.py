"""A command whose reader goes away (``deskterm list | head``): it stops quietly, exit 1, nothing on stderr. The
list's rows come from a cursor on the desk: it was closed at exit, after its connection, with a traceback
("Exception ignored in: <generator object PlainDesk.list_lines…>")."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from deskterm_testing import EXAMPLE_CONFIG, patience


@pytest.fixture
def many(tmp_path):
    """A desk of 5,000 open tickets (more than a batch of the cursor, 2,000): ``list`` prints more than a pipe
    holds (64 KiB)."""
    source = tmp_path / "t.jsonl"
    source.write_text(
        "".join(
            json.dumps(
                {
                    "subject": f"Printer {i} jams on every page",
                    "customer": "Acme",
                    "priority": "P3",
                    "created_at": "2026-03-02T09:00:00+01:00",
                }
            )
            + "\n"
            for i in range(5000)
        )
    )
    db = tmp_path / "desk.db"
    base = [sys.executable, "-m", "deskterm.cli", "--db", str(db), "--config", str(EXAMPLE_CONFIG)]
    done = subprocess.run([*base, "import", str(source)], capture_output=True, text=True, timeout=patience(120))
    assert done.returncode == 0, done.stderr
    return base


@pytest.mark.parametrize("args", [["list", "--status", "new"], ["list"]], ids=["from-deadlines", "replayed"])
def test_a_reader_gone_stops_the_list_quietly(many, args):
    proc = subprocess.Popen([*many, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().split()[:2] == [b"ID", b"PRIO"]
    proc.stdout.close()  # as `head -1` exits
    _, err = proc.communicate(timeout=patience(60))
    assert (proc.returncode, err) == (1, b"")
