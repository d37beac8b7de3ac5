"""Every key is exercised (issue 13): each binding of every deskterm screen, modal and widget is pressed by at
least one screen test (recorded by the pilot's key presses, tests/tui/conftest.py). The last module of this
directory, so that it runs after the others; skipped unless the whole directory ran (no -k, no single file).
On several workers (pytest-xdist, as ``make test`` runs) the controller runs the same check on what every worker
pressed, once they are all done: tests/conftest.py, tests/tui/keycoverage.py.
"""

from __future__ import annotations

import pytest
from keycoverage import deskterm_bindings, missing_keys, missing_message


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
    missing = missing_keys(pressed_bindings)
    assert not missing, missing_message(missing)
