"""Importers and exporters between rbench's store and the formats routing data is published in.

One module per format; each has ``parse(path) -> ImportedBench`` and, where the format can be
written, ``export(store, bench, out)``. :func:`import_bench` is all-or-nothing: a failed import
stores nothing and leaves an existing bench untouched. A format with ``parse_chunks`` (the
400k-record LLMRouterBench releases) is streamed in bounded chunks to a staging bench that is
renamed into place at the end; the others are parsed whole and written in one transaction. See ``docs/data-formats.md`` for the formats and their mappings.
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from routerbench_core.data.importers.base import DataFormatError, ImportedBench

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
    cache_s: float = 0.0
    cost_estimated: bool = False

    @property
    def records_per_s(self) -> float:
        total = self.parse_s + self.write_s + self.cache_s
        return self.n_records / total if total > 0 else float("inf")


def _module(fmt: str, table: dict[str, str], what: str) -> Any:
    try:
        return import_module(table[fmt])
    except KeyError:
        close = difflib.get_close_matches(fmt, list(table), n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        raise DataFormatError(
            f"unknown {what} format {fmt!r}.{hint} Formats: {', '.join(table)}"
        ) from None


def parse(fmt: str, path: str | Path) -> ImportedBench:
    """Parse and validate ``path`` as ``fmt`` without touching any store."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"no such file or folder: {path}")
    return _module(fmt, IMPORT_FORMATS, "import").parse(path)


def import_bench(
    store: Store, fmt: str, path: str | Path, name: str, *, replace: bool = False
) -> ImportResult:
    """Import ``path`` as bench ``name``: all-or-nothing."""
    from routerbench_core.data.store import StoreError, validate_bench_name

    validate_bench_name(name)  # fail before a long parse, not after
    if store.has_bench(name) and not replace:
        raise StoreError(
            f"bench {name!r} already exists in {store.path}; choose another --name, pass "
            f"--replace, or delete it first with `rbench data delete {name}`"
        )
    path = Path(path)
    module = _module(fmt, IMPORT_FORMATS, "import")
    if not path.exists():
        raise DataFormatError(f"no such file or folder: {path}")
    source = f"{fmt}:{path.resolve()}"
    t0 = time.perf_counter()
    if hasattr(module, "parse_chunks"):
        # Streamed: bounded chunks into a staging bench, published atomically at the end.
        packer = store.text_packer()
        counts = {"queries": 0, "models": 0, "records": 0}
        metadata: dict[str, Any] = {}

        def counted(chunks: Any) -> Any:
            for chunk in chunks:
                counts["queries"] += len(chunk.queries)
                counts["models"] += len(chunk.models)
                counts["records"] += len(chunk.responses)
                if chunk.metadata:
                    metadata.update(chunk.metadata)
                yield chunk

        # three stages in three threads: parse | pack answers | write (this thread)
        from routerbench_core.data.prefetch import prefetched
        from routerbench_core.data.textpack import pack_responses

        stages = prefetched(pack_responses(prefetched(module.parse_chunks(path), depth=1),
                                           packer), depth=1)
        store.write_bench_staged(name, counted(stages), source=source, replace=replace,
                                 packer=packer)
        t1 = t2 = time.perf_counter()
        n_queries, n_models, n_records = counts["queries"], counts["models"], counts["records"]
    else:
        data = module.parse(path)
        t1 = time.perf_counter()
        store.write_bench(
            name, models=data.models, query_rows=data.queries, response_rows=data.responses,
            grade_rows=data.grades, source=source, metadata=data.metadata, replace=replace,
        )
        t2 = time.perf_counter()
        metadata = data.metadata
        n_queries, n_models, n_records = len(data.queries), len(data.models), len(data.responses)
    # The matrix cache is built now, so the first `route` or `data info` is already instant.
    from routerbench_core.data import matrix_cache

    matrix_cache.rebuild(store, name)
    t3 = time.perf_counter()
    return ImportResult(
        bench=name, format=fmt, n_queries=n_queries, n_models=n_models, n_records=n_records,
        parse_s=t1 - t0, write_s=t2 - t1, cache_s=t3 - t2, cost_estimated=bool(metadata.get("cost_estimated")),
    )


def export_bench(store: Store, name: str, fmt: str, out: str | Path) -> list[Path]:
    """Write bench ``name`` to ``out`` as ``fmt``; returns the files written."""
    module = _module(fmt, EXPORT_FORMATS, "export")
    store.bench_id(name)  # a clear error for an unknown bench before anything is written
    return module.export(store, name, Path(out))
