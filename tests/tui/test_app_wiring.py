"""The app's places: E, D and H from the queue, enter opens the ticket, the dashboard's customer link, and the
automatic escalation rules applied by the running app."""

from __future__ import annotations

from tuihelp import SIZE, ready, settle

from deskterm.config import parse_config
from deskterm.tui.screens.dashboard import DashboardScreen, ShowCustomerQueue
from deskterm.tui.screens.detail import DetailScreen
from deskterm.tui.screens.escalations import EscalationScreen
from deskterm.tui.screens.handover import HandoverScreen
from deskterm.tui.screens.queue import QueueScreen


async def test_places_open_from_the_queue_and_come_back(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for key, cls in (("E", EscalationScreen), ("D", DashboardScreen), ("H", HandoverScreen)):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, cls)
            await pilot.press(key)  # pressing again stays
            await settle(pilot)
            assert isinstance(app.screen, cls) and sum(isinstance(s, cls) for s in app.screen_stack) == 1
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, QueueScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)


async def test_dashboard_customer_opens_the_filtered_queue(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("D")
        await settle(pilot)
        app.screen.post_message(ShowCustomerQueue("CHU Lyon Sud"))
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert app.screen.filters.customers == ("CHU Lyon Sud",)
        await ready(pilot)
        table = app.screen.query_one("QueueTable")
        customers = {r.customer for r in table.visible_rows()}
        assert customers == {"CHU Lyon Sud"}


async def test_running_app_applies_escalation_rules_once(make_app, demo, clock):
    import tomllib

    db, config, _ = demo
    text = (
        config.source.read_text()
        + """
[escalation]
managers = ["duty-manager"]

[[escalation.rules]]
when = "first_response.breached"
action = "hierarchical"
to = "duty-manager"
"""
    )
    rules_config = parse_config(tomllib.loads(text), str(config.source))
    app = make_app(config=rules_config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await settle(pilot)
        first = len(app.desk.escalations())
        assert first > 0
        clock.advance(60)
        app.apply_rules()
        await settle(pilot)
        assert len(app.desk.escalations()) == first  # each (rule, ticket, cycle) once
