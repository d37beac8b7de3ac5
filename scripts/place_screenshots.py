"""Write screenshots of the escalation, dashboard and handover screens (demo desk, frozen clock).

Run by ``make screenshots``; the demo desk has its own escalations, major incident, satisfaction answers and
90 days of history, so every section shows something. Nothing of the user's is read or written.
"""

import asyncio
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)


def prepare(tmp: Path):
    from deskterm.clock import FrozenClock
    from deskterm.demo import build_demo

    return build_demo(tmp / "demo", tickets=300, clock=FrozenClock(NOW))


async def shoot(db, config, screen_factory, size, out: Path):
    from deskterm.clock import FrozenClock
    from deskterm.tui.app import DeskApp
    from deskterm.tui.widgets.queue_table import QueueTable

    app = DeskApp(db=str(db), config=config, clock=FrozenClock(NOW), user="alice")
    async with app.run_test(size=size) as pilot:
        for _ in range(200):
            await app.workers.wait_for_complete()
            await pilot.pause()
            t = app.screen.query(QueueTable)
            if t and t.first().loaded:
                break
        screen = screen_factory()
        await app.push_screen(screen)
        for _ in range(100):
            await app.workers.wait_for_complete()
            await pilot.pause()
            if screen.loaded:
                break
        await pilot.pause(0.2)
        app.save_screenshot(filename=out.name, path=str(out.parent))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_STATE_HOME"] = str(Path(tmp) / "state")
        from deskterm.tui.screens.dashboard import DashboardScreen
        from deskterm.tui.screens.escalations import EscalationScreen
        from deskterm.tui.screens.handover import HandoverScreen

        db, config = prepare(Path(tmp))
        for name, factory in (
            ("escalations", EscalationScreen),
            ("dashboard", lambda: DashboardScreen(period="week")),
            ("handover", lambda: HandoverScreen(export_dir=Path(tmp) / "h")),
        ):
            for w, h in [(80, 24), (120, 40)]:
                out = ROOT / "screenshots" / f"{name}-{w}x{h}.svg"
                asyncio.run(shoot(db, config, factory, (w, h), out))
                print(out)


main()
