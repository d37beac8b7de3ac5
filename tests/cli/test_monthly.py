"""The customer's monthly SLA report and the continuous-improvement report (issue 18), on a desk built through
the service on a frozen clock: figures equal to the KPI functions', billing by hand, the HTML rendered in a real
headless Chromium and its text checked against the JSON report; problems and corrective actions; bad input."""

from __future__ import annotations

import json
import shutil
import stat
import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest

from deskterm import monthly, reports
from deskterm.clock import FrozenClock
from deskterm.config import parse_config
from deskterm.domain.billing import Contract
from deskterm.errors import BadInput
from deskterm.records import NewTicket
from deskterm.service import Change, Desk
from deskterm.store.engine import open_store
from deskterm_testing import db_state

pytestmark = pytest.mark.engines("sqlite", "postgresql")

NAME = "Acme <b>&"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def month_desk(db_url):
    """October 2026 at Acme: a P1 met, a P1 breached twice (response, resolution), a delivered change request of
    3 h at 100.00, a problem linking both P1s with one action done (late) and one overdue, a CSAT of 5."""
    clock = FrozenClock(at(1, 8))
    store = open_store(db_url)
    desk = Desk(store, parse_config({"timezone": "UTC"}), clock=clock, user="alice")
    ids = {}

    def new(key, subject, prio, when, type_="incident", customer=NAME):
        clock.set(when)
        ids[key] = desk.create(
            NewTicket(subject=subject, customer=customer, priority=prio, created_at=when, type=type_)
        ).id

    new("met", "VPN drops", "P1", at(5, 9))
    new("other", "not theirs", "P1", at(5, 9), customer="Globex")
    desk.add_contract(Contract("Gold", NAME, date(2026, 1, 1), date(2026, 12, 31), True, None, 10 * 3600, 10000))
    clock.set(at(5, 9, 10))
    desk.update(ids["met"], Change(reply="On it."))
    clock.set(at(5, 12))
    desk.resolve(ids["met"], "fixed")
    desk.rate(ids["met"], 5, "great <b>work</b>")
    new("late", "VPN down again", "P1", at(6, 9))
    clock.set(at(6, 9, 40))
    desk.update(ids["late"], Change(reply="Looking."))
    clock.set(at(6, 15))
    desk.resolve(ids["late"], "fixed")
    new("cr", "New export", "P3", at(7, 10), type_="request")
    desk.update(ids["cr"], Change(classification="change_request"))
    for state in ("proposed", "approved", "delivered"):
        desk.change_request(ids["cr"], estimate=4 * 3600 if state == "proposed" else None, approval=state)
    clock.set(at(8, 10))
    desk.log_time(ids["cr"], 3 * 3600, "built it")
    new("problem", "VPN concentrator firmware", "P3", at(8, 11), type_="problem")
    desk.update_problem(ids["problem"], root_cause="firmware leak", known_error=True, workaround="restart tunnel")
    desk.link_problem(ids["problem"], [ids["met"], ids["late"]])
    done = desk.add_action(ids["problem"], "upgrade firmware", "me", date(2026, 10, 12))
    desk.add_action(ids["problem"], "monitor memory", "me", date(2026, 10, 25))
    clock.set(at(15, 10))
    desk.set_action(done, "done")
    clock.set(datetime(2026, 11, 5, 10, 0, tzinfo=UTC))
    yield desk, ids
    store.dispose()


