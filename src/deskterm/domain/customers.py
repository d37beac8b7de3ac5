"""Customers and contacts: what a valid one is, how a name or an address is matched (pure).

A customer's name is matched folded (``text.fold``: case and accents), spaces collapsed: "clinique saint-jean"
and "CLINIQUE  SAINT-JEAN" name one customer. An e-mail address is checked by ``email-validator`` (syntax
only, no network) and matched lower-cased; a customer's e-mail domains say which senders belong to it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from .text import fold

NAME_MAX = 200  # a customer's or contact's name; longer is a paste gone wrong
FIELD_MAX = 200  # phone, role, policy
NOTES_MAX = 10_000


def name_key(name: str) -> str:
    """What a customer's name is compared by: folded, inner spaces collapsed."""
    return fold(" ".join(name.split()))


def clean_name(name: str) -> str:
    """A name as stored: outer spaces removed, inner runs of spaces made one."""
    return " ".join(name.split())


def check_email(text: str) -> str:
    """The address as stored (its domain lower-cased), or ValueError saying why it is not one."""
    text = text.strip()
    if not text:
        raise ValueError("empty")
    from email_validator import EmailNotValidError, validate_email  # 0.07 s to import: only when an address is read

    try:
        found = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{text!r} is not an e-mail address ({exc})") from None
    return found.normalized


def email_key(email: str) -> str:
    """What an address is compared by (unique on the desk): lower-cased."""
    return email.strip().casefold()


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().casefold()


def check_domain(text: str) -> str:
    """An e-mail domain as stored (lower case, without a leading @), or ValueError."""
    domain = text.strip().lstrip("@").strip()
    if not domain:
        raise ValueError("empty domain")
    from email_validator import EmailNotValidError, validate_email

    try:
        found = validate_email(f"postmaster@{domain}", check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(f"{text.strip()!r} is not an e-mail domain") from None
    return found.domain.casefold()


def first_name(name: str) -> str:
    """What a greeting uses: "Claire" for "Claire Martin" and for "Martin, Claire"."""
    name = clean_name(name)
    if "," in name:
        after = name.split(",", 1)[1].strip()
        if after:
            return after.split()[0]
    return name.split()[0] if name else ""


def suggest(typed: str, names: Iterable[str], limit: int = 3) -> list[str]:
    """The known names closest to one that is not known ("Clinque" → "Clinique Saint-Jean"): those that begin
    with it or contain it, then the close ones by spelling (compared folded)."""
    by_key: dict[str, str] = {}
    for n in names:
        by_key.setdefault(name_key(n), n)
    key = name_key(typed)
    if not key:
        return []
    starts = [n for k, n in by_key.items() if k.startswith(key)]
    inside = [n for k, n in by_key.items() if key in k and n not in starts]
    close = [by_key[k] for k in difflib.get_close_matches(key, list(by_key), n=limit, cutoff=0.6)]
    # a word of a long name typed with a typo ("clinque" for "Clinique Saint-Jean")
    words = [
        n
        for k, n in by_key.items()
        if any(difflib.SequenceMatcher(None, key, w).ratio() >= 0.8 for w in k.split()) and len(key) >= 4
    ]
    out: list[str] = []
    for n in [*starts, *inside, *close, *words]:
        if n not in out:
            out.append(n)
    return out[:limit]


def looks_like(typed: str, names: Iterable[str]) -> list[str]:
    """The known names that an unknown one is probably a misspelling of: close by spelling (folded), as a whole
    or as a word of a longer name ("Clinque Saint-Jean", "clinque" → "Clinique Saint-Jean"). A name like none of
    them is a new customer, not a typo."""
    key = name_key(typed)
    if len(key) < 4:
        return []
    out: list[str] = []
    for n in names:
        k = name_key(n)
        whole = difflib.SequenceMatcher(None, key, k).ratio() >= 0.8
        word = any(difflib.SequenceMatcher(None, key, w).ratio() >= 0.85 and key != w for w in k.split())
        if (whole or word) and n not in out:
            out.append(n)
    return out


def unknown_customer_message(typed: str, known: Iterable[str], hint: str = "add --new-customer to create it") -> str:
    """``unknown customer 'Clinque' (did you mean 'Clinique Saint-Jean'?); add --new-customer to create it``"""
    guesses = suggest(typed, known)
    guess = f" (did you mean {' or '.join(repr(g) for g in guesses)}?)" if guesses else ""
    return f"unknown customer {clean_name(typed)!r}{guess}; {hint}"


@dataclass
class CustomerSpec:
    """A customer to create or update (from an import, the form or the CLI). ``None``: leave as it is."""

    name: str
    policy: str | None = None
    vip: bool | None = None
    notes: str | None = None
    domains: tuple[str, ...] | None = None
    where: str = ""


@dataclass
class ContactSpec:
    """A contact to create or update: matched by its e-mail when it has one, else by its name in its customer."""

    customer: str
    name: str
    email: str | None = None
    phone: str | None = None
    role: str | None = None
    where: str = ""


@dataclass
class CustomerBatch:
    """Validated customers and contacts to write together (an import, one new caller)."""

    customers: list[CustomerSpec] = field(default_factory=list)
    contacts: list[ContactSpec] = field(default_factory=list)


def check_customer(spec: CustomerSpec, policies: Iterable[str]) -> list[str]:
    """The problems of a customer (``where: field: what``); a clean spec is normalized in place."""
    where = spec.where or "customer"
    problems: list[str] = []
    spec.name = clean_name(spec.name)
    if not spec.name:
        problems.append(f"{where}: name: empty")
    elif len(spec.name) > NAME_MAX:
        problems.append(f"{where}: name: longer than {NAME_MAX} characters")
    known = sorted(policies)
    if spec.policy is not None:
        spec.policy = spec.policy.strip() or None
        if spec.policy is not None and spec.policy not in known:
            problems.append(f"{where}: policy: {spec.policy!r} is not one of {', '.join(known)}")
    if spec.notes is not None and len(spec.notes) > NOTES_MAX:
        problems.append(f"{where}: notes: longer than {NOTES_MAX} characters")
    if spec.domains is not None:
        domains: list[str] = []
        bad = False
        for d in spec.domains:
            try:
                domain = check_domain(d)
            except ValueError as exc:
                problems.append(f"{where}: domains: {exc}")
                bad = True
                continue
            if domain not in domains:
                domains.append(domain)
        if not bad:
            spec.domains = tuple(domains)
    return problems


def check_contact(spec: ContactSpec) -> list[str]:
    """The problems of a contact; a clean spec is normalized in place."""
    where = spec.where or "contact"
    problems: list[str] = []
    spec.customer = clean_name(spec.customer)
    spec.name = clean_name(spec.name)
    if not spec.customer:
        problems.append(f"{where}: customer: empty")
    if not spec.name:
        problems.append(f"{where}: name: empty")
    elif len(spec.name) > NAME_MAX:
        problems.append(f"{where}: name: longer than {NAME_MAX} characters")
    if spec.email is not None and spec.email.strip():
        try:
            spec.email = check_email(spec.email)
        except ValueError as exc:
            problems.append(f"{where}: email: {exc}")
    else:
        spec.email = None
    for attr in ("phone", "role"):
        value = getattr(spec, attr)
        if value is not None:
            value = clean_name(value) or None
            if value is not None and len(value) > FIELD_MAX:
                problems.append(f"{where}: {attr}: longer than {FIELD_MAX} characters")
            setattr(spec, attr, value)
    return problems
