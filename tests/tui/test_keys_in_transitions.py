"""Keys typed while a screen, a dialog or a prompt opens or closes (issue 13, item 16, generalised).

Every test sends its keys back to back (``burst``), the way a terminal delivers them when an agent types fast,
pastes, or ``tmux send-keys 'X\\t4'``: all of them are queued before the app has handled the first one
(``pilot.press`` waits for the app after each key, which hides the defect). Each key must reach the widget that
has the focus once the screen or dialog it opened (or closed) has settled, in order, none lost, none delivered
to the screen behind. The app's key gate (tui/keygate.py) does it, for every dialog of the app at once.
"""

from __future__ import annotations

import pytest
from test_detail import open_detail, sample_tickets, until
from textual import events
from textual.widgets import Input, TextArea
from tuihelp import NOW, SIZE, ready, settle

from deskterm.tui.screens.detail import DetailScreen
from deskterm.tui.screens.detail_modals import (
    CloseDialog,
    EditorDialog,
    PriorityDialog,
    ResolveDialog,
)
from deskterm.tui.screens.modals import TextPromptScreen, TicketListScreen
from deskterm.tui.screens.queue import QueueScreen
from deskterm.tui.widgets.timeline import Timeline

NAMES = {"enter": "\r", "tab": "\t", "space": " ", "escape": "\x1b", "backspace": "\x7f"}


@pytest.fixture
def tickets(other_desk) -> list[int]:
    """Ids of test_detail's sample tickets: [0] open, [1] pending, [2] new P1, [3] new."""
    ids = other_desk.import_tickets(sample_tickets(NOW))
    other_desk.store.dispose()
    return ids


def key_event(key: str) -> events.Key:
    """A key by name (``tab``, ``ctrl+s``, ``down``) or one character, as the terminal driver makes it."""
    from textual.keys import _character_to_key

    if len(key) == 1:
        return events.Key(key if key.isalnum() else _character_to_key(key), key)
    return events.Key(key, NAMES.get(key))


async def burst(pilot, *keys: str) -> None:
    """Each of ``keys`` is a key name, or text typed a character at a time (``"Hello there"``); all are sent to
    the app back to back, as the terminal driver does with what it reads at once. Then the app settles."""
    app = pilot.app
    for key in keys:
        for one in [key] if len(key) == 1 or key in NAMES or "+" in key or key in ARROWS else list(key):
            event = key_event(one)
            event.set_sender(app)
            app._driver.send_message(event)
    await settle(pilot)
    await pilot.pause()
    await settle(pilot)


ARROWS = {"up", "down", "left", "right", "home", "end", "pageup", "pagedown", "delete"}


def held(app) -> int:
    """How many keys the gate made wait: the burst did arrive while the app was busy (the test tests the race)."""
    return app.keygate.held_count


# -- the ticket's dialogs ------------------------------------------------------------------------------


async def test_reply_sent_then_a_note_typed_at_once(make_app, tickets):
    """ctrl+s closes the reply editor and sends; ``n`` typed straight after opens the note editor, and what
    follows is the note (it was lost, or typed into the reply editor that was closing)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[0])
        await burst(pilot, "r", "Hello there", "ctrl+s", "n", "Checked logs")
        assert isinstance(app.screen, EditorDialog) and app.screen.kind == "note"
        assert app.screen.query_one(TextArea).text == "Checked logs"
        await burst(pilot, "escape")
        await until(pilot, lambda: any(e.body == "Hello there" for e in screen.record.events))
        assert held(app) > 0


async def test_a_draft_closed_and_opened_again_keeps_every_key(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, tickets[0])
        await burst(pilot, "n", "Checked", "escape", "n", " again")
        assert isinstance(app.screen, EditorDialog) and app.screen.kind == "note"
        assert app.screen.query_one(TextArea).text == "Checked again"


async def test_end_right_after_the_editor_closes_reaches_the_timeline(make_app, tickets):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_detail(pilot, tickets[0])
        timeline = screen.query_one(Timeline)
        timeline.scroll_home(animate=False)
        await settle(pilot)
        await burst(pilot, "n", "x", "ctrl+g", "end")
        assert app.screen is screen and app.focused is timeline
        await until(pilot, lambda: timeline.max_scroll_y > 0 and timeline.scroll_y >= timeline.max_scroll_y - 0.01)


async def test_close_dialog_tab_then_the_comment(make_app, tickets):
    """The first tab of the close dialog moves to the comment (it was lost, or moved the ticket behind)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[0])
        assert await screen.resolve("fixed")
        await settle(pilot)
        await burst(pilot, "X", "tab", "Thanks, all good")
        assert isinstance(app.screen, CloseDialog)
        assert app.screen.query_one("#comment", Input).value == "Thanks, all good"
        await burst(pilot, "shift+tab", "enter", "down", "down", "down", "down", "enter", "ctrl+s")
        await until(pilot, lambda: screen.record.status == "closed")
        assert (screen.record.csat_score, screen.record.csat_comment) == (4, "Thanks, all good")


