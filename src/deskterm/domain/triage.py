"""Triage suggestions as a k-nearest-neighbours vote (pure: the neighbours come from the full-text index).

For a new ticket, the resolved tickets most similar to it (store/search.py, ranked by the engine: bm25 on SQLite,
ts_rank on PostgreSQL) vote for each field with their relevance: the field's value on each neighbour, weighted
by its score relative to the best one's. A field's confidence is the weight of the winning value over the
weight of all the neighbours that had a value for it; below the threshold, or with fewer than ``min_votes``
neighbours agreeing, nothing is suggested for that field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

FIELDS = ("type", "category", "group", "impact_urgency")
LABELS = {"type": "type", "category": "category", "group": "group", "impact_urgency": "impact × urgency"}
DEFAULT_THRESHOLD = 0.5
DEFAULT_NEIGHBOURS = 15
MIN_VOTES = 2


@dataclass(frozen=True)
class Vote:
    """The outcome of one field's vote: the winning value, its confidence (0..1), how many neighbours voted
    for it and how many had a value for the field at all."""

    field: str
    value: str
    confidence: float
    votes: int
    voters: int


def impact_urgency(impact: int | None, urgency: int | None) -> str | None:
    """``2×3`` (impact 2, urgency 3), None unless both are known."""
    return f"{impact}×{urgency}" if impact is not None and urgency is not None else None


def parse_impact_urgency(value: str) -> tuple[int, int]:
    impact, _, urgency = value.partition("×")
    return int(impact), int(urgency)


def vote(neighbours: Sequence[tuple[float, Mapping[str, str | None]]]) -> dict[str, Vote]:
    """Every field's best value among ``neighbours`` (score, field → value), whatever its confidence."""
    if not neighbours:
        return {}
    best = max(score for score, _ in neighbours)
    out: dict[str, Vote] = {}
    for name in FIELDS:
        weights: dict[str, float] = {}
        counts: dict[str, int] = {}
        total = 0.0
        voters = 0
        for score, values in neighbours:
            value = values.get(name)
            if value is None:
                continue
            weight = score / best if best > 0 else 1.0
            weights[value] = weights.get(value, 0.0) + weight
            counts[value] = counts.get(value, 0) + 1
            total += weight
            voters += 1
        if not weights:
            continue
        value = max(weights, key=lambda v: (weights[v], counts[v], v))
        out[name] = Vote(name, value, weights[value] / total if total else 0.0, counts[value], voters)
    return out


def confident(
    votes: Mapping[str, Vote], threshold: float = DEFAULT_THRESHOLD, min_votes: int = MIN_VOTES
) -> dict[str, Vote]:
    """The votes that become suggestions: confidence at least ``threshold`` and ``min_votes`` agreeing."""
    return {k: v for k, v in votes.items() if v.confidence >= threshold and v.votes >= min_votes}


def majority(values: Sequence[str | None]) -> str | None:
    """The most frequent known value (the baseline a classifier must beat), ties to the smallest."""
    counts: dict[str, int] = {}
    for v in values:
        if v is not None:
            counts[v] = counts.get(v, 0) + 1
    return min(counts, key=lambda v: (-counts[v], v)) if counts else None
