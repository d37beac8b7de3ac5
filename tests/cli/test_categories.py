"""Categories (issue 15): the taxonomy of the configuration, set on tickets by `new`, `update` and `import`,
shown by `show --json`, refused outside the taxonomy (one line, exit 2, nothing written), filtered in the queue
by prefix (`category:network`), and a `report --by category` dimension. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from deskterm_testing import EXAMPLE_CONFIG, db_rows, db_state

pytestmark = pytest.mark.engines("sqlite", "postgresql")

TAXONOMY = """
[categories]
network = ["vpn", "wifi"]
access = ["password", "account"]
hardware = []
"""


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "deskterm.toml"
    path.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8") + TAXONOMY, encoding="utf-8")
    return path


@pytest.fixture
def cli(db_url, cfg, cli_server):
    def run(*args: str, input: str | None = None):
        return cli_server.run("--db", db_url, "--config", str(cfg), *args, input=input)

    return run


def ok(r) -> str:
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_new_update_show_and_history(cli, db_url):
    tid = ok(
        cli("new", "--new-customer", "--subject", "VPN down", "--customer", "Acme", "--category", "Network/VPN")
    ).strip()
    shown = json.loads(ok(cli("show", tid, "--json")))
    assert shown["category"] == "network/vpn"  # the configured spelling, whatever the case typed
    ok(cli("update", tid, "--category", "access/password"))
    ok(cli("update", tid, "--category", "none"))
    shown = json.loads(ok(cli("show", tid, "--json")))
    assert shown["category"] is None
    moves = [(e["from"] if "from" in e else None, e["to"]) for e in shown["events"] if e["kind"] == "category"]
    assert moves == [("network/vpn", "access/password"), ("access/password", None)]
    assert "category network/vpn → access/password" in ok(cli("history", tid))


def test_categories_command(cli):
    assert ok(cli("categories")).split() == [
        "network",
        "network/vpn",
        "network/wifi",
        "access",
        "access/password",
        "access/account",
        "hardware",
    ]
    tree = json.loads(ok(cli("categories", "--json")))
    assert tree[0] == {"category": "network", "subcategories": ["vpn", "wifi"]}


@pytest.mark.parametrize(
    "args",
    [
        ("new", "--new-customer", "--subject", "x", "--customer", "Acme", "--category", "network/vnp"),
        ("new", "--new-customer", "--subject", "x", "--customer", "Acme", "--category", "printers"),
        ("new", "--new-customer", "--subject", "x", "--customer", "Acme", "--category", "network/vpn/extra"),
    ],
)
def test_a_category_outside_the_taxonomy_is_refused(cli, db_url, args):
    ok(cli("new", "--new-customer", "--subject", "first", "--customer", "Acme"))
    before = db_state(db_url)
    r = cli(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("category: ") and "Traceback" not in r.stderr
    assert db_state(db_url) == before


def test_update_with_an_unknown_category_writes_nothing(cli, db_url):
    tid = ok(cli("new", "--new-customer", "--subject", "first", "--customer", "Acme")).strip()
    before = db_state(db_url)
    r = cli("update", tid, "--category", "network/vnp")
    assert r.returncode == 2
    assert r.stderr.strip() == "category: 'network/vnp' is not a category of the taxonomy (did you mean network/vpn?)"
    assert db_state(db_url) == before


def test_import_with_categories_all_or_nothing(cli, db_url, tmp_path):
    good = {"subject": "wifi flaky", "customer": "Acme", "priority": "P3", "created_at": "2026-03-27T10:00:00+01:00"}
    records = [
        {**good, "ref": "A-1", "category": "network/wifi"},
        {**good, "ref": "A-2", "category": "network/wlan"},
        {**good, "ref": "A-3"},
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    ok(cli("customers", "list"))  # the desk exists (empty; ``list`` creates none: tests/cli/test_missing_desk.py)
    before = db_state(db_url)
    r = cli("import", str(path))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"{path}:2: category: 'network/wlan' is not a category of the taxonomy (known: network, network/vpn,"
        " network/wifi, access, access/password, access/account, hardware)"
    ]
    assert db_state(db_url) == before
    records[1]["category"] = "ACCESS"
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    ok(cli("import", str(path)))
    assert sorted(db_rows(db_url, "SELECT ref, category FROM tickets")) == [
        ("A-1", "network/wifi"),
        ("A-2", "access"),
        ("A-3", None),
    ]


def test_report_by_category(cli):
    for subject, category in [("a", "network/vpn"), ("b", "network/vpn"), ("c", "access/password"), ("d", None)]:
        extra = ("--category", category) if category else ()
        ok(cli("new", "--new-customer", "--subject", subject, "--customer", "Acme", *extra))
    report = json.loads(ok(cli("report", "--by", "category", "--format", "json")))
    assert report["by"] == "category"
    created = {name: g["opened"] for name, g in report["groups"].items()}
    assert created == {"(none)": 1, "access/password": 1, "network/vpn": 2}


def test_no_taxonomy_configured(db_url, cli_server):
    r = cli_server.run(
        "--db",
        db_url,
        "--config",
        str(EXAMPLE_CONFIG),
        "new",
        "--new-customer",
        "--subject",
        "x",
        "--customer",
        "A",
        "--category",
        "x",
    )
    assert r.returncode == 2
    assert r.stderr.strip() == "category: 'x': no categories are configured (add a [categories] table)"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[categories]\n"net work" = []\n', "categories.net work: a category is a short name"),
        ('[categories]\nnetwork = ["vpn", "VPN"]\n', "categories.network: 'VPN' is listed twice"),
        ('[categories]\nnetwork = "vpn"\n', "categories.network: must be a list of subcategory names"),
        ("categories = 3\n", "categories: must be a table"),
    ],
)
def test_bad_taxonomy_in_the_configuration(db_url, cli_server, tmp_path, toml, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(toml, encoding="utf-8")
    r = cli_server.run("--db", db_url, "--config", str(cfg), "categories")
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr


def test_queue_filter_takes_the_subtree(desk_with_categories):
    from deskterm.store.queue import filter_conditions
    from deskterm.store.queue_terms import parse_filter

    desk = desk_with_categories
    now = desk.clock.now()
    for subject, category in [("a", "network/vpn"), ("b", "network"), ("c", "access/password"), ("d", None)]:
        from deskterm.records import NewTicket

        desk.create(NewTicket(subject=subject, customer="Acme", priority="P3", created_at=now, category=category))
    from sqlalchemy import select
    from sqlmodel import col

    from deskterm.store.models import Ticket

    def subjects(text: str) -> list[str]:
        f = parse_filter(text)
        with desk.store.read() as session:
            stmt = select(col(Ticket.subject)).where(*filter_conditions(f, "alice")).order_by(col(Ticket.subject))
            return list(session.execute(stmt).scalars())

    assert subjects("category:network") == ["a", "b"]
    assert subjects("category:NETWORK/vpn") == ["a"]
    assert subjects("cat:access,network/vpn") == ["a", "c"]
    assert subjects("category:printers") == []


@pytest.fixture
def desk_with_categories(db_url, cfg):
    from deskterm.clock import FrozenClock
    from deskterm.config import load_config
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    store = open_store(db_url)
    yield Desk(store, load_config(cfg), clock=FrozenClock(datetime(2026, 3, 27, 15, 0, tzinfo=UTC)), user="alice")
    store.dispose()


def test_top_reasons_and_their_trend():
    from deskterm.records import TicketRecord
    from deskterm.reports import top_reasons

    until = datetime(2026, 3, 30, tzinfo=UTC)
    since = until - timedelta(days=7)

    def t(i: int, days_ago: float, category: str | None) -> TicketRecord:
        at = until - timedelta(days=days_ago)
        return TicketRecord(
            i,
            None,
            "s",
            "",
            "c",
            "P3",
            "P3",
            None,
            None,
            "incident",
            "new",
            None,
            "L1",
            at,
            "x",
            at,
            1,
            None,
            None,
            category=category,
        )

    tickets = [
        t(1, 1, "network/vpn"), t(2, 2, "network/vpn"), t(3, 3, "network/vpn"),
        t(4, 8, "network/vpn"),  # the week before
        t(5, 1, "access/password"), t(6, 9, "access/password"), t(7, 10, "access/password"),
        t(8, 2, "hardware"), t(9, 1, None), t(10, 20, "network/vpn"),  # before both periods
    ]  # fmt: skip
    reasons = top_reasons(tickets, since, until)
    assert [(r.category, r.count, r.previous, r.trend) for r in reasons] == [
        ("network/vpn", 3, 1, "↑"),
        ("access/password", 1, 2, "↓"),
        ("hardware", 1, 0, "new"),
    ]
    tops = top_reasons(tickets, since, until, level=1)
    assert [(r.category, r.count) for r in tops] == [("network", 3), ("access", 1), ("hardware", 1)]
