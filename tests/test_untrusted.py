"""Untrusted text (subjects, descriptions, replies and customer names come from customers) is kept exactly as
given and shown inert.

Payloads: Rich markup, ANSI CSI and OSC sequences (title change, OSC 8 hyperlink), the 8-bit CSI (U+009B),
C0 controls (NUL, BEL, backspace, a lone carriage return, DEL), bidirectional overrides (U+202E, U+2066), a
100,000-character line and a 1 MB body. Each goes into the subject, the description, a reply body, a note and
the customer name; read back through ``Desk.ticket`` and through ``show --json`` (``json.loads``) it is equal to
what was written; ``list``, ``show`` and ``history`` print no raw control or bidi character, and show the
escapes visibly (``\\x1b``, ``\\u202e``), markup as literal brackets.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

# (not ``from conftest import ...``: another directory's conftest.py can shadow the module name "conftest")
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "examples" / "deskterm.toml"


_CLI = []  # the session's cli_server, once a test of this module asked for it


def run_cli(*args: str, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command line: ``deskterm.cli.main`` forked from the session's preloaded process (``cli_server``:
    the same exit code and bytes on stdout and stderr as ``python -m deskterm.cli``, tests/test_corpus.py)."""
    return _CLI[0].run(*args, input=input, env=env)


@pytest.fixture(scope="module", autouse=True)
def _forked_cli(cli_server):
    _CLI[:] = [cli_server]


ESCAPES = (
    "[bold red]ALERT[/bold red] [link=https://evil.example]click[/link] "
    "\x1b[2J\x1b[31mred\x1b[0m \x1b]0;pwned title\x07 \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ "
    "\x9b31mc1\x9b0m bell\x07 back\x08space cr\rover del\x7f tab\tend crlf\r\nnext line\n"
    "rtl \u202egnp.exe\u202c isolate \u2066x\u2069 nul\x00byte"
)
LONG_LINE = ("0123456789" * 10_000)[:99_990] + "\x1b[31m\u202e!"  # 100k characters on one line
BIG = ("a line of a big body \x1b[1m\u202e [b]x[/b]\n" * 30_000)[: 1024 * 1024]  # 1 MB
PAYLOADS = {"escapes": ESCAPES, "long": LONG_LINE, "big": BIG}

# nothing a terminal would act on: C0 (but the newline), DEL, C1, bidi controls
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def desk_db(tmp_path_factory):
    """One ticket per payload, the payload everywhere; made through the service layer (1 MB does not fit in
    a command-line argument), plus one made through the real CLI (description from stdin, reply in argv)."""
    from deskterm.clock import Clock
    from deskterm.config import load_config
    from deskterm.service import Change, Desk, NewTicket
    from deskterm.store.engine import open_store

    db = tmp_path_factory.mktemp("untrusted") / "desk.db"
    store = open_store(db)
    desk = Desk(store, load_config(EXAMPLE_CONFIG), user="alice")
    ids = {}
    for name, p in PAYLOADS.items():
        t = desk.create(NewTicket(subject=p, customer=name + p, description=p, priority="P2", created_at=Clock().now()))
        desk.update(t.id, Change(reply=p))
        desk.update(t.id, Change(note=p, reason=p, status="open"))
        ids[name] = t.id
    store.dispose()
    base = ["--db", str(db), "--config", str(EXAMPLE_CONFIG)]
    argv_text = ESCAPES.replace("\x00", "")  # an argument cannot carry NUL
    r = run_cli(
        *base,
        "new",
        "--new-customer",
        "--subject",
        argv_text,
        "--customer",
        "cli" + argv_text,
        "--description",
        "-",
        input=BIG,
    )
    assert r.returncode == 0, r.stderr
    ids["cli"] = int(r.stdout)
    r = run_cli(*base, "update", str(ids["cli"]), "--reply", argv_text)
    assert r.returncode == 0, r.stderr
    return base, db, ids


def _expected(name: str) -> dict:
    if name == "cli":
        text = ESCAPES.replace("\x00", "")
        return {"subject": text, "customer": "cli" + text, "description": BIG, "bodies": [text]}
    p = PAYLOADS[name]
    return {"subject": p, "customer": name + p, "description": p, "bodies": [p, p]}


def _clean(stdout: str) -> None:
    found = RAW.search(stdout)
    assert found is None, (
        f"raw {found.group(0)!r} at {found.start()}: {stdout[max(found.start() - 40, 0) : found.start() + 40]!r}"
    )


@pytest.mark.parametrize("name", ["escapes", "long", "big", "cli"])
def test_stored_exactly_through_the_service_and_show_json(desk_db, name):
    from deskterm.config import load_config
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    base, db, ids = desk_db
    want = _expected(name)
    store = open_store(db)
    try:
        t = Desk(store, load_config(EXAMPLE_CONFIG), user="bob").ticket(ids[name])
    finally:
        store.dispose()
    assert (t.subject, t.customer, t.description) == (want["subject"], want["customer"], want["description"])
    assert [e.body for e in t.events if e.kind == "reply"] == want["bodies"]

    r = run_cli(*base, "show", str(ids[name]), "--json")
    assert r.returncode == 0, r.stderr
    _clean(r.stdout)  # JSON escapes what a terminal would act on
    data = json.loads(r.stdout)
    assert (data["subject"], data["customer"], data["description"]) == (
        want["subject"],
        want["customer"],
        want["description"],
    )
    assert [e["body"] for e in data["events"] if e["kind"] == "reply"] == want["bodies"]
    if name != "cli":
        assert [e.get("reason") for e in data["events"] if e["kind"] == "status"] == [PAYLOADS[name]]


def test_list_shows_everything_inert(desk_db):
    base, _, ids = desk_db
    r = run_cli(*base, "list")
    assert r.returncode == 0, r.stderr
    _clean(r.stdout)
    assert len(r.stdout.splitlines()) == 1 + len(ids)  # one line per ticket: no line break got through
    assert "[bold red]ALERT" in r.stdout  # markup is printed, not interpreted
    assert "\\x1b[" in r.stdout and "\\u202e" in r.stdout  # (lines are cut at 120 columns)


@pytest.mark.parametrize("name", ["escapes", "big"])
def test_show_and_history_show_everything_inert(desk_db, name):
    base, _, ids = desk_db
    r = run_cli(*base, "show", str(ids[name]))
    assert r.returncode == 0, r.stderr
    _clean(r.stdout)
    for visible in ("\\x1b[", "\\u202e", "[b"):
        assert visible in r.stdout
    if name == "escapes":
        assert "\\x1b]0;pwned title\\x07" in r.stdout and "\\x9b31m" in r.stdout and "\\x00" in r.stdout
        assert "[bold red]ALERT[/bold red]" in r.stdout
    h = run_cli(*base, "history", str(ids[name]))
    assert h.returncode == 0, h.stderr
    _clean(h.stdout)
    assert len(h.stdout.splitlines()) == 4  # created, reply, note, status: one line each


def test_long_line_and_big_body_come_back_whole_in_show(desk_db):
    base, _, ids = desk_db
    r = run_cli(*base, "show", str(ids["long"]))
    assert r.returncode == 0, r.stderr
    _clean(r.stdout)
    assert ("0123456789" * 9_999) in r.stdout  # the 100k line is not cut
