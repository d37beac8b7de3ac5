"""A phone call logged from the queue in the real program at 80x24 and 120x40 (issue 15): ``N``, three letters
of the customer and tab, two of the contact and tab, the subject, ctrl+s: ten keys besides the subject's
text, and the new ticket is on the screen, on the desk, with its caller."""

from __future__ import annotations

import json
import re

import pytest
from ptyterm import on_desk, queue_ready, quit_cleanly

pytestmark = pytest.mark.pty


def test_a_known_caller_from_n_to_saved_in_ten_keys(agent, demo_desk):
    term = agent.start(*on_desk(demo_desk))
    queue_ready(term)
    keys = 0

    def press(*names: str) -> None:
        nonlocal keys
        term.press(*names)
        keys += len(names)

    press("N")
    term.wait_for("New ticket", "ctrl+s saves", "SLA: choose the customer")
    press("c", "l", "i")
    term.wait_for("Saint-Jean")  # offered as it is typed
    press("tab")
    term.wait_for("VIP · policy platinum")
    press("c", "l", "a")
    term.wait_for("Martin <claire.martin@")
    press("tab")
    term.wait_for("Claire Martin <claire.martin@", re.compile(r"SLA platinum P3 · due: first response"))
    term.type("Ward C cannot print")  # what the caller says: text, not keys to learn
    term.wait_for("Ward C cannot print")
    press("ctrl+s")
    shown = term.wait_for(re.compile(r"#(\d+)\s+Ward C cannot print"), timeout=15)
    assert keys <= 10
    number = int(re.search(r"#(\d+)\s+Ward C cannot print", shown).group(1))
    term.wait_for("Clinique Saint-Jean")
    listed = json.loads(agent.cli(*on_desk(demo_desk), "customers", "show", "clinique saint-jean", "--json").stdout)
    assert {"id": number, "ref": None, "subject": "Ward C cannot print", "status": "new"} in listed["open_tickets"]
    term.press("escape")
    queue_ready(term)
    quit_cleanly(term)
