"""What a command imports before it answers (issue 17, CLI start-up): each one only what it needs.

Most of a command's start-up is importing the store's libraries (SQLAlchemy, SQLModel with pydantic: about 0.8 s
of the 0.9 s of a ``show`` here); ``--version``, ``--help`` and a configuration error need none of them, a read
of a ticket needs neither the e-mail machinery nor the address validator (``--help``:
tests/unit/test_import_hygiene.py), nor the ORM's mappers configured. Each case runs the real entry point in a
new interpreter (the fork server of the other CLI tests has everything imported already) and asks it which
modules it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from deskterm_testing import EXAMPLE_CONFIG

STORE = ("sqlalchemy", "sqlmodel", "pydantic", "alembic")
MAIL = ("deskterm.mail", "email_validator", "textual")

PROBE = """
import json, sys
sys.argv = ["deskterm", *json.loads(sys.argv[1])]
from deskterm.entry import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
models = sys.modules.get("deskterm.store.models")
configured = models is not None and models.Ticket.__mapper__.configured
print(json.dumps({"code": code, "modules": sorted(sys.modules), "orm": configured}), file=sys.stderr)
"""


def run(*args: str) -> tuple[int, set[str], str, str]:
    code, modules, out, err, _ = run_orm(*args)
    return code, modules, out, err


def run_orm(*args: str) -> tuple[int, set[str], str, str, bool]:
    """Also whether the ORM's mappers were configured (what its first statement does: about 25 ms)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))], capture_output=True, text=True, timeout=120
    )
    *said, report = done.stderr.rstrip("\n").split("\n")
    result = json.loads(report)
    return result["code"], set(result["modules"]), done.stdout, "\n".join(said), result["orm"]


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(p for p in packages if any(m == p or m.startswith(p + ".") for m in modules))


def test_version_imports_neither_click_nor_the_store():
    from importlib.metadata import version

    import deskterm

    code, modules, out, err = run("--version")
    assert (code, out, err) == (0, f"deskterm, version {deskterm.__version__}\n", "")
    assert deskterm.__version__ == version("deskterm")  # what the installed package says (pyproject reads it)
    assert loaded(modules, ("click", "deskterm.cli", "importlib.metadata", *STORE)) == []


