"""`make check` fails on a planted violation of each guardrail: lint, import contracts, types, formatting.

Each test copies the package and pyproject.toml to a temporary directory, plants one small violating file,
and runs there the very commands of the Makefile's ``check`` recipe (with this venv's tools), which must
stop with an error that names the plant.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deskterm_testing import ROOT, patience

BIN = Path(sys.executable).parent


def check_commands() -> list[str]:
    """The recipe of ``make check``, its lines in order, ``$(BIN)`` made this venv's bin directory."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("check:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip().replace("$(BIN)", str(BIN)))
    return recipe


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of what ``make check`` reads; the copy's package is the one analysed (PYTHONPATH)."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("tests", "benchmarks", "scripts"):
        (root / name).mkdir()
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    if (ROOT / ".mypy_cache").is_dir():  # a warm cache keeps the type check to a few seconds
        shutil.copytree(ROOT / ".mypy_cache", root / ".mypy_cache")
    return root


def make_check(root: Path) -> subprocess.CompletedProcess:
    """Run the recipe's commands in order, stopping at the first that fails (as make does)."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    out = ""
    for command in check_commands():
        r = subprocess.run(
            command, shell=True, cwd=root, env=env, capture_output=True, text=True, timeout=patience(240)
        )
        out += r.stdout + r.stderr
        if r.returncode != 0:
            return subprocess.CompletedProcess(command, r.returncode, out, "")
    return subprocess.CompletedProcess("make check", 0, out, "")


def plant(root: Path, relative: str, text: str) -> None:
    (root / "src" / "deskterm" / relative).write_text(text)


def test_the_recipe_runs_the_three_tools():
    tools = [c.split()[0].rsplit("/", 1)[-1] for c in check_commands()]
    assert tools == ["ruff", "lint-imports", "mypy", "ruff"]
    assert check_commands()[-1].split()[1:3] == ["format", "--check"]


def test_a_file_not_formatted_fails(project):
    plant(project, "planted.py", "def f( a,b ):\n    return {'a':a,'b':b}\n")
    r = make_check(project)
    assert r.returncode != 0
    assert "planted.py" in r.stdout and "reformatted" in r.stdout, r.stdout


def test_lint_an_unused_import_and_a_blind_except_fail(project):
    plant(
        project,
        "planted.py",
        "import os\n\n\ndef f():\n    try:\n        return 1\n    except Exception:\n        return 2\n",
    )
    r = make_check(project)
    assert r.returncode != 0
    assert "planted.py" in r.stdout and "F401" in r.stdout and "BLE001" in r.stdout, r.stdout


@pytest.mark.parametrize(
    ("where", "text", "contract"),
    [
        ("domain/planted.py", "from ..store import models\n\nPLANTED = models\n", "domain is pure"),
        ("tui/planted.py", "from ..store.models import Ticket\n\nPLANTED = Ticket\n", "tui reads through queries"),
        ("tui/planted_sql.py", "import sqlalchemy\n\nPLANTED = sqlalchemy\n", "tui reads through queries"),
        ("store/planted.py", "from .. import service\n\nPLANTED = service\n", "store knows nothing"),
        ("planted_report.py", "", "reports read the store"),
    ],
)
def test_import_contracts_fail_on_a_forbidden_import(project, where, text, contract):
    if where == "planted_report.py":  # reports.py itself reaching for the service
        reports = project / "src" / "deskterm" / "reports.py"
        planted = "\n\ndef _planted():\n    from .service import Desk\n\n    return Desk\n"
        reports.write_text(reports.read_text() + planted)
    else:
        plant(project, where, text)
    r = make_check(project)
    assert r.returncode != 0
    assert "BROKEN" in r.stdout and contract in r.stdout.split("Broken contracts", 1)[-1], r.stdout


def test_import_contracts_fail_on_the_engine_migrate_cycle(project):
    migrate = project / "src" / "deskterm" / "store" / "migrate.py"
    migrate.write_text(migrate.read_text() + "\n\ndef _planted():\n    from .engine import Store\n\n    return Store\n")
    r = make_check(project)
    assert r.returncode != 0
    assert "deskterm.store.migrate is not allowed to import deskterm.store.engine" in r.stdout, r.stdout


def test_types_a_wrong_type_fails_and_the_domain_is_strict(project):
    plant(project, "domain/planted.py", 'def untyped(x):\n    return x\n\n\nCOUNT: int = "three"\n')
    r = make_check(project)
    assert r.returncode != 0
    assert "planted.py" in r.stdout, r.stdout
    assert "[no-untyped-def]" in r.stdout and "[assignment]" in r.stdout, r.stdout


def test_screens_hear_from_the_app_only_through_the_desk_screen_contract():
    """The app tells screens of the desk, the clock, changes and presence by calling DeskScreen's hooks on the
    screens that are DeskScreens: a screen that defines a hook without being one would never hear it."""
    import importlib
    import inspect
    import pkgutil

    import deskterm.tui.screens as screens
    from deskterm.tui.screens.base import DeskScreen

    hooks = {"desk_ready", "clock_tick", "data_changed", "tickets_changed", "presence_changed"}
    offenders = []
    for info in pkgutil.iter_modules(screens.__path__):
        module = importlib.import_module(f"deskterm.tui.screens.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and hooks & set(vars(cls)) and not issubclass(cls, DeskScreen):
                offenders.append(f"{module.__name__}.{name}")
    assert offenders == []
    app = (ROOT / "src" / "deskterm" / "tui" / "app.py").read_text()
    for hook in hooks:
        assert f'getattr(screen, "{hook}"' not in app


def test_screens_keep_no_styles_of_their_own():
    """One stylesheet (tui/deskterm.tcss, as harlequin has): a screen's DEFAULT_CSS would be a second home for its
    look, and a weaker one (the app's stylesheet wins over any DEFAULT_CSS, whatever the selectors)."""
    import importlib
    import inspect
    import pkgutil

    from textual.screen import Screen

    import deskterm.tui.screens as screens

    offenders = []
    for info in pkgutil.iter_modules(screens.__path__):
        module = importlib.import_module(f"deskterm.tui.screens.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, Screen) and "DEFAULT_CSS" in vars(cls):
                offenders.append(f"{module.__name__}.{name}")
    assert offenders == []


def test_nothing_reaches_into_the_queue_tables_private_attributes():
    """QueueTable's public surface (use, set_query, evaluate_visible, tick, versions, evaluating, ...) is what the
    screen, the tests and the benchmarks use: its window of rows, strips and clock are its own to change."""
    import ast

    table_file = ROOT / "src" / "deskterm" / "tui" / "widgets" / "queue_table.py"
    tree = ast.parse(table_file.read_text())
    private = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
    }
    private |= {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("_") and not node.name.startswith("__")
    }
    private -= {"_size_updated", "_scroll_update"}  # Textual's own, overridden or called on self only
    assert {"_win", "_now", "_evaluating"} <= private
    offenders = []
    for folder in ("src", "tests", "benchmarks", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == table_file:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in private
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
    assert offenders == []
