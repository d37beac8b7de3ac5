"""A shift that holds (issue 13, items 1, 2 and 17): a notification never crashes the app, `q` quits from every
screen (asking first while drafts are unsent), `esc` goes back, and ctrl+c's hint is plain text."""

from __future__ import annotations

import json

import pytest
from textual.widgets import TextArea
from tuihelp import SIZE, ready, settle

from deskterm.tui.screens.detail_modals import EditorDialog
from deskterm.tui.screens.handover import HandoverScreen


async def _handover(app, pilot, tmp_path) -> HandoverScreen:
    await ready(pilot)
    screen = HandoverScreen(export_dir=tmp_path / "out")
    await app.push_screen(screen)
    for _ in range(100):
        await settle(pilot)
        if screen.loaded:
            break
    assert screen.loaded
    return screen


async def test_handover_y_notifies_without_crashing(make_app, tmp_path):
    """`H` then `y` wrote the file, then the toast (a rich Text given to notify) crashed the app (exit 1)."""
    app = make_app()
    app.copy_to_clipboard = lambda text: None
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _handover(app, pilot, tmp_path)
        await pilot.press("y")
        await pilot.pause(0.3)  # the toast is drawn
        await settle(pilot)
        assert app.is_running and app.return_code is None
        assert isinstance(app.screen, HandoverScreen)
        toasts = list(app.screen.query("Toast"))
        assert toasts, "the toast is on screen"
        [written] = (tmp_path / "out").iterdir()
        assert any(str(written) in str(n.message) for n in app._notifications)


# -- q quits from every screen, esc goes back -------------------------------------------------------


async def _open_ticket(app, pilot, ticket_id: int | None = None):
    from deskterm.tui.screens.detail import DetailScreen

    await ready(pilot)
    if ticket_id is None:
        ticket_id = app.desk.tickets(["open"])[0].id
    await app.push_screen(DetailScreen(ticket_id))
    await settle(pilot)
    assert isinstance(app.screen, DetailScreen) and app.screen.record is not None
    return app.screen


async def _place(app, pilot, where: str, tmp_path):
    """Go to one of the app's screens the way an agent does (keys), and return it."""
    await ready(pilot)
    if where == "ticket":
        return await _open_ticket(app, pilot)
    if where == "queue":
        return app.screen
    await pilot.press({"escalations": "E", "dashboard": "D", "handover": "H"}[where])
    await settle(pilot)
    return app.screen


@pytest.mark.parametrize("where", ["queue", "ticket", "escalations", "dashboard", "handover"])
async def test_q_quits_from_every_screen(make_app, where, tmp_path):
    """q on the ticket screen did nothing; on E, D and H it went back."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _place(app, pilot, where, tmp_path)
        assert type(screen).__name__ != "QueueScreen" or where == "queue"
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0 and not app.is_running  # left, no question: nothing unsent


@pytest.mark.parametrize("where", ["ticket", "escalations", "dashboard", "handover"])
async def test_escape_goes_back_to_the_queue(make_app, where, tmp_path):
    from deskterm.tui.screens.queue import QueueScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _place(app, pilot, where, tmp_path)
        assert not isinstance(screen, QueueScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen) and app.is_running


async def test_q_in_the_editor_is_a_letter(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_ticket(app, pilot)
        await pilot.press("n", "q", "u", "i", "t")
        await pilot.pause()
        assert isinstance(app.screen, EditorDialog) and app.is_running
        assert app.screen.query_one(TextArea).text == "quit"
        await pilot.press("escape")
        await pilot.pause()
        assert screen.drafts["note"] == "quit"


async def test_q_with_unsent_drafts_asks_first(make_app):
    """q on the queue quit silently while a reply/note draft was unsent."""
    from deskterm.tui.screens.confirm import ConfirmScreen
    from deskterm.tui.screens.queue import QueueScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        first, second = [t.id for t in (await _ready_tickets(app, pilot))[:2]]
        for ticket_id, key in ((first, "r"), (second, "n")):
            await _open_ticket(app, pilot, ticket_id)
            await pilot.press(key, "h", "i")
            await pilot.press("escape")  # the editor: the draft is kept
            await pilot.pause()
            await pilot.press("escape")  # the ticket: back to the queue
            await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.is_running
        assert str(app.screen.query_one("#confirm-question").render()) == "2 unsent drafts: quit anyway? y/n"
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen) and app.is_running
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("escape")  # esc is no too
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen) and app.is_running
        await _open_ticket(app, pilot, first)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert not app.is_running and app.return_code == 0
    # quitting anyway keeps them for the next start
    assert app.drafts.unsent() == sorted([(first, "reply"), (second, "note")])
    assert len(list(app.drafts.directory.glob("*.json"))) == 2


async def test_quit_from_the_palette_asks_first_like_q(make_app):
    """ctrl+p listed Textual's own "Quit" ("as soon as possible"), which quit at once past the question about
    unsent drafts, its "Keys", a panel other than `?`, and its "Screenshot" (the screen into ~/Downloads,
    following links): the palette has deskterm's quit and keys only."""
    from textual.command import CommandPalette

    from deskterm.tui.screens.confirm import ConfirmScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        ticket = (await _ready_tickets(app, pilot))[0].id
        await _open_ticket(app, pilot, ticket)
        await pilot.press("r", "h", "i", "escape")  # an unsent reply draft
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Quit" not in titles and "Keys" not in titles and "Screenshot" not in titles
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"quit")
        await pilot.pause(0.5)  # the palette searches in the background
        await settle(pilot)
        await pilot.press("enter")  # the best hit: deskterm's quit, the only one
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, ConfirmScreen)
        assert str(app.screen.query_one("#confirm-question").render()) == "1 unsent draft: quit anyway? y/n"
        await pilot.press("n")
        await settle(pilot)
        assert app.is_running


