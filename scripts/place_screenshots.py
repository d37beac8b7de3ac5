"""Write screenshots of the escalation, dashboard and handover screens (demo desk, frozen clock).

Run by ``make screenshots``; the demo desk gets three escalations and a major incident so that every section
shows something. Nothing of the user's is read or written.
"""
import asyncio, os, sys, tempfile, tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 27, 15, 0, tzinfo=timezone.utc)
EXTRA = """

[groups.L2-network]
level = "L2"
[groups.L3-vendor]
level = "L3"

[escalation]
managers = ["duty-manager"]
ack_within = "10m"
"""


def prepare(tmp: Path):
    from deskterm.clock import FrozenClock
    from deskterm.config import parse_config
    from deskterm.demo import build_demo
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    clock = FrozenClock(NOW)
    db, _ = build_demo(tmp / "demo", tickets=300, clock=clock)
    path = db.parent / "deskterm.toml"
    text = path.read_text() + EXTRA
    path.write_text(text)
    config = parse_config(tomllib.loads(text), str(path))
    store = open_store(db)
    desk = Desk(store, config, clock=clock, user="bob")
    ts = sorted((t for t in desk.tickets(["open", "new"]) if t.updated_at <= NOW - timedelta(hours=1)), key=lambda t: t.id)
    a, b, c, major, x, y = ts[:6]
    clock.set(NOW - timedelta(minutes=30)); desk.escalate(c.id, "functional", "L2-network", "switch logs needed")
    desk.acknowledge(desk.escalations(ticket=c.id)[0].id)
    clock.set(NOW - timedelta(minutes=20)); desk.escalate(a.id, "hierarchical", "duty-manager", "customer threatens penalties")
    clock.set(NOW - timedelta(minutes=5)); desk.escalate(b.id, "functional", "L3-vendor", "vendor bug")
    clock.set(NOW)
    desk.link(x.id, major.id); desk.link(y.id, major.id)
    store.dispose()
    return db, config


async def shoot(db, config, screen_factory, size, out: Path):
    from deskterm.clock import FrozenClock
    from deskterm.tui.app import DeskApp
    from deskterm.tui.widgets.queue_table import QueueTable

    app = DeskApp(db=str(db), config=config, clock=FrozenClock(NOW), user="alice")
    async with app.run_test(size=size) as pilot:
        for _ in range(200):
            await app.workers.wait_for_complete(); await pilot.pause()
            t = app.screen.query(QueueTable)
            if t and t.first().loaded:
                break
        screen = screen_factory()
        await app.push_screen(screen)
        for _ in range(100):
            await app.workers.wait_for_complete(); await pilot.pause()
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
        for name, factory in (("escalations", EscalationScreen), ("dashboard", lambda: DashboardScreen(period="week")),
                              ("handover", lambda: HandoverScreen(export_dir=Path(tmp) / "h"))):
            for w, h in [(80, 24), (120, 40)]:
                out = ROOT / "screenshots" / f"{name}-{w}x{h}.svg"
                asyncio.run(shoot(db, config, factory, (w, h), out))
                print(out)


main()