def test_customer_report_figures_are_the_kpi_functions(month_desk):
    desk, ids = month_desk
    r = monthly.customer_report(desk, NAME, "2026-10")
    since, until = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    tickets = [t for t in desk.tickets_for_period(since, until) if t.customer == NAME]
    k = reports.compute(tickets, lambda t: desk.sla(t, until), since, until, desk.escalations(open_only=False))
    assert r["volumes"] == {"opened": k.opened, "resolved": k.resolved, "backlog": k.backlog}
    assert (k.opened, k.resolved) == (4, 2)
    # the P3 request and problem were never answered (four timers breached), and neither P1 had an update within
    # the hour of its reply (next update, 1 h): 2 met of 10
    assert r["overall_compliance"] == round(100 * k.overall_compliance, 1) == 20.0
    rows = {(c["priority"], c["timer"]): (c["target"], c["met"], c["breached"], c["rate"]) for c in r["compliance"]}
    assert rows[("P1", "first_response")] == ("15m", 1, 1, 50.0)
    assert rows[("P1", "resolution")] == ("4h00m", 1, 1, 50.0)
    assert sorted((b["ticket"], b["timer"]) for b in r["breaches"]) == sorted(
        [(ids[key], timer) for key in ("late", "cr", "problem") for timer in ("first_response", "resolution")]
        + [(ids["met"], "next_update"), (ids["late"], "next_update")]
    )
    assert len(r["breaches"]) == sum(c["breached"] for c in r["compliance"]) == len(k.breaches)
    why = {b["timer"]: b["why"] for b in r["breaches"] if b["ticket"] == ids["late"]}
    assert why["first_response"].startswith("target 15m under P1, counted on calendar always (24x7)")
    assert why["resolution"].endswith("due 2026-10-06 13:00")
    assert r["change_requests"] == [
        {
            "ticket": ids["cr"],
            "ref": None,
            "subject": "New export",
            "state": "delivered",
            "hours": 3.0,
            "amount": 300.0,
            "contract": "Gold",
        }
    ]
    assert r["billed_amount"] == 300.0
    assert r["surveys"]["csat_mean"] == 5.0 and r["surveys"]["comments"][0]["comment"] == "great <b>work</b>"
    (problem,) = r["problems"]
    assert problem["incidents"] == sorted([ids["met"], ids["late"]]) and problem["known_error"]
    assert [(a["title"], a["state"], a["overdue"], a["late"]) for a in problem["actions"]] == [
        ("upgrade firmware", "done", False, True),
        ("monitor memory", "open", True, False),
    ]
    assert [t["month"] for t in r["trend"]] == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    assert r["trend"][-1] == {"month": "2026-10", "opened": 4, "resolved": 2, "compliance": 20.0}
    assert all(t["opened"] == 0 for t in r["trend"][:-1])

    md = monthly.customer_markdown(r)
    assert "# Service report — Acme \\<b\\>& — 2026-10" in md and "| P1 | first response | 15m | 1 | 1 | 50.0 |" in md
    page = monthly.customer_html(r)
    assert "<b>&" not in page.split("<body>")[1].replace("<b>Gold</b>", "")  # the customer's text never markup
    assert "Acme &lt;b&gt;&amp;" in page and "great &lt;b&gt;work&lt;/b&gt;" in page
    assert "<script" not in page and "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    # the satisfaction figures as `report` and the dashboard write them: means to two decimals, the NPS signed
    line = "CSAT 5.00 (1 answer) · NPS — (0 answers) · CES — (0 answers)"
    assert line in md and f"<p>{line}</p>" in page
    scored = {**r, "surveys": {**r["surveys"], "nps": -33.3, "nps_responses": 3, "ces_mean": 5.5, "ces_responses": 2}}
    line = "CSAT 5.00 (1 answer) · NPS -33 (3 answers) · CES 5.50 (2 answers)"
    assert line in monthly.customer_markdown(scored) and f"<p>{line}</p>" in monthly.customer_html(scored)
    assert '<div class="kpi"><b>+100</b>NPS</div>' in monthly.customer_html(
        {**r, "surveys": {**r["surveys"], "nps": 100.0}}
    )


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.engines("sqlite")
def test_html_rendered_by_a_real_browser_shows_the_json_figures(month_desk, db_url, tmp_path, cli_server):
    import os

    if _chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing (.ci/run installs it)")
        pytest.skip("no chromium on this machine")
    from pypdf import PdfReader

    desk, ids = month_desk
    r = monthly.customer_report(desk, NAME, "2026-10")
    # the HTML printed by the browser through `report --format pdf --output FILE`
    cfg = tmp_path / "desk.toml"
    cfg.write_text('timezone = "UTC"\n')
    where = tmp_path / "out"
    where.mkdir()
    pdf = where / "report.pdf"
    args = ("--db", db_url, "--config", str(cfg), "report", "--customer", NAME, "--month", "2026-10")
    out = cli_server.run(*args, "--format", "pdf", "--output", str(pdf))
    assert out.returncode == 0 and out.stderr == "" and out.stdout.startswith(f"{pdf}: "), out.stderr
    assert stat.S_IMODE(pdf.stat().st_mode) == 0o600
    assert [p.name for p in where.iterdir()] == ["report.pdf"]  # the work directory is gone
    text = "\n".join(p.extract_text() for p in PdfReader(str(pdf)).pages)
    # as a reader reads it: the browser's fonts set "fi" as one glyph (U+FB01), which the extraction keeps
    text = unicodedata.normalize("NFKC", text)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert f"Service report — {NAME} — 2026-10" in lines  # the name as text, escaped in the HTML, shown as typed
    for c in r["compliance"]:
        label = {"first_response": "first response", "resolution": "resolution", "next_update": "next update"}
        row = f"{c['priority']} {label[c['timer']]} {c['target']} {c['met']} {c['breached']} {c['rate']}"
        assert row in lines, (row, lines)
    for t in r["trend"]:
        assert (
            f"{t['month']} {t['opened']} {t['resolved']} {t['compliance'] if t['compliance'] is not None else '—'}"
            in lines
        )
    for b in r["breaches"]:
        assert any(line.startswith(f"#{b['ticket']} ") for line in lines)
    flat = " ".join(lines)
    for b in r["breaches"]:
        assert " ".join(b["why"].split()[:6]) in flat
    assert f"Billed this month: {r['billed_amount']:.2f}" in lines
    assert f"#{ids['cr']} New export delivered 3.00 300.00" in lines
    for value, label in ((r["volumes"]["opened"], "opened"), (r["overall_compliance"], "SLA compliance %")):
        assert str(value) in lines and label in lines
    assert "“great <b>work</b>”" in flat
    assert "Root cause: firmware leak" in flat and "monitor memory" in flat


