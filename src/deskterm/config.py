"""The configuration file (contract section 3): calendars, SLA policies, customers, display zone.

Loaded from ``--config``, ``DESKTERM_CONFIG`` or the platformdirs location; a missing file means the
built-in defaults (one 24x7 calendar, one policy). Every problem is collected and reported as
``path: key: problem`` before anything runs (exit 2).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .domain.agents import AgentEntry
from .domain.calendar import WEEKDAYS, BusinessCalendar, parse_hhmm_interval
from .domain.escalation import KINDS, LEVELS, EscalationSettings, Rule, parse_condition
from .domain.priority import PRIORITIES
from .domain.sla import TIMERS, Policy, Targets
from .domain.taxonomy import Taxonomy, parse_tree
from .errors import BadInput

if TYPE_CHECKING:  # holiday_cache is imported only when a calendar names holidays
    from .domain.alerts import AlertSettings
    from .domain.routing import RoutingRule
    from .holiday_cache import CountryHolidays
    from .mail.settings import MailSettings

Bad = Callable[[str, str], None]  # reports one problem: the key, and what is wrong with it

_DURATION = re.compile(r"^([0-9]+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION = 36500 * 86400  # 100 years: longer is a typing error, and would carry deadlines past datetime's range


def parse_duration(text: object) -> int:
    """``"15m"`` → 900 seconds. ``d`` is 24 hours of counted time."""
    if not isinstance(text, str) or not (m := _DURATION.match(text.strip())):
        raise ValueError(f"{text!r} is not a duration such as 30m, 4h or 3d")
    digits = m.group(1).lstrip("0")
    seconds = int(digits or "0") * _UNITS[m.group(2)] if len(digits) <= 15 else MAX_DURATION + 1
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    if seconds > MAX_DURATION:
        raise ValueError(f"{text!r} is longer than 100 years (36500d)")
    return seconds


_BUSINESS_DAYS = re.compile(r"^([0-9]+)bd$")
MAX_BUSINESS_DAYS = 3650


def parse_target(text: object) -> int | tuple[str, int]:
    """A policy target: a duration (``"4h"`` → 14400 seconds) or business days (``"3bd"`` → ("bd", 3))."""
    if isinstance(text, str) and (m := _BUSINESS_DAYS.match(text.strip())):
        digits = m.group(1).lstrip("0")
        days = int(digits) if digits and len(digits) <= 6 else (0 if not digits else MAX_BUSINESS_DAYS + 1)
        if days <= 0:
            raise ValueError(f"{text!r} must be longer than zero")
        if days > MAX_BUSINESS_DAYS:
            raise ValueError(f"{text!r} is longer than {MAX_BUSINESS_DAYS} business days")
        return ("bd", days)
    if isinstance(text, str) and looks_like_duration(text):
        return parse_duration(text)  # its own errors: zero, longer than 100 years
    raise ValueError(f"{text!r} is not a duration such as 30m, 4h, 3d or 3bd (business days)")


def looks_like_duration(text: str) -> bool:
    """Written as a duration (``30m``, ``99999999999d``), whether or not its length is acceptable."""
    return bool(_DURATION.match(text.strip()))


def default_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("deskterm")) / "deskterm.toml"


def system_timezone() -> str:
    """The machine's zone name (TZ, then /etc/localtime), else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name:
            try:
                ZoneInfo(name)
                return name
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return "UTC"


DEFAULT_TARGETS = {
    "P1": Targets(first_response=15 * 60, resolution=4 * 3600, next_update=3600),
    "P2": Targets(first_response=30 * 60, resolution=8 * 3600, next_update=4 * 3600),
    "P3": Targets(first_response=2 * 3600, resolution=3 * 86400),
    "P4": Targets(first_response=8 * 3600, resolution=10 * 86400),
}


DEFAULT_RESOLUTION_CODES = ("fixed", "workaround", "user-guidance", "no-fault-found", "duplicate", "cancelled")


