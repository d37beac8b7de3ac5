"""What the dialogs look like at 80x24 (issue 13): reply, note, status, priority, resolve, close with CSAT,
escalate, link, canned responses, ? on the ticket, the : line and a filter that finds nothing. The demo desk
with the sample tickets of test_detail.py, a frozen clock, no automatic rules (their toasts would come and
go); a dialog is shown as it opens."""

from __future__ import annotations

import tomllib
from dataclasses import replace

import pytest
from test_detail import open_detail, tickets, type_text  # noqa: F401  (the fixture)
from tuihelp import ready, settle

SMALL = (80, 24)

CANNED = """

[canned.ack]
body = "Hello {customer}, {agent} is looking at {ticket} and will update you within the hour."
[canned.need-info]
body = "Hello {customer}, to move {ticket} forward we need a screenshot of the error. Thank you, {agent}"
"""


@pytest.fixture
def dialog_config(esc_config):
    """The screens' escalation configuration (groups, a manager), two canned responses, no automatic rules."""
    from deskterm.config import parse_config

    return replace(
        esc_config,
        escalation=replace(esc_config.escalation, rules=()),
        canned=parse_config(tomllib.loads(CANNED), "canned.toml").canned,
    )


# ticket: which sample (0 long and open, 1 pending, 2 breached, 3 new); keys: pressed on its screen; typed: then
DIALOGS = {
    "reply": (0, ["r"], "Hello, the fix is scheduled for 17:00."),
    "note": (0, ["n"], "Checked the firewall logs."),
    "status": (0, ["s"], None),
    "priority": (0, ["p"], None),
    "resolve": (0, ["x"], None),
    "close": ("resolved", ["X"], None),
    "escalate": (3, ["e"], None),
    "link": (3, ["l"], None),
    "canned": (3, ["m"], None),
    "time": (0, ["t"], "1h30"),
    "keys": (0, ["question_mark"], None),
    "new_ticket": (3, ["A"], "Printer jams again"),  # the same caller as the ticket (issue 15)
}


@pytest.mark.parametrize("dialog", list(DIALOGS))
def test_dialog_snapshot(snap_compare, make_app, dialog_config, tickets, other_desk, dialog):  # noqa: F811 - a fixture imported from another test module
    which, keys, typed = DIALOGS[dialog]
    if which == "resolved":
        ticket = tickets[1]
        other_desk.resolve(ticket, "workaround")
    else:
        ticket = tickets[which]
    app = make_app(config=dialog_config)

    async def run_before(pilot) -> None:
        await ready(pilot)
        await open_detail(pilot, ticket)
        await pilot.press(*keys)
        await settle(pilot)
        if typed:
            await type_text(pilot, typed)
            await settle(pilot)
        await pilot.pause(0.1)  # the screen repaints on its own update timer

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


@pytest.mark.parametrize("prompt", ["command", "empty_filter"])
def test_queue_prompt_snapshot(snap_compare, make_app, dialog_config, prompt):
    """The : line as it opens, and a search that matches no ticket (what the queue says then)."""
    app = make_app(config=dialog_config)

    async def run_before(pilot) -> None:
        await ready(pilot)
        if prompt == "command":
            await pilot.press("colon")
        else:
            await pilot.press("slash")
            await settle(pilot)
            await pilot.press(*"zzqx")
        await settle(pilot)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)
