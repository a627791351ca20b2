"""Importers and exporters between rbench's store and the formats routing data is published in.

One module per format; each has ``parse(path) -> ImportedBench`` and, where the format can be
written, ``export(store, bench, out)``. Import formats are registered through the
``register_importers`` hook (the built-ins in ``plugins/builtin_importers.py``, dataset plugins
add theirs), so :func:`parse` looks a format up in the plugin host. :func:`import_bench` is
all-or-nothing: a failed import stores nothing and leaves an existing bench untouched. An
importer with a ``stream`` attribute (LLMRouterBench's 400k-record releases) is streamed: its
bounded chunks go to a staging bench renamed into place at the end (parsing and answer packing
run beside the writer: in a thread, or for a large release in worker processes); the others
are parsed whole and written in one transaction.
See ``docs/data-formats.md`` for the formats and their mappings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from routerbench_core.data.importers.base import (
    DataFormatError,
    ImportedBench,
    MissingDependencyError,
    merged_chunks,
)
from routerbench_core.data.importers.records import ImportedRecords
from routerbench_core.words import did_you_mean

if TYPE_CHECKING:
    from routerbench_core.data.store import Store
    from routerbench_core.plugins.manager import PluginHost

__all__ = [
    "DataFormatError", "ImportedBench", "ImportedRecords", "ImportResult", "EXPORT_FORMATS",
    "parse", "import_bench", "export_bench",
]

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
    #: building the matrix cache after the write (so the first `route` is already instant)
    cache_s: float = 0.0

    @property
    def records_per_s(self) -> float:
        total = self.parse_s + self.write_s + self.cache_s
        return self.n_records / total if total > 0 else float("inf")


def _module(fmt: str, table: dict[str, str], what: str) -> Any:
    try:
        return import_module(table[fmt])
    except KeyError:
        hint = did_you_mean(fmt, list(table))
        raise DataFormatError(
            f"unknown {what} format {fmt!r}.{hint} Formats: {', '.join(table)}"
        ) from None


def parse_records(
    fmt: str, path: str | Path, *, options: dict[str, str] | None = None,
    host: PluginHost | None = None,
) -> ImportedBench | ImportedRecords:
    """Parse and validate ``path`` with the importer registered as ``fmt``, without touching
    any store. ``options`` go to the importer as keyword arguments; an option the format does
    not declare (capability ``options``) is an error naming the ones it has."""
    importer, options = load_importer(fmt, path, options=options, host=host)
    return importer(Path(path), **options)


def load_importer(
    fmt: str, path: str | Path, *, options: dict[str, str] | None = None,
    host: PluginHost | None = None,
) -> tuple[Any, dict[str, str]]:
    """The importer registered as ``fmt`` and its checked options (see :func:`parse_records`)."""
    from routerbench_core.plugins.manager import make_plugin_manager
    from routerbench_core.plugins.spec import PluginLoadError

    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"no such file or folder: {path}")
    host = host or make_plugin_manager()
    formats = host.names("importer")
    if fmt not in formats:
        why = host.unavailable("importer", fmt)
        if why:
            raise DataFormatError(f"import format {fmt!r} is unavailable: {why}")
        hint = did_you_mean(fmt, formats)
        raise DataFormatError(
            f"unknown import format {fmt!r}.{hint} Formats: {', '.join(formats)}"
        )
    spec = host.get("importer", fmt)
    options = dict(options or {})
    declared = dict(spec.capabilities.get("options") or {})
    unknown = sorted(set(options) - set(declared))
    if unknown:
        have = ", ".join(declared) or "none"
        raise DataFormatError(
            f"import format {fmt!r} has no option {', '.join(map(repr, unknown))}; its options: "
            f"{have}")
    try:
        importer = spec.load()
    except PluginLoadError as exc:
        raise MissingDependencyError(str(exc)) from None
    return importer, options


def parse(
    fmt: str, path: str | Path, *, options: dict[str, str] | None = None,
    host: PluginHost | None = None,
) -> ImportedBench:
    """Parse and validate ``path`` as ``fmt`` into store rows, without touching any store."""
    data = parse_records(fmt, path, options=options, host=host)
    return data.to_bench() if isinstance(data, ImportedRecords) else data


def import_bench(
    store: Store, fmt: str, path: str | Path, name: str, *, replace: bool = False,
    add: bool = False, options: dict[str, str] | None = None, host: PluginHost | None = None,
) -> ImportResult:
    """Import ``path`` as bench ``name``: all-or-nothing. With ``add``, the records join bench
    ``name`` (created if absent) instead; only formats that return
    :class:`ImportedRecords` can do that."""
    from routerbench_core.data.store import StoreError, validate_bench_name

    validate_bench_name(name)  # fail before a long parse, not after
    if add and replace:
        raise StoreError("--add and --replace exclude each other: add to a bench or replace it")
    if store.has_bench(name) and not (replace or add):
        raise StoreError(
            f"bench {name!r} already exists in {store.path}; choose another --name, pass "
            f"--replace, or delete it first with `rbench data delete {name}`"
        )
    t0 = time.perf_counter()
    importer, checked = load_importer(fmt, path, options=options, host=host)
    stream = getattr(importer, "stream", None)
    if stream is not None and not add:
        return _import_streamed(store, fmt, Path(path), name, stream, checked, replace, t0)
    records = importer(Path(path), **checked)
    if add:
        if not isinstance(records, ImportedRecords):
            raise StoreError(
                f"import format {fmt!r} cannot add to an existing bench; import it as a new "
                "bench (without --add)")
        t1 = time.perf_counter()
        records.add_to(store, name)
        t2 = time.perf_counter()
        return ImportResult(
            bench=name, format=fmt, n_queries=len(records.queries),
            n_models=len(records.model_specs()), n_records=records.n_records,
            parse_s=t1 - t0, write_s=t2 - t1,
        )
    data = records.to_bench() if isinstance(records, ImportedRecords) else records
    t1 = time.perf_counter()
    store.write_bench(
        name, models=data.models, query_rows=data.queries, response_rows=data.responses,
        grade_rows=data.grades, source=f"{fmt}:{Path(path).resolve()}",
        metadata=data.metadata, replace=replace,
    )
    t2 = time.perf_counter()
    _build_matrix_cache(store, name)
    return ImportResult(
        bench=name, format=fmt, n_queries=len(data.queries), n_models=len(data.models),
        n_records=len(data.responses), parse_s=t1 - t0, write_s=t2 - t1,
        cost_estimated=bool(data.metadata.get("cost_estimated")),
        cache_s=time.perf_counter() - t2,
    )


def _build_matrix_cache(store: Store, name: str) -> None:
    """Build the bench's matrix cache now, so the first `route` or `data info` is instant."""
    from routerbench_core.data import matrix_cache

    matrix_cache.rebuild(store, name)