@dataclass
class Config:
    timezone: str = "UTC"
    calendars: dict[str, BusinessCalendar] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)  # customer name → policy name
    default_policy: str = "standard"
    source: Path | None = None  # the file it came from, None for built-in defaults
    fingerprint: str = "builtin-1"  # of the file's bytes: changes when the file does (a running app notices it)
    # the file's part that the derived deadlines depend on (the zone as resolved, calendars, policies, defaults),
    # canonical: see ``sla_fingerprint``; "" for the built-in defaults
    sla_basis: str = ""
    resolution_codes: tuple[str, ...] = DEFAULT_RESOLUTION_CODES
    canned: dict[str, str] = field(default_factory=dict)  # name → reply template
    escalation: EscalationSettings = field(default_factory=EscalationSettings)
    agents: tuple[AgentEntry, ...] = ()  # [agents.NAME]
    unix_group: str = ""  # [directory] unix_group: its members are agents too
    allow_new_agents: bool = False  # [directory] allow_new: assignments accept names outside the directory
    warnings: list[str] = field(default_factory=list)  # valid but probably not meant: one line each on stderr
    mail: MailSettings | None = None  # [mail]: customer e-mail in and out (None: none sent, none taken)
    taxonomy: Taxonomy = field(default_factory=Taxonomy)  # [categories]: the contact reasons
    routing: tuple[RoutingRule, ...] = ()  # [[routing]]: rules applied when a ticket is created
    # [alertmanager]: alerts in (domain/alerts.py), as the file gives it; None: absent (``alertmanager``: the
    # defaults). The alerts' and routing's modules are imported by a file that has their tables, or when asked.
    alerts: AlertSettings | None = None

    @property
    def alertmanager(self) -> AlertSettings:
        return self.alerts if self.alerts is not None else _default_alerts()

    @property
    def sla_fingerprint(self) -> str:
        """What the derived deadlines were computed under, kept in the desk's ``meta`` (``sla_config``): the time
        zone, calendars, policies, the default policy and each customer's policy, whatever the file's layout,
        comments or other sections. Two files that differ only elsewhere (another agent's copy, a mail setting,
        a canned reply) give the same, so switching between them does not derive every open ticket's deadlines
        again."""
        if not self.sla_basis:
            return "builtin-1"
        text = json.dumps([self.sla_basis, sorted(self.customers.items()), self.default_policy])
        return "sla-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def acting_agent(self, user: str | None = None) -> str:
        """The agent this process acts as: the name it was given, else the agent of the OS account running it
        (``agent_for_account``). The service's author of every change, and the queue's "My tickets"."""
        from .clock import os_user

        return user or self.agent_for_account(os_user())

    def agent_for_account(self, account: str) -> str:
        """The agent name of an OS account: the agent whose ``os_user`` it is, else the account's own name."""
        for agent in self.agents:
            if agent.os_user == account:
                return agent.name
        return account

    def policy_for(self, customer: str) -> Policy:
        return self.policies[self.customers.get(customer, self.default_policy)]

    def policy_reason(self, customer: str) -> str:
        """Why this customer gets its policy (for explanations)."""
        if customer in self.customers:
            return f"customer {customer!r} is configured with policy {self.customers[customer]!r}"
        return f"customer {customer!r} has no entry: the default policy {self.default_policy!r} applies"


def builtin_config() -> Config:
    always = BusinessCalendar(name="always", always=True)
    policy = Policy(name="standard", calendar=always, targets=dict(DEFAULT_TARGETS), warn_at=0.75)
    return Config(
        timezone=system_timezone(),
        calendars={"always": always},
        policies={"standard": policy},
        default_policy="standard",
    )


