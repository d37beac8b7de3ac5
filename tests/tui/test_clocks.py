"""Business time left and the wall-clock due time, shown together wherever they differ (issue 13 item 9).

Monday 2026-03-30 08:00 in Paris, before office hours. A P1 of an office-hours customer (gold: first response
30 min) created at 07:30 has 30 min of business time left, due at 09:30 on the wall clock; a P3 of a 24x7
customer (platinum: first response 2 h) created at 07:01 has 1 h 01 left, due at 09:01. "Time to breach"
puts the P3 (due first) above the P1 (less time left): the P1's row says why, its due time. The queue, the
``list`` command and the handover write the deadline by one rule (``fmt.left_and_due``), and the queue's
``?`` explains every symbol of its SLA column.
"""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from tuihelp import ready, settle

from deskterm import reports
from deskterm.clock import FrozenClock
from deskterm.fmt import clocks_differ, compact, due_clock, exact, left_and_due
from deskterm.records import NewTicket
from deskterm.tui.keys import KeysScreen
from deskterm.tui.widgets.countdown import SYMBOLS

PARIS = ZoneInfo("Europe/Paris")
MONDAY_8 = datetime(2026, 3, 30, 8, 0, tzinfo=PARIS)


@pytest.fixture
def two(other_desk, clock):
    clock.set(MONDAY_8)  # (an import refuses tickets created after now)

    def p(*a):
        return datetime(*a, tzinfo=PARIS)

    return other_desk.import_tickets(
        [
            NewTicket(
                subject="Office P1 before hours",
                customer="Banque Rhône-Alpes",
                priority="P1",
                created_at=p(2026, 3, 30, 7, 30),
                ref="CLOCK-P1",
            ),
            NewTicket(
                subject="Always P3",
                customer="Clinique Saint-Jean",
                priority="P3",
                created_at=p(2026, 3, 30, 7, 1),
                ref="CLOCK-P3",
            ),
        ]
    )


def row_text(table, ticket_id: int) -> str:
    assert table.select_ticket(ticket_id)
    return "".join(s.text for s in table.render_line(table.cursor_index - int(table.scroll_y) + 1))


@pytest.mark.parametrize(
    "size, p1, p3",
    [((80, 24), "▸    30m 09:30 ", "▸   1h01 resp "), ((120, 40), "▸    30m resp 09:30 ", "▸   1h01 resp ")],
    ids=["80x24", "120x40"],
)
async def test_the_queue_shows_the_due_time_where_the_clocks_differ(make_app, two, size, p1, p3):
    p1_id, p3_id = two
    app = make_app(clock=FrozenClock(MONDAY_8))
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await pilot.press("6")
        await settle(pilot)
        table = app.screen.query_one("QueueTable")
        assert table.query_.position(p3_id) < table.query_.position(p1_id)  # 09:01 before 09:30
        for tid, text in ((p1_id, p1), (p3_id, p3)):
            line = row_text(table, tid)  # painted from the ticket row, or from its evaluation
            assert line[2:].startswith(text), (line, text)
            await settle(pilot)
            assert table.countdown(table.cursor_row) is not None  # evaluated: it reads the same
            line = row_text(table, tid)
            assert line[2:].startswith(text), (line, text)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        # the legend of the SLA column comes first in ? (seen at 80x24 without scrolling)
        console = Console(width=size[0] - 4, record=True, file=io.StringIO())
        console.print(app.screen._table())  # what #keys-list shows
        top = "\n".join(console.export_text().splitlines()[:12])
        assert top.startswith("The SLA column")
        for symbol in SYMBOLS.values():
            assert symbol in top
        assert "business time left" in top and "wall-clock due time" in top


def test_list_and_handover_write_it_as_the_queue_does(demo, two):
    db, config, _ = demo
    p1_id, p3_id = two
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "deskterm.cli",
            "--db",
            str(db),
            "--config",
            str(db.parent / "deskterm.toml"),
            "list",
            "--at",
            MONDAY_8.isoformat(),
            "--status",
            "new",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    rows = {line.split()[0]: line for line in out[1:]}
    assert rows[str(p1_id)][21:35].strip() == "30m · 09:30"
    assert rows[str(p3_id)][21:35].strip() == "1h01"
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    store = open_store(db)
    try:
        desk = Desk(store, config, clock=FrozenClock(MONDAY_8), user="bob")
        h = reports.handover(desk.tickets(), lambda t: desk.sla(t, MONDAY_8), [], MONDAY_8, 8)
        md = reports.handover_markdown(h, config.tz)
        assert "first response 30m left · due 09:30, P1" in md
        assert "first response 1h01 left · due 09:01, P3" in md
    finally:
        store.dispose()


def test_the_one_rule():
    now = int(MONDAY_8.timestamp())
    assert left_and_due(1800, now + 1800, now, PARIS) == "30m"  # counting all the way: one clock
    assert left_and_due(1800, now + 5400, now, PARIS) == "30m · 09:30"
    assert left_and_due(1800, now + 5400, now, PARIS, long=True) == "30m left · due 09:30"
    assert left_and_due(3600, now + 86400 + 7200, now, PARIS) == "1h00 · Tue"
    assert left_and_due(-300, now - 3600, now, PARIS, long=True) == "5m over · breached 07:00"
    assert due_clock(now + 86400 + 7200, now, PARIS, wide=True) == "Tue 10:00"
    assert due_clock(now - 20 * 86400, now, PARIS) == "03-10"
    assert not clocks_differ(1800, now + 1830, now) and clocks_differ(1800, now + 1860, now)
    assert [exact(s) for s in (2119, 17458, 14400, -5400, 0, 7)] == [
        "35m19s",
        "4h50m58s",
        "4h00m",
        "-1h30m",
        "0m",
        "7s",
    ]
    assert [compact(s) for s in (42 * 60, 2 * 86400 + 4 * 3600, -(19 * 86400 + 7 * 3600))] == ["42m", "2d4h", "-19d"]


def _due_clock_by_strftime(due: int, now: int, tz: ZoneInfo, long: bool, wide: bool) -> str:
    """``due_clock`` as it was written, every field through strftime (the reference)."""
    from datetime import UTC

    d = datetime.fromtimestamp(due, UTC).astimezone(tz)
    today = datetime.fromtimestamp(now, UTC).astimezone(tz).date()
    if d.date() == today:
        return d.strftime("%H:%M")
    if abs((d.date() - today).days) <= 6:
        return d.strftime("%a %H:%M") if long or wide else d.strftime("%a")
    return d.strftime("%Y-%m-%d %H:%M") if long else d.strftime("%m-%d")


@settings(max_examples=300, deadline=None)
@given(
    now=st.integers(min_value=0, max_value=4_000_000_000),
    ahead=st.integers(min_value=-40 * 86400, max_value=40 * 86400),
    zone=st.sampled_from(["Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]),
    long=st.booleans(),
    wide=st.booleans(),
)
def test_due_clock_writes_what_strftime_writes(now, ahead, zone, long, wide):
    """Its two-digit fields are written by hand (``list`` writes tens of thousands): the same text as strftime's,
    across days, weeks, zones with half-hour offsets and daylight saving."""
    tz = ZoneInfo(zone)
    due = now + ahead
    assert due_clock(due, now, tz, long=long, wide=wide) == _due_clock_by_strftime(due, now, tz, long, wide)
    today = datetime.fromtimestamp(now, tz).date()
    assert due_clock(due, now, tz, long=long, wide=wide, today=today) == _due_clock_by_strftime(
        due, now, tz, long, wide
    )
