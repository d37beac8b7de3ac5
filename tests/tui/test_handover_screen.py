"""The shift handover screen shows reports.handover's sections; +/- change the horizon; y copies the Markdown
of reports.handover_markdown and writes it to a file; enter opens a ticket."""

from __future__ import annotations

import tomllib
from datetime import timedelta

import pytest
from tuihelp import NOW, SIZE, ready, settle

from deskterm import reports
from deskterm.config import parse_config
from deskterm.service import Desk
from deskterm.store.engine import open_store
from deskterm.tui.screens.handover import SECTIONS, HandoverScreen

EXTRA = """

[escalation]
managers = ["duty-manager"]
"""


@pytest.fixture
def config(demo):
    """The demo desk plus a major incident with two linked tickets and an unacknowledged escalation."""
    db, _, clock = demo
    path = db.parent / "deskterm.toml"
    text = path.read_text(encoding="utf-8") + EXTRA
    path.write_text(text, encoding="utf-8")
    config = parse_config(tomllib.loads(text), str(path))
    store = open_store(db)
    desk = Desk(store, config, clock=clock, user="bob")
    major, x, y, z = sorted(
        (t for t in desk.tickets(["open"]) if t.updated_at <= NOW - timedelta(hours=1)), key=lambda t: t.id
    )[:4]
    desk.link(x.id, major.id)
    desk.link(y.id, major.id)
    desk.escalate(z.id, "hierarchical", "duty-manager", "third call today")
    store.dispose()
    return config


async def show(app, pilot, **kw) -> HandoverScreen:
    await ready(pilot)
    screen = HandoverScreen(**kw)
    await app.push_screen(screen)
    for _ in range(100):
        await settle(pilot)
        if screen.loaded:
            break
    assert screen.loaded
    await pilot.pause(0.05)
    return screen


def section_ids(h: reports.Handover) -> dict[str, list[int]]:
    return {
        "breaching": [t.id for t, *_ in h.breaching],
        "breached": [t.id for t, *_ in h.breached],
        "unacknowledged": [e.ticket_id for e in h.unacknowledged],
        "majors": [t.id for t, _ in h.majors],
        "long_pending": [t.id for t, _ in h.long_pending],
        "resolved": [t.id for t in h.resolved],
    }


def shown_ids(screen: HandoverScreen) -> dict[str, list[int]]:
    options = screen.query_one("#hand-list")
    out: dict[str, list[int]] = {s: [] for s in SECTIONS}
    for i in range(options.option_count):
        section, _, ticket = (options.get_option_at_index(i).id or "").partition(":")
        if section in out:
            out[section].append(int(ticket.split(":")[1]))
    return out


async def test_sections_equal_reports_handover(make_app, config, tmp_path):
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, export_dir=tmp_path / "out")
        desk = app.desk
        expected = reports.handover(desk.tickets(), lambda t: desk.sla(t, NOW), desk.escalations(), NOW, 8)
        ids = section_ids(expected)
        assert all(ids[s] for s in ("breaching", "unacknowledged", "majors", "resolved"))  # the data shows every kind
        assert shown_ids(screen) == ids
        assert screen.markdown == reports.handover_markdown(expected, config.tz)
        options = screen.query_one("#hand-list")
        texts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert "Will breach within 8 h" in texts[0] and f"({len(ids['breaching'])})" in texts[0]
        major = expected.majors[0]
        assert any(
            f"#{major[0].id} [" in t and "with 2 linked: " + ", ".join(f"#{x.id}" for x in major[1]) in t for t in texts
        )
        # a longer horizon: more tickets will breach within it
        await pilot.press("plus", "plus")
        await settle(pilot)
        await pilot.pause()
        wider = reports.handover(desk.tickets(), lambda t: desk.sla(t, NOW), desk.escalations(), NOW, 10)
        assert screen.hours == 10 and shown_ids(screen) == section_ids(wider)
        assert len(wider.breaching) >= len(expected.breaching)
        await pilot.press("minus", "minus", "minus")
        await settle(pilot)
        assert screen.hours == 7 and screen.handover.hours == 7


