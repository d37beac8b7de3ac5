"""Triage (issue 15): suggestions for a new ticket learned from the desk's own resolved history, the similar
tickets (possible duplicates among the open ones, resolved ones whose resolution may help), and the evaluation
of the suggestions on the desk's history (``deskterm triage --evaluate``).

The similar tickets come from the database's full-text engine (store/search.py); the suggestions are a
k-nearest-neighbours vote over the most similar resolved tickets (domain/triage.py). Accepting them is one
change through the service, recorded in the history with what was suggested and what the agent chose.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .domain import triage as knn
from .errors import BadInput
from .records import TicketRecord
from .store import queries, search

if TYPE_CHECKING:
    from .service import Desk

DUPLICATES = 5
HELPFUL = 5


@dataclass(frozen=True)
class Similar:
    id: int
    subject: str
    status: str
    score: float
    category: str | None
    resolution_code: str | None
    major_id: int | None


@dataclass
class Triage:
    ticket: TicketRecord
    votes: dict[str, knn.Vote]  # every field's best value, whatever its confidence
    suggestions: dict[str, knn.Vote]  # those above the threshold
    duplicates: list[Similar]  # open tickets like it
    helpful: list[Similar]  # resolved tickets like it
    major: tuple[int, str] | None  # an open major incident it may belong to (id, subject)
    threshold: float
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        def sim(s: Similar) -> dict[str, Any]:
            return {
                "id": s.id,
                "subject": s.subject,
                "status": s.status,
                "score": round(s.score, 4),
                "category": s.category,
                "resolution_code": s.resolution_code,
            }

        return {
            "id": self.ticket.id,
            "ref": self.ticket.ref,
            "threshold": self.threshold,
            "suggestions": {
                name: {"value": v.value, "confidence": round(v.confidence, 3), "votes": v.votes, "voters": v.voters}
                for name, v in self.suggestions.items()
            },
            "below_threshold": {
                name: {"value": v.value, "confidence": round(v.confidence, 3)}
                for name, v in self.votes.items()
                if name not in self.suggestions
            },
            "duplicates": [sim(s) for s in self.duplicates],
            "helpful": [sim(s) for s in self.helpful],
            "major_incident": None if self.major is None else {"id": self.major[0], "subject": self.major[1]},
        }


def _values(hit: search.Hit) -> dict[str, str | None]:
    return {
        "type": hit.type,
        "category": hit.category,
        "group": hit.group,
        "impact_urgency": knn.impact_urgency(hit.impact, hit.urgency),
    }


def _similar(hit: search.Hit) -> Similar:
    return Similar(hit.id, hit.subject, hit.status, hit.score, hit.category, hit.resolution_code, hit.major_id)


def suggest(
    desk: Desk, key: str | int, threshold: float = knn.DEFAULT_THRESHOLD, neighbours: int = knn.DEFAULT_NEIGHBOURS
) -> Triage:
    """The suggestions and similar tickets of one ticket (a few reads; run it in a worker in the app)."""
    check_threshold(threshold)
    started = time.perf_counter()
    with desk.store.read() as session:
        try:
            ticket_id = queries.find_ticket_id(session, key)
        except (ValueError, OverflowError, UnicodeError):  # as the service: "²", beyond 64 bits, bad bytes
            ticket_id = None
        ticket = queries.load_ticket(session, ticket_id, with_events=False) if ticket_id is not None else None
        if ticket is None:
            raise BadInput(f"ticket {key}: no such ticket")
        words, first = search.subject_words(ticket.subject, ticket.description)
        found = search.candidates(session.connection(), words, exclude=ticket.id, first=first)
    resolved = search.split(found, True, neighbours)
    open_ = search.split(found, False, DUPLICATES)
    votes = knn.vote([(h.score, _values(h)) for h in resolved])
    major = _major(desk, ticket, open_)
    return Triage(
        ticket=ticket,
        votes=votes,
        suggestions=knn.confident(votes, threshold),
        duplicates=[_similar(h) for h in open_],
        helpful=[_similar(h) for h in resolved[:HELPFUL]],
        major=major,
        threshold=threshold,
        seconds=time.perf_counter() - started,
    )


def _major(desk: Desk, ticket: TicketRecord, duplicates: list[search.Hit]) -> tuple[int, str] | None:
    """The open major incident the ticket may belong to: the one its open look-alikes are linked to (or are);
    None when there is none, or the ticket is linked already."""
    if ticket.major_id is not None:
        return None
    majors = {t.id: t for t, _ in desk.open_majors() if t.id != ticket.id}
    if not majors:
        return None
    for hit in duplicates:
        for candidate in (hit.major_id, hit.id):
            if candidate in majors:
                return candidate, majors[candidate].subject
    return None


def check_threshold(threshold: float) -> None:
    if not 0 <= threshold <= 1:
        raise BadInput(f"--threshold: {threshold} is not a confidence between 0 and 1")


def to_triage(desk: Desk) -> list[TicketRecord]:
    """The tickets waiting for triage: new, and not yet classified (no category) or not yet routed (nobody
    has them), oldest first."""
    return [t for t in desk.tickets(["new"]) if t.category is None or t.assignee is None]


def change_for(triage: Triage, corrections: dict[str, str] | None = None):
    """The service change that applies the suggestions (and the agent's corrections, which win), with a reason
    saying what was suggested and what was chosen: the history keeps the agent's choice."""
    from .service import Change

    corrections = {k: v for k, v in (corrections or {}).items() if v}
    for name in corrections:
        if name not in knn.FIELDS:
            raise BadInput(f"triage: {name!r} is not one of {', '.join(knn.FIELDS)}")
    chosen = {name: v.value for name, v in triage.suggestions.items()}
    chosen.update(corrections)
    t = triage.ticket
    parts = []
    for name, value in chosen.items():
        vote = triage.suggestions.get(name)
        if name in corrections and (vote is None or vote.value != value):
            was = f" (suggested {vote.value})" if vote is not None else ""
            parts.append(f"{knn.LABELS[name]} {value} chosen{was}")
        elif vote is not None:
            parts.append(f"{knn.LABELS[name]} {value} suggested {round(vote.confidence * 100)}%")
    impact = urgency = None
    if "impact_urgency" in chosen:
        try:
            impact, urgency = knn.parse_impact_urgency(chosen["impact_urgency"])
        except ValueError:
            raise BadInput(f"impact_urgency: {chosen['impact_urgency']!r} is not IMPACT×URGENCY such as 2×3") from None
        if (impact, urgency) == (t.impact, t.urgency):
            impact = urgency = None
    return Change(
        type=chosen.get("type") if chosen.get("type") != t.type else None,
        category=chosen.get("category") if chosen.get("category") != t.category else None,
        group=chosen.get("group") if chosen.get("group") != t.group else None,
        impact=impact,
        urgency=urgency,
        reason="triage: " + "; ".join(parts) if parts else None,
    )


def accept(desk: Desk, triage: Triage, corrections: dict[str, str] | None = None) -> int:
    """Apply the suggestions (with corrections) at the version the suggestions were made for."""
    change = change_for(triage, corrections)
    if change.is_empty():
        raise BadInput(f"ticket {triage.ticket.key}: nothing to apply (no suggestion above the threshold)")
    return desk.update(triage.ticket.id, change, expect_version=triage.ticket.version)


# -- the evaluation ----------------------------------------------------------------------------------------


@dataclass
class FieldScore:
    field: str
    tested: int = 0  # test tickets with a known value
    correct: int = 0  # the vote's value was right (whatever its confidence)
    suggested: int = 0  # above the threshold
    suggested_correct: int = 0
    baseline_value: str | None = None
    baseline_correct: int = 0
    baseline_when_suggested: int = 0  # the baseline right on the tickets a suggestion was made for

    @property
    def abstained(self) -> int:
        """Test tickets given no suggestion (below the threshold, or no neighbour): the app shows nothing for them.
        ``precision`` leaves them out (``baseline.when_suggested`` is the baseline on the same tickets); ``accuracy``
        judges the vote's value whatever its confidence, and a ticket without any neighbour as not right."""
        return self.tested - self.suggested

    def as_dict(self) -> dict[str, Any]:
        def rate(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        return {
            "tested": self.tested,
            "accuracy": rate(self.correct, self.tested),
            "suggested": self.suggested,
            "coverage": rate(self.suggested, self.tested),
            "precision": rate(self.suggested_correct, self.suggested),
            "abstained": self.abstained,
            "baseline": {
                "value": self.baseline_value,
                "accuracy": rate(self.baseline_correct, self.tested),
                "when_suggested": rate(self.baseline_when_suggested, self.suggested),
            },
        }


@dataclass
class Evaluation:
    train: int
    test: int
    split_at: datetime | None
    threshold: float
    neighbours: int
    fields: dict[str, FieldScore] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "train": self.train,
            "test": self.test,
            "split_at": self.split_at.isoformat() if self.split_at else None,
            "threshold": self.threshold,
            "neighbours": self.neighbours,
            "fields": {k: v.as_dict() for k, v in self.fields.items()},
        }


def evaluate(
    desk: Desk,
    test_share: float = 0.2,
    threshold: float = knn.DEFAULT_THRESHOLD,
    neighbours: int = knn.DEFAULT_NEIGHBOURS,
) -> Evaluation:
    """Train on the older resolved tickets, test on the newer ones (the newest ``test_share`` of them): each
    test ticket's suggestions are made from the tickets created before the first test ticket only, and
    compared with its own fields; the baseline always answers the training set's most frequent value."""
    check_threshold(threshold)
    if not 0 < test_share < 1:
        raise BadInput(f"--test-share: {test_share} is not a share between 0 and 1")
    started = time.perf_counter()
    with desk.store.read() as session:
        conn = session.connection()
        history = search.resolved_tickets(conn)
        cut = int(len(history) * (1 - test_share))
        train, test = history[:cut], history[cut:]
        if not train or not test:
            raise BadInput(
                f"triage --evaluate: {len(history)} resolved tickets: too few to train on older and test on newer ones"
            )
        split = test[0].created_at
        train = [k for k in train if k.created_at < split]
        result = Evaluation(len(train), len(test), split, threshold, neighbours)

        def truth(k: search.Known) -> dict[str, str | None]:
            return {
                "type": k.type,
                "category": k.category,
                "group": k.group,
                "impact_urgency": knn.impact_urgency(k.impact, k.urgency),
            }

        for name in knn.FIELDS:
            result.fields[name] = FieldScore(name, baseline_value=knn.majority([truth(k)[name] for k in train]))
        for k in test:
            words, first = search.subject_words(k.subject, k.description)
            hits = search.similar(conn, words, exclude=k.id, resolved=True, limit=neighbours, before=split, first=first)
            votes = knn.vote([(h.score, _values(h)) for h in hits])
            sure = knn.confident(votes, threshold)
            for name, expected in truth(k).items():
                if expected is None:
                    continue
                score = result.fields[name]
                score.tested += 1
                score.baseline_correct += score.baseline_value == expected
                if name in votes and votes[name].value == expected:
                    score.correct += 1
                if name in sure:
                    score.suggested += 1
                    score.suggested_correct += sure[name].value == expected
                    score.baseline_when_suggested += score.baseline_value == expected
    result.seconds = time.perf_counter() - started
    return result


def evaluation_text(e: Evaluation) -> str:
    """The table of ``--evaluate``, 71 columns wide (an agent's 80-column terminal); the values the baseline
    answers under it."""
    lines = [
        f"trained on {e.train} resolved tickets created before {e.split_at:%Y-%m-%d %H:%M} UTC,\n"
        f"tested on the {e.test} newer ones ({e.neighbours} neighbours, threshold {e.threshold:.2f})"
        if e.split_at
        else "",
        "",
        f"{'field':<16}{'tested':>7}{'accuracy':>9}{'baseline':>9} {'suggested':>10}{'precision':>10}{'baseline':>9}",
    ]

    def pct(a: int, b: int) -> str:
        return f"{a / b:.1%}" if b else "-"

    for name, s in e.fields.items():
        lines.append(
            f"{knn.LABELS[name]:<16}{s.tested:>7}{pct(s.correct, s.tested):>9}{pct(s.baseline_correct, s.tested):>9}"
            f" {pct(s.suggested, s.tested):>10}{pct(s.suggested_correct, s.suggested):>10}"
            f"{pct(s.baseline_when_suggested, s.suggested):>9}"
        )
    answers = ", ".join(f"{knn.LABELS[name]} {s.baseline_value or '-'}" for name, s in e.fields.items())
    lines += [
        "",
        f"the baseline answers: {answers}",
        "accuracy: the vote's value, whatever its confidence; baseline: always the most frequent value of the"
        " training set; suggested: the share above the threshold (what the app shows; the others are abstentions,"
        " nothing suggested), precision: how many of those were right, and beside it the baseline on those same"
        " tickets.",
    ]
    return "\n".join(lines)
