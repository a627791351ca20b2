"""Built-in ``rbench data`` commands: import, export, info, list and delete benches.

Kept light: this module imports typer only; the importers, the store and numpy are imported
inside each command when it runs, so ``rbench --help`` and ``rbench list`` stay fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from routerbench_core.commands.data_info import bench_info, collect, emit
from routerbench_core.plugins.hookspecs import hookimpl

__all__ = ["bench_info", "info_errors", "register_commands"]

IMPORT_HELP = ("Import format: llmrouterbench, llmrouter, routerdc, routerbench, parquet, or one "
               "a plugin adds (`rbench list importers`).")
EXPORT_HELP = "llmrouterbench, parquet or csv"


def info_errors() -> tuple[type[BaseException], ...]:
    """The errors a data command reports as one line (``error: ...``, exit 2)."""
    from routerbench_core.data.importers import DataFormatError
    from routerbench_core.data.importers.base import MissingDependencyError
    from routerbench_core.data.paths import UnsafePathError
    from routerbench_core.data.store import StoreError

    return (DataFormatError, MissingDependencyError, StoreError, UnsafePathError)


IMPORT_EXAMPLES = """Examples:

  rbench data import llmrouterbench results/ --name lrb

  rbench data import routerbench routerbench_0shot.csv --name rb --replace

  rbench data import swe-bench run.json --name agents --add -o model=my-agent   # a plugin's format
"""


FETCH_EXAMPLES = """Examples:

  rbench data fetch llmrouterbench --name lrb   # the seed's published release (network)

  rbench data fetch org/routing-data --revision SHA -f routerdc --name rd --subdir scores

  rbench data fetch org/release --archive release.tar.gz -f llmrouterbench --name rel
"""


EXPORT_EXAMPLES = """Examples:

  rbench data export lrb parquet lrb-parquet/   # full fidelity

  rbench data export lrb csv lrb.csv   # RouterBench's wide CSV
"""


INFO_EXAMPLES = """Examples:

  rbench data info lrb

  rbench data info --json   # every bench
"""


LIST_EXAMPLES = """Examples:

  rbench data list

  rbench --store other.db data list --json
"""


DELETE_EXAMPLES = """Examples:

  rbench data delete lrb   # its queries, responses and grades too
"""


FROM_SERVED_EXAMPLES = """Examples:

  rbench data from-served --name traffic   # every answered request kept with record_text

  rbench data from-served --name traffic-ap --router avengers-pro --since 1767225600
"""


MIGRATE_EXAMPLES = """Examples:

  rbench data migrate   # the store in ./rbench.db

  rbench --store old/rbench.db data migrate
