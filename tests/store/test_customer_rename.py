"""Customers and contacts renamed, merged and deleted (issue 15), through the service, on both engines: the
tickets keep their customer (each records the change in its history under a new version, its deadlines derived
again), a rename that would change the SLA policy is refused, a customer or contact that tickets refer to is not
deleted, and nothing is written when a change is refused."""

from __future__ import annotations

from datetime import date

import pytest

from deskterm.config import load_config
from deskterm.domain import billing as billing_rules
from deskterm.domain.customers import ContactSpec, CustomerBatch, CustomerSpec
from deskterm.errors import BadInput, Conflict, Refused
from deskterm.service import Change, Desk, NewTicket
from deskterm.store.engine import open_store
from deskterm_testing import db_counts

pytestmark = pytest.mark.engines("sqlite", "postgresql")

TABLES = ("tickets", "events", "customers", "contacts", "customer_domains", "contracts")

# gold for the clinic, bronze (slower targets) for everyone else
CONFIG = """
[calendars.always]
always = true
[policies.gold]
calendar = "always"
P1 = { first_response = "15m", resolution = "4h" }
P2 = { first_response = "30m", resolution = "8h" }
P3 = { first_response = "2h",  resolution = "3d" }
P4 = { first_response = "8h",  resolution = "10d" }
[policies.bronze]
calendar = "always"
P1 = { first_response = "1h", resolution = "8h" }
P2 = { first_response = "2h", resolution = "1d" }
P3 = { first_response = "8h",  resolution = "5d" }
P4 = { first_response = "1d",  resolution = "20d" }
[customers."Clinique Saint-Jean"]
policy = "gold"
[defaults]
policy = "bronze"
[[routing]]
name = "the workshop"
customer = "atelier moreau"
group = "L1"
"""


@pytest.fixture
def two_policies(db_url, tmp_path, frozen_clock):
    (tmp_path / "deskterm.toml").write_text(CONFIG, encoding="utf-8")
    store = open_store(db_url)
    desk = Desk(store, load_config(tmp_path / "deskterm.toml"), clock=frozen_clock, user="alice")
    desk.save_directory(
        CustomerBatch(
            customers=[
                CustomerSpec(name="Clinique Saint-Jean", notes="Call before restarting anything"),
                CustomerSpec(name="Atelier Moreau", vip=True, notes="Closed on Mondays", domains=("moreau.example",)),
            ],
            contacts=[
                ContactSpec(customer="Clinique Saint-Jean", name="Claire Martin", email="claire@clinique-sj.fr"),
                ContactSpec(customer="Atelier Moreau", name="Luc Moreau", email="luc@moreau.example"),
                ContactSpec(customer="Atelier Moreau", name="Nina Petit"),
            ],
        )
    )
    yield desk
    store.dispose()


def _ticket(desk: Desk, customer: str, contact: str | None = None, subject: str = "VPN down") -> int:
    new = NewTicket(subject=subject, customer=customer, priority="P2", created_at=desk.clock.now(), contact=contact)
    return desk.create(new, new_customer=False).id


def test_a_rename_keeps_the_tickets_and_each_records_it(two_policies):
    desk = two_policies
    ids = [_ticket(desk, "Atelier Moreau", "luc@moreau.example"), _ticket(desk, "Atelier Moreau", subject="Till")]
    before = {i: desk.ticket(i) for i in ids}
    done = desk.rename_customer("atelier moreau", "Atelier Moreau & Fils")
    assert (done.old, done.new, done.tickets, done.merged, done.policy) == (
        "Atelier Moreau",
        "Atelier Moreau & Fils",
        2,
        False,
        "bronze",
    )
    assert done.mentions == ("routing rule 'the workshop'",)  # the command warns: the rule names the old name
    assert desk.find_customer("Atelier Moreau") is None
    renamed = desk.customer("ATELIER MOREAU & FILS")
    assert renamed.vip and renamed.notes == "Closed on Mondays" and renamed.domains == ("moreau.example",)
    assert [p.name for p in renamed.contacts] == ["Luc Moreau", "Nina Petit"]
    for i in ids:
        t = desk.ticket(i)
        assert t.customer == "Atelier Moreau & Fils" and t.version == before[i].version + 1
        assert t.next_due == before[i].next_due  # same policy: the same deadlines
        last = t.events[-1]
        assert (last.kind, last.author, last.from_value, last.to, last.reason) == (
            "customer",
            "alice",
            "Atelier Moreau",
            "Atelier Moreau & Fils",
            "renamed",
        )
    assert desk.contact_of(desk.ticket(ids[0])).name == "Luc Moreau"
    # the version check: a change made on the version read before the rename is refused
    with pytest.raises(Conflict):
        desk.update(ids[0], Change(note="seen"), expect_version=before[ids[0]].version)
    # a respelling of the same customer is a rename too
    assert desk.rename_customer("Atelier Moreau & Fils", "ATELIER MOREAU & FILS").tickets == 2
    assert [c.name for c in desk.customers()] == ["ATELIER MOREAU & FILS", "Clinique Saint-Jean"]


