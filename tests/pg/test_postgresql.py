"""The same desk on PostgreSQL (issue 8): migrations, timestamptz, retries on serialization failures,
deadlocks and unique races, the change counter across connections, connection errors, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from deskterm.clock import FrozenClock
from deskterm.service import Change, Desk, NewTicket
from deskterm.store import migrate
from deskterm.store.engine import Store, db_url, open_store
from deskterm.store.models import Agent, Ticket
from deskterm_testing import EXAMPLE_CONFIG, patience, run_cli

NOW = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)


def _desk(url: str, user: str = "alice") -> Desk:
    from deskterm.config import load_config

    return Desk(open_store(url), load_config(EXAMPLE_CONFIG), clock=FrozenClock(NOW), user=user)


def _new(desk: Desk, **kw) -> int:
    fields = dict(subject="VPN down", customer="Clinique Saint-Jean", priority="P2", created_at=desk.clock.now())
    fields.update(kw)
    return desk.create(NewTicket(**fields)).id


# -- URLs, connection errors ------------------------------------------------------------------------


def test_bare_postgresql_urls_select_the_psycopg_driver():
    assert db_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"


def test_unreachable_server_is_one_line_exit_2_without_the_password(tmp_path):
    r = run_cli("--db", "postgresql://deskterm:s3cret@127.0.0.1:1/desk", "list")
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "cannot connect" in r.stderr and "s3cret" not in r.stderr


# -- migrations and types -----------------------------------------------------------------------------


def test_each_migration_runs_on_postgresql_and_keeps_rows(pg_server):
    url = pg_server.create_database(migrated=False)
    try:
        store = open_store(url, migrate=False)
        migrate.upgrade_to(store, "0001")
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO customers (id, name) VALUES (1, 'Clinique Saint-Jean')"))
            conn.execute(
                text(
                    "INSERT INTO tickets (id, ref, subject, description, customer_id, priority, initial_priority, type,"
                    " status, group_name, created_at, created_by, updated_at, version, next_due) VALUES (1, 'EXT-1',"
                    " 'VPN down', '', 1, 'P2', 'P2', 'incident', 'open', 'L1', '2026-03-27 16:05:00+01', 'alice',"
                    " '2026-03-27 16:05:00+01', 3, NULL)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO events (ticket_id, at, kind, author, public, body) VALUES"
                    " (1, '2026-03-27 15:20:00+00', 'reply', 'alice', true, 'On it.')"
                )
            )
        for rev in ("0002", "0003", migrate.HEAD):  # one step at a time: each migration runs here
            migrate.upgrade_to(store, rev)
            with store.engine.connect() as conn:
                assert migrate.current_revision(conn) == rev
        store.dispose()
        desk = _desk(url, "bob")
        t = desk.ticket("EXT-1")
        assert (t.subject, t.version, t.created_at) == ("VPN down", 3, datetime(2026, 3, 27, 15, 5, tzinfo=UTC))
        assert [(e.kind, e.body, e.at) for e in t.events] == [
            ("reply", "On it.", datetime(2026, 3, 27, 15, 20, tzinfo=UTC))
        ]
        assert desk.rederive() == 1  # the columns added later are derived from the history
        assert desk.update("EXT-1", Change(note="after the upgrade")) == 4
        desk.store.dispose()
    finally:
        pg_server.drop_database(url)


def test_instants_are_timestamptz_stored_in_utc(pg_url):
    store = open_store(pg_url)
    with store.engine.connect() as conn:
        types = dict(
            conn.execute(
                text(
                    "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
                    " WHERE table_schema = 'public' AND column_name IN ('created_at', 'updated_at', 'at', 'next_due',"
                    " 'next_warn', 'fired_at', 'acknowledged_at', 'closed_at')"
                )
            ).all()
        )
    assert types and set(types.values()) == {"timestamp with time zone"}, types
    desk = Desk(store, _desk(pg_url).config, clock=FrozenClock(NOW), user="alice")
    paris = timezone(timedelta(hours=1))
    tid = _new(desk, created_at=datetime(2026, 3, 27, 16, 5, tzinfo=paris))
    with store.engine.connect() as conn:
        conn.execute(text("SET TIME ZONE 'Asia/Tokyo'"))  # the session zone changes nothing
        assert (
            conn.execute(text("SELECT to_char(created_at AT TIME ZONE 'UTC', 'HH24:MI') FROM tickets")).scalar()
            == "15:05"
        )
    t = desk.ticket(tid)
    assert t.created_at == datetime(2026, 3, 27, 15, 5, tzinfo=UTC) and t.created_at.utcoffset() == timedelta(0)
    store.dispose()


def test_agents_starting_at_once_on_an_empty_database_migrate_it_once(pg_server):
    url = pg_server.create_database(migrated=False)
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "deskterm.cli", "--db", url, "list", "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outs = [p.communicate(timeout=patience(120)) for p in procs]
        assert all(p.returncode == 0 for p in procs), outs
        assert all(json.loads(o) == [] for o, _ in outs)
    finally:
        pg_server.drop_database(url)


# -- retries -----------------------------------------------------------------------------------------------


def test_serialization_failure_is_retried_on_fresh_data(pg_url):
    desk = _desk(pg_url)
    tid = _new(desk)
    other = open_store(pg_url)
    attempts = []

    def work(session):
        attempts.append(1)
        version = session.execute(select(Ticket.version).where(Ticket.id == tid)).scalar_one()  # snapshot taken
        if len(attempts) == 1:  # someone else changes the row meanwhile
            with other.engine.begin() as conn:
                conn.execute(text("UPDATE tickets SET version = version + 1 WHERE id = :id"), {"id": tid})
        session.execute(text("UPDATE tickets SET version = :v WHERE id = :id"), {"v": version + 10, "id": tid})
        return version

    assert desk.store.write(work) == 2  # the second run read the other writer's version
    assert len(attempts) == 2
    assert desk.ticket(tid).version == 12
    other.dispose()
    desk.store.dispose()


def test_deadlock_is_retried(pg_url):
    desk = _desk(pg_url)
    a, b = _new(desk), _new(desk)
    store: Store = desk.store
    barrier = threading.Barrier(2, timeout=10)
    attempts = {"x": 0, "y": 0}
    errors = []

    def run(name, first, second):
        def work(session):
            attempts[name] += 1
            session.execute(text("UPDATE tickets SET subject = subject || :n WHERE id = :id"), {"n": name, "id": first})
            if attempts[name] == 1:
                barrier.wait()  # both hold their first row: each now wants the other's
            session.execute(
                text("UPDATE tickets SET subject = subject || :n WHERE id = :id"), {"n": name, "id": second}
            )

        try:
            store.write(work)
        except Exception as exc:  # noqa: BLE001 - every failure is collected and asserted on
            errors.append(exc)

    threads = [threading.Thread(target=run, args=("x", a, b)), threading.Thread(target=run, args=("y", b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(attempts.values()) == [1, 2]  # the deadlock victim ran again
    assert sorted(desk.ticket(a).subject[-2:] + desk.ticket(b).subject[-2:]) == sorted("xyxy")
    store.dispose()


def test_unique_name_taken_by_a_concurrent_transaction_is_retried(pg_url):
    desk = _desk(pg_url)
    other = open_store(pg_url)
    attempts = []

    def work(session):
        attempts.append(1)
        known = session.execute(select(Agent.name).where(Agent.name == "zoe")).scalar()
        if len(attempts) == 1:
            with other.engine.begin() as conn:
                conn.execute(text("INSERT INTO agents (name) VALUES ('zoe')"))
        if known is None:
            session.add(Agent(name="zoe"))
            session.flush()
        return known

    assert desk.store.write(work) == "zoe"
    assert len(attempts) == 2
    other.dispose()
    desk.store.dispose()


def test_two_apps_of_a_new_agent_writing_at_once_both_succeed(pg_url):
    """The first change of a new agent registers the name (the directory of agents): the same agent's two apps
    doing so at the same moment race on the unique name; the loser runs again and sees the committed row."""
    desk = _desk(pg_url)
    ids = [_new(desk) for _ in range(8)]
    errors = []

    def write(k, tids):
        for i, tid in enumerate(tids):
            d = _desk(pg_url, f"newcomer-{i}")  # one app per new agent and thread: both threads register it
            try:
                d.update(tid, Change(note=f"first words of newcomer-{i}"))
            except Exception as exc:  # noqa: BLE001 - every failure is collected and asserted on
                errors.append(exc)
            finally:
                d.store.dispose()

    threads = [threading.Thread(target=write, args=(k, ids[k::2])) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert {f"newcomer-{i}" for i in range(4)} <= set(desk.directory().names)
    desk.store.dispose()


# -- the change counter --------------------------------------------------------------------------------------


def test_the_change_watch_sees_a_change_made_by_another_process_within_2_seconds(pg_url, tmp_path):
    from deskterm.store.changes import ChangeWatch

    desk = _desk(pg_url)
    tid = _new(desk)
    store = open_store(pg_url)  # another host, as far as PostgreSQL can tell
    watch = ChangeWatch(store)
    assert not watch.changed()  # nothing happened
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deskterm.cli",
            "--db",
            pg_url,
            "--config",
            str(EXAMPLE_CONFIG),
            "update",
            str(tid),
            "--note",
            "from another process",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=patience(60))
    assert proc.returncode == 0, err
    committed = time.monotonic()
    while not watch.changed() and time.monotonic() - committed < patience(2.5):
        time.sleep(0.1)
    assert time.monotonic() - committed <= patience(2.0)
    # and every later change is seen again (a status, a new ticket)
    for change in (lambda: desk.update(tid, Change(status="open")), lambda: _new(desk)):
        change()
        committed = time.monotonic()
        while not watch.changed() and time.monotonic() - committed < patience(2.5):
            time.sleep(0.02)
        assert time.monotonic() - committed <= patience(2.0)
    watch.close()
    store.dispose()
    desk.store.dispose()


# -- the command line on both engines ------------------------------------------------------------------------

TICKETS = [
    {
        "ref": "EXT-1",
        "subject": "VPN down for ward B",
        "customer": "Clinique Saint-Jean",
        "priority": "P2",
        "created_at": "2026-03-27T16:05:00+01:00",
        "events": [
            {"at": "2026-03-27T16:20:00+01:00", "kind": "reply", "public": True, "author": "alice", "body": "On it."},
            {"at": "2026-03-27T16:40:00+01:00", "kind": "status", "to": "pending"},
            {"at": "2026-03-30T09:10:00+02:00", "kind": "status", "to": "open"},
        ],
    },
    {
        "ref": "EXT-2",
        "subject": "Printer",
        "customer": "Atelier Moreau",
        "impact": 2,
        "urgency": 3,
        "type": "request",
        "created_at": "2026-03-28T23:30:00-04:00",
        "events": [],
    },
    {
        "ref": "EXT-3",
        "subject": "Mail bounces",
        "customer": "Atelier Moreau",
        "priority": "P1",
        "created_at": "2026-03-29T01:15:00+00:00",
        "events": [
            {"at": "2026-03-29T03:30:00+02:00", "kind": "assign", "to": "bruno"},
            {"at": "2026-03-29T04:00:00+02:00", "kind": "status", "to": "resolved"},
        ],
    },
]


def test_cli_import_list_show_update_give_the_same_answers_on_both_engines(tmp_path, pg_url, cli_server):
    file = tmp_path / "t.json"
    file.write_text(json.dumps(TICKETS))
    outputs = {}
    for name, db in (("sqlite", str(tmp_path / "s.db")), ("pg", pg_url)):

        def ok(*args, db=db, name=name):
            r = cli_server.run("--db", db, "--config", str(EXAMPLE_CONFIG), *args)
            assert r.returncode == 0, (name, args, r.stderr)
            return r.stdout

        got = [ok("import", str(file))]
        got.append(ok("list", "--json", "--at", "2026-03-30T12:00:00+02:00"))
        got.append(ok("update", "EXT-2", "--status", "open", "--expect-version", "1"))
        r = cli_server.run(
            "--db", db, "--config", str(EXAMPLE_CONFIG), "update", "EXT-2", "--note", "x", "--expect-version", "1"
        )
        assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        show = json.loads(ok("show", "EXT-2", "--json", "--at", "2026-04-01T00:00:00Z"))
        for e in show["events"]:
            e.pop("at")  # written at the real now
        got.append(show)
        r = cli_server.run("--db", db, "--config", str(EXAMPLE_CONFIG), "import", str(file))
        assert r.returncode == 2 and "already imported" in r.stderr  # all or nothing, on both
        outputs[name] = got
    assert outputs["pg"] == outputs["sqlite"]


TWO_RULES = """
[calendars.always]
always = true

