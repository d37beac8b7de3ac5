"""A PostgreSQL server restarted while a command runs (issue 13 item 21): one line, exit 2, nothing written.

The command (``update 1 --note``) is made to wait inside its transaction, on a row lock held by another session,
so that the restart surely happens during it; the server is a throwaway of its own (restarting the session's
server would cut every other test's connections)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from deskterm_testing import EXAMPLE_CONFIG, db_state

sys.path.insert(0, str(Path(__file__).parent))


def _psql(url: str):
    import psycopg

    return psycopg.connect("postgresql://" + url.split("://", 1)[1], autocommit=True)


def test_a_server_restarted_during_a_command_is_one_line_exit_2_and_nothing_written(own_server, tmp_path):
    url = own_server.create_database()
    cli = [sys.executable, "-m", "deskterm.cli", "--db", url, "--config", str(EXAMPLE_CONFIG)]
    made = subprocess.run(
        [*cli, "new", "--subject", "VPN down", "--customer", "Acme", "--new-customer"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    before = db_state(url)

    holder = _psql(url)
    holder.execute("BEGIN")
    holder.execute("SELECT id FROM tickets WHERE id = 1 FOR UPDATE")
    command = subprocess.Popen(
        [*cli, "update", "1", "--note", "checked the tunnel"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        with _psql(url) as watcher:  # wait until the command waits on the row lock, inside its transaction
            for _ in range(600):
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'deskterm'"
                    " AND wait_event_type = 'Lock'"
                ).fetchone()[0]
                if waiting or command.poll() is not None:
                    break
                time.sleep(0.05)
            assert waiting, (
                f"the command did not wait on the lock: {command.poll()} {command.stderr.read() if command.poll() is not None else ''}"
            )
        own_server.restart()
        out, err = command.communicate(timeout=120)
    finally:
        if command.poll() is None:
            command.kill()
        try:
            holder.close()
        except Exception:  # noqa: BLE001 - the restart cut it
            pass

    assert "Traceback" not in err, err
    assert command.returncode == 2, (command.returncode, out, err)
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("--db: "), err
    assert "lost the connection to the server" in err and "try again" in err
    assert "postgres@" in err and ":" in err  # names the server (no password in these URLs)
    assert db_state(url) == before  # the note was not written


def test_a_row_locked_longer_than_the_retry_window_is_the_desk_is_busy(pg_url):
    """A session left in a transaction holding a ticket's row (an operator's psql): the command says the desk is
    busy after the retry window (DESKTERM_BUSY_TIMEOUT=1 here), instead of waiting for ever; nothing written."""
    env = {**os.environ, "DESKTERM_BUSY_TIMEOUT": "1"}
    cli = [sys.executable, "-m", "deskterm.cli", "--db", pg_url, "--config", str(EXAMPLE_CONFIG)]
    made = subprocess.run(
        [*cli, "new", "--subject", "VPN down", "--customer", "Acme", "--new-customer"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert made.returncode == 0, made.stderr
    before = db_state(pg_url)
    with _psql(pg_url) as holder:
        holder.execute("BEGIN")
        holder.execute("SELECT id FROM tickets WHERE id = 1 FOR UPDATE")
        started = time.monotonic()
        r = subprocess.run(
            [*cli, "update", "1", "--note", "checked the tunnel"], capture_output=True, text=True, timeout=120, env=env
        )
        waited = time.monotonic() - started
        holder.execute("ROLLBACK")
    assert "Traceback" not in r.stderr, r.stderr
    assert (r.returncode, r.stdout) == (2, ""), (r.returncode, r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and "the desk is busy: " in r.stderr and "try again" in r.stderr, r.stderr
    assert waited < 30, waited
    assert db_state(pg_url) == before