def test_refused_renames_write_nothing(two_policies, db_url):
    desk = two_policies
    _ticket(desk, "Clinique Saint-Jean")
    _ticket(desk, "Atelier Moreau")
    before = db_counts(db_url, TABLES)
    # the configuration gives the clinic gold by its name: the new name would get bronze
    with pytest.raises(Refused, match=r"gives 'Clinique Saint-Jean' the policy 'gold' and would give 'CSJ' 'bronze'"):
        desk.rename_customer("Clinique Saint-Jean", "CSJ")
    with pytest.raises(Refused, match=r"'Clinique Saint-Jean' is already a customer; add --merge to move the 1 ticket"):
        desk.rename_customer("Atelier Moreau", "clinique saint-jean")
    with pytest.raises(Refused, match="already the customer's name"):
        desk.rename_customer("Atelier Moreau", "Atelier  Moreau")
    with pytest.raises(BadInput, match=r"^OLD: unknown customer 'Atelier Moro' \(did you mean 'Atelier Moreau'\?\)"):
        desk.rename_customer("Atelier Moro", "X")
    with pytest.raises(BadInput, match="^NEW: empty name"):
        desk.rename_customer("Atelier Moreau", "   ")
    with pytest.raises(BadInput, match="^NEW: longer than 200"):
        desk.rename_customer("Atelier Moreau", "x" * 201)
    with pytest.raises(BadInput, match="^NEW: not valid Unicode"):
        desk.rename_customer("Atelier Moreau", "Atelier \ud800")
    assert db_counts(db_url, TABLES) == before


def test_a_merge_moves_tickets_contacts_and_domains_and_derives_the_new_policy(two_policies, db_url):
    desk = two_policies
    moved = _ticket(desk, "Atelier Moreau", "Nina Petit")
    kept = _ticket(desk, "Clinique Saint-Jean", "claire@clinique-sj.fr")
    bronze_due = desk.ticket(moved).next_due
    done = desk.rename_customer("Atelier Moreau", "Clinique Saint-Jean", merge=True)
    assert (done.new, done.tickets, done.merged, done.policy) == ("Clinique Saint-Jean", 1, True, "gold")
    assert done.mentions == ("routing rule 'the workshop'",)
    t = desk.ticket(moved)
    assert t.customer == "Clinique Saint-Jean" and t.version == 2
    assert t.events[-1].kind == "customer" and t.events[-1].reason == "merged into Clinique Saint-Jean"
    # now a gold ticket: its first response is due 30 minutes after creation, no longer 2 hours
    assert bronze_due is not None and t.next_due is not None
    assert (t.next_due - t.created_at).total_seconds() == 30 * 60 < (bronze_due - t.created_at).total_seconds()
    assert desk.contact_of(t).name == "Nina Petit"
    assert desk.ticket(kept).version == 1  # the target's own tickets are not touched
    assert desk.find_customer("Atelier Moreau") is None
    csj = desk.customer("Clinique Saint-Jean")
    assert csj.vip and csj.domains == ("moreau.example",)  # VIP if either was
    assert csj.notes == "Call before restarting anything\nClosed on Mondays"
    assert [p.name for p in csj.contacts] == ["Claire Martin", "Luc Moreau", "Nina Petit"]
    assert desk.customer_by_domain("someone@moreau.example").name == "Clinique Saint-Jean"
    assert db_counts(db_url, ("customers",)) == {"customers": 1}


