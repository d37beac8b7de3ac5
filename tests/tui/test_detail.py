"""The ticket-detail screen driven by the keyboard over a real SQLite demo desk with a frozen clock.

Tickets of known shape are imported into the per-test copy of the demo desk (``sample_tickets``); the
history read back from the database shows one event per action, with its author.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from textual import events
from textual.widgets import Input, Select, Static, TextArea
from tuihelp import NOW, SIZE, said, settle

from deskterm.clock import FrozenClock
from deskterm.domain.calendar import epoch
from deskterm.domain.explain import explain
from deskterm.records import NewEvent, NewTicket
from deskterm.service import Change
from deskterm.tui.screens.detail import DetailScreen
from deskterm.tui.screens.detail_modals import (
    AssignDialog,
    CloseDialog,
    EditorDialog,
    LinkDialog,
    PriorityDialog,
    ResolveDialog,
    TypeDialog,
    WhyDialog,
)
from deskterm.tui.screens.modals import ChoiceScreen
from deskterm.tui.screens.stale import StaleDialog
from deskterm.tui.widgets.countdown import Countdown
from deskterm.tui.widgets.fields import Editor
from deskterm.tui.widgets.timeline import Timeline

PARIS = ZoneInfo("Europe/Paris")
LONG = (
    "The VPN concentrator for ward B drops every tunnel after about ten minutes; nurses lose access to the "
    "patient records each time and have to log in again. "
) * 3


def sample_tickets(now: datetime) -> list[NewTicket]:
    """[0] a long, busy timeline (open); [1] paused (pending); [2] breached; [3] new and unassigned."""

    def m(minutes):
        return now - timedelta(minutes=minutes)

    long_events = [
        NewEvent(m(175), "reply", "customer", public=True, body=LONG + "\n\nSecond paragraph:\n  - ward B\n  - ward C"),
        NewEvent(m(170), "assign", "alice", to="alice"),
        NewEvent(m(169), "status", "alice", to="open"),
        NewEvent(m(165), "reply", "alice", public=True, body="On it. Can you tell me the exact time of the last drop?"),
        NewEvent(
            m(160),
            "reply",
            "alice",
            public=False,
            body="Same symptom as INC-2231 last month: check the DPD timers. [b]not bold[/b]",
        ),
        NewEvent(m(150), "reply", "customer", public=True, body="14:02, 14:13 and 14:25. It is getting worse.\x1b[31m"),
        NewEvent(m(140), "priority", "alice", to="P1", reason="whole ward affected"),
        NewEvent(m(130), "escalate", "alice", to="L2-network", reason="needs the firewall team"),
        NewEvent(
            m(120), "reply", "bruno", public=False, body="Firewall logs show IKE rekey failures every 10 min. " * 4
        ),
        NewEvent(m(100), "reply", "bruno", public=True, body="We found the cause; a fix is scheduled for 17:00."),
        NewEvent(m(90), "reply", "customer", public=True, body="Thanks, keep us posted."),
        NewEvent(m(60), "reply", "bruno", public=False, body="Change CHG-118 approved."),
        NewEvent(
            m(30), "reply", "bruno", public=True, body="Fix applied on the standby unit; switching over at 17:00."
        ),
    ]
    return [
        NewTicket(
            subject="VPN drops every ten minutes for ward B",
            customer="Clinique Saint-Jean",
            priority="P2",
            created_at=m(180),
            ref="DET-LONG",
            description="Reported by the ward B head nurse.",
            events=long_events,
        ),
        NewTicket(
            subject="Scanner sends blank PDFs",
            customer="Banque Rhône-Alpes",
            priority="P3",
            created_at=m(300),
            ref="DET-PAUSED",
            description="Scanner on floor 2.",
            events=[
                NewEvent(m(290), "assign", "chloe", to="chloe"),
                NewEvent(m(289), "status", "chloe", to="open"),
                NewEvent(m(280), "reply", "chloe", public=True, body="Could you send one of the PDFs?"),
                NewEvent(m(279), "status", "chloe", to="pending"),
            ],
        ),
        NewTicket(
            subject="Website returns 502 since 09:00",
            customer="CHU Lyon Sud",
            priority="P1",
            created_at=m(360),
            ref="DET-BREACHED",
            description="Public website down.",
            events=[NewEvent(m(350), "reply", "customer", public=True, body="Still down!")],
        ),
        NewTicket(
            subject="Badge reader at gate 3 offline",
            customer="Atelier Moreau",
            priority="P3",
            created_at=m(20),
            ref="DET-NEW",
            description="Gate 3.",
        ),
    ]


@pytest.fixture
def tickets(other_desk) -> list[int]:
    """Ids of the sample tickets, imported into this test's copy of the demo desk (as bob)."""
    ids = other_desk.import_tickets(sample_tickets(NOW))
    other_desk.store.dispose()  # no connection kept open across the test
    return ids


