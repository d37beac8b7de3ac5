"""Column types shared by every table.

Instants are stored in UTC and come back timezone-aware (UTC), on SQLite (which has no zone type and
stores text that sorts in time order) and on PostgreSQL (``timestamptz``) alike.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.types import DateTime, TypeDecorator


class UTCDateTime(TypeDecorator):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: every instant must carry its zone")
        value = value.astimezone(UTC)
        # SQLite keeps the text as given: drop the zone so that every stored value sorts alike
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
