"""Shared fixtures: real SQLite files in a temporary directory, a frozen clock, the contract's config."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "examples" / "deskterm.toml"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Never read or write the real user's database or configuration."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.delenv("DESKTERM_DB", raising=False)
    monkeypatch.delenv("DESKTERM_CONFIG", raising=False)


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "desk.db"


@pytest.fixture
def example_config():
    from deskterm.config import load_config

    return load_config(EXAMPLE_CONFIG)


@pytest.fixture
def frozen_clock():
    from deskterm.clock import FrozenClock

    return FrozenClock(datetime(2026, 3, 27, 15, 0, tzinfo=timezone.utc))


@pytest.fixture
def desk(db_path, example_config, frozen_clock):
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    store = open_store(db_path)
    yield Desk(store, example_config, clock=frozen_clock, user="alice")
    store.dispose()


def run_cli(*args: str, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command line, in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "deskterm.cli", *args], input=input, capture_output=True,
                          text=True, env=full_env, timeout=120)
