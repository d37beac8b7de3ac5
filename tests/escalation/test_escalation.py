"""Escalations: manual (functional, hierarchical), acknowledgement, return to L1, escalating further, and the
automatic rules on SLA thresholds, exactly once per (rule, ticket, timer cycle), also across processes;
on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskterm.clock import FrozenClock
from deskterm.config import parse_config
from deskterm.errors import BadInput, Refused
from deskterm.service import Change, Desk, NewTicket
from deskterm.store.engine import open_store
from deskterm_testing import patience

pytestmark = pytest.mark.engines("sqlite", "postgresql")

START = datetime(2026, 3, 27, 8, 0, tzinfo=UTC)

CONFIG = """
[calendars.always]
always = true

[policies.gold]
calendar = "always"
warn_at = 0.75
P1 = { first_response = "15m", resolution = "4h", next_update = "1h" }
P2 = { first_response = "30m", resolution = "8h", next_update = "2h" }
P3 = { first_response = "2h",  resolution = "3d" }
P4 = { first_response = "8h",  resolution = "10d" }

[defaults]
policy = "gold"

[groups.L2-network]
level = "L2"
[groups.L3-vendor]
level = "L3"

[escalation]
managers = ["duty-manager"]
ack_within = "10m"

[[escalation.rules]]
when = "resolution.at 75%"
priority = ["P1", "P2"]
action = "hierarchical"
to = "duty-manager"

[[escalation.rules]]
when = "first_response.before 10m"
customer = ["Clinique Saint-Jean"]
action = "functional"
to = "L2-network"