def test_improvement_report_lists_what_the_desk_did(month_desk):
    desk, ids = month_desk
    r = monthly.improvement_report(desk, "2026-10")
    assert [p["ticket"] for p in r["problems_opened"]] == [ids["problem"]]
    assert r["problems_closed"] == []
    assert r["problems_most_incidents"] == [
        {"ticket": ids["problem"], "subject": "VPN concentrator firmware", "incidents_this_month": 2}
    ]
    assert [a["title"] for a in r["actions_done"]] == ["upgrade firmware"]
    assert sorted(a["title"] for a in r["actions_late"]) == ["monitor memory", "upgrade firmware"]
    # both customers: Acme's 2 met and 8 breached, and Globex's P1 never answered (2 breached)
    assert r["sla_trend"][-1]["compliance"] == 16.7
    assert r["changes_since_last_month"]["opened"] == [0, 5]
    md = monthly.improvement_markdown(r)
    assert "upgrade firmware (alice, problem #" in md and "- opened: 0 → 5" in md


def test_problem_rules_and_history(month_desk):
    desk, ids = month_desk
    for call, words in (
        (lambda: desk.link_problem(ids["met"], [ids["late"]]), "not a problem"),
        (lambda: desk.link_problem(ids["problem"], [ids["problem"]]), "a problem cannot be linked"),
        (lambda: desk.update_problem(ids["met"], root_cause="x"), "not a problem"),
        (lambda: desk.add_action(ids["problem"], "x", "nobody-known", date(2026, 12, 1)), "unknown agent"),
        (lambda: desk.set_action(1, "done"), "done is final"),
    ):
        with pytest.raises(BadInput, match=words):
            call()
    kinds = [(e.kind, e.to) for e in desk.ticket(ids["met"]).events]
    assert ("problem-link", str(ids["problem"])) in kinds
    problem_events = [e for e in desk.ticket(ids["problem"]).events if e.kind in ("problem", "action")]
    assert [(e.kind, e.to) for e in problem_events][:3] == [
        ("problem", "root_cause"),
        ("problem", "workaround"),
        ("problem", "known_error"),
    ]


