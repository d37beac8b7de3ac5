"""An import writes its instants on SQLite as text put together from cached pieces (``bulk._sqlite_instant``):
the text must be exactly what the general formula (SQLAlchemy's SQLite DATETIME text, in UTC) writes, for any
instant deskterm accepts, in any UTC offset, whole seconds or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from deskterm.clock import EARLIEST, LATEST
from deskterm.store import bulk

OFFSETS = st.integers(-24 * 60 + 1, 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
INSTANTS = st.datetimes(
    min_value=EARLIEST.replace(tzinfo=None) - timedelta(days=1),
    max_value=LATEST.replace(tzinfo=None) + timedelta(days=1),
    timezones=st.one_of(st.just(UTC), OFFSETS),
)


@settings(max_examples=1500, deadline=None)
@given(INSTANTS, st.booleans())
def test_the_cached_instant_text_is_the_general_one(instant, whole):
    if whole:
        instant = instant.replace(microsecond=0)
    text = bulk._sqlite_instant(instant)
    assert text == bulk._iso_instant(instant)
    assert text == instant.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    assert bulk._sqlite_instant(instant) == text  # (from the caches the second time)


def test_none_stays_none():
    assert bulk._sqlite_instant(None) is None
    assert bulk._sqlite_instant(datetime(2026, 3, 27, 16, 5, tzinfo=UTC)) == "2026-03-27 16:05:00.000000"
