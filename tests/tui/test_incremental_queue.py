"""Issue 17: the queue follows other agents' changes by touching only the tickets that changed.

Another agent (a second Desk on the same file) changes tickets; after the app's poll the queue must show what
a queue opened from scratch shows (the same ids in the same order, the same tab counts), the changed rows as
they now are, and it must have got there through the feed of ticket changes (``follow``: the order patched on
the deadlines the counts keep, the view counts moved by the difference, the changed rows and histories read in
that one worker), without reading the whole view again nor anything on the event loop.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from tuihelp import SIZE, lines, ready, settle, until

import deskterm.store.queue as queue_store
from deskterm.service import Change, NewTicket
from deskterm.store.queue import QueueQuery, Sort, data_view_counts
from deskterm.tui.widgets.queue_table import QueueTable


def _fresh_ids(app) -> list[int]:
    shown = app.screen.query_one(QueueTable).query_
    fresh = QueueQuery(app.desk.store, view=shown.view, sort=Sort("due"), user=app.desk.user, now=shown.now)
    return list(fresh.ids())


async def test_a_change_elsewhere_touches_only_its_tickets(make_app, other_desk):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.query_one(QueueTable)
        followed = []
        original, rows = queue_store.follow, QueueQuery.rows
        read_on_the_loop: list[list[int]] = []  # rows read by the event loop's thread (it must read none)

        def spy(query, changed, *args, **kwargs):
            result = original(query, changed, *args, **kwargs)
            followed.append((set(changed), result.query is not None, result.in_memory))
            return result

        def spy_rows(self, ids):
            ids = list(ids)
            if ids and threading.current_thread() is threading.main_thread():  # (none asked: nothing read)
                read_on_the_loop.append(ids)
            return rows(self, ids)

        queue_store.follow = spy  # type: ignore[assignment]
        QueueQuery.rows = spy_rows  # type: ignore[method-assign]
        evaluations = table.sla.evaluations
        try:
            third = table.row_at(2)
            assert third is not None and third.status != "pending"
            other_desk.update(third.id, Change(status="pending"))
            first = table.row_at(0)
            assert first is not None
            other_desk.update(first.id, Change(status="resolved"))  # leaves the view
            new = other_desk.create(
                NewTicket(subject="Printer on fire", customer="Lyon", priority="P1", created_at=other_desk.clock.now())
            )
            assert app.poll()
            await settle(pilot)
        finally:
            queue_store.follow = original  # type: ignore[assignment]
            QueueQuery.rows = rows  # type: ignore[method-assign]
        assert followed == [({third.id, first.id, new.id}, True, True)], "the feed named the three tickets"
        assert read_on_the_loop == [], "the changed rows are read in the patch's worker"
        # the changed tickets on screen were evaluated in that worker too: no evaluation worker after it
        # (those of the changed the order holds from a screenful above the first line shown to one below the last)
        top, n = int(table.scroll_y), table.rows_visible
        near = set(table.query_.ids()[max(top - n, 0) : top + 2 * n])
        assert table.sla.evaluations - evaluations == len({third.id, new.id} & near)
        assert list(table.query_.ids()) == _fresh_ids(app)
        assert first.id not in table.query_.ids() and new.id in table.query_.ids()
        assert table.total == len(_fresh_ids(app))
        counts = data_view_counts(app.desk.store, app.desk.user)
        assert {v: app.screen.counts[v] for v in counts} == counts
        row = next(r for r in table.visible_rows() if r.id == third.id)
        assert row.status == "pending"
        # every line shows the ticket of its place at its version (the lines of tickets that did not change and
        # stayed in place were not compared: only the clock moves them)
        top = int(table.scroll_y)
        for y in range(1, table.rows_visible + 1):
            shown_row = table.row_at(top + y - 1)
            assert table.line_shows(y) == ((shown_row.id, shown_row.version) if shown_row else None)
        assert any(str(third.id) in line and "pending" in line for line in lines(table))


async def test_changes_while_a_follow_is_on_its_way_are_followed_after_it(make_app, other_desk):
    """Changes that come while the previous change's follow is still on its way (the reader busy: an app that fell
    behind on a loaded host) wait for it and are followed together on the order it patched, not the view read
    again for each (a million ids at 1M); the screen and the counts end as a fresh read's."""
    from deskterm.tui.screens.queue import QueueScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.query_one(QueueTable)
        followed: list[set[int]] = []
        reread: list[object] = []
        original, data_changed = queue_store.follow, QueueScreen.data_changed

        def spy(query, changed, *args, **kwargs):
            followed.append(set(changed))
            return original(query, changed, *args, **kwargs)

        def spy_data_changed(self, changed=None):
            reread.append(changed)
            return data_changed(self, changed)

        queue_store.follow = spy  # type: ignore[assignment]
        QueueScreen.data_changed = spy_data_changed  # type: ignore[method-assign]
        gate = threading.Event()
        try:
            rows = [r for r in table.visible_rows() if r.status == "open"][:3]
            assert len(rows) == 3
            app.reader.submit(lambda: gate.wait(30), lambda _: None)  # the reader busy: the follows wait behind it
            for row in rows:
                other_desk.update(row.id, Change(status="on_hold"))
                assert app.poll_changes(), "each change seen at its own look"
            gate.set()
            await settle(pilot)
        finally:
            gate.set()
            queue_store.follow = original  # type: ignore[assignment]
            QueueScreen.data_changed = data_changed  # type: ignore[method-assign]
        assert followed == [{rows[0].id}, {rows[1].id, rows[2].id}], "the two that came meanwhile, in one follow"
        assert reread == [], "the view was not read again"
        assert list(table.query_.ids()) == _fresh_ids(app)
        counts = data_view_counts(app.desk.store, app.desk.user)
        assert {v: app.screen.counts[v] for v in counts} == counts
        for row in rows:
            shown = next(r for r in table.visible_rows() if r.id == row.id)
            assert shown.status == "on_hold"
        assert all(any(str(r.id) in line and "on_hold" in line for line in lines(table)) for r in rows)


