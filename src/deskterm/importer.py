"""Reading and validating import files (contract section 4): a JSON array or JSON Lines.

Every problem of every record is collected and reported as ``file:record: field: problem`` (the record is
its 1-based position in a JSON array, or its line number in JSON Lines); nothing is written unless the
whole file is valid. Sub-second parts of timestamps are kept in the store; the SLA engine counts whole
seconds.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from .clock import EARLIEST, LATEST, check_range
from .domain import priority as prio_rules
from .domain.customers import ContactSpec, CustomerBatch, CustomerSpec
from .domain.workflow import STATUSES
from .errors import BadInput
from .fmt import one_line
from .records import NewEvent, NewTicket, new_event

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
    """Split a file's text into (where, record) pairs; raise BadInput with its problems (a file that is not
    JSON at all is one error)."""
    problems: list[str] = []
    out = [(where, rec) for _, where, rec in split_records(io.StringIO(text, newline=None), name, problems)]
    if problems:
        raise BadInput(problems)
    return out


CHUNK = 1 << 20  # characters read at a time from a JSON array


def split_records(stream: TextIO, name: str, problems: list[str]) -> Iterator[tuple[int, str, Any]]:
    """The records of a JSON array or of JSON Lines, read from ``stream`` a piece at a time (a file of a
    million tickets is never held whole): (position, ``file:N``, record), N being the record's 1-based
    position in an array or its line in JSON Lines. A record that is not JSON is a problem appended to
    ``problems`` (every bad line of JSON Lines; the first error of an array, which cannot be read past it)."""
    for position, where, rec, _ in _records(stream, name, problems):
        yield position, where, rec


def _records(stream: TextIO, name: str, problems: list[str]) -> Iterator[tuple[int, str, Any, bool]]:
    """``split_records``, each record with whether its text is known to be storable (``storable``)."""
    head = ""
    while not head.strip():
        piece = stream.read(4096)
        if not piece:
            problems.append(f"{name}: empty file: expected a JSON array or JSON Lines of tickets")
            return
        head += piece
    if head.lstrip().startswith("["):
        yield from _array(head, stream, name, problems)
    else:
        yield from _lines(head, stream, name, problems)


def storable(text: str) -> bool:
    """Whether the JSON text of a record is known to hold no lone surrogate, nor to make one once decoded (an
    escape ``\\ud800``): then none of the record's strings is text that the store cannot hold, and the service
    need not look at them again (``NewTicket.storable``). False says only that it is not known."""
    if not text.isascii():  # (isascii is a flag of the string: free; other text is encoded, as the store would)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return "\\u" not in text or _SURROGATE_ESCAPE.search(text) is None


# an escape of a surrogate in JSON text (conservative: ``\\\\ud800`` is a backslash and "ud800", matched too)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _lines(head: str, stream: TextIO, name: str, problems: list[str]) -> Iterator[tuple[int, str, Any, bool]]:
    loads = json.loads
    for lineno, line in enumerate(_rejoined(head, stream), start=1):
        if not line or line.isspace():
            continue
        try:
            yield lineno, f"{name}:{lineno}", loads(line), storable(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{name}:{lineno}: not valid JSON: {exc.msg} (column {exc.colno})")
        except (ValueError, RecursionError) as exc:
            problems.append(f"{name}:{lineno}: not valid JSON: {_short(exc)}")


def _rejoined(start: str, stream: TextIO) -> Iterator[str]:
    """The lines of ``start`` followed by the rest of ``stream``, ``start``'s last partial line joined to the
    stream's first."""
    parts = start.split("\n")
    yield from (p + "\n" for p in parts[:-1])
    tail = parts[-1]
    first = True
    for line in stream:
        if first:
            line, first = tail + line, False
        yield line
    if first and tail:
        yield tail


