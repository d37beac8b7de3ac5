"""The dashboard: its figures are reports.compute's (and `deskterm report --format json`'s) on the same data,
for today, this week and this month, for all customers and per customer; trends; customers at risk."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from datetime import UTC, datetime, timedelta

import pytest
from tuihelp import NOW, SIZE, ready, settle

from deskterm import reports
from deskterm.config import parse_config
from deskterm.service import Desk
from deskterm.store.engine import open_store
from deskterm.tui.screens.dashboard import (
    FIGURES_WIDTH,
    TREND_DAYS,
    DashboardScreen,
    ShowCustomerQueue,
    at_risk,
    day_windows,
    period_bounds,
)

EXTRA = """

[escalation]
managers = ["duty-manager"]
"""


@pytest.fixture
def desk_files(demo):
    """(db, config path, config, clock) of the demo desk with two escalations of today, one acknowledged."""
    db, _, clock = demo
    path = db.parent / "deskterm.toml"
    text = path.read_text(encoding="utf-8") + EXTRA
    path.write_text(text, encoding="utf-8")
    config = parse_config(tomllib.loads(text), str(path))
    store = open_store(db)
    desk = Desk(store, config, clock=clock, user="bob")
    a, b = sorted((t for t in desk.tickets(["open"]) if t.updated_at <= NOW - timedelta(hours=2)), key=lambda t: t.id)[
        :2
    ]
    clock.set(NOW - timedelta(hours=1))
    desk.escalate(a.id, "hierarchical", "duty-manager", "angry customer")
    desk.escalate(b.id, "hierarchical", "duty-manager", "penalties")
    clock.set(NOW - timedelta(minutes=40))
    desk.acknowledge(desk.escalations(ticket=a.id)[0].id)
    clock.set(NOW)
    store.dispose()
    return db, path, config, clock


async def show(app, pilot, **kw) -> DashboardScreen:
    await ready(pilot)
    screen = DashboardScreen(**kw)
    await app.push_screen(screen)
    for _ in range(100):
        await settle(pilot)
        if screen.loaded:
            break
    assert screen.loaded
    await pilot.pause(0.05)
    return screen


def cli_report(db, config_path, since: datetime, until: datetime, by: str | None = None) -> dict:
    args = [
        sys.executable,
        "-m",
        "deskterm.cli",
        "--db",
        str(db),
        "--config",
        str(config_path),
        "report",
        "--since",
        since.isoformat(),
        "--until",
        until.isoformat(),
        "--format",
        "json",
    ]
    if by:
        args += ["--by", by]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_periods_start_at_local_midnight_monday_and_the_first():
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    b = period_bounds(NOW, paris)  # Friday 27 March 2026, 16:00 in Paris
    assert b["today"][0] == datetime(2026, 3, 27, tzinfo=paris)
    assert b["week"][0] == datetime(2026, 3, 23, tzinfo=paris)
    assert b["month"][0] == datetime(2026, 3, 1, tzinfo=paris)
    assert all(until == NOW for _, until in b.values())
    days = day_windows(NOW, paris)
    assert len(days) == TREND_DAYS and days[-1] == (datetime(2026, 3, 27, tzinfo=paris), NOW)
    # across the change to summer time (29 March 2026 in Paris) a day is 23 hours
    spring = day_windows(datetime(2026, 3, 30, 12, tzinfo=UTC), paris, days=3)
    assert spring[1][1].timestamp() - spring[1][0].timestamp() == 23 * 3600


def counted(figures: dict) -> dict:
    """KPIs (``as_dict``, or the report's JSON) with their breaches counted: the screen shows their number, not
    their lines (``Fold.kpis(lines=False)``)."""
    n = figures["breaches"]
    return {**figures, "breaches": n if isinstance(n, int) else len(n)}


async def test_figures_equal_reports_compute_and_the_report_command(make_app, desk_files):
    db, config_path, config, clock = desk_files
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        desk = app.desk
        tickets, escalations = desk.tickets(), desk.escalations(open_only=False)
        for period, key in (("today", "1"), ("week", "2"), ("month", "3")):
            await pilot.press(key)
            assert screen.period == period
            since, until = period_bounds(NOW, config.tz)[period]
            expected = reports.compute(
                tickets, lambda t, until=until: desk.sla(t, until), since, until, escalations, config.tz
            )
            shown = screen.kpis
            assert counted(shown.as_dict()) == counted(expected.as_dict())
            figures = str(screen.query_one("#dash-figures").render())
            assert f"Opened{expected.opened:>27}" in figures and f"Backlog{expected.backlog:>26}" in figures
            report = cli_report(db, config_path, since, until, by="customer" if period == "week" else None)
            assert counted(report["total"]) == json.loads(json.dumps(shown.as_dict()))
            if period == "week":
                for name, k in screen.data.by_customer["week"].items():
                    assert counted(report["groups"][name]) == json.loads(json.dumps(k.as_dict()))
        assert screen.data.totals["today"].mean_ack_seconds == 20 * 60  # the escalation acknowledged today


async def test_per_customer_and_trends(make_app, desk_files):
    db, config_path, config, clock = desk_files
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, period="week")
        desk = app.desk
        all_days = screen.data.days[None]
        tickets = desk.tickets()
        # the trend: one compute per local day, as of the day's end
        for since, k in all_days[-3:]:
            until = min(since + timedelta(days=1), NOW)
            expected = reports.compute(
                tickets,
                lambda t, until=until: desk.sla(t, until),
                since,
                until,
                desk.escalations(open_only=False),
                config.tz,
            )
            assert counted(k.as_dict()) == counted(expected.as_dict())
        assert screen.query_one("#spark-opened").data == [float(k.opened) for _, k in all_days]
        assert sum(k.opened for _, k in all_days) == sum(1 for t in tickets if t.created_at >= all_days[0][0])
        await pilot.press("c")
        await settle(pilot)
        first = screen.data.customers[0]
        assert screen.customer == first and screen.loaded
        mine = [t for t in tickets if t.customer == first]
        since, until = period_bounds(NOW, config.tz)["week"]
        expected = reports.compute(
            mine,
            lambda t: desk.sla(t, until),
            since,
            until,
            [e for e in desk.escalations(open_only=False) if e.ticket_id in {t.id for t in mine}],
            config.tz,
        )
        assert counted(screen.kpis.as_dict()) == counted(expected.as_dict())
        assert first in str(screen.query_one("#dash-title").render())
        assert screen.query_one("#spark-opened").data == [float(k.opened) for _, k in screen.data.days[first]]
        await pilot.press("C")
        assert screen.customer is None and screen.kpis is screen.data.totals["week"]
        await pilot.press("tab")
        assert screen.period == "month"


async def test_at_80_columns_the_title_names_the_customer_shown(make_app, desk_files):
    """Seen in a shift: `c` at 80 columns, and the title ended "since Tue 01 Dec 00:00 ·": the customer whose
    figures were shown was cut off (it came last). It comes before the period's start, which gives way."""
    from deskterm.records import NewTicket

    db, config_path, config, clock = desk_files
    long_name = "Établissements-Durand-Frères-et-Associés"  # one word: it does not fit after the period's start
    store = open_store(db)
    Desk(store, config, clock=clock, user="bob").create(
        NewTicket(subject="Printer", customer=long_name, priority="P3", created_at=NOW - timedelta(minutes=5))
    )
    store.dispose()
    app = make_app(config=config)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show(app, pilot)
        title = screen.query_one("#dash-title")
        assert "all customers · since" in "".join(s.text for s in title.render_line(0))
        for _ in range(len(screen.data.customers) + 1):
            await pilot.press("c")
            await settle(pilot)
            drawn = "".join(s.text for s in title.render_line(0))
            assert screen.customer and screen.customer[:10] in drawn, drawn
            if screen.customer == long_name:
                break
        assert screen.customer == long_name


async def test_customers_at_risk_and_enter_asks_for_their_queue(make_app, desk_files):
    db, config_path, config, clock = desk_files
    app = make_app(config=config)
    asked = []
    async with app.run_test(
        size=SIZE, message_hook=lambda m: isinstance(m, ShowCustomerQueue) and asked.append(m.customer)
    ) as pilot:
        screen = await show(app, pilot, period="month")
        ranked = at_risk(screen.data.by_customer["month"])
        rates = [k.overall_compliance for _, k in ranked]
        assert [r for r in rates if r is not None] == sorted(r for r in rates if r is not None)
        table = screen.query_one("#dash-risk")
        assert table.row_count == len(ranked) > 0
        await pilot.press("down", "enter")
        await pilot.pause()
        assert asked == [ranked[1][0]]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_dashboard_snapshot(snap_compare, make_app, desk_files, size):
    app = make_app(config=desk_files[2])

    async def run_before(pilot) -> None:
        await show(app, pilot, period="week")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_service_manager_lines_for_the_desk_and_a_customer(make_app, desk_files):
    """Contracts ending within 60 days, churn this month, the problems with the most incidents this month and the
    overdue actions (issue 18); with a customer chosen (c), its contract and billable hours. Absent when the desk
    has none of it (the other tests' screens and snapshots)."""
    from datetime import date

    from deskterm.domain.billing import Contract
    from deskterm.records import NewTicket

    db, _config_path, config, clock = desk_files
    store = open_store(db)
    desk = Desk(store, config, clock=clock, user="alice")
    customers = sorted({t.customer for t in desk.tickets()})
    first = customers[0]
    today = NOW.date()
    desk.add_contract(Contract("Gold", first, date(2026, 1, 1), today + timedelta(days=30), rate_cents=10000))
    desk.add_contract(Contract("Old", customers[1], date(2025, 1, 1), date(2026, 3, 5)))
    incidents = [t for t in desk.tickets(["open"]) if t.type == "incident" and t.created_at >= NOW - timedelta(days=20)]
    problem = desk.create(
        NewTicket(
            subject="Switch firmware", customer=first, priority="P3", created_at=NOW - timedelta(days=1), type="problem"
        )
    ).id
    theirs = desk.create(
        NewTicket(subject="Port down", customer=first, priority="P3", created_at=NOW - timedelta(hours=2))
    ).id
    desk.link_problem(problem, [t.id for t in incidents[:3]] + [theirs])
    desk.add_action(problem, "upgrade the switches", "me", today - timedelta(days=2))
    since = period_bounds(NOW, config.tz)["month"][0]
    month = reports.compute(
        [t for t in desk.tickets_for_period(since, NOW) if t.customer == first], lambda t: desk.sla(t, NOW), since, NOW
    )
    store.dispose()
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, period="month")
        lines = screen.data.manager[None]
        assert lines[0] == f"ending within 60 days: {first} {today + timedelta(days=30)}"
        assert lines[1] == f"churn this month: {customers[1]} (2026-03-05)"
        assert lines[2] == f"problems, most incidents this month: #{problem} Switch firmware (4)"
        assert lines[3] == f"overdue actions (1): upgrade the switches (alice, due {today - timedelta(days=2)})"
        shown = str(screen.query_one("#dash-figures").render())
        assert "Service manager" in shown and "churn this month" in shown
        await pilot.press("c")
        for _ in range(50):
            await settle(pilot)
            if screen.customer == first and screen.loaded and first in screen.data.manager:
                break
        assert screen.data.manager[first][0] == f"contract Gold (ends {today + timedelta(days=30)})"
        assert screen.data.manager[first][1].startswith("this month: 0.00 h billable, 0.00")
        # the customer's open problems, and its month to date as the KPI functions count it, whatever the period
        assert screen.data.manager[first][2] == f"open problems (1): #{problem} Switch firmware (4 incidents)"
        await pilot.press("1")
        await settle(pilot)
        shown = str(screen.query_one("#dash-figures").render())
        met = sum(c.met for c in month.compliance.values())
        breached = sum(c.breached for c in month.compliance.values())
        assert met + breached > 0
        rate = f"{100 * month.overall_compliance:.1f} %"
        # each line cut at its spaces to the figures' column, its continuations indented under it
        assert all(len(line) <= FIGURES_WIDTH for line in shown.splitlines())
        manager = shown.split("Service manager\n")[1].splitlines()
        assert manager[0].startswith("  month to date:") and manager[1].startswith("    ")
        said = " ".join(shown.split())
        assert f"month to date: SLA compliance {rate} ({met} met, {breached} breached)" in said
        assert "open problems (1)" in said


