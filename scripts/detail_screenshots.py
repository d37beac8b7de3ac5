"""Write screenshots/detail-80x24.svg and detail-120x40.svg: the ticket-detail screen over the demo desk.

Like scripts/screenshots.py: a fresh demo desk in a temporary directory and a frozen clock; the ticket
shown is the open demo ticket with the longest history that has an internal note (the same one every run).
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


def pick(db: Path, config) -> int:
    from deskterm.clock import FrozenClock
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    store = open_store(db)
    try:
        desk = Desk(store, config, clock=FrozenClock(NOW))
        open_ = [
            t
            for t in desk.tickets(["open", "pending", "on_hold"])
            if any(e.kind == "reply" and not e.public for e in t.events)
        ]
        return max(open_, key=lambda t: (len(t.events), -t.id)).id
    finally:
        store.dispose()


async def shoot(db: Path, config, ticket_id: int, size: tuple[int, int], out: Path) -> None:
    from deskterm.clock import FrozenClock
    from deskterm.tui.app import DeskApp
    from deskterm.tui.screens.detail import DetailScreen

    app = DeskApp(db=str(db), config=config, clock=FrozenClock(NOW), user="alice")
    async with app.run_test(size=size) as pilot:
        for _ in range(200):  # the store opens in a worker, after the first paint
            await app.workers.wait_for_complete()
            await pilot.pause()
            if app.desk is not None:
                break
        await app.push_screen(DetailScreen(ticket_id))
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause(0.1)  # the screen repaints on its own update timer
        app.save_screenshot(filename=out.name, path=str(out.parent))


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="deskterm-shots-") as tmp:
        os.environ["XDG_STATE_HOME"] = str(Path(tmp) / "state")
        from deskterm.clock import FrozenClock
        from deskterm.demo import build_demo

        db, config = build_demo(Path(tmp) / "demo", tickets=300, clock=FrozenClock(NOW))
        ticket_id = pick(db, config)
        out_dir = ROOT / "screenshots"
        out_dir.mkdir(exist_ok=True)
        for w, h in SIZES:
            out = out_dir / f"detail-{w}x{h}.svg"
            asyncio.run(shoot(db, config, ticket_id, (w, h), out))
            print(out.relative_to(ROOT), f"(ticket #{ticket_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
