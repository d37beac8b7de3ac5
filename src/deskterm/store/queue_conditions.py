"""The queue's conditions in SQL: the views, the field filters (``filter_conditions``) and the sort keys.

"Breaching soon" holds the open tickets not yet breached whose warning has started or that are due within the
hour (a ticket breached 19 days ago is "breached", not "soon": it leads "All open"). The other views
(``data_view_condition``) are moved by the data only, not by the clock: their counts are kept up to date from the
tickets that change (queue_counts.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement, SQLColumnExpression
from sqlmodel import col

from ..domain.workflow import STATUSES
from .models import Customer, Escalation, Ticket
from .queue_terms import (
    BREACHING_HORIZON,
    FIRST_LEVEL,
    OPEN_STATUSES,
    Filters,
    fold,
)

_STATUS_RANK = case({s: i for i, s in enumerate(STATUSES)}, value=col(Ticket.status), else_=len(STATUSES))


def sort_key(column: str) -> SQLColumnExpression[Any]:
    return {
        "due": col(Ticket.next_due),
        "priority": col(Ticket.priority),
        "status": _STATUS_RANK,
        "id": col(Ticket.id),
        "customer": func.lower(Customer.name),
        "subject": func.lower(Ticket.subject),
        "assignee": col(Ticket.assignee),
        "group": col(Ticket.group_name),
        "age": col(Ticket.created_at),
    }[column]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column, text: str, sqlite: bool) -> ColumnElement:
    # SQLite's LIKE already ignores (ASCII) case and, without lower(), costs no function call per row
    pattern = _like(text)
    return column.like(pattern, escape="\\") if sqlite else column.ilike(pattern, escape="\\")


def _customers_matching(text: str, sqlite: bool, customers: Mapping[int, str] | None = None):
    if customers is not None:
        # matched in Python, folding case and diacritics ("rhone" finds "Banque RHÔNE-Alpes")
        needle = fold(text)
        return col(Ticket.customer_id).in_([i for i, name in customers.items() if needle in fold(name)])
    # a subquery on the small customers table spares joining it to every ticket
    return col(Ticket.customer_id).in_(select(col(Customer.id)).where(_contains(col(Customer.name), text, sqlite)))


def escalated_condition() -> ColumnElement:
    """In a group other than L1 (functional), or with an open escalation record (a hierarchical one leaves the
    group alone). The same condition for the view's window and its count; the EXISTS is answered from the
    (closed_at, ticket_id) index of the escalations, only for the tickets in L1."""
    has_open = (
        select(col(Escalation.id))
        .where(col(Escalation.closed_at).is_(None), col(Escalation.ticket_id) == col(Ticket.id))
        .exists()
    )
    return or_(col(Ticket.group_name) != FIRST_LEVEL, has_open)


def view_condition(view: str, user: str, now: datetime) -> ColumnElement[bool]:
    if view == "breaching":
        # not breached yet (a breached ticket is "breached", not "soon"), and warning started or due within the hour
        return and_(
            col(Ticket.status).in_(OPEN_STATUSES),
            or_(col(Ticket.next_due).is_(None), col(Ticket.next_due) >= now),
            or_(col(Ticket.next_warn) <= now, col(Ticket.next_due) <= now + BREACHING_HORIZON),
        )
    return data_view_condition(view, user)


DATA_VIEWS = ("mine", "unassigned", "escalated", "pending", "open")  # the views that only the data moves


def data_view_condition(view: str, user: str) -> ColumnElement[bool]:
    """One of ``DATA_VIEWS`` as a condition on a ticket (the clock plays no part in it)."""
    is_open = col(Ticket.status).in_(OPEN_STATUSES)
    if view == "mine":
        return and_(is_open, col(Ticket.assignee) == user)
    if view == "unassigned":
        return and_(is_open, col(Ticket.assignee).is_(None))
    if view == "escalated":
        return and_(is_open, escalated_condition())
    if view == "pending":
        return col(Ticket.status) == "pending"
    if view == "open":
        return is_open
    raise ValueError(f"unknown view {view!r}")


def data_views(user: str) -> dict[str, ColumnElement[bool]]:
    """The views that only the data moves (not the clock), as conditions on a ticket."""
    return {view: data_view_condition(view, user) for view in DATA_VIEWS}


def filter_conditions(
    filters: Filters, user: str, sqlite: bool = True, customers: Mapping[int, str] | None = None
) -> list[ColumnElement]:
    """The field terms as SQL conditions. Free words are not here: ``SearchIndex`` matches them in Python.

    With ``customers`` (id → name, a small table) ``customer:`` terms are matched in Python, folded (``fold``);
    without, by SQL LIKE (which folds ASCII case only).
    """
    conds: list[ColumnElement] = []
    if filters.priorities:
        conds.append(col(Ticket.priority).in_(filters.priorities))
    if filters.statuses:
        conds.append(col(Ticket.status).in_(filters.statuses))
    if filters.customers:
        conds.append(or_(*(_customers_matching(c, sqlite, customers) for c in filters.customers)))
    if filters.assignees:
        alts: list[ColumnElement[bool]] = []
        for a in filters.assignees:
            if a.lower() in ("none", "nobody", "-"):
                alts.append(col(Ticket.assignee).is_(None))
            else:
                alts.append(func.lower(col(Ticket.assignee)) == (user if a.lower() == "me" else a).lower())
        conds.append(or_(*alts))
    if filters.groups:
        # a prefix: group:L2 takes L2-network and L2-apps
        conds.append(
            or_(*(func.lower(col(Ticket.group_name)).like(_like(g.lower())[1:], escape="\\") for g in filters.groups))
        )
    if filters.categories:
        # a prefix too: category:network takes network and network/vpn (the taxonomy's names are ASCII)
        conds.append(
            or_(*(func.lower(col(Ticket.category)).like(_like(c.lower())[1:], escape="\\") for c in filters.categories))
        )
    return conds


def customer_names(conn) -> dict[int, str]:
    return dict(conn.execute(select(col(Customer.id), col(Customer.name))).all())
