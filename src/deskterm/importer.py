"""Reading and validating import files (contract section 4): a JSON array or JSON Lines.

Every problem of every record is collected and reported as ``file:record: field: problem`` (the record is
its 1-based position in a JSON array, or its line number in JSON Lines); nothing is written unless the
whole file is valid. Sub-second parts of timestamps are kept in the store; the SLA engine counts whole
seconds.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .clock import check_range
from .domain import priority as prio_rules
from .domain.customers import ContactSpec, CustomerBatch, CustomerSpec
from .domain.workflow import STATUSES
from .errors import BadInput
from .fmt import one_line
from .records import NewEvent, NewTicket

TICKET_KEYS = {
    "ref",
    "subject",
    "description",
    "customer",
    "priority",
    "impact",
    "urgency",
    "type",
    "created_at",
    "events",
    "category",
    "contact",
    "record",
}
# records beside tickets (``"record": "customer"`` or ``"contact"``); a record without ``record`` is a ticket
CUSTOMER_KEYS = {"record", "name", "policy", "vip", "notes", "domains", "contacts"}
CONTACT_KEYS = {"record", "customer", "name", "email", "phone", "role"}
EVENT_KEYS = {
    "reply": ({"at", "kind", "public", "author", "body"}, {"public", "author", "body"}),
    "status": ({"at", "kind", "to", "author", "reason"}, {"to"}),
    "assign": ({"at", "kind", "to", "author"}, {"to"}),
    "escalate": ({"at", "kind", "to", "reason", "author"}, {"to", "reason"}),
    "priority": ({"at", "kind", "to", "author", "reason"}, {"to"}),
    "group": ({"at", "kind", "to", "author", "reason"}, {"to"}),  # deskterm's own kind, so show → import round-trips
}


def read_records(text: str, name: str) -> list[tuple[str, Any]]:
    """Split a file into (where, record) pairs; a file that is not JSON at all is one error."""
    stripped = text.lstrip()
    if not stripped:
        raise BadInput(f"{name}: empty file: expected a JSON array or JSON Lines of tickets")
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{name}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})") from None
        except (ValueError, RecursionError) as exc:  # an integer of thousands of digits, absurd nesting
            raise BadInput(f"{name}: not valid JSON: {_short(exc)}") from None
        if not isinstance(data, list):
            raise BadInput(f"{name}: expected a JSON array of tickets")
        return [(f"{name}:{i}", rec) for i, rec in enumerate(data, start=1)]
    out, problems = [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((f"{name}:{lineno}", json.loads(line)))
        except json.JSONDecodeError as exc:
            problems.append(f"{name}:{lineno}: not valid JSON: {exc.msg} (column {exc.colno})")
        except (ValueError, RecursionError) as exc:
            problems.append(f"{name}:{lineno}: not valid JSON: {_short(exc)}")
    if problems:
        raise BadInput(problems)
    return out


def _short(exc: BaseException) -> str:
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]


def parse_tickets(text: str, name: str, importer: str) -> list[NewTicket]:
    """Validate every record; raise BadInput with one line per problem, or return the tickets."""
    tickets, directory = parse_import(text, name, importer)
    if directory.customers or directory.contacts:
        raise BadInput(f"{name}: customer and contact records are imported by `deskterm import`")
    return tickets


def parse_import(text: str, name: str, importer: str) -> tuple[list[NewTicket], CustomerBatch]:
    """Validate every record: tickets, and customers and contacts beside them (``"record": "customer"`` or
    ``"contact"``); raise BadInput with one line per problem, or return them."""
    problems: list[str] = []
    tickets: list[NewTicket] = []
    directory = CustomerBatch()
    refs: dict[str, str] = {}
    for where, rec in read_records(text, name):
        kind = rec.get("record", "ticket") if isinstance(rec, dict) else "ticket"
        if kind != "ticket":
            if kind in ("customer", "contact"):
                _directory_record(where, rec, problems, directory)
            else:
                problems.append(f"{where}: record: {one_line(repr(kind), 60)} is not ticket, customer or contact")
            continue
        ticket = _ticket(where, rec, problems, importer)
        if ticket is None:
            continue
        if ticket.ref is not None:
            if ticket.ref in refs:
                problems.append(f"{where}: ref: {ticket.ref!r} appears twice in the file (first at {refs[ticket.ref]})")
                continue
            refs[ticket.ref] = where
        tickets.append(ticket)
    if problems:
        raise BadInput(problems)
    if not tickets and not directory.customers and not directory.contacts:
        raise BadInput(f"{name}: no tickets in the file")
    return tickets, directory


def parse_directory(text: str, name: str) -> CustomerBatch:
    """A file of customers (and contacts): JSON (array or lines, as ``deskterm import``'s records, ``record``
    optional) or CSV with a header (``name`` or ``customer``, ``policy``, ``vip``, ``notes``, ``domains``,
    ``contact``, ``email``, ``phone``, ``role``: one row per contact, the customer's fields on any of its rows)."""
    stripped = text.lstrip()
    if not stripped:
        raise BadInput(f"{name}: empty file: expected JSON or CSV of customers")
    problems: list[str] = []
    directory = CustomerBatch()
    if stripped[0] in "[{":
        for where, rec in read_records(text, name):
            if isinstance(rec, dict) and "record" not in rec:
                rec = {"record": "customer", **rec}
            if isinstance(rec, dict) and rec.get("record") in ("customer", "contact"):
                _directory_record(where, rec, problems, directory)
            else:
                problems.append(f"{where}: expected a customer or contact object")
    else:
        _csv_directory(text, name, problems, directory)
    if problems:
        raise BadInput(problems)
    if not directory.customers and not directory.contacts:
        raise BadInput(f"{name}: no customers in the file")
    return directory


CSV_COLUMNS = ("name", "customer", "policy", "vip", "notes", "domains", "contact", "email", "phone", "role")
_YES = {
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "vip": True,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
}


def _csv_directory(text: str, name: str, problems: list[str], directory: CustomerBatch) -> None:
    import csv
    import io

    try:
        sample = text[:4096]
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        problems.append(f"{name}:1: expected a CSV header line")
        return
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        problems.append(f"{name}:1: unknown column {one_line(unknown[0], 40)!r} (known: {', '.join(CSV_COLUMNS)})")
        return
    if "name" not in header and "customer" not in header:
        problems.append(f"{name}:1: a column name (or customer) gives the customer")
        return
    by_name: dict[str, CustomerSpec] = {}
    try:
        for row in reader:
            where = f"{name}:{reader.line_num}"
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                problems.append(f"{where}: {len(row)} cells for {len(header)} columns")
                continue
            cells = dict(zip(header, (c.strip() for c in row), strict=False))
            customer = cells.get("name") or cells.get("customer") or ""
            if not customer:
                problems.append(f"{where}: name: empty")
                continue
            spec = by_name.get(customer)
            if spec is None:
                spec = by_name[customer] = CustomerSpec(name=customer, where=where)
                directory.customers.append(spec)
            given: dict[str, Any] = {}
            if cells.get("policy"):
                given["policy"] = cells["policy"]
            if cells.get("vip"):
                vip = _YES.get(cells["vip"].lower())
                if vip is None:
                    problems.append(f"{where}: vip: {cells['vip']!r} is not yes or no")
                else:
                    given["vip"] = vip
            if cells.get("notes"):
                given["notes"] = cells["notes"]
            if cells.get("domains"):
                given["domains"] = tuple(d for d in cells["domains"].replace(";", " ").replace(",", " ").split() if d)
            for attr, value in given.items():
                if getattr(spec, attr) is not None and getattr(spec, attr) != value:
                    problems.append(f"{where}: {attr}: {customer!r} has another {attr} on an earlier row")
                setattr(spec, attr, value)
            if cells.get("contact") or cells.get("email") or cells.get("phone") or cells.get("role"):
                directory.contacts.append(
                    ContactSpec(
                        customer=customer,
                        name=cells.get("contact", ""),
                        email=cells.get("email") or None,
                        phone=cells.get("phone") or None,
                        role=cells.get("role") or None,
                        where=where,
                    )
                )
    except csv.Error as exc:
        problems.append(f"{name}:{reader.line_num}: not valid CSV: {exc}")


def _directory_record(where: str, rec: dict, problems: list[str], directory: CustomerBatch) -> None:
    before = len(problems)
    keys = CUSTOMER_KEYS if rec.get("record") == "customer" else CONTACT_KEYS
    for key in rec:
        if key not in keys:
            problems.append(f"{where}: {one_line(key, 60)}: unknown key")
    if rec.get("record") == "contact":
        contact = _contact(where, rec, problems, customer_required=True)
        if contact is not None and len(problems) == before:
            directory.contacts.append(contact)
        return
    name = _text(rec, "name", where, problems, required=True)
    policy = _text(rec, "policy", where, problems, required=False)
    notes = _text(rec, "notes", where, problems, required=False, allow_empty=True)
    vip = rec.get("vip")
    if vip is not None and type(vip) is not bool:
        problems.append(f"{where}: vip: must be true or false")
    domains = rec.get("domains")
    if domains is not None and not (isinstance(domains, list) and all(isinstance(d, str) for d in domains)):
        problems.append(f"{where}: domains: must be a list of strings")
    contacts = rec.get("contacts", [])
    if not isinstance(contacts, list):
        problems.append(f"{where}: contacts: must be a list of contacts")
        contacts = []
    found: list[ContactSpec] = []
    for i, c in enumerate(contacts, start=1):
        at = f"{where}: contacts[{i}]"
        if not isinstance(c, dict):
            problems.append(f"{at}: expected a JSON object for a contact")
            continue
        for key in c:
            if key not in CONTACT_KEYS - {"record", "customer"}:
                problems.append(f"{at}: {one_line(key, 60)}: unknown key")
        contact = _contact(at, {**c, "customer": name or ""}, problems, customer_required=False)
        if contact is not None:
            found.append(contact)
    if len(problems) > before:
        return
    directory.customers.append(
        CustomerSpec(
            name=name,  # type: ignore[arg-type]
            policy=policy,
            vip=vip,
            notes=notes,
            domains=tuple(domains) if domains is not None else None,
            where=where,
        )
    )
    directory.contacts.extend(found)


def _contact(where: str, rec: dict, problems: list[str], customer_required: bool) -> ContactSpec | None:
    before = len(problems)
    customer = _text(rec, "customer", where, problems, required=customer_required) or ""
    name = _text(rec, "name", where, problems, required=True)
    fields = {k: _text(rec, k, where, problems, required=False) for k in ("email", "phone", "role")}
    if len(problems) > before:
        return None
    return ContactSpec(customer=customer, name=name, where=where, **fields)  # type: ignore[arg-type]


def parse_instant(value: object) -> datetime:
    if type(value) is not str:
        raise ValueError("not an ISO 8601 timestamp")
    try:
        dt = datetime.fromisoformat(value)  # Python 3.11 reads "Z" and every ISO 8601 form itself
    except ValueError:
        raise ValueError("not an ISO 8601 timestamp") from None
    if dt.tzinfo is None:
        raise ValueError("timestamp has no UTC offset (write it as 2026-03-27T16:05:00+01:00)")
    return check_range(dt)


def _text(
    rec: dict, key: str, where: str, problems: list[str], required: bool, allow_empty: bool = False
) -> str | None:
    if key not in rec or rec[key] is None:
        if required:
            problems.append(f"{where}: {key}: missing")
        return None
    value = rec[key]
    if not isinstance(value, str):
        problems.append(f"{where}: {key}: must be a string")
        return None
    if not allow_empty and not value.strip():
        problems.append(f"{where}: {key}: empty")
        return None
    return value


def _ticket(where: str, rec: object, problems: list[str], importer: str) -> NewTicket | None:
    if not isinstance(rec, dict):
        problems.append(f"{where}: expected a JSON object for a ticket")
        return None
    before = len(problems)
    for key in rec:
        if key not in TICKET_KEYS:
            problems.append(f"{where}: {one_line(key, 60)}: unknown key")
    ref = _text(rec, "ref", where, problems, required=False)
    subject = _text(rec, "subject", where, problems, required=True)
    customer = _text(rec, "customer", where, problems, required=True)
    description = _text(rec, "description", where, problems, required=False, allow_empty=True) or ""
    category = _text(rec, "category", where, problems, required=False)  # checked against the taxonomy by the service
    contact = _text(rec, "contact", where, problems, required=False)
    ticket_type = rec.get("type", "incident")
    if ticket_type not in prio_rules.TYPES:
        problems.append(f"{where}: type: {ticket_type!r} is not one of {', '.join(prio_rules.TYPES)}")
    priority = _priority(rec, where, problems)
    created = None
    if "created_at" not in rec:
        problems.append(f"{where}: created_at: missing")
    else:
        try:
            created = parse_instant(rec["created_at"])
        except ValueError as exc:
            problems.append(f"{where}: created_at: {exc}")
    events = _events(rec.get("events", []), where, created, problems, importer)
    if len(problems) > before:
        return None
    return NewTicket(
        subject=subject,  # type: ignore[arg-type]
        customer=customer,  # type: ignore[arg-type]
        priority=priority,  # type: ignore[arg-type]
        created_at=created,  # type: ignore[arg-type]
        type=ticket_type,
        description=description,
        ref=ref,
        impact=rec.get("impact"),
        urgency=rec.get("urgency"),
        events=events,
        where=where,
        category=category,
        contact=contact,
    )


def _priority(rec: dict, where: str, problems: list[str]) -> str | None:
    has_matrix = "impact" in rec or "urgency" in rec
    if "priority" in rec:
        if not prio_rules.is_priority(rec["priority"]):
            problems.append(f"{where}: priority: {rec['priority']!r} is not one of P1, P2, P3, P4")
            return None
        if has_matrix:
            for key in ("impact", "urgency"):
                if key in rec and not _level(rec[key]):
                    problems.append(f"{where}: {key}: must be 1, 2 or 3")
        return rec["priority"]
    if not has_matrix:
        problems.append(f"{where}: priority: missing (give priority P1..P4, or impact and urgency)")
        return None
    ok = True
    for key in ("impact", "urgency"):
        if key not in rec:
            problems.append(f"{where}: {key}: missing (impact and urgency go together)")
            ok = False
        elif not _level(rec[key]):
            problems.append(f"{where}: {key}: must be 1 (high), 2 or 3 (low)")
            ok = False
    return prio_rules.from_matrix(rec["impact"], rec["urgency"]) if ok else None


def _level(value: object) -> bool:
    """An impact or urgency: the integer 1, 2 or 3 (not true, not 1.0)."""
    return type(value) is int and value in (1, 2, 3)


def _events(raw: object, where: str, created: datetime | None, problems: list[str], importer: str) -> list[NewEvent]:
    if not isinstance(raw, list):
        problems.append(f"{where}: events: must be a list")
        return []
    out: list[NewEvent] = []
    last: datetime | None = None
    for i, e in enumerate(raw, start=1):
        # Nearly every event of a real export is well formed: check it in one pass without building any
        # message (a third of an import's time went into the detailed checks); anything unusual goes
        # through _checked, which names each problem.
        event = _well_formed(e, importer)
        if event is not None and (created is None or event.at >= created) and (last is None or event.at >= last):
            out.append(event)
            last = event.at
            continue
        event, at = _checked(e, f"{where}: events[{i}]", created, last, problems, importer)
        if at is not None:
            last = at
        if event is not None:
            out.append(event)
    return out


def _checked(
    e: object, here: str, created: datetime | None, last: datetime | None, problems: list[str], importer: str
) -> tuple[NewEvent | None, datetime | None]:
    """One event checked in detail: (the event or None, its instant when readable); problems appended."""
    if not isinstance(e, dict):
        problems.append(f"{here}: expected an object")
        return None, None
    kind = e.get("kind")
    if not isinstance(kind, str) or kind not in EVENT_KEYS:  # a list or object kind is unhashable
        problems.append(f"{here}.kind: {kind!r} is not one of {', '.join(EVENT_KEYS)}")
        return None, None
    allowed, required = EVENT_KEYS[kind]
    bad = False
    for key in e:
        if key not in allowed:
            problems.append(f"{here}.{one_line(key, 60)}: unknown key for a {kind} event")
            bad = True
    for key in sorted(required):
        if key not in e or e[key] is None:
            problems.append(f"{here}.{key}: missing")
            bad = True
    try:
        at = parse_instant(e.get("at"))
    except ValueError as exc:
        problems.append(f"{here}.at: {'missing' if 'at' not in e else exc}")
        return None, None
    if created is not None and at < created:
        problems.append(f"{here}.at: before created_at")
        bad = True
    if last is not None and at < last:
        problems.append(f"{here}.at: events must be in time order")
        bad = True
    if bad:
        return None, at
    author = e.get("author", importer)
    if not isinstance(author, str) or not author.strip():
        problems.append(f"{here}.author: must be a non-empty string")
        return None, at
    to = e.get("to")
    if kind == "reply":
        if not isinstance(e["public"], bool):
            problems.append(f"{here}.public: must be true or false")
            return None, at
        if not isinstance(e["body"], str):
            problems.append(f"{here}.body: must be a string")
            return None, at
    elif kind == "status" and to not in STATUSES:
        problems.append(f"{here}.to: {to!r} is not one of {', '.join(STATUSES)}")
        return None, at
    elif kind == "priority" and not prio_rules.is_priority(to):
        problems.append(f"{here}.to: {to!r} is not one of P1, P2, P3, P4")
        return None, at
    elif kind in ("assign", "escalate", "group") and (not isinstance(to, str) or not to.strip()):
        problems.append(f"{here}.to: must be a non-empty name")
        return None, at
    reason = e.get("reason")
    if reason is not None and not isinstance(reason, str):
        problems.append(f"{here}.reason: must be a string")
        return None, at
    event = NewEvent(
        at=at,
        kind=kind,
        author=author,
        public=e.get("public") if kind == "reply" else None,
        body=e.get("body"),
        to=to,
        reason=reason,
    )
    return event, at


# kind -> (allowed keys, required keys that must not be null), as frozensets for subset tests
_SHAPES = {kind: (frozenset(allowed), tuple(sorted(required))) for kind, (allowed, required) in EVENT_KEYS.items()}
_NAMED = ("assign", "escalate", "group")


def _well_formed(e: object, importer: str) -> NewEvent | None:
    """The event, when it passes every check of ``_events`` (the order checks excepted); otherwise None.

    It accepts exactly what the detailed checks accept (a test compares the two on generated events), so
    a file gives the same tickets whichever path each event took.
    """
    if type(e) is not dict:
        return None
    kind = e.get("kind")
    if type(kind) is not str:
        return None
    shape = _SHAPES.get(kind)
    if shape is None:
        return None
    allowed, required = shape
    if not e.keys() <= allowed:
        return None
    for key in required:
        if e.get(key) is None:
            return None
    at = e.get("at")
    if type(at) is not str:
        return None
    try:
        instant = datetime.fromisoformat(at)
    except ValueError:
        return None
    if instant.tzinfo is None:
        return None
    author = e.get("author", importer)
    if type(author) is not str or not author.strip():
        return None
    to = e.get("to")
    if kind == "reply":
        if type(e["public"]) is not bool or type(e["body"]) is not str:
            return None
    elif kind == "status":
        if to not in STATUSES:
            return None
    elif kind == "priority":
        if not prio_rules.is_priority(to):
            return None
    elif kind in _NAMED and (type(to) is not str or not to.strip()):
        return None
    reason = e.get("reason")
    if reason is not None and type(reason) is not str:
        return None
    return NewEvent(
        at=instant,
        kind=kind,
        author=author,
        public=e.get("public") if kind == "reply" else None,
        body=e.get("body"),
        to=to,
        reason=reason,
    )
