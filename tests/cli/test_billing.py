"""Time, change requests, contracts and billing (issue 18): the service on a frozen clock with hand-computed
amounts, and the real command line for its output and its bad input (one line, exit 2, nothing written), on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from deskterm.billing import as_csv, as_json, as_markdown, month_bill, parse_month
from deskterm.clock import FrozenClock
from deskterm.config import parse_config
from deskterm.domain.billing import Contract, RuleError, amount_cents, check_approval, parse_work
from deskterm.errors import BadInput
from deskterm.records import NewTicket
from deskterm.service import Change, Desk
from deskterm.store.engine import open_store
from deskterm_testing import db_state

pytestmark = pytest.mark.engines("sqlite", "postgresql")

UTC_CONFIG = '[calendars.always]\nalways = true\ntimezone = "UTC"\n'


@pytest.fixture
def manager(db_url):
    clock = FrozenClock(datetime(2026, 10, 1, 8, 0, tzinfo=UTC))
    config = parse_config({"timezone": "UTC"})
    store = open_store(db_url)
    desk = Desk(store, config, clock=clock, user="alice")
    yield desk, clock
    store.dispose()


def _ticket(desk: Desk, subject: str, customer: str, at: datetime) -> int:
    return desk.create(NewTicket(subject=subject, customer=customer, priority="P3", created_at=at)).id


# -- the rules --------------------------------------------------------------------------------------------------


def test_work_durations():
    assert parse_work("25m") == 1500
    assert parse_work("1h30") == parse_work("1h30m") == parse_work("90m") == 5400
    assert parse_work("24h") == 86400
    for bad, what in (
        ("-25m", "negative"),
        ("0m", "longer than zero"),
        ("24h01", "more than 24 h"),
        ("1.5h", "not a duration"),
    ):
        with pytest.raises(RuleError, match=what):
            parse_work(bad)


def test_approval_moves_one_step_at_a_time():
    check_approval(None, "proposed")
    check_approval("proposed", "approved")
    check_approval("approved", "delivered")
    check_approval("delivered", "invoiced")
    check_approval("proposed", "rejected")
    for current, to in ((None, "approved"), ("proposed", "delivered"), ("approved", "invoiced"), ("invoiced", "x")):
        with pytest.raises(RuleError):
            check_approval(current, to)
    with pytest.raises(RuleError, match="final"):
        check_approval("rejected", "approved")


def test_amount_rounds_half_up_to_the_cent():
    assert amount_cents(5400, 9550) == 14325  # 1.5 h × 95.50
    assert amount_cents(1500, 9550) == 3979  # 25 min × 95.50 = 39.7916…
    assert amount_cents(60, 3) == 0  # 0.05 cent
    assert amount_cents(600, 3) == 1  # 0.5 cent: half up


# -- the service, by hand -------------------------------------------------------------------------------------


def test_month_bill_adds_up(manager):
    desk, clock = manager
    sept = datetime(2026, 9, 20, 9, 0, tzinfo=UTC)
    old = _ticket(desk, "old contract's defect", "Acme", sept)
    defect = _ticket(desk, "VPN drops", "Acme", datetime(2026, 10, 1, 7, 0, tzinfo=UTC))
    cr_ok = _ticket(desk, "New export", "Acme", datetime(2026, 10, 1, 7, 30, tzinfo=UTC))
    cr_no = _ticket(desk, "Dark mode", "Acme", datetime(2026, 10, 1, 7, 40, tzinfo=UTC))
    other = _ticket(desk, "not theirs", "Globex", datetime(2026, 10, 1, 7, 40, tzinfo=UTC))
    desk.add_contract(Contract("Basic 2026", "Acme", date(2026, 1, 1), date(2026, 9, 30), rate_cents=8000))
    desk.add_contract(
        Contract("Gold", "Acme", date(2026, 10, 1), date(2027, 9, 30), True, None, 2 * 3600, 9550, "apps")
    )
    desk.update(defect, Change(classification="defect"))
    for t in (cr_ok, cr_no):
        desk.update(t, Change(classification="change_request"))
        desk.change_request(t, estimate=8 * 3600, approval="proposed")
    desk.change_request(cr_ok, approval="approved")
    clock.set(datetime(2026, 10, 2, 10, 0, tzinfo=UTC))
    desk.log_time(defect, parse_work("1h30"), "logs")
    desk.log_time(defect, parse_work("45m"))  # 2h15 of covered work: 15 min beyond the 2 h included
    desk.log_time(old, parse_work("20m"))  # the old contract's ticket: its own (ended) contract
    desk.log_time(cr_ok, parse_work("3h20"))
    desk.log_time(cr_no, parse_work("1h"))  # proposed only: not billed, not in the included hours
    desk.log_time(other, parse_work("5h"))
    clock.set(datetime(2026, 11, 2, 10, 0, tzinfo=UTC))
    desk.log_time(cr_ok, parse_work("2h"))  # November: not in October's bill, counted "to date" in November

    with desk.store.read() as session:
        mb = month_bill(session, "Acme", parse_month("2026-10", desk.config.tz, clock.now()), desk.config.tz)
    bills = {b.contract.name: b for b in mb.bills}
    assert set(bills) == {"Basic 2026", "Gold"}
    gold = bills["Gold"]
    assert gold.included_used == 2 * 3600 + 15 * 60
    assert gold.included_left == 0 and gold.beyond_included == 15 * 60
    assert [(c.item.ticket_id, c.item.seconds, c.billable, c.amount_cents) for c in gold.changes] == [
        (cr_ok, 3 * 3600 + 20 * 60, True, 31833),  # 3.333… h × 95.50 = 318.333… → 318.33
        (cr_no, 3600, False, 0),
    ]
    assert gold.amount_cents == 31833 and gold.billable_seconds == 3 * 3600 + 20 * 60
    basic = bills["Basic 2026"]
    assert basic.included_used == 20 * 60 and basic.amount_cents == 0
    data = as_json(mb)
    assert data["amount"] == 318.33 and data["amount_cents"] == 31833
    gold_json = next(c for c in data["contracts"] if c["name"] == "Gold")
    assert gold_json["included_used_hours"] == 2.25 and gold_json["beyond_included_hours"] == 0.25
    assert gold_json["change_requests"][0]["approved_by"] == "alice"
    assert gold_json["change_requests"][0]["estimate_hours"] == 8.0
    md = as_markdown(mb)
    assert "**Total for 2026-10**: 318.33" in md and "0.25 beyond the included hours (not billed)" in md
    rows = as_csv(mb).splitlines()
    assert f"Gold,change_request,{cr_ok},,New export,change_request,approved,3.33,318.33" in rows

    with desk.store.read() as session:
        nov = month_bill(session, "Acme", parse_month("2026-11", desk.config.tz, clock.now()), desk.config.tz)
    (gold_nov,) = [b for b in nov.bills if b.contract.name == "Gold"]
    assert [(c.item.seconds, c.item.total_seconds, c.amount_cents) for c in gold_nov.changes] == [
        (7200, 7200 + 3 * 3600 + 20 * 60, 19100)
    ]


def test_time_is_in_the_history_and_versioned(manager):
    desk, _clock = manager
    t = _ticket(desk, "x", "Acme", datetime(2026, 10, 1, 7, 0, tzinfo=UTC))
    v = desk.ticket(t).version
    assert desk.log_time(t, 1500, "read the logs", expect_version=v) == v + 1
    event = desk.ticket(t).events[-1]
    assert (event.kind, event.author, event.to, event.body) == ("time", "alice", "1500", "read the logs")
    assert desk.time_logged(t)[0][1:] == ("alice", 1500, "read the logs")
    from deskterm.errors import Conflict

    with pytest.raises(Conflict):
        desk.log_time(t, 60, expect_version=v)
    assert len(desk.time_logged(t)) == 1


def test_refusals_write_nothing(manager, db_url):
    desk, _clock = manager
    t = _ticket(desk, "x", "Acme", datetime(2026, 10, 1, 7, 0, tzinfo=UTC))
    desk.add_contract(Contract("A", "Acme", date(2026, 1, 1), date(2026, 12, 31)))
    before = db_state(db_url)
    for call in (
        lambda: desk.add_contract(Contract("B", "Acme", date(2026, 12, 1), date(2027, 3, 1))),  # overlaps A
        lambda: desk.add_contract(Contract("C", "Acme", date(2027, 3, 1), date(2027, 2, 1))),  # end before start
        lambda: desk.add_contract(Contract("D", "Nobody", date(2027, 3, 1))),  # unknown customer
        lambda: desk.log_time(t, -60),
        lambda: desk.log_time(t, 25 * 3600),
        lambda: desk.change_request(t, approval="proposed"),  # not a change request
    ):
        with pytest.raises(BadInput):
            call()
    assert db_state(db_url) == before
    desk.update(t, Change(classification="change_request"))
    desk.change_request(t, approval="proposed")
    before = db_state(db_url)
    with pytest.raises(BadInput, match="proposed cannot become invoiced"):
        desk.change_request(t, approval="invoiced")
    assert db_state(db_url) == before


# -- the command line -------------------------------------------------------------------------------------------


def test_cli_billing_and_bad_input(db_url, tmp_path, cli_server):
    cfg = tmp_path / "desk.toml"
    cfg.write_text('timezone = "UTC"\n')

    def cli(*args: str):
        return cli_server.run("--db", db_url, "--config", str(cfg), *args)  # the real CLI, forked

    assert cli("new", "--new-customer", "--subject", "=HYPERLINK(1)", "--customer", "Acme <b>").returncode == 0
    assert cli("contract", "add", "--customer", "Acme <b>", "--name", "Gold", "--start", "2026-01-01",
               "--renews", "2026-12-31", "--included", "10h", "--rate", "95.50").returncode == 0  # fmt: skip
    assert cli("update", "1", "--classification", "change_request").returncode == 0
    assert cli("change-request", "1", "--estimate", "6h", "--approval", "proposed").returncode == 0
    assert cli("change-request", "1", "--approval", "approved").returncode == 0
    out = cli("time", "1", "1h30", "--note", "built it")
    assert out.returncode == 0, out.stderr
    month = datetime.now(UTC).strftime("%Y-%m")
    data = json.loads(cli("billing", "--customer", "Acme <b>", "--month", month, "--format", "json").stdout)
    (cr,) = data["contracts"][0]["change_requests"]
    assert (cr["hours"], cr["state"], cr["amount"]) == (1.5, "approved", 143.25)
    md = cli("billing", "--customer", "Acme <b>", "--month", month).stdout
    assert "Acme \\<b\\>" in md and "143.25" in md
    csv_text = cli("billing", "--customer", "Acme <b>", "--month", month, "--format", "csv").stdout
    assert "'=HYPERLINK(1)" in csv_text

    before = db_state(db_url)
    bad = [
        (("contract", "add", "--customer", "Acme <b>", "--name", "G2", "--start", "2026-06-01"), "overlaps 'Gold'"),
        (
            (
                "contract",
                "add",
                "--customer",
                "Acme <b>",
                "--name",
                "G3",
                "--start",
                "2028-06-01",
                "--end",
                "2028-01-01",
            ),
            "ends (2028-01-01) before it starts",
        ),  # fmt: skip
        (("contract", "add", "--customer", "Nobody", "--name", "G", "--start", "2028-06-01"), "unknown customer"),
        (("change-request", "1", "--approval", "invoiced"), "approved cannot become invoiced"),
        (("time", "1", "-25m"), "cannot be negative"),
        (("time", "1", "25h"), "more than 24 h"),
        (("time", "1", "0m"), "longer than zero"),
        (("billing", "--customer", "Acme <b>", "--month", "2099-01"), "2099-01 is in the future"),
        (("billing", "--customer", "Nobody", "--month", month), "unknown customer 'Nobody'"),
        (("billing", "--customer", "Acme <b>", "--month", "October"), "not a month"),
    ]
    for args, words in bad:
        out = cli(*args)
        assert out.returncode == 2, (args, out.stderr)
        lines = out.stderr.splitlines()
        assert len(lines) == 1 and words in lines[0], (args, lines)
        assert "Traceback" not in out.stderr
    assert db_state(db_url) == before
    history = cli("history", "1").stdout
    assert "change request proposed → approved" in history and "time logged 1h30m: built it" in history


def test_report_lists_contracts_ending_and_churn(db_url, tmp_path, cli_server):
    cfg = tmp_path / "desk.toml"
    cfg.write_text('timezone = "UTC"\n')

    def cli(*args: str):
        return cli_server.run("--db", db_url, "--config", str(cfg), *args)  # the real CLI, forked

    today = datetime.now(UTC).date()
    for customer in ("Acme", "Globex", "Initech"):
        assert cli("new", "--new-customer", "--subject", "x", "--customer", customer).returncode == 0
    soon, gone = today + timedelta(days=30), today - timedelta(days=2)
    assert (
        cli(
            "contract", "add", "--customer", "Acme", "--name", "A", "--start", "2026-01-01", "--end", str(soon)
        ).returncode
        == 0
    )
    assert (
        cli(
            "contract", "add", "--customer", "Globex", "--name", "G", "--start", "2026-01-01", "--end", str(gone)
        ).returncode
        == 0
    )
    # Initech's contract ended too, but a new one starts the day after: a renewal, not churn
    assert (
        cli(
            "contract", "add", "--customer", "Initech", "--name", "I1", "--start", "2026-01-01", "--end", str(gone)
        ).returncode
        == 0
    )
    assert (
        cli(
            "contract", "add", "--customer", "Initech", "--name", "I2", "--start", str(gone + timedelta(days=1))
        ).returncode
        == 0
    )
    data = json.loads(cli("report", "--format", "json").stdout)
    assert data["contracts_ending_within_60_days"] == [
        {"customer": "Acme", "name": "A", "end": str(soon), "renews": False}
    ]
    assert data["churn"] == [{"customer": "Globex", "name": "G", "end": str(gone), "renews": False}]
    md = cli("report").stdout
    assert f"- Acme: A, ends {soon}" in md and f"- Globex: G ended {gone}" in md