[[escalation.rules]]
when = "next_update.breached"
action = "hierarchical"
to = "duty-manager"
"""


@pytest.fixture
def config(tmp_path):
    import tomllib

    (tmp_path / "esc.toml").write_text(CONFIG)
    return parse_config(tomllib.loads(CONFIG), str(tmp_path / "esc.toml"))


@pytest.fixture
def clock():
    return FrozenClock(START)


@pytest.fixture
def esc_desk(db_url, config, clock):
    store = open_store(db_url)
    yield Desk(store, config, clock=clock, user="alice")
    store.dispose()


def _new(desk: Desk, customer="Clinique Saint-Jean", priority="P1", **kw) -> int:
    return desk.create(
        NewTicket(subject="Internet down", customer=customer, priority=priority, created_at=desk.clock.now(), **kw)
    ).id


def test_manual_functional_escalation_moves_the_ticket_and_opens_a_record(esc_desk):
    tid = _new(esc_desk)
    esc_desk.update(tid, Change(assign="me"))
    esc_desk.escalate(tid, "functional", "L2-network", "router on ward B is down")
    t = esc_desk.ticket(tid)
    assert (t.group, t.assignee) == ("L2-network", None)
    [e] = esc_desk.escalations()
    assert (e.kind, e.level, e.target, e.created_by, e.acknowledged_at) == (
        "functional",
        "L2",
        "L2-network",
        "alice",
        None,
    )
    assert t.events[-1].kind == "escalate" and t.events[-1].reason == "router on ward B is down"
    with pytest.raises(BadInput):
        esc_desk.escalate(tid, "functional", "L9-nowhere", "x")
    with pytest.raises(BadInput):
        esc_desk.escalate(tid, "hierarchical", "duty-manager", "  ")


def test_hierarchical_escalation_keeps_the_ticket_in_place(esc_desk):
    tid = _new(esc_desk)
    esc_desk.update(tid, Change(assign="me"))
    esc_desk.escalate(tid, "hierarchical", "duty-manager", "customer threatens penalties")
    t = esc_desk.ticket(tid)
    assert (t.group, t.assignee) == ("L1", "alice")
    assert esc_desk.escalations()[0].level == "manager"


def test_acknowledge_return_and_escalate_further(esc_desk, config, clock, db_url):
    tid = _new(esc_desk)
    esc_desk.escalate(tid, "functional", "L2-network", "router")
    [e] = esc_desk.escalations()
    bob = Desk(open_store(db_url), config, clock=clock, user="bob")
    clock.advance(120)
    bob.acknowledge(e.id)
    with pytest.raises(Refused, match="already acknowledged by bob"):
        esc_desk.acknowledge(e.id)
    [e] = esc_desk.escalations()
    assert (e.acknowledged_by, e.acknowledged_at) == ("bob", clock.now())
    # further: L2 → L3 closes the L2 escalation as "escalated"
    bob.escalate(tid, "functional", "L3-vendor", "firmware bug, vendor needed")
    [open_esc] = esc_desk.escalations()
    assert open_esc.level == "L3"
    closed = [x for x in esc_desk.escalations(open_only=False) if x.closed_at is not None]
    assert [x.outcome for x in closed] == ["escalated"]
    # return to L1 with a note
    bob.de_escalate(open_esc.id, "vendor patched it; please confirm with the customer")
    assert esc_desk.escalations() == []
    t = esc_desk.ticket(tid)
    assert t.group == "L1"
    assert [e.kind for e in t.events] == ["escalate", "acknowledge", "escalate", "de-escalate"]
    assert [e.author for e in t.events] == ["alice", "bob", "bob", "bob"]


@pytest.mark.parametrize(
    ("priority", "customer", "minutes", "expected_targets"),
    [
        # P1 first response 15m: "before 10m" holds from 5 minutes on (Clinique only)
        ("P1", "Clinique Saint-Jean", 4, []),
        ("P1", "Clinique Saint-Jean", 5, ["L2-network"]),
        ("P1", "Atelier Moreau", 5, []),  # filtered out by customer
        # P1 resolution 4h: 75% = 3h
        ("P1", "Atelier Moreau", 179, []),
        ("P1", "Atelier Moreau", 180, ["duty-manager"]),
        ("P3", "Atelier Moreau", 60 * 24 * 3, []),  # P3 does not match the 75% rule's priority filter
    ],
)
def test_rule_thresholds_and_filters(esc_desk, clock, priority, customer, minutes, expected_targets):
    tid = _new(esc_desk, customer=customer, priority=priority)  # no reply: no next_update timer
    clock.advance(minutes * 60)
    esc_desk.apply_rules()
    assert sorted(e.target for e in esc_desk.escalations(ticket=tid)) == expected_targets


def test_next_update_breach_fires_once_per_cycle(esc_desk, clock):
    tid = _new(esc_desk, customer="Atelier Moreau", priority="P2")  # next update 2h
    esc_desk.update(tid, Change(reply="Looking."))
    clock.advance(2 * 3600 + 1)
    assert len(esc_desk.apply_rules()) == 1
    assert esc_desk.apply_rules() == []  # same cycle: nothing new
    esc_desk.update(tid, Change(reply="Still looking."))  # a new next_update cycle
    clock.advance(2 * 3600 + 1)
    fired = esc_desk.apply_rules()
    assert [t for t, _ in fired] == [tid]


def test_reopen_starts_a_new_cycle_but_a_restart_does_not(esc_desk, config, clock, db_url):
    tid = _new(esc_desk, customer="Atelier Moreau", priority="P1")  # no reply, so no next_update to breach
    clock.advance(3 * 3600)  # resolution at 75%
    assert len(esc_desk.apply_rules()) == 1
    restarted = Desk(open_store(db_url), config, clock=clock, user="alice")
    assert restarted.apply_rules() == []
    esc_desk.update(tid, Change(status="resolved"))
    esc_desk.update(tid, Change(status="open"))  # reopen: still at 75% of the resolution target
    clock.advance(60)
    assert [t for t, _ in restarted.apply_rules()] == [tid]


def test_escalate_due_cli_twice_escalates_nothing_new(tmp_path, db_url, config, clock):
    db = db_url
    desk = Desk(open_store(db), config, clock=clock, user="alice")
    for _ in range(3):
        _new(desk, customer="Atelier Moreau", priority="P1")
    at = (START + timedelta(hours=3, minutes=30)).isoformat()
    args = [
        sys.executable,
        "-m",
        "deskterm.cli",
        "--db",
        str(db),
        "--config",
        str(tmp_path / "esc.toml"),
        "escalate-due",
        "--at",
        at,
    ]
    first = subprocess.run(args, capture_output=True, text=True, check=True)
    assert first.stdout.startswith("escalated 3 tickets")
    second = subprocess.run(args, capture_output=True, text=True, check=True)
    assert second.stdout.startswith("escalated 0 tickets")
    listed = json.loads(
        subprocess.run(args[:-3] + ["list", "--json", "--at", at], capture_output=True, text=True, check=True).stdout
    )
    assert all(
        t["escalation"]
        == {
            "id": t["escalation"]["id"],
            "kind": "hierarchical",
            "level": "manager",
            "target": "duty-manager",
            "acknowledged": False,
        }
        for t in listed
    )


def test_four_processes_at_the_same_instant_escalate_each_ticket_once(tmp_path, db_url, config, clock):
    db = db_url
    desk = Desk(open_store(db), config, clock=clock, user="alice")
    from deskterm.service import NewTicket as NT

    desk.import_tickets(
        [NT(subject=f"t{i}", customer="Atelier Moreau", priority="P1", created_at=START) for i in range(200)]
    )
    at = (START + timedelta(hours=3, minutes=5)).isoformat()
    args = [
        sys.executable,
        "-m",
        "deskterm.cli",
        "--db",
        str(db),
        "--config",
        str(tmp_path / "esc.toml"),
        "escalate-due",
        "--at",
        at,
    ]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=patience(120)) for p in procs]  # four at once retry on conflicts: slow when loaded
    assert all(p.returncode == 0 for p in procs), outs
    total = sum(int(o.split()[1]) for o, _ in outs)
    assert total == 200
    store = open_store(db)
    with store.engine.connect() as conn:
        per_ticket = conn.exec_driver_sql("SELECT ticket_id, COUNT(*) FROM escalations GROUP BY ticket_id").fetchall()
        firings = conn.exec_driver_sql("SELECT COUNT(*) FROM rule_firings").scalar()
    store.dispose()
    assert firings == 200
    assert len(per_ticket) == 200 and all(n == 1 for _, n in per_ticket)


@pytest.mark.parametrize("timer", ["first_response", "resolution", "next_update"])
@pytest.mark.parametrize("kind", ["share", "lead"])
def test_each_timer_by_share_and_by_lead_time_fires_exactly_once(tmp_path, clock, timer, kind):
    """P2 on the 24x7 gold policy: first response 30m, resolution 8h, next update 2h (from the reply)."""
    import tomllib

    when = {
        ("first_response", "share"): "first_response.at 50%",
        ("first_response", "lead"): "first_response.before 10m",
        ("resolution", "share"): "resolution.at 50%",
        ("resolution", "lead"): "resolution.before 1h",
        ("next_update", "share"): "next_update.at 50%",
        ("next_update", "lead"): "next_update.before 30m",
    }[(timer, kind)]
    # the instant (minutes after creation) at which the threshold is crossed
    crossing = {
        ("first_response", "share"): 15,
        ("first_response", "lead"): 20,
        ("resolution", "share"): 240,
        ("resolution", "lead"): 420,
        ("next_update", "share"): 60,
        ("next_update", "lead"): 90,
    }[(timer, kind)]
    text = (
        CONFIG.split("[[escalation.rules]]")[0]
        + f'[[escalation.rules]]\nwhen = "{when}"\naction = "hierarchical"\nto = "duty-manager"\n'
    )
    config = parse_config(tomllib.loads(text), "rules.toml")
    desk = Desk(open_store(tmp_path / "rules.db"), config, clock=clock, user="alice")
    tid = _new(desk, customer="Atelier Moreau", priority="P2")
    if timer == "next_update":
        desk.update(tid, Change(reply="Looking into it."))  # starts next_update at minute 0; first response met
    elif timer == "resolution":
        desk.update(tid, Change(reply="Looking into it."))  # first response met; next update (2h) has no rule here
    clock.advance((crossing - 1) * 60)
    assert desk.apply_rules() == []  # a minute before the threshold
    clock.advance(60)
    assert [t for t, _ in desk.apply_rules()] == [tid]  # at the threshold
    clock.advance(5 * 60)
    assert desk.apply_rules() == []  # once
    assert len(desk.escalations(ticket=tid)) == 1


# -- the two escalation lines, the ticket's end, the acknowledger, escalate-due's output and --at --------------


def test_functional_and_hierarchical_are_independent_lines(esc_desk, clock, tmp_path, db_url):
    """A functional escalation supersedes only an open functional one, a hierarchical one only a hierarchical one
    (an automatic functional escalation to L2 once closed the duty manager's unacknowledged hierarchical one)."""
    tid = _new(esc_desk, customer="Atelier Moreau")
    esc_desk.escalate(tid, "hierarchical", "duty-manager", "customer threatens penalties")
    clock.advance(60)
    esc_desk.escalate(tid, "functional", "L2-network", "router")
    assert sorted((e.kind, e.target) for e in esc_desk.escalations(ticket=tid)) == [
        ("functional", "L2-network"),
        ("hierarchical", "duty-manager"),
    ]
    clock.advance(60)
    esc_desk.escalate(tid, "functional", "L3-vendor", "firmware")  # further on the functional line only
    by_target = {e.target: e for e in esc_desk.escalations(open_only=False, ticket=tid)}
    assert (by_target["L2-network"].closed_at, by_target["L2-network"].outcome) == (clock.now(), "escalated")
    assert by_target["duty-manager"].closed_at is None and by_target["L3-vendor"].closed_at is None
    # an automatic rule on the functional line leaves the manager's escalation open too
    t2 = _new(esc_desk)  # Clinique Saint-Jean, P1: "first_response.before 10m" → L2-network (functional)
    esc_desk.escalate(t2, "hierarchical", "duty-manager", "VIP")
    clock.advance(5 * 60)
    esc_desk.apply_rules()
    assert sorted((e.kind, e.closed_at) for e in esc_desk.escalations(open_only=False, ticket=t2)) == [
        ("functional", None),
        ("hierarchical", None),
    ]
    # `escalations --all`: the reason column lines up whatever the state (closed (escalated), NOT ACKNOWLEDGED)
    listed = _cli(tmp_path, db_url, "escalations", "--all").stdout.splitlines()
    reasons = ["customer threatens penalties", "router", "firmware", "VIP", "automatic: first_response.before 10m"]
    assert len(listed) == 5 and len({line.index(r) for line, r in zip(listed, reasons, strict=True)}) == 1, listed


@pytest.mark.parametrize("end", ["resolved", "closed"])
def test_resolving_or_closing_the_ticket_closes_its_open_escalations(esc_desk, clock, end, tmp_path, db_url):
    tid = _new(esc_desk, customer="Atelier Moreau")
    esc_desk.escalate(tid, "hierarchical", "duty-manager", "penalties")
    esc_desk.escalate(tid, "functional", "L2-network", "router")
    clock.advance(60)
    esc_desk.update(tid, Change(status="resolved"))
    if end == "closed":
        esc_desk.close(tid)
    assert esc_desk.escalations() == []  # the open list (E, `deskterm escalations`) no longer holds them
    closed = esc_desk.escalations(open_only=False, ticket=tid)
    assert [(e.outcome, e.closed_by, e.acknowledged_at) for e in closed] == [("resolved", "alice", None)] * 2
    assert all(e.closed_at == START + timedelta(seconds=60) for e in closed)
    assert _cli(tmp_path, db_url, "escalations").stdout == ""
    listed = _cli(tmp_path, db_url, "escalations", "--all").stdout.splitlines()
    assert len(listed) == 2 and all("closed (resolved)  " in line and "NOT ACKNOWLEDGED" not in line for line in listed)
    if end == "resolved":
        esc_desk.update(tid, Change(status="open"))  # a reopen does not reopen them: the rules may raise new ones
        assert esc_desk.escalations() == []


def test_open_escalations_of_tickets_resolved_by_an_older_deskterm_read_as_closed(esc_desk, clock):
    """A desk written before the rule above holds open escalations of resolved tickets: not in the open list,
    read as closed with the ticket's state, and neither acknowledged nor returned any more."""
    from sqlalchemy import update as sql_update

    from deskterm.store.models import Escalation

    tid = _new(esc_desk, customer="Atelier Moreau")
    esc_desk.escalate(tid, "hierarchical", "duty-manager", "penalties")
    clock.advance(60)
    esc_desk.update(tid, Change(status="resolved"))
    esc_desk.store.write(
        lambda s: s.execute(sql_update(Escalation).values(closed_at=None, closed_by=None, outcome=None))
    )
    assert esc_desk.escalations() == []
    [e] = esc_desk.escalations(open_only=False)
    assert (e.outcome, e.closed_at) == ("resolved", clock.now())
    with pytest.raises(Refused, match="closed with its ticket"):
        esc_desk.acknowledge(e.id)
    with pytest.raises(Refused, match="closed with its ticket"):
        esc_desk.de_escalate(e.id, "back to you")


def test_the_acknowledger_is_the_user_who_acknowledged(esc_desk, config, clock, db_url):
    from deskterm.tui.widgets.timeline import describe

    tid = _new(esc_desk)
    esc_desk.escalate(tid, "hierarchical", "duty-manager", "penalties")
    [e] = esc_desk.escalations()
    bob = Desk(open_store(db_url), config, clock=clock, user="bob")
    bob.acknowledge(e.id)
    ack = esc_desk.ticket(tid).events[-1]
    assert (ack.kind, ack.author) == ("acknowledge", "bob")
    assert describe(ack) == f"escalation {e.id} to duty-manager acknowledged by bob"
    bob.store.dispose()


def _cli(tmp_path, db_url, *args, check=True):
    cmd = [sys.executable, "-m", "deskterm.cli", "--db", str(db_url), "--config", str(tmp_path / "esc.toml"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def test_escalate_due_counts_and_lists_each_ticket_once(tmp_path, db_url, config, clock):
    """Two rules firing on one ticket: one line for the ticket, with both rules, and both counts."""
    desk = Desk(open_store(db_url), config, clock=clock, user="alice")
    clinique = _new(desk)  # P1 Clinique: first_response.before 10m (at 5m) and resolution.at 75% (at 3h)
    others = [_new(desk, customer="Atelier Moreau") for _ in range(3)]  # resolution.at 75% only
    desk.store.dispose()
    out = _cli(tmp_path, db_url, "escalate-due", "--at", (START + timedelta(hours=3, minutes=1)).isoformat()).stdout
    lines = out.splitlines()
    assert lines[0] == "escalated 4 tickets (5 escalations)"
    assert lines[1:] == [
        f"  #{clinique}  resolution.at 75% → duty-manager; first_response.before 10m → L2-network",
        *(f"  #{t}  resolution.at 75% → duty-manager" for t in others),
    ]


def test_escalate_due_refuses_a_future_instant(tmp_path, db_url, config, clock):
    """--at beyond now would date escalations in the future, use up the firings, and (through the ticket's
    updated_at) stamp every later change with that date: refused, one line, exit 2, nothing written."""
    desk = Desk(open_store(db_url), config, clock=clock, user="alice")
    tid = _new(desk, customer="Atelier Moreau")
    desk.store.dispose()
    done = _cli(tmp_path, db_url, "escalate-due", "--at", "2199-01-01T00:00:00Z", check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("--at: ") and "future" in done.stderr
    desk = Desk(open_store(db_url), config, clock=clock, user="alice")
    assert desk.escalations(open_only=False) == [] and desk.ticket(tid).version == 1
    with pytest.raises(BadInput, match="future"):
        desk.apply_rules(clock.now() + timedelta(seconds=1))
    desk.store.dispose()


def test_a_future_stamp_already_in_a_desk_does_not_leak_into_later_changes(esc_desk, clock):
    """A desk written by an older deskterm (escalate-due --at 9999…) holds a ticket changed "in 9999": the next
    change is stamped now, not 9999 (a change is never recorded later than now, beyond a small clock skew)."""
    tid = _new(esc_desk, customer="Atelier Moreau")
    future = Desk(esc_desk.store, esc_desk.config, clock=FrozenClock(datetime(2050, 1, 1, tzinfo=UTC)), user="cron")
    future.update(tid, Change(note="written by a clock in 2050"))
    clock.advance(60)
    esc_desk.update(tid, Change(note="a note made now"))
    t = esc_desk.ticket(tid)
    note = next(e for e in t.events if e.body == "a note made now")
    assert note.at == clock.now()
    assert t.updated_at == clock.now()


def test_a_rule_is_named_by_its_name_or_its_condition(tmp_path, db_url, clock):
    import tomllib

    text = CONFIG.replace('when = "resolution.at 75%"', 'when = "resolution.at 75%"\nname = "P1/P2 three quarters"')
    config = parse_config(tomllib.loads(text), "named.toml")
    named, plain = config.escalation.rules[0], config.escalation.rules[1]
    assert (named.label, plain.label) == ("P1/P2 three quarters", "first_response.before 10m")
    assert config.escalation.rule_label(named.key) == "P1/P2 three quarters"
    assert "removed" in config.escalation.rule_label("0000000000000000")
    # the name is not part of the rule's identity: renaming a rule keeps its firings
    assert named.key == parse_config(tomllib.loads(CONFIG), "plain.toml").escalation.rules[0].key
    (tmp_path / "esc.toml").write_text(text)
    desk = Desk(open_store(db_url), config, clock=clock, user="alice")
    tid = _new(desk, customer="Atelier Moreau")
    desk.store.dispose()
    out = _cli(tmp_path, db_url, "escalate-due", "--at", (START + timedelta(hours=3)).isoformat()).stdout
    assert out.splitlines() == ["escalated 1 ticket", f"  #{tid}  P1/P2 three quarters → duty-manager"]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ('""', "must be a short name on one line"),
        ("3", "must be a short name on one line"),
        ('"two\\nlines"', "must be a short name on one line"),
        ('"' + "x" * 61 + '"', "at most 60 characters"),
        ('"late"', "'late' already names escalation.rules[1]"),
    ],
)
def test_a_rule_name_is_checked(name, problem):
    import tomllib

    from deskterm.errors import BadInput as ConfigError

    text = CONFIG.replace('when = "resolution.at 75%"', 'when = "resolution.at 75%"\nname = "late"', 1)
    text = text.replace('when = "next_update.breached"', f'when = "next_update.breached"\nname = {name}', 1)
    with pytest.raises(ConfigError) as info:
        parse_config(tomllib.loads(text), "named.toml")
    assert any(p.startswith("named.toml: escalation.rules[3].name: ") and problem in p for p in info.value.problems), (
        info.value.problems
    )


# -- escalate-due replays only the tickets some rule's filters take (issue 17) ---------------------------------

_steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=1000),  # which ticket (modulo how many)
        st.sampled_from(
            [
                Change(priority="P1"),
                Change(priority="P2"),
                Change(priority="P3"),
                Change(status="pending"),
                Change(status="open"),
                Change(reply="On it."),
                Change(customer_message="Any news?"),
                Change(group="L2-network"),
                Change(type="request"),
                "new Clinique Saint-Jean",
                "new Atelier Moreau",
            ]
        ),
        st.integers(min_value=0, max_value=5 * 60),  # minutes before the change, then the rules are applied
    ),
    min_size=1,
    max_size=10,
)


