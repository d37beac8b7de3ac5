"""One change to one ticket, before it is written: what it may say (``ChangeRules.checked``), what it does to the
ticket (``_apply``: the values and the history events), the instant it is recorded at (``_stamp``), the deadlines
derived again and the version it makes (``_finish``). One home for the service (``service.Desk``: the screens,
the command line's other writes) and the command line's ``update`` through the driver alone
(``store/plain_write.py``: none of the store's libraries imported), which both inherit it; the statements that
write it are ``store/writes.py``'s, run by both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .clock import CLOCK_SKEW
from .domain import priority as prio_rules
from .domain import taxonomy, workflow
from .domain.agents import Directory
from .domain.calendar import epoch
from .domain.history import first_contact
from .domain.sla import CUSTOMER, evaluate
from .errors import BadInput, Conflict, Refused
from .records import NewEvent, TicketRecord
from .timers import Timers

# what ``--assign`` takes for "nobody"
UNASSIGN = ("", "none", "nobody", "-")

# the ticket columns derived from its history by the SLA engine (``Desk._deadlines``), in its order
DERIVED = ("next_due", "next_warn", "next_timer", "next_left")

_NOT_UNICODE = "not valid Unicode text (undecodable bytes or a lone surrogate such as \\ud800)"


def _unencodable(text: object) -> bool:
    """Text that SQLite cannot store (a lone surrogate: from \\ud800 in JSON, or non-UTF-8 bytes in argv)."""
    if not isinstance(text, str):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _utc(t: int | None) -> datetime | None:
    return datetime.fromtimestamp(t, UTC) if t is not None else None


@dataclass
class Change:
    """One agent change to one ticket (any combination of fields)."""

    status: str | None = None
    priority: str | None = None
    assign: str | None = None  # an agent, "me", or "" to unassign
    group: str | None = None
    reply: str | None = None
    note: str | None = None
    reason: str | None = None
    impact: int | None = None  # with urgency: the priority through the ITIL matrix
    urgency: int | None = None
    type: str | None = None
    classification: str | None = None  # defect (covered by the contract) or change_request (billable)
    resolution_code: str | None = None  # with status resolved (the screens require one; the contract's CLI does not)
    category: str | None = None  # a path of the taxonomy (any case); "none" or "-" clears it
    # a message from the customer (recorded by an agent, or read from the customer's mail): a reply event whose
    # author is "customer"; it takes a pending ticket back to open (the SLA resumes)
    customer_message: str | None = None

    def is_empty(self) -> bool:
        return all(
            v is None
            for v in (
                self.status,
                self.priority,
                self.assign,
                self.group,
                self.reply,
                self.note,
                self.impact,
                self.urgency,
                self.type,
                self.classification,
                self.category,
                self.customer_message,
            )
        )


class ChangeRules(Timers):
    """The rules of a change, on a desk's configuration, clock and user; ``seen_agents`` says who has changed the
    desk (the agents a typed name may mean, with the configured ones)."""

    user: str

    def seen_agents(self) -> list[str]:
        raise NotImplementedError

    def directory_of(self, seen: Sequence[str]) -> Directory:
        """Every known agent: the configured ones, ``seen`` (those who changed the desk), the members of the
        configured unix group (see ``domain/agents.py``) and this user."""
        seen = list(seen)
        if self.config.unix_group:
            from .accounts import unix_group_members

            seen.extend(unix_group_members(self.config.unix_group))
        return Directory.of(self.config.agents, [*seen, self.user], self.config.allow_new_agents)

    def directory(self) -> Directory:
        return self.directory_of(self.seen_agents())

    def agent(self, typed: str) -> str:
        """The agent a typed assignee means (``me`` and ``none`` as they are), or BadInput naming the closest
        known ones, unless the configuration allows new names."""
        if typed.strip().lower() in ("me", *UNASSIGN):
            return typed.strip().lower()
        directory = self.directory()
        who = directory.resolve(typed)
        if who is not None:
            return who
        if directory.allow_new:
            return typed.strip()
        raise BadInput(f"assign: {directory.unknown_message(typed)}")

    def category(self, typed: str) -> str | None:
        """The configured category that ``typed`` names (None for "none" or "-": no category), or BadInput
        naming the closest ones: a category outside the taxonomy is never stored."""
        if typed.strip().casefold() in taxonomy.CLEAR:
            return None
        try:
            return self.config.taxonomy.resolve(typed)
        except ValueError as exc:
            raise BadInput(f"category: {exc}") from None

    def _check_code(self, code: str) -> None:
        if code not in self.config.resolution_codes:
            raise BadInput(f"resolution code: {code!r} is not one of {', '.join(self.config.resolution_codes)}")

    def checked(self, change: Change) -> Change:
        """``change`` as it may be applied: BadInput when it says something wrong, its assignee and category
        resolved to the names the desk keeps."""
        if change.is_empty():
            raise BadInput("nothing to change: give --status, --priority, --assign, --group, --reply or --note")
        for name, text in (
            ("reply", change.reply),
            ("note", change.note),
            ("customer message", change.customer_message),
        ):
            if text is not None and not text.strip():
                raise BadInput(f"{name}: empty text")
        bad = [
            f"{name}: {_NOT_UNICODE}"
            for name in ("reply", "note", "reason", "assign", "group", "customer_message")
            if _unencodable(getattr(change, name))
        ]
        if bad:
            raise BadInput(bad)
        if change.priority is not None and not prio_rules.is_priority(change.priority):
            raise BadInput(f"priority: {change.priority!r} is not one of {', '.join(prio_rules.PRIORITIES)}")
        if change.status is not None and change.status not in workflow.STATUSES:
            raise BadInput(f"status: {change.status!r} is not one of {', '.join(workflow.STATUSES)}")
        if (change.impact is None) != (change.urgency is None):
            raise BadInput("impact and urgency go together")
        if change.impact is not None:
            if change.priority is not None:
                raise BadInput("give a priority or impact and urgency, not both")
            try:
                prio_rules.from_matrix(change.impact, change.urgency)  # type: ignore[arg-type]
            except ValueError as exc:
                raise BadInput(f"impact/urgency: {exc}") from None
        if change.type is not None and change.type not in prio_rules.TYPES:
            raise BadInput(f"type: {change.type!r} is not one of {', '.join(prio_rules.TYPES)}")
        if change.classification is not None and change.classification not in prio_rules.CLASSIFICATIONS:
            raise BadInput(
                f"classification: {change.classification!r} is not one of {', '.join(prio_rules.CLASSIFICATIONS)}"
            )
        if change.resolution_code is not None:
            if change.status != "resolved":
                raise BadInput("a resolution code goes with --status resolved")
            self._check_code(change.resolution_code)
        if change.assign is not None:
            change = dataclasses.replace(change, assign=self.agent(change.assign))
        if change.category is not None:
            change = dataclasses.replace(change, category=self.category(change.category) or "")
        return change

    def _stamp(self, last_change: datetime, at: datetime | None = None) -> datetime:
        """The instant a change is recorded: now (or ``at``, never later than now), moved to the ticket's last
        change when that is later, so that its history stays in order across hosts whose clocks differ a
        little. A last change further ahead than ``CLOCK_SKEW`` was written by a wrong clock (an older
        ``escalate-due --at`` in the future): it is not followed, a change is never recorded in the future."""
        real = self.clock.now()
        when = min(at, real) if at is not None else real
        if when < last_change <= real + CLOCK_SKEW:
            return last_change
        return when

    def _deadlines(
        self, customer: str, created_at: datetime, priority: str, events: Sequence, updated_at: datetime, now: datetime
    ) -> tuple:
        """The derived columns (``DERIVED``) of a ticket last changed at ``updated_at``, evaluated at ``now``
        (or at ``updated_at`` if later): the nearest deadline and warning of the active timers (indexed), the
        timer an agent looks at (``TicketSla.nearest``) and the counted seconds it had left at ``updated_at``.
        Nothing happens to a ticket's timers between two changes but the counting: from these, the time
        left at any later instant is ``next_left`` less the counted time since ``updated_at`` (none while
        paused), which only differences of the calendar's ``cumulative`` give."""
        policy = self.config.policy_for(customer)
        at = epoch(max(now, updated_at))
        result = evaluate(epoch(created_at), priority, [e.for_engine() for e in events], policy, at)
        nearest = result.nearest()
        if nearest is None:
            return _utc(result.next_due), _utc(result.next_warn), None, None
        left = nearest.remaining
        if nearest.counting:  # (running, or breached and running) since updated_at at least
            left += policy.calendar.cumulative(at) - policy.calendar.cumulative(epoch(updated_at))
        return _utc(result.next_due), _utc(result.next_warn), nearest.name, left

    def _apply(self, t: TicketRecord, change: Change, now: datetime) -> tuple[dict, list[NewEvent]]:
        values: dict = {}
        events: list[NewEvent] = []
        me = self.user

        def ev(kind: str, **kw) -> None:
            events.append(NewEvent(at=now, kind=kind, author=me, **kw))

        if change.customer_message is not None:
            events.append(NewEvent(at=now, kind="reply", author=CUSTOMER, public=True, body=change.customer_message))
            if t.status in workflow.PAUSING and change.status is None:  # the desk waited on the customer: resume
                events.append(NewEvent(at=now, kind="status", author=CUSTOMER, from_value=t.status, to="open"))
                values["status"] = "open"
        if change.reply is not None:
            ev("reply", public=True, body=change.reply)
        if change.note is not None:
            ev("reply", public=False, body=change.note)
        if change.priority is not None and change.priority != t.priority:
            ev("priority", from_value=t.priority, to=change.priority, reason=change.reason)
            values["priority"] = change.priority
        if change.impact is not None and (change.impact, change.urgency) != (t.impact, t.urgency):
            new_prio = prio_rules.from_matrix(change.impact, change.urgency)  # type: ignore[arg-type]
            why = f"impact {change.impact} × urgency {change.urgency}" + (f": {change.reason}" if change.reason else "")
            ev("priority", from_value=t.priority, to=new_prio, reason=why)
            values.update(priority=new_prio, impact=change.impact, urgency=change.urgency)
        if change.type is not None and change.type != t.type:
            ev("type", from_value=t.type, to=change.type)
            values["type"] = change.type
        if change.classification is not None and change.classification != t.classification:
            ev("classification", from_value=t.classification, to=change.classification)
            values["classification"] = change.classification
        if change.category is not None and (change.category or None) != t.category:
            ev("category", from_value=t.category, to=change.category or None, reason=change.reason)
            values["category"] = change.category or None
        if change.assign is not None:
            who = (
                me
                if change.assign == "me"
                else (None if change.assign.strip().lower() in UNASSIGN else change.assign.strip())
            )
            if who != t.assignee:
                ev("assign", from_value=t.assignee, to=who)
                values["assignee"] = who
        if change.group is not None:
            group = change.group.strip()
            if not group:
                raise BadInput("group: empty name")
            if group != t.group:
                ev("group", from_value=t.group, to=group, reason=change.reason)
                values["group_name"] = group
        if change.status is not None:
            try:
                workflow.check_transition(t.status, change.status)
            except workflow.TransitionError as exc:
                raise Refused(f"ticket {t.key}: {exc}") from None
            ev("status", from_value=t.status, to=change.status, reason=change.resolution_code or change.reason)
            values["status"] = change.status
            if change.status == "resolved":
                values.update(resolution_code=change.resolution_code, first_contact=first_contact(t.events, self.user))
        if not events:
            raise Refused(f"ticket {t.key}: nothing changed (the ticket already has those values)")
        return values, events

    def _finish(self, t: TicketRecord, values: dict, events: Sequence[NewEvent], now: datetime) -> int:
        """Complete ``values`` for the write: the deadlines derived again (``DERIVED``), the change's instant and
        the version it makes (returned)."""
        # as the history reads back (by instant, then as written): a change recorded before the ticket's last
        # one (a clock behind, the demo's story) is derived with every event of the history, as the
        # evaluation that paints its countdown is, not with those up to its own instant only
        all_events = sorted([*t.events, *events], key=lambda e: e.at)
        latest = max(now, all_events[-1].at) if all_events else now
        values.update(
            zip(
                DERIVED,
                self._deadlines(t.customer, t.created_at, t.initial_priority, all_events, now, latest),
                strict=True,
            )
        )
        values["updated_at"] = now
        values["version"] = t.version + 1
        return t.version + 1


def _expect(t: Any, expect_version: int | None) -> None:
    """Refuse a change made on a version of the ticket that is no longer its own (``--expect-version``, a dialog's
    or a draft's version): Conflict, with the ticket's present version."""
    if expect_version is not None and t.version != expect_version:
        raise Conflict(
            f"ticket {t.key}: changed since version {expect_version} (now version {t.version}); "
            "reload it and try again",
            current_version=t.version,
        )
