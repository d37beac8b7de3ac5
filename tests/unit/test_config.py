"""The configuration file (contract section 3): the example loads, defaults apply, and every invalid value is
reported as ``path: key: problem``, all problems of a file together."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskterm.config import DEFAULT_TARGETS, builtin_config, load_config
from deskterm.errors import BadInput

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "deskterm.toml"

CAL_ALWAYS = """
[calendars.always]
always = true
"""

POLICY_GOLD = """
[policies.gold]
calendar = "always"
P1 = { first_response = "15m", resolution = "4h", next_update = "1h" }
P2 = { first_response = "30m", resolution = "8h" }
P3 = { first_response = "2h",  resolution = "3d" }
P4 = { first_response = "8h",  resolution = "10d" }
"""

VALID = CAL_ALWAYS + POLICY_GOLD


def write(tmp_path: Path, text: str, name: str = "deskterm.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(BadInput) as info:
        load_config(path)
    lines = info.value.problems
    assert lines, "BadInput without problems"
    for line in lines:
        assert "\n" not in line
        assert line.startswith(f"{path}: "), line
    return lines


def only_problem(tmp_path: Path, text: str, key: str) -> str:
    """The file has exactly one problem, reported as ``path: key: ...``; returns what follows."""
    path = write(tmp_path, text)
    lines = problems_of(path)
    prefix = f"{path}: {key}: "
    assert len(lines) == 1, lines
    assert lines[0].startswith(prefix), lines
    return lines[0][len(prefix) :]


# -- loading ---------------------------------------------------------------------------------------------


def test_example_config_loads():
    config = load_config(EXAMPLE)
    assert config.timezone == "Europe/Paris"
    assert set(config.calendars) == {"office", "always"}
    office = config.calendars["office"]
    assert office.always is False
    assert office.timezone == "Europe/Paris"
    assert office.weekly[0] == ((9 * 60, 12 * 60 + 30), (13 * 60 + 30, 18 * 60))
    assert office.weekly[4] == ((9 * 60, 17 * 60),)
    assert 5 not in office.weekly and 6 not in office.weekly
    assert office.holidays is not None
    assert str(min(office.closed)) == "2026-12-24"
    assert config.calendars["always"].always is True

    assert set(config.policies) == {"gold"}
    gold = config.policies["gold"]
    assert gold.calendar is config.calendars["always"]
    assert gold.warn_at == 0.75
    assert set(gold.targets) == {"P1", "P2", "P3", "P4"}
    assert gold.targets["P1"].first_response == 15 * 60
    assert gold.targets["P1"].resolution == 4 * 3600
    assert gold.targets["P1"].next_update == 3600
    assert gold.targets["P2"].next_update is None
    assert gold.targets["P3"].resolution == 3 * 86400
    assert gold.targets["P4"].resolution == 10 * 86400

    assert config.customers == {"Clinique Saint-Jean": "gold"}
    assert config.default_policy == "gold"
    assert config.policy_for("Clinique Saint-Jean") is gold
    assert config.policy_for("Someone else") is gold
    assert config.source == EXAMPLE


def test_missing_file_at_default_location_gives_builtin_defaults():
    # conftest points XDG_CONFIG_HOME at an empty directory and unsets DESKTERM_CONFIG
    config = load_config()
    assert config.source is None
    assert list(config.calendars) == ["always"]
    assert config.calendars["always"].always is True
    assert len(config.policies) == 1
    (policy,) = config.policies.values()
    assert config.default_policy == policy.name
    assert policy.calendar.always is True
    assert set(policy.targets) == {"P1", "P2", "P3", "P4"}
    assert policy.targets == DEFAULT_TARGETS
    assert config.policy_for("anyone") is policy


def test_file_at_default_location_is_read(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "deskterm").mkdir()
    (tmp_path / "deskterm" / "deskterm.toml").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert set(load_config().policies) == {"gold"}


def test_explicit_path_that_does_not_exist_is_an_error(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(BadInput) as info:
        load_config(missing)
    assert info.value.exit_code == 2
    assert info.value.problems == [f"{missing}: no such configuration file"]


def test_deskterm_config_variable_that_does_not_exist_is_an_error(monkeypatch, tmp_path):
    missing = tmp_path / "env.toml"
    monkeypatch.setenv("DESKTERM_CONFIG", str(missing))
    with pytest.raises(BadInput) as info:
        load_config()
    assert info.value.problems == [f"{missing}: no such configuration file"]


def test_deskterm_config_variable_is_used(monkeypatch):
    monkeypatch.setenv("DESKTERM_CONFIG", str(EXAMPLE))
    assert load_config().source == EXAMPLE


def test_minimal_valid_file_loads(tmp_path):
    config = load_config(write(tmp_path, VALID))
    assert config.default_policy == "gold"  # the only policy is the default


# -- one invalid value at a time -------------------------------------------------------------------------


def test_policy_naming_an_unknown_calendar(tmp_path):
    text = CAL_ALWAYS + POLICY_GOLD.replace('calendar = "always"', 'calendar = "office"')
    what = only_problem(tmp_path, text, "policies.gold.calendar")
    assert "unknown calendar 'office'" in what


def test_policy_without_calendar(tmp_path):
    text = CAL_ALWAYS + POLICY_GOLD.replace('calendar = "always"\n', "")
    assert only_problem(tmp_path, text, "policies.gold.calendar") == "missing"


def office(**days: str) -> str:
    lines = ["[calendars.office]", 'timezone = "Europe/Paris"']
    lines += [f"{day} = {value}" for day, value in days.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "interval, reason",
    [
        ("9-17", "is not an interval HH:MM-HH:MM"),
        ("09:00", "is not an interval HH:MM-HH:MM"),
        ("9:00-17:00", "is not an interval HH:MM-HH:MM"),
        ("25:00-26:00", "is not an interval HH:MM-HH:MM"),
        ("09:60-17:00", "is not an interval HH:MM-HH:MM"),
        ("18:00-09:00", "ends before it starts"),
        ("09:00-09:00", "ends before it starts"),
    ],
)
def test_bad_business_hours(tmp_path, interval, reason):
    text = office(mon=f'["{interval}"]', tue='["09:00-18:00"]') + VALID
    what = only_problem(tmp_path, text, "calendars.office.mon")
    assert what == f"{interval!r} {reason}"


def test_interval_up_to_midnight_is_valid(tmp_path):
    config = load_config(write(tmp_path, office(mon='["18:00-24:00"]') + VALID))
    assert config.calendars["office"].weekly[0] == ((18 * 60, 24 * 60),)


def test_business_hours_that_are_not_a_list_of_strings(tmp_path):
    text = office(mon='"09:00-17:00"', tue='["09:00-18:00"]') + VALID
    assert "HH:MM-HH:MM" in only_problem(tmp_path, text, "calendars.office.mon")


def test_overlapping_intervals(tmp_path):
    text = office(mon='["13:00-18:00", "09:00-14:00"]') + VALID
    what = only_problem(tmp_path, text, "calendars.office.mon")
    assert what == "intervals overlap (09:00-14:00 and 13:00-18:00)"


def test_adjacent_intervals_do_not_overlap(tmp_path):
    config = load_config(write(tmp_path, office(mon='["09:00-12:00", "12:00-18:00"]') + VALID))
    assert config.calendars["office"].weekly[0] == ((540, 720), (720, 1080))


def test_unknown_top_level_time_zone(tmp_path):
    what = only_problem(tmp_path, 'timezone = "Europe/Pariss"\n' + VALID, "timezone")
    assert what == "unknown time zone 'Europe/Pariss'"


def test_unknown_calendar_time_zone(tmp_path):
    text = office(mon='["09:00-17:00"]').replace("Europe/Paris", "Mars/Olympus_Mons") + VALID
    what = only_problem(tmp_path, text, "calendars.office.timezone")
    assert what == "unknown time zone 'Mars/Olympus_Mons'"


def test_unknown_holiday_country(tmp_path):
    text = office(mon='["09:00-17:00"]', holidays='"ZZ"') + VALID
    what = only_problem(tmp_path, text, "calendars.office.holidays")
    assert what == "unknown holiday country 'ZZ'"


def test_unknown_holiday_subdivision(tmp_path):
    text = office(mon='["09:00-17:00"]', holidays='"FR-ZZZ"') + VALID
    what = only_problem(tmp_path, text, "calendars.office.holidays")
    assert what == "unknown subdivision 'ZZZ' of 'FR'"


def test_holiday_subdivision_is_accepted(tmp_path):
    config = load_config(write(tmp_path, office(mon='["09:00-17:00"]', holidays='"US-NY"') + VALID))
    assert config.calendars["office"].holidays is not None


def test_bad_closed_day(tmp_path):
    text = office(mon='["09:00-17:00"]', closed='["2026-02-30"]') + VALID
    assert "is not a date YYYY-MM-DD" in only_problem(tmp_path, text, "calendars.office.closed")


def test_calendar_without_business_hours(tmp_path):
    text = '[calendars.office]\ntimezone = "UTC"\n' + VALID
    assert "no business hours" in only_problem(tmp_path, text, "calendars.office")


@pytest.mark.parametrize("duration", ["15", "15 minutes", "0m", "-5m", "1.5h", "15M", "4w", ""])
def test_bad_duration(tmp_path, duration):
    text = CAL_ALWAYS + POLICY_GOLD.replace('first_response = "15m"', f'first_response = "{duration}"')
    what = only_problem(tmp_path, text, "policies.gold.P1.first_response")
    assert what.startswith(f"{duration!r} ")


def test_duration_that_is_a_number(tmp_path):
    text = CAL_ALWAYS + POLICY_GOLD.replace('resolution = "8h"', "resolution = 28800")
    assert only_problem(tmp_path, text, "policies.gold.P2.resolution").startswith("28800 ")


@pytest.mark.parametrize("value", ["0", "1", "1.5", '"0.75"', "-0.5", "true"])
def test_bad_warn_at(tmp_path, value):
    text = CAL_ALWAYS + POLICY_GOLD.replace('calendar = "always"', f'calendar = "always"\nwarn_at = {value}')
    what = only_problem(tmp_path, text, "policies.gold.warn_at")
    assert "between 0 and 1" in what


def test_good_warn_at(tmp_path):
    text = CAL_ALWAYS + POLICY_GOLD.replace('calendar = "always"', 'calendar = "always"\nwarn_at = 0.9')
    assert load_config(write(tmp_path, text)).policies["gold"].warn_at == 0.9


def test_policy_missing_a_priority(tmp_path):
    text = CAL_ALWAYS + POLICY_GOLD.replace('P3 = { first_response = "2h",  resolution = "3d" }\n', "")
    what = only_problem(tmp_path, text, "policies.gold.P3")
    assert what.startswith("missing")


def test_priority_missing_a_required_timer(tmp_path):
    text = CAL_ALWAYS + POLICY_GOLD.replace(
        'P4 = { first_response = "8h",  resolution = "10d" }', 'P4 = { first_response = "8h" }'
    )
    assert only_problem(tmp_path, text, "policies.gold.P4.resolution") == "missing"


def test_unknown_timer(tmp_path):
    text = CAL_ALWAYS + POLICY_GOLD.replace(
        'P2 = { first_response = "30m", resolution = "8h" }',
        'P2 = { first_response = "30m", resolution = "8h", reply = "1h" }',
    )
    assert "unknown timer" in only_problem(tmp_path, text, "policies.gold.P2.reply")


def test_customer_pointing_at_an_unknown_policy(tmp_path):
    text = VALID + '[customers."Clinique Saint-Jean"]\npolicy = "platinum"\n'
    what = only_problem(tmp_path, text, 'customers."Clinique Saint-Jean".policy')
    assert what == "unknown policy 'platinum'"


def test_customer_with_a_simple_name_is_not_quoted(tmp_path):
    text = VALID + '[customers.Acme]\npolicy = "platinum"\n'
    assert only_problem(tmp_path, text, "customers.Acme.policy") == "unknown policy 'platinum'"


def test_default_policy_unknown(tmp_path):
    what = only_problem(tmp_path, VALID + '[defaults]\npolicy = "silver"\n', "defaults.policy")
    assert what == "unknown policy 'silver'"


def test_default_policy_required_with_several_policies(tmp_path):
    text = VALID + POLICY_GOLD.replace("[policies.gold]", "[policies.silver]")
    assert only_problem(tmp_path, text, "defaults.policy").startswith("missing")


def test_unknown_top_level_key(tmp_path):
    what = only_problem(tmp_path, 'colour = "blue"\n' + VALID, "colour")
    assert what.startswith("unknown key")


def test_unknown_key_in_a_policy(tmp_path):
    text = CAL_ALWAYS + POLICY_GOLD.replace('calendar = "always"', 'calendar = "always"\nwarn = 0.5')
    assert only_problem(tmp_path, text, "policies.gold.warn").startswith("unknown key")


def test_invalid_toml_is_one_line_naming_the_file(tmp_path):
    path = write(tmp_path, VALID + "x = = 1\n")
    lines = problems_of(path)
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: invalid TOML: ")
    assert "line" in lines[0]


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(VALID.encode() + '[customers."Caf\xe9"]\npolicy = "gold"\n'.encode("latin-1"))
    assert problems_of(path) == [f"{path}: not UTF-8 text"]


# -- every problem of a file together --------------------------------------------------------------------


def test_all_problems_of_a_file_are_reported_together(tmp_path):
    text = """