def _due_by_replay(desk: Desk) -> set[tuple[int, str]]:
    """What should fire now: every open ticket's history replayed, less what fired already (the oracle)."""
    from sqlmodel import select

    from deskterm.domain import escalation as esc_rules
    from deskterm.domain.calendar import epoch
    from deskterm.store.models import RuleFiring

    now = desk.clock.now()
    with desk.store.read() as session:
        fired = {(f.rule, f.ticket_id, f.cycle) for f in session.exec(select(RuleFiring)).all()}
    out = set()
    for t in desk.tickets(["new", "open", "pending", "on_hold"]):
        events = [e.for_engine() for e in t.events]
        for f in esc_rules.due_firings(
            desk.config.escalation.rules,
            desk.sla(t, now),
            events,
            epoch(now),
            customer=t.customer,
            type=t.type,
            group=t.group,
        ):
            if (f.rule.key, t.id, f.cycle) not in fired:
                out.add((t.id, f.rule.key))
    return out


@pytest.fixture
def filtered_desk(db_url, clock, tmp_path):
    """The rules of ``CONFIG`` that filter (by priority, by customer), and one by type and group: the rule that
    takes every ticket (next_update breached) left out, so that some tickets are no rule's."""
    import tomllib

    text = CONFIG.split('[[escalation.rules]]\nwhen = "next_update.breached"')[0] + (
        '[[escalation.rules]]\nwhen = "next_update.breached"\ntype = ["request"]\ngroup = ["L1"]\n'
        'action = "hierarchical"\nto = "duty-manager"\n'
    )
    store = open_store(db_url)
    yield Desk(store, parse_config(tomllib.loads(text), str(tmp_path / "f.toml")), clock=clock, user="alice")
    store.dispose()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_steps)
