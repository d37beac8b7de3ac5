"""An imported resolution keeps its code: `show --json` writes a resolution's code as the reason of its status
event, so importing that history back (or the demo's 90 days of it) gives the ticket its code again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from deskterm.service import Desk, NewEvent, NewTicket

pytestmark = pytest.mark.engines("sqlite", "postgresql")


def _ticket(desk: Desk, ref: str, *statuses: tuple[str, str | None]) -> NewTicket:
    start = desk.clock.now() - timedelta(days=3)
    events = [
        NewEvent(at=start + timedelta(hours=i + 1), kind="status", author="alice", to=to, reason=reason)
        for i, (to, reason) in enumerate(statuses)
    ]
    return NewTicket(
        subject="VPN down", customer="Clinique Saint-Jean", priority="P3", created_at=start, ref=ref, events=events
    )


def test_an_imported_resolution_keeps_its_code_unless_reopened_or_not_a_code(desk):
    desk.import_tickets(
        [
            _ticket(desk, "A", ("open", None), ("resolved", "workaround"), ("closed", None)),
            _ticket(desk, "B", ("resolved", "fixed"), ("open", "still broken")),
            _ticket(desk, "C", ("resolved", "the customer fixed it himself")),
            _ticket(desk, "D", ("resolved", "fixed"), ("open", None), ("resolved", "duplicate")),
        ]
    )
    codes = {t.ref: t.resolution_code for t in desk.tickets()}
    assert codes == {"A": "workaround", "B": None, "C": None, "D": "duplicate"}
