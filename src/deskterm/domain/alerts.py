"""Prometheus Alertmanager notifications (webhook payload, version 4) and the rules that map alerts to tickets.

Pure: ``parse_notification`` reads the bytes of one webhook body and either returns a ``Notification`` or raises
``AlertError`` with one line naming the problem (never the payload itself); ``AlertSettings.rule_for`` picks the
mapping rule of an alert's labels. The service (``Desk.take_alerts``) writes what they decide.

The documented payload (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config)::

    {"version": "4", "groupKey": "…", "status": "firing", "receiver": "…", "groupLabels": {…},
     "commonLabels": {…}, "commonAnnotations": {…}, "externalURL": "…", "truncatedAlerts": 0,
     "alerts": [{"status": "firing", "labels": {…}, "annotations": {…}, "startsAt": "RFC 3339",
                 "endsAt": "RFC 3339", "generatorURL": "…", "fingerprint": "…"}]}

An alert is identified by its ``fingerprint`` (Alertmanager's hash of its labels; computed the same way from the
labels when a sender leaves it out) and one firing of it by its ``startsAt``: (fingerprint, startsAt) is the key
the desk records, so a notification sent again (Alertmanager retries, and repeats a group's alerts at every
``group_interval``) changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .priority import PRIORITIES

MAX_ALERTS = 1000  # alerts in one notification (Alertmanager's max_alerts is unlimited by default: be firm)
MAX_TEXT = 4000  # characters of one label or annotation value
_FRACTION = re.compile(r"(\.\d{6})\d+")  # Go writes nanoseconds; Python reads microseconds


class AlertError(ValueError):
    """A notification refused: the message says why in one line (it never quotes the payload)."""


@dataclass(frozen=True)
class Alert:
    status: str  # firing or resolved
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None  # resolved alerts: when it ended
    generator_url: str = ""

    @property
    def key(self) -> str:
        """One firing of one alert: what the desk records (and finds again when the notification repeats)."""
        return f"{self.fingerprint}@{self.starts_at.isoformat()}"

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "alert")

    def subject(self) -> str:
        """``HostDown on db-1:9100: the host does not answer``: the alert's name, where, and its summary."""
        where = self.labels.get("instance") or self.labels.get("job") or ""
        summary = self.annotations.get("summary") or self.annotations.get("title") or ""
        text = self.name + (f" on {where}" if where else "") + (f": {summary}" if summary else "")
        return _one_line(text, 200)

    def description(self) -> str:
        lines = []
        for key in ("description", "message"):
            if self.annotations.get(key):
                lines += [self.annotations[key], ""]
        lines.append("Labels:")
        lines += [f"  {k} = {v}" for k, v in sorted(self.labels.items())]
        others = {k: v for k, v in self.annotations.items() if k not in ("description", "message", "summary")}
        if others:
            lines.append("Annotations:")
            lines += [f"  {k} = {v}" for k, v in sorted(others.items())]
        lines.append(f"Started: {self.starts_at.isoformat()}")
        if self.generator_url:
            lines.append(f"Source: {self.generator_url}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Notification:
    group_key: str
    status: str
    receiver: str
    group_labels: dict[str, str]
    alerts: tuple[Alert, ...]

    def group_name(self) -> str:
        labels = self.group_labels or {}
        return _one_line(", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or self.group_key, 120)


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _labels(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AlertError(f"{where}: not an object of names and texts")
    out: dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(v, str):
            raise AlertError(f"{where}.{_one_line(str(k), 40)!r}: not a text")
        if len(v) > MAX_TEXT or len(k) > 200:
            raise AlertError(f"{where}: a name or value longer than {MAX_TEXT} characters")
        out[k] = v
    return out


def _instant(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise AlertError(f"{where}: missing or not a text")
    try:
        at = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()))
    except ValueError:
        raise AlertError(f"{where}: not an RFC 3339 timestamp") from None
    if at.tzinfo is None:
        raise AlertError(f"{where}: no UTC offset")
    at = at.astimezone(UTC)
    if not 1970 <= at.year <= 2200:
        raise AlertError(f"{where}: outside the years 1970 to 2200")
    return at


def fingerprint_of(labels: Mapping[str, str]) -> str:
    """A stable fingerprint of a label set (for senders that leave Alertmanager's ``fingerprint`` out)."""
    text = "\xff".join(f"{k}\xfe{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_notification(body: bytes) -> Notification:
    """One webhook body, checked whole: a notification, or AlertError naming the first problem."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise AlertError(f"body: not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise AlertError(f"body: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise AlertError("body: not JSON (nested too deep)") from None
    if not isinstance(data, dict):
        raise AlertError("body: not a JSON object")
    if data.get("version") != "4":
        raise AlertError('version: must be "4" (Alertmanager\'s webhook payload)')
    group_key = data.get("groupKey")
    if not isinstance(group_key, str) or not group_key.strip():
        raise AlertError("groupKey: missing or empty")
    if len(group_key) > MAX_TEXT:
        raise AlertError(f"groupKey: longer than {MAX_TEXT} characters")
    alerts = data.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise AlertError("alerts: missing or empty")
    if len(alerts) > MAX_ALERTS:
        raise AlertError(f"alerts: {len(alerts)} alerts, more than {MAX_ALERTS} in one notification")
    parsed = []
    for i, a in enumerate(alerts):
        where = f"alerts[{i}]"
        if not isinstance(a, dict):
            raise AlertError(f"{where}: not an object")
        status = a.get("status")
        if status not in ("firing", "resolved"):
            raise AlertError(f'{where}.status: must be "firing" or "resolved"')
        labels = _labels(a.get("labels"), f"{where}.labels")
        if not labels:
            raise AlertError(f"{where}.labels: missing or empty")
        annotations = _labels(a.get("annotations"), f"{where}.annotations")
        starts = _instant(a.get("startsAt"), f"{where}.startsAt")
        ends = _instant(a.get("endsAt"), f"{where}.endsAt") if status == "resolved" else None
        fp = a.get("fingerprint")
        if fp is not None and (not isinstance(fp, str) or not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", fp)):
            raise AlertError(f"{where}.fingerprint: not a fingerprint (letters and digits, at most 64)")
        url = a.get("generatorURL", "")
        parsed.append(
            Alert(
                status=status,
                fingerprint=fp or fingerprint_of(labels),
                labels=labels,
                annotations=annotations,
                starts_at=starts,
                ends_at=ends,
                generator_url=url if isinstance(url, str) and len(url) <= MAX_TEXT else "",
            )
        )
    status = data.get("status")
    receiver = data.get("receiver")
    return Notification(
        group_key=group_key,
        status=status if status in ("firing", "resolved") else "firing",
        receiver=receiver if isinstance(receiver, str) else "",
        group_labels=_labels(data.get("groupLabels"), "groupLabels"),
        alerts=tuple(parsed),
    )


# -- the mapping rules ([alertmanager] in the configuration) -------------------------------------------


@dataclass(frozen=True)
class AlertRule:
    """Alerts whose labels all equal ``match`` (a list: one of them) take this rule's mapping; the first rule
    that matches wins. A field left out falls back to the section's default."""

    match: tuple[tuple[str, tuple[str, ...]], ...] = ()
    customer: str | None = None
    customer_label: str | None = None  # the customer is this label's value (when the alert has it)
    priority: str | None = None
    category: str | None = None
    group: str | None = None
    resolve: bool | None = None  # a resolved alert resolves its ticket (when no other alert of it still fires)

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(name) in values for name, values in self.match)


@dataclass(frozen=True)
class Mapping_:
    """What a matched rule decides for one alert."""

    customer: str
    priority: str
    category: str | None
    group: str
    resolve: bool


@dataclass(frozen=True)
class AlertSettings:
    token_file: str = ""
    max_body: int = 1024 * 1024  # bytes of one webhook body
    storm: int = 3  # open alerts of one group key that make a major incident
    customer: str = "Monitoring"
    customer_label: str = "customer"
    priority: str = "P3"
    category: str | None = None
    group: str = "L1"
    resolve: bool = False
    resolution_code: str | None = None
    rules: tuple[AlertRule, ...] = field(default_factory=tuple)

    def rule_for(self, labels: Mapping[str, str]) -> Mapping_:
        rule = next((r for r in self.rules if r.matches(labels)), AlertRule())
        label = rule.customer_label or (None if rule.customer else self.customer_label)
        customer = (labels.get(label) if label else None) or rule.customer or self.customer
        return Mapping_(
            customer=_one_line(customer, 200),
            priority=rule.priority or self.priority,
            category=rule.category or self.category,
            group=rule.group or self.group,
            resolve=self.resolve if rule.resolve is None else rule.resolve,
        )


_SECTION_KEYS = (
    "token_file",
    "max_body",
    "storm",
    "customer",
    "customer_label",
    "priority",
    "category",
    "group",
    "resolve",
    "resolution_code",
    "rules",
)
_RULE_KEYS = ("match", "customer", "customer_label", "priority", "category", "group", "resolve")


def parse_settings(data: Any, bad: Callable[[str, str], None], size: Callable[[Any], int]) -> AlertSettings | None:
    """The ``[alertmanager]`` section; every problem reported through ``bad(key, what)``."""
    if not isinstance(data, dict):
        bad("alertmanager", "must be a table")
        return None
    ok = True

    def problem(key: str, what: str) -> None:
        nonlocal ok
        ok = False
        bad(key, what)

    for k in data:
        if k not in _SECTION_KEYS:
            problem(f"alertmanager.{k}", f"unknown key (known: {', '.join(_SECTION_KEYS)})")

    def text(key: str, value: Any, where: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            problem(f"{where}.{key}", "must be a non-empty text")
            return None
        return value.strip()

    def prio(value: Any, where: str) -> str | None:
        if value is None:
            return None
        if value not in PRIORITIES:
            problem(f"{where}.priority", f"must be one of {', '.join(PRIORITIES)}")
            return None
        return str(value)

    def flag(value: Any, where: str) -> bool | None:
        if value is None:
            return None
        if not isinstance(value, bool):
            problem(f"{where}.resolve", "must be true or false")
            return None
        return value

    max_body = 1024 * 1024
    if "max_body" in data:
        try:
            max_body = size(data["max_body"])
        except ValueError as exc:
            problem("alertmanager.max_body", str(exc))
    storm = data.get("storm", 3)
    if isinstance(storm, bool) or not isinstance(storm, int) or not 2 <= storm <= 10000:
        problem("alertmanager.storm", "must be a whole number from 2 to 10000 (alerts of one group)")
        storm = 3
    rules = []
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        problem("alertmanager.rules", "must be a list of tables ([[alertmanager.rules]])")
        raw_rules = []
    for i, r in enumerate(raw_rules):
        where = f"alertmanager.rules[{i}]"
        if not isinstance(r, dict):
            problem(where, "must be a table")
            continue
        for k in r:
            if k not in _RULE_KEYS:
                problem(f"{where}.{k}", f"unknown key (known: {', '.join(_RULE_KEYS)})")
        match = r.get("match", {})
        pairs: list[tuple[str, tuple[str, ...]]] = []
        if not isinstance(match, dict):
            problem(f"{where}.match", 'must be a table of labels, e.g. { severity = "critical" }')
        else:
            for name, value in match.items():
                values = value if isinstance(value, list) else [value]
                if not values or not all(isinstance(v, str) for v in values):
                    problem(f"{where}.match.{name}", "must be a text or a list of texts")
                    continue
                pairs.append((name, tuple(values)))
        rules.append(
            AlertRule(
                match=tuple(pairs),
                customer=text("customer", r.get("customer"), where),
                customer_label=text("customer_label", r.get("customer_label"), where),
                priority=prio(r.get("priority"), where),
                category=text("category", r.get("category"), where),
                group=text("group", r.get("group"), where),
                resolve=flag(r.get("resolve"), where),
            )
        )
    settings = AlertSettings(
        token_file=text("token_file", data.get("token_file"), "alertmanager") or "",
        max_body=max_body,
        storm=storm,
        customer=text("customer", data.get("customer"), "alertmanager") or "Monitoring",
        customer_label=text("customer_label", data.get("customer_label"), "alertmanager") or "customer",
        priority=prio(data.get("priority"), "alertmanager") or "P3",
        category=text("category", data.get("category"), "alertmanager"),
        group=text("group", data.get("group"), "alertmanager") or "L1",
        resolve=bool(flag(data.get("resolve"), "alertmanager")),
        resolution_code=text("resolution_code", data.get("resolution_code"), "alertmanager"),
        rules=tuple(rules),
    )
    return settings if ok else None