async def open_detail(pilot, ticket_id: int) -> DetailScreen:
    app = pilot.app
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if app.desk is not None:
            break
    await app.push_screen(DetailScreen(ticket_id))
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, DetailScreen) and screen.record is not None
    return screen


def notes(app) -> list[str]:
    """What the app has said, toasts gone included (a test on a loaded machine may look after their timeout)."""
    return [f"{n.title}: {n.message}" for n in said(app)]


async def type_text(pilot, text: str) -> None:
    """Short text is typed key by key; longer text is pasted (much faster), as a terminal pastes: through the app's
    key gate, so it reaches the field that has the focus once the dialog opened by the keys before it has settled
    (given straight to the widget focused at the time, it went to the ticket behind a reply editor still opening
    on a loaded machine)."""
    if len(text) <= 4:
        await pilot.press(*[{" ": "space", "\n": "enter"}.get(ch, ch) for ch in text])
        return
    pilot.app.post_message(events.Paste(text))
    await pilot.pause()


async def choose(pilot, dialog, select_id: str, value) -> None:
    dialog.query_one(f"#{select_id}", Select).value = value
    await pilot.pause()


async def until(pilot, predicate, tries: int = 200):
    """Pause until ``predicate()`` is true (a dialog shows while a worker waits for the agent's answer: the
    workers do not complete before it is answered, so ``settle`` would wait forever); its value."""
    for _ in range(tries):
        await pilot.pause(0.02)
        value = predicate()
        if value:
            return value
    raise AssertionError("never happened")


def history(app, ticket_id: int):
    return app.desk.ticket(ticket_id).events


# -- showing -------------------------------------------------------------------------------------


async def test_header_timers_and_timeline(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[0])
        head = str(screen.query_one("#detail-head").render())
        assert "DET-LONG" in head and "VPN drops every ten minutes" in head and "Clinique Saint-Jean" in head
        assert "policy platinum (this customer's" in head
        assert "P1" in head and "open" in head and "alice" in head and "group L2-network" in head
        timers = {c.id: c.timer for c in screen.query(Countdown)}
        assert set(timers) == {"detail-timer-first_response", "detail-timer-resolution", "detail-timer-next_update"}
        assert timers["detail-timer-first_response"].state == "met"
        due = str(screen.query_one("#detail-due-resolution").render())
        assert "Europe/Paris" in due and "due" in due
        timeline = screen.query_one(Timeline)
        record = app.desk.ticket(tickets[0])
        assert timeline.shown == [e.id for e in record.events]  # every event, in order
        entries = timeline.entries
        assert len(entries) == len(record.events) + 1  # + "ticket created"
        note_entries = [text for text, kind in entries if kind == "-note"]
        assert len(note_entries) == 3 and all("INTERNAL NOTE" in str(text) for text in note_entries)
        # untrusted text is inert: markup is shown as written, escapes are made visible
        texts = "\n".join(str(text) for text, _ in entries)
        assert "[b]not bold[/b]" in texts and "\\x1b[31m" in texts and "\x1b" not in texts
        assert "priority P2 → P1 (whole ward affected)" in texts and "escalation to L2-network" in texts
        # long bodies wrap instead of being cut
        first_customer = next(i for i, (_, kind) in enumerate(entries) if kind == "-customer")
        assert timeline.entry_lines(first_customer)[1] > 4
        # it scrolls, with the keyboard
        assert timeline.max_scroll_y > 0
        await pilot.press("home")
        await pilot.pause()
        assert timeline.scroll_y == 0
        await pilot.press("end")
        await pilot.pause()
        assert timeline.scroll_y == timeline.max_scroll_y
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DetailScreen)


async def test_clock_tick_moves_countdowns_without_replaying(make_app, tickets, clock, monkeypatch):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[2])
        before = screen.query_one("#detail-timer-resolution", Countdown).timer
        calls = []
        monkeypatch.setattr(app.desk, "sla", lambda *a, **k: calls.append(a))
        clock.advance(600)
        app.tick()
        await pilot.pause()
        after = screen.query_one("#detail-timer-resolution", Countdown).timer
        assert after.remaining == before.remaining - 600 and after.state == "breached"
        assert calls == []


async def test_major_incident_shows_linked_tickets(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[1])
        desk = app.desk
        desk.link(tickets[1], tickets[2])
        desk.link(tickets[3], tickets[2])
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert f"linked to major incident #{tickets[2]}" in str(screen.query_one("#detail-head").render())
        app.pop_screen()
        screen = await open_detail(pilot, tickets[2])
        head = str(screen.query_one("#detail-head").render())
        assert f"major incident: 2 linked (#{tickets[1]} pending, #{tickets[3]} new)" in head


# -- replies, notes, drafts, canned responses ----------------------------------------------------