async def test_the_customers_column_follows_a_resized_terminal(make_app, desk_files):
    """The customers at risk are cut to the terminal's width when it changes (a terminal resized over SSH), not
    left at the width the dashboard was first shown at, which pushed the backlog out of an 80-column screen."""
    app = make_app(config=desk_files[2])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await show(app, pilot, period="month")
        table = screen.query_one("#dash-risk")
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert any(len(name) > 14 for name in names)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        await pilot.pause(0.05)
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert names and all(len(name) <= 14 for name in names)
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        await pilot.pause(0.05)
        assert any(len(str(table.get_row_at(i)[0])) > 14 for i in range(table.row_count))


async def test_changes_during_a_computation_make_one_more_not_one_each(make_app, desk_files, monkeypatch):
    """Issue 17: the figures are computed from every ticket (seconds on a large desk), in a thread that cannot be
    stopped; changes noticed meanwhile start one computation when it ends, not one more thread each."""
    import threading
    import time

    from tuihelp import until

    from deskterm.tui.screens import dashboard

    db, _, config, clock = desk_files
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        gate = threading.Event()
        started: list[int] = []
        read = dashboard.Figures.__init__

        def held(self, desk, now=None, progress=None) -> None:
            started.append(1)
            gate.wait(timeout=60)
            read(self, desk, now, progress)

        monkeypatch.setattr(dashboard.Figures, "__init__", held)
        screen.data_changed()
        deadline = time.monotonic() + 30
        while not started and time.monotonic() < deadline:
            await pilot.pause(0.01)  # not settle(): it waits for the held worker
        assert started == [1]
        for _ in range(5):  # another agent's changes, while the computation is held
            screen.data_changed()
            await pilot.pause()
        assert started == [1] and screen._stale
        gate.set()
        await until(pilot, lambda: len(started) == 2 and not screen._loading() and screen.loaded, what="one more")
        await settle(pilot)
        assert started == [1, 1] and not screen._stale


