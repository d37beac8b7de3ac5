"""Write screenshots/queue-80x24.svg and queue-120x40.svg from a fixed demo desk and a frozen clock.

Run with ``make screenshots``. Nothing of the user's is read or written: the demo database and the
queue's saved state live in a temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)
SIZES = [(80, 24), (120, 40)]


async def shoot(db: Path, config, size: tuple[int, int], out: Path) -> None:
    from deskterm.clock import FrozenClock
    from deskterm.tui.app import DeskApp
    from deskterm.tui.widgets.queue_table import QueueTable

    app = DeskApp(db=str(db), config=config, clock=FrozenClock(NOW), user="alice")
    async with app.run_test(size=size) as pilot:
        for _ in range(200):  # the store opens in a worker, after the first paint
            await app.workers.wait_for_complete()
            await pilot.pause()
            tables = app.screen.query(QueueTable)
            if tables and tables.first().loaded:
                break
        await app.workers.wait_for_complete()
        await pilot.press("j", "j")
        await pilot.pause(0.1)  # the screen repaints on its own update timer
        app.save_screenshot(filename=out.name, path=str(out.parent))


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="deskterm-shots-") as tmp:
        os.environ["XDG_STATE_HOME"] = str(Path(tmp) / "state")
        from deskterm.clock import FrozenClock
        from deskterm.demo import build_demo

        db, config = build_demo(Path(tmp) / "demo", tickets=300, clock=FrozenClock(NOW))
        out_dir = ROOT / "screenshots"
        out_dir.mkdir(exist_ok=True)
        for w, h in SIZES:
            out = out_dir / f"queue-{w}x{h}.svg"
            asyncio.run(shoot(db, config, (w, h), out))
            print(out.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
