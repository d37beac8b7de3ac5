"""The demo desk shows the whole product (issue 13, item 25), and `demo --keep DIR` never writes over a desk
or a configuration (item 4).

The desk is the one `deskterm demo` opens: built by ``build_demo`` with its story, on a frozen clock."""

from __future__ import annotations

import os
import stat
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from deskterm import reports
from deskterm.clock import FrozenClock
from deskterm.demo import build_demo, prepare_directory
from deskterm.domain.escalation import FUNCTIONAL, HIERARCHICAL
from deskterm.domain.workflow import STOPPED
from deskterm.errors import BadInput
from deskterm.service import Desk
from deskterm.store.engine import open_store
from deskterm_testing import run_cli

NOW = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)  # a Friday afternoon (the screen tests' instant)


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    where = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:  # set up before the per-test isolation: keep the holidays cache here too
        mp.setenv("XDG_CACHE_HOME", str(where / "cache"))
        db, config = build_demo(where / "desk", tickets=300, clock=FrozenClock(NOW))
    store = open_store(db)
    yield Desk(store, config, clock=FrozenClock(NOW), user="tester")
    store.dispose()


@pytest.fixture(scope="module")
def tickets(desk):
    return desk.tickets()


def kpis(desk, since: datetime, until: datetime) -> reports.Kpis:
    return reports.compute(
        desk.tickets_for_period(since, until),
        lambda t: desk.sla(t, until),
        since,
        until,
        desk.escalations(open_only=False),
        desk.config.tz,
    )


def test_escalations_await_acknowledgement_functional_and_hierarchical(desk):
    open_escalations = desk.escalations(open_only=True)
    waiting = [e for e in open_escalations if e.acknowledged_at is None]
    assert len(waiting) >= 3
    assert any(e.acknowledged_at is not None for e in open_escalations)  # some acknowledged, still open
    assert {e.kind for e in waiting} == {FUNCTIONAL, HIERARCHICAL}
    assert {e.level for e in open_escalations} >= {"L2", "L3", "manager"}
    assert any(e.outcome == "returned" for e in desk.escalations(open_only=False))  # one sent back to L1
    assert all(e.created_at <= NOW and (e.acknowledged_at or NOW) <= NOW for e in desk.escalations(open_only=False))
    # the queue's "Escalated" view and the escalation list agree: every open ticket outside L1 went there by a
    # real escalation that is still open (the imported history escalates only tickets resolved since)
    outside_l1 = {t.id for t in desk.tickets() if t.status not in STOPPED and t.group != "L1"}
    assert outside_l1 and outside_l1 <= {e.ticket_id for e in open_escalations}
    assert any(e.rule for e in open_escalations)  # the automatic rules fired too
    # the escalated tickets are open, and their history says who escalated and who acknowledged
    for e in open_escalations:
        t = desk.ticket(e.ticket_id)
        assert t.status not in STOPPED
        assert any(ev.kind == "escalate" and ev.to == e.target for ev in t.events)


def test_every_escalation_target_is_defined_in_the_demo_configuration(desk, tickets):
    settings = desk.config.escalation
    assert {"L2", "L3"} <= set(settings.groups.values()) and settings.managers == ("duty-manager",)
    for e in desk.escalations(open_only=False):
        assert e.target in (settings.groups if e.kind == FUNCTIONAL else settings.managers)
    history_targets = {ev.to for t in tickets for ev in t.events if ev.kind == "escalate"}
    assert history_targets and history_targets <= set(settings.groups) | set(settings.managers)
    assert {t.group for t in tickets} <= set(settings.groups)


def test_rules_validate_against_the_demo_configuration(desk):
    import tomllib

    from deskterm.config import parse_config

    settings = desk.config.escalation
    assert len(settings.rules) >= 2 and {r.action for r in settings.rules} == {FUNCTIONAL, HIERARCHICAL}
    for rule in settings.rules:
        assert rule.to in (settings.groups if rule.action == FUNCTIONAL else settings.managers)
        assert rule.name  # toasts name the rule, not its hash
    # the file the demo wrote is the configuration it runs with
    text = desk.config.source.read_text(encoding="utf-8")
    assert parse_config(tomllib.loads(text), "x").escalation.rules == settings.rules


def test_the_demo_configuration_writes_contract_days_as_business_days(desk):
    """Its targets on office calendars are business days (`bd`): a command on the demo desk says no warning
    (`d` on a non-24x7 calendar would say one on every command)."""
    assert desk.config.warnings == []
    bronze = desk.config.policies["bronze"].targets["P3"]
    assert bronze.days == (("first_response", 1), ("resolution", 5))
    source = desk.config.source
    done = run_cli("--db", str(source.parent / "demo.db"), "--config", str(source), "list", "--status", "open")
    assert done.returncode == 0 and done.stderr == ""


