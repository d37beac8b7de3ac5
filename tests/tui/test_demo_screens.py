"""The demo desk as a new user meets it (issue 13, item 25): `E` lists its escalations, `e` offers its groups and
its duty manager, `m` its canned responses, the dashboard's month has CSAT and NPS, the queue's Escalated tab
and the escalation list agree. The desk is ``deskterm demo``'s own (``build_demo`` with its story), not the
busier desk of the other screen tests."""

from __future__ import annotations

import html
import re
from collections import defaultdict

import pytest
from tuihelp import NOW, ready, settle

from deskterm.clock import FrozenClock
from deskterm.service import Desk
from deskterm.store.engine import open_store
from deskterm.tui.screens.detail import DetailScreen

SIZE = (80, 24)


@pytest.fixture
def demo_app(story_demo):
    from deskterm.tui.app import DeskApp

    db, config = story_demo  # build_demo(tmp_path / "desk", clock=FrozenClock(NOW)), built once (conftest.py)
    store = open_store(db)
    desk = Desk(store, config, clock=FrozenClock(NOW), user="reader")
    yield DeskApp(db=str(db), config=config, clock=FrozenClock(NOW), user="alice"), desk
    store.dispose()


def screen_text(app) -> str:
    """What the terminal shows, line by line (from the app's own SVG screenshot)."""
    svg = app.export_screenshot()
    rows: dict[float, list[tuple[float, str]]] = defaultdict(list)
    for m in re.finditer(r'<text[^>]*?x="([\d.]+)"[^>]*?y="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S):
        rows[float(m.group(2))].append((float(m.group(1)), html.unescape(re.sub(r"<[^>]+>", "", m.group(3)))))
    return "\n".join("".join(t for _, t in sorted(parts)).replace("\xa0", " ") for _, parts in sorted(rows.items()))


async def until(pilot, predicate, what: str) -> None:
    for _ in range(150):
        await settle(pilot)
        if predicate():
            await pilot.pause(0.1)  # the screen repaints on its own update timer
            return
    raise AssertionError(f"never shown: {what}\n{screen_text(pilot.app)}")


async def test_escalations_waiting_and_the_escalated_tab_agree(demo_app):
    app, desk = demo_app
    open_escalations = desk.escalations(open_only=True)
    waiting = sum(1 for e in open_escalations if e.acknowledged_at is None)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        tickets = len({e.ticket_id for e in open_escalations})
        assert f"Escalated {tickets}" in screen_text(app)
        await pilot.press("E")
        await until(pilot, lambda: getattr(app.screen, "up_to_date", False), "the escalation list")
        text = screen_text(app)
        assert f"{len(open_escalations)} open escalations · {waiting} not acknowledged" in text
        assert "No open escalation" not in text
        assert "duty-manager" in text and "L2-network" in text and "NOT ACKED" in text and "✓ nadia" in text


async def test_a_ticket_offers_the_groups_the_manager_and_the_canned_responses(demo_app):
    app, desk = demo_app
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        linked = desk.ticket("EXT-MAJOR-1-2")  # a ticket linked to the major incident
        await app.push_screen(DetailScreen(linked.id))
        await until(pilot, lambda: "EXT-MAJOR-1-2" in screen_text(app), "the ticket")
        assert "linked to major incident" in screen_text(app)
        await pilot.press("e")
        await until(pilot, lambda: "Escalate" in screen_text(app), "the escalation dialog")
        text = screen_text(app)
        assert "Nowhere to escalate" not in text
        for target in ("L2-network (L2", "L2-apps (L2", "L3-vendor (L3", "duty-manager (manager"):
            assert target in text
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("m")
        await until(pilot, lambda: "Canned response" in screen_text(app), "the canned responses")
        text = screen_text(app)
        assert all(name in text for name in desk.config.canned)


async def test_the_dashboards_month_has_satisfaction_and_trends(demo_app):
    app, _ = demo_app
    # tall enough for every KPI line at once (at 80x24 the satisfaction lines are below the fold: the panel scrolls)
    async with app.run_test(size=(120, 50)) as pilot:
        await ready(pilot)
        await pilot.press("D")
        await until(pilot, lambda: getattr(app.screen, "loaded", False), "the dashboard")
        await pilot.press("3")
        await until(
            pilot, lambda: "This month" in screen_text(app) and getattr(app.screen, "loaded", False), "the month"
        )
        lines = {line.split()[0]: line for line in screen_text(app).splitlines() if line.split()}
        assert re.search(r"CSAT\s+\d\.\d\d \(\d+\)", lines["CSAT"])
        # NPS from its own 0-10 question (-100..+100, answers), CES the mean on 1-7 (answers)
        assert re.search(r"NPS\s+[+-]\d+ \(\d+\)", lines["NPS"]) and re.search(r"CES\s+\d\.\d\d \(\d+\)", lines["CES"])
        compliance = float(re.search(r"SLA compliance\s+([\d.]+)%", screen_text(app)).group(1))
        assert 85 <= compliance <= 95


async def test_i_on_a_customer_at_risk_opens_its_panel(demo_app):
    from deskterm.tui.screens.customer_panel import CustomerPanel

    app, _ = demo_app
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("D")
        await until(pilot, lambda: getattr(app.screen, "loaded", False), "the dashboard")
        at_risk = app.screen._risk[0]
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, CustomerPanel), "the customer panel")
        assert at_risk in str(app.screen.query_one("#panel-head").render())


async def test_at_80x24_page_down_shows_the_dashboards_satisfaction_and_the_customers_month(demo_app):
    """The figures' column is taller than 24 rows: its end (the service manager's lines) is below the fold, and the
    keyboard reaches it with pgdn (pgup goes back). Each figure and its value share a line at 80 columns (the
    number of answers went to the next line, under the label, before the column fitted them)."""
    from textual.containers import VerticalScroll

    app, _ = demo_app
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("D")
        await until(pilot, lambda: getattr(app.screen, "loaded", False), "the dashboard")
        await pilot.press("3")
        await until(pilot, lambda: "This month" in screen_text(app) and app.screen.loaded, "the month")
        text = screen_text(app)
        assert re.search(r"CSAT\s+\d\.\d\d \(\d+\)", text) and re.search(r"NPS\s+[+-]\d+ \(\d+\)", text), text
        assert re.search(r"CES\s+\d\.\d\d \(\d+\)", text) and re.search(r"first response\s+[\d.]+% \d+/\d+", text)
        figures = app.screen.query_one("#dash-kpis", VerticalScroll)
        assert figures.max_scroll_y > 0 and figures.scroll_y == 0  # its end below the fold
        seen = []
        for _ in range(4):  # a page at a time, as a person reads it
            await pilot.press("pagedown")
            await settle(pilot)
            seen.append(screen_text(app))
        assert figures.scroll_y == figures.max_scroll_y, seen  # the keyboard reaches the column's end
        assert "churn this month" in seen[-1], seen[-1]  # the service manager's lines, at the end
        await pilot.press("pageup", "pageup", "pageup", "pageup")
        await settle(pilot)
        assert figures.scroll_y == 0 and "Opened" in screen_text(app)
