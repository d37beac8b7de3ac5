"""`deskterm import` of a file larger than one batch (``service.IMPORT_BATCH`` tickets): the file is read and
written a batch at a time inside one transaction, so these are the cases where a problem comes after tickets
were already written in that transaction. On SQLite and on PostgreSQL, through the command line.

- a problem in the last record: exit 2, that record named, nothing written (on PostgreSQL the sequences may
  have moved: they are not transactional; every row is as before);
- a ref repeated far apart in the file, and a ref imported before, found in a later batch: the same;
- a customer record with its contact after the tickets that name them: the import reads the file twice and
  everything is written, the contact given to its tickets;
- a JSON array of the same size imports as the JSON Lines do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deskterm.service import IMPORT_BATCH
from deskterm_testing import EXAMPLE_CONFIG, db_counts, db_rows, db_state

pytestmark = pytest.mark.engines("sqlite", "postgresql")

N = IMPORT_BATCH + 500  # two batches


def ticket(i: int, **changes) -> dict:
    rec = {
        "ref": f"BIG-{i}",
        "subject": f"Printer {i} jams",
        "customer": ("Acme", "Globex", "Initech")[i % 3],
        "priority": ("P1", "P2", "P3", "P4")[i % 4],
        "created_at": f"2026-03-{1 + i % 20:02d}T09:00:00+01:00",
        "events": [
            {"at": f"2026-03-{1 + i % 20:02d}T09:30:00+01:00", "kind": "assign", "to": "alice"},
            {"at": f"2026-03-{1 + i % 20:02d}T10:00:00+01:00", "kind": "status", "to": "resolved"},
        ],
    }
    rec.update(changes)
    return rec


def run(cli_server, url: str, path: Path):
    return cli_server.run("--db", url, "--config", str(EXAMPLE_CONFIG), "import", str(path))


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def rows_only(state: dict) -> dict:
    return {k: v for k, v in state.items() if k != "(sequences)"}


@pytest.fixture
def seeded(db_url, cli_server, tmp_path):
    """A desk holding one ticket (ref SEED-1), and its state."""
    out = run(cli_server, db_url, write_jsonl(tmp_path / "seed.jsonl", [ticket(0, ref="SEED-1")]))
    assert out.returncode == 0, out.stderr
    return db_url, db_state(db_url)


def test_a_problem_in_the_last_record_writes_nothing(seeded, cli_server, tmp_path):
    url, before = seeded
    records = [ticket(i) for i in range(1, N + 1)]
    records[-1] = ticket(N, priority="P9")
    name = write_jsonl(tmp_path / "late.jsonl", records)
    out = run(cli_server, url, name)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert out.stderr.splitlines() == [f"{name}:{N}: priority: 'P9' is not one of P1, P2, P3, P4"]
    assert rows_only(db_state(url)) == rows_only(before)


def test_refs_repeated_across_batches_are_all_reported_and_nothing_is_written(seeded, cli_server, tmp_path):
    url, before = seeded
    records = [ticket(i) for i in range(1, N + 1)]
    records[N - 10] = ticket(N - 9, ref="BIG-3")  # record N-9 repeats record 3's ref, a batch later
    records[N - 2] = ticket(N - 1, ref="SEED-1")  # imported before
    records[5] = ticket(6, created_at="2026-03-27")  # and a problem in the first batch too
    name = write_jsonl(tmp_path / "refs.jsonl", records)
    out = run(cli_server, url, name)
    assert out.returncode == 2, out.stderr
    assert out.stderr.splitlines() == [
        f"{name}:6: created_at: timestamp has no UTC offset (write it as 2026-03-27T16:05:00+01:00)",
        f"{name}:{N - 9}: ref: 'BIG-3' appears twice in the file (first at {name}:3)",
        f"{name}:{N - 1}: ref: 'SEED-1' was already imported",
    ]
    assert rows_only(db_state(url)) == rows_only(before)


def test_a_customer_record_after_the_tickets_that_name_its_contact(seeded, cli_server, tmp_path):
    url, _ = seeded
    records: list[dict] = [ticket(i) for i in range(1, N + 1)]
    records[0] = ticket(1, customer="Late Customer", contact="claire@late.example")
    records[-1] = ticket(N, customer="LATE customer", contact="Claire Martin")
    records.append(
        {
            "record": "customer",
            "name": "Late Customer",
            "contacts": [{"name": "Claire Martin", "email": "claire@late.example"}],
        }
    )
    out = run(cli_server, url, write_jsonl(tmp_path / "late-customer.jsonl", records))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"imported {N} tickets, 1 customers, 1 contacts"
    named = db_rows(
        url,
        "SELECT t.ref, c.name, k.email FROM tickets t JOIN customers c ON c.id = t.customer_id"
        " JOIN contacts k ON k.id = t.contact_id ORDER BY t.ref",
    )
    assert named == [
        ("BIG-1", "Late Customer", "claire@late.example"),
        (f"BIG-{N}", "Late Customer", "claire@late.example"),
    ]
    assert db_counts(url) == {"tickets": N + 1, "events": 2 * N + 2, "customers": 4}


def test_a_large_json_array_imports_like_json_lines(db_url, cli_server, tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps([ticket(i) for i in range(1, N + 1)], indent=1), encoding="utf-8")
    out = run(cli_server, db_url, path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"imported {N} tickets"
    assert db_counts(db_url) == {"tickets": N, "events": 2 * N, "customers": 3}
    assert db_rows(db_url, "SELECT min(ref), max(ref), count(DISTINCT ref) FROM tickets") == [("BIG-1", "BIG-999", N)]
