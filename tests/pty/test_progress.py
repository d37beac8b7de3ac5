"""Issue 17: long work shows its progress on stderr when it is a terminal, and nothing otherwise.

``deskterm import`` of 5,000 tickets in a pseudo-terminal draws Rich's progress line (its label, the count)
on the terminal, then clears it, and prints its result; the same import with ``--quiet``, or with stderr a pipe,
writes nothing but the result. ``db copy`` does the same.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ptyterm import Term, deskterm_command, private_env

pytestmark = pytest.mark.pty


def _tickets(path: Path, n: int) -> Path:
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    with path.open("w") as fh:
        for i in range(n):
            at = (start + timedelta(minutes=i)).isoformat()
            fh.write(json.dumps({"subject": f"ticket {i}", "customer": "Lyon", "priority": "P3", "created_at": at}))
            fh.write("\n")
    return path


def _in_terminal(argv: list[str], home: Path) -> tuple[int, bytes]:
    """The exit code and what the program wrote to the terminal, its escape sequences taken out."""
    term = Term(argv, env=private_env(home), columns=100, rows=24)
    code = term.wait_exit(timeout=120)
    return code, re.sub(rb"\x1b\[[0-9;?<>=]*[A-Za-z]", b"", term.raw())


def test_import_shows_progress_on_a_terminal_only(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    source = _tickets(tmp_path / "t.jsonl", 5000)
    deskterm = deskterm_command()

    code, raw = _in_terminal([deskterm, "--db", str(tmp_path / "a.db"), "import", str(source)], home)
    assert code == 0
    assert b"t.jsonl: importing" in raw and b"/5000" in raw and b"/s" in raw, raw[-2000:]
    assert b"imported 5000 tickets" in raw

    code, raw = _in_terminal([deskterm, "--db", str(tmp_path / "b.db"), "import", "--quiet", str(source)], home)
    assert code == 0
    assert b"importing" not in raw and b"imported 5000 tickets" in raw

    piped = subprocess.run(
        [deskterm, "--db", str(tmp_path / "c.db"), "import", str(source)],
        env=private_env(home),
        capture_output=True,
        timeout=120,
    )
    assert piped.returncode == 0
    assert piped.stderr == b"" and piped.stdout == b"imported 5000 tickets\n"

    code, raw = _in_terminal(
        [deskterm, "db", "copy", "--from", str(tmp_path / "a.db"), "--to", str(tmp_path / "d.db")], home
    )
    assert code == 0
    assert b"copying rows" in raw and b"copied 1 customers" in raw, raw[-2000:]
    piped = subprocess.run(
        [deskterm, "db", "copy", "--from", str(tmp_path / "a.db"), "--to", str(tmp_path / "e.db")],
        env=private_env(home),
        capture_output=True,
        timeout=120,
    )
    assert piped.returncode == 0 and piped.stderr == b"" and piped.stdout.startswith(b"copied ")
