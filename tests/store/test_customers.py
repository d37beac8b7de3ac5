"""Customers and contacts as records (issue 15): created, updated, looked up by name (case and accents aside),
by e-mail and by e-mail domain; imported beside tickets; a ticket's contact. Both engines, through the service."""

from __future__ import annotations

import pytest

from deskterm.domain.customers import ContactSpec, CustomerBatch, CustomerSpec, first_name
from deskterm.errors import BadInput
from deskterm.importer import parse_directory, parse_import
from deskterm.service import Desk, NewTicket
from deskterm_testing import db_counts

pytestmark = pytest.mark.engines("sqlite", "postgresql")


def _directory(desk: Desk) -> None:
    desk.save_directory(
        CustomerBatch(
            customers=[
                CustomerSpec(
                    name="Clinique Saint-Jean",
                    vip=True,
                    notes="Call before restarting anything",
                    domains=("clinique-sj.fr", "@CSJ.example"),
                    policy="gold",
                ),
                CustomerSpec(name="Banque Rhône-Alpes"),
            ],
            contacts=[
                ContactSpec(customer="clinique saint-jean", name="Claire Martin", email="Claire.Martin@Clinique-SJ.fr"),
                ContactSpec(customer="Clinique Saint-Jean", name="Paul Girard", phone="+33 4 72 00 00 00", role="IT"),
                ContactSpec(customer="BANQUE RHONE-ALPES", name="Ana Lopes", email="ana@bra.example"),
            ],
        )
    )


def test_customers_and_contacts_are_created_and_looked_up(desk):
    _directory(desk)
    found = desk.customers()
    assert [c.name for c in found] == ["Banque Rhône-Alpes", "Clinique Saint-Jean"]
    csj = desk.find_customer("CLINIQUE   saint-jean")  # case and spaces aside
    assert csj is not None and csj.vip and csj.notes == "Call before restarting anything"
    assert csj.domains == ("clinique-sj.fr", "csj.example") and csj.policy == "gold"
    assert [p.name for p in csj.contacts] == ["Claire Martin", "Paul Girard"]
    assert desk.find_customer("banque rhone-alpes").name == "Banque Rhône-Alpes"  # accents aside
    assert desk.find_customer("Banque") is None
    contact = desk.contact_by_email("CLAIRE.MARTIN@clinique-sj.FR")
    assert contact is not None and contact.customer == "Clinique Saint-Jean"
    assert contact.email == "Claire.Martin@clinique-sj.fr"  # the domain normalized, the local part kept
    assert desk.customer_by_domain("someone.else@csj.example").name == "Clinique Saint-Jean"
    assert desk.customer_by_domain("nobody@elsewhere.example") is None
    assert desk.policy_name("Clinique Saint-Jean") == "gold"


def test_saving_again_updates_in_place(desk):
    _directory(desk)
    created, updated = desk.save_directory(
        CustomerBatch(
            customers=[CustomerSpec(name="clinique saint-jean", vip=False)],
            contacts=[
                ContactSpec(
                    customer="Clinique Saint-Jean", name="Claire Martin-Roux", email="claire.martin@clinique-sj.fr"
                )
            ],
        )
    )
    assert (created, updated) == (0, 2)
    csj = desk.customer("Clinique Saint-Jean")
    assert not csj.vip and csj.notes == "Call before restarting anything"  # what was not given is kept
    assert [p.name for p in csj.contacts] == ["Claire Martin-Roux", "Paul Girard"]


