"""SLA countdowns: one formatting function and one set of styles for every screen.

``live_timer`` derives a timer's state *now* from an evaluation made earlier, without replaying the
history: a counting timer has used ``C(now) - C(evaluated_at)`` more counted seconds (``C`` is the
policy calendar's ``cumulative``), so crossing the warning threshold or the deadline shows in the very
tick it happens. ``countdown_text`` renders it; the ``sla--<state>`` component classes colour it from
the ``$sla-*`` variables of deskterm.tcss. The state is also carried by a symbol (NO_COLOR, 16 colours).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ...domain.calendar import BusinessCalendar
from ...domain.sla import TIMER_LABELS, TimerResult
from ...fmt import compact

STATES = ("running", "warning", "paused", "breached", "met")
SYMBOLS = {"running": "▸", "warning": "!", "paused": "⏸", "breached": "✖", "met": "✓"}
SHORT_NAMES = {"first_response": "resp", "next_update": "upd", "resolution": "res"}
SLA_CLASSES = frozenset(f"sla--{state}" for state in STATES)


@dataclass(frozen=True)
class LiveTimer:
    """A timer as it stands now: ``state`` is one of STATES (warning is a state here, for display)."""

    name: str
    state: str
    remaining: int  # counted seconds, negative once breached


def live_timer(timer: TimerResult, calendar: BusinessCalendar, warn_at: float, evaluated_at: int, now: int) -> LiveTimer:
    """The timer at ``now``, derived from its evaluation at ``evaluated_at``."""
    state = timer.state
    remaining = timer.remaining
    # running, or breached and still running (also one resumed at the very evaluation instant)
    counting = timer.counting
    if counting and now > evaluated_at:
        remaining -= calendar.cumulative(now) - calendar.cumulative(evaluated_at)
    # breached once the deadline is passed, as the engine says (at closing time the counted time left can
    # be 0 until the next business second, while the deadline, the end of that day's hours, is passed)
    if state == "running" and (remaining < 0 or (timer.due is not None and now > timer.due)):
        state = "breached"
    if state in ("running", "paused") and timer.target - remaining >= warn_at * timer.target:
        state = "warning" if state == "running" else "paused"
    return LiveTimer(timer.name, state, remaining)


def countdown_text(timer: LiveTimer | None, long: bool = False) -> str:
    """``✖ -2h05 res`` in a table cell; ``long`` names the timer in full (``✖ -2h05 resolution``)."""
    if timer is None:
        return ""
    name = TIMER_LABELS.get(timer.name, timer.name) if long else SHORT_NAMES.get(timer.name, timer.name)
    if timer.state == "met":
        return f"{SYMBOLS['met']} met {name}" if long else f"{SYMBOLS['met']} {'met':>6} {name}"
    left = compact(timer.remaining)
    if long:
        return f"{SYMBOLS[timer.state]} {left} {name}"
    return f"{SYMBOLS[timer.state]} {left:>6} {name}"


def state_style(widget: Widget, state: str) -> Style:
    """The colour of a state, read from the widget's ``sla--<state>`` component class."""
    return widget.get_component_rich_style(f"sla--{state}", partial=True)


class Countdown(Widget):
    """One timer's countdown, e.g. ``! 42m first response``; set ``timer`` to update it."""

    COMPONENT_CLASSES = SLA_CLASSES
    DEFAULT_CSS = """
    Countdown { width: auto; height: 1; }
    """

    timer: reactive[LiveTimer | None] = reactive(None, layout=True)

    def __init__(self, timer: LiveTimer | None = None, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.set_reactive(Countdown.timer, timer)

    def watch_timer(self, old: LiveTimer | None, new: LiveTimer | None) -> None:
        # a CSS class per state as well, so that screens may style the whole widget
        for state in STATES:
            self.set_class(new is not None and new.state == state, f"-{state}")

    def render(self) -> Text:
        if self.timer is None:
            return Text("")
        return Text(countdown_text(self.timer, long=True), style=state_style(self, self.timer.state))
