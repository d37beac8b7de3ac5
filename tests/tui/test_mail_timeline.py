"""The ticket screen shows how each reply's mail stands (queued, sent, failed with the server's reason) and
R queues a failed one again (issue 16)."""

from __future__ import annotations

from sqlalchemy import insert, update
from test_detail import notes, open_detail, type_text
from tuihelp import SIZE, settle

from deskterm.config import load_config
from deskterm.mail.deliver import deliver
from deskterm.records import NewTicket
from deskterm.service import Change, Desk
from deskterm.store.engine import open_store
from deskterm.store.models import InboundMail, OutboxMail
from deskterm.tui.widgets.timeline import Timeline

MAIL = """
[mail]
from = "Service desk <desk@desk.example>"
[mail.smtp]
host = "127.0.0.1"
port = 2525
security = "none"
"""


def _mailed_ticket(demo, port: int, subject: str, message_id: str):
    """The demo desk with mail to an SMTP server on ``port``, and a ticket that came by mail (``message_id``, from
    joe@acme.example) with the agent's reply "On it" queued: (config, store, desk, ticket)."""
    db, _, clock = demo
    path = db.parent / "deskterm.toml"
    path.write_text(path.read_text(encoding="utf-8") + MAIL.replace("2525", str(port)), encoding="utf-8")
    config = load_config(path)
    store = open_store(db)
    desk = Desk(store, config, clock=clock, user="bob")
    t = desk.create(NewTicket(subject=subject, customer="ACME", priority="P2", created_at=clock.now()))
    desk.store.write(
        lambda s: s.execute(
            insert(InboundMail).values(
                message_id=message_id,
                ticket_id=t.id,
                state="ticket",
                from_addr="joe@acme.example",
                source="test",
                taken_at=clock.now(),
            )
        )
    )
    desk.update(t.id, Change(reply="On it"))
    return config, store, desk, t


async def test_failed_mail_is_shown_and_R_queues_it_again(demo, make_app):
    config, store, desk, t = _mailed_ticket(demo, 2525, "Printer \x1b[31mdown", "<m1@acme.example>")
    desk.store.write(
        lambda s: s.execute(update(OutboxMail).values(state="failed", last_error="550 5.1.1 \x1b[2Jno such user"))
    )
    store.dispose()

    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, t.id)
        text = "\n".join(str(text) for text, _ in screen.query_one(Timeline).entries)
        assert (
            "✉ mail failed: 550 5.1.1 \\x1b[2Jno such user (R retries)" in text
        )  # inert: no escape reaches the screen
        await pilot.press("R")
        await settle(pilot)
        assert any("1 message queued again" in n for n in notes(app))
        text = "\n".join(str(text) for text, _ in screen.query_one(Timeline).entries)
        assert "✉ mail queued, attempt" in text
        await pilot.press("R")  # nothing failed any more: said, nothing changed
        await settle(pilot)
        assert any("no failed message" in n for n in notes(app))


class _Sink:
    """A real SMTP server's handler (aiosmtpd): takes every message, or refuses every recipient."""

    def __init__(self) -> None:
        self.taken: list[bytes] = []
        self.refuse = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.taken.append(envelope.content)
        return "250 OK"


async def test_an_open_ticket_screen_shows_its_mail_sent_or_failed_by_the_sender(demo, make_app, unused_tcp_port):
    """`deskterm mail send` (another process) sends or fails a reply's mail while its ticket is open on a screen:
    the timeline shows it at once (the sender names the ticket in the feed of changes; the ticket's version does
    not move), not only when the screen is opened again."""
    from aiosmtpd.controller import Controller

    config, store, desk, t = _mailed_ticket(demo, unused_tcp_port, "Printer down", "<m2@acme.example>")
    desk.update(t.id, Change(reply="Fixed?"))
    sink = _Sink()
    server = Controller(sink, hostname="127.0.0.1", port=unused_tcp_port)
    server.start()
    try:
        app = make_app(config=config)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_detail(pilot, t.id)

            def timeline() -> str:
                return "\n".join(str(text) for text, _ in screen.query_one(Timeline).entries)

            assert timeline().count("✉ mail queued to joe@acme.example") == 2
            version = screen.record.version
            assert deliver(desk, limit=1).sent == 1  # the sender, in its own connection
            app.poll()
            await settle(pilot)
            assert "✉ mail sent to joe@acme.example <deskterm." in timeline()
            assert timeline().count("✉ mail queued to joe@acme.example") == 1
            sink.refuse = True
            assert deliver(desk).failed == 1
            app.poll()
            await settle(pilot)
            assert "✉ mail failed: 550 5.1.1 no such user (R retries)" in timeline()
            assert screen.record.version == version  # nothing of the ticket changed: no "ticket changed" said
            assert not any("Ticket changed" in n for n in notes(app)) and not screen.news
    finally:
        server.stop()
        store.dispose()


async def test_a_reply_says_its_mail_is_queued_not_sent(demo, make_app):
    """The toast after a reply says what happened: its mail queued for the sender (`deskterm mail send`), or,
    on a ticket with no customer address, recorded and not mailed. Never "sent": nothing has left yet."""
    config, store, desk, t = _mailed_ticket(demo, 2525, "Printer down", "<m3@acme.example>")
    phoned = desk.create(NewTicket(subject="By phone", customer="ACME", priority="P3", created_at=desk.clock.now()))
    store.dispose()
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        for ticket, said in ((t.id, "its mail to the customer is queued"), (phoned.id, "not mailed: the ticket")):
            await open_detail(pilot, ticket)
            await pilot.press("r")
            await pilot.pause()
            await type_text(pilot, "Looking into it")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert any(said in n for n in notes(app)), notes(app)
            await pilot.press("escape")
            await settle(pilot)
        assert not any("sent to the customer" in n for n in notes(app))