@pytest.mark.parametrize(
    ("directory", "message"),
    [
        (
            lambda: CustomerBatch(
                customers=[CustomerSpec(name="Acme", where="f:1"), CustomerSpec(name="ACMÉ", where="f:2")]
            ),
            "f:2: name: 'ACMÉ' is the same customer as 'Acme'",
        ),
        (
            lambda: CustomerBatch(contacts=[ContactSpec(customer="Acme", name="Bob", email="bob@", where="f:3")]),
            "f:3: email: 'bob@' is not an e-mail address",
        ),
        (
            lambda: CustomerBatch(customers=[CustomerSpec(name="Acme", policy="platinum", where="f:1")]),
            "f:1: policy: 'platinum'",
        ),
        (
            lambda: CustomerBatch(customers=[CustomerSpec(name="Acme", domains=("not a domain",), where="f:1")]),
            "f:1: domains",
        ),
        (lambda: CustomerBatch(customers=[CustomerSpec(name="  ", where="f:1")]), "f:1: name: empty"),
    ],
)
def test_bad_records_write_nothing(desk, db_url, directory, message):
    before = db_counts(db_url, ("customers", "contacts", "customer_domains"))
    with pytest.raises(BadInput) as refused:
        desk.save_directory(directory())
    assert message in str(refused.value)
    assert db_counts(db_url, ("customers", "contacts", "customer_domains")) == before


def test_an_address_or_domain_of_another_customer_is_refused(desk, db_url):
    _directory(desk)
    before = db_counts(db_url, ("customers", "contacts", "customer_domains"))
    with pytest.raises(BadInput, match="already 'Ana Lopes''s, a contact of 'Banque Rhône-Alpes'"):
        desk.save_directory(
            CustomerBatch(
                customers=[CustomerSpec(name="Newco")],
                contacts=[ContactSpec(customer="Clinique Saint-Jean", name="Ana", email="ANA@bra.example")],
            )
        )
    with pytest.raises(BadInput, match="'csj.example' is already 'Clinique Saint-Jean''s"):
        desk.save_directory(CustomerBatch(customers=[CustomerSpec(name="Newco", domains=("csj.example",))]))
    assert db_counts(db_url, ("customers", "contacts", "customer_domains")) == before


def test_a_ticket_names_its_customer_folded_and_its_contact(desk):
    _directory(desk)
    t = desk.create(
        NewTicket(
            subject="VPN down",
            customer="clinique saint jean".replace(" jean", "-jean"),
            priority="P2",
            created_at=desk.clock.now(),
            contact="claire.martin@clinique-sj.fr",
        ),
        new_customer=False,
    )
    assert t.customer == "Clinique Saint-Jean" and len(desk.customers()) == 2
    contact = desk.contact_of(t)
    assert contact is not None and contact.name == "Claire Martin"
    # by name, within the customer
    t2 = desk.create(
        NewTicket(
            subject="Printer",
            customer="Clinique Saint-Jean",
            priority="P4",
            created_at=desk.clock.now(),
            contact="paul girard",
        )
    )
    assert desk.contact_of(t2).name == "Paul Girard"
    assert [x.id for x in desk.customer_tickets(desk.customer("Clinique Saint-Jean").id, ["new"])] == [t2.id, t.id]


def test_new_refuses_an_unknown_customer_and_a_contact_of_another(desk, db_url):
    _directory(desk)
    before = db_counts(db_url, ("tickets", "customers", "contacts"))
    now = desk.clock.now()
    with pytest.raises(BadInput) as refused:
        desk.create(
            NewTicket(subject="x", customer="Clinque Saint-Jean", priority="P3", created_at=now), new_customer=False
        )
    assert str(refused.value) == (
        "--customer: unknown customer 'Clinque Saint-Jean' (did you mean 'Clinique Saint-Jean'?);"
        " add --new-customer to create it"
    )
    with pytest.raises(BadInput, match="'ana@bra.example' is not a contact of 'Clinique Saint-Jean'"):
        desk.create(
            NewTicket(
                subject="x", customer="Clinique Saint-Jean", priority="P3", created_at=now, contact="ana@bra.example"
            )
        )
    assert db_counts(db_url, ("tickets", "customers", "contacts")) == before
    # a new caller of a new customer, created with the ticket
    t = desk.create(
        NewTicket(subject="x", customer="Hudson Freight", priority="P3", created_at=now),
        new_customer=True,
        new_contact=ContactSpec(customer="", name="Dana Scott", email="dana@hudson.example", phone="555-0100"),
    )
    assert desk.contact_of(t).email == "dana@hudson.example"
    assert desk.customer("hudson freight").contacts[0].phone == "555-0100"


