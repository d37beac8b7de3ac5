"""Issue 17: the handover book's sorted sections (``reports._Sorted``) kept in chunks copied on write, against a
plain sorted list: after random additions and removals, every snapshot taken along the way still reads as the
entries were when it was taken (the screen shows one while the next change is placed), and the book as now."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deskterm import reports


class Small(reports._Sorted):
    CHUNK = 2  # chunks split and emptied after a few steps


ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 40)),
        st.tuples(st.just("remove"), st.integers(0, 40)),
        st.tuples(st.just("snapshot"), st.just(0)),
    ),
    max_size=80,
)


@settings(max_examples=150)
@given(ops=ops)
def test_snapshots_keep_what_they_saw_and_the_book_stays_sorted(ops):
    book, plain = Small(), {}
    taken = []  # (the snapshot's keys and values, what they were then)
    for op, key in ops:
        if op == "add" and key not in plain:  # keys are unique: the book takes a ticket out before placing it
            book.add(key, f"v{key}")
            plain[key] = f"v{key}"
        elif op == "remove":
            book.remove(key)
            plain.pop(key, None)
        elif op == "snapshot":
            taken.append((book.snapshot(), sorted(plain.items())))
        assert book.keys == sorted(plain) and book.values == [plain[k] for k in sorted(plain)]
        assert len(book) == len(plain)
    taken.append((book.snapshot(), sorted(plain.items())))
    for (keys, values), then in taken:
        assert list(reports._Zipped(keys, values)) == then
        assert len(keys) == len(values) == len(then)
        assert [keys[i] for i in range(len(then))] == [k for k, _ in then]
        assert [values[i] for i in range(-len(then), 0)] == [v for _, v in then]
        assert keys[1:3] == [k for k, _ in then][1:3]
