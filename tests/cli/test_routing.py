"""Auto-routing rules (issue 15): `[[routing]]` in the configuration, applied when a ticket is created (`new`,
`import`; the form creates through the same service call), the first rule that matches; the history says the
rule did it. A bad rule is a configuration error (exit 2). On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from deskterm_testing import EXAMPLE_CONFIG

pytestmark = pytest.mark.engines("sqlite", "postgresql")

RULES = """
[categories]
network = ["vpn", "wifi"]
access = ["password"]

[groups.L2-network]
level = "L2"

[[routing]]
name = "VPN of the clinic"
subject = "vpn|tunnel"
customer = ["Clinique Saint-Jean"]
category = "network/vpn"
group = "L2-network"

[[routing]]
name = "passwords"
subject = "password|mot de passe"
category = "access/password"
"""


@pytest.fixture
def cli(db_url, tmp_path, cli_server):
    cfg = tmp_path / "deskterm.toml"
    cfg.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8") + RULES, encoding="utf-8")

    def run(*args: str):
        r = cli_server.run("--db", db_url, "--config", str(cfg), *args)
        assert r.returncode == 0, r.stderr
        return r.stdout

    return run


def show(cli, tid: str) -> dict:
    return json.loads(cli("show", tid, "--json"))


def test_new_tickets_are_routed_by_the_first_matching_rule(cli):
    t = show(
        cli,
        cli("new", "--subject", "VPN down for ward B", "--customer", "clinique saint-jean", "--new-customer").strip(),
    )
    assert (t["category"], t["group"]) == ("network/vpn", "L2-network")
    routed = [(e["kind"], e["to"], e["reason"]) for e in t["events"]]
    assert routed == [
        ("category", "network/vpn", "routing rule: VPN of the clinic"),
        ("group", "L2-network", "routing rule: VPN of the clinic"),
    ]
    # another customer: the first rule does not match, nor the second
    other = show(cli, cli("new", "--subject", "VPN down", "--customer", "Acme", "--new-customer").strip())
    assert (other["category"], other["group"], other["events"]) == (None, "L1", [])
    # a category given by the agent is kept; the rule's group still applies
    kept = show(
        cli,
        cli(
            "new",
            "--subject",
            "Tunnel slow",
            "--customer",
            "Clinique Saint-Jean",
            "--category",
            "network/wifi",
            "--new-customer",
        ).strip(),
    )
    assert (kept["category"], kept["group"]) == ("network/wifi", "L2-network")
    pw = show(cli, cli("new", "--subject", "Mot de passe expiré", "--customer", "Acme", "--new-customer").strip())
    assert (pw["category"], pw["group"]) == ("access/password", "L1")


def test_imported_tickets_are_routed_too(cli, tmp_path):
    path = tmp_path / "in.json"
    path.write_text(
        json.dumps(
            [
                {
                    "ref": "R-1",
                    "subject": "password reset",
                    "customer": "Acme",
                    "priority": "P3",
                    "created_at": "2026-03-27T10:00:00+01:00",
                }
            ]
        ),
        encoding="utf-8",
    )
    cli("import", str(path))
    t = show(cli, "R-1")
    assert t["category"] == "access/password"
    assert t["events"][0]["reason"] == "routing rule: passwords"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('subject = "vpn("\ncategory = "network/vpn"', "routing[1].subject: not a regular expression"),
        ('subject = "vpn"\ncategory = "network/zzz"', "routing[1].category: 'network/zzz' is not a category"),
        ('subject = "vpn"\ngroup = "L9"', "routing[1].group: unknown group 'L9'"),
        ('category = "network/vpn"', "routing[1]: no condition"),
        ('subject = "vpn"', "routing[1]: does nothing"),
        ('subject = "vpn"\ngroup = "L1"\ncolour = "red"', "routing[1].colour: unknown key"),
    ],
)
def test_a_bad_rule_is_a_configuration_error(db_url, tmp_path, cli_server, rule, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[categories]\nnetwork = ["vpn"]\n\n[[routing]]\n' + rule + "\n", encoding="utf-8")
    r = cli_server.run(
        "--db", db_url, "--config", str(cfg), "new", "--subject", "x", "--customer", "A", "--new-customer"
    )
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