def test_escalate_due_fires_what_replaying_every_open_ticket_fires(filtered_desk, clock, steps):
    """``apply_rules`` (now) reads the histories of the tickets some rule's filters take by their rows alone
    (priority, customer, policy, type, group): it fires exactly what replaying every open ticket fires."""
    _fires_as_replay(filtered_desk, clock, steps)


@pytest.fixture
def policy_desk(db_url, clock, tmp_path):
    """Rules filtered by policy: one by a policy some customers are given (their names, in SQL), one by the
    default policy (every customer but those given another)."""
    import tomllib

    text = CONFIG.split("[[escalation.rules]]")[0].replace(
        "[defaults]",
        '[policies.silver]\ncalendar = "always"\nP1 = { first_response = "20m", resolution = "5h" }\n'
        'P2 = { first_response = "1h", resolution = "1d" }\nP3 = { first_response = "3h", resolution = "4d" }\n'
        'P4 = { first_response = "8h", resolution = "10d" }\n\n'
        '[customers."Atelier Moreau"]\npolicy = "silver"\n\n[defaults]',
    ) + (
        '[[escalation.rules]]\nwhen = "first_response.before 15m"\npolicy = ["silver"]\naction = "functional"\n'
        'to = "L2-network"\n\n[[escalation.rules]]\nwhen = "resolution.at 50%"\npolicy = ["gold"]\npriority = ["P1"]\n'
        'action = "hierarchical"\nto = "duty-manager"\n'
    )
    store = open_store(db_url)
    yield Desk(store, parse_config(tomllib.loads(text), str(tmp_path / "p.toml")), clock=clock, user="alice")
    store.dispose()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_steps)
