"""``rbench data preview``: see a dataset's items as a model would, and how an answer grades.

Someone debugging a grader needs the rendered prompt, the gold answer and, for a given answer,
what was extracted and the verdict with the grader's name and version; this prints exactly that,
without a store, a backend or a network (``--data-file`` for a local copy). Judged datasets need
a judge backend and are previewed up to extraction only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from routerbench_core.plugins.hookspecs import hookimpl


def _data_group(app: typer.Typer) -> typer.Typer:
    """The ``data`` sub-app the built-in data commands created (made here if not yet there)."""
    for group in app.registered_groups:
        if group.name == "data" and group.typer_instance is not None:
            return group.typer_instance
    data = typer.Typer(help="Import, export and inspect benches (queries × models outcomes) "
                            "in the store.", no_args_is_help=True)
    app.add_typer(data, name="data")
    return data


def _parse_options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option {pair!r}: use KEY=VALUE, e.g. --option grader=seed")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def preview_item(dataset: Any, query: Any, answer: str | None, finish_reason: str | None,
                 ) -> dict[str, Any]:
    """One item as sent (messages), its gold and, given ``answer``, extraction and verdict."""
    from routerbench_core.schema import Response

    item: dict[str, Any] = {"id": query.id, "messages": dataset.build_messages(query),
                            "gold": query.ground_truth}
    if answer is None:
        return item
    metadata = {"finish_reason": finish_reason} if finish_reason else {}
    response = Response(query_key=query.key, model="preview", raw_output=answer,
                        metadata=metadata)
    if hasattr(dataset, "extract_response"):
        item["extracted"] = dataset.extract_response(response, query)
    if getattr(dataset, "category", None) == "judged":
        item["verdict"] = "needs a judge backend (rbench grade --judge ...)"
        return item
    grade = dataset.grade(query, response)
    item["verdict"] = {"score": grade.score, "prediction": grade.prediction,
                       "grader": grade.grader, "grader_version": grade.grader_version,
                       "details": grade.details}
    return item


def _print_item(item: dict[str, Any]) -> None:
    echo = typer.echo
    echo(f"=== item {item['id']}")
    for message in item["messages"]:
        echo(f"--- {message['role']}")
        echo(_show(message["content"]))
    echo("--- gold")
    echo(_show(item["gold"]))
    if "extracted" in item:
        echo("--- extracted")
        echo(_show(item["extracted"]))
    if "verdict" in item:
        echo("--- verdict")
        verdict = item["verdict"]
        if isinstance(verdict, dict):
            echo(f"score {verdict['score']}  grader {verdict['grader']} "
                 f"version {verdict['grader_version']}")
            if verdict["details"]:
                echo(_show(verdict["details"]))
        else:
            echo(verdict)


PREVIEW_EXAMPLES = """Examples:

  rbench data preview math500 --limit 2   # prompts and gold as sent

  rbench data preview aime --answer 'The answer is \\boxed{42}'   # how an answer grades
"""


@hookimpl(trylast=True)  # after commands.data has made the ``data`` sub-app
def register_commands(app: typer.Typer) -> None:
    from routerbench_core.commands.app import fail, state

    data = _data_group(app)

    @data.command("preview", epilog=PREVIEW_EXAMPLES)
    def preview_command(
        ctx: typer.Context,
        dataset_name: Annotated[str, typer.Argument(metavar="DATASET", help="Registered dataset.")],
        data_file: Annotated[Path | None, typer.Option(
            "--data-file", help="Local copy (JSONL/JSON/Parquet/CSV) instead of the hub.")] = None,
        limit: Annotated[int, typer.Option("--limit", min=1, help="Items to show.")] = 1,
        answer: Annotated[str | None, typer.Option(
            "--answer", help="A model answer to extract and grade against each item.")] = None,
        finish_reason: Annotated[str | None, typer.Option(
            "--finish-reason", help="The answer's finish reason (e.g. length).")] = None,
        option: Annotated[list[str] | None, typer.Option(
            "--option", "-o", help="Dataset option KEY=VALUE (e.g. grader=seed); repeatable.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Show DATASET items as sent to a model, their gold, and how ANSWER grades."""
        from routerbench_core.plugins.manager import UnknownNameError
        from routerbench_core.scoring.datasets import DatasetError

        try:
            options = _parse_options(option or [])
            cls = state(ctx).host.load("dataset", dataset_name)
            dataset = cls(**options)
            queries = dataset.load(data_file, limit=limit)
            items = [preview_item(dataset, q, answer, finish_reason) for q in queries[:limit]]
        except (UnknownNameError, DatasetError, ValueError) as exc:
            raise fail(str(exc)) from None
        if as_json:
            typer.echo(json.dumps(items, indent=2, ensure_ascii=False, default=str))
            return
        for item in items:
            _print_item(item)
