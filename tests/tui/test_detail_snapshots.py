"""What the ticket-detail screen looks like: sample tickets, a frozen clock, 80×24 and 120×40.

A long timeline (scrolled to its newest events), a paused ticket (pending) and a breached one.
"""

from __future__ import annotations

import pytest
from test_detail import open_detail, tickets  # noqa: F401  (the fixture)

SAMPLES = {"long": 0, "paused": 1, "breached": 2}


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("sample", list(SAMPLES))
def test_detail_snapshot(snap_compare, make_app, tickets, sample, size):  # noqa: F811 - a fixture imported from another test module
    app = make_app()

    async def run_before(pilot) -> None:
        await open_detail(pilot, tickets[SAMPLES[sample]])
        await pilot.pause(0.1)  # the screen repaints on its own update timer

    assert snap_compare(app, terminal_size=size, run_before=run_before)
