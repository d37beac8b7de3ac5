"""The queue's compact ids (store/ids.py) answer as a ``set`` of ints and an 8-byte array did.

``IdBits`` holds the tickets whose warning has started as a byte per id (a set of them held 30 MB at a million
tickets); ``among``/``outside`` filter an order as the comprehensions over the set did, in the same order. Hypothesis
makes the sets (ids up to a little past a million, duplicates, any order) and the orders filtered (ids in the set,
not in it, and beyond the bitmap's end: a ticket created after the set was read).
"""

from __future__ import annotations

from array import array

from hypothesis import given
from hypothesis import strategies as st

from deskterm.store.ids import ID, IdBits, id_array

IDS = st.integers(min_value=1, max_value=1_100_000)


@given(st.lists(IDS, max_size=300), st.lists(IDS, max_size=300))
def test_id_bits_answer_as_a_set(members, order):
    expected = set(members)
    bits = IdBits.of(members)
    assert len(bits) == len(expected)
    assert list(bits) == sorted(expected)
    for i in [*order, *members, 0, -1, 10**12, "1", None]:
        assert (i in bits) == (i in expected)
    assert list(bits.among(order)) == [i for i in order if i in expected]
    assert list(bits.outside(order)) == [i for i in order if i not in expected]
    assert bits.among(order).typecode == bits.outside(order).typecode == ID


@given(st.lists(IDS, max_size=300), st.lists(IDS, max_size=300))
def test_id_bits_grow_as_ids_are_added(first, then):
    bits = IdBits.of(first)
    bits.add_all(then)
    assert list(bits) == sorted({*first, *then})


def test_ids_take_four_bytes_and_hold_the_largest_serial():
    held = id_array([1, 2**31 - 1])
    assert held.itemsize == 4 and list(held) == [1, 2**31 - 1]
    assert held == array("q", [1, 2**31 - 1])  # (compared by value, as the 8-byte arrays were)
