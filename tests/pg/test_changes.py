"""Live refresh's change check (store/changes.py) on both engines: a commit by another connection is
seen, nothing is reported when nothing was written, and on PostgreSQL a transaction that commits after
a later one is still seen (sequence order is not commit order), as is a lost listening connection."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import insert, select, text

from deskterm.service import Change, NewTicket
from deskterm.store.changes import ChangeWatch
from deskterm.store.engine import open_store
from deskterm.store.models import Meta

pytestmark = pytest.mark.engines("sqlite", "postgresql")


def _seen_within(watch: ChangeWatch, seconds: float = 2.0) -> bool:
    """Notifications travel through the server: poll as the app does, but more often."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if watch.changed():
            return True
        time.sleep(0.02)
    return False


def test_a_commit_elsewhere_is_seen_and_silence_is_silent(desk, db_url):
    store = open_store(db_url)
    watch = ChangeWatch(store)
    try:
        assert not _seen_within(watch, 0.3), "nothing written: nothing to report"
        tid = desk.create(NewTicket(subject="Printer", customer="Acme", priority="P3", created_at=desk.clock.now())).id
        assert _seen_within(watch)
        assert not watch.changed(), "reported once"
        desk.update(tid, Change(note="checked the toner"))
        assert _seen_within(watch)
        # a write transaction that changes no row (the escalation rules' pass finding nothing) is no change
        desk.store.write(lambda s: s.execute(select(Meta)).all())
        desk.store.write(lambda s: s.execute(text("UPDATE meta SET value = value WHERE key = 'no such key'")))
        assert not _seen_within(watch, 0.3)
    finally:
        watch.close()
        store.dispose()
    assert not watch.changed(), "a closed watch reports nothing"


@pytest.mark.engines("postgresql")
def test_commits_out_of_sequence_order_are_each_seen(desk, db_url):
    """T1 takes the lower id, T2 the higher one and commits first: T1's commit must still be seen."""
    store = open_store(db_url)
    watch = ChangeWatch(store)
    t1_inserted, t2_committed = threading.Event(), threading.Event()

    def slow(session):
        session.execute(insert(Meta).values(key="t1", value="1"))
        t1_inserted.set()
        assert t2_committed.wait(10)

    def fast(session):
        session.execute(insert(Meta).values(key="t2", value="2"))

    try:
        worker = threading.Thread(target=desk.store.write, args=(slow,))
        worker.start()
        assert t1_inserted.wait(10)
        other = open_store(db_url)
        other.write(fast)
        other.dispose()
        assert _seen_within(watch), "T2's commit"
        assert not watch.changed()
        t2_committed.set()
        worker.join(10)
        assert _seen_within(watch), "T1 committed after T2: seen too"
    finally:
        watch.close()
        store.dispose()


@pytest.mark.engines("postgresql")
def test_a_lost_listening_connection_is_replaced_and_reported_once(desk, db_url):
    store = open_store(db_url)
    watch = ChangeWatch(store)
    try:
        pid = watch._conn.info.backend_pid
        desk.store.write(lambda s: s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}))
        assert _seen_within(watch), "not knowing what was missed, the watch asks for one reload"
        assert not _seen_within(watch, 0.3)
        desk.create(NewTicket(subject="Back", customer="Acme", priority="P3", created_at=desk.clock.now()))
        assert _seen_within(watch), "listening again"
    finally:
        watch.close()
        store.dispose()
