"""Issue 17: ``deskterm list --status`` of open statuses prints each ticket's countdown from the deadlines its
ticket row keeps (``Desk.row_timer``), without reading or replaying its history. Its lines must be those of the
replay (``list_replayed``, what ``list`` printed before, and still prints with ``--at``, ``--json`` or closed
statuses), for tickets running, in warning, breached, paused (pending, on hold) and breached while paused, on
24x7 and business-hours calendars (Paris, New York, a weekend night shift across the DST hour), after random
changes and at instants long after the last one; also after the SLA configuration changed (the deadlines derived
again). On SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskterm.cli import list_from_deadlines, list_replayed
from deskterm.config import load_config
from deskterm.demo import generate
from deskterm.service import Change, Desk
from deskterm.store.plain import open_plain
from deskterm_testing import apply_changes

pytestmark = pytest.mark.engines("sqlite", "postgresql")

BUSINESS = (Path(__file__).parent / "business.toml").read_text()
# the demo's customers spread over the policies (the rest: gold, 24x7)
CUSTOMERS = """
[customers."CHU Lyon Sud"]
policy = "office"

[customers."Banque Rhône-Alpes"]
policy = "office"

[customers."Hudson Freight Inc."]
policy = "ny"

[customers."Brooklyn Bagels Co."]
policy = "ny"

[customers."Atelier Moreau"]
policy = "night"
"""
OPEN = ("new", "open", "pending", "on_hold")

changes = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000),  # which ticket (modulo the desk's size)
        st.sampled_from(
            [
                Change(status="open"),
                Change(status="pending"),
                Change(status="on_hold"),
                Change(status="resolved"),
                Change(priority="P1"),
                Change(priority="P4"),
                Change(reply="On it."),
                Change(customer_message="Any news?"),
                Change(note="checked"),
            ]
        ),
        st.integers(min_value=0, max_value=3 * 24 * 60),  # minutes before the change
    ),
    min_size=1,
    max_size=8,
)
later = st.lists(st.integers(min_value=0, max_value=20 * 24 * 60), min_size=1, max_size=3)  # minutes after


def _config(tmp_path: Path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return load_config(path)


@pytest.fixture
def mixed(desk, tmp_path):
    """The fixture's desk (a frozen clock) under business-hours policies, with 60 tickets of the demo's busy
    queue: about half open, many breached, some pending."""
    desk.config = _config(tmp_path, "business.toml", BUSINESS + CUSTOMERS)
    desk.rederive()
    tickets = generate(desk.clock.now(), 60, seed=11)
    for t in tickets:
        t.ref = None
    desk.import_tickets(tickets)
    return desk


def _same(desk: Desk, statuses=OPEN) -> list[str]:
    """The lines from the rows (read through the store, and through the driver alone as the command reads them:
    store/plain.py) are those of the replay."""
    now = desk.clock.now()
    fast = list(list_from_deadlines(desk, statuses, now))
    replayed = list(list_replayed(desk, now, None, statuses))
    assert fast == replayed, now
    reader = open_plain(desk.store.engine.url.render_as_string(hide_password=False), desk.config, desk.clock)
    assert reader is not None  # (the desk is at this schema, its deadlines derived for this configuration)
    try:
        assert list(list_from_deadlines(reader, statuses, now)) == fast, now
    finally:
        reader.close()
    return fast


def test_paused_and_breached_rows_read_as_the_replay(mixed):
    lines = _same(mixed)
    left = [line[21:35].strip() for line in lines[1:]]
    assert any(x.startswith("⏸") for x in left), "a paused ticket"
    assert any(x.startswith("-") for x in left), "a breached ticket"
    assert any(x and not x.startswith(("-", "⏸")) for x in left), "a running ticket"
    assert len(lines) - 1 == len(mixed.tickets(list(OPEN)))
    for statuses in (("pending",), ("on_hold",), ("new", "open")):
        _same(mixed, statuses)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=changes, after=later)
def test_after_random_changes_and_any_time_later(mixed, steps, after):
    desk = mixed
    apply_changes(desk, OPEN, steps)
    for minutes in after:
        desk.clock.advance(minutes=minutes)
        _same(desk)


def test_after_the_configuration_changed(mixed, tmp_path):
    """Other targets and calendars: every open ticket's deadlines are derived again (``rederive``, which every
    command runs first), and the rows still read as the replay under the new configuration."""
    desk = mixed
    desk.clock.advance(hours=5)
    stricter = (
        (BUSINESS + CUSTOMERS)
        .replace('resolution = "8h"', 'resolution = "6h"')
        .replace('[customers."Atelier Moreau"]\npolicy = "night"', '[customers."Atelier Moreau"]\npolicy = "ny"')
    )
    desk.config = _config(tmp_path, "stricter.toml", stricter)
    assert desk.rederive() > 0
    _same(desk)
    desk.clock.advance(days=2, minutes=13)
    _same(desk)


def test_another_copy_of_the_same_slas_derives_nothing(mixed, tmp_path):
    """Two agents' files that differ only outside the SLA part (a comment, canned replies) keep
    the deadlines derived under the other: no command derives every open ticket's deadlines again when the desk
    is opened with one file then the other (the whole file's hash used to decide, so switching did), and the
    plain reads (store/plain.py) are still taken."""
    desk = mixed
    lines = _same(desk)
    copy = "# bob's copy\n" + BUSINESS + '\n[canned.ack]\nbody = "We are on it."\n' + CUSTOMERS
    desk.config = _config(tmp_path, "bob.toml", copy)
    assert desk.config.fingerprint != _config(tmp_path, "again.toml", BUSINESS + CUSTOMERS).fingerprint
    assert desk.rederive() == 0
    assert _same(desk) == lines
    moved = (BUSINESS + CUSTOMERS).replace('[customers."Atelier Moreau"]\npolicy = "night"', "")
    desk.config = _config(tmp_path, "moved.toml", moved)  # a customer's policy is the SLA's part
    assert desk.rederive() > 0
    _same(desk)


def test_a_desk_derived_under_the_whole_files_hash_is_not_derived_again(mixed, tmp_path):
    """Desks derived before the SLA part had its own fingerprint keep the file's hash in ``meta``: under that very
    file nothing is derived again (the fingerprint is only rewritten), under another the deadlines are."""
    from deskterm.store import queries
    from deskterm.store.models import Meta

    desk = mixed
    old = desk.config.fingerprint
    desk.store.write(lambda session: session.merge(Meta(key="sla_config", value=old)))
    assert desk.rederive() == 0
    with desk.store.read() as session:
        assert queries.meta_value(session, "sla_config") == desk.config.sla_fingerprint != old
    _same(desk)
