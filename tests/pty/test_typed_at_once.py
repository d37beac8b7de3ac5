"""Keys typed at once in the real program: a paste, ``tmux send-keys``, a fast typist over SSH. Each burst is one
write to the terminal, so the program reads it in one go: every key must reach the dialog it was typed for
(issue 13, item 16: keys typed while a dialog or a prompt opens or closes belong to it, none lost)."""

from __future__ import annotations

import re

import pytest
from ptyterm import TICKET_HEAD, on_desk, queue_ready, quit_cleanly, show_json

pytestmark = pytest.mark.pty  # the real program in a terminal: make test runs it, make test-fast does not

CTRL_S, DOWN = "\x13", "\x1b[B"


def test_a_ticket_worked_in_bursts(agent, demo_desk):
    term = agent.start(*on_desk(demo_desk))
    queue_ready(term)
    term.type("\rrTyped at once" + CTRL_S)  # open the first ticket, reply, send
    shown = term.wait_for("reply to customer", "Typed at once", timeout=15)
    ticket = int(TICKET_HEAD.search(shown).group(1))
    term.type("nNoted at once" + CTRL_S + "x\r" + DOWN + "\r" + CTRL_S)  # a note, then resolve with the first code
    term.wait_for("INTERNAL NOTE", "Noted at once", re.compile(r"resolved \("), timeout=15)
    term.type("X\r" + DOWN * 4 + "\r\tThanks at once" + CTRL_S)  # close: CSAT 4, tab to the comment, at once
    term.wait_for("resolved → closed", "satisfaction 4/5", "Thanks at once", timeout=15)
    term.press("escape")
    term.type(":" + str(ticket) + "\r\r")  # the command line, then enter straight after it closes
    term.wait_for(TICKET_HEAD, "resolved → closed", timeout=15)
    term.press("escape")
    queue_ready(term)
    quit_cleanly(term)

    events = show_json(agent, demo_desk, ticket)
    assert events["status"] == "closed" and events["csat"] == 4, events
    bodies = [(e["kind"], e.get("public"), e.get("body")) for e in events["events"]]
    assert ("reply", True, "Typed at once") in bodies and ("reply", False, "Noted at once") in bodies
