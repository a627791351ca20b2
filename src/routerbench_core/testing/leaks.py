"""Side-door search: can anything handed to a router lead to test outcomes?

:func:`side_doors` walks everything reachable from the objects a router was handed —
attributes, ``__dict__``, slots, closures, bound methods, containers, via
``gc.get_referents`` — and reports each store, outcome matrix, evaluator, database connection
or array holding (or viewing) test outcomes it finds, with the path that reaches it. The core's
tests and the router conformance kit use it; a third party can call it on anything.
"""

from __future__ import annotations

import gc
import sqlite3
import sys
import types
from typing import Any

import numpy as np

from routerbench_core.data.matrix import OutcomeMatrix
from routerbench_core.data.store import Store
from routerbench_core.routing.evaluate import Evaluator

FORBIDDEN = (Store, OutcomeMatrix, Evaluator, sqlite3.Connection, sqlite3.Cursor)


def _module_dicts() -> set[int]:
    return {id(vars(m)) for m in list(sys.modules.values()) if m is not None}


def reachable(roots: list[Any], limit: int = 300_000) -> list[tuple[Any, str]]:
    """Every object reachable from ``roots`` with the path that reaches it. Global state
    (modules, their dicts, classes) is not followed: it is not something the router was
    handed, and an instance of the store is reachable from globals only through a caller's
    frame, which no handed object references."""
    skip = _module_dicts()
    seen: set[int] = set()
    out: list[tuple[Any, str]] = []
    todo = [(r, f"arg{i}") for i, r in enumerate(roots)]
    while todo and len(seen) < limit:
        obj, path = todo.pop()
        if id(obj) in seen or id(obj) in skip:
            continue
        seen.add(id(obj))
        if isinstance(obj, types.ModuleType | type):
            continue
        out.append((obj, path))
        children = list(gc.get_referents(obj))
        if isinstance(obj, np.ndarray) and obj.base is not None:
            children.append(obj.base)
        for attr in ("__closure__", "__self__", "__wrapped__", "__func__"):
            child = getattr(obj, attr, None) if not isinstance(obj, np.ndarray) else None
            if child is not None:
                children.append(child)
        for slot in getattr(type(obj), "__slots__", ()):
            if hasattr(obj, slot):
                children.append(getattr(obj, slot))
        name = type(obj).__name__
        todo.extend((c, f"{path}>{name}") for c in children)
    return out


def side_doors(roots: list[Any], matrix: OutcomeMatrix, test_rows: np.ndarray) -> list[str]:
    """What in ``roots`` leads to the store, the matrix, the evaluator or the test outcomes
    (``matrix.score[test_rows]``); empty when nothing does."""
    found = []
    test_score = matrix.score[test_rows]
    for obj, path in reachable(roots):
        if isinstance(obj, FORBIDDEN):
            found.append(f"{type(obj).__name__} via {path}")
        elif isinstance(obj, np.ndarray) and obj.dtype.kind == "f" and obj.size:
            if np.shares_memory(obj, matrix.score) or np.shares_memory(obj, matrix.cost):
                found.append(f"a view of the outcome matrix via {path}")
            elif obj.shape == test_score.shape and np.array_equal(obj, test_score, equal_nan=True):
                found.append(f"the test scores via {path}")
    return found