def test_escalate_due_by_policy_fires_what_replaying_every_open_ticket_fires(policy_desk, clock, steps):
    """The rules' policies said in SQL as the customers given them: the same firings as the replay of all."""
    _fires_as_replay(policy_desk, clock, steps)


def _fires_as_replay(esc_desk: Desk, clock, steps) -> None:
    """Also what ``escalate-due`` finds due through the driver alone before it opens the store
    (``PlainDesk.escalations_due``): the same."""
    from deskterm.store.plain import open_plain

    esc_desk.rederive()  # (the configuration's fingerprint, which the plain reads check)
    url = esc_desk.store.engine.url.render_as_string(hide_password=False)
    ids = [
        _new(esc_desk, priority="P3"),
        _new(esc_desk, customer="Atelier Moreau", priority="P2"),
        _new(esc_desk, customer="Atelier Moreau", priority="P3"),  # no rule's until raised, or a request of L1
    ]
    for which, step, minutes in steps:
        clock.advance(minutes * 60)
        if isinstance(step, str):
            ids.append(_new(esc_desk, customer=step.removeprefix("new "), priority="P1"))
        else:
            try:
                esc_desk.update(ids[which % len(ids)], step)
            except (BadInput, Refused):
                pass  # refused by the workflow: nothing written
        expected = _due_by_replay(esc_desk)
        reader = open_plain(url, esc_desk.config, clock)
        assert reader is not None
        try:
            assert {(tid, f.rule.key) for tid, f in reader.escalations_due(clock.now())} == expected
        finally:
            reader.close()
        assert set(esc_desk.apply_rules()) == expected