def _import_streamed(store: Store, fmt: str, path: Path, name: str, stream: Any,
                     options: dict[str, str], replace: bool, t0: float) -> ImportResult:
    """Bounded chunks from ``stream(path)`` into a staging bench, published atomically at
    the end; parsing and packing run in a thread beside the writer (a large LLMRouterBench
    release is parsed and packed by worker processes instead, and the thread only receives
    their chunks). The matrix cache is built from the chunks as they pass
    (``data/matrix_build.py``), not read back from SQL."""
    from routerbench_core.data import matrix_cache
    from routerbench_core.data.matrix_build import MatrixBuilder, with_outcomes
    from routerbench_core.data.prefetch import prefetched
    from routerbench_core.data.textpack import BlockPacker, pack_responses

    packer = BlockPacker()
    builder = MatrixBuilder()
    counts = {"queries": 0, "models": 0, "records": 0}
    metadata: dict[str, Any] = {}
    published: list[tuple[int, str]] = []

    def counted(chunks: Any) -> Any:
        for chunk in chunks:
            counts["queries"] += len(chunk.queries)
            counts["models"] += len(chunk.models)
            counts["records"] += len(chunk.responses)
            if chunk.metadata:
                metadata.update(chunk.metadata)
            builder.add(chunk)
            yield chunk

    source = f"{fmt}:{path.resolve()}"
    stages = prefetched(with_outcomes(merged_chunks(pack_responses(
        stream(path, **options), packer))), depth=1)
    store.write_bench_staged(name, counted(stages), source=source, replace=replace,
                             on_publish=lambda bid, version: published.append((bid, version)))
    t1 = time.perf_counter()
    bench_id, version = published[0]
    created_at = store.execute("SELECT created_at FROM benches WHERE id=?",
                               (bench_id,)).fetchone()[0]
    matrix, stats = builder.build(name, store.bench_metadata(name), source, created_at)
    matrix_cache.write(store, bench_id, version, matrix, stats)
    return ImportResult(
        bench=name, format=fmt, n_queries=counts["queries"], n_models=counts["models"],
        n_records=counts["records"], parse_s=t1 - t0, write_s=0.0,
        cost_estimated=bool(metadata.get("cost_estimated")), cache_s=time.perf_counter() - t1,
    )


def export_bench(store: Store, name: str, fmt: str, out: str | Path) -> list[Path]:
    """Write bench ``name`` to ``out`` as ``fmt``; returns the files written."""
    module = _module(fmt, EXPORT_FORMATS, "export")
    store.bench_id(name)  # a clear error for an unknown bench before anything is written
    return module.export(store, name, Path(out))
