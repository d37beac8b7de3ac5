"""Every key is exercised (issue 13): the names of deskterm's bindings and the check that each was pressed.

``tests/tui/conftest.py`` records the bindings that the pilot's key presses reached (``PRESSED``);
``missing_keys(pressed)`` lists the bindings of every deskterm screen, modal and widget that are not in it.
In one process ``tests/tui/test_zz_every_key.py`` runs the check after the other screen tests; on several
workers (``make test``: pytest-xdist) each worker sends what its tests pressed to the controller, which runs the
same check on the union once every worker is done (``tests/conftest.py``).
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

TUI_DIR = Path(__file__).resolve().parent
CHECK_NODEID = "tests/tui/test_zz_every_key.py::test_every_key_of_every_screen_is_pressed_by_a_test"


def binding_name(owner: type, binding) -> str:
    return binding.id or f"{owner.__name__}:{binding.key}->{binding.action}"


def deskterm_bindings() -> dict[str, str]:
    """Every binding declared by a class of deskterm.tui: its name (id, else Class:key->action) → where."""
    from textual.binding import BindingsMap
    from textual.dom import DOMNode

    import deskterm.tui

    for info in pkgutil.walk_packages(deskterm.tui.__path__, "deskterm.tui."):
        importlib.import_module(info.name)
    out: dict[str, str] = {}
    seen: set[type] = set()
    todo = [DOMNode]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    for cls in seen:
        if not cls.__module__.startswith("deskterm.") or "BINDINGS" not in cls.__dict__:
            continue
        for _, b in BindingsMap(cls.__dict__["BINDINGS"]):
            out[binding_name(cls, b)] = f"{cls.__module__}.{cls.__qualname__}"
    return out


def missing_keys(pressed: set[str]) -> dict[str, str]:
    """The bindings (name → class) that no test pressed."""
    return {name: where for name, where in deskterm_bindings().items() if name not in pressed}


def missing_message(missing: dict[str, str]) -> str:
    return "keys that no screen test presses (write a test that presses each and checks what it does):\n" + "\n".join(
        f"  {name}  ({where})" for name, where in sorted(missing.items())
    )


def is_tui_test(nodeid: str) -> bool:
    """A test of this directory (a node id as pytest reports it, relative to the repository)."""
    path = nodeid.split("::", 1)[0]
    return path.startswith("tests/tui/") and path.count("/") == 2


def tui_test_files() -> set[str]:
    """The test modules of this directory, as node-id paths."""
    return {f"tests/tui/{p.name}" for p in TUI_DIR.glob("test_*.py")}
