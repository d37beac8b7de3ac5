"""Plain read models handed from the store to the CLI and the screens (no ORM objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .domain.calendar import epoch
from .domain.sla import Event as SlaEvent


@dataclass(frozen=True)
class EventRecord:
    id: int
    at: datetime
    kind: str
    author: str
    public: bool | None = None
    body: str | None = None
    from_value: str | None = None
    to: str | None = None
    reason: str | None = None

    def for_engine(self) -> SlaEvent:
        return SlaEvent(at=epoch(self.at), kind=self.kind, public=bool(self.public), author=self.author, to=self.to)


@dataclass
class TicketRecord:
    id: int
    ref: str | None
    subject: str
    description: str
    customer: str
    priority: str
    initial_priority: str
    impact: int | None
    urgency: int | None
    type: str
    status: str
    assignee: str | None
    group: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    version: int
    next_due: datetime | None
    next_warn: datetime | None
    classification: str | None = None
    resolution_code: str | None = None
    first_contact: bool | None = None
    major_id: int | None = None
    csat_score: int | None = None
    csat_comment: str | None = None
    events: list[EventRecord] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.ref or str(self.id)
