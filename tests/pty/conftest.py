"""Fixtures of the real-terminal layer: the installed ``deskterm`` in a pty at 80x24 (and 120x40 for the tests
marked ``both_sizes``), a private home per test, a demo desk built once (copied per test), and the command line
of a second agent."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from ptyterm import SIZES, Term, deskterm_command, private_env


def pytest_generate_tests(metafunc):
    """The terminal's size: 80x24 (an agent over SSH) for every test; 120x40 as well for the tests marked
    ``both_sizes`` (the whole shift, ``?`` on every screen), where a larger screen lays things out otherwise."""
    if "size" in metafunc.fixturenames:
        sizes = list(SIZES) if metafunc.definition.get_closest_marker("both_sizes") else ["80x24"]
        metafunc.parametrize("size", sizes, indirect=True)


@pytest.fixture
def size(request) -> tuple[int, int]:
    """(columns, rows) of the test's terminal (see pytest_generate_tests above)."""
    return SIZES[request.param]


@pytest.fixture
def home(tmp_path) -> Path:
    """The agent's home: HOME and every XDG directory inside it (state, config, cache, data)."""
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture(scope="session")
def pty_demo_template(tmp_path_factory) -> Path:
    """The demo desk (``deskterm demo``'s database and configuration), built once on the real clock."""
    from deskterm.demo import build_demo

    where = tmp_path_factory.mktemp("pty-demo") / "desk"
    build_demo(where)
    return where


@pytest.fixture
def demo_desk(tmp_path, pty_demo_template) -> Path:
    """A private copy of the demo desk: ``demo.db`` and ``deskterm.toml`` in the returned directory."""
    where = tmp_path / "desk"
    shutil.copytree(pty_demo_template, where)
    return where


class Agent:
    """One agent's session: ``start(*args)`` runs ``deskterm *args`` in a pty of the test's size; ``cli(*args)``
    runs a command (no terminal) with the same home, as a second agent on the same host would."""

    def __init__(self, home: Path, size: tuple[int, int]) -> None:
        self.home, self.size = home, size
        self.command = deskterm_command()
        self.env = private_env(home)
        self.terms: list[Term] = []

    def start(self, *args: str) -> Term:
        columns, rows = self.size
        term = Term([self.command, *args], env=self.env, columns=columns, rows=rows, cwd=str(self.home))
        self.terms.append(term)
        return term

    def cli(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [self.command, *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=str(self.home),
            timeout=60,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"deskterm {' '.join(args)} exited {done.returncode}: {done.stderr}")
        return done

    def close(self) -> None:
        for term in self.terms:
            term.close()


@pytest.fixture
def agent(home, size):
    a = Agent(home, size)
    yield a
    a.close()
