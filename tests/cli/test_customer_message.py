"""A message from the customer, recorded from the command line (`update --customer-message`): a reply event
whose author is "customer", which takes a pending ticket back to open. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from deskterm_testing import EXAMPLE_CONFIG

pytestmark = pytest.mark.engines("sqlite", "postgresql")


def test_the_customer_writes(cli_server, db_url) -> None:
    def cli(*args: str, input: str | None = None):
        return cli_server.run("--db", db_url, "--config", str(EXAMPLE_CONFIG), *args, input=input)

    tid = cli("new", "--subject", "VPN", "--customer", "Clinique Saint-Jean").stdout.strip()
    assert cli("update", tid, "--reply", "Can you restart it?", "--status", "pending").returncode == 0
    r = cli("update", tid, "--customer-message", "-", input="Restarted, still down.\n")
    assert r.returncode == 0, r.stderr
    shown = json.loads(cli("show", tid, "--json").stdout)
    assert shown["status"] == "open"
    last = [(e["kind"], e["author"], e.get("body"), e.get("to")) for e in shown["events"][-2:]]
    assert last == [("reply", "customer", "Restarted, still down.\n", None), ("status", "customer", None, "open")]
    # an open ticket stays as it is; an empty message is refused and writes nothing
    assert cli("update", tid, "--customer-message", "And the printer too").returncode == 0
    r = cli("update", tid, "--customer-message", "  ")
    assert (r.returncode, r.stderr) == (2, "customer message: empty text\n")
    assert len(json.loads(cli("show", tid, "--json").stdout)["events"]) == len(shown["events"]) + 1
