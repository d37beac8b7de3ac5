"""Ticket ids held in memory by the queue: 4-byte arrays, and sets as a byte per id (no SQL).

An app on a desk of a million tickets holds the order of its view (473,030 open tickets: its SQL order, its groups,
the order shown) and the set of tickets whose warning has started (most of the open ones once the desk's clock is
past their deadlines). As arrays of 8-byte integers the orders took 3.8 MB each; as a ``set`` of Python ints the
warned tickets took about 30 MB (the set's table, 16 MB, and an int object of 32 bytes per id). ``ID`` arrays take
4 bytes an id and ``IdBits`` a byte per ticket of the desk (1 MB at a million).

Ticket ids are the desk's integer primary keys: PostgreSQL's ``SERIAL`` (at most 2**31 - 1) and SQLite's rowid,
given as the highest plus one (a desk would need two billion tickets to pass 2**31). The queue's counts already
index arrays by ticket id (store/queue_counts.py), on the same ground.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from itertools import compress
from operator import not_
from typing import Any

ID = "i"  # the typecode of the ticket ids held in order (a C int: 4 bytes)


def id_array(values: Iterable[Any] = ()) -> array:
    """An array of ticket ids (``ID``)."""
    return array(ID, values)


class IdBits:
    """A set of ticket ids as a byte per id (1: in the set), indexed by id; an id beyond its end is not in it.

    ``among`` and ``outside`` filter an order of ids (the queue's ``arrange``) as ``[i for i in ids if i in s]``
    does with a set."""

    __slots__ = ("bits",)

    def __init__(self, bits: bytearray | None = None) -> None:
        self.bits = bits if bits is not None else bytearray()

    @classmethod
    def of(cls, found: Iterable[int]) -> IdBits:
        """The set of the ids ``found`` (any order)."""
        out = cls()
        out.add_all(found)
        return out

    def add_all(self, found: Iterable[int]) -> None:
        bits = self.bits
        for i in found:
            if i >= len(bits):
                bits.extend(bytes(i + 1 - len(bits) + 4096))
            bits[i] = 1

    def __contains__(self, ticket_id: object) -> bool:
        bits = self.bits
        return isinstance(ticket_id, int) and 0 <= ticket_id < len(bits) and bits[ticket_id] == 1

    def __iter__(self) -> Iterator[int]:
        """The ids, in increasing order."""
        bits, at = self.bits, self.bits.find(1)
        while at >= 0:
            yield at
            at = bits.find(1, at + 1)

    def __len__(self) -> int:
        return self.bits.count(1)

    def among(self, order: array) -> array:
        """Those of ``order`` in the set, in their order: filtered in C (``compress``), without the list of Python
        ints a comprehension builds first (at a million tickets, up to 473,030 of them: 19 MB at its peak, which
        the allocator then keeps)."""
        return array(ID, compress(order, map(self._covering(order).__getitem__, order)))

    def outside(self, order: array) -> array:
        """Those of ``order`` not in the set, in their order (as ``among``)."""
        return array(ID, compress(order, map(not_, map(self._covering(order).__getitem__, order))))

    def _covering(self, order: array) -> bytearray:
        """The bits, long enough to be indexed by every id of ``order`` (those beyond their end are not in the set:
        zeros appended, which leaves the set as it was; a thread reading it meanwhile reads the same answers)."""
        bits = self.bits
        top = max(order, default=-1)
        if top >= len(bits):
            bits.extend(bytes(top + 1 - len(bits)))
        return bits


__all__ = ["ID", "IdBits", "id_array"]