"""


@hookimpl
def register_commands(app: typer.Typer) -> None:
    from routerbench_core.commands.app import fail, state

    data = typer.Typer(
        help="Import, export and inspect benches (queries × models outcomes) in the store.",
        epilog=IMPORT_EXAMPLES,
        no_args_is_help=True,
    )
    app.add_typer(data, name="data")

    _errors = info_errors

    def _existing(ctx: typer.Context, *, write: bool = False) -> Any:
        """The store, for commands that only read (opened read-only: the file is never
        written) or remove: never create an empty file."""
        from routerbench_core.data.store import StoreError, default_store_path

        path = state(ctx).store_path or default_store_path()
        if not Path(path).exists():
            raise StoreError(
                f"no store at {path}: import a bench first (`rbench data import FORMAT PATH "
                "--name NAME`), or point --store / RBENCH_STORE at an existing store"
            )
        return state(ctx).open_store(create=False, readonly=not write)

    def _has_store(ctx: typer.Context) -> bool:
        from routerbench_core.data.store import default_store_path

        return Path(state(ctx).store_path or default_store_path()).exists()

    @data.command("import", epilog=IMPORT_EXAMPLES)
    def import_command(
        ctx: typer.Context,
        fmt: Annotated[str, typer.Argument(metavar="FORMAT", help=IMPORT_HELP)],
        path: Annotated[Path, typer.Argument(help="File or folder to import.")],
        name: Annotated[str, typer.Option("--name", "-n", help="Name of the bench to create.")],
        replace: Annotated[bool, typer.Option(
            "--replace", help="Replace an existing bench of that name (atomically).")] = False,
        add: Annotated[bool, typer.Option(
            "--add", help="Add to bench NAME (created if absent), e.g. one agent's results "
                          "at a time; formats of dataset plugins support it.")] = False,
        option: Annotated[list[str], typer.Option(
            "--option", "-o", metavar="KEY=VALUE",
            help="An option of the format (repeatable), e.g. -o model=my-agent; "
                 "`rbench list importers --json` shows each format's options.")] = None,  # type: ignore[assignment]
        on_duplicate: Annotated[str, typer.Option(
            "--on-duplicate", help="A question repeated inside a file (routerdc): error (list "
            "them all), first (keep the first row) or mean (average the scores); the same as "
            "-o on_duplicate=...")] = None,  # type: ignore[assignment]
    ) -> None:
        """Import PATH as a new bench. All-or-nothing: on any error nothing is stored."""
        from routerbench_core.data.importers import DataFormatError, import_bench
        from routerbench_core.data.store import store_for_command

        try:
            options: dict[str, str] = {}
            for item in option or []:
                key, sep, value = item.partition("=")
                if not sep or not key.strip():
                    raise DataFormatError(f"--option {item!r} must look like KEY=VALUE")
                options[key.strip()] = value
            if on_duplicate is not None:
                options["on_duplicate"] = on_duplicate
            with store_for_command(state(ctx).store_path) as store:
                result = import_bench(store, fmt, path, name, replace=replace, add=add,
                                      options=options, host=state(ctx).host)
        except _errors() as exc:
            raise fail(f"import failed, nothing was stored: {exc}") from None
        if add:
            typer.echo(f"added {result.n_records:,} records ({result.n_queries:,} queries, "
                       f"{result.n_models} model(s)) to bench {name!r} in "
                       f"{result.parse_s + result.write_s:.1f} s")
            return
        typer.echo(
            f"imported {result.n_queries:,} queries × {result.n_models} models "
            f"({result.n_records:,} records) as bench {name!r} in "
            f"{result.parse_s + result.write_s:.1f} s"
        )
        if result.cost_estimated:
            typer.echo("note: this format has no per-query cost; costs are ESTIMATES "
                       "(see `rbench data info` and docs/data-formats.md)")

    @data.command("fetch", epilog=FETCH_EXAMPLES)
    def fetch_command(
        ctx: typer.Context,
        source: Annotated[str, typer.Argument(
            metavar="SOURCE",
            help="A named release (llmrouterbench) or a hub dataset repository, owner/name.")],
        name: Annotated[str, typer.Option("--name", "-n", help="Name of the bench to create.")],
        fmt: Annotated[str, typer.Option(
            "--format", "-f", help=IMPORT_HELP + " A named release knows its own.")] = None,  # type: ignore[assignment]
        revision: Annotated[str, typer.Option(
            "--revision", help="Commit, tag or branch to pin (recommended).")] = None,  # type: ignore[assignment]
        subdir: Annotated[str, typer.Option(
            "--subdir", help="Only this folder of the repository (e.g. results/bench).")] = None,  # type: ignore[assignment]
        archive: Annotated[str, typer.Option(
            "--archive", help="The repository holds the release as this tar archive: download "
            "it alone, unpack it safely, import its contents.")] = None,  # type: ignore[assignment]
        max_unpacked_gb: Annotated[float, typer.Option(
            "--max-unpacked-gb", help="Refuse an archive that unpacks to more than this.")] = 64.0,
        replace: Annotated[bool, typer.Option(
            "--replace", help="Replace an existing bench of that name (atomically).")] = False,
    ) -> None:
        """Download a public data set from its hub repository (network!) and import it."""
        from routerbench_core.data.fetch import (
            FetchError,
            fetch_and_import,
            fetch_archive_and_import,
            named_source,
        )
        from routerbench_core.data.store import store_for_command

        commit = None
        try:
            if "/" not in source:
                known = named_source(source)
                repo_id, archive = known.repo_id, archive or known.archive
                fmt, revision = fmt or known.format, revision or known.revision
                subdir = subdir or known.subdir
            else:
                repo_id = source
            if not fmt:
                raise FetchError(f"--format is needed for {repo_id}: {IMPORT_HELP}")
            if archive and subdir:
                raise FetchError("--archive and --subdir exclude each other: the archive is "
                                 "imported whole")
            with store_for_command(state(ctx).store_path) as store:
                if archive:
                    path, result = fetch_archive_and_import(
                        store, repo_id, archive, fmt, name, revision=revision, replace=replace,
                        max_bytes=int(max_unpacked_gb * 1024**3))
                    commit = store.bench_metadata(name).get("fetched_from", {}).get("commit")
                else:
                    path, result = fetch_and_import(store, repo_id, fmt, name,
                                                    revision=revision, subdir=subdir,
                                                    replace=replace)
        except (*_errors(), FetchError) as exc:
            raise fail(f"fetch failed, nothing was stored: {exc}") from None
        typer.echo(f"downloaded {repo_id}{'@' + revision if revision else ''} to {path}")
        if commit and commit != revision:
            typer.echo(f"commit {commit} (pin it with --revision {commit})")
        typer.echo(f"imported {result.n_queries:,} queries × {result.n_models} models as bench "
                   f"{name!r}")

    @data.command("export", epilog=EXPORT_EXAMPLES)
    def export_command(
        ctx: typer.Context,
        bench: Annotated[str, typer.Argument(help="Bench to export.")],
        fmt: Annotated[str, typer.Argument(metavar="FORMAT", help=EXPORT_HELP)],
        out: Annotated[Path, typer.Argument(help="Output folder (or .csv file for csv).")],
    ) -> None:
        """Write a bench in FORMAT under OUT."""
        from routerbench_core.data.importers import export_bench

        try:
            with _existing(ctx) as store:
                files = export_bench(store, bench, fmt, out)
        except _errors() as exc:
            raise fail(str(exc)) from None
        typer.echo(f"wrote {len(files)} file(s) under {out}")

    @data.command("info", epilog=INFO_EXAMPLES)
    def info_command(
        ctx: typer.Context,
        bench: str = typer.Argument(None, help="Bench to describe (default: every bench)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Queries, models, per-dataset counts, responses, failures, grades and cost source."""
        try:
            header, infos = collect(state(ctx).store_path, bench)
        except _errors() as exc:
            raise fail(str(exc)) from None
        emit(header, infos, as_json=as_json, one=bench is not None, echo=typer.echo)

    @data.command("list", epilog=LIST_EXAMPLES)
    def list_command(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """List the benches in the store."""
        rows: list[dict[str, Any]] = []
        try:
            if _has_store(ctx):
                with _existing(ctx) as store:
                    for n in store.bench_names():
                        s = store.summary(n)
                        rows.append({"name": n, "queries": s.n_queries, "models": s.n_models,
                                     "responses": s.n_responses, "source": s.source})
        except _errors() as exc:
            raise fail(str(exc)) from None
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        if not rows:
            typer.echo("no benches in the store; import one with `rbench data import`")
        for r in rows:
            typer.echo(f"{r['name']:<24} {r['queries']:>8,} queries  {r['models']:>3} models  "
                       f"{r['responses']:>9,} responses  {r['source'] or ''}")

    @data.command("delete", epilog=DELETE_EXAMPLES)
    def delete_command(
        ctx: typer.Context,
        bench: str = typer.Argument(..., help="Bench to delete with all its outcomes."),
    ) -> None:
        """Delete a bench and all its queries, responses and grades."""
        try:
            with _existing(ctx, write=True) as store:
                store.delete_bench(bench)
        except _errors() as exc:
            raise fail(str(exc)) from None
        typer.echo(f"deleted bench {bench!r}")

    @data.command("from-served", epilog=FROM_SERVED_EXAMPLES)
    def from_served_command(
        ctx: typer.Context,
        name: str = typer.Option(..., "--name", help="Bench to create from served traffic."),
        router: str = typer.Option(None, "--router", help="Only requests this router served."),
        since: float = typer.Option(None, "--since", help="Only requests after this Unix time."),
        replace: bool = typer.Option(False, "--replace", help="Replace an existing bench."),
    ) -> None:
        """Turn requests answered by `rbench serve` (kept with record_text) into a bench."""
        try:
            with _existing(ctx, write=True) as store:
                n = store.served_to_bench(name, router=router, since=since, replace=replace)
        except _errors() as exc:
            raise fail(str(exc)) from None
        typer.echo(f"bench {name!r}: {n} served queries with the answers of the models that "
                   "served them; collect the other models and grade, then `rbench route`")

    @data.command("migrate", epilog=MIGRATE_EXAMPLES)
    def migrate_command(ctx: typer.Context) -> None:
        """Upgrade a store written by an older rbench to this rbench's schema (in place, in
        one transaction; reading an older store needs no migration)."""
        from routerbench_core.data.store import Store, StoreError, default_store_path

        path = state(ctx).store_path or default_store_path()
        try:
            with Store.for_migration(path) as store:
                done = store.migrate()
        except StoreError as exc:
            raise fail(str(exc)) from None
        for line in done:
            typer.echo(f"migrated {path}: {line}")
        if not done:
            typer.echo(f"store {path} is already at schema version {store.schema_version}")
