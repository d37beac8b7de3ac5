"""``widgets/line.show_text`` and the ticket screen's countdowns: a line that reads differently but takes the same
room is repainted without laying the screen out; one that takes other room is laid out (and shown whole)."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from deskterm.domain.sla import LiveTimer
from deskterm.tui.widgets.countdown import Countdown, countdown_text
from deskterm.tui.widgets.line import show_text


class Lines(App):
    CSS = """
    #head { height: auto; padding: 0 1; }
    #auto { width: auto; height: 1; }
    #fixed { width: 28; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="head")
        yield Static(id="auto")
        yield Countdown(id="fixed")
        yield Countdown(id="free")


def _layouts(app: App) -> list[int]:
    """Counts the screen's layouts (Textual's ``_refresh_layout``) from now on."""
    screen = app.screen
    count = [0]
    original = screen._refresh_layout

    def counted(*args, **kwargs):
        count[0] += 1
        return original(*args, **kwargs)

    screen._refresh_layout = counted  # type: ignore[method-assign]
    return count


def _shown(app: App, selector: str) -> list[str]:
    widget = app.query_one(selector)
    return [line.text.rstrip() for line in widget.render_lines(widget.region.reset_offset)]


async def test_a_line_that_takes_the_same_room_is_not_laid_out():
    app = Lines()
    async with app.run_test(size=(80, 24)) as pilot:
        head = app.query_one("#head", Static)
        show_text(head, Text("#148  Cannot log in   v19\nClinique Saint-Jean"))
        await pilot.pause()
        assert head.size.height == 2
        layouts = _layouts(app)
        show_text(head, Text("#148  Cannot log in   v20\nClinique Saint-Jean"))  # the version moved
        await pilot.pause()
        assert layouts[0] == 0
        assert any("v20" in line for line in _shown(app, "#head"))
        # another line: laid out, and the head is one line taller
        show_text(head, Text("#148  Cannot log in   v21\nClinique Saint-Jean\nlinked to major incident #7"))
        await pilot.pause()
        assert layouts[0] >= 1 and head.size.height == 3
        assert any("major incident #7" in line for line in _shown(app, "#head"))
        # a line too long for the width wraps: laid out too
        before = layouts[0]
        show_text(head, Text("#148 " + "word " * 30 + "\nClinique Saint-Jean\nlinked to major incident #7"))
        await pilot.pause()
        assert layouts[0] > before and head.size.height > 3


async def test_a_line_whose_width_follows_its_text_is_laid_out_when_it_widens():
    app = Lines()
    async with app.run_test(size=(80, 24)) as pilot:
        line = app.query_one("#auto", Static)
        show_text(line, Text("3 open"))
        await pilot.pause()
        layouts = _layouts(app)
        show_text(line, Text("4 open"))  # as wide
        await pilot.pause()
        assert layouts[0] == 0 and line.size.width == 6
        show_text(line, Text("12 open"))
        await pilot.pause()
        assert layouts[0] >= 1 and line.size.width == 7


def _timer(remaining: int, state: str = "running") -> LiveTimer:
    return LiveTimer(name="resolution", state=state, remaining=remaining, due=1_000_000)


async def test_a_countdown_of_a_fixed_width_moves_on_without_a_layout():
    app = Lines()
    async with app.run_test(size=(80, 24)) as pilot:
        fixed, free = app.query_one("#fixed", Countdown), app.query_one("#free", Countdown)
        fixed.timer = _timer(3600)
        free.timer = _timer(3540)
        await pilot.pause()
        layouts = _layouts(app)
        for left in (3599, 3540, 3480):  # the clock's seconds: the fixed one repaints alone
            fixed.timer = _timer(left)
            await pilot.pause()
        assert layouts[0] == 0
        assert _shown(app, "#fixed")[0].strip() == countdown_text(_timer(3480), long=True)
        free.timer = _timer(3000)  # as wide as before: no layout
        await pilot.pause()
        assert layouts[0] == 0
        free.timer = _timer(-7200, "breached")  # wider: its width follows it
        await pilot.pause()
        assert layouts[0] >= 1
        assert free.size.width == len(countdown_text(_timer(-7200, "breached"), long=True))
        assert free.has_class("-breached")
