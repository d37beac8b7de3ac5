"""Public holidays of a country (or one of its subdivisions), kept year by year in the user's cache directory.

Importing the ``holidays`` package costs about 0.15 s (it loads the module of every country), on the path of
every command and of the app's first frame, while the dates it gives for one country, subdivision and year
never change for one version of the package. So each year's dates are computed once with the package and
kept in ``<user cache dir>/holidays-<package version>.json``; later runs read them from there and import the
package only for a code or a year not kept yet. A missing, damaged or unwritable cache only costs the import: a
damaged one (not JSON, or not of the shape ``{code: {year: {ISO date: name}}}``) keeps what is sound, is
rewritten at once, and leaves one warning (``take_warning``: the command line prints it on stderr, the app shows
it as a notice).
Several processes of one user may write it at once: each writes a whole file and renames it into place, so
the worst case is a year computed again.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import date
from pathlib import Path

_lock = threading.Lock()
_kept_years: dict[str, dict[str, dict[str, str]]] | None = None  # code → year → {ISO date: name}
_warning: str | None = None  # what was wrong with the cache file, until someone says it


def _version() -> str:
    """The installed version of the ``holidays`` package, from the name of its distribution's directory beside it
    (``holidays-0.109.dist-info``), what ``importlib.metadata`` reads too, without importing that module (and the
    e-mail package it imports: about 20 ms of every command's start, more than the rest of loading the
    configuration). Another kind of installation: ``importlib.metadata``."""
    from importlib.util import find_spec

    spec = find_spec("holidays")
    places = (spec.submodule_search_locations or []) if spec is not None else []
    for where in places:
        found = sorted(Path(where).parent.glob("holidays-*.dist-info"))
        if len(found) == 1:
            return found[0].name.removeprefix("holidays-").removesuffix(".dist-info")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("holidays")
    except PackageNotFoundError:
        return "unknown"


def cache_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("deskterm")) / f"holidays-{_version()}.json"


def take_warning() -> str | None:
    """What was wrong with the cache file this process read (once: the next call gives None)."""
    global _warning
    warning, _warning = _warning, None
    return warning


def _sound_dates(dates: object) -> bool:
    if not isinstance(dates, dict):
        return False
    try:
        return all(
            isinstance(day, str) and isinstance(name, str) and date.fromisoformat(day) is not None
            for day, name in dates.items()
        )
    except ValueError:
        return False


def _sound(data: object) -> tuple[dict[str, dict[str, dict[str, str]]], str | None]:
    """The sound part of what the file held, and what was not (None when all of it was sound)."""
    if not isinstance(data, dict):
        return {}, "not an object of country codes"
    kept: dict[str, dict[str, dict[str, str]]] = {}
    dropped = 0
    for code, years in data.items():
        if not isinstance(years, dict):
            dropped += 1
            continue
        for year, dates in years.items():
            if isinstance(year, str) and year.isdigit() and _sound_dates(dates):
                kept.setdefault(code, {})[year] = dates
            else:
                dropped += 1
    return kept, (f"{dropped} entr{'y' if dropped == 1 else 'ies'} of the wrong shape" if dropped else None)


def _kept() -> dict[str, dict[str, dict[str, str]]]:
    global _kept_years, _warning
    if _kept_years is None:
        path = cache_path()
        problem = None
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            data = {}
        except OSError:
            data = {}  # unreadable: computed again, and written if it can be
        except ValueError:  # not UTF-8, not JSON
            data, problem = {}, "not JSON"
        kept, wrong = _sound(data)
        problem = problem or wrong
        _kept_years = kept
        if problem:
            written = _write(kept)
            _warning = f"{path}: the holidays cache was damaged ({problem}): " + (
                "ignored and rewritten" if written else "ignored (it could not be rewritten)"
            )
    return _kept_years


def _write(kept: dict) -> bool:
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(kept), encoding="utf-8")
        os.replace(tmp, path)  # never a half-written file
    except OSError:
        return False  # a read-only home: the package is imported again next time, nothing worse
    return True


def _keep(code: str, year: int, dates: dict[str, str]) -> None:
    with _lock:
        kept = _kept()
        kept.setdefault(code, {})[str(year)] = dates
        _write(kept)


def is_known(code: str) -> bool:
    """Whether a code (``"FR"``, ``"US-NY"``) was checked by the package in an earlier run."""
    return bool(_kept().get(code))


def keep_this_year(code: str) -> None:
    """Compute and keep the current year of a code just checked (the package is imported already)."""
    year = date.today().year
    if str(year) not in _kept().get(code, {}):
        _keep(code, year, compute(code, year))


def compute(code: str, year: int) -> dict[str, str]:
    """The package's holidays of one year (imports it); raises what it raises for an unknown code."""
    import holidays

    country, _, subdiv = code.partition("-")
    found = holidays.country_holidays(country, subdiv=subdiv or None, years=year)
    return {day.isoformat(): name for day, name in sorted(found.items())}


class CountryHolidays:
    """``day in holidays`` and ``holidays.get(day)`` (the holiday's name), as the package's objects answer
    them, a year at a time: from this process's memory, else the cache file, else the package."""

    def __init__(self, code: str) -> None:
        self.code = code
        self._years: dict[int, dict[date, str]] = {}

    def _year(self, year: int) -> dict[date, str]:
        found = self._years.get(year)
        if found is None:
            dates = _kept().get(self.code, {}).get(str(year))
            if not isinstance(dates, dict):
                dates = compute(self.code, year)
                _keep(self.code, year, dates)
            found = {date.fromisoformat(day): name for day, name in dates.items()}
            self._years[year] = found  # (two threads may both compute a year: the same dates)
        return found

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and day in self._year(day.year)

    def get(self, day: date, default: str | None = None) -> str | None:
        return self._year(day.year).get(day, default)

    def __repr__(self) -> str:
        return f"CountryHolidays({self.code!r})"
