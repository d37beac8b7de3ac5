"""`deskterm triage` through the real command line (issue 15): `--evaluate` on the demo desk beats the
majority baseline for every field; `triage ID --json` prints the suggestions; `--accept`
applies them; bad input is one line, exit 2, nothing written."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from deskterm_testing import db_state


@pytest.fixture(scope="module")
def demo_desk(tmp_path_factory):
    from deskterm.clock import FrozenClock
    from deskterm.demo import build_demo

    where = tmp_path_factory.mktemp("triage-demo")
    db, _ = build_demo(where, clock=FrozenClock(datetime(2026, 11, 30, 10, 0, tzinfo=UTC)))
    return db, where / "deskterm.toml"


@pytest.fixture
def cli(demo_desk, cli_server):
    db, cfg = demo_desk

    def run(*args: str):
        return cli_server.run("--db", str(db), "--config", str(cfg), *args)

    return run


def test_evaluate_beats_the_majority_baseline_on_the_demo_desk(cli):
    r = cli("triage", "--evaluate", "--json")
    assert r.returncode == 0, r.stderr
    e = json.loads(r.stdout)
    assert e["train"] > 100 and e["test"] > 30
    category, kind = e["fields"]["category"], e["fields"]["type"]
    assert category["accuracy"] > 3 * category["baseline"]["accuracy"] and category["accuracy"] > 0.7
    assert kind["accuracy"] >= kind["baseline"]["accuracy"]
    # the demo's groups follow its categories and its impact its categories' scope (demo_tickets.py): both learnt
    group, impact = e["fields"]["group"], e["fields"]["impact_urgency"]
    assert group["accuracy"] > 1.5 * group["baseline"]["accuracy"]
    assert group["precision"] > group["baseline"]["when_suggested"]
    assert impact["accuracy"] > impact["baseline"]["accuracy"]
    assert category["precision"] >= category["accuracy"] * 0.95  # above the threshold, at least as right
    text = cli("triage", "--evaluate").stdout
    assert "baseline" in text and "category" in text


def test_to_triage_and_the_suggestions_of_one_ticket(cli, demo_desk):
    r = cli("triage", "--json")
    assert r.returncode == 0, r.stderr
    waiting = json.loads(r.stdout)
    assert waiting
    first = waiting[-1]["id"]
    r = cli("triage", str(first), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["id"] == first and set(out) >= {"suggestions", "below_threshold", "duplicates", "helpful"}
    for vote in out["suggestions"].values():
        assert vote["confidence"] >= out["threshold"]
    assert "Traceback" not in cli("triage", str(first)).stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("triage", "99999"), "ticket 99999: no such ticket"),
        (("triage", "1", "--threshold", "2"), "--threshold: 2.0 is not a confidence between 0 and 1"),
        (("triage", "1", "--set", "category=network/vpn"), "--set: goes with --accept"),
        (("triage", "1", "--accept", "--set", "category"), "--set: 'category' is not FIELD=VALUE"),
        (("triage", "1", "--accept", "--set", "category=zzz"), "category: 'zzz' is not a category of the taxonomy"),
        (("triage", "--evaluate", "--test-share", "1.5"), "--test-share: 1.5 is not a share between 0 and 1"),
        (("triage", "--accept"), "--accept: give the TICKET"),
    ],
)
def test_bad_input(cli, demo_desk, args, message):
    before = db_state(str(demo_desk[0]))
    r = cli(*args)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1].endswith(message) or message in r.stderr.strip().splitlines()[-1]
    assert len([line for line in r.stderr.splitlines() if "warning" not in line]) == 1
    assert "Traceback" not in r.stderr
    assert db_state(str(demo_desk[0])) == before
