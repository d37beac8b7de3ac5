"""No change made blind (issue 14): two agents on one desk, on SQLite and on PostgreSQL.

alice has the app open with a dialog (or a draft) on a ticket; another agent changes the ticket meanwhile,
through the command line (a real ``deskterm update`` process) or the service (bob's own ``Desk`` on the same
database). When alice confirms, nothing is written until she has seen what changed and chosen: apply anyway,
re-open the dialog on the new state, or cancel. Before, the status dialog opened on ``pending`` applied
``on_hold`` over bob's ``open`` (v5 → v6) without a word, and a reply went out right after bob's.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from test_detail import choose, history, notes, sample_tickets, type_text, until
from textual.widgets import Input
from tuihelp import NOW, SIZE, settle

from deskterm.clock import os_user
from deskterm.service import Change, Desk
from deskterm.store.engine import open_store
from deskterm.tui.app import DeskApp
from deskterm.tui.screens.detail import DetailScreen
from deskterm.tui.screens.detail_modals import (
    AssignDialog,
    CloseDialog,
    EditorDialog,
    LinkDialog,
    PriorityDialog,
    ResolveDialog,
    TimeDialog,
    TypeDialog,
)
from deskterm.tui.screens.modals import ChoiceScreen, TextPromptScreen
from deskterm.tui.screens.stale import StaleDialog
from deskterm_testing import run_cli

pytestmark = pytest.mark.engines("sqlite", "postgresql")


@pytest.fixture
def desk_url(db_engine, demo, request) -> str:
    """The demo desk's copy on SQLite; a fresh database on PostgreSQL (the sample tickets are imported in both)."""
    db, _, _ = demo
    return str(db) if db_engine == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture
def bob(desk_url, screen_config, clock):
    """Another agent's Desk on the same database (another process, as far as the app can tell)."""
    store = open_store(desk_url)
    yield Desk(store, screen_config, clock=clock, user="bob")
    store.dispose()


@pytest.fixture
def tickets(bob) -> list[int]:
    """[0] open, [1] pending, [2] new P1, [3] new (see test_detail.sample_tickets)."""
    return bob.import_tickets(sample_tickets(NOW))


@pytest.fixture
def app(desk_url, screen_config, clock) -> DeskApp:
    return DeskApp(db=desk_url, config=screen_config, clock=clock, user="alice")


async def open_detail(pilot, ticket_id: int) -> DetailScreen:
    app = pilot.app
    await until(pilot, lambda: app.desk is not None)
    await app.push_screen(DetailScreen(ticket_id))
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, DetailScreen) and screen.record is not None
    return screen


async def opened(pilot, cls):
    """The dialog of type ``cls`` once it is mounted (keys pressed before would reach the screen below)."""
    app = pilot.app
    dialog = await until(pilot, lambda: isinstance(app.screen, cls) and app.screen.is_mounted and app.screen)
    await pilot.pause()
    return dialog


async def poll(pilot) -> None:
    """What the app's clock does every second: notice the other agent's commit (PostgreSQL: a NOTIFY that may take
    a moment to arrive) and reload the screens."""
    app = pilot.app
    deadline = time.monotonic() + 3
    while not app.poll() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await settle(pilot)


def by(app, ticket_id: int, author: str) -> list:
    return [(e.kind, e.to, e.body) for e in history(app, ticket_id) if e.author == author]


async def test_status_dialog_opened_on_pending_does_not_apply_over_a_change_from_the_cli(app, tickets, desk_url, demo):
    """The issue's case: "Status: pending →" open, another agent sets open with ``deskterm update``; choosing
    on_hold then asks first (it applied v5 → v6 silently); re-opened, the dialog starts from open."""
    config = str(demo[0].parent / "deskterm.toml")
    ticket = tickets[1]
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, ticket)
        loaded = screen.record.version
        await pilot.press("s")
        dialog = await opened(pilot, ChoiceScreen)
        assert dialog.title_text == "Status: pending →" and dialog.choices == ["open", "on_hold", "resolved"]
        r = await asyncio.to_thread(
            run_cli, "--db", desk_url, "--config", config, "update", str(ticket), "--status", "open"
        )
        assert r.returncode == 0 and r.stdout.strip() == str(loaded + 1), r.stderr
        await poll(pilot)  # the screen under the dialog reloads (this made the stale choice apply silently)
        assert screen.record.status == "open"
        await pilot.press("down", "enter")  # on_hold, chosen on what the dialog showed
        stale = await opened(pilot, StaleDialog)
        assert (stale.seen.version, stale.record.version) == (loaded, loaded + 1)
        assert len(stale.changes) == 1 and stale.changes[0].endswith(f"{os_user()}: status pending → open")
        assert app.desk.ticket(ticket).version == loaded + 1  # nothing written yet
        await pilot.press("r")  # re-open the dialog on the new state
        dialog = await opened(pilot, ChoiceScreen)
        assert dialog.title_text == "Status: open →" and dialog.choices == ["pending", "on_hold", "resolved"]
        await pilot.press("down", "enter")  # on_hold, now from open
        await settle(pilot)
        [mine] = [e for e in history(app, ticket) if e.author == "alice"]  # (the CLI's clock is not the app's)
        assert (mine.kind, mine.from_value, mine.to) == ("status", "open", "on_hold")
        assert app.desk.ticket(ticket).version == loaded + 2


