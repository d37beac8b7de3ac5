"""A holidays cache of the wrong shape (or not JSON) is harmless: the command works, says so in one line on
stderr, and the cache is rewritten (the next command says nothing). It made every command print a traceback."""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from deskterm_testing import EXAMPLE_CONFIG, run_cli


@pytest.fixture(autouse=True)
def _forked_cli(cli_server, monkeypatch):
    """``run_cli`` here is the session's fork server (the same command line, without a second of imports each)."""
    monkeypatch.setattr(sys.modules[__name__], "run_cli", cli_server.run)


WRONG = {
    "a list": "[]",
    "null": "null",
    "a string": '"x"',
    "broken JSON": '{"FR": ',
    "a code holding a list": '{"FR": []}',
    "a year holding a list": '{"FR": {"2026": []}}',
    "a date that is not one": '{"FR": {"2026": {"14 July": "Fête nationale"}}}',
    "a name that is not text": '{"FR": {"2026": {"2026-07-14": 5}}}',
    "a year that is not one": '{"FR": {"twenty": {"2026-07-14": "Fête nationale"}}}',
}


def _cache(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "deskterm" / f"holidays-{version('holidays')}.json"


@pytest.mark.parametrize("content", list(WRONG.values()), ids=list(WRONG))
def test_a_damaged_holiday_cache_is_harmless(tmp_path, content):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_DATA_HOME": str(tmp_path / "data")}
    db = str(tmp_path / "desk.db")
    cache = _cache(tmp_path)
    cache.parent.mkdir(parents=True)
    cache.write_text(content, encoding="utf-8")
    # the configuration's calendar has FR holidays: every command reads the cache
    new = run_cli(
        "--db",
        db,
        "--config",
        str(EXAMPLE_CONFIG),
        "new",
        "--new-customer",
        "--subject",
        "VPN down",
        "--customer",
        "Banque Rhône-Alpes",
        "--priority",
        "P3",
        env=env,
    )
    assert new.returncode == 0, new.stderr
    assert "Traceback" not in new.stderr
    [warning] = new.stderr.splitlines()
    assert warning.startswith("deskterm: warning: ") and str(cache) in warning and "damaged" in warning
    kept = json.loads(cache.read_text(encoding="utf-8"))  # rewritten, sound
    assert isinstance(kept, dict) and all(isinstance(y, dict) for y in kept.values())
    again = run_cli("--db", db, "--config", str(EXAMPLE_CONFIG), "show", "1", env=env)
    assert again.returncode == 0 and again.stderr == ""