@functools.cache
def _default_alerts() -> AlertSettings:
    from .domain.alerts import AlertSettings

    return AlertSettings()


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the configuration: explicit path, else $DESKTERM_CONFIG, else the platformdirs file.

    An explicit path (option or variable) that does not exist is an error; the default location may be
    absent (built-in defaults).
    """
    explicit = path if path is not None else os.environ.get("DESKTERM_CONFIG") or None
    file = Path(explicit) if explicit else default_config_path()
    if not file.exists():
        if explicit:
            raise BadInput(f"{file}: no such configuration file")
        return builtin_config()
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise BadInput(f"{file}: cannot read: {exc.strerror}") from None
    config = parse_config(_document(raw, str(file)), str(file))
    config.fingerprint = hashlib.sha256(raw).hexdigest()[:16]
    return config


def _document(raw: bytes, where: str) -> dict[str, Any]:
    """The configuration file's bytes as a TOML document; BadInput (one line) when they are not one."""
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInput(f"{where}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{where}: invalid TOML: {exc}") from None


# the configuration's keys that the derived deadlines depend on (with each customer's policy: ``sla_fingerprint``)
SLA_KEYS = ("timezone", "calendars", "policies", "defaults")


class CustomerEntries:
    """What a running app takes from its configuration file when the file changes under it: the customers'
    entries (``[customers."NAME"] policy``), when nothing else of the file changed. Renaming a customer asks for the
    new name's entry in the file first (``customers rename``); an app that kept the entries it started with would
    show the renamed customer's tickets under the default policy, and store their deadlines so when it changes
    one. Any other change of the file is only said (the app must be restarted to use it).

    ``check()`` is cheap while the file does not change (one ``stat``); it runs on the app's poll, after a commit.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self._stamp = self._stat()
        self._data: dict[str, Any] | None = None  # the file as the app read it (None: not known, or no file)
        raw = self._read()
        if raw is not None and hashlib.sha256(raw).hexdigest()[:16] == config.fingerprint:
            self._data = _document(raw, str(config.source))  # (the file the configuration was read from)

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.config.source) if self.config.source is not None else None
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size) if st is not None else None

    def _read(self) -> bytes | None:
        try:
            return self.config.source.read_bytes() if self.config.source is not None else None
        except OSError:
            return None

    def check(self) -> str | None:
        """None when there is nothing to do; ``"customers"`` when the customers' entries were taken from the file
        (the caller reads its tickets again); else one line saying why the rest of the change is not taken."""
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return None
        self._stamp = stamp
        raw = self._read()
        if raw is None:
            return None
        fingerprint = hashlib.sha256(raw).hexdigest()[:16]
        if fingerprint == self.config.fingerprint:
            return None
        where = str(self.config.source)
        try:
            data = _document(raw, where)
            parse_config(data, where)
        except BadInput as exc:  # a restart would not start: said so, and why, instead of "restart to use it"
            problems = str(exc).splitlines()
            error = problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
            return (
                f"{error}: this app keeps the configuration it started with; deskterm will not start until it is fixed"
            )
        if self._data is None:
            return f"{where} changed: restart deskterm to use it"
        rest_new = {k: v for k, v in data.items() if k != "customers"}
        rest_old = {k: v for k, v in self._data.items() if k != "customers"}
        if rest_new != rest_old:
            return f"{where} changed: restart deskterm to use it (only the customers' entries are taken at once)"
        customers: dict[str, str] = {}
        for name, spec in (data.get("customers") or {}).items():
            policy = spec.get("policy") if isinstance(spec, dict) else None
            if not isinstance(policy, str) or policy not in self.config.policies or set(spec) != {"policy"}:
                return f"{where}: customers.{_quote(name)}: not a policy of this configuration: the entries are kept"
            customers[name] = policy
        self._data = data
        self.config.fingerprint = fingerprint
        if customers == self.config.customers:
            return None
        self.config.customers.clear()
        self.config.customers.update(customers)
        return "customers"


def parse_config(data: dict[str, Any], where: str = "config") -> Config:
    """Validate a parsed TOML document; raise BadInput listing every problem."""
    problems: list[str] = []

    def bad(key: str, what: str) -> None:
        problems.append(f"{where}: {key}: {what}")

    warnings: list[str] = []

    def warn(key: str, what: str) -> None:
        warnings.append(f"{where}: {key}: {what}")

    known = {
        "timezone",
        "calendars",
        "policies",
        "customers",
        "defaults",
        "resolution_codes",
        "canned",
        "groups",
        "escalation",
        "agents",
        "directory",
        "mail",
        "categories",
        "routing",
        "alertmanager",
    }
    for key in data:
        if key not in known:
            bad(key, f"unknown key (known: {', '.join(sorted(known))})")

    timezone = data.get("timezone", system_timezone())
    if not _valid_zone(timezone):
        bad("timezone", f"unknown time zone {timezone!r}")
        timezone = "UTC"

    calendars: dict[str, BusinessCalendar] = {}
    raw_cals = _table(data, "calendars", bad)
    for name, spec in raw_cals.items():
        cal = _parse_calendar(name, spec, bad)
        if cal is not None:
            calendars[name] = cal
    if not raw_cals:
        calendars["always"] = BusinessCalendar(name="always", always=True)

    policies: dict[str, Policy] = {}
    raw_pols = _table(data, "policies", bad)
    for name, spec in raw_pols.items():
        pol = _parse_policy(name, spec, calendars, set(raw_cals), bad, warn)
        if pol is not None:
            policies[name] = pol
    if not raw_pols:
        default_cal = calendars.get("always") or BusinessCalendar(name="always", always=True)
        policies["standard"] = Policy("standard", default_cal, dict(DEFAULT_TARGETS), 0.75)

    defaults = _table(data, "defaults", bad)
    for key in defaults:
        if key != "policy":
            bad(f"defaults.{key}", "unknown key (known: policy)")
    default_policy = defaults.get("policy")
    if default_policy is None:
        default_policy = next(iter(raw_pols), "standard") if len(raw_pols) <= 1 else None
        if default_policy is None:
            bad("defaults.policy", "missing: with several policies, name the one for customers with no entry")
    elif default_policy not in raw_pols and not (not raw_pols and default_policy == "standard"):
        bad("defaults.policy", f"unknown policy {default_policy!r}")

    customers: dict[str, str] = {}
    for name, spec in _table(data, "customers", bad).items():
        key = f"customers.{_quote(name)}"
        if not isinstance(spec, dict):
            bad(key, 'must be a table such as { policy = "gold" }')
            continue
        for k in spec:
            if k != "policy":
                bad(f"{key}.{k}", "unknown key (known: policy)")
        pol = spec.get("policy")
        if pol is None:
            bad(f"{key}.policy", "missing")
        elif pol not in raw_pols:
            bad(f"{key}.policy", f"unknown policy {pol!r}")
        else:
            customers[name] = pol

    codes = data.get("resolution_codes", list(DEFAULT_RESOLUTION_CODES))
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) and c.strip() for c in codes):
        bad("resolution_codes", "must be a non-empty list of names")
        codes = list(DEFAULT_RESOLUTION_CODES)
    elif len(set(codes)) != len(codes):
        bad("resolution_codes", "a code is listed twice")
    canned: dict[str, str] = {}
    for name, spec in _table(data, "canned", bad).items():
        key = f"canned.{_quote(name)}"
        if not isinstance(spec, dict) or not isinstance(spec.get("body"), str) or not spec["body"].strip():
            bad(key, 'must be a table with a body: [canned.ack] body = "Hello {customer}, ..."')
            continue
        for k in spec:
            if k != "body":
                bad(f"{key}.{k}", "unknown key (known: body)")
        canned[name] = spec["body"]

    escalation = _parse_escalation(data, set(raw_pols), bad)
    agents = _parse_agents(data, {"L1", *escalation.groups}, bad)
    directory = _table(data, "directory", bad)
    for k in directory:
        if k not in ("unix_group", "allow_new"):
            bad(f"directory.{k}", "unknown key (known: allow_new, unix_group)")
    unix_group = directory.get("unix_group", "")
    if not isinstance(unix_group, str):
        bad("directory.unix_group", "must be the name of a unix group")
        unix_group = ""
    allow_new = directory.get("allow_new", False)
    if not isinstance(allow_new, bool):
        bad("directory.allow_new", "must be true or false")
        allow_new = False

    mail = None
    if "mail" in data:
        from .mail.settings import parse_mail

        mail = parse_mail(data, bad, parse_duration)
    taxonomy = parse_tree(data["categories"], bad) if "categories" in data else Taxonomy()
    routing: tuple[RoutingRule, ...] = ()
    if "routing" in data:
        from .domain.routing import parse_rules

        routing = parse_rules(data["routing"], taxonomy, set(escalation.groups), bad)
    alerts = None
    if "alertmanager" in data:
        from .domain.alerts import AlertSettings
        from .domain.alerts import parse_settings as parse_alert_settings
        from .mail.settings import parse_size

        alerts = parse_alert_settings(data["alertmanager"], bad, parse_size) or AlertSettings()
    if problems:
        raise BadInput(problems)
    return Config(
        mail=mail,
        taxonomy=taxonomy,
        routing=routing,
        alerts=alerts,
        agents=agents,
        unix_group=unix_group,
        allow_new_agents=allow_new,
        escalation=escalation,
        resolution_codes=tuple(codes),
        canned=canned,
        timezone=timezone,
        calendars=calendars,
        policies=policies,
        customers=customers,
        default_policy=default_policy or "standard",
        source=Path(where) if where != "config" else None,
        warnings=warnings,
        sla_basis=json.dumps(
            {**{key: data.get(key) for key in SLA_KEYS}, "timezone": timezone}, sort_keys=True, default=str
        ),
    )


def _parse_agents(data: dict[str, Any], groups: set[str], bad: Bad) -> tuple[AgentEntry, ...]:
    """``[agents.alice]`` with an optional display ``name``, ``groups`` and ``os_user``."""
    out = []
    for name, spec in _table(data, "agents", bad).items():
        key = f"agents.{_quote(name)}"
        if not name.strip() or name.strip().lower() in ("me", "none", "nobody", "-", "customer"):
            bad(key, "not a name an agent can have")
            continue
        if not isinstance(spec, dict):
            bad(key, 'must be a table such as { name = "Alice Martin", groups = ["L1"] }')
            continue
        for k in spec:
            if k not in ("name", "groups", "os_user"):
                bad(f"{key}.{k}", "unknown key (known: groups, name, os_user)")
        display, member_of, account = spec.get("name", ""), spec.get("groups", []), spec.get("os_user", "")
        if not isinstance(display, str):
            bad(f"{key}.name", "must be text")
            display = ""
        if not isinstance(member_of, list) or not all(isinstance(g, str) for g in member_of):
            bad(f"{key}.groups", "must be a list of group names")
            member_of = []
        for g in member_of:
            if g not in groups:
                bad(f"{key}.groups", f"unknown group {g!r} (known: {', '.join(sorted(groups))})")
        if not isinstance(account, str):
            bad(f"{key}.os_user", "must be the name of an OS account")
            account = ""
        out.append(AgentEntry(name=name, display=display.strip(), groups=tuple(member_of), os_user=account.strip()))
    accounts = [a.os_user for a in out if a.os_user]
    for account in sorted({a for a in accounts if accounts.count(a) > 1}):
        bad("agents", f"OS user {account!r} is given to several agents")
    return tuple(out)


def _quote(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'


def _valid_zone(name: object) -> bool:
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


def _table(data: dict[str, Any], key: str, bad: Bad) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        bad(key, "must be a table")
        return {}
    return value


def _parse_calendar(name: str, spec: object, bad: Bad) -> BusinessCalendar | None:
    key = f"calendars.{_quote(name)}"
    if not isinstance(spec, dict):
        bad(key, "must be a table")
        return None
    ok = True
    known = {"timezone", "always", "holidays", "closed", *WEEKDAYS}
    for k in spec:
        if k not in known:
            bad(f"{key}.{k}", f"unknown key (known: {', '.join(sorted(known))})")
            ok = False
    always = spec.get("always", False)
    if not isinstance(always, bool):
        bad(f"{key}.always", "must be true or false")
        return None
    if always:
        extra = [k for k in spec if k not in ("always", "timezone")]
        if extra:
            bad(f"{key}.{extra[0]}", "an always calendar has no business hours, holidays or closed days")
            return None
        return BusinessCalendar(name=name, always=True) if ok else None
    tz = spec.get("timezone", "UTC")
    if not _valid_zone(tz):
        bad(f"{key}.timezone", f"unknown time zone {tz!r}")
        ok = False
    weekly: dict[int, tuple[tuple[int, int], ...]] = {}
    for i, day in enumerate(WEEKDAYS):
        if day not in spec:
            continue
        value = spec[day]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            bad(f"{key}.{day}", 'must be a list of "HH:MM-HH:MM" strings')
            ok = False
            continue
        intervals = []
        for text in value:
            try:
                intervals.append(parse_hhmm_interval(text))
            except ValueError as exc:
                bad(f"{key}.{day}", str(exc))
                ok = False
        intervals.sort()
        for (s1, e1), (s2, e2) in pairwise(intervals):
            if s2 < e1:
                bad(f"{key}.{day}", f"intervals overlap ({_hhmm(s1)}-{_hhmm(e1)} and {_hhmm(s2)}-{_hhmm(e2)})")
                ok = False
        weekly[i] = tuple(intervals)
    if ok and not any(weekly.values()):
        bad(key, 'no business hours: list at least one weekday (mon = ["09:00-17:00"]) or set always = true')
        ok = False
    hol = None
    if "holidays" in spec:
        hol = _holidays(spec["holidays"], f"{key}.holidays", bad)
        ok = ok and hol is not None
    closed: set[date] = set()
    raw_closed = spec.get("closed", [])
    if not isinstance(raw_closed, list):
        bad(f"{key}.closed", "must be a list of dates (YYYY-MM-DD)")
        ok = False
    else:
        for value in raw_closed:
            if isinstance(value, date):
                closed.add(value)
                continue
            try:
                closed.add(date.fromisoformat(value))
            except (TypeError, ValueError):
                bad(f"{key}.closed", f"{value!r} is not a date YYYY-MM-DD")
                ok = False
    if not ok:
        return None
    return BusinessCalendar(name=name, timezone=tz, weekly=weekly, holidays=hol, closed=frozenset(closed))


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _holidays(value: object, key: str, bad: Bad) -> CountryHolidays | None:
    """``"FR"`` or ``"US-NY"`` (country, optional subdivision) → its holidays (``holiday_cache``: the
    ``holidays`` package is imported only for a code not checked in an earlier run, or a year not kept)."""
    from .holiday_cache import CountryHolidays, is_known, keep_this_year

    if not isinstance(value, str) or not value:
        bad(key, 'must be a country code such as "FR" or "US-NY"')
        return None
    if is_known(value):
        return CountryHolidays(value)
    import holidays

    country, _, subdiv = value.partition("-")
    try:
        holidays.country_holidays(country, subdiv=subdiv or None)
    except NotImplementedError:
        # the package raises NotImplementedError both for an unknown country and an unknown subdivision
        if subdiv and country in holidays.list_supported_countries():
            bad(key, f"unknown subdivision {subdiv!r} of {country!r}")
        else:
            bad(key, f"unknown holiday country {country!r}")
        return None
    except Exception:  # noqa: BLE001 - the holidays package raises various errors for bad subdivisions
        bad(key, f"unknown subdivision {subdiv!r} of {country!r}")
        return None
    keep_this_year(value)  # the code is known from now on: the next run need not import the package
    return CountryHolidays(value)


def _parse_policy(
    name: str,
    spec: object,
    calendars: dict[str, BusinessCalendar],
    known_cals: set[str],
    bad: Bad,
    warn: Callable[[str, str], None] | None = None,
) -> Policy | None:
    key = f"policies.{_quote(name)}"
    if not isinstance(spec, dict):
        bad(key, "must be a table")
        return None
    ok = True
    for k in spec:
        if k not in ("calendar", "warn_at", "business_day_due", *PRIORITIES):
            bad(f"{key}.{k}", "unknown key (known: calendar, warn_at, business_day_due, P1, P2, P3, P4)")
            ok = False
    due_mode = spec.get("business_day_due", "same_time")
    if due_mode not in ("same_time", "end_of_day"):
        bad(f"{key}.business_day_due", f'{due_mode!r} must be "same_time" or "end_of_day"')
        ok = False
    cal_name = spec.get("calendar")
    if cal_name is None:
        bad(f"{key}.calendar", "missing")
        ok = False
    elif cal_name not in known_cals and not (not known_cals and cal_name == "always"):
        bad(f"{key}.calendar", f"unknown calendar {cal_name!r}")
        ok = False
    warn_at = spec.get("warn_at", 0.75)
    if isinstance(warn_at, bool) or not isinstance(warn_at, (int, float)) or not 0 < warn_at < 1:
        bad(f"{key}.warn_at", f"{warn_at!r} must be a fraction between 0 and 1 (exclusive)")
        ok = False
    targets: dict[str, Targets] = {}
    for prio in PRIORITIES:
        if prio not in spec:
            bad(f"{key}.{prio}", "missing: every policy sets targets for P1, P2, P3 and P4")
            ok = False
            continue
        t = spec[prio]
        if not isinstance(t, dict):
            bad(f"{key}.{prio}", 'must be a table such as { first_response = "15m", resolution = "4h" }')
            ok = False
            continue
        values: dict[str, int] = {}
        days: list[tuple[str, int]] = []
        for k, v in t.items():
            if k not in TIMERS:
                bad(f"{key}.{prio}.{k}", f"unknown timer (known: {', '.join(TIMERS)})")
                ok = False
                continue
            try:
                parsed = parse_target(v)
            except ValueError as exc:
                bad(f"{key}.{prio}.{k}", str(exc))
                ok = False
                continue
            if isinstance(parsed, tuple):
                days.append((k, parsed[1]))
                values[k] = parsed[1] * 86400
                continue
            values[k] = parsed
            cal = calendars.get(cal_name) if isinstance(cal_name, str) else None
            if warn is not None and cal is not None and str(v).strip().endswith("d") and not cal.always:
                week = cal.weekly_seconds()
                if 0 < week < parsed:
                    daily = week / max(1, len(cal.weekly))
                    warn(
                        f"{key}.{prio}.{k}",
                        f"{v!r} counts {parsed // 3600} h of business time, more than a week of calendar "
                        f"{cal_name!r} ({week // 3600} h): about {parsed / daily:.0f} business days; "
                        f"write '{parsed // 86400}bd' for business days",
                    )
        for required in ("first_response", "resolution"):
            if required not in t:
                bad(f"{key}.{prio}.{required}", "missing")
                ok = False
        if ok:
            targets[prio] = Targets(
                values["first_response"],
                values["resolution"],
                values.get("next_update"),
                tuple(days),
                customer_reply=values.get("customer_reply"),
            )
    if not ok or cal_name not in calendars:
        return None
    return Policy(
        name=name,
        calendar=calendars[cal_name],
        targets=targets,
        warn_at=float(warn_at),
        end_of_day=due_mode == "end_of_day",
    )


_RULE_FILTERS = ("priority", "customer", "policy", "type", "group")


def _parse_escalation(data: dict[str, Any], policies: set[str], bad: Bad) -> EscalationSettings:
    """``[groups.NAME] level = "L2"`` and ``[escalation]`` with managers, ack_within, bell and rules."""
    groups = {"L1": "L1"}
    for name, spec in _table(data, "groups", bad).items():
        key = f"groups.{_quote(name)}"
        if not isinstance(spec, dict) or set(spec) - {"level"}:
            bad(key, 'must be a table such as { level = "L2" }')
            continue
        level = spec.get("level", "L2")
        if level not in LEVELS:
            bad(f"{key}.level", f"{level!r} is not one of {', '.join(LEVELS)}")
            continue
        groups[name] = level
    esc = _table(data, "escalation", bad)
    for k in esc:
        if k not in ("managers", "ack_within", "bell", "rules"):
            bad(f"escalation.{k}", "unknown key (known: managers, ack_within, bell, rules)")
    managers = esc.get("managers", [])
    if not isinstance(managers, list) or not all(isinstance(m, str) and m.strip() for m in managers):
        bad("escalation.managers", "must be a list of names")
        managers = []
    ack_within = 15 * 60
    if "ack_within" in esc:
        try:
            ack_within = parse_duration(esc["ack_within"])
        except ValueError as exc:
            bad("escalation.ack_within", str(exc))
    bell = esc.get("bell", True)
    if not isinstance(bell, bool):
        bad("escalation.bell", "must be true or false")
        bell = True
    rules = []
    raw_rules = esc.get("rules", [])
    if not isinstance(raw_rules, list):
        bad("escalation.rules", "must be an array of tables: [[escalation.rules]]")
        raw_rules = []
    names: dict[str, int] = {}  # rule name → the rule's number, for unique names
    for i, spec in enumerate(raw_rules, start=1):
        key = f"escalation.rules[{i}]"
        if not isinstance(spec, dict):
            bad(key, "must be a table")
            continue
        ok = True
        for k in spec:
            if k not in ("when", "action", "to", "reassign", "name", *_RULE_FILTERS):
                bad(f"{key}.{k}", f"unknown key (known: when, action, to, reassign, name, {', '.join(_RULE_FILTERS)})")
                ok = False
        try:
            condition = parse_condition(spec.get("when", ""), parse_duration)
        except ValueError as exc:
            bad(f"{key}.when", str(exc) if "when" in spec else "missing")
            ok = False
        action = spec.get("action")
        if action not in KINDS:
            bad(f"{key}.action", f"{action!r} is not one of {', '.join(KINDS)}" if action is not None else "missing")
            ok = False
        to = spec.get("to")
        if not isinstance(to, str):
            bad(f"{key}.to", "missing")
            ok = False
        elif action == "functional" and to not in groups:
            bad(f"{key}.to", f"unknown group {to!r} (define it under [groups.{to}])")
            ok = False
        elif action == "hierarchical" and to not in managers:
            bad(f"{key}.to", f"unknown manager {to!r} (list it in escalation.managers)")
            ok = False
        reassign = spec.get("reassign", False)
        if not isinstance(reassign, bool):
            bad(f"{key}.reassign", "must be true or false")
            ok = False
        name = spec.get("name", "")
        if "name" in spec:  # how toasts, the escalation list and escalate-due name the rule (else its `when`)
            if not isinstance(name, str) or not name.strip() or not name.isprintable() or len(name) > 60:
                bad(f"{key}.name", "must be a short name on one line (at most 60 characters)")
                ok = False
            elif name.strip() in names:
                bad(f"{key}.name", f"{name.strip()!r} already names escalation.rules[{names[name.strip()]}]")
                ok = False
            else:
                name = name.strip()
                names[name] = i
        filters: dict[str, tuple[str, ...]] = {}
        for f in _RULE_FILTERS:
            value = spec.get(f, [])
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                bad(f"{key}.{f}", "must be a name or a list of names")
                ok = False
                continue
            if f == "priority" and any(v not in PRIORITIES for v in value):
                bad(f"{key}.priority", f"{value!r}: priorities are P1, P2, P3, P4")
                ok = False
            if f == "policy" and any(v not in policies for v in value):
                bad(f"{key}.policy", f"unknown policy in {value!r}")
                ok = False
            filters[f] = tuple(value)
        if ok and isinstance(action, str) and isinstance(to, str):  # ok: both checked above
            rules.append(
                Rule(
                    when=spec["when"],
                    condition=condition,
                    action=action,
                    to=to,
                    reassign=reassign,
                    name=name,
                    **filters,
                )
            )
    return EscalationSettings(
        groups=groups, managers=tuple(managers), rules=tuple(rules), ack_within=ack_within, bell=bell
    )