async def test_reply_and_note_each_write_one_event(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, EditorDialog)
        await type_text(pilot, "Hello,\nwe are on it.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        # no [mail] in this desk's configuration: the reply is recorded, and nobody is told it was sent
        assert any("reply recorded (no mail is configured" in n for n in notes(app))
        assert not any("sent to the customer" in n for n in notes(app))
        await pilot.press("n")
        await pilot.pause()
        await type_text(pilot, "check the badge server")
        await pilot.press("ctrl+s")
        await settle(pilot)
        events = history(app, tickets[3])
        assert [(e.kind, e.public, e.author, e.body) for e in events] == [
            ("reply", True, "alice", "Hello,\nwe are on it."),
            ("reply", False, "alice", "check the badge server"),
        ]
        assert screen.record.version == 3 and screen.drafts == {"reply": "", "note": ""}
        assert screen.query_one(Timeline).entries[-1][1] == "-note"


async def test_empty_reply_is_refused(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, tickets[3])
        await pilot.press("r")
        await pilot.pause()
        await type_text(pilot, "   ")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert any("Reply: refused: reply: empty text" in n for n in notes(app))
        assert history(app, tickets[3]) == []


async def test_the_editors_cursor_is_drawn_and_steady(make_app, tickets):
    """The reply editor's cursor never blinks (no repaint twice a second over SSH) and is drawn whenever the editor
    has the focus: Textual's TextArea with its blink turned off served lines cached without their cursor."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, tickets[0])
        await pilot.press("r")
        await settle(pilot)
        editor = app.screen.query_one("#detail-editor", Editor)
        await type_text(pilot, "ab")
        await settle(pilot)
        cursor = editor._theme.cursor_style

        def drawn() -> bool:
            return any(
                seg.style is not None
                and seg.style.reverse == cursor.reverse
                and seg.style.bgcolor == cursor.bgcolor
                and seg.text == " "
                for seg in editor.render_line(0)
            )

        seen = set()
        for _ in range(4):  # past two halves of Textual's blink (0.5 s each)
            seen.add(drawn())
            await pilot.pause(0.3)
        assert seen == {True}
        editor.blur()
        await settle(pilot)
        assert not drawn()
        editor.focus()
        await settle(pilot)
        assert drawn()


async def test_cancelled_editor_keeps_the_draft(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await pilot.press("r")
        await pilot.pause()
        await type_text(pilot, "half a reply")
        await pilot.press("escape")
        await settle(pilot)
        assert screen.drafts["reply"] == "half a reply" and history(app, tickets[3]) == []
        assert "unsent draft: reply" in str(screen.query_one("#detail-drafts").render())
        await pilot.press("r")
        await pilot.pause()
        assert app.screen.query_one(TextArea).text == "half a reply"


async def test_canned_response_is_inserted_for_review(make_app, demo, tickets):
    _, config, _ = demo
    config = dataclasses.replace(config, canned={"ack": "Hello {customer}, we received {ticket}. {agent}"})
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, tickets[3])
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("enter")  # the first (only) canned response
        await settle(pilot)
        assert isinstance(app.screen, EditorDialog)
        area = app.screen.query_one(TextArea)
        assert area.text == "Hello Atelier Moreau, we received DET-NEW. alice"
        assert history(app, tickets[3]) == []  # nothing sent before review
        await type_text(pilot, " Thanks")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [e.body for e in history(app, tickets[3])] == ["Hello Atelier Moreau, we received DET-NEW. alice Thanks"]


# -- status, resolve, close --------------------------------------------------------------------


async def test_status_offers_allowed_targets_only(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[0])
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen) and app.screen.choices == ["pending", "on_hold", "resolved"]
        await pilot.press("enter")  # pending
        await settle(pilot)
        assert screen.record.status == "pending"
        e = history(app, tickets[0])[-1]
        assert (e.kind, e.from_value, e.to, e.author) == ("status", "open", "pending", "alice")
        assert screen.query_one("#detail-timer-resolution", Countdown).timer.state == "paused"


async def test_invalid_transition_is_refused_with_the_service_message(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[0])
        n = len(history(app, tickets[0]))
        assert not await screen.set_status("closed")
        await pilot.pause()
        assert any(
            "cannot go from open to closed; from open it may go to pending, on_hold, resolved" in m for m in notes(app)
        )
        assert len(history(app, tickets[0])) == n


async def test_resolve_requires_a_code_then_close_with_csat(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[0])
        await pilot.press("x")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ResolveDialog)
        await pilot.press("ctrl+s")  # no code chosen
        await settle(pilot)
        assert app.screen is dialog and any("choose a resolution code" in m for m in notes(app))
        assert screen.record.status == "open"
        await choose(pilot, dialog, "code", "workaround")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.record.status == "resolved" and screen.record.resolution_code == "workaround"
        assert not await screen.resolve(None)  # the screen itself refuses a resolution without a code
        await pilot.press("X")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, CloseDialog)
        await choose(pilot, dialog, "csat", 4)
        dialog.query_one("#comment").focus()
        await type_text(pilot, "quick fix")
        await pilot.press("enter")
        await settle(pilot)
        r = app.desk.ticket(tickets[0])
        assert (r.status, r.csat_score, r.csat_comment) == ("closed", 4, "quick fix")
        tail = [(e.kind, e.to, e.author) for e in r.events[-3:]]
        assert tail == [("status", "resolved", "alice"), ("status", "closed", "alice"), ("csat", "4", "alice")]
        assert r.events[-3].reason == "workaround"


# -- priority, type, claim, assign ---------------------------------------------------------------


async def test_priority_by_matrix_and_directly(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await pilot.press("p")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, PriorityDialog)
        await pilot.press("ctrl+s")  # nothing chosen: stays open
        await pilot.pause()
        assert app.screen is dialog
        await choose(pilot, dialog, "impact", 1)
        await choose(pilot, dialog, "urgency", 2)
        dialog.query_one("#reason").focus()
        await type_text(pilot, "two sites")
        await pilot.press("enter")
        await settle(pilot)
        assert (screen.record.priority, screen.record.impact, screen.record.urgency) == ("P2", 1, 2)
        await pilot.press("p")
        await pilot.pause()
        await choose(pilot, app.screen, "direct", "P4")
        await pilot.press("ctrl+s")
        await settle(pilot)
        events = [(e.kind, e.from_value, e.to, e.reason) for e in history(app, tickets[3])]
        assert events == [("priority", "P3", "P2", "impact 1 × urgency 2: two sites"), ("priority", "P2", "P4", None)]


async def test_type_and_classification(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await pilot.press("T")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, TypeDialog)
        await choose(pilot, dialog, "type", "request")
        await choose(pilot, dialog, "classification", "change_request")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert (screen.record.type, screen.record.classification) == ("request", "change_request")
        assert [(e.kind, e.to) for e in history(app, tickets[3])] == [
            ("type", "request"),
            ("classification", "change_request"),
        ]


async def test_t_logs_time_and_refuses_bad_durations(make_app, tickets):
    """t opens the time dialog; 25h or -5m is said on one line and the dialog stays; 1h30 with a note is logged
    (the history and the head say so); the classification dialog moved to T."""
    from deskterm.tui.screens.detail_modals import TimeDialog

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])
        version = screen.record.version
        await pilot.press("t")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, TimeDialog)
        for bad, said in (("25h", "more than 24 h in one entry"), ("-5m", "cannot be negative"), ("", "type the")):
            dialog.query_one("#duration", Input).value = bad
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is dialog
            assert any(said in m for m in notes(app)), (bad, notes(app))
        dialog.query_one("#duration", Input).value = ""
        dialog.query_one("#duration", Input).focus()
        await type_text(pilot, "1h30")
        await pilot.press("tab")
        await type_text(pilot, "restored the tunnel")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert screen.record.version == version + 1
        event = history(app, tickets[3])[-1]
        assert (event.kind, event.to, event.body) == ("time", "5400", "restored the tunnel")
        assert "1h30m logged" in str(screen.query_one("#detail-head").render())
        assert app.desk.time_logged(tickets[3])[0][2] == 5400
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("escape")  # cancel: nothing logged
        await settle(pilot)
        assert len(app.desk.time_logged(tickets[3])) == 1


async def test_claim_then_claim_again_is_refused(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await pilot.press("c")
        await settle(pilot)
        assert screen.record.assignee == "alice"
        await pilot.press("c")
        await settle(pilot)
        assert any("already yours" in m for m in notes(app))
        assert [(e.kind, e.to, e.author) for e in history(app, tickets[3])] == [("assign", "alice", "alice")]


async def test_assign_with_suggestions(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await pilot.press("a")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, AssignDialog)
        assert {"alice", "bruno", "chloe", "david"} <= set(dialog.agents)
        assert {"L1", "L2-network"} <= set(dialog.groups)
        await type_text(pilot, "bru")
        await pilot.press("right")  # accepts the suggestion
        await pilot.pause()
        assert dialog.query_one("#agent").value == "bruno"
        await pilot.press("tab")
        group = dialog.query_one("#group")
        group.value = ""
        await type_text(pilot, "L2-n")
        await pilot.press("right")
        await pilot.press("enter")
        await settle(pilot)
        assert (screen.record.assignee, screen.record.group) == ("bruno", "L2-network")
        assert [(e.kind, e.to) for e in history(app, tickets[3])] == [("assign", "bruno"), ("group", "L2-network")]


# -- major incidents -----------------------------------------------------------------------------


async def test_link_and_broadcast_a_resolution(make_app, tickets):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LinkDialog))
        await pilot.pause()
        app.screen.query_one("#major").focus()  # below the list of open major incidents, when there are some
        await type_text(pilot, "DET-BREACHED")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.record.major_id == tickets[2]
        await pilot.press("b")  # not a major incident itself
        await pilot.pause()
        assert any("not a major incident" in m for m in notes(app))
        app.pop_screen()
        screen = await open_detail(pilot, tickets[2])
        await pilot.press("b")
        await pilot.pause()
        dialog = app.screen
        await type_text(pilot, "Fixed at the source.")
        await choose(pilot, dialog, "code", "fixed")
        await pilot.press("ctrl+s")
        await settle(pilot)
        for tid in (tickets[2], tickets[3]):
            r = app.desk.ticket(tid)
            assert r.status == "resolved" and r.resolution_code == "fixed"
            assert [(e.kind, e.author) for e in r.events[-2:]] == [("reply", "alice"), ("status", "alice")]
        assert screen.record.status == "resolved"


async def test_a_broadcast_is_not_applied_to_tickets_changed_since_the_dialog_opened(make_app, tickets, other_desk):
    """Seen in a shift: `b` on a major incident, and meanwhile another agent resolved (or set pending with a
    word from the customer) one of its linked tickets: the reply and the resolution went to every ticket linked
    at that moment, in states the agent had not seen. Now nothing is applied, what changed is said, and the
    dialog opens again with what was typed, on the tickets as they are now."""
    from deskterm.tui.screens.detail_modals import BroadcastDialog

    other_desk.link(tickets[3], tickets[2])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, tickets[2])
        await pilot.press("b")
        dialog = await until(pilot, lambda: isinstance(app.screen, BroadcastDialog) and app.screen)
        await type_text(pilot, "Fixed at the source.")
        await choose(pilot, dialog, "code", "fixed")
        other_desk.update(tickets[3], Change(status="pending", reason="the customer says it is still down"))
        await pilot.press("ctrl+s")
        again = await until(
            pilot, lambda: isinstance(app.screen, BroadcastDialog) and app.screen is not dialog and app.screen
        )
        assert any(f"#{tickets[3]} changed (now pending" in n and "nothing applied" in n for n in notes(app)), notes(
            app
        )
        for tid in (tickets[2], tickets[3]):
            assert not any(e.author == "alice" for e in app.desk.ticket(tid).events)
        assert again.query_one(Editor).text == "Fixed at the source." and again.select("code") == "fixed"
        await pilot.press("ctrl+s")  # on the state now shown: applied
        await settle(pilot)
        assert app.desk.ticket(tickets[2]).status == "resolved"
        assert any(e.author == "alice" and e.kind == "reply" for e in app.desk.ticket(tickets[3]).events)


# -- why is it due then? -------------------------------------------------------------------------


def paris(*a) -> datetime:
    return datetime(*a, tzinfo=PARIS)


def gold_payroll_ticket(demo, clock, priority: str, created_at: datetime, *events: NewEvent):
    """Imports, as bob at the clock's instant, a ticket of Banque Rhône-Alpes (gold: the office calendar in
    Europe/Paris) with this priority, creation time and history: (the Desk, whose store the caller disposes of,
    the ticket's id)."""
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    db, config, _ = demo
    desk = Desk(open_store(db), config, clock=clock, user="bob")
    [tid] = desk.import_tickets(
        [
            NewTicket(
                subject="Payroll export fails",
                customer="Banque Rhône-Alpes",
                priority=priority,
                created_at=created_at,
                events=list(events),
            )
        ]
    )
    return desk, tid


async def test_why_pane_over_a_weekend_a_holiday_and_a_pause(make_app, demo):
    """Gold (office calendar, Europe/Paris, FR holidays), P2: resolution 8h of business time.

    Thursday 2026-04-02 16:00 created; pending Friday 10:00 → Tuesday 10:00 (a weekend and Easter Monday
    inside); now Tuesday 12:00. Counted: Thu 16:00-18:00 (2h) + Fri 09:00-10:00 (1h) + Tue 10:00-12:00
    (2h) = 5h; 3h left: Tue 12:00-15:00 → due Tuesday 15:00.
    """
    _, config, _ = demo
    clock = FrozenClock(paris(2026, 4, 7, 12, 0))
    desk, tid = gold_payroll_ticket(
        demo,
        clock,
        "P2",
        paris(2026, 4, 2, 16, 0),
        NewEvent(paris(2026, 4, 2, 16, 30), "reply", "alice", public=True, body="Looking."),
        NewEvent(paris(2026, 4, 3, 10, 0), "status", "alice", to="pending"),
        NewEvent(paris(2026, 4, 7, 10, 0), "status", "alice", to="open"),
    )
    record = desk.ticket(tid)
    policy = config.policy_for(record.customer)
    res = desk.sla(record).timers["resolution"]
    ex = explain(res, policy, epoch(clock.now()))
    assert ex.counted_seconds == res.consumed == 5 * 3600 and ex.future_seconds == res.remaining == 3 * 3600
    assert ex.counted_seconds + ex.future_seconds == ex.target == 8 * 3600
    desk.store.dispose()

    app = make_app(clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tid)
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, WhyDialog)
        text = app.screen.explanation.plain
        assert "policy gold: customer 'Banque Rhône-Alpes' is configured with policy 'gold'" in text
        assert "calendar office: business hours in Europe/Paris" in text
        res_part = text[text.index("resolution —") :]
        for line in (
            "Thu 2026-04-02 16:00 → 18:00   2h00m",
            "Fri 2026-04-03 09:00 → 10:00   1h00m",
            "Tue 2026-04-07 10:00 → 12:00   2h00m",
            "= 5h00m counted",
            "Fri 2026-04-03 10:00 → Tue 2026-04-07 10:00",  # the pause
            "Mon 2026-04-06 holiday: Easter Monday",
            "Tue 2026-04-07 12:00 → 15:00   3h00m",
            "= 3h00m left",
            "5h00m counted + 3h00m left = 8h00m target → due Tue 2026-04-07 15:00",
        ):
            assert line in res_part, line
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


