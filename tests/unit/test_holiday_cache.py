"""Holidays kept in the user's cache: the same dates and names as the ``holidays`` package, and a second run
that neither imports the package (about 0.15 s on every command and before the app's first frame) nor
computes anything again; a damaged cache only costs the import."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

import holidays
import pytest

from deskterm import holiday_cache
from deskterm.holiday_cache import CountryHolidays


@pytest.fixture(autouse=True)
def _fresh_memory(monkeypatch):
    monkeypatch.setattr(holiday_cache, "_kept_years", None)  # as a new process starts
    monkeypatch.setattr(holiday_cache, "_warning", None)


def _days(year: int):
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


@pytest.mark.parametrize("code", ["FR", "US-NY", "DE-BY"])
def test_the_same_dates_and_names_as_the_package_cold_and_kept(code):
    country, _, subdiv = code.partition("-")
    for kept_run in (False, True):  # computed with the package, then read back from the file
        if kept_run:
            holiday_cache._kept_years = None
        ours = CountryHolidays(code)
        for year in (2025, 2026, 2027):
            theirs = holidays.country_holidays(country, subdiv=subdiv or None, years=year)
            assert [d for d in _days(year) if d in ours] == [d for d in _days(year) if d in theirs]
            assert all(ours.get(d) == theirs.get(d) for d in _days(year) if d in theirs)
    assert holiday_cache.cache_path().exists()


def test_a_second_run_imports_no_holidays_package(tmp_path):
    config = tmp_path / "deskterm.toml"
    config.write_text(
        '[calendars.office]\ntimezone = "Europe/Paris"\nmon = ["09:00-17:00"]\nholidays = "FR"\n'
        '[policies.standard]\ncalendar = "office"\nP1 = { first_response = "1h", resolution = "4h" }\n'
        'P2 = { first_response = "1h", resolution = "4h" }\nP3 = { first_response = "1h", resolution = "4h" }\n'
        'P4 = { first_response = "1h", resolution = "4h" }\n[defaults]\npolicy = "standard"\n'
    )
    code = (
        "import sys; from datetime import date; from deskterm.config import load_config;"
        f"c = load_config({str(config)!r}); cal = c.policies['standard'].calendar;"
        "print(date(2026, 7, 14) in cal.holidays, cal.holidays.get(date(2026, 7, 14)), date(2026, 7, 15) in cal.holidays,"
        " 'holidays' in sys.modules)"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert first[0] == second[0] == "True" and first[-2] == second[-2] == "False"
    assert first[1:-2] == second[1:-2] and "National" in " ".join(first)  # Fête nationale / National Day
    assert first[-1] == "True" and second[-1] == "False"  # the second run did not import the package


def test_a_damaged_cache_only_costs_the_import():
    path = holiday_cache.cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    assert date(2026, 12, 25) in CountryHolidays("FR")
    holiday_cache._kept_years = None
    assert holiday_cache.is_known("FR")  # rewritten whole