async def test_a_change_elsewhere_reads_only_its_ticket(make_app, desk_files, monkeypatch):
    """Issue 17: another agent resolves a ticket; after the app's poll the dashboard reads again only that ticket
    (its figures kept otherwise) and shows what reports.compute gives over every ticket."""
    from tuihelp import record_reads, until

    from deskterm.service import Change
    from deskterm.tui.screens import dashboard

    db, _, config, clock = desk_files
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        store = open_store(db)
        other = Desk(store, config, clock=clock, user="carol")
        read = record_reads(monkeypatch, dashboard.Figures)
        try:
            before = screen.kpis.resolved
            tid = next(t.id for t in other.tickets(["open"]))
            other.update(tid, Change(status="resolved", resolution_code="fixed"))
            clock.advance(minutes=1)  # the periods end now: the resolution is in them a moment later
            assert app.poll()
            await until(pilot, lambda: read and not screen._loading(), what="the dashboard computed again")
            await settle(pilot)
        finally:
            store.dispose()
        assert read == [{tid}]
        desk = app.desk
        since, until_ = period_bounds(clock.now(), config.tz)["today"]
        expected = reports.compute(
            desk.tickets(), lambda t: desk.sla(t, until_), since, until_, desk.escalations(open_only=False), config.tz
        )
        assert counted(screen.kpis.as_dict()) == counted(expected.as_dict()) and expected.resolved == before + 1


