"""Presence between two real apps (issue 14): two ``deskterm`` processes in two terminals on one desk, as two
windows on a jump host. What one has open shows in the other within a second or two: the queue marks the row
(``◦`` open, ``✎`` someone typing), the ticket screen names who is there and what they do. (Both run as the same
OS user here, so the other window reads "you (another window)"; two agents read each other's names, as the
pilot test with two apps shows.)"""

from __future__ import annotations

import re

import pytest
from ptyterm import open_ticket, queue_ready, quit_cleanly

pytestmark = pytest.mark.pty


def test_two_windows_see_each_other_on_a_ticket(agent, demo_desk):
    db, config = str(demo_desk / "demo.db"), str(demo_desk / "deskterm.toml")
    first = agent.start("--db", db, "--config", config)
    second = agent.start("--db", db, "--config", config)
    queue_ready(first)
    queue_ready(second)
    open_ticket(first, 301)
    # the other window's queue marks the row, in the mark column before the SLA countdown
    second.wait_for(re.compile(r"^[◦▶] .*\s301 ", re.M), timeout=10)
    open_ticket(second, 301)
    second.wait_for("you (another window) is viewing", timeout=10)
    first.wait_for("you (another window) is viewing", timeout=10)
    first.press("r")  # the first window starts a reply
    second.wait_for("you (another window) is replying", timeout=10)
    first.press("escape")
    second.wait_for("you (another window) is viewing", timeout=10)
    for term in (first, second):
        term.press("escape")
        queue_ready(term)
    quit_cleanly(first)
    second.wait_gone("◦", timeout=15)  # the first app left: nobody else has a ticket open
    quit_cleanly(second)