def _array(head: str, stream: TextIO, name: str, problems: list[str]) -> Iterator[tuple[int, str, Any, bool]]:
    """The elements of a JSON array, decoded one at a time from a window of the text (``raw_decode``); an
    element cut by the window's end is decoded again once more text is read. Error positions are the
    file's: the lines and the columns before the window are counted as it moves."""
    decode = json.JSONDecoder().raw_decode
    buf, pos = head, head.index("[") + 1
    lines_before = 0  # newlines in the text dropped before buf
    col_before = 0  # characters of buf's first line that were dropped (its column offset)
    eof = False
    index = 0

    def more(at_least: int = 1) -> bool:
        nonlocal buf, pos, lines_before, col_before, eof
        if eof:
            return False
        dropped = buf[:pos]
        newlines = dropped.count("\n")
        if newlines:
            lines_before += newlines
            col_before = len(dropped) - dropped.rfind("\n") - 1
        else:
            col_before += len(dropped)
        buf, pos = buf[pos:], 0
        want = max(CHUNK, at_least)
        while len(buf) < want:
            piece = stream.read(want)
            if not piece:
                eof = True
                break
            buf += piece
        return True

    def bad(msg: str, at: int) -> None:
        line = buf.count("\n", 0, at)
        column = at - buf.rfind("\n", 0, at) if line else at + 1 + col_before
        problems.append(f"{name}:{lines_before + line + 1}: not valid JSON: {msg} (column {column})")

    def skip_space() -> bool:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\n\r":
                pos += 1
            if pos < len(buf) or not more():
                return pos < len(buf)

    expect_value = True  # after "[" or ","
    while True:
        if not skip_space():
            bad("Expecting value" if expect_value else "Expecting ',' delimiter", pos)
            return
        if buf[pos] == "]" and (index == 0 or not expect_value):
            pos += 1
            if skip_space():
                bad("Extra data", pos)
            return
        if not expect_value:
            if buf[pos] != ",":
                bad("Expecting ',' delimiter", pos)
                return
            pos += 1
            expect_value = True
            continue
        while True:
            try:
                value, end = decode(buf, pos)
            except json.JSONDecodeError as exc:
                # cut by the window's end (a string it cuts, or the error at its very end): read on, try again
                cut = exc.msg.startswith("Unterminated string") or exc.pos >= len(buf) - 6
                if cut and more(2 * (len(buf) - pos)):
                    continue
                bad(exc.msg, exc.pos)
                return
            except (ValueError, RecursionError) as exc:  # an integer of thousands of digits, absurd nesting
                problems.append(f"{name}: not valid JSON: {_short(exc)}")
                return
            if end == len(buf) and not eof and isinstance(value, int | float):  # a number the window cut
                more(2 * (len(buf) - pos))
                continue
            break
        index += 1
        yield index, f"{name}:{index}", value, storable(buf[pos:end])
        pos = end
        expect_value = False


def _short(exc: BaseException) -> str:
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]


class ImportFile:
    """An import file read as a stream, each time ``tickets()`` is iterated (a retried transaction reads it
    again): the valid tickets one at a time; beside them ``problems`` (every problem of every record, with its
    position: ``(N, "file:N: field: problem")``, 0 for the file itself) and ``directory`` (the customer and
    contact records met so far). A million tickets are never held at once: what is kept across the file is
    the refs seen (a ref twice in the file is an error) and the problems."""

    def __init__(self, open_text: Callable[[], TextIO], name: str, importer: str, path: str | None = None) -> None:
        self.open_text, self.name, self.importer, self.path = open_text, name, importer, path
        self.problems: list[tuple[int, str]] = []
        self.directory = CustomerBatch()

    @classmethod
    def of_path(cls, path: str, name: str, importer: str) -> ImportFile:
        """A file on disk (UTF-8, with or without a byte order mark), read again each time."""
        return cls(lambda: open(path, encoding="utf-8-sig", newline=None), name, importer, path)

    def tickets(self) -> Iterator[NewTicket]:
        self.problems, self.directory = [], CustomerBatch()
        problems: list[str] = []
        refs: dict[str, int] = {}
        name = self.name
        count = 0
        importer_storable = storable(self.importer)
        with self.open_text() as stream:
            try:
                for position, where, rec, plain in _records(stream, name, problems):
                    if problems:
                        self._note(problems)
                    kind = rec.get("record", "ticket") if type(rec) is dict else "ticket"
                    if kind != "ticket":
                        if kind in ("customer", "contact"):
                            _directory_record(where, rec, problems, self.directory)
                        else:
                            problems.append(
                                f"{where}: record: {one_line(repr(kind), 60)} is not ticket, customer or contact"
                            )
                        self._note(problems)
                        continue
                    ticket = _quick_ticket(rec, where, self.importer) or _ticket(where, rec, problems, self.importer)
                    if ticket is not None and ticket.ref is not None:
                        first = refs.setdefault(ticket.ref, position)
                        if first != position:
                            problems.append(
                                f"{where}: ref: {ticket.ref!r} appears twice in the file (first at {name}:{first})"
                            )
                            ticket = None
                    if problems:
                        self._note(problems)
                    if ticket is not None:
                        count += 1
                        ticket.storable = plain and importer_storable  # (the authors an event leaves out)
                        yield ticket
            except UnicodeDecodeError:
                problems.append(f"{name}: not UTF-8 text (byte {self.first_bad_byte()})")
            self._note(problems)
        if not count and not self.directory.customers and not self.directory.contacts and not self.problems:
            self.problems.append((0, f"{name}: no tickets in the file"))

    def _note(self, problems: list[str]) -> None:
        """The problems found moved to ``self.problems``, each with the position of its record."""
        self.problems.extend((self._position(p), p) for p in problems)
        problems.clear()

    def _position(self, problem: str) -> int:
        """N of a problem ``file:N: ...``; 0 for a problem of the whole file."""
        prefix = f"{self.name}:"
        number = problem[len(prefix) :].split(":", 1)[0] if problem.startswith(prefix) else ""
        return int(number) if number.isdigit() else 0

    def first_bad_byte(self) -> int:
        """The offset of the file's first byte that is not UTF-8 (what a decoding error of its text names)."""
        import codecs

        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        with open(self.path or "", "rb") as fh:
            while chunk := fh.read(CHUNK):
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    return offset - pending + exc.start
                offset += len(chunk)
        return offset

    def report(self, more: Iterable[str] = ()) -> list[str]:
        """Every problem, the file's own first, then in the order of the records (a record's in the order
        found); ``more``: problems found by the service (``file:N: ...`` too)."""
        found = [*self.problems, *((self._position(p), p) for p in more)]
        found.sort(key=lambda pair: pair[0])
        return [p for _, p in found]


