"""Drafts on disk (tui/drafts.py): written behind the typing, whole, 0600 in a 0700 directory, never through a
planted link; an empty draft is deleted; damaged files are left aside."""

from __future__ import annotations

import json
import os
import time

import pytest

from deskterm.tui import drafts as drafts_module
from deskterm.tui.drafts import DEBOUNCE, Drafts
from deskterm_testing import patience


def test_put_writes_behind_and_for_desk_reads_back(tmp_path):
    d = Drafts.for_desk("sqlite:/desks/a.db", root=tmp_path)
    for i in range(50):  # typing: put never waits on the disk
        d.put(7, "reply", "x" * (i + 1))
        last_put = time.monotonic()
    written = list(tmp_path.rglob("*.json"))
    if time.monotonic() - last_put < DEBOUNCE:  # (a loaded machine may have paused this test longer than that)
        assert not written  # not yet: the typing has not paused
    deadline = time.monotonic() + 5
    while not list(tmp_path.rglob("7.reply.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    [path] = tmp_path.rglob("7.reply.json")
    assert json.loads(path.read_text(encoding="utf-8"))["text"] == "x" * 50
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    d.put(9, "note", "second")
    d.close()
    again = Drafts.for_desk("sqlite:/desks/a.db", root=tmp_path)
    assert again.unsent() == [(7, "reply"), (9, "note")] and again.get(9, "note") == "second"
    assert Drafts.for_desk("sqlite:/desks/b.db", root=tmp_path).unsent() == []  # another desk
    again.put(7, "reply", "  \n")  # emptied: deleted
    again.close()
    assert sorted(p.name for p in path.parent.iterdir()) == ["9.note.json"]


def test_a_planted_link_is_never_followed(tmp_path):
    d = Drafts.for_desk("desk", root=tmp_path / "state")
    d.put(1, "note", "first")
    d.flush()
    directory = d.directory
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    victim.chmod(0o644)
    (directory / "1.note.json").unlink()
    (directory / "1.note.json").symlink_to(victim)
    (directory / "2.reply.json").symlink_to(victim)
    d.put(1, "note", "second")
    d.put(2, "reply", "third")
    d.flush()
    assert victim.read_text(encoding="utf-8") == "precious" and victim.stat().st_mode & 0o777 == 0o644
    assert not (directory / "1.note.json").is_symlink()  # the link was replaced by the draft
    assert json.loads((directory / "1.note.json").read_text(encoding="utf-8"))["text"] == "second"
    # a link is not read either
    (directory / "3.note.json").symlink_to(victim)
    assert (3, "note") not in Drafts.for_desk("desk", root=tmp_path / "state").unsent()


def test_a_linked_directory_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = Drafts.for_desk("desk", root=tmp_path / "root")
    probe.directory.parent.mkdir(parents=True)
    probe.directory.symlink_to(elsewhere, target_is_directory=True)
    d = Drafts.for_desk("desk", root=tmp_path / "root")
    d.put(1, "reply", "hello")
    d.flush()
    assert list(elsewhere.iterdir()) == [] and d.problem and "not kept on disk" in d.problem
    assert d.unsent() == [(1, "reply")]  # still kept in memory


def test_damaged_and_foreign_files_are_left_aside(tmp_path):
    d = Drafts.for_desk("desk", root=tmp_path)
    d.put(4, "reply", "ok")
    d.flush()
    (d.directory / "5.reply.json").write_text("{broken", encoding="utf-8")
    (d.directory / "6.note.json").write_text("[]", encoding="utf-8")
    (d.directory / "7.note.json").write_text('{"text": 3}', encoding="utf-8")
    (d.directory / "notes.txt").write_text("hello", encoding="utf-8")
    assert Drafts.for_desk("desk", root=tmp_path).unsent() == [(4, "reply")]


def test_an_unwritable_state_directory_keeps_drafts_in_memory(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(0o500)
    try:
        d = Drafts.for_desk("desk", root=root / "drafts")
        d.put(1, "note", "kept in memory")
        d.close()
        assert d.unsent() == [(1, "note")]
    finally:
        root.chmod(0o700)


def test_the_writer_waits_for_a_pause_but_not_forever(tmp_path, monkeypatch):
    monkeypatch.setattr(drafts_module, "DEBOUNCE", 0.2)
    monkeypatch.setattr(drafts_module, "AT_MOST", 0.6)
    d = Drafts.for_desk("desk", root=tmp_path)
    started = time.monotonic()
    i = 0
    while not list(tmp_path.rglob("1.note.json")):  # a key every 50 ms, never a pause
        i += 1
        d.put(1, "note", "k" * i)
        time.sleep(0.05)
        assert time.monotonic() - started < patience(3)
    assert time.monotonic() - started >= 0.5
    d.close()


def test_a_draft_keeps_the_version_it_began_on(tmp_path):
    """The version (and newest event) of the ticket when the draft began is written with its text and read back:
    a draft taken back after a restart is sent with it (tui/screens/stale.py), never as if begun now."""
    d = Drafts.for_desk("desk", root=tmp_path)
    d.begin(7, "reply", 5, 1234)  # the editor opened: nothing to write yet
    d.close()
    assert not list(tmp_path.rglob("*.json"))
    d = Drafts.for_desk("desk", root=tmp_path)
    d.begin(7, "reply", 5, 1234)
    d.put(7, "reply", "we are on it")
    d.put(8, "note", "no version known")
    d.close()
    [path] = tmp_path.rglob("7.reply.json")
    written = json.loads(path.read_text(encoding="utf-8"))
    assert (written["version"], written["last_event"]) == (5, 1234)
    again = Drafts.for_desk("desk", root=tmp_path)
    assert again.begun(7, "reply") == (5, 1234) and again.get(7, "reply") == "we are on it"
    assert again.begun(8, "note") is None
    again.put(7, "reply", "")  # sent or discarded: the version goes with it
    assert again.begun(7, "reply") is None
    again.close()
    path.write_text(json.dumps({"text": "x", "version": "5", "last_event": -1}), encoding="utf-8")
    assert Drafts.for_desk("desk", root=tmp_path).begun(7, "reply") is None  # not two whole numbers: unknown
