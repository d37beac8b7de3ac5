"""Customers and contacts on the command line (issue 15): `customers import|list|show`, `new` refusing an unknown
customer unless --new-customer, `new --contact`, `import` of customer and contact records beside tickets, and
the bad input of the issue (one line, exit 2, nothing written). The real CLI, forked from ``cli_server``."""

from __future__ import annotations

import json
import sys

import pytest

from deskterm_testing import EXAMPLE_CONFIG, db_counts, run_cli

pytestmark = pytest.mark.engines("sqlite", "postgresql")

TABLES = ("tickets", "customers", "contacts", "customer_domains")

CSV = """name,vip,policy,notes,domains,contact,email,phone,role
Clinique Saint-Jean,yes,gold,Call first,clinique-sj.fr,Claire Martin,claire@clinique-sj.fr,,IT lead
Clinique Saint-Jean,,,,,Paul Girard,,+33 4 72 00 00 00,IT
Banque Rhône-Alpes,no,,,,Ana Lopes,ana@bra.example,,
"""


@pytest.fixture(autouse=True)
def _forked_cli(cli_server, monkeypatch):
    """``run_cli`` here is the session's fork server (the same command line, without a second of imports each)."""
    monkeypatch.setattr(sys.modules[__name__], "run_cli", cli_server.run)


def _cli(db: str, *args: str, input: str | None = None):
    return run_cli("--db", db, "--config", str(EXAMPLE_CONFIG), *args, input=input)


def _one_line_exit_2(r, *expected: str) -> None:
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    for text in expected:
        assert text in r.stderr, r.stderr


