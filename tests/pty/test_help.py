"""``?`` on every screen lists every key of that screen and the app-wide ones, and all of it can be reached
(scrolled) at 80x24 and 120x40, in the real program."""

from __future__ import annotations

import re

import pytest
from ptyterm import back_to_queue, on_desk, open_first_ticket, queue_ready, quit_cleanly

pytestmark = pytest.mark.pty  # the real program in a terminal: make test runs it, make test-fast does not


def expected_words(*classes) -> set[str]:
    """What ``?`` must say for the bindings of ``classes`` (a screen, its own widgets, then the app): the words
    of tui/keys.py by binding id (a binding it does not know: its description), each key once (the screen's
    own wins over the app's). The first 24 characters: longer words wrap in the list."""
    from textual.binding import BindingsMap

    from deskterm.tui.keys import MOVES, WORDS

    taken: set[str] = set()
    out = set()
    for cls in classes:
        for _, b in BindingsMap(cls.BINDINGS):
            if b.key in taken or b.system:
                continue
            taken.add(b.key)
            if b.action in MOVES and b.id not in WORDS:
                words = MOVES[b.action]
            elif b.id in WORDS:
                words = WORDS[b.id][1]
            else:
                words = b.description
            if words:
                out.add(words[:24])
    return out


def keys_listed(term) -> str:
    """Open ``?``, page it down to its end, close it: every line it showed that the screen did not show before,
    with runs of spaces made one."""
    old = set(term.text().split("\n"))
    term.press("?")
    term.wait_for("Keys ·", timeout=5)
    shown = term.wait_quiet(0.3, timeout=3)  # the whole first page, not a frame drawn halfway
    seen: list[str] = [line for line in shown.split("\n") if line not in old]
    unchanged = 0
    for key in ["pagedown"] * 12 + ["end"]:
        term.press(key)
        again = term.wait_quiet(0.3, timeout=3)
        new = [line for line in again.split("\n") if line not in old and line not in seen]
        seen.extend(new)
        unchanged = 0 if new else unchanged + 1
        if unchanged == 2 and key != "end":
            term.press("end")
            seen.extend(line for line in term.wait_quiet(0.3, timeout=3).split("\n") if line not in old)
            break
    term.press("escape")
    term.wait_gone("Keys ·")
    return "\n".join(re.sub(r"\s+", " ", line) for line in seen)


def missing_from(listed: str, expected: set[str]) -> list[str]:
    return sorted(w for w in expected if re.sub(r"\s+", " ", w) not in listed)


@pytest.mark.both_sizes
def test_question_mark_on_every_screen_lists_every_key(agent, demo_desk):
    from deskterm.tui.app import DeskApp
    from deskterm.tui.screens.dashboard import DashboardScreen
    from deskterm.tui.screens.detail import DetailScreen
    from deskterm.tui.screens.escalations import EscalationScreen
    from deskterm.tui.screens.handover import HandoverScreen
    from deskterm.tui.screens.queue import QueueScreen
    from deskterm.tui.widgets.queue_table import QueueTable

    term = agent.start(*on_desk(demo_desk))
    missing = {}

    queue_ready(term)
    missing["queue"] = missing_from(keys_listed(term), expected_words(QueueScreen, QueueTable, DeskApp))

    open_first_ticket(term)
    missing["ticket"] = missing_from(keys_listed(term), expected_words(DetailScreen, DeskApp))
    back_to_queue(term)

    for key, cls, ready in (
        ("E", EscalationScreen, "open escalation"),
        ("D", DashboardScreen, "Customers at risk"),
        ("H", HandoverScreen, "Shift handover"),
    ):
        term.press(key)
        term.wait_for(ready, timeout=20)
        missing[key] = missing_from(keys_listed(term), expected_words(cls, DeskApp))
        back_to_queue(term)

    assert not any(missing.values()), "\n".join(f"{k}: {v}" for k, v in missing.items())
    quit_cleanly(term)
