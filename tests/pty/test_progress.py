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

from deskterm_testing import EXAMPLE_CONFIG, patience

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


def _stdout_to_file(argv: list[str], out: Path) -> list[str]:
    """``argv`` with its standard output to ``out`` and its standard error still the terminal."""
    return ["sh", "-c", 'out="$1"; shift; exec "$@" > "$out"', "sh", str(out), *argv]


def _changed_config(tmp_path: Path, name: str, warn_at: str) -> Path:
    """The example configuration with every policy's warning at another share of its target: another SLA
    configuration, so that every open ticket's deadlines are derived again (``Desk.rederive``)."""
    text = EXAMPLE_CONFIG.read_text()
    changed = re.sub(r"(?m)^warn_at = .*$", f"warn_at = {warn_at}", text)
    assert changed != text
    path = tmp_path / name
    path.write_text(changed)
    return path


def test_report_and_rederive_show_progress_on_a_terminal_only(tmp_path):
    """A year's ``report`` draws the tickets folded so far, of those of the period, on the terminal
    and prints on standard output exactly what it prints into a pipe or with ``--quiet``; so does the
    continuous-improvement report. A command after a change of the SLA configuration draws the deadlines derived
    again ("SLA changed: …") on a terminal, and nothing into a pipe or with ``--quiet``."""
    home = tmp_path / "home"
    home.mkdir()
    source = _tickets(tmp_path / "t.jsonl", 3000)
    deskterm = deskterm_command()
    db = str(tmp_path / "a.db")
    first = _changed_config(tmp_path, "first.toml", "0.7")
    second = _changed_config(tmp_path, "second.toml", "0.6")
    third = _changed_config(tmp_path, "third.toml", "0.5")
    env = private_env(home)
    imported = subprocess.run(
        [deskterm, "--db", db, "--config", str(first), "import", str(source)], env=env, capture_output=True
    )
    assert imported.returncode == 0, imported.stderr
    year = ["--since", "2025-06-01T00:00:00Z", "--until", "2026-06-01T00:00:00Z"]

    def piped(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([deskterm, "--db", db, *args], env=env, capture_output=True, timeout=120)

    # the report: on a terminal, its steps; on standard output the same bytes as into a pipe
    out = tmp_path / "report.md"
    code, raw = _in_terminal(
        _stdout_to_file([deskterm, "--db", db, "--config", str(first), "report", *year], out), home
    )
    assert code == 0, raw[-2000:]
    assert b"computing KPIs" in raw and b"/3000" in raw, raw[-2000:]
    through_pipe = piped("--config", str(first), "report", *year)
    assert through_pipe.returncode == 0 and through_pipe.stderr == b""
    assert out.read_bytes() == through_pipe.stdout and b"| opened | 3000 |" in through_pipe.stdout
    code, raw = _in_terminal(
        _stdout_to_file([deskterm, "--db", db, "--config", str(first), "report", "--quiet", *year], out), home
    )
    assert code == 0 and raw.strip() == b"", raw[-2000:]
    assert out.read_bytes() == through_pipe.stdout

    # --by: the same pass, the groups folded beside the whole
    code, raw = _in_terminal(
        _stdout_to_file([deskterm, "--db", db, "--config", str(first), "report", "--by", "priority", *year], out), home
    )
    assert code == 0 and b"computing KPIs" in raw, raw[-2000:]
    assert out.read_bytes() == piped("--config", str(first), "report", "--by", "priority", *year).stdout

    # the continuous-improvement report: its months computed as one step
    improvement = ["improvement", "--month", "2026-03"]
    code, raw = _in_terminal(_stdout_to_file([deskterm, "--db", db, "--config", str(first), *improvement], out), home)
    assert code == 0 and b"computing KPIs" in raw, raw[-2000:]
    assert out.read_bytes() == piped("--config", str(first), *improvement).stdout

    # another SLA configuration: the first command derives every open ticket's deadlines again, and says so
    # (as of a fixed instant: the time left shown moves with the clock, and two listings a minute apart differ)
    listing = ["list", "--status", "new", "--at", "2026-06-01T00:00:00Z"]
    code, raw = _in_terminal(_stdout_to_file([deskterm, "--db", db, "--config", str(second), *listing], out), home)
    assert code == 0, raw[-2000:]
    assert b"SLA changed: reading histories" in raw and b"SLA changed: deriving deadlines" in raw, raw[-2000:]
    assert b"SLA changed: writing deadlines" in raw and b"/3000" in raw, raw[-2000:]
    assert out.read_bytes() == piped("--config", str(second), *listing).stdout  # (derived already: no progress)
    code, raw = _in_terminal(_stdout_to_file([deskterm, "--db", db, "--config", str(second), *listing], out), home)
    assert code == 0 and raw.strip() == b"", raw[-2000:]  # the same configuration again: no work, nothing drawn
    # into a pipe, and with a command's --quiet: the work is done, nothing is said
    changed = piped("--config", str(third), *listing)
    assert changed.returncode == 0 and changed.stderr == b"" and changed.stdout == out.read_bytes()
    code, raw = _in_terminal(
        _stdout_to_file([deskterm, "--db", db, "--config", str(first), "report", "--quiet", *year], out), home
    )
    assert code == 0 and raw.strip() == b"", raw[-2000:]
    assert out.read_bytes() == through_pipe.stdout


def test_the_app_says_how_far_its_first_load_has_got(tmp_path):
    """The app at 80x24 on a desk whose SLA configuration changed: the queue's status line says the deadlines
    derived again and how many of the open tickets, instead of "Opening the desk…" over an empty table, then
    the rows come; q quits."""
    home = tmp_path / "home"
    home.mkdir()
    source = _tickets(tmp_path / "t.jsonl", 6000)
    deskterm = deskterm_command()
    db = str(tmp_path / "a.db")
    first = _changed_config(tmp_path, "first.toml", "0.7")
    second = _changed_config(tmp_path, "second.toml", "0.6")
    env = private_env(home)
    imported = subprocess.run(
        [deskterm, "--db", db, "--config", str(first), "import", "--quiet", str(source)], env=env, capture_output=True
    )
    assert imported.returncode == 0, imported.stderr
    term = Term([deskterm, "--db", db, "--config", str(second)], env=env, columns=80, rows=24)
    seen: list[str] = []
    try:

        def rows_shown(shown: str) -> bool:
            status = shown.split("\n")[1] if "\n" in shown else ""
            if status.strip() and (not seen or seen[-1] != status.strip()):
                seen.append(status.strip())
            return bool(re.search(r"\d+ tickets ·", status))

        term.wait_until(rows_shown, "the queue's rows", timeout=patience(120))
        deriving = [s for s in seen if s.startswith("SLA changed: ")]
        assert deriving, seen
        assert any(re.fullmatch(r"SLA changed: deriving deadlines: [\d,]+ of 6,000…", s) for s in deriving), seen
        term.press("q")
        assert term.wait_exit(timeout=patience(30)) == 0
    finally:
        term.close()
