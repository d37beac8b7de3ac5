"""An import into a desk that holds no ticket takes the fast path (``bulk.large_writes``: the secondary indexes
of the tickets and events, and the full-text index, built once after the rows; no look-up of refs already
imported): it must leave exactly the rows that importing the same records one at a time leaves, each import
then going the ordinary way (the indexes kept at every row) into a desk that already holds tickets. The
customers, agents and groups that the file brings are created in the order it names them, a customer under
the first of its spellings: the same names and numbers either way.

Hypothesis makes the files (customers, refs, priorities or impact and urgency, histories of every kind, long
descriptions that the full-text index cuts); both engines (PostgreSQL has no fast path yet: the test holds it
to the same). On SQLite the full-text index is checked too: SQLite's own integrity check, and the tickets that
words find.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from deskterm.clock import FrozenClock
from deskterm.errors import BadInput
from deskterm.importer import ImportFile, parse_import, storable
from deskterm.service import Desk
from deskterm.store.engine import open_store
from deskterm.store.search import SQLITE_TABLES
from deskterm_testing import db_state, examples, is_pg

pytestmark = pytest.mark.engines("sqlite", "postgresql")

NOW = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)
WORDS = ["printer", "vpn", "Ward", "réseau", "mail", "jams", "down", "x"]
CUSTOMERS = ["Acme", "ACME", "acme", "Globex", "Initech"]  # one customer in three spellings: the first one met
TEXT = st.lists(st.sampled_from(WORDS), min_size=1, max_size=5).map(" ".join)


@st.composite
def tickets(draw, i: int) -> dict:
    created = NOW - timedelta(minutes=draw(st.integers(60, 60 * 24 * 40)))
    rec: dict = {
        "subject": draw(TEXT),
        "customer": draw(st.sampled_from(CUSTOMERS)),
        "created_at": created.astimezone(draw(st.sampled_from([UTC, datetime.now().astimezone().tzinfo]))).isoformat(),
    }
    if draw(st.booleans()):
        rec["ref"] = f"R-{i}"
    if draw(st.booleans()):
        rec["priority"] = draw(st.sampled_from(["P1", "P2", "P3", "P4"]))
    else:
        rec["impact"], rec["urgency"] = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kind = draw(st.integers(0, 3))
    if kind == 1:
        rec["description"] = draw(TEXT)
    elif kind == 2:  # longer than what the full-text index keeps of a description
        rec["description"] = "mail " * 4000 + "printer " * 10
    if draw(st.booleans()):
        rec["type"] = draw(st.sampled_from(["incident", "request", "problem", "change"]))
    at, events = created, []
    for _ in range(draw(st.integers(0, 5))):
        at += timedelta(minutes=draw(st.integers(0, 600)))
        if at > NOW:
            break
        kind = draw(st.sampled_from(["reply", "status", "assign", "escalate", "priority", "group"]))
        event: dict = {"at": at.isoformat(), "kind": kind}
        if kind == "reply":
            event |= {"public": draw(st.booleans()), "author": draw(st.sampled_from(["bob", "customer"])), "body": "ok"}
        elif kind == "status":
            event["to"] = draw(st.sampled_from(["open", "pending", "resolved", "closed"]))
        elif kind == "priority":
            event["to"] = draw(st.sampled_from(["P1", "P4"]))
        elif kind == "escalate":
            event |= {"to": "L2", "reason": "needs access"}
        else:
            event["to"] = draw(st.sampled_from(["carol", "network"]))
        events.append(event)
    if events:
        rec["events"] = events
    return rec


FILES = st.integers(1, 12).flatmap(lambda n: st.tuples(*(tickets(i) for i in range(n))))


def write(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def imported(db: str, config, files: list[Path]) -> None:
    store = open_store(db)
    try:
        desk = Desk(store, config, clock=FrozenClock(NOW), user="alice")
        for file in files:
            desk.import_file(ImportFile.of_path(str(file), file.name, importer="alice"))
    finally:
        store.dispose()


def comparable(db: str) -> dict:
    state = db_state(db)
    state.pop("ticket_changes")  # (what the apps are told: one row per import, or one for all)
    if "(sequences)" in state:
        state["(sequences)"] = [s for s in state["(sequences)"] if not s[0].startswith("ticket_changes")]
    return {k: v for k, v in state.items() if k not in SQLITE_TABLES}  # (the FTS5 tables' inner layout)


def fts_found(db: str) -> dict[str, list[int]]:
    conn = sqlite3.connect(db)
    try:
        # (the full-text index not checked against its content: it indexes a part of long descriptions)
        conn.execute("INSERT INTO ticket_fts(ticket_fts) VALUES ('integrity-check')")
        conn.execute("INSERT INTO ticket_trigram(ticket_trigram, rank) VALUES ('integrity-check', 1)")
        return {
            w: [r[0] for r in conn.execute("SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH ? ORDER BY 1", (w,))]
            for w in ["printer", "vpn", "ward", "reseau", "mail", "jams", "down"]
        } | {
            f"trigram {w}": [
                r[0]
                for r in conn.execute("SELECT rowid FROM ticket_trigram WHERE ticket_trigram MATCH ? ORDER BY 1", (w,))
            ]
            for w in ['"rin"', '"r-1"', '"eau"', '"vpn"']
        }
    finally:
        conn.close()


@settings(
    max_examples=examples(8),
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(records=FILES)
def test_an_import_into_an_empty_desk_leaves_what_one_at_a_time_leaves(
    records, db_engine, tmp_path_factory, example_config, request
):
    tmp = tmp_path_factory.mktemp("paths")
    whole = write(tmp / "whole.jsonl", records)
    singles = [write(tmp / f"one-{i}.jsonl", [r]) for i, r in enumerate(records)]
    if db_engine == "sqlite":
        fast, slow = str(tmp / "fast.db"), str(tmp / "slow.db")
        server = None
    else:
        server = request.getfixturevalue("pg_server")
        fast, slow = server.create_database(), server.create_database()
    try:
        imported(fast, example_config, [whole])
        imported(slow, example_config, singles)
        assert comparable(fast) == comparable(slow)
        if not is_pg(fast):
            assert fts_found(fast) == fts_found(slow)
            conn = sqlite3.connect(fast)  # the indexes are all there again, as the migrations made them
            try:
                assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
                names = {
                    r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger')")
                }
            finally:
                conn.close()
            conn = sqlite3.connect(slow)
            try:
                assert names == {
                    r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger')")
                }
            finally:
                conn.close()
    finally:
        if server is not None:
            server.drop_database(fast)
            server.drop_database(slow)


def test_a_file_names_its_new_customers_agents_and_groups_in_its_own_order(desk, db_url, tmp_path):
    """One customer in two spellings is created under the first the file uses, and the customers, agents and
    groups new to the desk are numbered in the order the file names them (not a set's order, which changes
    from one run to the next)."""
    at = (NOW - timedelta(days=1)).isoformat()

    def ticket(customer: str, agent: str, group: str) -> dict:
        history = [
            {"at": at, "kind": "assign", "to": agent},
            {"at": at, "kind": "escalate", "to": group, "reason": "needs access"},
            {"at": at, "kind": "reply", "public": True, "author": f"{agent}-2", "body": "ok"},
        ]
        return {"subject": "VPN down", "customer": customer, "priority": "P3", "created_at": at, "events": history}

    names = ["Zeta", "ACME", "Mu", "Acme", "Beta", "acme"]
    records = [ticket(c, f"agent-{c.lower()}", f"group-{c.lower()}") for c in names]
    desk.import_file(ImportFile.of_path(str(write(tmp_path / "t.jsonl", records)), "t.jsonl", importer="alice"))
    state = db_state(db_url)
    assert [r[:2] for r in sorted(state["customers"])] == [(1, "Zeta"), (2, "ACME"), (3, "Mu"), (4, "Beta")]
    agents = [r[1] for r in sorted(state["agents"]) if r[1].startswith("agent-")]
    assert agents == [name for c in ["zeta", "acme", "mu", "beta"] for name in (f"agent-{c}", f"agent-{c}-2")]
    assert [r[1] for r in sorted(state["groups"]) if r[1].startswith("group-")] == [
        "group-zeta",
        "group-acme",
        "group-mu",
        "group-beta",
    ]


ZONES = [UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30))]


@st.composite
def odd_files(draw) -> tuple[list[dict], bool]:
    """Files whose instants are written in several offsets, sometimes with a lone surrogate in a text or an
    instant in the future; and whether it is written with ``ensure_ascii`` (every surrogate an escape)."""
    records = list(draw(FILES))
    for rec in records:
        zone = draw(st.sampled_from(ZONES))
        for holder in [rec, *rec.get("events", [])]:
            key = "created_at" if holder is rec else "at"
            holder[key] = datetime.fromisoformat(holder[key]).astimezone(zone).isoformat()
    choice, ascii = draw(st.integers(0, 5)), draw(st.booleans())
    rec = draw(st.sampled_from(records))
    if choice == 1 and ascii:  # (written as itself, it is not UTF-8: another error)
        rec["subject"] += "\ud800"
    elif choice == 2 and rec.get("events"):
        rec["events"][-1]["at"] = (NOW + timedelta(hours=1)).astimezone(ZONES[1]).isoformat()
    return records, ascii


def desk_after(db: str, config, work) -> tuple[dict | None, list[str]]:
    store = open_store(db)
    try:
        work(Desk(store, config, clock=FrozenClock(NOW), user="alice"))
        problems: list[str] = []
    except BadInput as exc:
        problems = exc.problems
    finally:
        store.dispose()
    return comparable(db), problems


@settings(
    max_examples=examples(8),
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(drawn=odd_files())
def test_what_the_reader_knows_of_a_ticket_changes_nothing_the_import_writes(
    drawn, db_engine, tmp_path_factory, example_config, request
):
    """The reader tells the service what it found on the way (``NewTicket.latest``: the latest instant;
    ``storable``: no lone surrogate in the record's text), which the service then need not compute again: the
    same tickets without those hints (each instant compared, every text checked: the full computation) must
    leave every row of every table the same, or be refused with the same problems."""
    records, ascii = drawn
    tmp = tmp_path_factory.mktemp("hints")
    path = tmp / "file.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=ascii) + "\n" for r in records), encoding="utf-8")
    if db_engine == "sqlite":
        hinted, plain = str(tmp / "hinted.db"), str(tmp / "plain.db")
        server = None
    else:
        server = request.getfixturevalue("pg_server")
        hinted, plain = server.create_database(), server.create_database()
    try:
        source = ImportFile.of_path(str(path), path.name, importer="alice")
        tickets, directory = parse_import(path.read_text(encoding="utf-8"), path.name, "alice")
        assert all(
            t.latest is not None and t.storable == storable(json.dumps(r, ensure_ascii=ascii))
            for t, r in zip(tickets, records, strict=True)
        )
        bare = [dataclasses.replace(t, latest=None, storable=False) for t in tickets]
        got = desk_after(hinted, example_config, lambda desk: desk.import_file(source))
        expected = desk_after(plain, example_config, lambda desk: desk.import_tickets(bare, directory))
        assert got == expected
    finally:
        if server is not None:
            server.drop_database(hinted)
            server.drop_database(plain)
