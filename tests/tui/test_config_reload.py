"""A running app takes a customer's entry added to its configuration file at once, even when no ticket changes
with it (``config.CustomerEntries``, checked each second by ``DeskApp.poll``). Before: the entries were looked at
only when another connection committed, and then the ticket screen (whose ticket kept its version) and the queue's
SLA evaluations (kept per ticket version) went on showing the default policy. A file with an error is said once.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static
from tuihelp import SIZE, ready, settle, until

from deskterm.service import Desk
from deskterm.store.engine import open_store
from deskterm.tui.screens.detail import DetailScreen


def _default_policy_ticket(db, config, clock) -> tuple[int, str]:
    """An open ticket of a customer the configuration has no entry for (the default policy applies)."""
    desk = Desk(open_store(db), config, clock=clock)
    try:
        for t in desk.tickets(statuses=["open"]):
            if t.customer not in config.customers:
                return t.id, t.customer
    finally:
        desk.store.dispose()
    raise AssertionError("the demo has no open ticket of a customer without an entry")


def _head(app) -> str:
    return str(app.screen.query_one("#detail-head", Static).render())


def _said(app, title: str) -> list[str]:
    return [n.message for n in app._notifications if n.title == title]


async def test_a_customers_entry_added_to_the_file_is_shown_at_once(make_app, demo):
    db, config, clock = demo
    assert config.source is not None
    tid, customer = _default_policy_ticket(db, config, clock)
    assert config.default_policy != "platinum"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await app.push_screen(DetailScreen(tid))
        await settle(pilot)
        assert f"policy {config.default_policy} (the default" in _head(app)
        version = app.screen.record.version

        # a damaged file: said once, and the app keeps what it has
        source = Path(config.source)
        good = source.read_text(encoding="utf-8")
        source.write_text(good + "\n[customers.\n", encoding="utf-8")
        app.poll()
        await settle(pilot)
        said = _said(app, "Configuration")
        assert len(said) == 1 and "invalid TOML" in said[0] and "will not start until it is fixed" in said[0], said
        app.poll()  # the same file again: nothing more is said
        await settle(pilot)
        assert len(_said(app, "Configuration")) == 1

        # the customer gets an entry, no ticket changes: the ticket screen shows its policy
        source.write_text(good + f'\n[customers."{customer}"]\npolicy = "platinum"\n', encoding="utf-8")
        app.poll()
        await until(pilot, lambda: "policy platinum (this customer's" in _head(app), what="the new policy shown")
        assert app.screen.record.version == version
        # the queue's evaluations are made under the new entries too
        queue = app.screen_stack[1]
        await pilot.press("escape")
        await settle(pilot)
        sla, rows = queue.table.sla, queue.table.visible_rows()
        entries = [sla.entry(r.id, r.version) for r in rows]
        assert rows and all(e is not None and e[4] == app.desk.config.fingerprint for e in entries)
