"""Worker processes for the stress and SIGKILL tests (run as scripts, never collected by pytest).

``python worker.py stress DB CONFIG AGENT SEED N OUT [GO]``
    N random changes through the service layer as ``AGENT`` (claim, reply, note, status, priority); writes a
    JSON report to OUT: every successful operation with the version it produced, the refusals and conflicts
    counted apart, and every unexpected exception (a "database is locked" that escaped the retries above all).
    With GO (a path): once its desk is open and its tickets read, prints ``ready`` and starts only when the file
    GO exists, so that all the processes make their changes at the same time (test_stress.py forks them from
    forkserver.py, which runs this function).

``python worker.py loop DB SEED``
    Updates random tickets until killed. Every transaction carries one internal note whose body is
    ``tx:<seed>:<counter>``; every third one also changes the priority (two events in one transaction).
    Prints ``ready`` once the first change is committed, so the killer knows the loop is running.
"""

from __future__ import annotations

import json
import random
import sys
import time
import traceback
from pathlib import Path

from deskterm.config import builtin_config, load_config
from deskterm.domain import workflow
from deskterm.errors import Conflict, Refused
from deskterm.service import Change, Desk
from deskterm.store.engine import open_store

PRIORITIES = ("P1", "P2", "P3", "P4")


def stress(db: str, config: str, agent: str, seed: int, n: int, out: str, go: str | None = None) -> None:
    rng = random.Random(seed)
    desk = Desk(open_store(db), load_config(config), user=agent)
    ids = [t.id for t in desk.tickets()]
    if go:
        print("ready", flush=True)
        while not Path(go).exists():  # the start line: every process is ready
            time.sleep(0.002)
    ok: list[dict] = []
    refused = conflicts = 0
    errors: list[str] = []
    started = time.perf_counter()
    for seq in range(n):
        tid = rng.choice(ids)
        op = rng.choice(("claim", "reply", "reply_free", "status", "priority"))
        try:
            if op == "claim":
                version = desk.claim(tid)
                ok.append({"ticket": tid, "op": "claim", "version": version, "to": agent})
                continue
            if op == "reply_free":  # no version given: a lost race is replayed by the service
                body = f"{agent}:{seq}"
                version = desk.update(tid, Change(reply=body))
                ok.append({"ticket": tid, "op": "reply", "version": version, "body": body})
                continue
            read = desk.ticket(tid)
            if op == "reply":
                body = f"{agent}:{seq}"
                version = desk.update(tid, Change(reply=body), expect_version=read.version)
                ok.append({"ticket": tid, "op": "reply", "version": version, "body": body})
            elif op == "status":
                targets = workflow.TRANSITIONS[read.status]
                if not targets:
                    target = "open"  # closed is final: the service must refuse it
                else:
                    target = rng.choice(targets)
                change = Change(status=target)
                if target == "resolved" and hasattr(change, "resolution_code"):
                    change.resolution_code = desk.config.resolution_codes[0]  # the screens require one
                version = desk.update(tid, change, expect_version=read.version)
                ok.append({"ticket": tid, "op": "status", "version": version, "from": read.status, "to": target})
            else:
                target = rng.choice([p for p in PRIORITIES if p != read.priority])
                version = desk.update(tid, Change(priority=target), expect_version=read.version)
                ok.append({"ticket": tid, "op": "priority", "version": version, "from": read.priority, "to": target})
        except Conflict:
            conflicts += 1
        except Refused:
            refused += 1
        except Exception:  # noqa: BLE001 - the point is to count them
            errors.append(traceback.format_exc())
    elapsed = time.perf_counter() - started
    Path(out).write_text(
        json.dumps(
            {"agent": agent, "ok": ok, "refused": refused, "conflicts": conflicts, "errors": errors, "seconds": elapsed}
        )
    )


def loop(db: str, seed: int) -> None:
    rng = random.Random(seed)
    desk = Desk(open_store(db), builtin_config(), user=f"loop{seed}")
    ids = [t.id for t in desk.tickets()]
    counter = 0
    while True:
        tid = rng.choice(ids)
        counter += 1
        change = Change(note=f"tx:{seed}:{counter}")
        if counter % 3 == 0:
            current = desk.ticket(tid).priority
            change.priority = rng.choice([p for p in PRIORITIES if p != current])
        desk.update(tid, change)
        if counter == 1:
            print("ready", flush=True)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "stress":
        db, config, agent, seed, n, out, *go = args
        stress(db, config, agent, int(seed), int(n), out, *go)
    elif mode == "loop":
        db, seed = args
        loop(db, int(seed))
    else:
        sys.exit(f"unknown mode {mode}")