[policies.gold]
calendar = "always"
P1 = { first_response = "15m", resolution = "4h" }
P2 = { first_response = "30m", resolution = "8h" }
P3 = { first_response = "2h",  resolution = "3d" }
P4 = { first_response = "8h",  resolution = "10d" }

[defaults]
policy = "gold"

[groups.L2-network]
level = "L2"

[escalation]
managers = ["duty-manager"]

[[escalation.rules]]
when = "first_response.breached"
action = "hierarchical"
to = "duty-manager"

[[escalation.rules]]
when = "resolution.at 50%"
action = "functional"
to = "L2-network"
"""


@pytest.mark.engines("postgresql")
def test_four_processes_firing_two_rules_on_the_same_tickets_each_fire_once(tmp_path, db_url):
    """Two rules due on every ticket: processes that fire different rules on the same ticket at once
    meet on the ticket's row (a serialization failure on PostgreSQL, retried), never an error."""
    from deskterm.config import load_config

    config_path = tmp_path / "two.toml"
    config_path.write_text(TWO_RULES)
    desk = Desk(open_store(db_url), load_config(config_path), clock=FrozenClock(NOW), user="alice")
    desk.import_tickets(
        [NewTicket(subject=f"t{i}", customer="Atelier Moreau", priority="P1", created_at=NOW) for i in range(60)]
    )
    desk.store.dispose()
    at = (NOW + timedelta(hours=2, minutes=30)).isoformat()
    args = [
        sys.executable,
        "-m",
        "deskterm.cli",
        "--db",
        db_url,
        "--config",
        str(config_path),
        "escalate-due",
        "--at",
        at,
    ]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=patience(120)) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    store = open_store(db_url)
    with store.engine.connect() as conn:
        per_ticket = conn.execute(text("SELECT ticket_id, count(*) FROM escalations GROUP BY ticket_id")).all()
        firings = conn.execute(text("SELECT count(*) FROM rule_firings")).scalar()
        versions = conn.execute(text("SELECT min(version), max(version) FROM tickets")).one()
    store.dispose()
    assert firings == 120 and len(per_ticket) == 60 and all(n == 2 for _, n in per_ticket)
    assert tuple(versions) == (3, 3)  # two escalations, two version bumps, nothing lost