async def test_resolve_dialog_tab_then_the_reply(make_app, tickets):
    """The code drop-down has the focus once the dialog is up; tab from it goes to the reply."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, tickets[0])
        await burst(pilot, "x", "tab", "Fixed the DPD timers")
        assert isinstance(app.screen, ResolveDialog)
        assert app.screen.query_one("#resolve-reply", TextArea).text == "Fixed the DPD timers"
        assert app.focused is app.screen.query_one("#resolve-reply")


async def test_priority_dialog_tabs_to_the_reason(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, tickets[0])
        await burst(pilot, "p", "tab", "tab", "tab", "whole ward")
        assert isinstance(app.screen, PriorityDialog)
        assert app.screen.query_one("#reason", Input).value == "whole ward"


async def test_status_choice_typed_at_once(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[0])  # open: the first choice is pending
        await burst(pilot, "s", "enter")
        await until(pilot, lambda: screen.record.status == "pending")
        assert app.screen is screen


async def test_assign_dialog_typed_at_once(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])  # new, unassigned
        await burst(pilot, "a", "me", "enter")
        await until(pilot, lambda: screen.record.assignee == "alice")
        assert app.screen is screen


async def test_link_dialog_typed_at_once(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await burst(pilot, "l", str(tickets[2]), "enter")
        await until(pilot, lambda: screen.record.major_id == tickets[2])


async def test_canned_response_then_text_typed_at_once(make_app, tickets, demo):
    """m, enter (the first canned response) opens the reply editor on it; what is typed next is in it."""
    from dataclasses import replace

    _, config, _ = demo
    app = make_app(config=replace(config, canned={"ack": "Hello {customer}, we are on it."}))
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, tickets[0])
        await burst(pilot, "m", "enter", "ctrl+end", "PS")
        assert isinstance(app.screen, EditorDialog) and app.screen.kind == "reply"
        assert app.screen.query_one(TextArea).text == "Hello Clinique Saint-Jean, we are on it.PS"


async def test_escalate_choice_then_the_reason_typed_at_once(make_app, tickets, screen_config):
    """e, enter (the first target) pops the list and pushes the reason prompt from its result: the reason
    typed straight after is in the prompt, and enter escalates."""
    app = make_app(config=screen_config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await burst(pilot, "e", "enter", "needs the network team")
        assert isinstance(app.screen, TextPromptScreen)
        assert app.screen.query_one(Input).value == "needs the network team"
        await burst(pilot, "enter")
        await until(pilot, lambda: any(e.kind == "escalate" for e in screen.record.events))


async def test_keys_and_why_panes_close_then_the_editor_opens(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[0])
        await burst(pilot, "?", "escape", "w", "escape", "r", "Hi")
        assert isinstance(app.screen, EditorDialog)
        assert app.screen.query_one(TextArea).text == "Hi"
        assert app.screen_stack[-2] is screen


# -- the queue: its prompts, screens opened and closed -------------------------------------------------


async def test_command_line_then_enter_opens_the_ticket(make_app, tickets):
    """``:N`` enter puts the cursor on N; the enter typed straight after opens it (it went to the closing
    prompt and was lost)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await burst(pilot, ":", str(tickets[0]), "enter", "enter")
        assert isinstance(app.screen, DetailScreen) and app.screen.ticket_id == tickets[0]
        await burst(pilot, "escape", ":", "view pending", "enter")
        assert isinstance(app.screen, QueueScreen) and app.screen.state.view == "pending"


