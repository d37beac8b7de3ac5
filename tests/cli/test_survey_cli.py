"""Surveys: answers recorded on a resolved ticket (service and command line), reminders once, the KPIs.

Runs on SQLite and PostgreSQL; the command line goes through the fork server (the real ``deskterm.cli.main``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from deskterm import reports
from deskterm.clock import FrozenClock
from deskterm.domain.survey import SurveyAnswer
from deskterm.errors import BadInput, Refused
from deskterm.records import NewTicket
from deskterm.service import Change, Desk
from deskterm.store.engine import open_store
from deskterm_testing import EXAMPLE_CONFIG

pytestmark = pytest.mark.engines("sqlite", "postgresql")

NOW = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)


def _resolved(desk: Desk, subject: str = "printer") -> int:
    t = desk.create(NewTicket(subject=subject, customer="Clinique Saint-Jean", priority="P3", created_at=NOW))
    desk.update(t.id, Change(reply="Fixed: the toner was empty."))
    desk.update(t.id, Change(status="resolved"))
    return t.id


def test_an_answer_is_recorded_as_history_and_counted(desk) -> None:
    tid = _resolved(desk)
    version = desk.record_survey(tid, SurveyAnswer(csat=4, nps=9, ces=6, comment="quick"), author="customer")
    t = desk.ticket(tid)
    assert t.version == version and t.csat_score == 4 and t.csat_comment == "quick"
    survey = [(e.kind, e.to, e.body, e.author) for e in t.events if e.kind in ("csat", "nps", "ces")]
    assert survey == [
        ("csat", "4", "quick", "customer"),
        ("nps", "9", None, "customer"),
        ("ces", "6", None, "customer"),
    ]
    k = reports.compute(desk.tickets(), desk.sla, NOW - timedelta(days=1), NOW + timedelta(seconds=1))
    assert (k.csat_mean, k.nps, k.ces_mean) == (4.0, 100.0, 6.0)
    assert (k.csat_response_rate, k.nps_response_rate, k.ces_response_rate) == (1.0, 1.0, 1.0)
    # a later answer replaces the earlier one in the KPIs
    desk.record_survey(tid, SurveyAnswer(nps=3))
    k = reports.compute(desk.tickets(), desk.sla, NOW - timedelta(days=1), NOW + timedelta(seconds=1))
    assert (k.nps, k.detractors, k.promoters, k.csat_mean) == (-100.0, 1, 0, 4.0)


def test_bad_answers_are_refused_and_write_nothing(desk) -> None:
    tid = _resolved(desk)
    before = desk.ticket(tid).version
    with pytest.raises(BadInput, match=r"nps: 11 must be 0"):
        desk.record_survey(tid, SurveyAnswer(csat=4, nps=11))
    with pytest.raises(BadInput, match="no score"):
        desk.record_survey(tid, SurveyAnswer(comment="hello"))
    t = desk.create(NewTicket(subject="open", customer="Clinique Saint-Jean", priority="P3", created_at=NOW))
    with pytest.raises(Refused, match="once the ticket is resolved"):
        desk.record_survey(t.id, SurveyAnswer(csat=5))
    assert desk.ticket(tid).version == before


def test_a_reminder_once_per_resolution_and_never_after_an_answer(db_url, example_config) -> None:
    clock = FrozenClock(NOW)
    desk = Desk(open_store(db_url), example_config, clock=clock, user="alice")
    quiet, answered = _resolved(desk, "quiet"), _resolved(desk, "answered")
    desk.record_survey(answered, SurveyAnswer(csat=5))
    assert desk.survey_reminders_due(after=timedelta(days=3)) == []  # too early
    clock.advance(days=4)
    assert [t.id for t in desk.survey_reminders_due(after=timedelta(days=3))] == [quiet]
    desk.remind_survey(quiet)
    assert desk.survey_reminders_due(after=timedelta(days=3)) == []
    with pytest.raises(Refused, match="already reminded once"):
        desk.remind_survey(quiet)
    with pytest.raises(Refused, match="was answered"):
        desk.remind_survey(answered)
    # reopened and resolved again: a new survey, which may be reminded again
    desk.update(quiet, Change(status="open"))
    desk.update(quiet, Change(status="resolved"))
    clock.advance(days=4)
    assert [t.id for t in desk.survey_reminders_due(after=timedelta(days=3))] == [quiet]
    desk.store.dispose()


def _cli(cli_server, db_url):
    def run(*args: str, input: str | None = None):
        return cli_server.run("--db", db_url, "--config", str(EXAMPLE_CONFIG), *args, input=input)

    return run


def test_the_command_line(cli_server, db_url) -> None:
    cli = _cli(cli_server, db_url)
    tid = cli("new", "--subject", "VPN", "--customer", "Clinique Saint-Jean").stdout.strip()
    r = cli("survey", tid, "--csat", "4")
    assert (r.returncode, r.stdout, r.stderr.strip()) == (
        1,
        "",
        f"ticket {tid}: satisfaction is recorded once the ticket is resolved (it is new)",
    )
    assert cli("update", tid, "--status", "resolved").returncode == 0
    r = cli("survey", tid, "--csat", "4", "--nps", "9", "--ces", "6", "--comment", "merci")
    assert r.returncode == 0, r.stderr
    reply = "5 / 10 / 7 — parfait\n\nLe lun. 30 nov. 2026, Desk a écrit :\n> Satisfaction 1-5 ?\n"
    r = cli("survey", tid, "--answer", "-", input=reply)
    assert r.returncode == 0, r.stderr
    events = json.loads(cli("show", tid, "--json").stdout)["events"]
    survey = [(e["kind"], e["to"], e.get("comment")) for e in events if e["kind"] in ("csat", "nps", "ces")]
    assert survey == [
        ("csat", "4", "merci"),
        ("nps", "9", None),
        ("ces", "6", None),
        ("csat", "5", "parfait"),
        ("nps", "10", None),
        ("ces", "7", None),
    ]
    report = json.loads(cli("report", "--format", "json").stdout)["total"]
    assert (report["csat_mean"], report["nps"], report["ces_mean"]) == (5.0, 100.0, 7.0)
    assert cli("survey", tid, "--remind").returncode == 1  # answered: no reminder
    for args, message in [
        (("--nps", "11"), "nps: 11 must be 0 (not at all likely to recommend) to 10 (extremely likely)"),
        (("--ces", "0", "--csat", "6"), "csat: 6 must be 1 (very unhappy) to 5 (very happy); ces: 0 must be 1"),
        ((), "no score: give a CSAT (1-5), an NPS (0-10) or a CES (1-7)"),
        (("--answer", "Thanks, all good"), "--answer: no survey answer found in the text"),
        (("--answer", "CSAT 9"), "--answer: csat: 9 must be 1"),
        (("--answer", "4", "--csat", "4"), "survey: give --answer or the scores, not both"),
        (("--remind", "--csat", "4"), "survey: --remind goes alone"),
    ]:
        r = cli("survey", tid, *args)
        assert r.returncode == 2 and r.stderr.startswith(message) and r.stderr.count("\n") == 1, (args, r.stderr)
        assert "Traceback" not in r.stderr
    assert len(json.loads(cli("show", tid, "--json").stdout)["events"]) == len(events)  # nothing written
