"""Outcome rows held column by column: how a parse worker hands a dataset split to the writer.

Why: as tuples, a 40,000-response split is ~200,000 Python objects. Holding a few such splits
(one being parsed, one in the pipe, one being written) cost each import process 250-320 MiB,
most of it object headers and a heap fragmented by the JSON freed around them, and pickling
them cost CPU on both ends. As columns, numbers are numpy arrays (8 bytes a value, pickled as
one buffer) and only texts and block references stay Python objects; the writer iterates
rows one at a time (``zip`` of the columns), so tuples exist only while SQLite binds them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np


class ColumnRows:
    """Rows of one outcome table as columns: ``names`` are ``("q", "m", *layout columns)``;
    a column is a numpy array (numbers without NULLs) or a list (anything else). Iterating
    gives the row tuples, in order."""

    __slots__ = ("columns", "names")

    def __init__(self, names: Sequence[str], columns: list[Any]) -> None:
        self.names = tuple(names)
        self.columns = columns

    @classmethod
    def from_rows(cls, names: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> ColumnRows:
        cols: list[Any] = list(zip(*rows, strict=True)) if rows else [()] * len(names)
        return cls(names, [_compact(c) for c in cols])

    def __len__(self) -> int:
        return len(self.columns[0])

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return zip(*(c.tolist() if isinstance(c, np.ndarray) else c for c in self.columns),
                   strict=True)

    def column(self, name: str) -> Any:
        return self.columns[self.names.index(name)]

    def remap_models(self, mapping: Sequence[int]) -> None:
        """Give column ``m`` new model indices: ``m`` becomes ``mapping[m]``."""
        self.columns[1] = np.asarray(mapping, dtype=np.int64)[self.columns[1]]

    def sort(self) -> None:
        """Order the rows by (query, model)."""
        q, m = self.columns[0], self.columns[1]
        if len(q) < 2 or bool(((q[1:] > q[:-1]) | ((q[1:] == q[:-1]) & (m[1:] > m[:-1]))).all()):
            return
        order = np.lexsort((m, q))
        picked = order.tolist()
        self.columns = [c[order] if isinstance(c, np.ndarray) else [c[i] for i in picked]
                        for c in self.columns]

    def __add__(self, other: ColumnRows) -> ColumnRows:
        if other.names != self.names:
            raise ValueError("cannot join rows of different layouts")
        return ColumnRows(self.names, [_join(a, b) for a, b in
                                       zip(self.columns, other.columns, strict=True)])


def _compact(values: Sequence[Any]) -> Any:
    """A numpy array for a column of plain numbers (ints stay ints, so SQLite stores the same
    type), else the values as a list."""
    if not values or None in values:
        return list(values)
    kinds = {type(v) for v in values}
    if kinds == {int}:
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:
            return list(values)
    if kinds == {float}:
        return np.array(values, dtype=np.float64)
    return list(values)


def _join(a: Any, b: Any) -> Any:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype:
        return np.concatenate([a, b])
    return list(a.tolist() if isinstance(a, np.ndarray) else a) + list(
        b.tolist() if isinstance(b, np.ndarray) else b)