async def test_y_copies_and_writes_the_markdown(make_app, config, tmp_path):
    app = make_app(config=config)
    copied = []
    app.copy_to_clipboard = copied.append
    async with app.run_test(size=SIZE) as pilot:
        await show(app, pilot, export_dir=tmp_path / "out")
        await pilot.press("y")
        await settle(pilot)  # (made and written in a thread)
        desk = app.desk
        expected = reports.handover_markdown(
            reports.handover(desk.tickets(), lambda t: desk.sla(t, NOW), desk.escalations(), NOW, 8), config.tz
        )
        assert copied == [expected]
        [written] = (tmp_path / "out").iterdir()
        assert written.name == "handover-20260327-1600.md" and written.read_text(encoding="utf-8") == expected
        assert any(str(written) in str(n.message) for n in app._notifications)


async def test_y_copies_the_handover_shown_at_the_key_whatever_comes_meanwhile(
    make_app, config, demo, tmp_path, monkeypatch
):
    """``y`` makes the Markdown in a thread (half a second at tens of thousands of lines): the keys answer
    meanwhile, and a change that computes the handover again before it is done does not change what is copied
    and written: the handover shown when the key was pressed, whole."""
    import threading

    from deskterm.tui.screens import handover as screen_module

    db, _, clock = demo
    gate = threading.Event()
    made = reports.handover_markdown

    def held(h, tz):  # the real Markdown, once the test lets the thread go on
        assert gate.wait(30)
        return made(h, tz)

    monkeypatch.setattr(screen_module.reports, "handover_markdown", held)
    app = make_app(config=config)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, export_dir=tmp_path / "out")
        pressed = screen.handover
        assert pressed is not None
        await pilot.press("y")
        await pilot.pause()
        at = screen.query_one("HandoverList").highlighted
        await pilot.press("j")  # the key answers while the Markdown is made
        await pilot.pause()
        assert screen.query_one("HandoverList").highlighted != at and copied == []
        # another agent resolves a ticket of the "breached" section: the screen computes the handover again
        other = Desk(open_store(db), config, clock=clock, user="carol")
        gone = pressed.breached[0][0].id
        other.resolve(gone, config.resolution_codes[0])
        app.poll()
        for _ in range(50):
            await pilot.pause(0.02)
            if screen.handover is not pressed:
                break
        assert screen.handover is not pressed and gone not in [t.id for t, *_ in screen.handover.breached]
        gate.set()
        await settle(pilot)
        expected = made(pressed, config.tz)
        assert gone in [t.id for t, *_ in pressed.breached] and f"#{gone}" in expected
        assert copied == [expected]
        [written] = (tmp_path / "out").iterdir()
        assert written.read_text(encoding="utf-8") == expected
        assert any(str(written) in str(n.message) for n in app._notifications)


async def test_enter_opens_the_highlighted_ticket(make_app, config, tmp_path):
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, export_dir=tmp_path)
        first = screen.handover.breaching[0][0].id
        await pilot.press("enter")
        await pilot.pause()
        assert getattr(app.screen, "ticket_id", None) == first
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_handover_snapshot(snap_compare, make_app, config, tmp_path, size):
    app = make_app(config=config)

    async def run_before(pilot) -> None:
        await show(app, pilot, export_dir=tmp_path)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_tab_jumps_to_the_next_section(make_app, config, tmp_path):
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, export_dir=tmp_path)
        options = screen.query_one("#hand-list")

        def section() -> str:
            return options.get_option_at_index(options.highlighted).id.split(":")[0]

        assert section() == "breaching"
        await pilot.press("tab")
        assert section() == "breached"
        await pilot.press("tab")
        assert section() == "unacknowledged"
        await pilot.press("tab")
        assert section() == "majors"
        await pilot.press("shift+tab")
        assert section() == "unacknowledged"
        await pilot.press("shift+tab", "shift+tab", "shift+tab")
        assert section() == "resolved"  # wraps around


async def test_screen_and_command_line_give_the_same_handover(make_app, config, demo, tmp_path):
    """The handover screen and `deskterm handover --at` print the same Markdown for the same desk and instant."""
    import subprocess
    import sys

    db, _, _ = demo
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, export_dir=tmp_path / "out")
        shown = screen.markdown
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "deskterm.cli",
            "--db",
            str(db),
            "--config",
            str(config.source),
            "handover",
            "--hours",
            "8",
            "--at",
            NOW.isoformat(),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == shown


