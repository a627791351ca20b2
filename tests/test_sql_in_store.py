"""The store owns all SQL: no SQL text anywhere in the core or the plugins outside
``routerbench_core/data/``, so the schema can change in one place.

The scan parses every module (string constants and the literal parts of f-strings) rather than
grepping, so prose in comments cannot trigger it, and a SQL statement split over an f-string
cannot hide from it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_PACKAGE = ROOT / "src" / "routerbench_core" / "data"

# Upper-case keywords, as all of rbench's SQL is written: prose ("select a model from") never
# matches, and a statement needs both its verb and its object keyword.
SQL = re.compile(
    r"\bSELECT\b.*\bFROM\b|\bINSERT\s+(?:OR\s+[A-Z]+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b"
    r"|\bDELETE\s+FROM\b|\bCREATE\s+(?:TABLE|INDEX|UNIQUE\s+INDEX|VIEW|TRIGGER)\b"
    r"|\bDROP\s+(?:TABLE|INDEX)\b|\bALTER\s+TABLE\b|\bPRAGMA\s+[a-z_]+\b",
    re.S,
)


def sql_strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    hits = []
    in_fstring = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if id(node) in in_fstring:
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if SQL.search(text):
            hits.append((node.lineno, text[:70]))
    return sorted(hits)


def test_the_scan_finds_sql_in_all_its_shapes(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(
        'A = "SELECT hash, response FROM request_cache WHERE hash=?"\n'
        'B = f"INSERT OR REPLACE INTO {t} VALUES (?)"\n'
        'C = ("DELETE FROM grades "\n     "WHERE q=?")\n'
        'D = "select the cheapest model from the pool"  # prose, not SQL\n'
        'E = "PRAGMA journal_mode=WAL"\n'
    )
    assert [line for line, _ in sql_strings(src)] == [1, 2, 3, 6]


def test_no_sql_outside_the_data_package():
    offenders = []
    for top in (ROOT / "src", ROOT / "plugins"):
        for path in sorted(top.rglob("*.py")):
            if DATA_PACKAGE in path.parents:
                continue
            offenders += [f"{path.relative_to(ROOT)}:{line}: {text!r}"
                          for line, text in sql_strings(path)]
    assert not offenders, "SQL outside routerbench_core/data (add a Store method):\n" + \
        "\n".join(offenders)


def test_the_data_package_is_where_the_sql_is():
    """Guards the scan itself: if it found nothing in the store, it would prove nothing."""
    assert len(sql_strings(DATA_PACKAGE / "store.py")) > 20
