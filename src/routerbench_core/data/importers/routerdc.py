"""RouterDC's data layout: a folder of per-dataset JSON files, each a list of
``{"question": str, "scores": {model: score}}``.

The dataset is the file name without ``.json`` and without a split suffix: ``gsm8k_train.json``
and ``gsm8k-test.json`` are dataset ``gsm8k``, source splits ``train`` and ``test``
(``_train``, ``_test``, ``-train``, ``-test``, ``_val``/``_dev`` are recognised). Other fields of
a row are kept in the query metadata.

The model set is the keys of the first row of the first file (files in name order); a row that
names any other model is an error, a row that lacks one of them leaves that outcome missing.
There are no prices or costs in this format: costs stay empty (missing, not $0). A question may
appear once per file; the query key is ``<dataset>/<split>-<sha256(question)[:16]>``.
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


def parse(path: Path) -> ImportedBench:
    folder = Path(path)
    files = [folder] if folder.is_file() else sorted(folder.glob("*.json"))
    if not files:
        raise DataFormatError(f"no *.json files in {folder}: expected one file per dataset, "
                              "each a list of {question, scores}")
    builder = BenchBuilder(FORMAT, folder)
    models_from: Path | None = None
    for file in files:
        dataset, split = split_from_stem(file.stem)
        rows = read_json(file)
        if not isinstance(rows, list):
            raise DataFormatError("expected a list of {question, scores}", file=file)
        for pos, row in enumerate(rows):
            where = Where(file, pos)
            question = require(row, "question", where)
            scores = require(row, "scores", where)
            if type(question) is not str:
                raise where.error("question", f"expected a string, got {type(question).__name__}")
            if not isinstance(scores, dict) or not scores:
                raise where.error("scores", "expected a non-empty object {model: score}")
            if models_from is None:
                for name in scores:
                    builder.add_model(ModelSpec(name=name))
                models_from = file
            meta: dict[str, Any] = {k: v for k, v in row.items()
                                    if k not in ("question", "scores")}
            qid = f"{split or 'all'}-{text_id(question)}"
            q = builder.add_query(key=f"{dataset}/{qid}", dataset=dataset, qid=qid,
                                  text=question, where=where, source_split=split, metadata=meta)
            for model, value in scores.items():
                field = f"scores.{model}"
                m = builder.model(model, where, field)
                builder.add_outcome(q, m, where, score=as_score(value, field, where))
    return builder.finish(files=len(files))