def test_a_configuration_error_is_said_before_the_store_is_imported(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[sla\n")
    for command in (["list", "--status", "open"], ["show", "1"], ["update", "1", "--note", "x"]):
        code, modules, out, err = run("--db", str(tmp_path / "desk.db"), "--config", str(bad), *command)
        assert code == 2 and out == "" and err.startswith(f"{bad}: invalid TOML"), (command, err)
        assert loaded(modules, STORE + MAIL) == [], command
    assert not (tmp_path / "desk.db").exists()  # nothing was created either


PLAIN_READ = (*STORE, "deskterm.store.models", "deskterm.store.engine", "deskterm.service", *MAIL)
PLAIN_READ += ("deskterm.domain.billing",)  # (the ticket screen's contracts: 5 % of a show's instructions)


@pytest.mark.engines("sqlite", "postgresql")
def test_show_and_list_read_through_the_driver_alone(desk, db_url):
    """``show`` and ``list --status`` of open statuses read through the driver (store/plain.py): neither SQLAlchemy,
    SQLModel with pydantic, the table models, the engine nor the service are imported; ``show --json`` (an open
    escalation is a table model) and ``list`` of closed statuses still use the store."""
    from deskterm.records import NewTicket

    ticket = desk.create(NewTicket(subject="VPN down", customer="Acme", priority="P2", created_at=desk.clock.now())).id
    desk.rederive()  # (as the first command does once: it writes)
    base = ["--db", db_url, "--config", str(EXAMPLE_CONFIG)]
    for command in (["show", str(ticket)], ["show", "--why", str(ticket)], ["list", "--status", "new"]):
        code, modules, out, err = run(*base, *command)
        assert code == 0 and "VPN down" in out, (command, err)
        assert loaded(modules, PLAIN_READ) == [], command
        assert ("psycopg" in modules) == db_url.startswith("postgresql"), command
    for command in (["show", "--json", str(ticket)], ["list", "--status", "closed", "--status", "new"]):
        code, modules, out, err, orm = run_orm(*base, *command)
        assert code == 0 and "VPN down" in out, (command, err)
        assert "sqlalchemy" in modules  # the store is read: its libraries are needed
        assert loaded(modules, MAIL) == [], command
        # every statement of list's read is Core (``store.models.core``): the ORM's mappers are never configured
        # (show --json reads the open escalation as a table model)
        assert not orm or command[0] == "show", command


@pytest.mark.engines("sqlite", "postgresql")
def test_update_writes_through_the_driver_alone(desk, db_url):
    """``update`` writes through the driver (store/plain_write.py) with the service's rules: none of the store's
    libraries imported; what it says, its refusals and the history are the service's."""
    from deskterm.records import NewTicket

    ticket = desk.create(NewTicket(subject="VPN down", customer="Acme", priority="P2", created_at=desk.clock.now())).id
    desk.rederive()
    base = ["--db", db_url, "--config", str(EXAMPLE_CONFIG), "update", str(ticket)]
    code, modules, out, err = run(*base, "--note", "rebooted the router", "--priority", "P1", "--reason", "outage")
    assert (code, out, err) == (0, "2\n", "") and loaded(modules, PLAIN_READ) == []
    for args, said in (
        (["--priority", "P1"], f"ticket {ticket}: nothing changed (the ticket already has those values)"),
        (["--status", "resolved", "--resolution-code", "nope"], "resolution code: 'nope' is not one of"),
        (["--note", "x", "--expect-version", "1"], f"ticket {ticket}: changed since version 1 (now version 2)"),
    ):
        code, modules, out, err = run(*base, *args)
        assert code != 0 and out == "" and err.startswith(said) and "\n" not in err, (args, err)
        assert loaded(modules, PLAIN_READ) == [], args
    t = desk.ticket(ticket)
    assert (t.version, t.priority) == (2, "P1")
    assert [(e.kind, e.body or e.to, e.reason) for e in t.events[-2:]] == [
        ("reply", "rebooted the router", None),
        ("priority", "P1", "outage"),
    ]
    assert all(e.author == t.events[-1].author != "alice" for e in t.events[-2:])  # the OS user's


def test_a_desk_to_migrate_or_derive_again_is_opened_by_the_store_then_read_plainly(tmp_path):
    """A desk whose deadlines were derived with another configuration (or that is to be created or migrated) is
    first opened by the store, which derives them again (a write); the next command reads it plainly."""
    db = tmp_path / "desk.db"
    base = ["--db", str(db), "--config", str(EXAMPLE_CONFIG)]
    code, modules, out, err = run(*base, "list", "--status", "new")  # no desk there: ``list`` creates none
    assert (code, out) == (2, "") and "no desk there" in err
    code, modules, out, err = run(*base, "customers", "list")
    assert (code, err) == (0, "")
    assert "sqlalchemy" in modules  # created and migrated by the store
    code, modules, out, err = run(*base, "list", "--status", "new")
    assert (code, err) == (0, "") and loaded(modules, PLAIN_READ) == []
    other = tmp_path / "other.toml"
    # another SLA (a comment alone is the same SLA: nothing derived again, tests/cli/test_list_from_deadlines.py)
    other.write_text(EXAMPLE_CONFIG.read_text().replace("warn_at = 0.75", "warn_at = 0.6", 1))
    code, modules, out, err = run("--db", str(db), "--config", str(other), "show", "1")
    assert (code, out, err) == (2, "", "ticket 1: no such ticket") and "sqlalchemy" in modules  # derived again
    code, modules, out, err = run("--db", str(db), "--config", str(other), "show", "1")
    assert (code, out, err) == (2, "", "ticket 1: no such ticket") and loaded(modules, PLAIN_READ) == []


def test_loading_a_configuration_with_holidays_imports_no_package_metadata():
    """The holidays' cache is keyed by the package's version, read from its distribution's directory name:
    neither ``importlib.metadata`` nor the e-mail package it imports (SQLAlchemy imports them, but a command
    says a bad configuration before importing it), nor ``holidays`` itself once its dates are kept."""
    from deskterm import holiday_cache

    probe = (
        "import json, sys; from deskterm.config import load_config; load_config(sys.argv[1]);"
        " from deskterm import holiday_cache; print(json.dumps([holiday_cache.cache_path().name, sorted(sys.modules)]))"
    )
    for _ in range(2):  # the first run may compute this year's dates (and import holidays) and keep them
        done = subprocess.run(
            [sys.executable, "-c", probe, str(EXAMPLE_CONFIG)], capture_output=True, text=True, timeout=120, check=True
        )
    name, modules = json.loads(done.stdout)
    assert loaded(set(modules), ("importlib.metadata", "email", "holidays")) == []
    from importlib.metadata import version

    assert name == f"holidays-{version('holidays')}.json" == holiday_cache.cache_path().name


RULES = """
[escalation]
managers = ["duty-manager"]

[[escalation.rules]]
when = "resolution.at 75%"
priority = ["P1"]
action = "hierarchical"
to = "duty-manager"
"""


@pytest.mark.engines("sqlite", "postgresql")
def test_escalate_due_opens_the_store_only_when_a_rule_is_due(db_url, tmp_path):
    """``escalate-due`` (now) looks through the driver alone (``PlainDesk.escalations_due``: what ``apply_rules``
    would fire); nothing due, it says so without importing the store. A rule due: the store fires it, once."""
    from datetime import UTC, datetime, timedelta

    from deskterm.config import load_config
    from deskterm.records import NewTicket
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    config = tmp_path / "rules.toml"
    config.write_text(EXAMPLE_CONFIG.read_text() + RULES)
    store = open_store(db_url)
    desk = Desk(store, load_config(config), user="alice")
    desk.rederive()
    now = datetime.now(UTC).replace(microsecond=0)
    desk.create(NewTicket(subject="Printer", customer="Acme", priority="P3", created_at=now - timedelta(hours=1)))
    base = ["--db", db_url, "--config", str(config), "escalate-due"]
    code, modules, out, err = run(*base)
    assert (code, out, err) == (0, "escalated 0 tickets\n", "") and loaded(modules, PLAIN_READ) == []
    due = desk.create(NewTicket(subject="VPN", customer="Acme", priority="P1", created_at=now - timedelta(days=3))).id
    code, modules, out, err = run(*base)
    assert (code, err) == (0, "") and out.startswith(f"escalated 1 ticket\n  #{due}  ") and "sqlalchemy" in modules
    code, modules, out, err = run(*base)  # fired once: nothing due any more, and the store is not opened
    assert (code, out, err) == (0, "escalated 0 tickets\n", "") and loaded(modules, PLAIN_READ) == []
    store.dispose()


@pytest.mark.parametrize("command", [["list", "--status", "open"], ["show", "1"]])
def test_an_unreachable_server_is_said_before_the_store_is_imported(command):
    """The reads through the driver alone find the server unreachable: they say so (the store's very line), and
    the store is not tried after them (an unreachable host made the command wait its connect timeout twice)."""
    url = "postgresql://deskterm:s3cret@127.0.0.1:1/desk"
    code, modules, out, err = run("--db", url, "--config", str(EXAMPLE_CONFIG), *command)
    assert code == 2 and out == ""
    assert err.strip().startswith("--db: cannot connect to postgresql+psycopg://deskterm:***@127.0.0.1:1/desk: ")
    assert len(err.strip().splitlines()) == 1 and "s3cret" not in err
    assert loaded(modules, STORE) == []