async def test_search_closed_then_keys_reach_the_table(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.screen
        await burst(pilot, "/", "Rhône", "enter", "enter")
        assert screen.state.filter == "Rhône"
        assert isinstance(app.screen, DetailScreen)
        assert "Rhône" in app.screen.record.customer


async def test_a_ticket_opened_and_left_at_once(make_app):
    """enter opens the ticket, esc goes back, / opens the search: each key where the agent saw it."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.screen
        await burst(pilot, "enter", "escape", "/", "vpn")
        assert app.screen is screen
        assert screen.query_one("#prompt", Input).value == "vpn" and app.focused is screen.query_one("#prompt")


async def test_bulk_assign_prompt_typed_at_once(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.screen
        await burst(pilot, "2")  # unassigned
        row = screen.table.row_at(0)
        await burst(pilot, "a", "me", "enter")
        await until(pilot, lambda: app.desk.ticket(row.id).assignee == "alice")


async def test_bulk_priority_list_confirmed_at_once(make_app):
    """Two tickets marked, p, enter (P1): the list of what it will touch comes after a read; the enter typed
    straight after applies it (it reached the queue behind and opened a ticket)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.screen
        await burst(pilot, "2")  # unassigned
        first, second = screen.table.row_at(0), screen.table.row_at(1)
        await burst(pilot, "space", "space", "p", "enter", "enter")
        await until(pilot, lambda: {app.desk.ticket(t.id).priority for t in (first, second)} == {"P1"})
        assert isinstance(app.screen, (QueueScreen, TicketListScreen))


async def test_places_opened_and_left_at_once(make_app):
    """E, D and H from the queue and back, then the search: nothing typed reaches a screen that is going."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.screen
        await burst(pilot, "E", "escape", "D", "escape", "H", "escape", "/", "lyon")
        assert app.screen is screen and screen.query_one("#prompt", Input).value == "lyon"


async def test_the_new_ticket_form_typed_at_once_from_the_queue(make_app):
    """Seen in a shift: `N` `c l i` typed at once on the queue (README's ten keys for a known caller) claimed the
    ticket under the queue's cursor, and "l i" were lost: the form comes after a read in a thread, and the
    keys typed meanwhile went to the queue behind it."""
    from deskterm.tui.screens.new_ticket import NewTicketScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.screen
        row = screen.table.row_at(0)
        before = app.desk.ticket(row.id)
        await burst(pilot, "N", "cli")
        await until(pilot, lambda: isinstance(app.screen, NewTicketScreen))
        await settle(pilot)
        assert app.screen.query_one("#nt-customer", Input).value == "cli"
        after = app.desk.ticket(row.id)
        assert (after.version, after.assignee) == (before.version, before.assignee)  # not claimed behind it


async def test_the_customer_panel_typed_at_once_from_a_ticket(make_app, tickets):
    """`i` then `esc` `r` at once: the panel comes after a read; the esc closes it (it reached the ticket, which
    went back to the queue, and `r` was lost)."""
    from deskterm.tui.screens.customer_panel import CustomerPanel

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[0])
        await burst(pilot, "i", "escape", "r", "ok")
        await until(pilot, lambda: isinstance(app.screen, EditorDialog))
        assert not isinstance(app.screen, CustomerPanel) and app.screen_stack[-2] is screen
        assert app.screen.query_one(TextArea).text == "ok"


async def test_quit_question_answered_at_once(make_app, tickets):
    """q with an unsent draft asks; n typed straight after answers it (the app stays)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, tickets[0])
        await burst(pilot, "n", "draft", "escape", "q", "n", "r", "!")
        assert app.is_running
        assert isinstance(app.screen, EditorDialog) and app.screen.query_one(TextArea).text == "!"


# -- the timeline follows what the agent just did ------------------------------------------------------


def last_entry(timeline) -> str:
    """The newest entry's text ("" before the first is shown)."""
    return str(timeline.entries[-1][0]) if timeline.entries else ""


async def test_the_timeline_shows_the_reply_just_sent_wherever_it_was_scrolled(make_app, tickets):
    """After a reply the newest event is in view: it was decided from the scroll position at the reload, which
    was wrong when the agent had scrolled up, or when a reload came before the previous one had scrolled."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_detail(pilot, tickets[0])
        timeline = screen.query_one(Timeline)
        await burst(pilot, "home")
        await until(pilot, lambda: timeline.scroll_y == 0)
        await burst(pilot, "r", "Sent from the top", "ctrl+s")
        await until(pilot, lambda: any(e.body == "Sent from the top" for e in screen.record.events))
        await settle(pilot)
        await settle(pilot)
        await until(pilot, lambda: timeline.max_scroll_y > 0 and timeline.scroll_y >= timeline.max_scroll_y)
        first, lines = timeline.entry_lines(len(timeline.entries) - 1)
        assert "Sent from the top" in last_entry(timeline)
        assert (
            timeline.scroll_y <= first
            and first + lines <= timeline.scroll_y + timeline.scrollable_content_region.height
        )  # in view


async def test_the_timeline_follows_others_changes_at_the_bottom_and_keeps_its_place_above(
    make_app, tickets, other_desk
):
    from deskterm.service import Change

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_detail(pilot, tickets[0])
        timeline = screen.query_one(Timeline)
        await until(pilot, lambda: timeline.scroll_y >= timeline.max_scroll_y > 0)
        for n in range(2):  # two changes, two reloads back to back
            other_desk.update(tickets[0], Change(note=f"bob's note {n}"))
            app.poll()
        await until(pilot, lambda: "bob's note 1" in last_entry(timeline))
        await until(pilot, lambda: timeline.scroll_y >= timeline.max_scroll_y)
        await burst(pilot, "home", "down", "down")
        await until(pilot, lambda: timeline.scroll_y == 2)
        other_desk.update(tickets[0], Change(note="bob's note 2"))
        app.poll()
        await until(pilot, lambda: "bob's note 2" in last_entry(timeline))
        await settle(pilot)
        assert timeline.scroll_y == 2  # the agent reading above is not moved
        await burst(pilot, "end")
        other_desk.update(tickets[0], Change(note="bob's note 3"))
        app.poll()
        await until(pilot, lambda: "bob's note 3" in last_entry(timeline))
        await until(pilot, lambda: timeline.scroll_y >= timeline.max_scroll_y)


# -- ? is never covered ----------------------------------------------------------------------------------


async def test_notifications_do_not_cover_the_keys_list_and_come_back_after(make_app):
    """Notifications shown at start (rules fired, a damaged state file) covered the ``?`` list at 80x24."""
    from textual.widgets._toast import Toast

    from deskterm.tui.keys import KeysScreen

    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await ready(pilot)
        for n in range(3):
            app.notify(f"rule {n} fired on 7 tickets", title="New escalations", timeout=60)
        await pilot.pause(0.3)  # the toasts are drawn
        await settle(pilot)
        assert app.screen.query(Toast)
        await burst(pilot, "?")
        assert isinstance(app.screen, KeysScreen)
        dialog = app.screen.query_one("#keys-dialog")
        shown = [t for t in app.screen.query(Toast) if t.display and t.visible and t.region.area]
        assert not [t for t in shown if t.region.overlaps(dialog.region)]
        await burst(pilot, "escape")
        assert isinstance(app.screen, QueueScreen)
        await settle(pilot)
        assert [t for t in app.screen.query(Toast) if t.region.area]  # still there, once the list is closed


# -- keys typed before a screen's data is shown wait for it ----------------------------------------------


async def test_keys_typed_as_a_ticket_opens_are_for_the_ticket(make_app):
    """enter then r: the r came while the ticket was being read and was dropped (no ticket yet)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await burst(pilot, "enter", "r", "Quick answer")
        assert isinstance(app.screen, EditorDialog)
        assert app.screen.query_one(TextArea).text == "Quick answer"


async def test_enter_typed_before_the_first_rows_opens_the_first_ticket(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await burst(pilot, "enter")  # at once: the desk is still opening
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.record is not None)
        queue = app.screen_stack[-2]
        assert isinstance(queue, QueueScreen) and app.screen.ticket_id == queue.table.row_at(0).id


async def test_movement_keys_in_a_burst_are_not_held_and_enter_opens_the_row_reached(make_app):
    """j only moves the queue's cursor: a burst of them goes straight to the table, as without the gate (each one
    held behind the previous one's repaint made 50 j take four times as long); the enter after them waits for
    them all and opens the ticket of the row they reached."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        queue = app.screen
        before = held(app)
        await burst(pilot, *["j"] * 12, "enter")
        assert held(app) - before <= 1  # (the enter, behind the moves)
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.record is not None)
        assert app.screen.ticket_id == queue.table.row_at(12).id


# -- keys typed while the agent's own change is written, or the rows it asked for are read --------------------


@pytest.fixture
def late_changes(monkeypatch):
    """A change made from a dialog starts 0.3 s after the dialog closed, and the desk takes 0.3 s more to write it
    (a loaded machine, a desk on a busy server): the keys typed after it arrive before it is written."""
    import asyncio
    import time

    from deskterm.service import Desk

    send, update = DetailScreen.send, Desk.update

    async def late_send(self, kind):
        await asyncio.sleep(0.3)
        return await send(self, kind)

    def slow_update(self, *args, **kwargs):
        time.sleep(0.3)
        return update(self, *args, **kwargs)

    monkeypatch.setattr(DetailScreen, "send", late_send)
    monkeypatch.setattr(Desk, "update", slow_update)


async def test_resolve_typed_right_after_a_note_sees_the_note(make_app, tickets, late_changes):
    """``x`` typed right after the note's ctrl+s opened the resolve dialog on the ticket as it was before the
    note (the note was still being written); applying it then found the ticket "changed since you opened this
    dialog" by the agent's own note. Keys wait until the agent's change is written and shown."""
    from deskterm.tui.screens.stale import StaleDialog

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[0])
        await burst(pilot, "n", "Noted at once", "ctrl+s", "x", "enter", "down", "enter", "ctrl+s")
        await until(pilot, lambda: screen.record.status == "resolved" or isinstance(app.screen, StaleDialog))
        assert not isinstance(app.screen, StaleDialog)
        assert any(e.body == "Noted at once" and not e.public for e in screen.record.events)


