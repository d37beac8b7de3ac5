"""The pure side of alerts (domain/alerts.py): the payload read whole, the mapping rules, the configuration."""

from __future__ import annotations

import json
import tomllib

import pytest
from alertpayloads import alert, notification

from deskterm.config import parse_config
from deskterm.domain.alerts import AlertError, fingerprint_of, parse_notification
from deskterm.errors import BadInput

BASE = 'timezone = "UTC"\n'


def test_the_payload_is_read_whole() -> None:
    n = parse_notification(notification(alert(severity="critical", fingerprint=None), alert("Other", "x")))
    first, second = n.alerts
    assert first.starts_at.isoformat() == "2026-11-30T09:00:00.123456+00:00"  # Go's nanoseconds, read
    assert first.fingerprint == fingerprint_of(first.labels) and second.fingerprint == "a1b2c3d4e5f60718"
    assert first.ends_at is None and n.group_name() == "alertname=HostDown"
    too_many = json.dumps({"version": "4", "groupKey": "g", "alerts": [alert()] * 1001}).encode()
    with pytest.raises(AlertError, match="more than 1000"):
        parse_notification(too_many)
    with pytest.raises(AlertError, match=r"alerts\[0\].endsAt: not an RFC 3339"):
        parse_notification(notification({**alert(status="resolved"), "endsAt": "soon"}))
    with pytest.raises(AlertError, match="nested too deep"):
        parse_notification(b"[" * 100000 + b"]" * 100000)


def test_rules_map_labels_first_match_wins() -> None:
    config = parse_config(
        tomllib.loads(
            BASE
            + """
[alertmanager]
customer = "Ops"
priority = "P4"
[[alertmanager.rules]]
match = { severity = "critical", team = ["db", "web"] }
priority = "P1"
customer_label = "tenant"
resolve = true
[[alertmanager.rules]]
match = { severity = "critical" }
priority = "P2"
customer = "Fixed"
"""
        )
    )
    rules = config.alertmanager
    m = rules.rule_for({"severity": "critical", "team": "db", "tenant": "CHU Lyon", "customer": "ignored"})
    assert (m.customer, m.priority, m.resolve, m.group) == ("CHU Lyon", "P1", True, "L1")
    m = rules.rule_for({"severity": "critical", "team": "net", "customer": "X"})
    assert (m.customer, m.priority, m.resolve) == ("Fixed", "P2", False)
    m = rules.rule_for({"severity": "info", "customer": "Clinique"})
    assert (m.customer, m.priority) == ("Clinique", "P4")  # the default customer label
    assert rules.rule_for({}).customer == "Ops"


def test_a_bad_section_names_every_problem() -> None:
    text = (
        BASE
        + """
[alertmanager]
storm = 1
max_body = "lots"
priority = "P9"
colour = "red"
[[alertmanager.rules]]
match = { severity = 3 }
resolve = "yes"
"""
    )
    with pytest.raises(BadInput) as caught:
        parse_config(tomllib.loads(text), where="desk.toml")
    problems = caught.value.problems
    assert any(p.startswith("desk.toml: alertmanager.colour: unknown key") for p in problems)
    assert any(p.startswith("desk.toml: alertmanager.storm: must be a whole number from 2") for p in problems)
    assert any(p.startswith("desk.toml: alertmanager.max_body:") for p in problems)
    assert any(p.startswith("desk.toml: alertmanager.priority: must be one of P1") for p in problems)
    assert "desk.toml: alertmanager.rules[0].match.severity: must be a text or a list of texts" in problems
    assert "desk.toml: alertmanager.rules[0].resolve: must be true or false" in problems
