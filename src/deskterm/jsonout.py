"""The contract's JSON shape of a ticket (section 5), for ``list --json`` and ``show --json``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from .domain.sla import TicketSla, TimerResult
from .records import EventRecord, TicketRecord

# json.dumps(ensure_ascii=False) leaves DEL, C1 controls and bidi overrides raw: escape them too, so that
# `deskterm list --json` on a terminal cannot be turned into escape sequences.
_RAW = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def instant(t: int | datetime | None, tz: ZoneInfo) -> str | None:
    if t is None:
        return None
    dt = t if isinstance(t, datetime) else datetime.fromtimestamp(t, tz)
    return dt.astimezone(tz).isoformat()


def timer_json(t: TimerResult, tz: ZoneInfo) -> dict:
    return {
        "due": instant(t.due, tz),
        "state": t.state,
        "warning": t.warning,
        "remaining_seconds": t.remaining,
    }


def escalation_json(e, tz: ZoneInfo) -> dict:
    return {
        "id": e.id,
        "ticket": e.ticket_id,
        "kind": e.kind,
        "level": e.level,
        "target": e.target,
        "reason": e.reason,
        "automatic": e.rule is not None,
        "created_at": instant(e.created_at, tz),
        "created_by": e.created_by,
        "acknowledged": e.acknowledged_at is not None,
        "acknowledged_by": e.acknowledged_by,
        "acknowledged_at": instant(e.acknowledged_at, tz),
        "closed_at": instant(e.closed_at, tz),
        "outcome": e.outcome,
    }


def ticket_json(ticket: TicketRecord, sla: TicketSla, tz: ZoneInfo, state: dict | None = None, escalation=None) -> dict:
    """``state`` overrides status/priority/assignee/group (their values at ``--at``)."""
    s = state or {
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee,
        "group": ticket.group,
    }
    out = {
        "id": ticket.id,
        "ref": ticket.ref,
        "subject": ticket.subject,
        "customer": ticket.customer,
        "status": s["status"],
        "priority": s["priority"],
        "type": ticket.type,
        "assignee": s["assignee"],
        "group": s["group"],
        "created_at": instant(ticket.created_at, tz),
        "classification": ticket.classification,
        "category": ticket.category,
        "resolution_code": ticket.resolution_code,
        "first_contact": ticket.first_contact,
        "major_incident": ticket.major_id,
        "csat": ticket.csat_score,
        "sla": {"policy": sla.policy, **{name: timer_json(t, tz) for name, t in sla.timers.items()}},
        "escalation": None
        if escalation is None
        else {
            "id": escalation.id,
            "kind": escalation.kind,
            "level": escalation.level,
            "target": escalation.target,
            "acknowledged": escalation.acknowledged_at is not None,
        },
    }
    return out


def event_json(e: EventRecord, tz: ZoneInfo) -> dict:
    out: dict = {"at": instant(e.at, tz), "kind": e.kind, "author": e.author}
    if e.kind == "reply":
        out["public"] = bool(e.public)
        out["body"] = e.body
    if e.from_value is not None:
        out["from"] = e.from_value
    if e.kind in (
        "status",
        "priority",
        "assign",
        "escalate",
        "group",
        "type",
        "classification",
        "category",
        "customer",
        "contact",
        "link",
        "csat",
        "nps",
        "ces",
        "alert",
        "acknowledge",
        "de-escalate",
        "approval",
        "estimate",
        "time",
        "problem",
        "problem-link",
        "action",
    ):
        out["to"] = e.to
    if e.kind in ("problem", "action") and e.body is not None:
        out["body"] = e.body
    if e.kind == "time":  # to: the seconds logged; body: the note
        out["seconds"] = int(e.to) if e.to and e.to.isdigit() else None
        out["body"] = e.body
    if e.kind in ("csat", "nps", "ces") and e.body:
        out["comment"] = e.body
    if e.kind == "alert":
        out["body"] = e.body
    if e.reason is not None:
        out["reason"] = e.reason
    return out


def dumps(data: object) -> str:
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return _RAW.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


_STRING = json.JSONEncoder(ensure_ascii=False)  # (its ``encode`` of a str is the C string encoder)


def write(data: object, out: Callable[[str], object], size: int = 1 << 16) -> None:
    """``dumps(data)`` written to ``out`` piece by piece (of about ``size`` characters), never held whole: the
    same text. A ``Sequence`` other than a list or tuple (``reports.BreachLines``, hundreds of thousands of lines
    made when read) is written as a list, each of its items made, written and dropped in turn."""
    pending: list[str] = []
    held = 0
    for piece in _pieces(data, "\n"):
        pending.append(piece)
        held += len(piece)
        if held >= size:
            out(_RAW.sub(_escape, "".join(pending)))
            pending, held = [], 0
    if pending:
        out(_RAW.sub(_escape, "".join(pending)))


def _escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group(0)):04x}"


def _pieces(o: object, newline: str) -> Iterator[str]:
    """The text of ``json.dumps(o, ensure_ascii=False, indent=2)`` (``newline``: a line break and the indent of
    ``o``'s level), a piece at a time."""
    if isinstance(o, str):
        yield _STRING.encode(o)
    elif o is None or isinstance(o, bool | int | float):
        yield json.dumps(o)
    elif isinstance(o, Mapping):
        if not o:
            yield "{}"
            return
        inner = newline + "  "
        sep = "{" + inner
        for key, value in o.items():
            yield sep + _STRING.encode(key if isinstance(key, str) else _key(key)) + ": "
            yield from _pieces(value, inner)
            sep = "," + inner
        yield newline + "}"
    elif isinstance(o, Sequence):
        if not o:
            yield "[]"
            return
        inner = newline + "  "
        sep = "[" + inner
        for value in o:
            yield sep
            yield from _pieces(value, inner)
            sep = "," + inner
        yield newline + "]"
    else:
        yield json.dumps(o, ensure_ascii=False, indent=2).replace("\n", newline)  # (what dumps does: it refuses)


def _key(key: object) -> str:
    """A key that is not a string, as ``json.dumps`` writes it (an int: its digits; None: null)."""
    return next(iter(json.loads(json.dumps({key: 0}))))