def test_import_records_customers_and_contacts_beside_tickets(desk):
    text = "\n".join(
        [
            '{"record": "customer", "name": "Atelier Moreau", "vip": true, "domains": ["moreau.example"],'
            ' "contacts": [{"name": "Luc Moreau", "email": "luc@moreau.example", "role": "owner"}]}',
            '{"record": "contact", "customer": "atelier moreau", "name": "Inès", "phone": "06 00 00 00 00"}',
            '{"subject": "Till offline", "customer": "ATELIER MOREAU", "priority": "P2",'
            ' "created_at": "2026-03-27T10:00:00+01:00", "contact": "luc@moreau.example"}',
        ]
    )
    tickets, directory = parse_import(text, "f.jsonl", importer="bob")
    ids = desk.import_tickets(tickets, directory)
    t = desk.ticket(ids[0])
    assert t.customer == "Atelier Moreau" and desk.contact_of(t).name == "Luc Moreau"
    moreau = desk.customer("Atelier Moreau")
    assert moreau.vip and [p.name for p in moreau.contacts] == ["Inès", "Luc Moreau"]


def test_customer_csv_and_json_files(desk):
    csv_text = (
        "name,vip,policy,domains,contact,email,phone,role\n"
        "Mairie de Villeurbanne,yes,gold,mairie.example,Sophie Bernard,sophie@mairie.example,,DSI\n"
        "Mairie de Villeurbanne,,,,Hugo Petit,,04 78 00 00 00,\n"
    )
    desk.save_directory(parse_directory(csv_text, "c.csv"))
    mairie = desk.customer("mairie de villeurbanne")
    assert mairie.vip and mairie.domains == ("mairie.example",)
    assert [(p.name, p.email, p.phone) for p in mairie.contacts] == [
        ("Hugo Petit", None, "04 78 00 00 00"),
        ("Sophie Bernard", "sophie@mairie.example", None),
    ]
    desk.save_directory(parse_directory('[{"name": "Transports Guillaume", "notes": "Night shift"}]', "c.json"))
    assert desk.customer("Transports Guillaume").notes == "Night shift"
    with pytest.raises(BadInput, match=r"c2.csv:3: name: 'ACME' is the same customer as 'Acme'"):
        desk.save_directory(parse_directory("name\nAcme\nACME\n", "c2.csv"))
    with pytest.raises(BadInput, match="c3.csv:2: vip: 'maybe' is not yes or no"):
        parse_directory("name,vip\nAcme,maybe\n", "c3.csv")


def test_first_name_for_greetings():
    assert first_name("Claire Martin") == "Claire"
    assert first_name("Martin, Claire") == "Claire"
    assert first_name("  Inès  ") == "Inès"


def test_an_old_desk_keeps_its_customers_by_name(empty_db, example_config, frozen_clock):
    """A desk from before customer records (0013): each distinct name becomes a record with its folded key; two
    names that fold alike stay two customers, each reachable by its exact name."""
    from sqlalchemy import text

    from deskterm.store import migrate
    from deskterm.store.engine import open_store

    store = open_store(empty_db, migrate=False)
    migrate.upgrade_to(store, "0013")
    with store.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO customers (id, name) VALUES (1, 'Acme'), (2, 'ACMÉ'), (3, 'Clinique Saint-Jean')")
        )
    store.dispose()
    store = open_store(empty_db)
    try:
        desk = Desk(store, example_config, clock=frozen_clock, user="bob")
        assert [c.name for c in desk.customers()] == ["Acme", "ACMÉ", "Clinique Saint-Jean"]
        assert desk.find_customer("acme").id == 1 and desk.find_customer("ACMÉ").id == 2
        assert desk.find_customer("clinique saint-jean").id == 3
        t = desk.create(NewTicket(subject="x", customer="ACMÉ", priority="P3", created_at=frozen_clock.now()))
        assert t.customer == "ACMÉ"
        if store.is_sqlite:  # the tickets table was altered in place: the full-text index's triggers are kept
            with store.engine.connect() as conn:
                triggers = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars()
                assert {"ticket_fts_ai", "ticket_fts_ad", "ticket_fts_au"} <= set(triggers)
    finally:
        store.dispose()
