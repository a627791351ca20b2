"""``rbench data info``: what it shows, and a path that answers without building the CLI.

The counts come from the bench's matrix-cache header (see ``data/matrix_cache.py``), a
millisecond read; what a user waits for is the start-up. The typer app alone (typer, click and
the pydantic machinery typer parses options with) costs more than the 0.3 s this command has,
so :func:`fast_info` answers the plain forms (``[--store PATH] data info [BENCH] [--json]``)
itself, like ``rbench list --json``, with the same output and the same errors; every other
form (``--help``, a typo, strict plugin mode) goes through the typer command, which prints
with the same functions here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def bench_info(store: Any, name: str) -> dict[str, Any]:
    """Everything ``rbench data info`` shows about one bench, as plain JSON-able data (the
    counts come from the bench's matrix cache when it is current: no table scan)."""
    from routerbench_core.data import matrix_cache

    s = matrix_cache.stats(store, name)
    meta = s["metadata"]
    return {
        "name": name,
        "source": s["source"],
        "format": meta.get("import_format"),
        "queries": s["n_queries"],
        "models": s["models"],
        "n_models": s["n_models"],
        "datasets": dict(s["datasets"]),
        "source_splits": dict(s["source_splits"]),
        "responses": s["n_responses"],
        "failures": s["n_failures"],
        "grades": s["n_grades"],
        "cost_sources": dict(s["cost_sources"]),
        "cost_estimated": bool(meta.get("cost_estimated", False)),
        "metadata": meta,
    }


def print_info(info: dict[str, Any], echo: Callable[[str], Any]) -> None:
    echo(f"bench {info['name']}  ({info['source'] or 'unknown source'})")
    echo(f"  queries   {info['queries']:,}")
    echo(f"  models    {info['n_models']}: {', '.join(info['models'])}")
    echo(f"  responses {info['responses']:,} ({info['failures']:,} failed)")
    echo(f"  grades    {info['grades']:,} scored")
    sources = ", ".join(f"{k or 'none'} {v:,}" for k, v in info["cost_sources"].items())
    echo(f"  cost      {sources or 'none'}"
         + ("  [ESTIMATED: not measured per query]" if info["cost_estimated"] else ""))
    if info["source_splits"]:
        echo("  splits    " + ", ".join(f"{k or 'none'} {v:,}"
                                        for k, v in info["source_splits"].items()))
    echo("  datasets")
    width = max((len(d) for d in info["datasets"]), default=0)
    for dataset, n in info["datasets"].items():
        echo(f"    {dataset:<{width}}  {n:>7,}")


def collect(store_path: Path | None, bench: str | None) -> tuple[str, list[dict[str, Any]]]:
    """The header line and the infos, as the command prints them (raises ``StoreError``)."""
    from routerbench_core.data.store import Store, StoreError, default_store_path

    path = store_path or default_store_path()
    if bench is None and not Path(path).exists():
        return "", []
    if not Path(path).exists():
        raise StoreError(
            f"no store at {path}: import a bench first (`rbench data import FORMAT PATH "
            "--name NAME`), or point --store / RBENCH_STORE at an existing store"
        )
    with Store(path, create=False, readonly=True) as store:
        names = [bench] if bench is not None else store.bench_names()
        infos = [bench_info(store, n) for n in names]
        return f"store {store.path} (rbench schema version {store.schema_version})", infos


def emit(header: str, infos: list[dict[str, Any]], *, as_json: bool, one: bool,
         echo: Callable[[str], Any]) -> None:
    if as_json:
        echo(json.dumps(infos[0] if one else infos, indent=2))
        return
    if header:
        echo(header)
    if not infos:
        echo("no benches in the store; import one with `rbench data import`")
    for info in infos:
        print_info(info, echo)


def _parse(argv: list[str]) -> tuple[Path | None, str | None, bool] | None:
    """``(store, bench, as_json)`` when ``argv`` is a plain ``data info`` call, else None."""
    store: str | None = None
    i = 0
    while i < len(argv) and argv[i].startswith("--store"):
        if argv[i] == "--store" and i + 1 < len(argv):
            store, i = argv[i + 1], i + 2
        elif argv[i].startswith("--store="):
            store, i = argv[i][len("--store="):], i + 1
        else:
            return None
    if not store and store is not None:
        return None
    if argv[i : i + 2] != ["data", "info"]:
        return None
    rest = argv[i + 2 :]
    as_json = "--json" in rest
    rest = [a for a in rest if a != "--json"]
    if len(rest) > 1 or any(a.startswith("-") or not a for a in rest):
        return None
    return (Path(store) if store else None), (rest[0] if rest else None), as_json


def fast_info(argv: list[str]) -> bool:
    """Answer ``argv`` if it is a plain ``data info`` call (then exit); False otherwise."""
    import os

    from routerbench_core.plugins.manager import env_flag

    parsed = _parse(argv)
    if parsed is None or env_flag("RBENCH_STRICT_PLUGINS") or os.environ.get("RBENCH_STORE") == "":
        return False
    store, bench, as_json = parsed
    try:
        header, infos = collect(store, bench)
    except Exception as exc:
        from routerbench_core.commands.data import info_errors

        if not isinstance(exc, info_errors()):
            raise
        from routerbench_core.commands.entry import _error

        _error(str(exc))
        sys.exit(2)

    def echo(line: str) -> None:
        sys.stdout.write(line + "\n")

    emit(header, infos, as_json=as_json, one=bench is not None, echo=echo)
    sys.stdout.flush()
    sys.exit(0)
