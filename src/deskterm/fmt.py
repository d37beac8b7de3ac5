"""Presentation helpers shared by the CLI and the screens: compact durations, inert untrusted text.

Ticket subjects, bodies and customer names come from customers. ``inert`` makes them safe to print on
a terminal: control characters (C0, DEL, C1 — which include ESC and the 8-bit CSI) and bidirectional
overrides are replaced by visible escapes such as ``\\x1b`` and ``\\u202e``; the rest is left as written.
(Rich markup is neutralised where text is rendered: the screens always build ``rich.text.Text`` objects,
never markup strings.)
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


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


def one_line(text: str | None, width: int | None = None) -> str:
    """Inert, on one line (line breaks become spaces), cut to ``width`` with an ellipsis."""
    s = inert((text or "").replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
    if width is not None and len(s) > width:
        return s[: max(width - 1, 0)] + "…"
    return s


def compact(seconds: int) -> str:
    """``42m``, ``3h05``, ``2d4h``, ``-15m``: fits a narrow column. ``d`` is 24 h of counted time."""
    sign = "-" if seconds < 0 else ""
    s = abs(int(seconds))
    if s < 60:
        body = f"{s}s"
    elif s < 3600:
        body = f"{s // 60}m"
    elif s < 86400:
        body = f"{s // 3600}h{(s % 3600) // 60:02d}"
    else:
        body = f"{s // 86400}d{(s % 86400) // 3600}h"
    return sign + body


def local(dt: datetime | None, tz: ZoneInfo | str) -> str:
    if dt is None:
        return ""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return dt.astimezone(zone).strftime("%Y-%m-%d %H:%M")
