"""Untrusted text on the screens (issue 13 item 23): zero-width characters do not shift the queue's columns, and a
1 MB subject does not fill the ticket screen (what is shown is capped; what is stored is kept whole)."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from rich.cells import cell_len
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