def test_a_major_incident_with_linked_tickets(desk, tickets):
    majors = Counter(t.major_id for t in tickets if t.major_id is not None)
    assert len(majors) == 1
    major_id, linked = majors.most_common(1)[0]
    assert linked >= 3
    major = desk.ticket(major_id)
    assert major.status not in STOPPED and major.priority == "P1"
    assert sum(1 for e in major.events if e.kind == "reply" and e.public) >= 3
    for t in desk.linked(major_id):
        assert any(e.kind == "link" and e.to == str(major_id) for e in desk.ticket(t.id).events)


def test_satisfaction_answers_canned_responses_classifications_codes_and_agents(desk, tickets):
    rated = [t for t in tickets if t.csat_score is not None]
    assert len(rated) >= 10 and len({t.csat_score for t in rated}) >= 3
    assert all(any(e.kind == "csat" for e in desk.ticket(t.id).events) for t in rated[:5])  # recorded by `rate`
    k = kpis(desk, NOW - timedelta(days=30), NOW)
    assert k.csat_mean is not None and k.nps is not None and k.csat_responses >= 8
    assert len(desk.config.canned) >= 3
    ticket = tickets[0]
    assert all(desk.canned(name, ticket) for name in desk.config.canned)
    assert {t.classification for t in tickets} >= {"defect", "change_request"}
    codes = Counter(t.resolution_code for t in tickets if t.status in STOPPED)
    assert set(codes) - {None} >= {"fixed", "workaround"} and None not in codes
    authors = {e.author for t in tickets for e in t.events if e.author not in ("customer", "demo")}
    assert len(authors) >= 6  # several agents of L1, the groups' agents, the duty manager


def test_ninety_days_of_history_mostly_within_sla(desk, tickets):
    oldest = min(t.created_at for t in tickets)
    assert NOW - oldest > timedelta(days=80)
    compliance = kpis(desk, NOW - timedelta(days=30), NOW).overall_compliance
    assert 0.85 <= compliance <= 0.95
    # the open queue is mostly on time: not a wall of breaches
    open_tickets = [t for t in tickets if t.status not in STOPPED]
    breached = [t for t in open_tickets if any(x.state == "breached" for x in desk.sla(t, NOW).timers.values())]
    # (20: the office policies count business days, `5bd` is 45 counted hours where `5d` was 120, so the planned
    # tickets end sooner)
    assert len(open_tickets) >= 20 and len(breached) <= len(open_tickets) // 5
    # and no open ticket sits weeks past its deadline (the problems are answered, resolved or waiting on a vendor)
    worst = min((x.remaining for t in breached for x in desk.sla(t, NOW).timers.values()), default=0)
    assert worst > -3 * 86400, worst
    assert {t.status for t in open_tickets} >= {"new", "open", "pending"}


def test_the_30_day_trends_are_filled(desk):
    from deskterm.tui.screens.dashboard import day_windows

    tickets = desk.tickets_for_period(NOW - timedelta(days=31), NOW)
    days = []
    for since, until in day_windows(NOW, desk.config.tz):
        days.append(reports.compute(tickets, lambda t, u=until: desk.sla(t, u), since, until, (), desk.config.tz))
    assert sum(1 for k in days if k.opened) >= 20
    for week in range(4):  # every week of the 30 days has work opened, resolved and timed
        chunk = days[week * 7 : (week + 1) * 7]
        assert sum(k.opened for k in chunk) and sum(k.resolved for k in chunk)
        assert any(k.overall_compliance is not None for k in chunk)


def test_the_demo_is_the_same_every_time_on_a_frozen_clock(tmp_path, tickets):
    db, config = build_demo(tmp_path / "again", tickets=300, clock=FrozenClock(NOW))
    store = open_store(db)
    try:
        again = Desk(store, config, clock=FrozenClock(NOW)).tickets()
    finally:
        store.dispose()
    assert [(t.subject, t.status, t.csat_score, t.major_id, len(t.events)) for t in again] == [
        (t.subject, t.status, t.csat_score, t.major_id, len(t.events)) for t in tickets
    ]


# -- item 4: --keep DIR --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["deskterm.toml", "demo.db", "deskterm.db"])
def test_keep_refuses_a_directory_holding_a_config_or_a_desk(tmp_path, name):
    where = tmp_path / "config"
    where.mkdir()
    (where / name).write_text("mine\n", encoding="utf-8")
    before = sorted(os.listdir(where))
    done = run_cli("demo", "--keep", str(where))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "already holds a desk or a configuration" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert sorted(os.listdir(where)) == before and (where / name).read_text(encoding="utf-8") == "mine\n"