@pytest.mark.engines("sqlite", "postgresql")
def test_two_rules_fired_at_once_on_one_ticket_by_two_processes_both_land(tmp_path, db_url):
    """Deterministic form of the race above: both firings read the ticket before either writes it."""
    import tomllib

    from deskterm.config import parse_config

    base, rules = TWO_RULES.split("[[escalation.rules]]", 1)
    first, second = ("[[escalation.rules]]" + r for r in rules.split("[[escalation.rules]]"))
    configs = [parse_config(tomllib.loads(base + r), "two.toml") for r in (first, second)]
    clock = FrozenClock(NOW + timedelta(hours=2, minutes=30))
    desks = [Desk(open_store(db_url), c, clock=clock, user=u) for c, u in zip(configs, ("alice", "bruno"), strict=True)]
    tid = desks[0].create(NewTicket(subject="t", customer="Atelier Moreau", priority="P1", created_at=NOW)).id
    barrier = threading.Barrier(2, timeout=1)
    for d in desks:
        load, calls = d._load, []

        def waiting_load(session, key, load=load, calls=calls):
            t = load(session, key)
            calls.append(1)
            if len(calls) == 1:
                try:
                    barrier.wait()  # SQLite's write lock lets only one in: the barrier then times out
                except threading.BrokenBarrierError:
                    pass
            return t

        d._load = waiting_load
    results, errors = [], []

    def fire(d):
        try:
            results.append(d.apply_rules())
        except Exception as exc:  # noqa: BLE001 - every failure is collected and asserted on
            errors.append(exc)

    threads = [threading.Thread(target=fire, args=(d,)) for d in desks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and sorted(len(r) for r in results) == [1, 1]
    t = desks[0].ticket(tid)
    assert t.version == 3 and [e.kind for e in t.events] == ["escalate", "escalate"]
    for d in desks:
        d.store.dispose()