async def test_enter_after_a_slow_search_opens_a_match(make_app, monkeypatch):
    """``/Rhône`` enter enter: the second enter waits for the filtered rows (it opened the first row of the
    queue as it was before the search, when the search's query took longer than the keys)."""
    import time

    from deskterm.store.queue import QueueQuery

    ids = QueueQuery.ids

    def slow(self, *args, **kwargs):
        time.sleep(0.3)
        return ids(self, *args, **kwargs)

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        monkeypatch.setattr(QueueQuery, "ids", slow)
        monkeypatch.setattr(
            QueueQuery, "try_ids_now", lambda self, most=None: False
        )  # the index answers no word at once
        screen = app.screen
        await burst(pilot, "/", "Rhône", "enter", "enter")
        assert screen.state.filter == "Rhône"
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.record is not None)
        assert "Rhône" in app.screen.record.customer


async def test_a_note_begun_while_a_slow_reply_is_written(make_app, tickets, monkeypatch):
    """A reply that takes longer to write than the gate holds keys (2 s): ``n`` and the note typed after its
    ctrl+s open the note editor and fill it (``n`` was off while any change was written, and the note's text
    went to the ticket screen). Sent after, the note is not taken for a change by someone else."""
    import time

    from deskterm.service import Desk
    from deskterm.tui.keygate import KeyGate
    from deskterm.tui.screens.stale import StaleDialog

    update = Desk.update

    def slow(self, *args, **kwargs):
        time.sleep(KeyGate.PATIENCE + 0.8)
        return update(self, *args, **kwargs)

    monkeypatch.setattr(Desk, "update", slow)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[0])
        await burst(pilot, "r", "On it", "ctrl+s", "n", "Checked logs")
        await until(pilot, lambda: isinstance(app.screen, EditorDialog) and app.screen.kind == "note")
        await until(pilot, lambda: app.screen.query_one(TextArea).text == "Checked logs")
        await until(pilot, lambda: any(e.body == "On it" for e in screen.record.events), tries=400)
        await burst(pilot, "ctrl+s")
        await until(
            pilot,
            lambda: any(e.body == "Checked logs" for e in screen.record.events) or isinstance(app.screen, StaleDialog),
            tries=400,
        )
        assert not isinstance(app.screen, StaleDialog)