async def _ready_tickets(app, pilot):
    await ready(pilot)
    return sorted(app.desk.tickets(["open"]), key=lambda t: t.id)


async def test_ctrl_c_says_how_to_quit_in_plain_text(make_app):
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause(0.2)
        [note] = [n for n in app._notifications if n.title == "Do you want to quit?"]
        assert note.message.startswith("Press q to quit the app") and "[" not in note.message
        assert app.is_running
        toast = " ".join(str(t.render()) for t in app.screen.query("Toast"))
        assert "Press q to quit the app" in toast and "[b]" not in toast


# -- drafts survive: kept on disk while typed, offered again at the next start ---------------------------


def _status(app) -> str:
    return str(app.screen.query_one("#queue-status").render())


async def test_a_draft_typed_is_on_disk_and_offered_at_the_next_start(make_app):
    from deskterm.tui.screens.queue import QueueScreen

    first = make_app()
    async with first.run_test(size=SIZE) as pilot:
        ticket = (await _ready_tickets(first, pilot))[0].id
        await _open_ticket(first, pilot, ticket)
        await pilot.press("r")
        await pilot.pause()
        first.screen.query_one(TextArea).insert("Dear customer, the fix")
        await pilot.pause(0.8)  # the typing pauses: written behind, the editor still open
        [kept] = first.drafts.directory.glob("*.json")
        assert kept.name == f"{ticket}.reply.json"
        assert json.loads(kept.read_text(encoding="utf-8"))["text"] == "Dear customer, the fix"
        assert kept.stat().st_mode & 0o777 == 0o600 and kept.parent.stat().st_mode & 0o777 == 0o700
        directory = first.drafts.directory
    # the app ended with the editor open (as a crash or a dropped terminal would end it)
    second = make_app()
    async with second.run_test(size=SIZE, notifications=True) as pilot:
        await _ready_tickets(second, pilot)
        assert second.drafts.directory == directory
        assert isinstance(second.screen, QueueScreen) and f"1 unsent draft (#{ticket})" in _status(second)
        screen = await _open_ticket(second, pilot, ticket)
        assert screen.drafts["reply"] == "Dear customer, the fix"
        assert "unsent draft: reply" in str(screen.query_one("#detail-drafts").render())
        await pilot.press("r")
        await pilot.pause()
        editor = second.screen
        assert isinstance(editor, EditorDialog) and editor.query_one(TextArea).text == "Dear customer, the fix"
        await pilot.press("ctrl+s")  # sent: the draft is gone, from memory and from disk
        await settle(pilot)
        assert second.desk.ticket(ticket).events[-1].body == "Dear customer, the fix"
        assert screen.drafts["reply"] == "" and second.drafts.unsent() == []
        await pilot.press("escape")
        await settle(pilot)
        assert "unsent draft" not in _status(second)
    assert list(directory.glob("*.json")) == []


async def test_ctrl_g_discards_a_draft(make_app):
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        ticket = (await _ready_tickets(app, pilot))[0].id
        screen = await _open_ticket(app, pilot, ticket)
        await pilot.press("n", "a", "b", "c", "escape")
        await pilot.pause()
        app.drafts.flush()
        assert [p.name for p in app.drafts.directory.glob("*.json")] == [f"{ticket}.note.json"]
        await pilot.press("n")
        await pilot.pause()
        assert app.screen.query_one(TextArea).text == "abc"
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert screen.drafts["note"] == "" and app.drafts.unsent() == []
        app.drafts.flush()
        assert list(app.drafts.directory.glob("*.json")) == []
        assert app.desk.ticket(ticket).version == screen.record.version  # nothing was sent
        await pilot.press("q")  # nothing unsent: no question
        await pilot.pause()
        assert not app.is_running


async def test_drafts_belong_to_their_desk(make_app, tmp_path, demo):
    """Another desk file (another copy of the demo) sees none of this desk's drafts."""
    import shutil

    db, _, _ = demo
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(db, other / "demo.db")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        ticket = (await _ready_tickets(app, pilot))[0].id
        await _open_ticket(app, pilot, ticket)
        await pilot.press("n", "x", "escape")
        await pilot.pause()
    elsewhere = make_app(db=other / "demo.db")
    async with elsewhere.run_test(size=SIZE) as pilot:
        await _ready_tickets(elsewhere, pilot)
        assert elsewhere.drafts.unsent() == [] and elsewhere.drafts.directory != app.drafts.directory
        assert "unsent draft" not in _status(elsewhere)


async def test_the_reply_typed_in_the_resolve_dialog_is_the_reply_draft(make_app):
    """Typed in x's reply field then esc: it was lost; now it is the ticket's reply draft, on disk too."""
    from deskterm.tui.screens.detail_modals import ResolveDialog

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        ticket = (await _ready_tickets(app, pilot))[0].id
        screen = await _open_ticket(app, pilot, ticket)
        await pilot.press("x")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ResolveDialog)
        dialog.query_one("#resolve-reply", TextArea).insert("Fixed by the reboot")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert screen.drafts["reply"] == "Fixed by the reboot"
        app.drafts.flush()
        assert [p.name for p in app.drafts.directory.glob("*.json")] == [f"{ticket}.reply.json"]
        await pilot.press("x")  # offered again
        await pilot.pause()
        assert app.screen.query_one("#resolve-reply", TextArea).text == "Fixed by the reboot"
