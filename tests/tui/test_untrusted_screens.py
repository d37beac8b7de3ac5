"""Untrusted text on the screens (issue 13 item 23): zero-width characters do not shift the queue's columns, and a
1 MB subject does not fill the ticket screen (what is shown is capped; what is stored is kept whole)."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from rich.cells import cell_len
from textual import events
from tuihelp import NOW, SIZE, lines, ready, settle

from deskterm.records import NewTicket
from deskterm.tui.screens.detail import DetailScreen
from deskterm.tui.widgets.queue_table import QueueTable

INVISIBLE = "\u200b\ufeff\u200d\u2060\u00ad"


def _invisible(text: str) -> list[str]:
    return [hex(ord(c)) for c in text if unicodedata.category(c) in ("Cf", "Cc")]


async def test_zero_width_characters_are_shown_as_escapes_and_keep_the_columns(make_app, other_desk):
    ids = [
        other_desk.create(
            NewTicket(
                subject=f"Z{i}{INVISIBLE * 4}subject",
                customer=f"Ac{INVISIBLE * 3}me{i}",
                priority="P1",
                created_at=NOW - timedelta(hours=6),
            )
        ).id
        for i in range(3)
    ]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.query_one(QueueTable)
        shown = lines(table)
        ours = [line for line in shown if any(f" {i} " in line for i in ids)]
        assert len(ours) == len(ids), "\n".join(shown)
        widths = {cell_len(line) for line in shown}
        assert len(widths) == 1, widths  # every row exactly as wide as the table
        for line in ours:
            assert not _invisible(line), (line, _invisible(line))
            assert "\\u200b" in line  # shown, visibly, where it was
        # the customer column starts at the same cell on our rows as on the others
        starts = {line.index("Ac\\u200b") for line in ours}
        assert len(starts) == 1, starts


async def test_a_1_mb_subject_is_cut_on_the_ticket_screen_and_kept_whole(make_app, other_desk):
    subject = ("Printer on fire " * 65_536)[: 1024 * 1024]
    tid = other_desk.create(
        NewTicket(subject=subject, customer="Acme", priority="P2", created_at=NOW - timedelta(hours=1))
    ).id
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(200):
            await app.workers.wait_for_complete()
            await pilot.pause()
            if app.desk is not None:
                break
        await app.push_screen(DetailScreen(tid))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DetailScreen) and screen.record is not None
        head = screen.query_one("#detail-head")
        content = head.content
        text = content.plain if hasattr(content, "plain") else str(content)
        assert len(text) < 1000 and "Printer on fire" in text and "…" in text
        assert head.size.height <= 10, head.size  # the timeline and the timers stay on screen at 80x24
    assert other_desk.ticket(tid).subject == subject  # all of it kept


async def test_a_file_that_is_no_desk_or_a_damaged_desk_is_said_plainly_on_the_screen(make_app, demo, tmp_path):
    """As the command line says it (issue 13 item 21), not as SQLAlchemy does."""
    text = tmp_path / "notes.db"
    text.write_text("shopping list\n")
    damaged = tmp_path / "damaged.db"
    data = demo[0].read_bytes()
    damaged.write_bytes(data[: len(data) // 3])
    for db, said in ((text, "not a deskterm desk"), (damaged, "the desk file is damaged")):
        app = make_app(db=db)
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(200):
                await app.workers.wait_for_complete()
                await pilot.pause()
                if app.load_error:
                    break
            assert said in app.load_error and "sqlalche.me" not in app.load_error, app.load_error


# pasted text (a customer's mail copied into a reply, a log into the search): nothing a terminal acts on
PASTED = "[b]x[/b] \x1b]0;pwned\x07 \x1b[31mred\x1b[0m \x9b2J c1 \u202eevil\u202c tab\tend\r\nline two \u2066x\u2069"
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _drawn(widget) -> str:
    """What a widget writes to the terminal, line by line."""
    return "\n".join("".join(s.text for s in widget.render_line(y)) for y in range(widget.size.height))


async def test_text_pasted_into_a_field_or_an_editor_is_drawn_inert_and_kept_as_shown(make_app, other_desk):
    """A paste goes to the terminal again as the field draws it: an escape sequence in it was written to the
    agent's terminal as such (a title changed, colours, an OSC 52 clipboard write). Typed or pasted text holds
    the visible escapes, so what is drawn, what is kept as a draft and what is sent are one text."""
    from deskterm.tui.screens.detail_modals import EditorDialog
    from deskterm.tui.widgets.fields import Editor, Field

    tid = other_desk.create(
        NewTicket(subject="Paste me", customer="Acme", priority="P2", created_at=NOW - timedelta(hours=1))
    ).id
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("slash")
        await settle(pilot)
        field = app.screen.focused
        assert isinstance(field, Field)
        app.post_message(events.Paste(PASTED))
        await settle(pilot)
        drawn = _drawn(field)
        assert not RAW.findall(drawn) and "\\x1b]0;pwned" in drawn, repr(drawn)
        await pilot.press("escape", "escape")
        await settle(pilot)
        await app.push_screen(DetailScreen(tid))
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, EditorDialog)
        editor = app.screen.query_one(Editor)
        app.post_message(events.Paste(PASTED))
        await settle(pilot)
        drawn = _drawn(editor)
        assert not RAW.findall(drawn) and "\\x1b[31mred" in drawn and "\\u202eevil" in drawn, repr(drawn)
        shown = editor.text
        assert shown.endswith("tab\tend\nline two \\u2066x\\u2069") and not RAW.findall(shown.replace("\t", ""))
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert other_desk.ticket(tid).events[-1].body == shown  # sent as it was shown