@pytest.mark.engines("sqlite", "postgresql")
async def test_a_change_reaches_the_queue_without_the_clocks_second(db_engine, demo, request):
    """The app looks for other agents' changes more often than its clock's second: on SQLite every
    ``FEED_EVERY`` seconds, on PostgreSQL when a notification arrives on the listening socket (the event loop
    wakes on it). With the second's poll stopped, a change still reaches the screen, through the feed."""
    from deskterm.dbcopy import copy_database
    from deskterm.service import Desk
    from deskterm.store.engine import open_store
    from deskterm.tui.app import DeskApp

    db, config, clock = demo
    url = str(db)
    if db_engine == "postgresql":
        url = request.getfixturevalue("pg_url")
        copy_database(str(db), url)
    other = Desk(open_store(url), config, clock=clock, user="bob")
    app = DeskApp(db=url, config=config, clock=clock, user="alice")
    app._every_second = lambda: None  # type: ignore[method-assign]  (the second's poll and tick: stopped)
    followed: list[set[int]] = []
    original = queue_store.follow

    def spy(query, changed, *args, **kwargs):
        followed.append(set(changed))
        return original(query, changed, *args, **kwargs)

    try:
        queue_store.follow = spy  # type: ignore[assignment]
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            table = app.screen.query_one(QueueTable)
            row = next(r for r in table.visible_rows() if r.status == "open")
            await asyncio.to_thread(other.update, row.id, Change(status="on_hold"))

            def shown() -> bool:
                now = next((r for r in table.visible_rows() if r.id == row.id), None)
                return now is not None and now.status == "on_hold"

            await until(pilot, shown, what="the change on screen")
            assert {row.id} in followed, "followed through the feed"
            assert any(str(row.id) in line and "on_hold" in line for line in lines(table))
    finally:
        queue_store.follow = original  # type: ignore[assignment]


def _unread(fd: int) -> int:
    """Bytes arrived on a socket and not read yet."""
    import fcntl
    import struct
    import termios

    return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])


async def test_notifications_arriving_together_are_followed_in_one_look(demo, pg_url):
    """PostgreSQL: the first notification stops the app waking on the socket; what arrives while it waits
    (``NOTIFY_WINDOW``) is followed in one look, both changes in one read of the queue's rows."""
    from deskterm.dbcopy import copy_database
    from deskterm.service import Desk
    from deskterm.store.engine import open_store
    from deskterm.tui.app import DeskApp

    db, config, clock = demo
    copy_database(str(db), pg_url)
    other = Desk(open_store(pg_url), config, clock=clock, user="bob")
    app = DeskApp(db=pg_url, config=config, clock=clock, user="alice")
    app._every_second = lambda: None  # type: ignore[method-assign]  (the second's poll and tick: stopped)
    app.NOTIFY_WINDOW = 3600  # the window ends when the test says (below), not by the clock
    followed: list[set[int]] = []
    original = queue_store.follow

    def spy(query, changed, *args, **kwargs):
        followed.append(set(changed))
        return original(query, changed, *args, **kwargs)

    try:
        queue_store.follow = spy  # type: ignore[assignment]
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            table = app.screen.query_one(QueueTable)
            first, second = [r for r in table.visible_rows() if r.status == "open"][:2]
            await asyncio.to_thread(other.update, first.id, Change(status="on_hold"))
            await until(pilot, lambda: app._gathering is not None, what="woken by the first notification")
            assert app._watched_fd is None, "no longer woken by the socket while gathering"
            fd = app.change_watch.fileno()
            before = _unread(fd)
            await asyncio.to_thread(other.update, second.id, Change(status="on_hold"))
            await until(pilot, lambda: _unread(fd) > before, what="the second notification on the socket")
            await settle(pilot)
            assert followed == [] and app._watched_fd is None, "the second did not wake the app"
            app._gathering.cancel()
            app._gathered()  # the window's end
            on_hold = {first.id, second.id}

            def shown() -> bool:
                return on_hold <= {r.id for r in table.visible_rows() if r.status == "on_hold"}

            await until(pilot, shown, what="both changes on screen")
            assert followed == [on_hold], "both followed in one look"
            assert app._watched_fd == fd and app._gathering is None, "woken by the socket again"
    finally:
        queue_store.follow = original  # type: ignore[assignment]
        other.store.dispose()
        other.store.dispose()
