"""Auto-routing rules (``[[routing]]`` in the configuration): deterministic rules applied when a ticket is created,
before any suggestion. "Subject matches /VPN/ and customer is X → category network/vpn, group L2-network".

A rule matches when every condition it has holds: ``subject`` and ``description`` are regular expressions
searched case-insensitively, ``customer`` a name or a list of names (exact, case folded). The first rule that
matches a ticket applies; it sets the category (unless the ticket was given one) and the group.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .taxonomy import Taxonomy

KEYS = ("name", "subject", "description", "customer", "category", "group")


@dataclass(frozen=True)
class RoutingRule:
    name: str
    subject: re.Pattern[str] | None = None
    description: re.Pattern[str] | None = None
    customers: tuple[str, ...] = ()
    category: str | None = None
    group: str | None = None

    def matches(self, subject: str, description: str, customer: str) -> bool:
        if self.subject is not None and not self.subject.search(subject):
            return False
        if self.description is not None and not self.description.search(description):
            return False
        return not self.customers or customer.casefold() in (c.casefold() for c in self.customers)


def first_match(rules: Sequence[RoutingRule], subject: str, description: str, customer: str) -> RoutingRule | None:
    return next((r for r in rules if r.matches(subject, description, customer)), None)


def parse_rules(
    raw: object, taxonomy: Taxonomy, groups: set[str], bad: Callable[[str, str], None]
) -> tuple[RoutingRule, ...]:
    """``[[routing]]`` tables → rules; each problem through ``bad(key, what)``."""
    if not isinstance(raw, list):
        bad("routing", "must be an array of tables: [[routing]]")
        return ()
    rules = []
    names: set[str] = set()
    for i, spec in enumerate(raw, start=1):
        key = f"routing[{i}]"
        if not isinstance(spec, dict):
            bad(key, "must be a table")
            continue
        ok = True
        for k in spec:
            if k not in KEYS:
                bad(f"{key}.{k}", f"unknown key (known: {', '.join(KEYS)})")
                ok = False
        name = spec.get("name", f"rule {i}")
        if not isinstance(name, str) or not name.strip() or not name.isprintable() or len(name) > 60:
            bad(f"{key}.name", "must be a short name on one line (at most 60 characters)")
            ok = False
        elif name in names:
            bad(f"{key}.name", f"{name!r} names another rule too")
            ok = False
        names.add(str(name))
        patterns: dict[str, re.Pattern[str] | None] = {}
        for field in ("subject", "description"):
            value = spec.get(field)
            patterns[field] = None
            if value is None:
                continue
            if not isinstance(value, str) or not value:
                bad(f"{key}.{field}", 'must be a regular expression such as "VPN|tunnel"')
                ok = False
                continue
            try:
                patterns[field] = re.compile(value, re.IGNORECASE)
            except re.error as exc:
                bad(f"{key}.{field}", f"not a regular expression: {exc}")
                ok = False
        customers = spec.get("customer", [])
        customers = [customers] if isinstance(customers, str) else customers
        if not isinstance(customers, list) or not all(isinstance(c, str) and c.strip() for c in customers):
            bad(f"{key}.customer", "must be a customer name or a list of names")
            ok = False
            customers = []
        category = spec.get("category")
        if category is not None:
            try:
                category = taxonomy.resolve(category) if isinstance(category, str) else _bad_type()
            except ValueError as exc:
                bad(f"{key}.category", str(exc))
                ok = False
        group = spec.get("group")
        if group is not None and (not isinstance(group, str) or group not in groups):
            bad(f"{key}.group", f"unknown group {group!r} (known: {', '.join(sorted(groups))})")
            ok = False
        if all(spec.get(f) is None for f in ("subject", "description", "customer")):
            bad(key, "no condition: give subject, description or customer")
            ok = False
        if category is None and group is None:
            bad(key, "does nothing: give a category and/or a group")
            ok = False
        if ok:
            rules.append(
                RoutingRule(
                    name=str(name),
                    subject=patterns["subject"],
                    description=patterns["description"],
                    customers=tuple(customers),
                    category=category,
                    group=group,
                )
            )
    return tuple(rules)


def _bad_type() -> str:
    raise ValueError('must be a category such as "network/vpn"')