# -- other connections ---------------------------------------------------------------------------


async def test_conflict_reloads_asks_and_keeps_the_draft(make_app, tickets, other_desk, monkeypatch):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(app, "poll", lambda: False)  # the 1 s poll must not reload before we send
        screen = await open_detail(pilot, tickets[0])
        loaded = screen.record.version
        other_desk.update(tickets[0], Change(status="pending"))  # bob, in another process
        await pilot.press("r")
        await pilot.pause()
        await type_text(pilot, "The fix is in.")
        await pilot.press("ctrl+s")
        stale = await until(pilot, lambda: isinstance(app.screen, StaleDialog) and app.screen)
        assert "bob: status open → pending" in stale.changes[-1]
        assert screen.record.version == loaded + 1 and screen.record.status == "pending"  # reloaded under it
        await pilot.press("escape")  # cancel
        await settle(pilot)
        assert any("Reply: cancelled: nothing changed. The draft is kept." in m for m in notes(app))
        assert screen.drafts["reply"] == "The fix is in."
        assert [e.author for e in history(app, tickets[0])][-1] == "bob"
        await pilot.press("r")
        await pilot.pause()
        assert app.screen.query_one(TextArea).text == "The fix is in."
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, StaleDialog))  # the draft began before bob's change
        await pilot.press("a")  # send anyway
        await settle(pilot)
        last = history(app, tickets[0])[-1]
        assert (last.kind, last.author, last.body) == ("reply", "alice", "The fix is in.")
        assert screen.drafts["reply"] == "" and screen.draft_seen["reply"] is None


