"""Two agents on one desk: one has the app open in a terminal, the other changes tickets from the command line
(``deskterm --db … update``/``new``); the open app shows those changes within a couple of seconds."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from ptyterm import QUEUE_READY, open_ticket, quit_cleanly

pytestmark = pytest.mark.pty  # the real program in a terminal: make test runs it, make test-fast does not

TICKETS_AGO = [  # (subject, customer, priority, hours ago)
    ("Mail down", "Atelier Moreau", "P2", 2),
    ("Badge off", "Librairie du Parc", "P3", 1),
    ("Line dead", "Boulangerie Petit", "P4", 3),
]


def test_a_second_agent_changes_tickets_from_the_command_line(agent, tmp_path):
    db = str(tmp_path / "team.db")
    now = datetime.now(UTC).replace(microsecond=0)
    records = [
        {
            "ref": f"TEAM-{i}",
            "subject": subject,
            "customer": customer,
            "priority": prio,
            "created_at": (now - timedelta(hours=ago)).isoformat(),
        }
        for i, (subject, customer, prio, ago) in enumerate(TICKETS_AGO, 1)
    ]
    agent.cli("--db", db, "import", "-", input=json.dumps(records))

    term = agent.start("--db", db)
    term.wait_for(QUEUE_READY, "Mail down", "Line dead", timeout=30)

    # another agent files a new ticket and changes one: the queue shows both
    agent.cli("--db", db, "new", "--subject", "Hot room", "--customer", "Atelier Moreau", "--priority", "P1")
    agent.cli("--db", db, "update", "TEAM-3", "--status", "pending", "--note", "waiting for the carrier")
    term.wait_for("Hot room", timeout=10)
    term.wait_for(re.compile(r"pending\s+\d+ Boulangerie"), timeout=10)

    # with a ticket open, the other agent replies on it and raises its priority: the ticket screen follows
    open_ticket(term, 1)
    term.wait_for("Mail down", "v1")
    agent.cli("--db", db, "update", "TEAM-1", "--reply", "Relay restarted by the night shift")
    agent.cli("--db", db, "update", "TEAM-1", "--priority", "P1", "--reason", "the whole site is down")
    term.wait_for("Relay restarted by the night shift", re.compile(r"· P1 · "), "v3", timeout=10)

    term.press("escape")
    term.wait_for(QUEUE_READY)
    quit_cleanly(term)
