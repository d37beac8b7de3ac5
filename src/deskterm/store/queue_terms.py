"""What a queue is made of, without SQL: its views, sorts, field filters (``parse_filter``) and rows.

The queue screen and table name these at import time; the reads themselves (store/queue.py) import
SQLAlchemy, which costs about 0.3 s and is imported in a worker, after the first frame is painted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..domain.text import fold as fold  # one home: the customers' names are folded alike
from ..domain.workflow import STATUSES, STOPPED

OPEN_STATUSES = tuple(s for s in STATUSES if s not in STOPPED)

# view key → tab title; the order is the tab order and the number keys 1–6
VIEWS: dict[str, str] = {
    "mine": "My tickets",
    "unassigned": "Unassigned",
    "breaching": "Breaching soon",
    "escalated": "Escalated",
    "pending": "Pending",
    "open": "All open",
}
BREACHING_HORIZON = timedelta(hours=1)
# rows read along the deadline index for a queue's first screenful (``QueueQuery.head``, ``PlainDesk.queue_head``),
# beyond which the whole order is
HEAD_SCAN_MOST = 4096
FIRST_LEVEL = "L1"  # tickets in any other group are "escalated", and so are those with an open escalation

# sort key → column title, in the order ``o`` cycles through them
SORTS: dict[str, str] = {
    "due": "time to breach",
    "priority": "priority",
    "status": "status",
    "id": "id",
    "customer": "customer",
    "subject": "subject",
    "assignee": "assignee",
    "group": "group",
    "age": "age",
}

_FILTER_KEYS = {
    "prio": "priorities",
    "priority": "priorities",
    "p": "priorities",
    "status": "statuses",
    "s": "statuses",
    "customer": "customers",
    "c": "customers",
    "assignee": "assignees",
    "a": "assignees",
    "group": "groups",
    "g": "groups",
    "category": "categories",
    "cat": "categories",
}


@dataclass(frozen=True)
class Filters:
    """What the agent typed after ``/``: field terms (OR within a field, AND across) and free words."""

    priorities: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    customers: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # a prefix: category:network takes network and network/*
    words: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return self == Filters()


def parse_filter(text: str) -> Filters:
    """``"vpn prio:P1,P2 status:open customer:lyon assignee:me group:L2 category:network"`` → Filters.

    A term is ``key:value[,value...]``; an unknown key or an empty value leaves the term as a free word
    (so a subject containing "a:b" can still be searched). Priorities are upper-cased, statuses
    lower-cased; everything else matches folding case and diacritics (``fold``) when queried.
    """
    found: dict[str, list[str]] = {}
    words: list[str] = []
    for token in text.split():
        key, sep, value = token.partition(":")
        target = _FILTER_KEYS.get(key.lower()) if sep else None
        values = [v for v in value.split(",") if v] if target else []
        if not values:
            words.append(token)
            continue
        if target == "priorities":
            values = [v.upper() for v in values]
        elif target == "statuses":
            values = [v.lower().replace("-", "_") for v in values]
        found.setdefault(target, []).extend(values)  # type: ignore[arg-type]
    return Filters(**{k: tuple(v) for k, v in found.items()}, words=tuple(words))


@dataclass(frozen=True)
class Sort:
    column: str = "due"
    descending: bool = False

    def next(self, among: list[str] | None = None) -> Sort:
        """The next sort ``o`` chooses, ascending: the next column of ``among`` (the columns shown; default
        every sort), in the order of ``SORTS``."""
        keys = [k for k in SORTS if among is None or k in among or k == self.column]
        following = keys[keys.index(self.column) + 1 :] + keys[: keys.index(self.column)]
        choices = [k for k in following if among is None or k in among]
        return Sort(choices[0] if choices else self.column, False)

    def reversed(self) -> Sort:
        return replace(self, descending=not self.descending)


@dataclass(frozen=True)
class Row:
    """One queue row: what the table shows, plus ``version`` (for caches and optimistic updates)."""

    id: int
    ref: str | None
    subject: str
    customer: str
    priority: str
    status: str
    assignee: str | None
    group: str
    created_at: datetime
    next_due: datetime | None
    next_warn: datetime | None
    version: int
    next_timer: str | None = None  # the timer the countdown shows, and its counted seconds left at
    next_left: int | None = None  # updated_at (see Ticket.next_timer)
    updated_at: datetime | None = None


__all__ = [
    "BREACHING_HORIZON",
    "FIRST_LEVEL",
    "HEAD_SCAN_MOST",
    "OPEN_STATUSES",
    "SORTS",
    "VIEWS",
    "Filters",
    "Row",
    "Sort",
    "fold",
    "parse_filter",
]