async def test_poll_reloads_when_the_version_moved(make_app, tickets, other_desk):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])
        screen.drafts["note"] = "my draft"
        other_desk.update(tickets[3], Change(assign="bruno"))
        app.poll()
        await settle(pilot)
        assert screen.record.assignee == "bruno" and screen.drafts["note"] == "my draft"
        assert screen.news == ["ticket changed by bob: assigned to bruno"]
        # said on the line above the keys (not a toast: a widget mounted, then removed, each laying the screen out)
        line = screen.query_one("#detail-news", Static)
        assert line.display and str(line.render()) == "Ticket changed by bob: assigned to bruno"
        assert not [n for n in notes(app) if n.startswith("Ticket changed")]
        other_desk.update(tickets[3], Change(status="pending"))  # the next change takes the line's place
        app.poll()
        await settle(pilot)
        assert str(line.render()).startswith("Ticket changed by bob: status ") and line.display
        assert len(screen.news) == 2
        screen._news_gone()  # (its seconds passed)
        await settle(pilot)
        assert not line.display


async def test_a_change_elsewhere_adds_its_entries_and_keeps_the_others(make_app, tickets, other_desk):
    """Issue 17: another agent's change of the ticket adds only its new entries' lines to the history (every entry
    mounted again laid the screen out anew); the history then reads, and is drawn, as a whole one made afresh, and
    the head as the ticket is now."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])
        timeline = screen.query_one(Timeline)
        before = list(timeline._lines)  # each entry's rendered lines
        other_desk.update(tickets[3], Change(assign="bruno", note="took it over"))
        app.poll()
        await settle(pilot)
        after = list(timeline._lines)
        record = screen.record
        assert record.assignee == "bruno" and timeline.shown == [e.id for e in record.events]
        assert len(after) == len(before) + 2 and all(a is b for a, b in zip(after, before, strict=False))  # two more
        kept = [(str(text), kind) for text, kind in timeline.entries]
        drawn = [line for lines in after for line in lines]
        timeline.entries = []  # a history made afresh from the same events reads, and is drawn, the same
        timeline._look = None
        await screen._show(record, screen.linked)
        await settle(pilot)
        assert [(str(text), kind) for text, kind in timeline.entries] == kept
        assert [line for lines in timeline._lines for line in lines] == drawn
        assert "bruno" in str(screen.query_one("#detail-head", Static).render())


async def test_only_a_change_of_its_ticket_or_a_linked_one_is_read(make_app, tickets, other_desk, monkeypatch):
    """Issue 17: the ticket screen reads the desk again when the feed of ticket changes names its ticket, or a
    ticket linked to it (linked now: a link names the major incident too); another ticket's change costs no
    read."""
    from tuihelp import until

    told: list[frozenset[int]] = []
    reads: list[int] = []
    tickets_changed, fetch = DetailScreen.tickets_changed, DetailScreen._read_ticket

    def spy_told(self, changed):
        told.append(changed)
        tickets_changed(self, changed)

    async def spy_fetch(self):
        reads.append(self.ticket_id)
        return await fetch(self)

    monkeypatch.setattr(DetailScreen, "tickets_changed", spy_told)
    monkeypatch.setattr(DetailScreen, "_read_ticket", spy_fetch)
    major, child, other = tickets[2], tickets[1], tickets[0]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, major)
        assert reads == [major]

        async def changed_by_bob(change, ticket: int) -> None:
            told.clear()
            reads.clear()
            change()
            app.poll()  # (the app's own 1 s poll may have told the screen already)
            await until(pilot, lambda: told, what="the screen told of the change")
            await settle(pilot)
            assert ticket in told[0]

        await changed_by_bob(lambda: other_desk.update(other, Change(assign="bruno")), other)
        assert reads == [] and screen.record.assignee != "bruno"
        await changed_by_bob(lambda: other_desk.link(child, major), child)
        assert reads == [major] and [t.id for t in screen.linked] == [child]
        assert any(f"linked tickets: +#{child}" in m for m in screen.news)  # said on the line above the keys
        await changed_by_bob(lambda: other_desk.update(child, Change(status="open")), child)
        assert reads == [major] and screen.linked[0].status == "open"
        await changed_by_bob(lambda: other_desk.update(major, Change(assign="bruno")), major)
        assert reads == [major] and screen.record.assignee == "bruno"
        await changed_by_bob(lambda: other_desk.update(other, Change(status="pending")), other)
        assert reads == []


# -- the whole history -----------------------------------------------------------------------------


async def test_history_holds_one_event_per_action_with_its_author(make_app, tickets):
    app = make_app(user="carol")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[3])
        before = len(history(app, tickets[3]))
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("r")
        await pilot.pause()
        await type_text(pilot, "hi")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert await screen.set_status("pending")
        assert await screen.resolve("fixed")
        events = history(app, tickets[3])[before:]
        assert [(e.kind, e.author) for e in events] == [
            ("assign", "carol"),
            ("reply", "carol"),
            ("status", "carol"),
            ("status", "carol"),
        ]


def test_bindings_have_ids_for_the_palette():
    ids = {b.id for b in DetailScreen.BINDINGS}
    for name in (
        "reply",
        "note",
        "status",
        "priority",
        "type",
        "claim",
        "assign",
        "link",
        "broadcast",
        "resolve",
        "close",
        "canned",
        "why",
        "back",
    ):
        assert f"detail.{name}" in ids


async def test_unknown_ticket_says_so_and_goes_back(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(200):
            await app.workers.wait_for_complete()
            await pilot.pause()
            if app.desk is not None:
                break
        await app.push_screen(DetailScreen(999999))
        await settle(pilot)
        assert not isinstance(app.screen, DetailScreen)
        assert any("no such ticket" in m for m in notes(app))


async def test_why_pane_writes_exact_durations_and_the_target_a_timer_stopped_under(make_app, demo):
    """Issue 13 item 10. Gold (office calendar, Europe/Paris): P4 first response 8h; P1 first response 30m,
    resolution 4h. Created P4 Thursday 09:00, first reply 09:35:19 (35m19s: met under P4), raised to P1 at
    10:00; now 13:50:58, resolution counted 4h50m58s of a 4h target: 50m58s over. The pane wrote
    ``0h3519s`` and ``4h5058s``, and "P1 target 8h00" for the first response (8h is the P4 target)."""
    clock = FrozenClock(paris(2026, 4, 2, 13, 50, 58))
    desk, tid = gold_payroll_ticket(
        demo,
        clock,
        "P4",
        paris(2026, 4, 2, 9, 0),
        NewEvent(paris(2026, 4, 2, 9, 35, 19), "reply", "alice", public=True, body="Looking."),
        NewEvent(paris(2026, 4, 2, 10, 0), "priority", "alice", to="P1"),
    )
    sla = desk.sla(desk.ticket(tid))
    assert sla.timers["first_response"].priority == "P4" and sla.timers["resolution"].priority == "P1"
    desk.store.dispose()

    app = make_app(clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, tid)
        await pilot.press("w")
        await pilot.pause()
        text = app.screen.explanation.plain
        first = text[text.index("first response —") : text.index("resolution —")]
        assert "stopped under P4 (target 8h00m) before the priority became P1" in first
        assert "P1 target" not in first
        assert "Thu 2026-04-02 09:00 → 09:35   35m19s" in first
        assert "with 7h24m41s to spare (35m19s of 8h00m used): met" in first
        res = text[text.index("resolution —") :]
        assert "P1 target 4h00m of counted time" in res
        assert "4h50m58s counted = 4h00m target + 50m58s over" in res
        assert "0h" not in text and "3519s" not in text


async def test_head_shows_the_problem_and_the_incident_it_causes(make_app, tickets):
    """Issue 18: a problem's head says how many incidents are linked, its root cause, workaround and open actions;
    a linked incident's head names its problem."""
    from datetime import date

    from deskterm.records import NewTicket

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, tickets[3])  # the desk is attached
        app.pop_screen()
        desk = app.desk
        problem = desk.create(
            NewTicket(
                subject="Root cause",
                customer=desk.ticket(tickets[3]).customer,
                priority="P3",
                created_at=NOW,
                type="problem",
            )
        ).id
        desk.update_problem(problem, root_cause="firmware leak", known_error=True, workaround="restart the tunnel")
        desk.link_problem(problem, [tickets[3]])
        desk.add_action(problem, "upgrade", "me", date(2026, 4, 1))
        screen = await open_detail(pilot, problem)
        head = str(screen.query_one("#detail-head").render())
        assert "1 incident linked · root cause: firmware leak · known error, workaround: restart the tunnel" in head
        assert "1 open action" in head
        app.pop_screen()
        screen = await open_detail(pilot, tickets[3])
        assert f"caused by problem #{problem}" in str(screen.query_one("#detail-head").render())


