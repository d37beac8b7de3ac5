"""'Why is it due then?': the account of every timer of a ticket, as lines of styled segments.

One builder for the ticket screen's ``w`` dialog and ``deskterm show ID --why``: the policy and why the
customer has it, the calendar and its zone, then per timer the target, every business interval counted, the
pauses subtracted, the holidays and closed days in between, what is still to count and how the due instant
follows (``domain.explain`` gives the pieces; this module words them). Untrusted names go through ``one_line``.

A line is a list of ``(text, style)`` segments; ``style`` is "" (plain), "bold" or "heading" (the timer's name).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from .domain.calendar import BusinessCalendar, epoch
from .domain.explain import explain
from .domain.sla import TIMER_LABELS, Policy, TicketSla, TimerResult
from .fmt import compact, exact, local, one_line

Segment = tuple[str, str]
Line = list[Segment]


def why_lines(
    sla: TicketSla, policy: Policy, reason: str, priority: str, display_tz: ZoneInfo, now: datetime
) -> list[Line]:
    """The account of ``sla`` (evaluated at ``now``) under ``policy``; ``reason`` says why the customer has the
    policy; ``priority`` is the ticket's present one; times in the calendar's zone (24x7: ``display_tz``)."""
    cal = policy.calendar
    zone = display_tz if cal.always else ZoneInfo(cal.timezone)
    out: list[Line] = [[(f"policy {one_line(policy.name)}: {one_line(reason)}", "")]]
    if cal.always:
        out.append([(f"calendar {one_line(cal.name)}: 24x7, every second counts (times shown in {zone.key})", "")])
    else:
        out.append(
            [
                (
                    f"calendar {one_line(cal.name)}: business hours in {cal.timezone}; nights, weekends, "
                    "holidays and closed days are not counted",
                    "",
                )
            ]
        )
    out.append([(f"now: {local(now, zone)}", "")])
    t_now = epoch(now)
    for name, timer in sla.timers.items():
        ex = explain(timer, policy, t_now)
        out.append([])
        out.append(
            [
                (TIMER_LABELS.get(name, name), "heading"),
                (f" — {_target_words(timer, priority, ex.target)} — {ex.state}", ""),
            ]
        )
        out.append([(f"started {_at(timer.started_at, zone)}", "")])
        out.append([("counted (business time):", "")])
        out.extend([(f"  {_span(a, b, zone)}   {exact(b - a)}", "")] for a, b in ex.counted)
        if not ex.counted:
            out.append([("  nothing yet", "")])
        out.append([(f"  = {exact(ex.counted_seconds)} counted", "")])
        if ex.pauses:
            out.append([("paused (not counted: waiting on the customer):", "")])
            out.extend([(f"  {_at(a, zone)} → {_at(b, zone)}", "")] for a, b in ex.pauses)
        days = closed_days(cal, timer.started_at, timer.stopped_at or ex.due or t_now)
        if days:
            out.append([("holidays and closed days in between:", "")])
            out.extend([(f"  {d:%a %Y-%m-%d} {one_line(why)}", "")] for d, why in days)
        if ex.state == "running":
            out.append([("still to count, up to the due time:", "")])
            out.extend([(f"  {_span(a, b, zone)}   {exact(b - a)}", "")] for a, b in ex.future)
            out.append([(f"  = {exact(ex.future_seconds)} left", "")])
            out.append(
                [
                    (
                        f"{exact(ex.counted_seconds)} counted + {exact(ex.remaining)} left = {exact(ex.target)} "
                        f"target → due {_at(ex.due, zone)}",
                        "bold",
                    )
                ]
            )
        elif ex.state == "paused":
            out.append(
                [
                    (
                        f"{exact(ex.consumed)} counted + {exact(ex.remaining)} left = {exact(ex.target)} target; "
                        "no due time while paused: it is set again when the ticket is reopened",
                        "bold",
                    )
                ]
            )
        elif ex.state == "met":
            out.append(
                [
                    (
                        f"stopped {_at(timer.stopped_at, zone)} with {exact(ex.remaining)} to spare "
                        f"({exact(ex.consumed)} of {exact(ex.target)} used): met",
                        "bold",
                    )
                ]
            )
        else:
            out.append(
                [
                    (
                        f"{exact(ex.consumed)} counted = {exact(ex.target)} target + {exact(-ex.remaining)} over; "
                        f"the target was reached {_at(ex.due, zone) or 'earlier'}: breached",
                        "bold",
                    )
                ]
            )
    return out


def why_text(lines: list[Line]) -> str:
    """The account as plain text (the command line)."""
    return "\n".join("".join(text for text, _style in line) for line in lines)


def closed_days(cal: BusinessCalendar, start: int, end: int, limit: int = 31) -> list[tuple[date, str]]:
    """Weekdays with hours that are holidays or closed days, between two instants."""
    if cal.always or end <= start:
        return []
    zone = ZoneInfo(cal.timezone)
    day = datetime.fromtimestamp(start, UTC).astimezone(zone).date()
    last = datetime.fromtimestamp(end, UTC).astimezone(zone).date()
    out: list[tuple[date, str]] = []
    while day <= last and len(out) < limit:
        if day.weekday() in cal.weekly:
            if day in cal.closed:
                out.append((day, "closed"))
            elif cal.holidays is not None and day in cal.holidays:  # type: ignore[operator]
                get = getattr(cal.holidays, "get", None)
                name = get(day) if get is not None else None
                out.append((day, f"holiday{': ' + str(name) if name else ''}"))
        day += timedelta(days=1)
    return out


def _target_words(timer: TimerResult, priority: str, target: int) -> str:
    """``P1 target 4h00m of counted time``; a timer that stopped (or breached) under another priority than the
    ticket's present one names that one: ``stopped under P4 (target 8h00m) before the priority became P1``."""
    under = timer.priority or priority
    if under == priority:
        return f"{priority} target {exact(target)} of counted time" + (
            f" ({compact(target)})" if target >= 86400 else ""
        )
    how = "stopped" if timer.stopped_at is not None else "breached"
    return f"{how} under {under} (target {exact(target)}) before the priority became {priority}"


def _at(t: int | None, zone: ZoneInfo, fmt: str = "%a %Y-%m-%d %H:%M") -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(t, UTC).astimezone(zone).strftime(fmt)


def _span(a: int, b: int, zone: ZoneInfo) -> str:
    """``Mon 2026-11-30 09:00 → 12:00`` within a day, both instants in full across days."""
    same_day = (
        datetime.fromtimestamp(a, UTC).astimezone(zone).date() == datetime.fromtimestamp(b, UTC).astimezone(zone).date()
    )
    return f"{_at(a, zone)} → {_at(b, zone, '%H:%M') if same_day else _at(b, zone)}"
