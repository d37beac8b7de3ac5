"""What the queue looks like: fixed demo data, a frozen clock, two sizes, colour and NO_COLOR."""

from __future__ import annotations

import pytest
from tuihelp import ready


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "no_color"])
def test_queue_snapshot(snap_compare, make_app, monkeypatch, size, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")  # read when the app is created
    app = make_app()

    async def run_before(pilot) -> None:
        await ready(pilot)
        await pilot.press("j", "j")  # the cursor away from the top: shows it and the row marker

    assert snap_compare(app, terminal_size=size, run_before=run_before)
