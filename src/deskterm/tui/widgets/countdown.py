"""SLA countdowns: one formatting function and one set of styles for every screen.

``domain.sla.live_timer`` derives a timer's state *now* from an evaluation made earlier (the rule lives in the
domain); ``countdown_text`` renders it; the ``sla--<state>`` component classes colour it from the ``$sla-*``
variables of deskterm.tcss. The state is also carried by a symbol (NO_COLOR, 16 colours).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ...domain.sla import LIVE_STATES as STATES
from ...domain.sla import TIMER_LABELS, LiveTimer, live_timer
from ...fmt import clocks_differ, compact, due_clock

SYMBOLS = {"running": "▸", "warning": "!", "paused": "⏸", "breached": "✖", "met": "✓"}
SHORT_NAMES = {"first_response": "resp", "next_update": "upd", "resolution": "res", "customer_reply": "cust"}
__all__ = ["STATES", "LiveTimer", "live_timer"]  # re-exported: screens import them from here too

SLA_CLASSES = frozenset(f"sla--{state}" for state in STATES)


def countdown_text(
    timer: LiveTimer | None,
    long: bool = False,
    now: int | None = None,
    tz: ZoneInfo | str | None = None,
    wide: bool = False,
) -> str:
    """``✖ -2h05 res`` in a table cell; ``long`` names the timer in full (``✖ -2h05 resolution``).

    Given ``now`` and the display zone ``tz``, the wall-clock due time is shown when it differs from the
    business time left (``fmt.clocks_differ``: the calendar does not count all the way to the deadline):
    ``▸    30m 09:30`` in a narrow cell (in place of the timer's name), ``▸    30m resp Tue 09:30`` in a
    ``wide`` one, ``▸ 30m first response · due 09:30`` when ``long``."""
    if timer is None:
        return ""
    name = TIMER_LABELS.get(timer.name, timer.name) if long else SHORT_NAMES.get(timer.name, timer.name)
    if timer.state == "met":
        return f"{SYMBOLS['met']} met {name}" if long else f"{SYMBOLS['met']} {'met':>6} {name}"
    left = compact(timer.remaining)
    clock = ""
    if (
        now is not None
        and tz is not None
        and timer.state != "paused"
        and clocks_differ(timer.remaining, timer.due, now)
    ):
        clock = due_clock(timer.due, now, tz, long=long, wide=wide)  # type: ignore[arg-type]
    if long:
        when = f" · {'breached' if timer.state == 'breached' else 'due'} {clock}" if clock else ""
        return f"{SYMBOLS[timer.state]} {left} {name}{when}"
    if wide:
        return f"{SYMBOLS[timer.state]} {left:>6} {name:<4} {clock}".rstrip()
    return f"{SYMBOLS[timer.state]} {left:>6} {clock or name}"


LEGEND = (  # the queue's SLA column, as ``?`` explains it (one line each in a 60-cell dialog, but the last)
    ("▸ ! ⏸", "running · in warning · paused (pending)"),
    ("✖ ✓", "breached · met"),
    ("30m -2h05", "business time left (negative: over)"),
    ("resp upd res", "first response · next update · resolution"),
    ("cust", "customer reply: a customer's message waits for an answer"),
    (
        "09:30 Tue",
        "the wall-clock due time (breached: when), shown when it differs from the time left: "
        "counting stops outside business hours. Within ✖, ! and ▸ the queue is in due-time order",
    ),
)


def state_style(widget: Widget, state: str) -> Style:
    """The colour of a state, read from the widget's ``sla--<state>`` component class."""
    return widget.get_component_rich_style(f"sla--{state}", partial=True)


class Countdown(Widget):
    """One timer's countdown, e.g. ``! 42m first response``; set ``timer`` to update it.

    The clock sets it every second: it repaints itself alone, and asks for the screen to be laid out again only
    when its width follows its text (``width: auto``) and the text's width changed (a layout each second, of the
    whole ticket screen with its history, was most of what that screen cost while idle)."""

    COMPONENT_CLASSES = set(SLA_CLASSES)
    DEFAULT_CSS = """
    Countdown { width: auto; height: 1; }
    """

    timer: reactive[LiveTimer | None] = reactive(None)

    def __init__(
        self,
        timer: LiveTimer | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.set_reactive(Countdown.timer, timer)

    def watch_timer(self, old: LiveTimer | None, new: LiveTimer | None) -> None:
        # a CSS class per state as well, so that screens may style the whole widget
        for state in STATES:
            self.set_class(new is not None and new.state == state, f"-{state}")
        width = self.styles.width
        if (width is None or width.is_auto) and cell_len(self._text(old)) != cell_len(self._text(new)):
            self.refresh(layout=True)

    @staticmethod
    def _text(timer: LiveTimer | None) -> str:
        return "" if timer is None else countdown_text(timer, long=True)

    def render(self) -> Text:
        if self.timer is None:
            return Text("")
        return Text(self._text(self.timer), style=state_style(self, self.timer.state))