timezone = "Nowhere/Special"
colour = "blue"

[calendars.office]
timezone = "Mars/Olympus_Mons"
holidays = "ZZ"
mon = ["9-17"]
tue = ["25:00-26:00"]
wed = ["18:00-09:00"]
thu = ["09:00-12:00", "11:00-13:00"]
fri = ["09:00-17:00"]

[calendars.always]
always = true

[policies.gold]
calendar = "always"
warn_at = 1.5
P1 = { first_response = "15", resolution = "4h" }
P2 = { first_response = "30m", resolution = "15 minutes" }
P4 = { first_response = "0m",  resolution = "-5m" }

[policies.silver]
calendar = "weekdays"
warn_at = "high"
P1 = { first_response = "15m", resolution = "4h" }
P2 = { first_response = "30m", resolution = "8h" }
P3 = { first_response = "2h",  resolution = "3d" }
P4 = { first_response = "8h",  resolution = "10d" }

[customers."Clinique Saint-Jean"]
policy = "platinum"

[defaults]
policy = "bronze"
"""
    path = write(tmp_path, text)
    lines = problems_of(path)
    keys = [line[len(f"{path}: ") :].split(": ", 1)[0] for line in lines]
    expected = [
        "colour",
        "timezone",
        "calendars.office.timezone",
        "calendars.office.mon",
        "calendars.office.tue",
        "calendars.office.wed",
        "calendars.office.thu",
        "calendars.office.holidays",
        "policies.gold.warn_at",
        "policies.gold.P1.first_response",
        "policies.gold.P2.resolution",
        "policies.gold.P3",
        "policies.gold.P4.first_response",
        "policies.gold.P4.resolution",
        "policies.silver.calendar",
        "policies.silver.warn_at",
        "defaults.policy",
        'customers."Clinique Saint-Jean".policy',
    ]
    assert sorted(keys) == sorted(expected), lines
    assert len(lines) == len(expected)


def test_cli_reports_a_bad_config_with_exit_2(tmp_path):
    from deskterm_testing import run_cli

    path = write(tmp_path, 'colour = "blue"\n' + VALID.replace('"15m"', '"15"'))
    db = tmp_path / "desk.db"
    out = run_cli("--db", str(db), "--config", str(path), "list")
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"{path}: colour: unknown key (known: ")
    assert (
        lines[1]
        == f"{path}: policies.gold.P1.first_response: '15' is not a duration such as 30m, 4h, 3d or 3bd (business days)"
    )
    assert "Traceback" not in out.stderr
    assert not db.exists()  # the configuration is checked before the database is touched


def test_customer_entries_are_followed_and_the_rest_is_only_said(tmp_path):
    """``CustomerEntries``: what an app running on a configuration file takes when the file changes."""
    from deskterm.config import CustomerEntries, load_config

    path = tmp_path / "desk.toml"
    targets = "".join(f'{p} = {{ first_response = "1h", resolution = "8h" }}\n' for p in ("P2", "P3", "P4"))
    base = (
        "[calendars.always]\nalways = true\n"
        f'[policies.gold]\ncalendar = "always"\nP1 = {{ first_response = "1h", resolution = "4h" }}\n{targets}'
        f'[policies.bronze]\ncalendar = "always"\nP1 = {{ first_response = "4h", resolution = "8h" }}\n{targets}'
        '[defaults]\npolicy = "bronze"\n[customers."Acme"]\npolicy = "gold"\n'
    )
    path.write_text(base, encoding="utf-8")
    config = load_config(path)
    entries = CustomerEntries(config)
    assert entries.check() is None  # unchanged: one stat
    path.write_text(base + '[customers."Acme SA"]\npolicy = "gold"\n', encoding="utf-8")
    assert entries.check() == "customers"
    assert config.policy_for("Acme SA").name == "gold" and config.fingerprint == load_config(path).fingerprint
    assert entries.check() is None
    path.write_text(base + '[customers."Acme SA"]\npolicy = "platinum"\n', encoding="utf-8")
    said = entries.check()
    assert said is not None and "unknown policy 'platinum'" in said and "keeps the configuration" in said, said
    assert config.policy_for("Acme SA").name == "gold"  # kept
    path.write_text(base.replace('resolution = "4h"', 'resolution = "5h"'), encoding="utf-8")
    said = entries.check()
    assert said is not None and "restart deskterm" in said, said
    assert config.customers == {"Acme": "gold", "Acme SA": "gold"}  # nothing taken half
    # a file a restart would refuse is not "restart to use it": it says why, and that the app keeps its own
    path.write_text(base + "this is [not toml\n", encoding="utf-8")
    said = entries.check()
    assert said is not None and "invalid TOML" in said and "line 19" in said, said
    assert "keeps the configuration it started with" in said and "will not start" in said, said
    path.write_text(base.replace('resolution = "4h"', 'resolution = "soon"'), encoding="utf-8")
    said = entries.check()
    assert said is not None and "policies.gold.P1.resolution" in said and "will not start" in said, said
    assert "restart deskterm to use it" not in said and config.customers == {"Acme": "gold", "Acme SA": "gold"}


def test_the_sla_fingerprint_is_the_sla_part_only(tmp_path):
    """The derived deadlines' fingerprint (kept in the desk's meta) changes with the zone, calendars, targets,
    default policy or a customer's policy, not with comments, other sections or the order of the tables."""
    base = (Path(__file__).parents[1] / "cli" / "business.toml").read_text()

    def fp(text: str, name: str = "c.toml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return load_config(path).sla_fingerprint

    same = fp(base)
    assert same.startswith("sla-") and fp(base, "other.toml") == same
    assert fp("# a copy\n" + base + '\n[canned.hi]\nbody = "Hello"\n') == same
    assert fp(base + '\n[customers."Nouveau SA"]\npolicy = "gold"\n') != same  # a customer's policy
    assert fp(base.replace('timezone = "Europe/Paris"            # how times are shown', 'timezone = "UTC"')) != same
    assert fp(base.replace('fri = ["09:00-17:00"]', 'fri = ["09:00-16:00"]', 1)) != same
    assert builtin_config().sla_fingerprint == "builtin-1"  # (what desks under the defaults keep already)
