"""Escalating from any screen (the ticket, the queue, the escalation list): the same two dialogs.

First a choice of where to: a configured group above L1 (functional: the ticket moves there) or a manager
(hierarchical: the ticket stays), then a required reason (an empty one is refused by the dialog, and by
``Desk.escalate`` anyway). The screen that asked does the escalation itself, with the version(s) it showed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from inspect import isawaitable
from typing import Any

from .modals import ChoiceScreen, TextPromptScreen

NOWHERE = "no group above L1 and no manager in the configuration ([groups.NAME], escalation.managers)"


def escalation_targets(
    config, further: tuple[str, str] | None = None, open_lines: Collection[tuple[str, str]] = ()
) -> dict[str, tuple[str, str]]:
    """Choice label → (kind, target): the configured groups above L1 (by level, then name), then the managers.

    ``further`` is the (kind, target) of an open escalation being escalated further, ``open_lines`` those of the
    ticket's other open escalations (one a line at most: functional, hierarchical). An open escalation's own
    target is not offered (escalating to it again would only close it and open the same), nor, on the
    functional line, a group of a lower level than it (further is up or sideways; the way down is "return to
    L1"). A line with no open escalation is offered whole: it opens beside the other."""
    settings = config.escalation
    opened = {*open_lines, *([further] if further else [])}
    floor = max((settings.groups.get(to, "L1") for kind, to in opened if kind == "functional"), default="L1")
    out: dict[str, tuple[str, str]] = {}
    for group, level in sorted(settings.groups.items(), key=lambda g: (g[1], g[0])):
        if level != "L1" and level >= floor and ("functional", group) not in opened:
            out[f"{group} ({level}, functional)"] = ("functional", group)
    for manager in settings.managers:
        if ("hierarchical", manager) not in opened:
            out[f"{manager} (manager, hierarchical)"] = ("hierarchical", manager)
    return out


def ask_escalation(
    app,
    config,
    what: str,
    done: Callable[[str, str, str], Any],
    title: str = "Escalate",
    further: tuple[str, str] | None = None,
    open_lines: Collection[tuple[str, str]] = (),
    again: tuple[str, str, str] | None = None,
) -> bool:
    """Ask where to escalate ``what`` (``#12``, ``3 tickets``) and why, then call ``done(kind, to, reason)``
    (which may be a coroutine function). False, with a warning, when the configuration offers nowhere to go.
    ``further``: the (kind, target) of the open escalation escalated further, ``open_lines`` the ticket's open
    escalations (see ``escalation_targets``). ``again``: the (kind, target, reason) given before the ticket changed
    under the dialog: the same target is offered first and the reason is typed already."""
    targets = escalation_targets(config, further, open_lines)
    if not targets:
        if further is not None or open_lines:
            above = ", ".join(sorted(to for _, to in {*open_lines, *([further] if further else [])}))
            app.notify(
                f"nothing above {above} in the configuration ([groups.NAME], escalation.managers)",
                title="Nowhere further",
                severity="warning",
                markup=False,
            )
        else:
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

        app.push_screen(
            TextPromptScreen(
                f"{title} {what} to {to}: the reason (required)",
                "what was tried, why it needs them",
                value=again[2] if again is not None else "",
            ),
            reason_given,
        )

    before = next((label for label, target in targets.items() if again is not None and target == again[:2]), None)
    app.push_screen(ChoiceScreen(f"{title} {what} to", list(targets), chosen=before), chosen)
    return True
