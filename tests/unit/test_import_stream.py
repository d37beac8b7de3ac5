"""The import file read a piece at a time (``importer.split_records``) gives what reading it whole gives.

A JSON array is decoded element by element from a window of the text that moves on (an element cut by the
window's end is decoded again with more text); JSON Lines are read line by line. Whatever the window's size,
the records must be those of ``json.loads`` of the whole text, and a file that is not valid JSON must be
reported at the line and column ``json.loads`` names. Hypothesis makes the files and the window sizes.
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskterm import importer

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)
LAYOUTS = st.sampled_from([None, 0, 1, 2])  # json.dumps indent: one line, or spread over many


def split(text: str, chunk: int, monkeypatch) -> tuple[list, list[str]]:
    monkeypatch.setattr(importer, "CHUNK", chunk)
    problems: list[str] = []
    records = list(importer.split_records(io.StringIO(text, newline=None), "f.json", problems))
    return records, problems


@settings(max_examples=100, deadline=None)
@given(records=st.lists(VALUES, max_size=8), indent=LAYOUTS, chunk=st.integers(1, 40), ascii=st.booleans())
def test_an_array_read_in_pieces_gives_its_elements(records, indent, chunk, ascii):
    text = json.dumps(records, indent=indent, ensure_ascii=ascii)
    with pytest.MonkeyPatch.context() as mp:
        got, problems = split(text, chunk, mp)
    if not records:
        assert got == [] and problems == []
        return
    assert problems == []
    assert [r for _, _, r in got] == json.loads(text)
    assert [(n, where) for n, where, _ in got] == [(i, f"f.json:{i}") for i in range(1, len(records) + 1)]


@settings(max_examples=100, deadline=None)
@given(
    records=st.lists(VALUES, min_size=1, max_size=6),
    indent=LAYOUTS,
    chunk=st.integers(1, 40),
    cut=st.integers(0, 10_000),
    junk=st.sampled_from(["", "x", "}", ",", "]", "[", '"', "tru", "1.", "-", "\\", "{]", ",,", " :"]),
)
def test_a_broken_array_is_reported_where_json_says(records, indent, chunk, cut, junk):
    text = json.dumps(records, indent=indent)
    at = 1 + cut % (len(text) - 1)  # keep the opening bracket: the file is an array
    broken = text[:at] + junk + text[at + len(junk) :] if junk else text[:at]
    try:
        expected = json.loads(broken)
    except json.JSONDecodeError as exc:
        want = f"f.json:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})"
    else:  # still valid JSON (the junk landed where it fits): the same elements, if it is still an array
        if not isinstance(expected, list):
            return
        with pytest.MonkeyPatch.context() as mp:
            got, problems = split(broken, chunk, mp)
        assert problems == [] and [r for _, _, r in got] == expected
        return
    with pytest.MonkeyPatch.context() as mp:
        got, problems = split(broken, chunk, mp)
    assert problems == [want]
    # the elements before the error, unchanged (the last one read may be one the error cut: "[10" of "[100]")
    whole = max(len(got) - 1, 0)
    assert [r for _, _, r in got][:whole] == records[:whole]


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(st.one_of(VALUES, st.sampled_from(["", "  ", "{bad", "[1,"])), max_size=8),
    ending=st.sampled_from(["\n", "\r\n"]),
    final=st.booleans(),
)
def test_json_lines_give_each_line_with_its_number(lines, ending, final):
    texts = [v if isinstance(v, str) and (not v.strip() or v in ("{bad", "[1,")) else json.dumps(v) for v in lines]
    text = ending.join(texts) + (ending if final else "")
    if not text.strip() or text.lstrip().startswith("["):
        return  # (empty, or read as an array)
    problems: list[str] = []
    got = list(importer.split_records(io.StringIO(text, newline=None), "f.jsonl", problems))
    expected, bad = [], []
    for n, line in enumerate(texts, start=1):
        if not line.strip():
            continue
        try:
            expected.append((n, json.loads(line)))
        except json.JSONDecodeError:
            bad.append(n)
    assert [(n, r) for n, _, r in got] == expected
    assert [int(p.split(":")[1]) for p in problems] == bad


def test_a_record_longer_than_the_window(monkeypatch):
    big = {"subject": "x" * 5000, "events": [{"body": "é" * 3000}] * 3}
    text = json.dumps([big, 1, big], indent=1)
    got, problems = split(text, 64, monkeypatch)
    assert problems == [] and [r for _, _, r in got] == [big, 1, big]


def test_a_number_cut_by_the_window_is_read_whole(monkeypatch):
    text = "[" + ", ".join(str(10**k) for k in range(30)) + "]"
    for chunk in range(1, 12):
        got, problems = split(text, chunk, monkeypatch)
        assert problems == [] and [r for _, _, r in got] == [10**k for k in range(30)]
