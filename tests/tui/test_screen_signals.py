"""The contract between the app and its screens (tui/messages.py, screens/base.py): the app publishes on its
signals, each mounted ``DeskScreen`` hears them as its hooks, at once, the bottom screen first, except that a
screen covered by another hears the desk's changes only when it is uncovered, merged; a screen that left hears
nothing more; a screen mounted after the store opened is told ``desk_ready`` once its widgets are
there; an error in a hook is the app's, as it was when the app's clock called the screens itself."""

from __future__ import annotations

import pytest
from textual.app import ComposeResult
from textual.widgets import Static
from tuihelp import SIZE, ready, settle

from deskterm.tui.screens.base import DeskScreen


class Recorder(DeskScreen):
    """A screen that writes down what it hears, with its name, in one list shared by all of them."""

    def __init__(self, name: str, heard: list[tuple[str, str, object]]) -> None:
        super().__init__()
        self.label, self.heard = name, heard

    def compose(self) -> ComposeResult:
        yield Static(self.label, id="recorder-body")

    def desk_ready(self, desk) -> None:
        # the screen's widgets are there when it is told (its own on_mount ran first)
        self.heard.append((self.label, "desk_ready", bool(self.query("#recorder-body"))))

    def clock_tick(self, now) -> None:
        self.heard.append((self.label, "clock_tick", now))

    def data_changed(self) -> None:
        self.heard.append((self.label, "data_changed", None))

    def tickets_changed(self, changed: frozenset[int]) -> None:
        self.heard.append((self.label, "tickets_changed", changed))

    def presence_changed(self, seen) -> None:
        self.heard.append((self.label, "presence_changed", seen))

    def config_changed(self) -> None:
        self.heard.append((self.label, "config_changed", None))

    def writes_changed(self, keys: bool) -> None:
        self.heard.append((self.label, "writes_changed", keys))


async def test_every_stacked_screen_hears_the_app_at_once_bottom_first(make_app, clock):
    app = make_app()
    heard: list[tuple[str, str, object]] = []
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)  # the store is open before these screens are pushed
        app.clock_timer.pause()  # the test tells the seconds (``app.tick``), the app's clock none between
        lower, upper = Recorder("lower", heard), Recorder("upper", heard)
        await app.push_screen(lower)
        await app.push_screen(upper)
        await settle(pilot)
        told = [h for h in heard if h[1] == "desk_ready"]
        assert told == [("lower", "desk_ready", True), ("upper", "desk_ready", True)]

        heard.clear()
        now = clock.now()
        app.tick()  # nothing awaited: heard when tick returns
        app.signals.changes.publish(frozenset({7}))
        app.signals.changes.publish(None)
        app.signals.presence.publish({7: [("bob", "viewing")]})
        app.signals.config.publish(None)
        app.signals.writes.publish(frozenset({upper}))  # a write the upper screen asked for
        assert heard == [
            ("upper", "clock_tick", now),  # (lower is covered: its clock and changes told when it shows again)
            ("upper", "tickets_changed", frozenset({7})),
            ("upper", "data_changed", None),
            ("lower", "presence_changed", {7: [("bob", "viewing")]}),
            ("upper", "presence_changed", {7: [("bob", "viewing")]}),
            ("lower", "config_changed", None),
            ("upper", "config_changed", None),
            ("lower", "writes_changed", False),
            ("upper", "writes_changed", True),
        ]

        heard.clear()
        app.pop_screen()
        await settle(pilot)
        # uncovered: the clock once, then the changes heard meanwhile, once (every ticket's: a data_changed came
        # among them)
        assert [h for h in heard if h[1] in ("clock_tick", "tickets_changed", "data_changed")] == [
            ("lower", "clock_tick", now),
            ("lower", "data_changed", None),
        ]
        heard.clear()
        app.tick()
        assert heard == [("lower", "clock_tick", now)]  # the popped screen left: it hears nothing more
        assert all(upper not in signal._subscriptions for signal in app.signals.all())


async def test_a_covered_screen_hears_the_changes_once_uncovered_merged(make_app):
    """The queue under a ticket (or the handover, the escalations…) does no work for a change it cannot show;
    once uncovered it is told every ticket changed meanwhile, in one call, before its first frame. A dialog
    does not cover: the screen shows through it, and hears each change at once."""
    from deskterm.tui.screens.modals import TextPromptScreen

    app = make_app()
    heard: list[tuple[str, str, object]] = []
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        lower, upper = Recorder("lower", heard), Recorder("upper", heard)
        await app.push_screen(lower)
        await settle(pilot)

        def changes() -> list[tuple[str, str, object]]:
            told = [h for h in heard if h[1] in ("tickets_changed", "data_changed")]
            heard.clear()
            return told

        await app.push_screen(TextPromptScreen("Say", ""))
        await settle(pilot)
        changes()
        app.signals.changes.publish(frozenset({3}))
        assert changes() == [("lower", "tickets_changed", frozenset({3}))]  # under a dialog: at once
        app.pop_screen()
        await settle(pilot)
        assert changes() == []  # nothing kept

        await app.push_screen(upper)
        await settle(pilot)
        changes()
        app.signals.changes.publish(frozenset({7}))
        app.signals.changes.publish(frozenset({8, 9}))
        assert changes() == [
            ("upper", "tickets_changed", frozenset({7})),
            ("upper", "tickets_changed", frozenset({8, 9})),
        ]
        app.pop_screen()
        await settle(pilot)
        assert changes() == [("lower", "tickets_changed", frozenset({7, 8, 9}))]

        await app.push_screen(Recorder("again", heard))
        await settle(pilot)
        app.pop_screen()
        await settle(pilot)
        assert changes() == []  # covered and uncovered with no change between: told nothing

        # the clock: a covered screen moves nothing each second; uncovered, it catches up in one tick
        await app.push_screen(upper := Recorder("upper2", heard))
        await settle(pilot)
        heard.clear()
        for _ in range(3):
            app.tick()
        ticks = [h[0] for h in heard if h[1] == "clock_tick"]  # (the app's own clock may have ticked too)
        assert len(ticks) >= 3 and set(ticks) == {"upper2"}
        heard.clear()
        app.pop_screen()
        await settle(pilot)
        ticks = [h[0] for h in heard if h[1] == "clock_tick"]
        assert ticks and set(ticks) == {"lower"}


async def test_a_screen_pushed_before_the_store_opens_is_told_once(make_app):
    app = make_app()
    heard: list[tuple[str, str, object]] = []
    async with app.run_test(size=SIZE) as pilot:
        # the store opens in a worker after the first paint: as a rule not open yet (told then, by the
        # signal), else told at the end of the screen's on_mount; once either way
        await app.push_screen(Recorder("early", heard))
        await ready_desk(pilot)
        assert [h for h in heard if h[1] == "desk_ready"] == [("early", "desk_ready", True)]


async def ready_desk(pilot) -> None:
    for _ in range(200):
        await settle(pilot)
        if pilot.app.desk is not None:
            return
    raise AssertionError("the store never opened")


class Broken(DeskScreen):
    def clock_tick(self, now) -> None:
        raise RuntimeError("a bug in a screen's clock")


async def test_an_error_in_a_hook_is_the_apps(make_app):
    """Textual's Signal would log it and go on; the app's clock stopped the app with it, and still does."""
    app = make_app()
    with pytest.raises(RuntimeError, match="a bug in a screen's clock"):
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await app.push_screen(Broken())
            await settle(pilot)
            app.tick()
            await pilot.pause()
    assert app.return_code == 1
