"""Issue 16, "Done when", end to end on real servers and on both engines: a customer's mail (IMAP, Dovecot)
becomes a ticket; the agent's reply typed in the app arrives at the SMTP server (aiosmtpd) with the threading
headers; the customer's answer lands on the same ticket and resumes its SLA; the resolution notice's survey is
answered by mail, and the CSAT, NPS and CES show in `deskterm report` and on the dashboard."""

from __future__ import annotations

import json

import pytest
from textual.widgets import TextArea

from deskterm.mail.deliver import deliver
from deskterm.mail.fetch import fetch_imap
from deskterm.service import Change
from deskterm_testing import run_cli

pytestmark = pytest.mark.engines("sqlite", "postgresql")


async def settle(pilot, app) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def mail(subject: str, body: str, msgid: str, in_reply_to: str | None = None, refs: str = "") -> bytes:
    head = f"From: Marie Curie <marie@clinique.example>\r\nTo: desk@desk.example\r\nSubject: {subject}\r\n"
    head += f"Message-ID: {msgid}\r\nDate: Fri, 27 Mar 2026 15:00:00 +0000\r\n"
    if in_reply_to:
        head += f"In-Reply-To: {in_reply_to}\r\nReferences: {refs or in_reply_to}\r\n"
    return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n").encode()


async def test_customer_mail_reply_answer_and_survey_end_to_end(db_url, make_mail_config, imap, smtp, frozen_clock):
    from deskterm.service import Desk
    from deskterm.store.engine import open_store
    from deskterm.tui.app import DeskApp
    from deskterm.tui.screens.dashboard import DashboardScreen
    from deskterm.tui.screens.detail import DetailScreen

    config = make_mail_config(
        'resolution_notice = "Your ticket {ticket} is resolved."\nsurvey = ["csat", "nps", "ces"]', more=imap.config()
    )
    store = open_store(db_url)
    desk = Desk(store, config, clock=frozen_clock, user="alice")

    # 1. the customer writes in: a ticket
    imap.append(mail("Printer down on floor 2", "It shows error 42.", "<c1@clinique.example>"))
    assert fetch_imap(desk, config.mail.imap) == {"ticket": 1}
    [ticket] = desk.tickets()
    assert ticket.subject == "Printer down on floor 2" and ticket.description == "It shows error 42."

    # 2. the agent replies from the app
    app = DeskApp(db=db_url, config=config, clock=frozen_clock, user="alice")
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            await settle(pilot, app)
            if app.desk is not None:
                break
        await app.push_screen(DetailScreen(ticket.id))
        await settle(pilot, app)
        await pilot.press("r")
        await pilot.pause()
        focused = app.focused
        assert isinstance(focused, TextArea)
        focused.insert("Which printer model is it?")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
    desk.update(ticket.id, Change(status="pending"))
    assert desk.sla(desk.ticket(ticket.id)).timers["resolution"].state == "paused"

    assert deliver(desk).sent == 1
    [reply] = smtp.messages
    assert reply["Subject"] == f"Re: [#{ticket.id}] Printer down on floor 2"
    assert reply["In-Reply-To"] == "<c1@clinique.example>" and "<c1@clinique.example>" in reply["References"]
    assert reply["To"] == "marie@clinique.example" and reply.get_content().strip() == "Which printer model is it?"

    # 3. the customer answers: the same ticket, back to open, the SLA running again
    frozen_clock.advance(600)
    imap.append(mail(f"Re: [#{ticket.id}] Printer down", "An HP 4250.", "<c2@clinique.example>", reply["Message-ID"]))
    assert fetch_imap(desk, config.mail.imap) == {"added": 1}
    t = desk.ticket(ticket.id)
    assert t.status == "open" and [e.body for e in t.events if e.kind == "reply"][-1] == "An HP 4250."
    assert desk.sla(t).timers["resolution"].state == "running"

    # 4. resolved: the notice asks the survey; the customer answers it by mail
    desk.update(ticket.id, Change(status="resolved", resolution_code="fixed", reply="Replaced the fuser."))
    assert deliver(desk).sent == 2
    notice = smtp.messages[-1]
    text = notice.get_content()
    assert f"Your ticket #{ticket.id} is resolved." in text and "1 (very unhappy) to 5 (very happy)" in text
    assert notice["Auto-Submitted"] == "auto-replied"
    frozen_clock.advance(600)
    imap.append(
        mail(
            f"Re: [#{ticket.id}] Printer down",
            "4 9 6 quick and friendly\r\n\r\n> Your ticket was resolved",
            "<c3@clinique.example>",
            notice["Message-ID"],
        )
    )
    assert fetch_imap(desk, config.mail.imap) == {"survey": 1}
    t = desk.ticket(ticket.id)
    assert t.status == "resolved"  # an answer to the survey does not reopen
    assert {e.kind: e.to for e in t.events if e.kind in ("csat", "nps", "ces")} == {"csat": "4", "nps": "9", "ces": "6"}
    store.dispose()

    # 5. the measures in the report and on the dashboard
    r = run_cli(
        "--db", db_url, "--config", str(config.source), "report", "--format", "json",
        "--since", "2026-03-27T00:00:00Z", "--until", "2026-03-28T00:00:00Z",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    total = json.loads(r.stdout)["total"]
    assert (total["csat_mean"], total["nps"], total["ces_mean"]) == (4, 100, 6)
    assert (total["csat_responses"], total["nps_responses"], total["ces_responses"]) == (1, 1, 1)
    app = DeskApp(db=db_url, config=config, clock=frozen_clock, user="alice")
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            await settle(pilot, app)
            if app.desk is not None:
                break
        screen = DashboardScreen()
        await app.push_screen(screen)
        for _ in range(100):
            await settle(pilot, app)
            if screen.loaded:
                break
        figures = str(screen.query_one("#dash-figures").render())
        assert "4.00 (1)" in figures and "+100 (1)" in figures and "6.00 (1)" in figures
