"""The one source of "now": injected everywhere so that tests can freeze it and step it.

Instants are whole seconds (the SLA engine counts in seconds), timezone-aware, in UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


class Clock:
    """The system clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now()


class FrozenClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a frozen clock needs an aware datetime")
        self._at = at.astimezone(timezone.utc).replace(microsecond=0)

    def now(self) -> datetime:
        return self._at

    def advance(self, seconds: float = 0, **kwargs: float) -> datetime:
        self._at += timedelta(seconds=seconds, **kwargs)
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(timezone.utc).replace(microsecond=0)


def os_user() -> str:
    """The OS account running this process: the author of every change it makes (not a typed name)."""
    import os
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid with no passwd entry (containers)
        return f"uid{os.geteuid()}"
