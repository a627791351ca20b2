"""RouterDC's data layout: a folder of per-dataset JSON files, each a list of
``{"question": str, "scores": {model: score}}``.

The dataset is the file name without ``.json`` and without a split suffix: ``gsm8k_train.json``
and ``gsm8k-test.json`` are dataset ``gsm8k``, source splits ``train`` and ``test``
(``_train``, ``_test``, ``-train``, ``-test``, ``_val``/``_dev`` are recognised). Other fields of
a row are kept in the query metadata.

The model set is the keys of the first row of the first file (files in name order); a row that
names any other model is an error, a row that lacks one of them leaves that outcome missing.
There are no prices or costs in this format: costs stay empty (missing, not $0). The query key
is ``<dataset>/<split>-<sha256(question)[:16]>``.

A question repeated inside one file (released data sets do this) is handled by
``on_duplicate``: ``error`` (default) refuses the import and lists every repeat, with whether
its scores conflict; ``first`` keeps the first row; ``mean`` averages each model's scores over
the repeats (a conflict becomes a soft score). What was done is recorded in the bench metadata
(``duplicates``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from routerbench_core.data.importers.base import (
    BenchBuilder,
    DataFormatError,
    ImportedBench,
    Where,
    as_score,
    read_json,
    require,
    split_from_stem,
    text_id,
)
from routerbench_core.schema import ModelSpec

FORMAT = "routerdc"
ON_DUPLICATE: tuple[str, ...] = ("error", "first", "mean")


def parse(path: Path, *, on_duplicate: str = "error") -> ImportedBench:
    if on_duplicate not in ON_DUPLICATE:
        raise DataFormatError(f"on_duplicate must be one of {', '.join(ON_DUPLICATE)}, "
                              f"got {on_duplicate!r}")
    folder = Path(path)
    files = [folder] if folder.is_file() else sorted(folder.glob("*.json"))
    if not files:
        raise DataFormatError(f"no *.json files in {folder}: expected one file per dataset, "
                              "each a list of {question, scores}")
    builder = BenchBuilder(FORMAT, folder)
    models_from: Path | None = None
    repeats: list[str] = []
    n_extra = n_conflicting = 0
    for file in files:
        dataset, split = split_from_stem(file.stem)
        rows = read_json(file)
        if not isinstance(rows, list):
            raise DataFormatError("expected a list of {question, scores}", file=file)
        groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for pos, row in enumerate(rows):
            where = Where(file, pos)
            question = require(row, "question", where)
            scores = require(row, "scores", where)
            if type(question) is not str:
                raise where.error("question", f"expected a string, got {type(question).__name__}")
            if not isinstance(scores, dict) or not scores:
                raise where.error("scores", "expected a non-empty object {model: score}")
            groups.setdefault(question, []).append((pos, row))
        for question, group in groups.items():
            pos, row = group[0]
            where = Where(file, pos)
            parsed = [{m: as_score(v, f"scores.{m}", Where(file, p)) for m, v in r["scores"].items()}
                      for p, r in group]
            if len(group) > 1:
                conflict = any(x != parsed[0] for x in parsed[1:])
                n_extra += len(group) - 1
                n_conflicting += conflict
                repeats.append(f"{file.name} records {', '.join(str(p) for p, _ in group)}"
                               f"{' (conflicting scores)' if conflict else ''}: "
                               f"{question[:60]!r}")
                if on_duplicate == "error":
                    continue
            if models_from is None:
                for name in row["scores"]:
                    builder.add_model(ModelSpec(name=name))
                models_from = file
            meta: dict[str, Any] = {k: v for k, v in row.items()
                                    if k not in ("question", "scores")}
            if len(group) > 1:
                meta["repeated_records"] = [p for p, _ in group]
            qid = f"{split or 'all'}-{text_id(question)}"
            q = builder.add_query(key=f"{dataset}/{qid}", dataset=dataset, qid=qid,
                                  text=question, where=where, source_split=split, metadata=meta)
            merged = parsed[0] if on_duplicate != "mean" else _mean_scores(parsed)
            for model, value in merged.items():
                m = builder.model(model, where, f"scores.{model}")
                builder.add_outcome(q, m, where, score=value)
    if repeats and on_duplicate == "error":
        raise DataFormatError(
            f"{len(repeats)} question(s) repeated inside a file ({n_conflicting} with conflicting "
            "scores); choose a policy with --on-duplicate first|mean, or fix the files:\n  "
            + "\n  ".join(repeats)
        )
    duplicates = {"policy": on_duplicate, "repeated_questions": len(repeats),
                  "extra_rows": n_extra, "conflicting": n_conflicting}
    return builder.finish(files=len(files), duplicates=duplicates)


def _mean_scores(parsed: list[dict[str, float | None]]) -> dict[str, float | None]:
    """Each model's mean score over repeated rows (rows where it is missing are left out)."""
    out: dict[str, float | None] = {}
    for model in dict.fromkeys(m for row in parsed for m in row):
        known = [row[model] for row in parsed if row.get(model) is not None]
        out[model] = sum(known) / len(known) if known else None  # type: ignore[arg-type]
    return out
