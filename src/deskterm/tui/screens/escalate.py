"""Escalating from any screen (the ticket, the queue, the escalation list): the same two dialogs.

First a choice of where to: a configured group above L1 (functional: the ticket moves there) or a manager
(hierarchical: the ticket stays), then a required reason (an empty one is refused by the dialog, and by
``Desk.escalate`` anyway). The screen that asked does the escalation itself, with the version(s) it showed.
"""

from __future__ import annotations

from inspect import isawaitable
from typing import Any, Callable

from .modals import ChoiceScreen, TextPromptScreen

NOWHERE = "no group above L1 and no manager in the configuration ([groups.NAME], escalation.managers)"


def escalation_targets(config) -> dict[str, tuple[str, str]]:  # noqa: ANN001
    """Choice label → (kind, target): the configured groups above L1 (by level, then name), then the managers."""
    settings = config.escalation
    out: dict[str, tuple[str, str]] = {}
    for group, level in sorted(settings.groups.items(), key=lambda g: (g[1], g[0])):
        if level != "L1":
            out[f"{group} ({level}, functional)"] = ("functional", group)
    for manager in settings.managers:
        out[f"{manager} (manager, hierarchical)"] = ("hierarchical", manager)
    return out


def ask_escalation(app, config, what: str, done: Callable[[str, str, str], Any], title: str = "Escalate") -> bool:  # noqa: ANN001
    """Ask where to escalate ``what`` (``#12``, ``3 tickets``) and why, then call ``done(kind, to, reason)``
    (which may be a coroutine function). False, with a warning, when the configuration offers nowhere to go."""
    targets = escalation_targets(config)
    if not targets:
        app.notify(NOWHERE, title="Nowhere to escalate", severity="warning", markup=False)
        return False

    def chosen(label: str | None) -> None:
        if not label or label not in targets:
            return
        kind, to = targets[label]

        async def reason_given(reason: str | None) -> None:
            if not reason:
                return
            result = done(kind, to, reason)
            if isawaitable(result):
                await result

        app.push_screen(TextPromptScreen(f"{title} {what} to {to}: the reason (required)",
                                         "what was tried, why it needs them"), reason_given)

    app.push_screen(ChoiceScreen(f"{title} {what} to", list(targets)), chosen)
    return True