async def test_a_reply_after_another_agents_reply_says_so_before_sending(app, tickets, bob):
    ticket = tickets[3]
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, ticket)
        await pilot.press("r")
        await opened(pilot, EditorDialog)
        await type_text(pilot, "We are looking into it.")
        await asyncio.to_thread(bob.update, ticket, Change(reply="Fixed: the badge server was restarted.\nBob"))
        await pilot.press("ctrl+s")
        stale = await opened(pilot, StaleDialog)
        at = f"{NOW.astimezone(app.config.tz):%H:%M}"
        assert stale.news == f"bob replied at {at}: Fixed: the badge server was restarted. Bob"
        shown = str(stale.query_one("#stale-news").render())
        assert shown.endswith("; send anyway?") and "bob replied at" in shown
        assert by(app, ticket, "alice") == []
        await pilot.press("a")  # send anyway
        await settle(pilot)
        assert [(e.author, e.body) for e in history(app, ticket)] == [
            ("bob", "Fixed: the badge server was restarted.\nBob"),
            ("alice", "We are looking into it."),
        ]
        assert screen.drafts["reply"] == ""


async def test_every_dialog_and_the_note_draft_ask_before_applying_over_a_change(app, tickets, bob):
    """Each dialog carries the version it was opened on: a change by bob while it is open stops the confirm, and
    cancel writes nothing (the note draft is kept)."""
    ticket, major = tickets[3], tickets[2]
    await asyncio.to_thread(bob.update, tickets[0], Change(status="resolved", resolution_code="fixed"))

    async def priority(pilot, dialog):
        await choose(pilot, dialog, "direct", "P4")

    async def type_(pilot, dialog):
        await choose(pilot, dialog, "type", "request")

    async def assign(pilot, dialog):
        dialog.query_one("#agent", Input).value = "chloe"

    async def log_time(pilot, dialog):
        dialog.query_one("#duration", Input).value = "25m"

    async def resolve(pilot, dialog):
        await choose(pilot, dialog, "code", "fixed")

    async def close(pilot, dialog):
        await choose(pilot, dialog, "csat", 5)

    async def link(pilot, dialog):
        dialog.query_one("#major", Input).value = str(major)

    async def note(pilot, dialog):
        await type_text(pilot, "half a thought")

    cases = [
        ("p", PriorityDialog, priority, ticket),
        ("T", TypeDialog, type_, ticket),
        ("t", TimeDialog, log_time, ticket),
        ("a", AssignDialog, assign, ticket),
        ("x", ResolveDialog, resolve, ticket),
        ("l", LinkDialog, link, ticket),
        ("n", EditorDialog, note, ticket),
        ("X", CloseDialog, close, tickets[0]),
    ]
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, ticket)
        for key, cls, fill, tid in cases:
            if app.screen.ticket_id != tid:
                app.pop_screen()
                await open_detail(pilot, tid)
            screen = app.screen
            before = app.desk.ticket(tid).version
            mine = by(app, tid, "alice")
            await pilot.press(key)
            dialog = await opened(pilot, cls)
            await fill(pilot, dialog)
            await asyncio.to_thread(bob.update, tid, Change(note=f"bob while {cls.__name__} is open"))
            await pilot.press("ctrl+s")
            stale = await opened(pilot, StaleDialog)
            assert stale.changes[-1].endswith(f"bob: internal note: bob while {cls.__name__} is open"), cls
            assert stale.seen.version == before and stale.record.version == before + 1
            await pilot.press("escape")  # cancel
            await settle(pilot)
            assert app.screen is screen, cls
            assert by(app, tid, "alice") == mine, cls
            assert app.desk.ticket(tid).version == before + 1, cls
            if cls is EditorDialog:
                assert screen.drafts["note"] == "half a thought"
                assert any("Note: cancelled: nothing changed. The draft is kept." in m for m in notes(app))
        # the escalation dialogs (where to, then why) carry the version too
        app.pop_screen()
        screen = await open_detail(pilot, ticket)
        before = app.desk.ticket(ticket).version
        await pilot.press("e")
        await opened(pilot, ChoiceScreen)
        await pilot.press("enter")
        await opened(pilot, TextPromptScreen)
        await type_text(pilot, "needs the network team")
        await asyncio.to_thread(bob.update, ticket, Change(priority="P1"))
        await pilot.press("enter")
        stale = await opened(pilot, StaleDialog)
        assert stale.changes[-1].endswith("bob: priority P3 → P1")
        await pilot.press("a")  # escalate anyway
        await settle(pilot)
        assert [e.kind for e in history(app, ticket)][-2:] == ["priority", "escalate"]
        assert app.desk.ticket(ticket).version == before + 2


