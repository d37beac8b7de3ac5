"""Text as deskterm compares it: the search, the customers' names (pure)."""

from __future__ import annotations

import re
import unicodedata


def fold(text: str) -> str:
    """Text as the search compares it: case and diacritics folded, both ways ("rhone", "RHÔNE" and "Rhône"
    are one; "strasse" finds "Straße"; "electrique" finds "ÉLECTRIQUE" and "électrique" finds "ELECTRIQUE").
    Casefolded, then decomposed (NFKD) and stripped of its combining marks; ASCII text (most of it) only
    lower-cased, at a fraction of the cost. The haystacks are folded once, when loaded; a keystroke folds
    only what was typed."""
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))


def search_text(subject: str, ref: str | None) -> str:
    """What the queue's free words are looked for in, beside the customer's name: the subject and the ref, folded
    (``fold``), joined by a character nobody types (whitespace to the search prompt: a word never holds it, so
    it never matches across the two). Kept in the store beside each ticket (``ticket_search``), where a trigram
    index finds a word's tickets; written where tickets are inserted, from here only."""
    return f"{fold(subject)}\x1f{fold(ref or '')}"


# the blocks of combining marks (diacritics), removed by one regular expression at C speed
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
