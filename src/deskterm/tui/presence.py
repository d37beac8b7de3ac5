"""How presence reads on screen (store/presence.py keeps it): one line on the ticket, one mark in the queue."""

from __future__ import annotations

from ..fmt import one_line

VERBS = {"viewing": "is viewing", "replying": "is replying", "noting": "is writing a note"}


def presence_line(others: list[tuple[str, str]], me: str = "") -> str:
    """``bruno is viewing · chloe is replying``: typing first (it is what may collide with a reply). The
    agent's own other windows read ``you (another window) is replying``."""
    ranked = sorted(set(others), key=lambda o: (o[1] == "viewing", o[0] != me, o[0].casefold()))
    return " · ".join(
        f"{'you (another window)' if agent == me else one_line(agent, 20)} {VERBS.get(activity, 'is viewing')}"
        for agent, activity in ranked
    )


def presence_mark(others: list[tuple[str, str]] | None) -> str:
    """The queue's mark for a ticket someone else has open: ``✎`` someone is typing on it, ``◦`` viewing."""
    if not others:
        return ""
    return "✎" if any(activity != "viewing" for _, activity in others) else "◦"