def test_cli_reports_and_bad_input(month_desk, db_url, tmp_path, cli_server):
    cfg = tmp_path / "desk.toml"
    cfg.write_text('timezone = "UTC"\n')

    def cli(*args):
        return cli_server.run("--db", db_url, "--config", str(cfg), *args)  # the real CLI, forked

    out = cli("report", "--customer", NAME, "--month", "2026-10", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["billed_amount"] == 300.0
    assert (
        "<title>Service report — Acme &lt;b&gt;&amp; — 2026-10</title>"
        in cli("report", "--customer", NAME, "--month", "2026-10", "--format", "html").stdout
    )
    assert cli("improvement", "--month", "2026-10").stdout.startswith("# Continuous improvement — 2026-10")
    future = (datetime.now(UTC) + timedelta(days=40)).strftime("%Y-%m")
    before = db_state(db_url)
    for args, words in (
        (("report", "--customer", NAME, "--month", future), "is in the future"),
        (("report", "--customer", "Nobody", "--month", "2026-10"), "unknown customer 'Nobody'"),
        (("report", "--customer", NAME), "--customer and --month go together"),
        (("report", "--format", "html"), "html is for the customer's report"),
        (("improvement", "--month", future), "is in the future"),
        (("problem", "1", "--link", "2"), "not a problem"),
        (("action", "add", "1", "--title", "x", "--owner", "me", "--due", "someday"), "not a date"),
    ):
        out = cli(*args)
        assert out.returncode == 2, (args, out.stderr)
        lines = out.stderr.splitlines()
        assert len(lines) == 1 and words in lines[0], (args, lines)
    assert db_state(db_url) == before


@pytest.mark.engines("sqlite")
def test_cli_pdf_without_a_browser_or_when_it_fails_writes_nothing(month_desk, db_url, tmp_path, cli_server):
    """No Chromium on PATH: one line saying what is missing, exit 2. A browser that fails after writing half a
    file: exit 1, and the output keeps what it held (a PDF is written under a temporary name, then renamed)."""
    cfg = tmp_path / "desk.toml"
    cfg.write_text('timezone = "UTC"\n')
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    where = tmp_path / "out"
    where.mkdir()
    pdf = where / "out.pdf"
    args = ("--db", db_url, "--config", str(cfg), "report", "--customer", NAME, "--month", "2026-10")
    env = {"PATH": str(bin_dir)}  # no browser there
    out = cli_server.run(*args, "--format", "pdf", "--output", str(pdf), env=env)
    assert out.returncode == 2 and out.stdout == ""
    (line,) = out.stderr.splitlines()
    assert line.startswith("--format pdf: no headless Chromium found") and "--format html" in line
    assert not pdf.exists()
    broken = bin_dir / "chromium"
    broken.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do case "$a" in\n'
        '  --print-to-pdf=*) printf "%%PDF-1.4 half" > "${a#--print-to-pdf=}";;\n'
        "esac; done\n"
        "exit 3\n"
    )
    broken.chmod(0o755)
    pdf.write_bytes(b"the report of last month")
    out = cli_server.run(*args, "--format", "pdf", "--output", str(pdf), env=env)
    assert out.returncode == 1 and out.stderr.strip().endswith("did not print the report (exit 3)"), out.stderr
    assert pdf.read_bytes() == b"the report of last month"
    assert [p.name for p in where.iterdir()] == ["out.pdf"]
    for extra, words in (
        (("--format", "pdf"), "a PDF needs --output FILE"),
        (("--format", "html", "--output", str(pdf)), "only a PDF is written to a file"),
        (("--format", "pdf", "--output", str(tmp_path / "nowhere" / "x.pdf")), "no such directory"),
    ):
        out = cli_server.run(*args, *extra, env=env)
        assert out.returncode == 2 and len(out.stderr.splitlines()) == 1 and words in out.stderr, (extra, out.stderr)
