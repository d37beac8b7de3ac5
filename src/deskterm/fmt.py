"""Presentation helpers shared by the CLI and the screens: compact durations, inert untrusted text, and the
one rule for showing an SLA deadline on two clocks.

An SLA countdown is counted *business* time (the policy calendar's hours); the deadline is an instant on the
*wall clock*. During business hours they agree; outside them (a P1 of an office-hours customer at 08:00) the
counted time stands still while the wall clock runs, so "30m left" may mean "due at 09:30". Wherever a
deadline is shown (the queue, ``deskterm list``, the handover) it is written by ``left_and_due``: the business
time left, and the wall-clock due time next to it whenever the two differ (``30m · 09:30``).

Ticket subjects, bodies and customer names come from customers. ``inert`` makes them safe to print on
a terminal: control characters (C0, DEL, C1 — which include ESC and the 8-bit CSI) and bidirectional
overrides are replaced by visible escapes such as ``\\x1b`` and ``\\u202e``; the rest is left as written.
(Rich markup is neutralised where text is rendered: the screens always build ``rich.text.Text`` objects,
never markup strings.)
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

# C0, DEL, C1; bidirectional marks, embeddings, overrides and isolates; and the invisible characters a terminal
# and the width computation disagree on (zero-width space, joiners, word joiner, invisible operators, BOM, soft
# hyphen, line and paragraph separators, interlinear annotations): each would shift the columns of a table
_INVISIBLE = (
    "\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
)
_UNSAFE = re.compile(f"[\x00-\x1f{_INVISIBLE}]")
_UNSAFE_TYPED = re.compile(f"[\x00-\x08\x0b-\x1f{_INVISIBLE}]")  # the same, but tabs and line breaks
SUBJECT_SHOWN = 300  # characters of a subject shown on the ticket screen (all of it is kept)
DESCRIPTION_SHOWN = 20_000  # characters of a description the ticket screen (and the new-ticket form) shows


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str | None, newlines: bool = False) -> str:
    """Untrusted text made safe for a terminal; ``newlines=True`` keeps line breaks (and tabs)."""
    if not text:
        return ""
    if newlines:
        text = text.replace("\r\n", "\n")
        return "\n".join(_UNSAFE.sub(_escape, line.replace("\t", "    ")) for line in text.split("\n"))
    return _UNSAFE.sub(_escape, text)


def typed(text: str, newlines: bool = True) -> str:
    """Text typed or pasted into a field, made inert as it goes in: a paste (a customer's mail, a log) is drawn
    again by the field, and an escape sequence in it would reach the agent's terminal as such. Tabs are kept, and
    line breaks where ``newlines`` (``\\r\\n`` and ``\\r`` made ``\\n``); the rest of ``inert``'s characters become
    its visible escapes, so that what is drawn, kept as a draft and sent are one text. Idempotent."""
    if newlines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return _UNSAFE_TYPED.sub(_escape, text)
    return _UNSAFE_TYPED.sub(_escape, text).replace("\n", "\\x0a")


def one_line(text: str | None, width: int | None = None) -> str:
    """Inert, on one line (line breaks become spaces), cut to ``width`` with an ellipsis."""
    text = text or ""
    if width is not None and len(text) > width * 8:  # a 1 MB subject: no need to escape what will be cut
        text = text[: width * 8]
    s = inert(text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
    if width is not None and len(s) > width:
        return s[: max(width - 1, 0)] + "…"
    return s


def compact(seconds: int) -> str:
    """``42m``, ``3h05``, ``2d4h``, ``-15m``, ``-19d``: fits a narrow column (six cells at most). ``d`` is 24 h
    of counted time; from ten days on, the hours are left out."""
    sign = "-" if seconds < 0 else ""
    s = abs(int(seconds))
    if s < 60:
        body = f"{s}s"
    elif s < 3600:
        body = f"{s // 60}m"
    elif s < 86400:
        body = f"{s // 3600}h{(s % 3600) // 60:02d}"
    elif s < 10 * 86400:
        body = f"{s // 86400}d{(s % 86400) // 3600}h"
    else:
        body = f"{s // 86400}d"
    return sign + body


def local(dt: datetime | None, tz: ZoneInfo | str) -> str:
    if dt is None:
        return ""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return dt.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def exact(seconds: int) -> str:
    """Counted seconds written out in full, for adding up by hand: ``4h50m58s``, ``4h00m``, ``35m19s``,
    ``-1h30m``, ``0m``."""
    sign = "-" if seconds < 0 else ""
    s = abs(int(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    tail = f"{sec:02d}s" if sec else ""
    if h:
        return f"{sign}{h}h{m:02d}m{tail}"
    if m:
        return f"{sign}{m}m{tail}"
    return f"{sign}{sec}s" if sec else "0m"


DIFFER_BY = 60  # seconds: the clocks are shown apart when wall time and business time differ by a minute


def clocks_differ(remaining: int, due: int | None, now: int) -> bool:
    """Whether the wall-clock distance to ``due`` (epoch) differs from the business time ``remaining``: the
    calendar does not count all the way between now and the deadline (or, once breached, since the breach)."""
    return due is not None and abs((due - now) - remaining) >= DIFFER_BY


def day_of(now: int, tz: ZoneInfo | str) -> date:
    """The day of the instant ``now`` (epoch) in the display zone: ``due_clock``'s ``today``."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return datetime.fromtimestamp(now, UTC).astimezone(zone).date()


def due_clock(
    due: int, now: int, tz: ZoneInfo | str, long: bool = False, wide: bool = False, today: date | None = None
) -> str:
    """The wall-clock due time in the display zone, as short as it reads unambiguously next to ``now``:
    ``09:30`` the same day; within six days ``Tue`` (``wide`` or ``long``: ``Tue 09:30``); further away
    ``11-12`` (``long``: ``2026-11-12 14:02``). ``today``: ``now``'s day in that zone, when the caller has it
    (``deskterm list`` asks for tens of thousands of deadlines at one instant)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    d = datetime.fromtimestamp(due, UTC).astimezone(zone)
    if today is None:
        today = day_of(now, zone)
    # two-digit fields written by hand: what strftime writes, at a third of its cost (``list`` writes tens of
    # thousands); the day's name (the locale's) and the year (its padding is the platform's) are still strftime's
    day = d.date()
    if day == today:
        return f"{d.hour:02d}:{d.minute:02d}"
    if abs((day - today).days) <= 6:
        return d.strftime("%a") + f" {d.hour:02d}:{d.minute:02d}" if long or wide else d.strftime("%a")
    return d.strftime("%Y-%m-%d %H:%M") if long else f"{d.month:02d}-{d.day:02d}"


def left_and_due(
    remaining: int, due: int | None, now: int, tz: ZoneInfo | str, long: bool = False, today: date | None = None
) -> str:
    """The one rule of the queue, ``deskterm list`` and the handover for a deadline: the business time left
    (negative once breached), then the wall-clock due time (once breached: the instant of the breach).

    Short (a table cell): ``30m`` when the deadline is as far on the wall clock as in business time, else
    ``30m · 09:30``. Long (a sentence, the handover): both always, ``30m left · due 09:30``, ``5h01 over ·
    breached Fri 17:00``. A paused timer (no ``due``) shows its time left alone. ``today``: as ``due_clock``'s."""
    if long:
        if due is None:
            return f"{compact(remaining)} left, paused"
        when = due_clock(due, now, tz, long=True)
        if remaining < 0 or due < now:
            return f"{compact(-remaining)} over · breached {when}"
        return f"{compact(remaining)} left · due {when}"
    left = compact(remaining)
    if not clocks_differ(remaining, due, now):
        return left
    return f"{left} · {due_clock(due, now, tz, today=today)}"  # type: ignore[arg-type]


# -- text that leaves deskterm for other programs -------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # and their full-width forms
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~#!])")


def csv_cell(value: object) -> object:
    """A CSV cell that a spreadsheet shows as text: inert, and a text starting with ``=``, ``+``, ``-``, ``@``, a
    tab or a carriage return prefixed with ``'`` (OWASP, CSV injection), so that it is never run as a formula.
    Numbers are left as they are (a negative number is a number)."""
    if not isinstance(value, str):
        return value
    shown = inert(value.replace("\r\n", "\n"))
    if value[:1] in ("\t", "\r") or shown.startswith(_FORMULA_START):
        return "'" + shown
    return shown


def md_text(text: str | None, width: int | None = None) -> str:
    """Untrusted text inside Markdown (the handover, ``report``): inert, on one line, and its Markdown punctuation
    escaped so that it stays text (no link, image, HTML, emphasis, heading or extra table cell)."""
    return _MARKDOWN.sub(r"\\\1", one_line(text, width))


def hours_minutes(seconds: int) -> str:
    """Logged work, to the minute: ``25m``, ``1h30m``, ``2h``."""
    h, m = divmod(seconds // 60, 60)
    return f"{h}h{m:02d}m" if h and m else (f"{h}h" if h else f"{m}m")


MANAGER_KINDS = ("time", "estimate", "approval", "problem", "problem-link", "action")


def work_words(kind: str, from_value: str | None, to: str | None) -> str:
    """What a ``time``, ``estimate``, ``approval``, ``problem``, ``problem-link`` or ``action`` event says."""

    def dur(v: str | None) -> str:
        return hours_minutes(int(v)) if v and v.isdigit() else "?"

    if kind == "time":
        return f"time logged {dur(to)}"
    if kind == "problem":
        field = {"root_cause": "root cause", "workaround": "workaround", "known_error": "known error"}
        return f"problem: {field.get(to or '', one_line(to))} recorded"
    if kind == "problem-link":
        return f"linked to problem #{one_line(to)}" + (f" (was #{one_line(from_value)})" if from_value else "")
    if kind == "action":
        if from_value:
            return f"corrective action {one_line(from_value)} → {one_line(to)}"
        return f"corrective action for {one_line(to)}"
    if kind == "estimate":
        return f"estimate {dur(from_value)} → {dur(to)}" if from_value else f"estimate {dur(to)}"
    return f"change request {one_line(from_value) if from_value else 'not proposed'} → {one_line(to) or '?'}"