def test_customers_import_list_show_and_new(db_url, tmp_path):
    db = db_url
    (tmp_path / "c.csv").write_text(CSV, encoding="utf-8")
    r = _cli(db, "customers", "import", str(tmp_path / "c.csv"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "imported 2 customers and 3 contacts (5 new, 0 updated)"

    listed = _cli(db, "customers", "list").stdout.splitlines()
    assert listed == [
        "Banque Rhône-Alpes · policy gold · 1 contact · 0 open",
        "VIP Clinique Saint-Jean · policy gold · 2 contacts · 0 open",
    ]

    # a typo is refused, with the name it probably meant; nothing is written
    before = db_counts(db, TABLES)
    r = _cli(db, "new", "--subject", "VPN down", "--customer", "Clinque Saint-Jean")
    _one_line_exit_2(
        r,
        "--customer: unknown customer 'Clinque Saint-Jean' (did you mean 'Clinique Saint-Jean'?);"
        " add --new-customer to create it",
    )
    assert db_counts(db, TABLES) == before

    # the customer any case, the caller by name; a contact of another customer is refused
    r = _cli(db, "new", "--subject", "VPN down", "--customer", "clinique saint-jean", "--contact", "claire martin")
    assert r.returncode == 0, r.stderr
    tid = r.stdout.strip()
    r = _cli(db, "new", "--subject", "x", "--customer", "Clinique Saint-Jean", "--contact", "ana@bra.example")
    _one_line_exit_2(r, "contact: 'ana@bra.example' is not a contact of 'Clinique Saint-Jean'")

    shown = json.loads(_cli(db, "customers", "show", "CLINIQUE SAINT-JEAN", "--json").stdout)
    assert shown["name"] == "Clinique Saint-Jean" and shown["vip"] is True and shown["policy"] == "gold"
    assert shown["notes"] == "Call first" and shown["domains"] == ["clinique-sj.fr"]
    assert [c["name"] for c in shown["contacts"]] == ["Claire Martin", "Paul Girard"]
    assert [t["id"] for t in shown["open_tickets"]] == [int(tid)]
    text = _cli(db, "customers", "show", "Clinique Saint-Jean").stdout
    assert "Clinique Saint-Jean  [VIP]" in text and "Claire Martin · claire@clinique-sj.fr · IT lead" in text
    _one_line_exit_2(_cli(db, "customers", "show", "Banqe"), "unknown customer 'Banqe'")

    # --new-customer creates it, exactly as typed
    r = _cli(db, "new", "--subject", "Till offline", "--customer", "Atelier Moreau", "--new-customer")
    assert r.returncode == 0, r.stderr
    assert "Atelier Moreau · policy gold · 0 contacts · 1 open" in _cli(db, "customers", "list").stdout
    # the contract's `new` creates a customer like no other without being asked (only a look-alike is refused)
    r = _cli(db, "new", "--subject", "Printer offline", "--customer", "Hudson Freight Inc")
    assert r.returncode == 0, r.stderr
    assert "Hudson Freight Inc · policy gold · 0 contacts · 1 open" in _cli(db, "customers", "list").stdout
    _one_line_exit_2(
        _cli(db, "new", "--subject", "x", "--customer", "Atelier Moureau"),
        "--customer: unknown customer 'Atelier Moureau' (did you mean 'Atelier Moreau'?); add --new-customer",
    )


@pytest.mark.engines("sqlite")  # (the service's tests cover PostgreSQL: here, the command line's messages)
def test_bad_input_is_one_line_and_writes_nothing(db_url, tmp_path):
    db = db_url
    (tmp_path / "c.csv").write_text(CSV, encoding="utf-8")
    assert _cli(db, "customers", "import", str(tmp_path / "c.csv")).returncode == 0
    before = db_counts(db, TABLES)
    cases = {
        "collide.csv": ("name\nAtelier Moreau\nATELIER MOREAU\n", "collide.csv:3: name: 'ATELIER MOREAU' is the same"),
        "mail.json": (
            '[{"name": "Atelier Moreau", "contacts": [{"name": "Luc", "email": "luc at moreau"}]}]',
            "mail.json:1: contacts[1]: email: 'luc at moreau' is not an e-mail address",
        ),
        "taken.json": (
            '[{"record": "contact", "customer": "Atelier Moreau", "name": "Ana", "email": "ANA@bra.example"}]',
            "taken.json:1: email: 'ANA@bra.example' is already 'Ana Lopes''s, a contact of 'Banque Rhône-Alpes'",
        ),
    }
    for name, (content, expected) in cases.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        _one_line_exit_2(_cli(db, "customers", "import", str(tmp_path / name)), expected)
    # the same records beside tickets in `deskterm import`: refused as a whole, the ticket too
    (tmp_path / "t.jsonl").write_text(
        '{"record": "customer", "name": "Atelier Moreau"}\n{"record": "customer", "name": "atelier moreau"}\n'
        '{"subject": "x", "customer": "Atelier Moreau", "priority": "P3", "created_at": "2026-03-27T10:00:00+01:00"}\n',
        encoding="utf-8",
    )
    _one_line_exit_2(_cli(db, "import", str(tmp_path / "t.jsonl")), "t.jsonl:2: name: 'atelier moreau' is the same")
    assert db_counts(db, TABLES) == before


@pytest.mark.engines("sqlite")
def test_import_beside_tickets_and_a_big_description(db_url, tmp_path):
    db = db_url
    (tmp_path / "t.jsonl").write_text(
        '{"record": "customer", "name": "Atelier Moreau", "vip": true,'
        ' "contacts": [{"name": "Luc Moreau", "email": "luc@moreau.example"}]}\n'
        '{"subject": "Till offline", "customer": "atelier moreau", "priority": "P2",'
        ' "created_at": "2026-03-27T10:00:00+01:00", "contact": "Luc@Moreau.example"}\n',
        encoding="utf-8",
    )
    r = _cli(db, "import", str(tmp_path / "t.jsonl"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "imported 1 tickets, 1 customers, 1 contacts"
    t = json.loads(_cli(db, "show", "1", "--json").stdout)
    assert t["customer"] == "Atelier Moreau"
    assert t["contact"] == {"name": "Luc Moreau", "email": "luc@moreau.example", "phone": None}
    assert "contact Luc Moreau · luc@moreau.example" in _cli(db, "show", "1").stdout
    big = "x" * (1 << 20)
    r = _cli(db, "new", "--subject", "Huge", "--customer", "Atelier Moreau", "--description", "-", input=big)
    assert r.returncode == 0, r.stderr
    assert json.loads(_cli(db, "show", r.stdout.strip(), "--json").stdout)["description"] == big


@pytest.mark.engines("sqlite")
def test_customers_rename_merge_and_delete_on_the_command_line(db_url, tmp_path, cli_server):
    """The real command line, forked (cli_server): exit 0, 1 (refused) and 2 (bad input), one line each; the
    other cases are the service's (tests/store/test_customer_rename.py)."""
    db = db_url

    def _cli(db: str, *args: str):
        return cli_server.run("--db", db, "--config", str(EXAMPLE_CONFIG), *args)

    (tmp_path / "c.csv").write_text(CSV, encoding="utf-8")
    assert _cli(db, "customers", "import", str(tmp_path / "c.csv")).returncode == 0
    tid = _cli(db, "new", "--subject", "VPN down", "--customer", "Banque Rhône-Alpes").stdout.strip()
    r = _cli(db, "customers", "rename", "banque rhone-alpes", "Banque Rhône-Alpes SA")
    assert r.stdout == "Banque Rhône-Alpes renamed to Banque Rhône-Alpes SA: 1 ticket changed (policy gold)\n", r.stderr

    before = db_counts(db, TABLES)
    r = _cli(db, "customers", "rename", "Banque Rhône-Alpes SA", "Clinique Saint-Jean")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "add --merge" in r.stderr, r.stderr
    r = _cli(db, "customers", "delete", "Banque Rhône-Alpes SA")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "has 1 ticket (1 open)" in r.stderr, r.stderr
    _one_line_exit_2(
        _cli(db, "customers", "contact-delete", "Banqe", "Ana Lopes"), "CUSTOMER: unknown customer 'Banqe'"
    )
    assert db_counts(db, TABLES) == before

    r = _cli(db, "customers", "rename", "Banque Rhône-Alpes SA", "clinique saint-jean", "--merge")
    assert r.stdout.startswith("Banque Rhône-Alpes SA merged into Clinique Saint-Jean: 1 ticket changed"), r.stderr
    history = _cli(db, "show", tid).stdout
    assert "customer Banque Rhône-Alpes → Banque Rhône-Alpes SA (renamed)" in history
    assert "customer Banque Rhône-Alpes SA → Clinique Saint-Jean (merged into Clinique Saint-Jean)" in history
