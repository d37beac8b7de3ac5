"""The directory of agents (issue 14): who may be given a ticket, "did you mean", shifts and the roster.
Real desks (SQLite, and PostgreSQL for the service), the command line through subprocess."""

from __future__ import annotations

import grp
import json
import os
import tomllib
from dataclasses import replace

import pytest

from deskterm.clock import os_user
from deskterm.config import parse_config
from deskterm.domain.agents import AgentEntry, Directory
from deskterm.errors import BadInput
from deskterm.service import Change, Desk, NewTicket
from deskterm_testing import EXAMPLE_CONFIG

pytestmark = pytest.mark.engines("sqlite", "postgresql")


def _ticket(desk: Desk) -> int:
    return desk.create(
        NewTicket(subject="VPN down", customer="Clinique Saint-Jean", priority="P2", created_at=desk.clock.now())
    ).id


def _as(desk: Desk, user: str, config=None) -> Desk:
    return Desk(desk.store, config or desk.config, clock=desk.clock, user=user)


def test_an_unknown_assignee_is_refused_with_the_closest_names(desk):
    tid = _ticket(desk)
    _as(desk, "alice").update(tid, Change(note="looking"))  # alice has worked on the desk
    with pytest.raises(BadInput) as refused:
        desk.update(tid, Change(assign="alcie"))
    assert "unknown agent 'alcie' (did you mean alice?)" in str(refused.value)
    assert desk.ticket(tid).assignee is None
    assert not [e for e in desk.ticket(tid).events if e.kind == "assign"]


def test_known_names_any_case_display_names_me_and_none(desk):
    config = replace(desk.config, agents=(AgentEntry("bruno", display="Bruno Petit", groups=("L1",)),))
    me = _as(desk, "alice", config)
    tid = _ticket(me)
    me.update(tid, Change(assign="Bruno Petit"))
    assert me.ticket(tid).assignee == "bruno"  # configured: known before ever writing
    me.update(tid, Change(assign="ALICE"))  # alice: the agent making the change
    assert me.ticket(tid).assignee == "alice"
    me.update(tid, Change(assign="none"))
    assert me.ticket(tid).assignee is None
    me.update(tid, Change(assign="me"))
    assert me.ticket(tid).assignee == "alice"


def test_a_typo_is_not_registered_as_an_agent_any_more(desk):
    lenient = _as(desk, "alice", replace(desk.config, allow_new_agents=True))
    tid = _ticket(lenient)
    lenient.update(tid, Change(assign="newcomer"))  # allowed by [directory] allow_new
    assert lenient.ticket(tid).assignee == "newcomer"
    assert "newcomer" not in desk.directory()  # assigned, but has never worked on the desk
    assert "alice" in desk.directory()


def test_unix_group_members_are_agents(desk):
    group = grp.getgrgid(os.getgid()).gr_name
    config = replace(desk.config, unix_group=group)
    assert os_user() in _as(desk, "alice", config).directory()
    assert Directory.of([], ["x"]).names == ("x",)


def test_an_os_account_maps_to_its_agent(desk):
    config = replace(desk.config, agents=(AgentEntry("amartin", display="Alice Martin", os_user=os_user()),))
    assert Desk(desk.store, config, clock=desk.clock).user == "amartin"


def test_shift_and_roster(desk):
    alice, bruno = _as(desk, "alice"), _as(desk, "bruno")
    tid, other = _ticket(alice), _ticket(alice)
    alice.update(tid, Change(assign="me"))
    since = bruno.shift(True)
    assert since == desk.clock.now()
    desk.clock.advance(minutes=5)
    assert bruno.shift(True) == since  # starting again keeps the beginning
    bruno.update(other, Change(assign="me"))
    roster = alice.roster()
    assert [(name, start, load) for name, _, start, load in roster] == [("bruno", since, 1), ("alice", None, 1)]
    assert bruno.shift(False) is None
    desk.clock.advance(hours=1)
    alice.shift(True)
    desk.clock.advance(hours=13)  # a shift nobody ended is over after 12 hours
    assert [(n, start) for n, _, start, _ in alice.roster()] == [("alice", None), ("bruno", None)]


def test_agents_configuration_is_checked():
    text = (
        EXAMPLE_CONFIG.read_text(encoding="utf-8")
        + """
[agents.alice]
name = "Alice Martin"
groups = ["L9"]
colour = "red"

[agents.me]

[directory]
allow_new = "yes"
"""
    )
    with pytest.raises(BadInput) as bad:
        parse_config(tomllib.loads(text), "desk.toml")
    problems = "\n".join(bad.value.problems if hasattr(bad.value, "problems") else [str(bad.value)])
    for expected in (
        "agents.alice.groups: unknown group 'L9'",
        "agents.alice.colour: unknown key",
        "agents.me: not a name an agent can have",
        "directory.allow_new: must be true or false",
    ):
        assert expected in str(bad.value) or expected in problems


@pytest.mark.engines("sqlite")
def test_cli_refuses_an_unknown_assignee_in_one_line_and_lists_agents(tmp_path, cli_server):
    db = str(tmp_path / "desk.db")
    run_cli = cli_server.run  # the real command line, forked from a preloaded process
    assert run_cli("--db", db, "new", "--subject", "x", "--customer", "y", "--new-customer").returncode == 0
    typo = run_cli("--db", db, "update", "1", "--assign", os_user()[:-1] + "x")
    assert typo.returncode == 2
    assert typo.stderr.count("\n") == 1 and "unknown agent" in typo.stderr and "Traceback" not in typo.stderr
    assert run_cli("--db", db, "shift", "start").returncode == 0
    listed = json.loads(run_cli("--db", db, "agents", "--json").stdout)
    assert [(a["name"], a["on_shift_since"] is not None) for a in listed] == [(os_user(), True)]
    assert run_cli("--db", db, "shift", "end").stdout.strip() == f"{os_user()}: off shift"