def parse_tickets(text: str, name: str, importer: str) -> list[NewTicket]:
    """Validate every record; raise BadInput with one line per problem, or return the tickets."""
    tickets, directory = parse_import(text, name, importer)
    if directory.customers or directory.contacts:
        raise BadInput(f"{name}: customer and contact records are imported by `deskterm import`")
    return tickets


def parse_import(text: str, name: str, importer: str) -> tuple[list[NewTicket], CustomerBatch]:
    """Validate every record: tickets, and customers and contacts beside them (``"record": "customer"`` or
    ``"contact"``); raise BadInput with one line per problem, or return them."""
    source = ImportFile(lambda: io.StringIO(text, newline=None), name, importer)
    tickets = list(source.tickets())
    if source.problems:
        raise BadInput(source.report())
    return tickets, source.directory


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
    return new_event(instant, kind, author, e.get("public") if kind == "reply" else None, e.get("body"), to, reason)


_UTC = UTC
_EARLIEST, _LATEST = EARLIEST.astimezone(UTC), LATEST.astimezone(UTC)  # (the same tzinfo as the instants compared)
_TICKET_KEYS = frozenset(TICKET_KEYS)
_TYPES = frozenset(prio_rules.TYPES)
_PRIORITIES = frozenset(prio_rules.PRIORITIES)
_STATUSES = frozenset(STATUSES)
_LEVELS = (1, 2, 3)


def _quick_ticket(rec: object, where: str, importer: str) -> NewTicket | None:
    """The ticket, when the record passes every check of ``_ticket`` and its events every check of ``_events``
    (in time order, none before ``created_at``, none after the years ``clock`` accepts); otherwise None, and
    ``_ticket`` finds and names the problems. Nearly every record of an export is well formed: this checks it
    in one pass, without a function call per field or per event and without building any message.

    It accepts exactly what the detailed checks accept and builds the same ticket (a test compares the two on
    generated records), so a file gives the same tickets whichever path each record took."""
    if type(rec) is not dict or not rec.keys() <= _TICKET_KEYS:
        return None
    get = rec.get
    subject, customer, ref = get("subject"), get("customer"), get("ref")
    if type(subject) is not str or type(customer) is not str or not subject.strip() or not customer.strip():
        return None
    if ref is not None and (type(ref) is not str or not ref.strip()):
        return None
    description = get("description")
    if description is None:
        description = ""
    elif type(description) is not str:
        return None
    category, contact = get("category"), get("contact")
    if category is not None and (type(category) is not str or not category.strip()):
        return None
    if contact is not None and (type(contact) is not str or not contact.strip()):
        return None
    ticket_type = get("type", "incident")
    if type(ticket_type) is not str or ticket_type not in _TYPES:
        return None
    impact, urgency = get("impact"), get("urgency")
    if "priority" in rec:
        priority = rec["priority"]
        if type(priority) is not str or priority not in _PRIORITIES:
            return None
        if ("impact" in rec and (type(impact) is not int or impact not in _LEVELS)) or (
            "urgency" in rec and (type(urgency) is not int or urgency not in _LEVELS)
        ):
            return None
    elif type(impact) is int and type(urgency) is int and impact in _LEVELS and urgency in _LEVELS:
        priority = prio_rules.from_matrix(impact, urgency)
    else:
        return None
    text = get("created_at")
    if type(text) is not str:
        return None
    try:
        created = datetime.fromisoformat(text)
    except ValueError:
        return None
    if created.tzinfo is None:
        return None
    # the instants are compared in UTC: two instants of different offsets compare at the cost of two
    # ``utcoffset`` calls and a subtraction (a microsecond); converted once, each comparison is a few bytes'
    raw = get("events", [])
    if type(raw) is not list:
        return None
    events: list[NewEvent] = []
    well_formed = _well_formed
    try:  # (an instant of the year 1 or 9999 whose offset takes it out of the years datetime holds: not quick)
        last = created.astimezone(_UTC)
        if not _EARLIEST <= last <= _LATEST:
            return None
        for e in raw:  # (each event by the one fast check of an event; the order here)
            event = well_formed(e, importer)
            if event is None:
                return None
            at = event.at.astimezone(_UTC)
            if at < last:
                return None
            events.append(event)
            last = at
    except OverflowError:
        return None
    if last > _LATEST:  # (the events are in time order and none is before created_at, itself in range)
        return None
    return NewTicket(
        subject=subject,
        customer=customer,
        priority=priority,
        created_at=created,
        type=ticket_type,
        description=description,
        ref=ref,
        impact=impact,
        urgency=urgency,
        events=events,
        where=where,
        category=category,
        contact=contact,
        latest=last,
    )