async def test_the_head_breaks_between_fields_at_80_columns(make_app, other_desk):
    """At 80 columns the classification line was wrapped by the terminal inside a field: ``resolved`` at the end
    of one line, ``(fixed)`` on the next. It breaks between fields, each line within the width."""
    ids = other_desk.import_tickets(sample_tickets(NOW))
    other_desk.update(ids[0], Change(impact=2, urgency=1))
    other_desk.store.dispose()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_detail(pilot, ids[0])
        assert await screen.resolve("fixed")
        await settle(pilot)
        head = screen.query_one("#detail-head", Static)
        lines = screen._head_text(screen.record, screen.desk.config.tz).plain.splitlines()
        assert any("resolved (fixed)" in line for line in lines), lines
        assert all(len(line) <= head.content_region.width for line in lines), lines
        assert any(line.endswith(" ·") for line in lines), lines  # the line did need breaking


async def test_the_agents_own_change_is_not_told_as_someone_elses(make_app, tickets, monkeypatch):
    """The desk's notice of a commit can reach the screen before the write's own answer: the screen then said
    "Ticket changed by <the agent>: internal note" about the note just sent. What others do
    meanwhile is still told, once the change is shown."""
    import time

    from deskterm.service import Desk

    update = Desk.update

    def answers_late(self, *args, **kwargs):
        version = update(self, *args, **kwargs)
        time.sleep(1.5)  # committed; the app's clock (every second) sees the commit before this returns
        return version

    monkeypatch.setattr(Desk, "update", answers_late)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[0])
        screen.set_draft("note", "Checked the logs")
        screen.begin_draft("note", None)
        assert await screen.send("note")
        await settle(pilot)
        await pilot.pause(1.2)  # a clock tick after the change: nothing more to tell
        await settle(pilot)
        assert any(e.body == "Checked the logs" for e in screen.record.events)
        assert not [n for n in notes(app) if n.startswith("Ticket changed")], notes(app)
        assert not screen.news, screen.news


