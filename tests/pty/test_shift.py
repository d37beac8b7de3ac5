"""A shift on the demo desk, in the installed ``deskterm`` in a real terminal, as an agent lives it.

Every test runs at 80x24 (the whole shift at 120x40 too) and reads what a person sees on the emulated screen
(pyte). Each one ends the program as an agent does and checks its exit code and that nothing (no traceback) was
printed once it had left the screen. Steps that issue 13 fixes but which have not landed yet are
``xfail(strict=True)``: they turn into failures, to be unmarked, the moment the fix lands.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import time

import pytest
from ptyterm import (
    back_to_queue,
    choose,
    dialog_options,
    has_traceback,
    on_desk,
    open_first_ticket,
    open_ticket,
    pick_in_select,
    queue_ready,
    quit_cleanly,
    show_json,
)

pytestmark = pytest.mark.pty  # the real program in a terminal: make test runs it, make test-fast does not

EDITOR_LINE = "▎ │"  # a line of the reply/note editor: the cursor is in it once the dialog has the focus

# -- the shift -----------------------------------------------------------------------------------------


@pytest.mark.both_sizes
def test_a_ticket_from_first_reply_to_closing(agent, tmp_path):
    """``deskterm demo --keep DIR``: open a ticket, reply, note, pending, resolve with a code, close with CSAT,
    back to the queue, ``q``. The desk kept in DIR holds every change, made by this agent."""
    desk = tmp_path / "kept"
    term = agent.start("demo", "--keep", str(desk))
    ticket = open_first_ticket(term)

    term.press("r")
    term.wait_for("Reply to", "ctrl+s sends")
    term.wait_text_cursor_on(EDITOR_LINE)
    term.type("Hello from the terminal: we are on it.")
    term.wait_for("Hello from the terminal")
    term.press("ctrl+s")
    term.wait_gone("ctrl+s sends")
    # the newest event shows by itself: the timeline follows what the agent just did
    term.wait_for("reply to customer", "Hello from the terminal: we are on it.")

    term.press("n")
    term.wait_for("Internal note", "ctrl+s sends")
    term.wait_text_cursor_on(EDITOR_LINE)
    term.type("Checked the switch logs.")
    term.wait_for("Checked the switch logs.")
    term.press("ctrl+s")
    term.wait_gone("ctrl+s sends")
    term.wait_for("INTERNAL NOTE", "Checked the switch logs.")

    term.press("s")
    choose(term, "Status: ", "pending")
    term.wait_for("→ pending")  # (the head may wrap the status to its next line at 80 columns)

    term.press("x")
    term.wait_for("Resolve", "resolution code (required)")
    pick_in_select(term, "resolution code", "workaround")
    term.press("ctrl+s")
    term.wait_for("→ resolved (code workaround)")  # the timeline (the head may wrap it at 80 columns)

    term.press("X")
    term.wait_for("Close (the customer's satisfaction", "what the customer said")
    term.press("tab")
    term.wait_text_cursor_on("what the customer said")
    term.type("Thanks, all good")
    term.wait_for("Thanks, all good")
    term.press("shift+tab")
    pick_in_select(term, "CSAT 1–5", "4 happy")
    term.press("ctrl+s")
    term.wait_for("resolved → closed", "satisfaction 4/5")

    back_to_queue(term)
    term.press("D")  # how the desk does today
    term.wait_for("SLA compliance", "Customers at risk", timeout=20)
    term.wait_gone("computing…", timeout=20)
    term.press("escape")
    queue_ready(term)
    quit_cleanly(term)

    shown = show_json(agent, desk, ticket)
    assert shown["status"] == "closed"
    kinds = [(e["kind"], e.get("public"), e.get("body") or e.get("to")) for e in shown["events"]]
    assert ("reply", True, "Hello from the terminal: we are on it.") in kinds
    assert ("reply", False, "Checked the switch logs.") in kinds
    assert [k for k in kinds if k[0] == "status"][-3:] == [
        ("status", None, "pending"),
        ("status", None, "resolved"),
        ("status", None, "closed"),
    ]


ESCALATIONS_LINE = re.compile(r"(\d+) open escalations? · (\d+) not acknowledged")


def test_escalate_a_ticket_then_acknowledge_it_in_E(agent, demo_desk):
    term = agent.start(*on_desk(demo_desk))
    ticket = open_first_ticket(term)
    term.press("e")
    title = f"Escalate #{ticket} to"
    shown = term.wait_for_any(title, "Nowhere to escalate")
    assert "Nowhere to escalate" not in shown, shown
    shown = term.wait_until(
        lambda shown: any("functional" in o for o in dialog_options(shown, title)), "a group to escalate to"
    )
    options = dialog_options(shown, title)
    target = next(o for o in options if "functional" in o)
    term.press(*["down"] * options.index(target), "enter")
    term.wait_for("the reason (required)")
    term.wait_text_cursor_on("what was tried")
    term.type("Switch loop on floor 2: needs the network team")
    term.wait_for("Switch loop on floor 2")
    term.press("enter")
    term.wait_for("escalated to")

    term.press("E")
    shown = term.wait_for(ESCALATIONS_LINE, f"#{ticket}")
    unacked = int(ESCALATIONS_LINE.search(shown).group(2))
    assert unacked >= 1
    term.press("a")  # the first row: unacknowledged ones come first
    term.wait_for(f"{unacked - 1} not acknowledged", "✓")
    back_to_queue(term, screens=2)  # E was opened over the ticket
    quit_cleanly(term)
    me = pwd.getpwuid(os.geteuid()).pw_name
    escalations = json.loads(agent.cli(*on_desk(demo_desk), "escalations", "--all", "--json").stdout)
    assert any(e["ticket"] == ticket and e["created_by"] == me for e in escalations), escalations
    assert any(e["acknowledged"] and e["acknowledged_by"] == me for e in escalations), escalations


def test_handover_copy_writes_the_markdown_and_the_app_goes_on(agent, demo_desk, home):
    term = agent.start(*on_desk(demo_desk))
    queue_ready(term)
    term.press("H")
    term.wait_for("Shift handover", "y copies")
    term.wait_for(re.compile(r"breaching \d+ · "))
    term.press("y")
    term.wait_for("written to", timeout=8)
    written = list((home / ".local/share/deskterm/handovers").glob("*.md"))
    assert len(written) == 1, written
    assert "breach" in written[0].read_text(encoding="utf-8").lower()
    term.press("escape")
    queue_ready(term)
    quit_cleanly(term)


def test_q_with_an_unsent_draft_asks_first(agent, demo_desk):
    term = agent.start(*on_desk(demo_desk))
    open_first_ticket(term)
    term.press("r")
    term.wait_for("ctrl+s sends")
    term.wait_text_cursor_on(EDITOR_LINE)
    term.type("Half-written answer to the customer")
    term.wait_for("Half-written answer")
    term.press("escape")  # keeps the draft
    term.wait_for("unsent draft")
    term.press("escape")
    before = queue_ready(term)
    term.press("q")
    term.wait_for_new(before, re.compile(r"(?i)unsent|draft"), timeout=5)
    assert term.proc.isalive(), term.after_exit()
    term.press("escape")  # stay
    queue_ready(term)
    time.sleep(0.5)
    assert term.proc.isalive(), term.after_exit()


def test_an_unsent_draft_survives_a_crash(agent, demo_desk):
    term = agent.start(*on_desk(demo_desk))
    ticket = open_first_ticket(term)
    term.press("n")
    term.wait_for("ctrl+s sends")
    term.wait_text_cursor_on(EDITOR_LINE)
    term.type("Note I never sent")
    term.wait_for("Note I never sent")
    time.sleep(1.5)  # kept while typed: give the app a moment to store it, as a person pauses
    term.close()  # SIGKILL: the terminal died, the machine rebooted

    term = agent.start(*on_desk(demo_desk))
    open_ticket(term, ticket)
    term.wait_for_any("Note I never sent", "unsent draft", timeout=5)


def test_q_quits_from_the_ticket_screen_and_the_dashboard(agent, demo_desk):
    term = agent.start(*on_desk(demo_desk))
    open_first_ticket(term)
    term.press("q")
    assert term.wait_exit(timeout=5) == 0
    assert not has_traceback(term.after_exit())

    term = agent.start(*on_desk(demo_desk))
    queue_ready(term)
    term.press("D")
    term.wait_for("Customers at risk", timeout=20)
    term.press("q")
    assert term.wait_exit(timeout=5) == 0
    assert not has_traceback(term.after_exit())


def test_a_damaged_state_file_is_harmless(agent, demo_desk, home):
    state = home / ".local/state/deskterm"
    state.mkdir(parents=True)
    (state / "queue.json").write_text("[]", encoding="utf-8")
    term = agent.start(*on_desk(demo_desk))
    queue_ready(term)
    quit_cleanly(term)