def test_a_ticket_changed_after_the_rules_now_is_read_whatever_its_row_says(filtered_desk, clock):
    """A row changed after the rules' now (by another host's clock, a little ahead) says what is still to come: a
    P1 lowered to P3 then is no rule's by its row, while its replay as of now fires the P1 rule. Both the store's
    candidates and the driver's (``PlainDesk.rule_candidates``: the rows changed since the second of now, read
    apart from the rules' filters) take it, and fire what the replay of every open ticket fires."""
    from deskterm.store.plain import open_plain

    filtered_desk.rederive()
    url = filtered_desk.store.engine.url.render_as_string(hide_password=False)
    lowered = _new(filtered_desk, customer="Atelier Moreau", priority="P1")
    clock.advance(3 * 3600 + 300)  # P1's resolution (4h) at 75 % (3h): the first rule is due
    filtered_desk.update(lowered, Change(priority="P3"))
    for back in (0.5, 59.5, 240):  # (a fraction of a second: the change's instant is compared to the second)
        clock.set(START + timedelta(seconds=3 * 3600 + 300))
        clock.advance(-back)
        expected = _due_by_replay(filtered_desk)
        assert (lowered, filtered_desk.config.escalation.rules[0].key) in expected
        reader = open_plain(url, filtered_desk.config, clock)
        assert reader is not None
        try:
            assert {(tid, f.rule.key) for tid, f in reader.escalations_due(clock.now())} == expected
        finally:
            reader.close()
    assert set(filtered_desk.apply_rules()) == expected


def test_rules_by_policy_fire_for_the_customers_of_that_policy_only(policy_desk, clock):
    silver = _new(policy_desk, customer="Atelier Moreau", priority="P1")
    gold = _new(policy_desk, priority="P1")
    silver_rule, gold_rule = policy_desk.config.escalation.rules
    clock.advance(6 * 60)  # silver's first response (20m) has less than 15m left; gold's rule is at 50 % only
    assert policy_desk.apply_rules() == [(silver, silver_rule.key)]
    clock.advance(2 * 3600)  # gold's resolution (4h) at 50 %; silver's is its own (5h), and no gold rule's
    assert policy_desk.apply_rules() == [(gold, gold_rule.key)]
