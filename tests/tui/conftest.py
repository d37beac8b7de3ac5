"""Fixtures for the screens: a real SQLite demo desk (built once, copied per test) and a frozen clock."""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from keycoverage import CHECK_NODEID, binding_name
from tuihelp import NOW


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    from deskterm.clock import FrozenClock
    from deskterm.demo import build_demo

    where = tmp_path_factory.mktemp("demo-template")
    build_demo(where, tickets=300, clock=FrozenClock(NOW), story=False)  # the screens' tests add what they need
    return where


@pytest.fixture(scope="session")
def story_demo_template(tmp_path_factory) -> Path:
    """``deskterm demo``'s own desk (build_demo with its story: escalations, CSAT, a major incident) at NOW, built
    once a session (a few seconds): ``story_demo`` copies it for each test."""
    from deskterm.clock import FrozenClock
    from deskterm.demo import build_demo

    where = tmp_path_factory.mktemp("story-demo") / "desk"
    build_demo(where, clock=FrozenClock(NOW))
    return where


@pytest.fixture
def story_demo(tmp_path, story_demo_template):
    """(db path, config) of a private copy of the story demo desk (the directory ``tmp_path/desk``)."""
    from deskterm.config import load_config

    where = tmp_path / "desk"
    shutil.copytree(story_demo_template, where)
    return where / "demo.db", load_config(where / "deskterm.toml")


@pytest.fixture(autouse=True)
def notifications_kept(monkeypatch):
    """Every notification an app raises is kept, in order, whether still on screen or not (``tuihelp.said``): a
    toast leaves after its timeout in wall-clock seconds, and on a loaded machine a test that looked for it after
    a settle found it gone (a reply's "its mail is queued" toast: an empty list). What the app shows is unchanged."""
    from textual.notifications import Notifications

    add = Notifications.add

    def keep(self, notification):
        self.__dict__.setdefault("said", []).append(notification)
        return add(self, notification)

    monkeypatch.setattr(Notifications, "add", keep)


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


# -- every key is exercised (issue 13) ------------------------------------------------------------------
#
# Every key press a screen test makes through the pilot reaches ``App._check_bindings``; the wrapper below
# runs it as Textual does and records, for a binding of deskterm's own classes that handled the key, its id
# (or ``Class:key->action`` for a binding without one). test_zz_every_key.py, the last module of this
# directory, then lists the bindings of every deskterm screen, modal and widget that no test pressed.

PRESSED: set[str] = set()
_DESELECTED_TUI: list[str] = []
_CHECK_SELECTED = False  # on a pytest-xdist worker: whether the every-key check was selected (for the controller)


def _owner(namespace, binding):
    """The deskterm class whose BINDINGS declare ``binding`` (None: Textual's own)."""
    from textual.binding import BindingsMap

    for cls in type(namespace).__mro__:
        if not cls.__module__.startswith("deskterm.") or "BINDINGS" not in cls.__dict__:
            continue
        for _, b in BindingsMap(cls.__dict__["BINDINGS"]):
            if b.key == binding.key and b.action == binding.action:
                return cls
    return None


def _install_recorder() -> None:
    from textual.app import App

    if getattr(App._check_bindings, "_deskterm_recorder", False):
        return

    async def _check_bindings(self, key: str, priority: bool = False) -> bool:
        # as Textual 8.2's App._check_bindings (textual is pinned: pyproject.toml), recording who handled it
        chain = list(reversed(self.screen._binding_chain) if priority else self.screen._modal_binding_chain)
        for n, (namespace, bindings) in enumerate(chain):
            for binding in bindings.key_to_bindings.get(key, ()):
                if binding.priority == priority:
                    if await self.run_action(binding.action, namespace):
                        owner = _owner(namespace, binding)
                        if owner is not None:
                            PRESSED.add(binding_name(owner, binding))
                        else:
                            # a Textual widget took the key first (enter on the escalation list is the
                            # ListView's select, which opens the ticket): the screen's binding of that key
                            # was pressed too, as far as the agent can tell
                            for outer, outer_bindings in chain[n + 1 :]:
                                for b in outer_bindings.key_to_bindings.get(key, ()):
                                    if (cls := _owner(outer, b)) is not None:
                                        PRESSED.add(binding_name(cls, b))
                        return True
        return False

    _check_bindings._deskterm_recorder = True  # type: ignore[attr-defined]
    App._check_bindings = _check_bindings  # type: ignore[method-assign]


_install_recorder()


def pytest_deselected(items):
    here = Path(__file__).parent
    _DESELECTED_TUI.extend(item.nodeid for item in items if Path(str(item.fspath)).parent == here)


@pytest.fixture(scope="session")
def pressed_bindings() -> set[str]:
    return PRESSED


@pytest.fixture(scope="session")
def whole_tui_suite(request) -> bool:
    """True when every test module of this directory was collected and none of its tests deselected."""
    here = Path(__file__).parent
    on_disk = {p.name for p in here.glob("test_*.py")}
    collected = {Path(str(item.fspath)).name for item in request.session.items if Path(str(item.fspath)).parent == here}
    return collected == on_disk and not _DESELECTED_TUI


def pytest_collection_modifyitems(config, items):
    """On a pytest-xdist worker the every-key check is the controller's (tests/conftest.py): no worker saw every
    key press, so none runs the test; each sends the controller what it pressed (pytest_sessionfinish below)."""
    global _CHECK_SELECTED
    if hasattr(config, "workerinput"):
        _CHECK_SELECTED = any(item.nodeid == CHECK_NODEID for item in items)
        items[:] = [item for item in items if item.nodeid != CHECK_NODEID]


def pytest_sessionfinish(session, exitstatus):
    """On a pytest-xdist worker: the bindings pressed here and the screen tests deselected, for the controller.
    DESKTERM_PRESSED=FILE: write the bindings pressed in this session there, one a line (to see the check)."""
    import os

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["deskterm_pressed"] = sorted(PRESSED)
        workeroutput["deskterm_tui_deselected"] = list(_DESELECTED_TUI)
        workeroutput["deskterm_check_selected"] = _CHECK_SELECTED
    out = os.environ.get("DESKTERM_PRESSED")
    if out:
        Path(out).write_text("".join(f"{name}\n" for name in sorted(PRESSED)), encoding="utf-8")
