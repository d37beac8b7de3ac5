"""Issue 6: the agents of a host share one database file through a group.

A new database file is read-write for its owner and group and closed to others (0o660), its new data directory
0o770, whatever the umask: ``os.open``'s and ``mkdir``'s modes are masked by it (with the common umask 022 they
would give 0o640 and 0o750, and the group could not write). SQLite gives the -wal and -shm files the mode of
the database file. An existing file keeps the mode its owner gave it.
"""

from __future__ import annotations

import os
import stat

import pytest


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    def set_(value: int) -> None:
        os.umask(value)

    old = os.umask(0o022)
    os.umask(old)
    yield set_
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002, 0o000])
def test_new_database_file_and_directory_are_group_shared_whatever_the_umask(tmp_path, umask, mask):
    from deskterm.config import builtin_config
    from deskterm.service import Change, Desk, NewTicket
    from deskterm.store.engine import open_store

    umask(mask)
    db = tmp_path / "data" / "deskterm" / "deskterm.db"
    store = open_store(db)
    try:
        desk = Desk(store, builtin_config(), user="alice")
        tid = desk.create(NewTicket(subject="s", customer="c", priority="P3", created_at=desk.clock.now())).id
        desk.update(tid, Change(note="n"))
        assert _mode(db) == 0o660
        assert _mode(db.parent) == 0o770
        for suffix in ("-wal", "-shm"):  # alive while a connection is open
            side = db.with_name(db.name + suffix)
            assert side.exists() and _mode(side) == 0o660, suffix
    finally:
        store.dispose()


def test_an_existing_file_keeps_its_mode(tmp_path, umask):
    from deskterm.store.engine import open_store

    umask(0o022)
    db = tmp_path / "desk.db"
    db.touch(mode=0o600)
    os.chmod(db, 0o600)
    dir_mode = _mode(tmp_path)
    open_store(db).dispose()
    assert _mode(db) == 0o600
    assert _mode(tmp_path) == dir_mode  # nor does an existing directory