async def test_a_customer_renamed_elsewhere_keeps_its_policy_in_a_running_app(make_app, tickets, demo):
    """README's way to rename a customer: add the new name's entry to the configuration, then `customers rename`.
    An app started before takes the customers' entries from the file when it changes: the ticket screen shows the
    renamed customer's policy (not the default one), and a change made from the app stores its deadline under it;
    a change of anything else in the file is said (a restart takes it), never taken half."""
    from sqlalchemy import select

    from deskterm.config import load_config
    from deskterm.service import Desk
    from deskterm.store.engine import open_store
    from deskterm.store.models import Ticket

    db, config, clock = demo
    path = config.source
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, tickets[0])
        head = str(screen.query_one("#detail-head").render())
        assert "Clinique Saint-Jean · policy platinum (this customer's" in head
        path.write_text(
            path.read_text(encoding="utf-8") + '\n[customers."Clinique Saint-Jean SA"]\npolicy = "platinum"\n',
            encoding="utf-8",
        )
        store = open_store(db)
        other = Desk(store, load_config(path), clock=clock, user="bob")  # `deskterm customers rename`
        other.rename_customer("Clinique Saint-Jean", "Clinique Saint-Jean SA")
        with store.read() as s:
            due = s.execute(select(Ticket.next_due).where(Ticket.id == tickets[0])).scalar_one()
        app.poll()
        await settle(pilot)
        head = str(screen.query_one("#detail-head").render())
        assert "Clinique Saint-Jean SA · policy platinum (this customer's" in head, head
        app.desk.update(tickets[0], Change(note="still on it"))  # the app's own Desk, as its screens write
        with store.read() as s:
            assert s.execute(select(Ticket.next_due).where(Ticket.id == tickets[0])).scalar_one() == due
        path.write_text(path.read_text(encoding="utf-8").replace("warn_at = 0.75", "warn_at = 0.5", 1), "utf-8")
        other.update(tickets[1], Change(note="a change, for the app to poll"))
        store.dispose()
        app.poll()
        await settle(pilot)
        assert any("changed: restart deskterm to use it" in n for n in notes(app)), notes(app)
