"""The app's garbage-collector policy (tui/gcpolicy.py): the young generation's threshold raised while the app
runs, what is alive frozen once the desk is open and again once the queue's first load is done, everything thawed
and the thresholds put back when the app ends; and memory that stays bounded over a long run of other agents'
changes with those thresholds and freezes."""

from __future__ import annotations

import gc
from pathlib import Path

from tuihelp import SIZE, ready, settle, until

from deskterm.service import Change
from deskterm.tui.gcpolicy import THRESHOLDS


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


async def test_the_app_freezes_and_sets_thresholds_when_ready(make_app):
    before = gc.get_threshold()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await until(pilot, lambda: "queue counted" in app.gc_policy.settled)
        assert gc.get_threshold() == THRESHOLDS
        assert app.gc_policy.settled == ["desk opened", "queue counted"]
        assert gc.get_freeze_count() > 50_000  # the modules, the widgets, the store, the queue
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


async def test_memory_stays_bounded_over_many_changes(make_app, other_desk):
    """Sixty-four changes from another agent, each followed by the queue: the objects the collector tracks
    (frozen ones apart) and the process's resident memory do not grow with the number of changes."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await until(pilot, lambda: "queue counted" in app.gc_policy.settled)
        table = app.screen.query_one("QueueTable")
        ids = [r.id for r in table.visible_rows() if r.status == "open"][:4]
        assert len(ids) == 4

        made = [0]

        async def changes(n: int) -> None:
            for _ in range(n):
                i = made[0] = made[0] + 1
                tid = ids[i % len(ids)]
                other_desk.update(tid, Change(status="on_hold" if ((i - 1) // len(ids)) % 2 == 0 else "open"))
                app.poll_changes()
                await settle(pilot)

        await changes(16)  # warm: what the first changes read and cache once
        frozen = gc.get_freeze_count()
        tracked, rss = len(gc.get_objects()), _rss_mb()
        await changes(64)
        assert gc.get_freeze_count() <= frozen, "no freeze per change"
        grown = len(gc.get_objects()) - tracked
        # at most the young and middle generations' fill, and what waits for a full pass (a quarter of the long
        # lived ones at the last full pass), never 64 changes' worth of objects
        assert grown < THRESHOLDS[0] * (1 + THRESHOLDS[1]) + frozen // 4, grown
        assert _rss_mb() - rss < 40, (rss, _rss_mb())