async def test_a_change_elsewhere_reads_only_its_ticket(make_app, config, demo, monkeypatch):
    """Issue 17: another agent resolves a ticket and escalates another; after the app's poll the handover reads
    again only those two tickets (not every ticket), in the app's reader thread (no worker per change), and shows
    what a full computation shows."""
    from tuihelp import record_reads, until

    from deskterm.service import Change
    from deskterm.tui.screens import handover

    db, _, clock = demo
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot)
        store = open_store(db)
        other = Desk(store, config, clock=clock, user="carol")
        read = record_reads(monkeypatch, handover.ShiftTickets)
        workers: list = []  # a change is followed in the app's reader thread, not by a worker of its own
        monkeypatch.setattr(screen, "_compute", lambda *args: workers.append(args))
        options = screen.query_one("#hand-list")
        options.highlighted = options.rows.row_of("breached", 0)  # the cursor on a ticket the changes leave there
        kept = options.highlighted_option.id.split(":")[2]
        try:
            breaching = screen.handover.breaching[0][0].id
            waiting = next(
                t.id for t in other.tickets(["open"]) if t.id not in section_ids(screen.handover)["unacknowledged"]
            )
            other.update(breaching, Change(status="resolved", resolution_code="fixed"))
            other.escalate(waiting, "hierarchical", "duty-manager", "asked twice")
            assert app.poll()
            await until(pilot, lambda: read and not screen._loading(), what="the handover computed again")
            await settle(pilot)
        finally:
            store.dispose()
        assert read == [{breaching, waiting}]
        assert workers == []
        desk = app.desk
        expected = reports.handover(desk.tickets(), lambda t: desk.sla(t, NOW), desk.escalations(), NOW, 8)
        assert shown_ids(screen) == section_ids(expected)
        assert breaching in shown_ids(screen)["resolved"] and waiting in shown_ids(screen)["unacknowledged"]
        assert options.highlighted_option.id.split(":")[2] == kept  # the list was made again around the cursor
        # the lines on screen read as the rows: those that changed were painted again, none is left stale
        await pilot.pause()
        top = options.scroll_offset.y
        for y in range(min(options.size.height, options.option_count - top)):
            assert str(options.get_option_at_index(top + y).prompt).strip() in options.render_line(y).text


async def test_a_long_handover_makes_only_the_lines_it_shows(make_app, config, tmp_path):
    """Issue 17: a desk of 100,000 tickets has tens of thousands of lines in its handover; the list makes (formats,
    lays out, renders) only the lines on screen, on every computation, and its keys reach the last line."""
    import dataclasses

    app = make_app(config=config)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show(app, pilot, export_dir=tmp_path)
        h = screen.handover
        first = h.resolved[0]
        many = [dataclasses.replace(first, id=100_000 + i, subject=f"line {i}") for i in range(50_000)]
        big = dataclasses.replace(h, resolved=many)
        screen.handover = big
        screen.show()
        await pilot.pause()
        options = screen.query_one("#hand-list")
        rows = options.rows
        assert options.option_count == len(rows) == sum(1 + max(1, len(getattr(big, s))) for s in SECTIONS)
        assert len(rows._made) < 60  # the rows on screen, not 50,000
        assert "Resolved during the shift (50000)" in str(rows[rows.starts[-1]].prompt)
        await pilot.press("end")
        await pilot.pause()
        assert options.highlighted_option.id == "resolved:49999:149999"
        assert len(rows._made) < 120
        shown = "\n".join(options.render_line(y).text for y in range(options.size.height))
        assert "#149999" in shown and "line 49999" in shown
        await pilot.press("pageup", "pageup")
        await pilot.pause()
        assert options.highlighted_option.id.startswith("resolved:499")  # a page up, twice
        assert len(rows._made) < 180
        await pilot.press("tab")  # from the last section to the first that has lines
        assert options.highlighted_option.id.split(":")[0] == "breaching"


async def test_at_80_columns_a_cut_line_ends_with_an_ellipsis(make_app, config, tmp_path):
    """Found auditing issue 13 at 80x24: a line longer than the list was cut by the list's edge, not shortened,
    so "raised 2026-11-30 17:40 by" ended there with no sign that the name and the reason were cut off."""
    app = make_app(config=config)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show(app, pilot, export_dir=tmp_path / "out")
        options = screen.query_one("#hand-list")
        room = options.scrollable_content_region.width
        prompts = [options.get_option_at_index(i).prompt for i in range(options.option_count)]
        assert any(str(p).endswith("…") for p in prompts)  # the demo's lines are longer than 80 columns
        for prompt in prompts:
            assert prompt.cell_len <= room, (str(prompt), room)