def test_keep_never_writes_through_a_planted_link(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    where = tmp_path / "shared"
    where.mkdir()
    (where / "deskterm.toml").symlink_to(victim)
    with pytest.raises(BadInput):
        build_demo(where, tickets=5, clock=FrozenClock(NOW))
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert not (where / "demo.db").exists()


def test_keep_creates_the_directory_0770_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        where = prepare_directory(tmp_path / "new" / "demo")
    finally:
        os.umask(old)
    assert stat.S_IMODE(where.stat().st_mode) == 0o770
    db, _ = build_demo(where, tickets=5, clock=FrozenClock(NOW))
    assert stat.S_IMODE(where.stat().st_mode) == 0o770
    assert (
        stat.S_IMODE((where / "deskterm.toml").stat().st_mode) == 0o660
    )  # the group's, as the desk; nothing for others
    # an empty directory that exists is fine, and keeps its own mode
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o700)
    build_demo(empty, tickets=5, clock=FrozenClock(NOW))
    assert stat.S_IMODE(empty.stat().st_mode) == 0o700 and (empty / "demo.db").exists()


def test_the_service_managers_month(desk, tickets):
    """Contracts (one ending within 60 days, one ended without renewal), time logged, change requests in every
    approval state, two problems with linked incidents and corrective actions (issue 18)."""
    from deskterm import billing, monthly
    from deskterm.domain.billing import churned, ending_within

    contracts = desk.contracts()
    today = NOW.date()
    assert len(contracts) == 4
    assert [c.customer for c in ending_within(contracts, today) if not c.renews] == ["CHU Lyon Sud"]
    assert [c.customer for c in churned(contracts, today - timedelta(days=30), today)] == ["Atelier Moreau"]
    logged = [t for t in tickets if desk.time_logged(t.id)]
    assert len(logged) >= 10
    states = Counter(
        cr[1] for t in tickets if t.classification == "change_request" and (cr := desk.change_request_of(t.id))
    )
    assert set(states) == {"proposed", "approved", "delivered", "invoiced", "rejected"}
    problems = [t for t in tickets if t.type == "problem" and desk.work_summary(t.id) is not None]
    with desk.store.read() as session:
        found = monthly._problems(session, None, today, desk.config.tz)
    linked = [p for p in found if p["incidents"]]
    assert len(linked) == 2 and all(len(p["incidents"]) >= 2 and p["root_cause"] for p in linked)
    actions = [a for p in linked for a in p["actions"]]
    assert any(a["state"] == "done" for a in actions) and any(a["overdue"] for a in actions)
    assert problems
    # billing adds up: each contract's amount is the sum of its lines, the month's the sum of the contracts'
    month = billing.parse_month("2026-03", desk.config.tz, NOW)
    billed = 0
    for customer in ("Clinique Saint-Jean", "CHU Lyon Sud", "Banque Rhône-Alpes"):
        with desk.store.read() as session:
            bill = billing.month_bill(session, customer, month, desk.config.tz)
        for b in bill.bills:
            assert b.amount_cents == sum(line.amount_cents for line in b.changes)
            assert b.included_used == sum(i.seconds for i in b.covered)
            for line in b.changes:
                assert line.amount_cents == (
                    (line.item.seconds * b.contract.rate_cents + 1800) // 3600 if line.billable else 0
                )
        assert bill.amount_cents == sum(b.amount_cents for b in bill.bills)
        billed += bill.amount_cents
        report = monthly.customer_report(desk, customer, "2026-03")
        assert round(report["billed_amount"] * 100) == bill.amount_cents
    assert billed > 0
    assert report["volumes"]["opened"] > 0 and report["contracts"][0]["name"] == "Gold support"  # the last one
    page = monthly.customer_html(report)
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "Banque Rhône-Alpes" in page


def test_the_ticket_screens_one_read_is_the_separate_reads(desk, tickets):
    """``Desk.ticket_view`` (the ticket screen's read, one transaction) gives for every ticket of the demo (problems,
    change requests, time logged, major incidents and their linked tickets, open escalations) what the separate
    reads give."""
    seen = Counter()
    for t in tickets:
        view = desk.ticket_view(t.id)
        assert view.record == desk.ticket(t.id)
        assert view.work == desk.work_summary(t.id)
        opened = [(e.kind, e.target) for e in desk.escalations(open_only=True, tickets=[t.id])]
        assert view.open_lines == opened
        assert view.linked == (desk.linked(t.id) if t.major_id is None else [])
        seen.update(
            {
                "linked": bool(view.linked),
                "escalated": bool(view.open_lines),
                "problem": view.work.incidents > 0,
                "logged": view.work.logged_seconds > 0,
                "contract": view.work.contract is not None,
            }
        )
    assert all(seen[k] for k in ("linked", "escalated", "problem", "logged", "contract")), seen
