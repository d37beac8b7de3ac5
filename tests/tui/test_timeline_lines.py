"""The ticket's timeline draws its entries itself (Textual's line API): an entry that comes adds its lines to those
already rendered, an entry whose text changed (a mail's line) is rendered again from there on. After any sequence
of shows (a history growing, a mail line changing, a history replaced, the width changing, the focus moving), the
lines drawn equal those of a timeline that shows the last history at once, line by line and style by style; and
no new entry lays the screen out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from textual.app import App
from textual.containers import Horizontal

from deskterm.records import EventRecord
from deskterm.tui.widgets.timeline import Timeline
from deskterm_testing import examples

ZONE = ZoneInfo("Europe/Paris")
AT = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)
BODIES = [
    "short",
    "a body long enough to wrap at the width of the timeline, " * 3,
    "two\nlines",
    "[b]not bold[/b] \x1b[31m red?",
    "",
]


def _event(i: int, kind: int, body: int) -> EventRecord:
    at = AT + timedelta(minutes=i)
    text = BODIES[body % len(BODIES)]
    if kind == 0:
        return EventRecord(at, "reply", "customer", public=True, body=text, id=i)
    if kind == 1:
        return EventRecord(at, "reply", "alice", public=True, body=text, id=i)
    if kind == 2:
        return EventRecord(at, "reply", "alice", public=False, body=text, id=i)
    return EventRecord(at, "status", "bob", from_value="open", to="pending", id=i)


events = st.tuples(st.integers(0, 3), st.integers(0, 4))
# a step: ("grow", the new events), ("mail", which event, the line), ("replace", a new history), ("width", cells),
# ("focus", which timeline)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("grow"), st.lists(events, min_size=1, max_size=4)),
        st.tuples(st.just("mail"), st.integers(0, 20), st.sampled_from(["mail queued", "mail failed: no route"])),
        st.tuples(st.just("replace"), st.lists(events, max_size=6)),
        st.tuples(st.just("width"), st.integers(30, 70)),
        st.tuples(st.just("focus"), st.integers(0, 1)),
    ),
    min_size=1,
    max_size=8,
)


class _Two(App):
    CSS = "Horizontal > Timeline { width: 1fr; }"

    def compose(self):
        with Horizontal(id="both"):
            yield Timeline(id="kept")
            yield Timeline(id="afresh")


def _drawn(timeline: Timeline) -> list:
    timeline._fit()
    height = timeline.virtual_size.height
    return [timeline.render_line(y - timeline.scroll_offset.y) for y in range(height)]


async def _run(program: list) -> None:
    app = _Two()
    async with app.run_test(size=(140, 30)) as pilot:
        kept, afresh = app.query_one("#kept", Timeline), app.query_one("#afresh", Timeline)
        history: list[EventRecord] = [_event(1, 0, 0)]
        mail: dict[int, str] = {}
        await kept.show(AT, "customer", "the description", history, ZONE, mail=dict(mail))
        await pilot.pause()
        for step in program:
            if step[0] == "grow":
                start = len(history) + 1
                history = history + [_event(start + n, kind, body) for n, (kind, body) in enumerate(step[1])]
            elif step[0] == "mail" and history:
                mail[history[step[1] % len(history)].id] = step[2]
            elif step[0] == "replace":
                history = [_event(100 + n, kind, body) for n, (kind, body) in enumerate(step[1])]
                mail = {}
            elif step[0] == "width":
                kept.styles.width = step[1]
                afresh.styles.width = step[1]
                await pilot.pause()
            elif step[0] == "focus":
                (kept if step[1] == 0 else afresh).focus()
                await pilot.pause()
            await kept.show(AT, "customer", "the description", history, ZONE, mail=dict(mail))
            afresh.entries, afresh._look = [], None  # a timeline that shows this history at once
            afresh._lines, afresh._starts, afresh._height = [], [], 0
            afresh._made = []  # (its entries' texts made afresh too)
            await afresh.show(AT, "customer", "the description", history, ZONE, mail=dict(mail))
            await pilot.pause()
            assert kept.entries == afresh.entries
            if kept.has_focus == afresh.has_focus:
                assert kept.virtual_size == afresh.virtual_size
                assert _drawn(kept) == _drawn(afresh)
            else:  # the same lines but for the focused one's tinted background
                assert [s.text for s in _drawn(kept)] == [s.text for s in _drawn(afresh)]


@settings(max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program=steps)
@example(program=[("grow", [(0, 1), (2, 3), (3, 0)]), ("mail", 1, "mail queued"), ("grow", [(1, 1)])])
@example(program=[("width", 30), ("grow", [(0, 1)]), ("replace", []), ("grow", [(2, 1)])])
def test_lines_added_to_a_timeline_equal_a_timeline_drawn_afresh(program):
    asyncio.run(_run(program))


async def test_a_new_entry_does_not_lay_the_screen_out():
    """The point of drawing the entries as lines: another agent's note or status change repaints the lines in view,
    and the screen is not laid out again (it was once a change, each entry a widget mounted)."""
    app = _Two()
    async with app.run_test(size=(140, 30)) as pilot:
        kept = app.query_one("#kept", Timeline)
        history = [_event(i, i % 4, i) for i in range(1, 30)]  # overflows: the scroll bar is there already
        await kept.show(AT, "customer", "the description", history, ZONE)
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        layouts = 0
        refresh_layout = screen._refresh_layout

        def counted(*args, **kwargs):
            nonlocal layouts
            layouts += 1
            return refresh_layout(*args, **kwargs)

        screen._refresh_layout = counted  # type: ignore[method-assign]
        for n in range(3):
            history = history + [_event(40 + n, n % 4, n)]
            await kept.show(AT, "customer", "the description", history, ZONE)
            await pilot.pause()
        assert layouts == 0
        assert kept.scroll_y == kept.max_scroll_y > 0  # following: the newest entry in view
