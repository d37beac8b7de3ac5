"""The rules of customer e-mail that need no I/O: the ticket tag in subjects, what counts as an automatic
message (never answered automatically: no mail loops), the back-off between delivery attempts, and whether
an SMTP answer is worth another try."""

from __future__ import annotations

import re
from collections.abc import Mapping

_TAG = re.compile(r"\[#([0-9]{1,12})\]")
_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|tr|sv|vs)\s*(\[[0-9]+\])?\s*:\s*)+", re.IGNORECASE)
# RFC 3834 and the common practice of mailing lists and autoresponders
_DAEMONS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply")
BACKOFF = (60, 300, 900, 1800, 3600, 7200, 14400, 28800)  # seconds before attempt 2, 3, ...


def ticket_tag(subject: str) -> int | None:
    """The ticket a subject names by its tag ``[#123]`` (the last one, as replies prepend theirs), else None."""
    found = _TAG.findall(subject or "")
    return int(found[-1]) if found else None


def tagged(ticket_id: int, subject: str, reply: bool = True) -> str:
    """The subject deskterm sends: ``Re: [#123] Printer down`` (one tag, one ``Re:``)."""
    bare = _TAG.sub("", _PREFIX.sub("", subject or "")).strip()
    bare = " ".join(bare.split())  # one line, whatever the subject held
    return f"{'Re: ' if reply else ''}[#{ticket_id}] {bare}".rstrip()


def automatic(headers: Mapping[str, str], sender: str) -> str | None:
    """Why a message is automatic (an auto-reply, a bounce, bulk or list mail), or None for a person's."""
    lower = {k.lower(): (v or "").strip().lower() for k, v in headers.items()}
    auto = lower.get("auto-submitted", "")
    if auto and auto != "no":
        return f"Auto-Submitted: {auto[:40]}"
    if lower.get("precedence", "") in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {lower['precedence']}"
    for header in ("x-autoreply", "x-autorespond", "x-auto-response-suppress", "list-id", "list-unsubscribe"):
        if lower.get(header):
            if header == "x-auto-response-suppress" and lower[header] in ("", "none"):
                continue
            return f"{header}: present"
    local = sender.lower().partition("@")[0]
    if not sender or local in _DAEMONS or local.startswith("mailer-daemon") or local.startswith("bounce"):
        return f"sent by {sender or 'an empty sender'} (a mailer daemon)"
    return None


def retry_in(attempts: int) -> int:
    """Seconds before the next attempt after ``attempts`` failed ones (1 minute, then longer, up to 8 hours)."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def transient(code: int | None) -> bool:
    """An SMTP answer (or a lost connection: None) worth trying again: 4xx and the network; 5xx is final."""
    return code is None or 400 <= code < 500
