"""The new-ticket form (issue 15): `N` from the queue logs a call for a known caller in a few keys (customer and
contact completed), shows the SLA it will get, saves through the service and opens the ticket; `A` on a ticket
pre-fills the same caller; esc keeps a draft that the next `N` takes back; an unknown customer is refused once
with the closest names; a new contact and a direct group and impact × urgency are saved with the ticket."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static, TextArea
from tuihelp import NOW, ready, until

from deskterm.domain.customers import ContactSpec, CustomerBatch, CustomerSpec
from deskterm.tui.screens.detail import DetailScreen
from deskterm.tui.screens.new_ticket import NewTicketScreen, complete, parse_priority


@pytest.fixture
def callers(other_desk):
    other_desk.save_directory(
        CustomerBatch(
            customers=[CustomerSpec(name="Clinique Saint-Jean", vip=True, notes="Call the duty manager first")],
            contacts=[
                ContactSpec(customer="Clinique Saint-Jean", name="Claire Martin", email="claire@clinique-sj.fr"),
                ContactSpec(customer="Clinique Saint-Jean", name="Paul Girard", phone="555-0101"),
            ],
        )
    )
    other_desk.store.dispose()


def _text(screen, id: str) -> str:
    return str(screen.query_one(f"#{id}", Static).render())


async def _on(pilot, cls):
    await until(pilot, lambda: isinstance(pilot.app.screen, cls), what=cls.__name__)
    return pilot.app.screen


async def _form(pilot, key: str = "N") -> NewTicketScreen:
    await pilot.press(key)
    return await _on(pilot, NewTicketScreen)


async def test_a_known_caller_in_ten_keys_and_the_ticket_opens(make_app, callers):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        form = await _form(pilot)
        keys = ["N"]
        for key in ("c", "l", "i", "tab", "c", "l", "tab"):  # customer and contact, each completed as tab leaves it
            await pilot.press(key)
            keys.append(key)
        assert form.query_one("#nt-customer", Input).value == "Clinique Saint-Jean"
        assert form.query_one("#nt-contact", Input).value == "Claire Martin <claire@clinique-sj.fr>"
        assert "VIP" in _text(form, "nt-about") and "Call the duty manager first" in _text(form, "nt-about")
        sla = _text(form, "nt-sla")
        assert sla.startswith("SLA platinum P3 · due: first response Fri 18:00 (2h) · resolution")
        await pilot.press(*"VPN down")  # the subject: what the caller says (text, not keys to learn)
        await pilot.press("ctrl+s")
        keys.append("ctrl+s")
        assert len(keys) <= 10
        detail = await _on(pilot, DetailScreen)
        ticket = app.desk.ticket(detail.ticket_id)
        assert (ticket.subject, ticket.customer, ticket.priority) == ("VPN down", "Clinique Saint-Jean", "P3")
        assert app.desk.contact_of(ticket).name == "Claire Martin"
        assert app.drafts.get(0, "new") == ""  # saved: no draft left

        # A on the ticket: the same caller again, the subject next
        form = await _form(pilot, "A")
        assert form.query_one("#nt-customer", Input).value == "Clinique Saint-Jean"
        assert form.query_one("#nt-contact", Input).value == "Claire Martin <claire@clinique-sj.fr>"
        assert form.query_one("#nt-subject", Input).has_focus


async def test_esc_keeps_a_draft_that_n_takes_back(make_app, callers):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        form = await _form(pilot)
        form.query_one("#nt-customer", Input).value = "Clinique Saint-Jean"
        form.query_one("#nt-subject", Input).value = "Printer jams"
        form.query_one("#nt-description", TextArea).text = "Floor 2\nevery job"
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, NewTicketScreen))
        assert "new ticket" in app.unsent_drafts_text()
        form = await _form(pilot)
        assert form.query_one("#nt-subject", Input).value == "Printer jams"
        assert form.query_one("#nt-description", TextArea).text == "Floor 2\nevery job"
        assert "draft is back" in _text(form, "nt-problem")
        await pilot.press("ctrl+g")  # discarded
        await until(pilot, lambda: not isinstance(app.screen, NewTicketScreen))
        assert app.drafts.get(0, "new") == ""


async def test_unknown_customer_refused_once_new_contact_group_and_matrix(make_app, callers):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        before = len(app.desk.tickets())
        form = await _form(pilot)
        form.query_one("#nt-customer", Input).value = "Clinque Sain-Jean"  # a typo, nothing completes it
        form.query_one("#nt-subject", Input).value = "Wifi down"
        form.query_one("#nt-priority", Input).focus()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "unknown customer" in _text(form, "nt-problem"))
        assert "did you mean 'Clinique Saint-Jean'?" in _text(form, "nt-problem")
        assert "ctrl+s again creates it" in _text(form, "nt-problem")
        assert len(app.desk.tickets()) == before  # nothing written
        # the right customer, a new contact with a bad address: refused, still nothing written
        form.query_one("#nt-customer", Input).value = "Clinique Saint-Jean"
        form.query_one("#nt-contact", Input).value = "Jeanne Roy"
        form.query_one("#nt-email", Input).value = "jeanne at csj"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "is not an e-mail address" in _text(form, "nt-problem"))
        assert len(app.desk.tickets()) == before
        form.query_one("#nt-email", Input).value = "jeanne@clinique-sj.fr"
        form.query_one("#nt-phone", Input).value = "555-0199"
        form.query_one("#nt-priority", Input).value = "21"  # impact 2 × urgency 1
        form.query_one("#nt-group", Input).value = "L2-network"
        await pilot.press("ctrl+s")
        detail = await _on(pilot, DetailScreen)
        t = app.desk.ticket(detail.ticket_id)
        assert (t.priority, t.impact, t.urgency, t.group) == ("P2", 2, 1, "L2-network")
        contact = app.desk.contact_of(t)
        assert (contact.name, contact.email, contact.phone) == ("Jeanne Roy", "jeanne@clinique-sj.fr", "555-0199")


async def test_a_megabyte_description_is_stored_whole_and_shown_capped(make_app, other_desk):
    from test_detail import open_detail

    from deskterm.records import NewTicket
    from deskterm.tui.widgets.timeline import Timeline

    big = "log line\n" * 120_000  # ~1 MB pasted into the description
    tid = other_desk.create(
        NewTicket(subject="Crash log", customer="Atelier Moreau", priority="P3", created_at=NOW, description=big)
    ).id
    other_desk.store.dispose()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await open_detail(pilot, tid)
        shown = str(app.screen.query_one(Timeline).entries[0][0])
        assert "1,060,000 more characters (deskterm show ID --json prints them all)" in shown
        assert len(shown) < 25_000
        assert app.desk.ticket(tid).description == big


def test_completion_and_priority_rules():
    names = ["Banque Rhône-Alpes", "Clinique Saint-Jean"]
    assert complete("cli", names) == "Clinique Saint-Jean"
    assert complete("banque rho", names) == "Banque Rhône-Alpes"
    assert complete("saint", names) == "Clinique Saint-Jean"
    assert complete("zz", names) is None
    assert parse_priority("") == ("P3", None, None)
    assert parse_priority("p1") == ("P1", None, None)
    assert parse_priority("2x1") == ("P2", 2, 1)
    with pytest.raises(ValueError):
        parse_priority("P9")


__all__ = ["NOW"]


async def test_customer_panel_on_a_ticket_lists_its_other_tickets_and_opens_one(make_app, other_desk):
    from test_detail import open_detail

    from deskterm.records import NewTicket
    from deskterm.service import Change
    from deskterm.tui.screens.customer_panel import CustomerPanel

    other_desk.save_directory(
        CustomerBatch(
            customers=[CustomerSpec(name="Fromagerie Lenoir", vip=True, notes="Only the owner approves costs")],
            contacts=[
                ContactSpec(customer="Fromagerie Lenoir", name="Luc Moreau", email="luc@moreau.example", role="Owner"),
                ContactSpec(customer="Fromagerie Lenoir", name="Inès Moreau", phone="06 12"),
            ],
        )
    )

    def new(subject: str, contact: str | None = None) -> int:
        t = NewTicket(subject=subject, customer="Fromagerie Lenoir", priority="P3", created_at=NOW, contact=contact)
        return other_desk.create(t).id

    here = new("Till offline", "luc@moreau.example")
    other = new("Printer \x1b[31mred")  # a hostile subject: shown inert
    done = new("Wifi slow")
    other_desk.update(done, Change(status="resolved"))
    other_desk.store.dispose()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await open_detail(pilot, here)
        await pilot.press("i")
        panel = await _on(pilot, CustomerPanel)
        head = str(panel.query_one("#panel-head").render())
        about = str(panel.query_one("#panel-about", Static).render())
        assert "Fromagerie Lenoir" in head and "VIP" in head
        assert "Only the owner approves costs" in about
        assert "Caller: Luc Moreau · luc@moreau.example · Owner" in about and "Inès Moreau (06 12)" in about
        listed = [str(o.prompt) for o in panel.query_one("#panel-tickets").options]
        assert listed[0] == "Open tickets (1)" and f"#{other}" in listed[1] and "\x1b" not in listed[1]
        assert listed[2] == "Last resolved (1)" and f"#{done}" in listed[3]
        await pilot.press("enter")  # the first ticket listed: the other open one
        detail = await _on(pilot, DetailScreen)
        assert detail.ticket_id == other


async def test_f2_fills_the_caller_of_the_ticket_and_the_panel_closes_with_i_or_esc(make_app, other_desk):
    from test_detail import open_detail

    from deskterm.records import NewTicket
    from deskterm.tui.screens.customer_panel import CustomerPanel

    other_desk.save_directory(
        CustomerBatch(
            customers=[CustomerSpec(name="Fromagerie Lenoir")],
            contacts=[ContactSpec(customer="Fromagerie Lenoir", name="Luc Moreau", email="luc@moreau.example")],
        )
    )
    t = NewTicket(
        subject="Till offline",
        customer="Fromagerie Lenoir",
        priority="P3",
        created_at=NOW,
        contact="luc@moreau.example",
    )
    here = other_desk.create(t).id
    other_desk.store.dispose()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await open_detail(pilot, here)
        # the customer panel: i opens it, i closes it; esc closes it too
        for close in ("i", "escape"):
            await pilot.press("i")
            await _on(pilot, CustomerPanel)
            await pilot.press(close)
            await _on(pilot, DetailScreen)
        # N from the ticket, then f2: the same caller as the ticket, the cursor on the subject
        form = await _form(pilot)
        assert form.query_one("#nt-customer", Input).value == ""
        await pilot.press("f2")
        await until(pilot, lambda: form.query_one("#nt-customer", Input).value == "Fromagerie Lenoir", what="f2")
        assert form.query_one("#nt-contact", Input).value == "Luc Moreau <luc@moreau.example>"
        assert app.focused is form.query_one("#nt-subject", Input)
