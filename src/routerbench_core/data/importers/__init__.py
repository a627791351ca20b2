"""Importers and exporters between rbench's store and the formats routing data is published in.

One module per format; each has ``parse(path) -> ImportedBench`` and, where the format can be
written, ``export(store, bench, out)``. :func:`import_bench` parses and validates everything
first and only then writes, in one transaction: a failed import stores nothing and leaves an
existing bench untouched. See ``docs/data-formats.md`` for the formats and their mappings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from routerbench_core.data.importers.base import DataFormatError, ImportedBench
from routerbench_core.words import did_you_mean

if TYPE_CHECKING:
    from routerbench_core.data.store import Store

__all__ = [
    "DataFormatError", "ImportedBench", "ImportResult", "IMPORT_FORMATS", "EXPORT_FORMATS",
    "parse", "import_bench", "export_bench",
]

#: format name -> module (imported only when used).
IMPORT_FORMATS: dict[str, str] = {
    "llmrouterbench": "routerbench_core.data.importers.llmrouterbench",
    "llmrouter": "routerbench_core.data.importers.llmrouter",
    "routerdc": "routerbench_core.data.importers.routerdc",
    "routerbench": "routerbench_core.data.importers.routerbench",
    "parquet": "routerbench_core.data.importers.parquet",
}
EXPORT_FORMATS: dict[str, str] = {
    "llmrouterbench": "routerbench_core.data.importers.llmrouterbench",
    "parquet": "routerbench_core.data.importers.parquet",
    "csv": "routerbench_core.data.importers.widecsv",
}


@dataclass(frozen=True)
class ImportResult:
    bench: str
    format: str
    n_queries: int
    n_models: int
    n_records: int
    parse_s: float
    write_s: float
    cost_estimated: bool = False

    @property
    def records_per_s(self) -> float:
        total = self.parse_s + self.write_s
        return self.n_records / total if total > 0 else float("inf")


def _module(fmt: str, table: dict[str, str], what: str) -> Any:
    try:
        return import_module(table[fmt])
    except KeyError:
        hint = did_you_mean(fmt, list(table))
        raise DataFormatError(
            f"unknown {what} format {fmt!r}.{hint} Formats: {', '.join(table)}"
        ) from None


#: formats whose parser takes a policy for questions repeated in the source (``--on-duplicate``)
DUPLICATE_POLICY_FORMATS: tuple[str, ...] = ("routerdc",)


def parse(fmt: str, path: str | Path, *, on_duplicate: str | None = None) -> ImportedBench:
    """Parse and validate ``path`` as ``fmt`` without touching any store."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"no such file or folder: {path}")
    module = _module(fmt, IMPORT_FORMATS, "import")
    if on_duplicate is None:
        return module.parse(path)
    if fmt not in DUPLICATE_POLICY_FORMATS:
        raise DataFormatError(f"--on-duplicate is supported for {', '.join(DUPLICATE_POLICY_FORMATS)}"
                              f", not {fmt}")
    return module.parse(path, on_duplicate=on_duplicate)


def import_bench(
    store: Store, fmt: str, path: str | Path, name: str, *, replace: bool = False,
    on_duplicate: str | None = None,
) -> ImportResult:
    """Import ``path`` as bench ``name``: all-or-nothing."""
    from routerbench_core.data.store import StoreError, validate_bench_name

    validate_bench_name(name)  # fail before a long parse, not after
    if store.has_bench(name) and not replace:
        raise StoreError(
            f"bench {name!r} already exists in {store.path}; choose another --name, pass "
            f"--replace, or delete it first with `rbench data delete {name}`"
        )
    t0 = time.perf_counter()
    data = parse(fmt, path, on_duplicate=on_duplicate)
    t1 = time.perf_counter()
    store.write_bench(
        name, models=data.models, query_rows=data.queries, response_rows=data.responses,
        grade_rows=data.grades, source=f"{fmt}:{Path(path).resolve()}",
        metadata=data.metadata, replace=replace,
    )
    t2 = time.perf_counter()
    return ImportResult(
        bench=name, format=fmt, n_queries=len(data.queries), n_models=len(data.models),
        n_records=len(data.responses), parse_s=t1 - t0, write_s=t2 - t1,
        cost_estimated=bool(data.metadata.get("cost_estimated")),
    )


def export_bench(store: Store, name: str, fmt: str, out: str | Path) -> list[Path]:
    """Write bench ``name`` to ``out`` as ``fmt``; returns the files written."""
    module = _module(fmt, EXPORT_FORMATS, "export")
    store.bench_id(name)  # a clear error for an unknown bench before anything is written
    return module.export(store, name, Path(out))
