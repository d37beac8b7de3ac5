"""Fixtures for the screens: a real SQLite demo desk (built once, copied per test) and a frozen clock."""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from tuihelp import NOW


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    from deskterm.clock import FrozenClock
    from deskterm.demo import build_demo

    where = tmp_path_factory.mktemp("demo-template")
    build_demo(where, tickets=300, clock=FrozenClock(NOW), story=False)  # the screens' tests add what they need
    return where


@pytest.fixture
def clock():
    from deskterm.clock import FrozenClock

    return FrozenClock(NOW)


@pytest.fixture
def demo(tmp_path, demo_template, clock):
    """(db path, config, clock) of a private copy of the demo desk."""
    from deskterm.config import load_config

    for f in demo_template.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "demo.db", load_config(tmp_path / "deskterm.toml"), clock


@pytest.fixture
def make_app(demo):
    from deskterm.tui.app import DeskApp

    def make(user: str = "alice", db=None, config=None, clock=None):
        d, c, k = demo
        return DeskApp(db=str(db or d), config=config or c, clock=clock or k, user=user)

    return make


@pytest.fixture
def other_desk(demo):
    """A second Desk on the same file: another agent's process, as far as the app can tell."""
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    db, config, clock = demo
    store = open_store(db)
    yield Desk(store, config, clock=clock, user="bob")
    store.dispose()


ESCALATION_CONFIG = """

[groups.L2-network]
level = "L2"
[groups.L3-vendor]
level = "L3"

[escalation]
managers = ["duty-manager"]
ack_within = "10m"
bell = true

[[escalation.rules]]
when = "resolution.breached"
priority = ["P1"]
action = "hierarchical"
to = "duty-manager"
"""


@pytest.fixture
def esc_config(demo):
    """The demo configuration with two groups above L1, a manager, the bell and one automatic rule."""
    from deskterm.config import parse_config

    db, _, _ = demo
    path = db.parent / "deskterm.toml"
    text = path.read_text(encoding="utf-8") + ESCALATION_CONFIG
    path.write_text(text, encoding="utf-8")
    return parse_config(tomllib.loads(text), str(path))


@pytest.fixture
def screen_config(esc_config):
    """The same configuration without the automatic rules: the running app applies rules by itself (every 30 s
    and when it opens), which would add escalations to those a screen test arranges."""
    return replace(esc_config, escalation=replace(esc_config.escalation, rules=()))
