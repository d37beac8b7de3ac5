"""The customer-reply timer through the real command line: configured per priority, shown in `list --json`
(contract section 5, extended), escalated once per cycle by `escalate-due` (`customer_reply.before 10m`), counted in
`report`. SQLite and PostgreSQL; the history is imported with fixed instants (24x7 policy: every second counts).
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.engines("sqlite", "postgresql")

CONFIG = """
timezone = "UTC"

[calendars.always]
always = true

[policies.gold]
calendar = "always"
warn_at = 0.5
P1 = { first_response = "15m", resolution = "8h", customer_reply = "30m" }
P2 = { first_response = "30m", resolution = "8h", customer_reply = "1h" }
P3 = { first_response = "2h",  resolution = "3d" }
P4 = { first_response = "8h",  resolution = "10d" }

[defaults]
policy = "gold"

[groups.L2]
level = "L2"

[[escalation.rules]]
when = "customer_reply.before 10m"
action = "functional"
to = "L2"
"""


def ev(at: str, kind: str = "reply", author: str = "alice", **kw) -> dict:
    out = {"at": f"2026-11-02T{at}:00Z", "kind": kind, "author": author, **kw}
    if kind == "reply":
        out.setdefault("public", True)
        out.setdefault("body", "…")
    return out


TICKETS = [
    # A: answered at 09:05, the customer writes at 09:20 and 09:30 (the cycle runs from 09:20), no answer yet
    {
        "ref": "A",
        "subject": "VPN",
        "customer": "Clinique",
        "priority": "P1",
        "created_at": "2026-11-02T09:00:00Z",
        "events": [ev("09:05"), ev("09:20", author="customer"), ev("09:30", author="customer")],
    },
    # B: the customer wrote at 09:10 and was answered at 09:25 (met, 15m of 30m); P3 has no target: no timer for C
    {
        "ref": "B",
        "subject": "Mail",
        "customer": "Clinique",
        "priority": "P1",
        "created_at": "2026-11-02T09:00:00Z",
        "events": [ev("09:05"), ev("09:10", author="customer"), ev("09:25")],
    },
    {
        "ref": "C",
        "subject": "Printer",
        "customer": "Clinique",
        "priority": "P3",
        "created_at": "2026-11-02T09:00:00Z",
        "events": [ev("09:05"), ev("09:10", author="customer")],
    },
]


@pytest.fixture
def cli(cli_server, db_url, tmp_path):
    cfg = tmp_path / "desk.toml"
    cfg.write_text(CONFIG)

    def run(*args: str, input: str | None = None):
        return cli_server.run("--db", db_url, "--config", str(cfg), *args, input=input)

    r = run("import", "-", input=json.dumps(TICKETS))
    assert r.returncode == 0, r.stderr
    return run


def timers(cli, at: str) -> dict:
    out = json.loads(cli("list", "--json", "--at", f"2026-11-02T{at}:00Z").stdout)
    return {t["ref"]: t["sla"].get("customer_reply") for t in out}


def test_shown_in_list_json(cli) -> None:
    seen = timers(cli, "09:40")
    assert seen["A"] == {
        "due": "2026-11-02T09:50:00+00:00",
        "state": "running",
        "warning": True,
        "remaining_seconds": 600,
    }
    assert seen["B"] == {"due": "2026-11-02T09:40:00+00:00", "state": "met", "warning": False, "remaining_seconds": 900}
    assert seen["C"] is None  # no target for P3: absent, like next_update
    assert timers(cli, "09:15")["A"] is None  # before the customer wrote: absent
    late = timers(cli, "10:00")["A"]
    assert (late["state"], late["remaining_seconds"], late["due"]) == ("breached", -600, "2026-11-02T09:50:00+00:00")


def test_escalated_once_per_cycle_and_counted(cli) -> None:
    r = cli("escalate-due", "--at", "2026-11-02T09:39:00Z")
    assert (r.returncode, r.stdout) == (0, "escalated 0 tickets\n")  # 11 minutes left: not yet
    r = cli("escalate-due", "--at", "2026-11-02T09:41:00Z")
    assert r.returncode == 0 and r.stdout.splitlines()[1:] == ["  #1  customer_reply.before 10m → L2"], r.stdout
    again = cli("escalate-due", "--at", "2026-11-02T09:45:00Z")
    assert again.stdout == "escalated 0 tickets\n"  # the same cycle fires once
    shown = json.loads(cli("show", "A", "--json").stdout)
    assert (shown["escalation"]["target"], shown["escalation"]["kind"]) == ("L2", "functional")
    report = json.loads(
        cli("report", "--since", "2026-11-02T00:00:00Z", "--until", "2026-11-02T10:00:00Z", "--format", "json").stdout
    )
    c = report["total"]["compliance"]["customer_reply"]
    assert (c["met"], c["breached"]) == (1, 1)  # B met; A breached at 09:50
    assert any(b["ref"] == "A" and b["timer"] == "customer_reply" for b in report["total"]["breaches"])


def test_an_unknown_timer_names_the_known_ones(cli_server, db_url, tmp_path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(CONFIG.replace('customer_reply = "30m"', 'customer_replies = "30m"'))
    r = cli_server.run("--db", db_url, "--config", str(cfg), "list")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert (
        "policies.gold.P1.customer_replies: unknown timer"
        " (known: first_response, resolution, next_update, customer_reply)" in r.stderr
    )
