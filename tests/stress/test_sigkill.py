"""Issue 6: a process killed at any instant (SIGKILL: no cleanup, no rollback by Python) leaves the desk intact.

(a) ``deskterm import`` of 750 tickets killed at a random instant (half of them at any time of the run, half
    just after the WAL file starts growing, i.e. in the middle of writing the transaction): afterwards the file passes
    ``PRAGMA integrity_check`` and holds either none or all of that import's tickets (each with all its events).
(b) a process looping over updates killed at a random instant: afterwards the file passes
    ``integrity_check`` and no ticket is half-written: every update transaction writes one note ``tx:ROUND:N``
    (and every third one a priority change as well), so for each ticket the version is 1 + the number of its
    notes, every priority event sits right after its note, the ticket's priority is the one of its last
    priority event, and the notes of a round are exactly 1..k (the one in flight at the kill is all gone).

50 kill points (20 imports, 30 update loops), from a seeded generator (``DESKTERM_KILL_SEED`` replays a run).
The processes are forked from one that imported deskterm once (forkserver.py): killed the same way, without a
second of imports each.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import time
from collections import defaultdict
from pathlib import Path

import pytest
from forkserver import Child, ForkServer

IMPORT_TICKETS = 750
IMPORT_KILLS = 20
UPDATE_KILLS = 30  # 50 kill points in all
SEED = int(os.environ.get("DESKTERM_KILL_SEED", random.randrange(1 << 30)))


def _integrity(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f"seed {SEED}"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == [], f"seed {SEED}"
    finally:
        conn.close()


def _write_import(path: Path, prefix: str) -> None:
    with path.open("w") as fh:
        for i in range(IMPORT_TICKETS):
            fh.write(
                json.dumps(
                    {
                        "ref": f"{prefix}-{i}",
                        "subject": f"imported {i}",
                        "customer": f"customer {i % 40}",
                        "priority": "P2",
                        "created_at": "2026-03-27T16:05:00+01:00",
                        "events": [
                            {
                                "at": "2026-03-27T16:20:00+01:00",
                                "kind": "reply",
                                "public": True,
                                "author": "alice",
                                "body": "On it.",
                            },
                            {"at": "2026-03-27T16:40:00+01:00", "kind": "status", "to": "pending"},
                        ],
                    }
                )
                + "\n"
            )


def _imported(db: Path, prefix: str) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    try:
        tickets = conn.execute("SELECT count(*) FROM tickets WHERE ref LIKE ?", (f"{prefix}-%",)).fetchone()[0]
        events = conn.execute(
            "SELECT count(*) FROM events JOIN tickets ON tickets.id = events.ticket_id WHERE tickets.ref LIKE ?",
            (f"{prefix}-%",),
        ).fetchone()[0]
    finally:
        conn.close()
    return tickets, events


def _import(forks: ForkServer, db: Path, file: Path) -> Child:
    return forks.start("cli", "--db", str(db), "import", str(file))


@pytest.mark.stress
def test_import_killed_at_random_instants_is_all_or_nothing(tmp_path, forks):
    rng = random.Random(SEED)
    db = tmp_path / "desk.db"
    # calibration: one import that runs to its end, to know how long one takes on this machine
    first = tmp_path / "base.jsonl"
    _write_import(first, "BASE")
    t0 = time.perf_counter()
    p = _import(forks, db, first)
    rc, _, err = p.wait()
    duration = time.perf_counter() - t0
    assert rc == 0, err
    assert _imported(db, "BASE") == (IMPORT_TICKETS, 2 * IMPORT_TICKETS)

    outcomes = {"none": 0, "all": 0}
    wal = db.with_name(db.name + "-wal")
    in_write = 0
    for k in range(IMPORT_KILLS):
        prefix = f"K{k}"
        file = tmp_path / f"{prefix}.jsonl"
        _write_import(file, prefix)
        p = _import(forks, db, file)
        if k % 2 == 0:  # at a random instant of the whole run
            time.sleep(rng.uniform(0.3, 1.3) * duration)
        else:  # while the transaction is being written: the WAL file starts growing at the commit
            deadline = time.monotonic() + 60
            while p.running() and time.monotonic() < deadline:
                if wal.exists() and wal.stat().st_size > 0:
                    in_write += 1
                    break
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.002))
        p.kill()
        rc, _, err = p.wait()
        assert rc in (0, -signal.SIGKILL), err  # killed, or it had finished well
        _integrity(db)
        tickets, events = _imported(db, prefix)
        assert (tickets, events) in ((0, 0), (IMPORT_TICKETS, 2 * IMPORT_TICKETS)), (
            f"seed {SEED} kill {k}: {tickets} tickets"
        )
        outcomes["all" if tickets else "none"] += 1
        assert _imported(db, "BASE") == (IMPORT_TICKETS, 2 * IMPORT_TICKETS)
        file.unlink()
    print(
        f"\nsigkill import (seed {SEED}): one import {duration:.2f}s; after {IMPORT_KILLS} kills "
        f"({in_write} while the WAL was being written): {outcomes}"
    )


def _check_updates(db: Path, rounds: list[int], initial: dict[int, str]) -> dict[int, int]:
    conn = sqlite3.connect(db)
    try:
        tickets = {tid: (v, prio) for tid, v, prio in conn.execute("SELECT id, version, priority FROM tickets")}
        rows = conn.execute('SELECT id, ticket_id, kind, public, body, "to", at FROM events ORDER BY id').fetchall()
    finally:
        conn.close()
    notes: dict[int, int] = defaultdict(int)
    last_prio: dict[int, str] = {}
    counters: dict[int, list[int]] = defaultdict(list)
    previous = None
    for row in rows:
        _, tid, kind, public, body, to, at = row
        if kind == "reply":
            m = re.fullmatch(r"tx:(\d+):(\d+)", body or "")
            assert m and public == 0, f"seed {SEED}: unexpected event {row}"
            notes[tid] += 1
            counters[int(m.group(1))].append(int(m.group(2)))
        elif kind == "priority":
            # written in the same transaction as its note, right after it
            assert previous is not None and previous[1] == tid and previous[2] == "reply" and previous[6] == at, (
                f"seed {SEED}: priority event {row} without its note (after {previous})"
            )
            last_prio[tid] = to
        else:
            raise AssertionError(f"seed {SEED}: unexpected event {row}")
        previous = row
    for tid, (version, prio) in tickets.items():
        assert version == 1 + notes[tid], (
            f"seed {SEED}: ticket {tid} version {version} with {notes[tid]} update transactions"
        )
        assert prio == last_prio.get(tid, initial[tid]), f"seed {SEED}: ticket {tid}"
    for r in rounds:
        got = counters.get(r, [])
        assert sorted(got) == list(range(1, len(got) + 1)), f"seed {SEED}: round {r} committed {sorted(got)}"
    return {r: len(counters.get(r, [])) for r in rounds}


@pytest.mark.stress
def test_update_loop_killed_at_random_instants_leaves_no_ticket_half_written(tmp_path, forks):
    from deskterm.clock import Clock
    from deskterm.config import builtin_config
    from deskterm.service import Desk, NewTicket
    from deskterm.store.engine import open_store

    rng = random.Random(SEED + 1)
    db = tmp_path / "desk.db"
    store = open_store(db)
    desk = Desk(store, builtin_config(), user="seed")
    now = Clock().now()
    desk.import_tickets(
        [NewTicket(subject=f"t{i}", customer="Acme", priority=f"P{1 + i % 4}", created_at=now) for i in range(50)]
    )
    initial = {t.id: t.priority for t in desk.tickets()}
    store.dispose()

    rounds: list[int] = []
    for k in range(UPDATE_KILLS):
        round_id = 1000 + k
        rounds.append(round_id)
        p = forks.start("loop", str(db), str(round_id))  # worker.py's loop
        p.wait_for_line("ready")  # the loop is running (its first update is committed)
        time.sleep(rng.uniform(0.0, 0.4))
        p.kill()
        rc, _, err = p.wait()
        assert rc == -signal.SIGKILL, err  # the loop never stops by itself
        _integrity(db)
        _check_updates(db, rounds, initial)
    committed = _check_updates(db, rounds, initial)
    print(
        f"\nsigkill updates (seed {SEED}): {UPDATE_KILLS} kills, {sum(committed.values())} committed update transactions "
        f"({min(committed.values())}..{max(committed.values())} per run)"
    )
