"""Issue 17: ``jsonout.write`` writes a document piece by piece (a year's report lists hundreds of thousands of
breaches, made as they are written): the text must be exactly ``jsonout.dumps``'s, whatever the data (nesting,
empty containers, floats, untrusted text with controls and bidi overrides) and wherever the pieces are cut."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from deskterm import jsonout, reports

text = st.text(
    st.characters(codec="utf-8")
    | st.sampled_from(["\x00", "\x1b", "\x7f", "\x85", "\x9f", "\u202e", "\u2066", "\u061c", '"', "\\", "\n"])
)
leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | text
documents = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.lists(inner, max_size=3).map(tuple) | st.dictionaries(text, inner, max_size=4)
    ),
    max_leaves=30,
)


def _written(data: object, size: int) -> str:
    out: list[str] = []
    jsonout.write(data, out.append, size)
    assert all(out), "no empty piece"
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(data=documents, size=st.integers(min_value=1, max_value=64))
def test_written_is_dumps(data: object, size: int) -> None:
    assert _written(data, size) == jsonout.dumps(data)


@settings(max_examples=50, deadline=None)
@given(
    breaches=st.dictionaries(
        st.integers(min_value=1, max_value=50),
        st.lists(
            st.tuples(st.sampled_from(["first_response", "resolution"]), st.integers(1_780_000_000, 1_790_000_000)),
            min_size=1,
            max_size=3,
        ).map(tuple),
        max_size=6,
    ),
    size=st.integers(min_value=1, max_value=200),
)
def test_breach_lines_written_as_the_list(breaches: dict, size: int) -> None:
    """The report's lazy lines (``BreachLines``) give the text of the same lines held in a list."""
    fold = reports.Fold()
    for key, found in breaches.items():
        fold.add(key, reports.Contribution(breaches=found), (f"R-{key}" if key % 2 else None, "acme \u202e"))
    k = fold.kpis(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    lazy, listed = k.as_dict(listed=False), k.as_dict()
    assert isinstance(listed["breaches"], list) and not isinstance(lazy["breaches"], list)
    assert _written(lazy, size) == jsonout.dumps(listed)
    assert json.loads(_written(lazy, size))["breaches"] == listed["breaches"]
