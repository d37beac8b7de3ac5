"""What an agent does in the ticket screen is what the contract's `deskterm list --json` reports: status,
priority and timers, read by the real command line from the same database file."""

from __future__ import annotations

import json
import subprocess
import sys

from test_detail import choose, open_detail, tickets, type_text  # noqa: F401  (tickets is a fixture)
from tuihelp import NOW, SIZE, settle


def list_json(db, config_path, ref: str) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "deskterm.cli",
            "--db",
            str(db),
            "--config",
            str(config_path),
            "list",
            "--json",
            "--at",
            NOW.isoformat(),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return next(t for t in json.loads(out.stdout) if t["ref"] == ref)


async def test_list_json_reflects_reply_priority_and_status_from_the_screen(make_app, tickets, demo):  # noqa: F811 - a fixture imported from another test module
    db, config, _ = demo
    before = list_json(db, config.source, "DET-NEW")
    assert (before["status"], before["priority"], before["sla"]["first_response"]["state"]) == ("new", "P3", "running")
    assert "next_update" not in before["sla"]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await pilot.press("r")  # a public reply: first response met
        await pilot.pause()
        await type_text(pilot, "On our way to gate 3.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("p")  # priority P2 directly
        await pilot.pause()
        await choose(pilot, app.screen, "direct", "P2")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("s")  # status: new → pending (the first choice offered)
        await pilot.pause()
        choices = app.screen.choices
        await pilot.press(*["down"] * choices.index("pending"), "enter")
        await settle(pilot)
        assert (screen.record.status, screen.record.priority) == ("pending", "P2")
    after = list_json(db, config.source, "DET-NEW")
    assert (after["status"], after["priority"]) == ("pending", "P2")
    sla = after["sla"]
    assert sla["first_response"]["state"] == "met"
    assert sla["resolution"]["state"] == "paused" and sla["resolution"]["due"] is None
    # Atelier Moreau has the bronze policy (office hours): P2 resolution 2bd, due at the same time two business days
    # after creation (Friday 15:40 in Paris → Tuesday 15:40): Fri 1h20 + Mon 8h + Tue 6h40 = 16 h of counted time;
    # the ticket was created 20 minutes before NOW, so 20 minutes were used before the pause
    assert sla["resolution"]["remaining_seconds"] == 16 * 3600 - 20 * 60