async def test_a_change_in_the_second_of_a_computation_is_shown_the_second_after(make_app, desk_files, monkeypatch):
    """The periods end now, excluded, and the clock counts whole seconds: a ticket resolved in the very second of a
    computation is left out of it. It is in the figures once the clock has passed that second (the next tick), not
    at the next minute's computation (up to 60 s later); a clock that stays in that second computes nothing more."""
    from tuihelp import record_reads, until

    from deskterm.service import Change
    from deskterm.tui.screens import dashboard

    monkeypatch.setattr(dashboard, "REFRESH_EVERY", 10**9)  # (the minute's computation out of the way)
    db, _, config, clock = desk_files
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        store = open_store(db)
        other = Desk(store, config, clock=clock, user="carol")
        read = record_reads(monkeypatch, dashboard.Figures)
        try:
            before = screen.kpis.resolved
            tid = next(t.id for t in other.tickets(["open"]))
            other.update(tid, Change(status="resolved", resolution_code="fixed"))  # in the second of the clock's now
            assert app.poll()
            await until(pilot, lambda: read and not screen._loading(), what="the dashboard computed again")
            await settle(pilot)
            assert read == [{tid}] and screen.kpis.resolved == before and screen.data.pending
            for _ in range(3):  # still that second: nothing computed
                screen.clock_tick(clock.now())
                await settle(pilot)
            assert read == [{tid}]
            clock.advance(seconds=1)
            screen.clock_tick(clock.now())
            await until(pilot, lambda: len(read) == 2 and not screen._loading(), what="computed the second after")
            await settle(pilot)
        finally:
            store.dispose()
        assert screen.kpis.resolved == before + 1 and not screen.data.pending
        desk = app.desk
        since, until_ = period_bounds(clock.now(), config.tz)["today"]
        expected = reports.compute(
            desk.tickets(), lambda t: desk.sla(t, until_), since, until_, desk.escalations(open_only=False), config.tz
        )
        assert counted(screen.kpis.as_dict()) == counted(expected.as_dict())
