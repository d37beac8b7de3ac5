"""The demo's queue, "time to breach": breached first, then warning, then running (README "The queue's order").

A fresh demo showed P4 tickets running ("▸ 19d 02-18") above a breached one: the demo linked incidents to a
problem at the problem's opening, before some of them were even created, so their history got a
problem-link dated before the ticket existed and their stored deadline (``next_due``) was derived at that
instant (a breach in October), which ranked them first among the breached while their evaluation says
running. The stored columns must agree with the evaluation, and the order with the countdowns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deskterm.clock import FrozenClock
from deskterm.demo import build_demo
from deskterm.domain.calendar import epoch
from deskterm.domain.sla import live_timer
from deskterm.service import Desk
from deskterm.store.engine import open_store
from deskterm.store.queue import QueueQuery

NOW = datetime(2026, 11, 30, 12, 23, 53, tzinfo=UTC)  # the instant of the report (a Monday)
RANK = {"breached": 0, "warning": 1, "running": 2}


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    where = tmp_path_factory.mktemp("demo-order")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(where / "cache"))
        db, config = build_demo(where / "desk", tickets=300, clock=FrozenClock(NOW))
    store = open_store(db)
    yield Desk(store, config, clock=FrozenClock(NOW), user="tester")
    store.dispose()


def test_no_change_in_the_demo_is_dated_before_its_ticket(desk):
    for t in desk.tickets():
        early = [(e.kind, e.at) for e in t.events if e.at < t.created_at]
        assert not early, f"ticket {t.id} created {t.created_at}: {early}"


def test_the_queue_puts_the_breached_first_then_warning_then_running(desk):
    ids = list(QueueQuery(desk.store, view="open", now=NOW).ids())
    by_id = {t.id: t for t in desk.tickets()}
    ranks = []
    for i in ids:
        t = by_id[i]
        policy = desk.config.policy_for(t.customer)
        sla = desk.sla(t, at=NOW)
        states = [
            live_timer(x, policy.calendar, policy.warn_at, epoch(NOW), epoch(NOW)).state
            for x in sla.timers.values()
            if x.active
        ]
        ranks.append((min((RANK.get(s, 3) for s in states), default=3), i))
    assert ranks, "the demo has open tickets"
    assert [r for r, _ in ranks] == sorted(r for r, _ in ranks), ranks[:12]


def test_the_stored_deadlines_agree_with_the_history(desk):
    # recomputing every open ticket's derived columns from its history changes none of them (last: it writes)
    assert desk.rederive(only_if_config_changed=False) == 0
