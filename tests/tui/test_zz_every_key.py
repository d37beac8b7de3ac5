"""Every key is exercised (issue 13): each binding of every deskterm screen, modal and widget is pressed by at
least one screen test (recorded by the pilot's key presses, tests/tui/conftest.py). The last module of this
directory, so that it runs after the others; skipped unless the whole directory ran (no -k, no single file).
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from conftest import binding_name


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


def test_the_inventory_has_the_screens_keys():
    """The inventory itself: it finds the bindings of the app, the screens, the dialogs and the queue table."""
    names = deskterm_bindings()
    for expected in (
        "app.escalations",
        "queue.open",
        "queue.mark",
        "detail.reply",
        "detail.dialog.submit",
        "escalations.acknowledge",
        "dashboard.today",
        "handover.copy",
    ):
        assert expected in names, sorted(names)


def test_every_key_of_every_screen_is_pressed_by_a_test(pressed_bindings, whole_tui_suite):
    if not whole_tui_suite:
        pytest.skip("only when every screen test ran (the whole tests/tui directory, nothing deselected)")
    missing = {name: where for name, where in deskterm_bindings().items() if name not in pressed_bindings}
    assert not missing, (
        "keys that no screen test presses (write a test that presses each and checks what it "
        "does):\n" + "\n".join(f"  {name}  ({where})" for name, where in sorted(missing.items()))
    )