async def test_re_opening_the_escalation_or_the_time_dialog_keeps_what_was_typed(app, tickets, bob):
    """Seen in a shift: `r` (re-open the dialog on the new state) after another agent's change started the
    escalation over with an empty reason, and the time dialog empty: what was typed had to be typed again."""
    ticket = tickets[3]
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, ticket)
        await pilot.press("e")
        choice = await opened(pilot, ChoiceScreen)
        await pilot.press("down", "enter")
        target = choice.choices[1]
        await opened(pilot, TextPromptScreen)
        await type_text(pilot, "tried the restart, needs the vendor")
        await asyncio.to_thread(bob.update, ticket, Change(note="bob looks too"))
        await pilot.press("enter")
        await opened(pilot, StaleDialog)
        await pilot.press("r")  # re-open the dialog on the new state
        again = await opened(pilot, ChoiceScreen)
        assert again.choices[again.query_one("OptionList").highlighted] == target
        await pilot.press("enter")
        prompt = await opened(pilot, TextPromptScreen)
        assert prompt.query_one(Input).value == "tried the restart, needs the vendor"
        await pilot.press("enter")
        await settle(pilot)
        assert [e.kind for e in history(app, ticket)][-2:] == ["reply", "escalate"]
        await pilot.press("t")
        dialog = await opened(pilot, TimeDialog)
        dialog.query_one("#duration", Input).value = "1h30"
        dialog.query_one("#note", Input).value = "rebuilt the profile"
        await asyncio.to_thread(bob.update, ticket, Change(note="bob again"))
        await pilot.press("ctrl+s")
        await opened(pilot, StaleDialog)
        await pilot.press("r")
        dialog = await opened(pilot, TimeDialog)
        assert dialog.query_one("#duration", Input).value == "1h30m"
        assert dialog.query_one("#note", Input).value == "rebuilt the profile"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [e.kind for e in history(app, ticket)][-1] == "time"


async def test_an_open_major_incident_shows_tickets_linked_by_others(app, tickets, bob):
    major = tickets[2]
    await asyncio.to_thread(bob.link, tickets[1], major)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, major)
        assert "major incident: 1 linked" in str(screen.query_one("#detail-head").render())
        version = screen.record.version
        await asyncio.to_thread(bob.link, tickets[3], major)  # the major's own version does not move
        await poll(pilot)
        head = str(screen.query_one("#detail-head").render())
        assert f"major incident: 2 linked (#{tickets[1]} pending, #{tickets[3]} new)" in head
        assert screen.record.version == version
        assert any(f"linked tickets: +#{tickets[3]}" in m for m in screen.news)  # the line above the keys
        await asyncio.to_thread(bob.update, tickets[1], Change(status="open"))
        await poll(pilot)
        assert f"#{tickets[1]} open" in str(screen.query_one("#detail-head").render())


@pytest.mark.engines("sqlite")
async def test_a_draft_taken_back_after_a_restart_keeps_the_version_it_began_on(
    desk_url, screen_config, clock, tickets, bob
):
    """A draft kept on disk (tui/drafts.py) carries its version with its text: bob's reply between the two runs is
    said before alice's reply goes out."""
    import json

    from textual.widgets import TextArea

    ticket = tickets[3]
    first = DeskApp(db=desk_url, config=screen_config, clock=clock, user="alice")
    async with first.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, ticket)
        began = screen.record.version
        await pilot.press("r")
        editor = await opened(pilot, EditorDialog)
        editor.query_one(TextArea).insert("We are on it.")
        await pilot.pause(0.8)  # written behind the typing
        directory = first.drafts.directory
    # the app ended with the editor open (a crash, a dropped terminal)
    [kept] = directory.glob("*.json")
    assert json.loads(kept.read_text(encoding="utf-8"))["version"] == began
    await asyncio.to_thread(bob.update, ticket, Change(reply="Restarted the badge server."))
    second = DeskApp(db=desk_url, config=screen_config, clock=clock, user="alice")
    async with second.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, ticket)
        assert screen.drafts["reply"] == "We are on it." and screen.draft_seen["reply"].version == began
        await pilot.press("r")
        await opened(pilot, EditorDialog)
        await pilot.press("ctrl+s")
        stale = await opened(pilot, StaleDialog)
        assert stale.news.startswith("bob replied at") and "Restarted the badge server." in stale.news
        await pilot.press("escape")
        await settle(pilot)
        assert [e.author for e in history(second, ticket)] == ["bob"]
