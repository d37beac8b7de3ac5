"""Losing the desk is survivable (issue 14): a SQLite file deleted or replaced under an open app is noticed
within a second, every write is refused with that reason (nothing goes to the unlinked file), the draft stays,
and the app does not stop. Before: a note was confirmed ("internal note added", v2) and silently lost."""

from __future__ import annotations

import os
import shutil

import pytest
from tuihelp import SIZE, ready, settle

from deskterm.errors import DeskLost
from deskterm.service import Change, Desk, NewTicket
from deskterm.store.engine import open_store


def _remove_desk(db) -> None:
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(f"{db}{suffix}")
        except FileNotFoundError:
            pass


def test_a_deleted_or_replaced_desk_file_takes_no_write(tmp_path, example_config, frozen_clock):
    db = tmp_path / "desk.db"
    store = open_store(db)
    desk = Desk(store, example_config, clock=frozen_clock, user="alice")
    tid = desk.create(NewTicket(subject="x", customer="y", priority="P3", created_at=frozen_clock.now())).id
    assert store.lost() is None
    _remove_desk(db)
    assert store.lost() == f"{db}: the desk file was deleted"
    with pytest.raises(DeskLost, match="the desk file was deleted: nothing was written"):
        desk.update(tid, Change(note="lost?"))
    other = open_store(db)  # someone else creates a new desk at the same path: another desk
    assert "replaced by another file" in (store.lost() or "")
    with pytest.raises(DeskLost):
        desk.update(tid, Change(note="lost?"))
    assert Desk(other, example_config, clock=frozen_clock).tickets() == []  # nothing written to the new one
    other.dispose()
    store.dispose()


async def test_the_app_notices_a_deleted_desk_refuses_the_note_and_keeps_running(make_app, demo):
    from deskterm.tui.screens.detail import DetailScreen
    from deskterm.tui.screens.detail_modals import EditorDialog

    db, _, _ = demo
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        ticket = app.screen.query_one("QueueTable").cursor_row
        await app.push_screen(DetailScreen(ticket.id))
        await settle(pilot)
        version = app.desk.ticket(ticket.id).version
        backup = db.parent / "kept.db"
        shutil.copy(db, backup)
        _remove_desk(db)
        assert app.check_desk() is not None  # what the clock does every second
        await pilot.pause()
        notice = [n for n in app._notifications if n.title == "Desk unreachable"]
        assert notice and "the desk file was deleted — retrying" in notice[0].message
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, EditorDialog)
        await pilot.press(*"lost", "ctrl+s")
        await settle(pilot)
        messages = [f"{n.title}: {n.message}" for n in app._notifications]
        assert any("the desk file was deleted: nothing was written" in m for m in messages)
        assert not any("note added" in m for m in messages)
        assert app.is_running and app.return_code is None
        shutil.copy(backup, db)  # the same content, but another file: still refused (another desk)
        assert "replaced" in (app.check_desk() or "")
    after = Desk(open_store(db), app.config).ticket(ticket.id)
    assert after.version == version and not any(e.body == "lost" for e in after.events)