def test_a_merge_of_two_customers_with_contracts_is_refused(two_policies, db_url):
    desk = two_policies
    for customer in ("Atelier Moreau", "Clinique Saint-Jean"):
        desk.add_contract(billing_rules.Contract(customer=customer, name="Support", start=date(2026, 1, 1)))
    before = db_counts(db_url, TABLES)
    with pytest.raises(Refused, match="both have contracts"):
        desk.rename_customer("Atelier Moreau", "Clinique Saint-Jean", merge=True)
    assert db_counts(db_url, TABLES) == before


def test_a_customer_is_deleted_only_without_tickets_or_contracts(two_policies, db_url):
    desk = two_policies
    _ticket(desk, "Clinique Saint-Jean")
    _ticket(desk, "Clinique Saint-Jean", subject="Printer")
    before = db_counts(db_url, TABLES)
    with pytest.raises(Refused, match=r"'Clinique Saint-Jean' has 2 tickets \(2 open\).*rename NAME OTHER --merge"):
        desk.delete_customer("clinique saint-jean")
    with pytest.raises(BadInput, match="^NAME: unknown customer"):
        desk.delete_customer("Nobody Here")
    assert db_counts(db_url, TABLES) == before
    assert desk.delete_customer("Atelier Moreau") == ("Atelier Moreau", 2, 1)
    assert [c.name for c in desk.customers()] == ["Clinique Saint-Jean"]
    assert desk.customer_by_domain("luc@moreau.example") is None
    desk.save_directory(CustomerBatch(customers=[CustomerSpec(name="Hudson Freight")]))
    desk.add_contract(billing_rules.Contract(customer="Hudson Freight", name="Support", start=date(2026, 1, 1)))
    with pytest.raises(Refused, match="'Hudson Freight' has 1 contract"):
        desk.delete_customer("Hudson Freight")


def test_contacts_are_renamed_with_their_tickets_and_deleted_only_when_none_names_them(two_policies, db_url):
    desk = two_policies
    tid = _ticket(desk, "Atelier Moreau", "luc@moreau.example")
    done = desk.rename_contact("Atelier Moreau", "LUC@moreau.example", "Luc Moreau-Petit")
    assert (done.old, done.new, done.tickets) == ("Luc Moreau", "Luc Moreau-Petit", 1)
    t = desk.ticket(tid)
    assert t.version == 2 and desk.contact_of(t).name == "Luc Moreau-Petit"
    assert (t.events[-1].kind, t.events[-1].from_value, t.events[-1].to) == (
        "contact",
        "Luc Moreau",
        "Luc Moreau-Petit",
    )
    before = db_counts(db_url, TABLES)
    with pytest.raises(Refused, match="1 ticket of 'Atelier Moreau' name 'Luc Moreau-Petit'"):
        desk.delete_contact("Atelier Moreau", "luc moreau-petit")
    with pytest.raises(BadInput, match=r"^CONTACT: 'Claire Martin' is not one contact of 'Atelier Moreau'"):
        desk.delete_contact("Atelier Moreau", "Claire Martin")  # another customer's
    with pytest.raises(Refused, match="already the contact's name"):
        desk.rename_contact("Atelier Moreau", "Nina Petit", "Nina  Petit")
    assert db_counts(db_url, TABLES) == before
    assert desk.delete_contact("atelier moreau", "nina petit") == "Nina Petit"
    assert [p.name for p in desk.customer("Atelier Moreau").contacts] == ["Luc Moreau-Petit"]
    # two contacts of one name: the e-mail is asked for
    desk.save_directory(
        CustomerBatch(
            contacts=[
                ContactSpec(customer="Atelier Moreau", name="Sam Roy", email="sam1@moreau.example"),
                ContactSpec(customer="Atelier Moreau", name="Sam Roy", email="sam2@moreau.example"),
            ]
        )
    )
    with pytest.raises(BadInput, match="two of its contacts have that name: give the e-mail"):
        desk.delete_contact("Atelier Moreau", "sam roy")
    assert desk.delete_contact("Atelier Moreau", "sam2@moreau.example") == "Sam Roy"
