"""Presence (issue 14): two apps on one desk, alice's and bob's, each a real DeskApp driven by its own pilot in
this process. What one has open shows on the other's screens within a second or so: the ticket screen says
"alice is viewing · … is replying", the queue marks the row (``◦`` open, ``✎`` someone typing); an app that
closes (or dies: its heartbeat stops) disappears. Presence never moves the desk's change counter."""

from __future__ import annotations

import asyncio
import time

import pytest
from tuihelp import SIZE, ready, settle

from deskterm.store.presence import EXPIRE, SqlitePresence
from deskterm_testing import patience


async def until(pilots, predicate, timeout: float = 5.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < patience(timeout):
        for pilot in pilots:
            await pilot.pause()
        if predicate():
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError("not seen in time")


async def test_two_apps_see_each_other(make_app):
    from deskterm.tui.screens.detail import DetailScreen

    alice, bob = make_app(user="alice"), make_app(user="bob")
    async with alice.run_test(size=SIZE) as pa, bob.run_test(size=SIZE) as pb:
        await ready(pa)
        await ready(pb)
        ticket = alice.screen.query_one("QueueTable").cursor_row.id
        await pa.press("enter")
        await settle(pa)
        assert isinstance(alice.screen, DetailScreen)
        took = await until([pa, pb], lambda: bob.others_open.get(ticket) == [("alice", "viewing")])
        assert took < patience(2.0)  # the goal is 1 s p95 (benchmarks/presence.py measures it)
        bob_table = bob.screen.query_one("QueueTable")
        assert bob_table.others_open.get(ticket) == [("alice", "viewing")]
        line = next(
            y
            for y in range(1, bob_table.rows_visible + 1)
            if f" {ticket} " in "".join(s.text for s in bob_table.render_line(y))
        )
        assert "".join(s.text for s in bob_table.render_line(line)).lstrip().startswith(("◦", "▶"))
        await bob.push_screen(DetailScreen(ticket))
        await settle(pb)
        await pa.press("r")  # alice starts a reply
        await until([pa, pb], lambda: "alice is replying" in str(bob.screen.query_one("#detail-presence").render()))
        await until(
            [pa, pb], lambda: "bob is viewing" in str(alice.screen_stack[-2].query_one("#detail-presence").render())
        )
        await pa.press("escape")  # the draft is kept, the editor closed
        await until([pa, pb], lambda: "alice is viewing" in str(bob.screen.query_one("#detail-presence").render()))
    # alice's app has closed: bob's row for her is gone at once (a closing app leaves), a dead one within EXPIRE


def test_presence_does_not_wake_the_desk_and_expires(tmp_path):
    import sqlite3

    from deskterm.store.engine import open_store

    db = tmp_path / "desk.db"
    store = open_store(db)
    watch = sqlite3.connect(str(db))
    before = watch.execute("PRAGMA data_version").fetchone()[0]
    p1, p2 = SqlitePresence(tmp_path / "desk.db.presence"), SqlitePresence(tmp_path / "desk.db.presence")
    p1.publish("app1", "alice", 7, "replying", 1000.0)
    assert p2.changed()
    assert [(s.agent, s.ticket_id, s.activity) for s in p2.others("app2", 1001.0)] == [("alice", 7, "replying")]
    assert p2.others("app2", 1000.0 + EXPIRE + 1) == []  # a dead app's heartbeat has stopped
    assert watch.execute("PRAGMA data_version").fetchone()[0] == before  # the desk did not move
    assert oct((tmp_path / "desk.db.presence").stat().st_mode & 0o777) == "0o660"
    p1.leave("app1")
    assert p2.others("app2", 1001.0) == []
    for p in (p1, p2):
        p.close()
    store.dispose()


@pytest.mark.engines("sqlite", "postgresql")
def test_keepers_on_both_engines(db_url):
    from deskterm.store.engine import open_store
    from deskterm.store.presence import Keeper, open_presence

    store = open_store(db_url)
    alice = Keeper(open_presence(store), "host:1", "alice")
    bob = Keeper(open_presence(store), "host:2", "bob")
    assert alice.step((57, "viewing"), 100.0) is None  # nobody else yet
    assert bob.step((None, "viewing"), 100.1) == {57: [("alice", "viewing")]}
    assert bob.step((None, "viewing"), 100.2) is None  # nothing new: the screens hear nothing
    alice.step((57, "replying"), 100.3)
    assert bob.step((None, "viewing"), 100.4) == {57: [("alice", "replying")]}
    assert bob.step((None, "viewing"), 100.4 + EXPIRE + 2) == {}  # alice's app stopped beating
    alice.leave()
    bob.leave()
    store.dispose()
