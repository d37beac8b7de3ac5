"""The one source of "now": injected everywhere so that tests can freeze it and step it.

Instants are whole seconds (the SLA engine counts in seconds), timezone-aware, in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """The system clock."""

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now()


class FrozenClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a frozen clock needs an aware datetime")
        self._at = at.astimezone(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self._at

    def advance(self, seconds: float = 0, **kwargs: float) -> datetime:
        self._at += timedelta(seconds=seconds, **kwargs)
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC).replace(microsecond=0)


def os_user() -> str:
    """The OS account running this process: the author of every change it makes (not a typed name)."""
    import os
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid with no passwd entry (containers)
        return f"uid{os.geteuid()}"


# -- the range of instants deskterm accepts ---------------------------------------------------------------
# One home for the rule: every instant that comes from outside (an import's timestamps, a command's --at,
# --since, --until) must fall in the years 1970 to 2200. Earlier or later is a typing error, not a date a
# service desk deals in, and the arithmetic of timers (epoch seconds, offsets of up to ±24 h, durations of
# years) stays far from the limits of datetime (years 1 and 9999) that made such dates crash.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 12, 31, 23, 59, 59, tzinfo=UTC)
RANGE_TEXT = "outside the years 1970 to 2200"
# How far ahead of this host's clock a recorded instant may be (another host's clock running fast, an export
# taken seconds ago): an import dated later than now plus this is refused.
CLOCK_SKEW = timedelta(minutes=5)


def in_range(at: datetime) -> bool:
    """Whether an aware instant lies in the years 1970 to 2200 (UTC); comparing never overflows."""
    return EARLIEST <= at <= LATEST


def check_range(at: datetime) -> datetime:
    """``at`` itself, or ValueError(RANGE_TEXT) when it lies outside the years 1970 to 2200."""
    if not in_range(at):
        raise ValueError(RANGE_TEXT)
    return at


def back_from(at: datetime, seconds: int) -> datetime:
    """``seconds`` before ``at``, or ValueError(RANGE_TEXT) when that is outside the range (never OverflowError)."""
    try:
        return check_range(at - timedelta(seconds=seconds))
    except OverflowError:
        raise ValueError(RANGE_TEXT) from None
