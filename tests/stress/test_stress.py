"""Issue 6: one jump host, many agents, one SQLite file.

8 OS processes, each its own ``Desk(user=agentN)``, make 250 random changes each to 500 tickets through the
service layer (claims, replies with and without an expected version, status changes along the workflow,
priority changes). Every process reports each change that succeeded together with the version the service
returned. The final database must be exactly the sum of those reports: no lost update, no change applied
twice, no event without its version bump, and not one "database is locked" escaping the retries.

The processes are forked from one that imported deskterm once (forkserver.py) and start their changes together
(each waits at a start line until all have opened the desk), so all 8 write at the same time from the first
change to about the last. The size: 4 changes a ticket on average as with the first 8 x 500 on 1,000 tickets,
so a ticket sees as many concurrent writers, in half the time (the suite runs this on both engines, 2 cores).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from deskterm_testing import patience

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = ROOT / "examples" / "deskterm.toml"  # not from conftest: its name can be shadowed

PROCESSES = 8
OPS = 250
TICKETS = 500


def _seed_tickets(db: str) -> None:
    from deskterm.clock import Clock
    from deskterm.config import load_config
    from deskterm.service import Desk, NewTicket
    from deskterm.store.engine import open_store

    store = open_store(db)
    desk = Desk(store, load_config(EXAMPLE_CONFIG), user="importer")
    now = Clock().now()
    customers = ["Clinique Saint-Jean", "Acme", "Globex"]
    ids = desk.import_tickets(
        [
            NewTicket(
                subject=f"ticket {i}",
                customer=customers[i % 3],
                priority=f"P{1 + i % 4}",
                created_at=now - timedelta(minutes=i % 600),
                ref=f"ST-{i}",
            )
            for i in range(TICKETS)
        ]
    )
    assert len(ids) == TICKETS
    store.dispose()


@pytest.mark.stress
@pytest.mark.engines("sqlite", "postgresql")
def test_eight_processes_250_changes_each_final_state_is_the_sum_of_the_successes(tmp_path, db_url, db_engine, forks):
    db = db_url  # a file on SQLite; a fresh database on the throwaway PostgreSQL server (issue 8)
    _seed_tickets(db)

    go = tmp_path / "go"
    agents = []
    for i in range(PROCESSES):
        out = tmp_path / f"agent{i}.json"
        child = forks.start(
            "stress", str(db), str(EXAMPLE_CONFIG), f"agent{i}", str(1000 + i), str(OPS), str(out), str(go)
        )
        agents.append((out, child))
    for _, child in agents:
        child.wait_for_line("ready", timeout=patience(120))
    started = time.perf_counter()
    go.touch()  # all 8 start their changes at once
    deadline = time.monotonic() + patience(600)
    reports = []
    for out, child in agents:
        while child.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        if child.running():
            for _, c in agents:
                c.kill()
            pytest.fail(f"{child.pid} still running after {patience(600):g} s")
        rc, _, stderr = child.wait()
        assert rc == 0, stderr
        reports.append(json.loads(out.read_text()))
    wall = time.perf_counter() - started

    # -- what the processes say ------------------------------------------------------------------
    errors = [e for r in reports for e in r["errors"]]
    locked = [e for e in errors if "locked" in e.lower() or "busy" in e.lower()]
    assert not locked, f"{len(locked)} 'database is locked' errors escaped, first:\n{locked[0]}"
    assert not errors, f"{len(errors)} unexpected exceptions, first:\n{errors[0]}"
    attempts = sum(len(r["ok"]) + r["refused"] + r["conflicts"] for r in reports)
    assert attempts == PROCESSES * OPS

    by_ticket: dict[int, list[dict]] = defaultdict(list)
    for r in reports:
        for op in r["ok"]:
            by_ticket[op["ticket"]].append({**op, "agent": r["agent"]})
    successes = sum(len(ops) for ops in by_ticket.values())
    assert successes > PROCESSES * OPS // 2, "too few changes succeeded for the test to mean anything"

    # -- what the database says ------------------------------------------------------------------
    if db_engine == "sqlite":
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            conn.close()
    from sqlalchemy import create_engine

    from deskterm.store.engine import db_url as to_url

    engine = create_engine(to_url(db))
    try:
        with engine.connect() as conn:
            tickets = {
                row[0]: tuple(row[1:])
                for row in conn.exec_driver_sql(
                    "SELECT id, version, assignee, status, priority, initial_priority FROM tickets"
                )
            }
            events: dict[int, list[tuple]] = defaultdict(list)
            for row in conn.exec_driver_sql(
                'SELECT ticket_id, kind, author, public, body, from_value, "to" FROM events ORDER BY id'
            ):
                events[row[0]].append(tuple(row[1:]))
            total_events = conn.exec_driver_sql("SELECT count(*) FROM events").scalar()
    finally:
        engine.dispose()

    assert len(tickets) == TICKETS
    assert total_events == successes  # one event per successful change, none for a refused one
    for tid, (version, assignee, status, priority, initial) in tickets.items():
        ops = sorted(by_ticket.get(tid, []), key=lambda o: o["version"])
        # each success got its own version: 2, 3, ... with no gap and no duplicate (no lost update)
        assert [o["version"] for o in ops] == list(range(2, 2 + len(ops))), (
            f"ticket {tid}: versions {[o['version'] for o in ops]}"
        )
        assert version == 1 + len(ops), f"ticket {tid}"
        evs = events.get(tid, [])
        assert len(evs) == len(ops), f"ticket {tid}: {len(evs)} events for {len(ops)} successful changes"
        # the k-th event is the change that produced version k+1, by the agent who reported it
        for o, (kind, author, public, body, from_value, to) in zip(ops, evs, strict=False):
            assert author == o["agent"], f"ticket {tid} v{o['version']}"
            if o["op"] == "reply":
                assert (kind, bool(public), body) == ("reply", True, o["body"])
            elif o["op"] == "claim":
                assert (kind, from_value, to) == ("assign", None, o["agent"])
            else:
                assert (kind, from_value, to) == (o["op"], o["from"], o["to"]), f"ticket {tid} v{o['version']}"
        claims = [o for o in ops if o["op"] == "claim"]
        assert len(claims) <= 1, f"ticket {tid} claimed twice: {claims}"  # nobody ever unassigns here
        assert assignee == (claims[-1]["agent"] if claims else None)
        statuses = [o for o in ops if o["op"] == "status"]
        assert status == (statuses[-1]["to"] if statuses else "new")
        priorities = [o for o in ops if o["op"] == "priority"]
        assert priority == (priorities[-1]["to"] if priorities else initial)

    kinds = Counter(o["op"] for ops in by_ticket.values() for o in ops)
    refused = sum(r["refused"] for r in reports)
    conflicts = sum(r["conflicts"] for r in reports)
    print(
        f"\nstress: {PROCESSES}x{OPS} ops in {wall:.1f}s wall; {successes} ok {dict(kinds)}, "
        f"{refused} refused, {conflicts} conflicts; per process {[round(r['seconds'], 1) for r in reports]}s"
    )
