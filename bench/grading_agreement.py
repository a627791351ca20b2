"""How often rbench's scorers agree with RouterBench's published grades on real model answers.

RouterBench (Martian) published, for 11 models, each answer and its 0/1 grade; the subset in
``../shared/data/routerbench-subset`` holds MBPP (code), ARC-Challenge and WinoGrande (letters).
This script regrades every answer with rbench's scorers and prints the agreement per dataset and
model, then the disagreements for reading.

- **MBPP**: the answer's code goes through rbench's MBPP grader (extraction, sanitising, the
  seed's import block, the sandbox) against the task's three asserts. RouterBench's CSV has no
  tests; they come from the MBPP items in ``../shared/data/llmrouter-nim9`` (same task text),
  so only tasks found there are regraded (the count is printed). RouterBench's prompt named no
  function, so models name it freely; ``--alias`` (the default) binds the tested name to the
  answer's last top-level function when the answer does not define it (``--no-alias``: names
  must match, as rbench's own MBPP prompt, which states the signature, requires).
- **ARC-Challenge / WinoGrande**: the CSV has no gold letter either. The gold is the letter
  that the answers RouterBench graded correct state (read by :func:`read_choice`); items where
  those answers state different letters are reported as conflicts, items nobody got right are
  skipped (no gold). Each answer is then read by rbench and compared with that gold, so the
  disagreements are answers whose *reading* differs: a letter RouterBench missed or credited.

    python bench/grading_agreement.py [--datasets mbpp,arc,winogrande] [--splits test,train]
                                      [--show 20] [--workers 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FILES = {"mbpp": "mbpp", "arc": "arc_challenge", "winogrande": "winograde"}
META_COLUMNS = {"", "sample_id", "prompt", "eval_name", "oracle_model_to_route_to"}


@dataclass
class Outcome:
    dataset: str
    split: str
    sample_id: str
    model: str
    published: float
    rbench: float
    reading: str
    response: str


def shared_data() -> Path:
    folder = Path(os.environ.get("RBENCH_SHARED_DATA") or ROOT.parent / "shared" / "data")
    if not (folder / "routerbench-subset").is_dir():
        sys.exit(f"no routerbench-subset under {folder}; set RBENCH_SHARED_DATA")
    return folder


def read_rows(folder: Path, name: str, split: str) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    path = folder / "routerbench-subset" / f"{FILES[name]}_{split}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def models_of(row: dict[str, str]) -> list[str]:
    return [k for k in row if k not in META_COLUMNS and "|" not in k]


def first_text(cell: str) -> str | None:
    """RouterBench stores each answer as a Python-literal list of strings; the first one."""
    if not cell:
        return None
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        return cell
    if isinstance(value, list | tuple):
        return str(value[0]) if value else None
    return str(value)


def published(row: dict[str, str], model: str) -> float | None:
    cell = row.get(model, "")
    return float(cell) if cell not in ("", None) else None  # empty cells are missing, never 0


# -- letters -----------------------------------------------------------------------------------

def n_options(prompt_cell: str) -> int:
    """Options of the item asked last (the prompt holds few-shot examples before it)."""
    text = first_text(prompt_cell) or ""
    last = text.strip().split("\n\n")[-1]
    letters = re.findall(r"^([A-J])\)", last, re.MULTILINE)
    return max(2, len(letters))


def regrade_letters(name: str, split: str, rows: list[dict[str, str]]
                    ) -> tuple[list[Outcome], Counter[str]]:
    from routerbench_core.scoring.choice import read_choice

    outcomes: list[Outcome] = []
    items: Counter[str] = Counter()
    for row in rows:
        n = n_options(row["prompt"])
        readings = {}
        for model in models_of(row):
            score, text = published(row, model), first_text(row.get(f"{model}|model_response", ""))
            if score is None or text is None:
                continue
            readings[model] = (score, text, read_choice(text, n))
        credited = {r.letter for s, _, r in readings.values() if s == 1.0 and r.letter}
        if not any(s == 1.0 for s, _, _ in readings.values()):
            items["skipped: no answer graded correct (no gold)"] += 1
            continue
        if len(credited) != 1:
            items["conflict: correct answers state different letters"] += 1
            gold = None
        else:
            items["regraded"] += 1
            (gold,) = credited
        for model, (score, text, reading) in readings.items():
            if gold is None:
                verdict = float("nan")
            else:
                verdict = 1.0 if reading.letter == gold else 0.0
            outcomes.append(Outcome(name, split, row["sample_id"], model, score, verdict,
                                    reading.letter or reading.reason, text))
    return outcomes, items


# -- MBPP --------------------------------------------------------------------------------------

def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def mbpp_tests(folder: Path) -> dict[str, list[str]]:
    tests: dict[str, list[str]] = {}
    for split in ("train", "test"):
        path = folder / "llmrouter-nim9" / f"queries_{split}.jsonl"
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").split("\n"):
            if not line.strip():
                continue
            record = json.loads(line)
            if record.get("task_name") == "mbpp":
                tests[_norm(record["query"])] = list(ast.literal_eval(record["ground_truth"]))
    return tests


def _aliasing_mbpp(alias: bool) -> Any:
    import ast as python_ast

    from rbench_dataset_mbpp.dataset import MBPP

    class AliasingMBPP(MBPP):
        """rbench's MBPP grader; the tested name may be bound to the answer's own function."""

        def build_program(self, code: str, query: Any) -> Any:
            program = super().build_program(code, query)
            entry = query.metadata["entry_point"]
            if not alias or re.search(rf"^\s*def\s+{re.escape(entry)}\s*\(", code, re.M):
                return program
            try:
                defined = [n.name for n in python_ast.parse(code).body
                           if isinstance(n, python_ast.FunctionDef)]
            except SyntaxError:
                return program
            if not defined:
                return program
            return type(program)(code=f"{program.code}\n{entry} = {defined[-1]}\n",
                                 tests=program.tests)

    return AliasingMBPP()


def regrade_mbpp(split: str, rows: list[dict[str, str]], tests: dict[str, list[str]],
                 workers: int, alias: bool) -> tuple[list[Outcome], Counter[str]]:
    from rbench_dataset_mbpp.dataset import called_function

    from routerbench_core.schema import Query, Response

    dataset = _aliasing_mbpp(alias)
    items: Counter[str] = Counter()
    pairs: list[tuple[Query, Response]] = []
    meta: list[tuple[str, str, float, str]] = []
    for row in rows:
        text = first_text(row["prompt"]) or ""
        asserts = tests.get(_norm(text))
        entry = called_function(asserts[0]) if asserts else None
        if not asserts or entry is None:
            items["skipped: no MBPP tests for this task text"] += 1
            continue
        items["regraded"] += 1
        query = Query(dataset="mbpp", id=row["sample_id"], text=text,
                      ground_truth={"tests": asserts, "setup": "", "reference": ""},
                      metadata={"entry_point": entry, "signature": ""})
        for model in models_of(row):
            score = published(row, model)
            answer = first_text(row.get(f"{model}|model_response", ""))
            if score is None or answer is None:
                continue
            pairs.append((query, Response(query_key=query.key, model=model, raw_output=answer)))
            meta.append((row["sample_id"], model, score, answer))
    grades = dataset.grade_many(pairs, workers=workers)
    outcomes = []
    for (sample_id, model, score, answer), grade in zip(meta, grades, strict=True):
        execution = grade.details.get("execution") or {}
        reading = execution.get("error") or execution.get("status") or grade.details.get(
            "reason", "")
        outcomes.append(Outcome("mbpp", split, sample_id, model, score, float(grade.score or 0.0),
                                str(reading)[:160], answer))
    return outcomes, items


# -- report ------------------------------------------------------------------------------------

def summarise(outcomes: list[Outcome]) -> dict[str, dict[str, tuple[int, int]]]:
    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for o in outcomes:
        if o.rbench != o.rbench:  # NaN: no gold (conflicting credited letters)
            continue
        cell = table[o.dataset][o.model]
        cell[0] += int(o.rbench == o.published)
        cell[1] += 1
    return {d: {m: (a, n) for m, (a, n) in sorted(ms.items())} for d, ms in table.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="mbpp,arc,winogrande")
    parser.add_argument("--splits", default="test,train")
    parser.add_argument("--show", type=int, default=15, help="disagreements to print per dataset")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write every outcome and the summary here")
    parser.add_argument("--alias", action=argparse.BooleanOptionalAction, default=True,
                        help="MBPP: bind the tested name to the answer's function (default on)")
    args = parser.parse_args(argv)
    folder = shared_data()
    outcomes: list[Outcome] = []
    coverage: dict[str, Counter[str]] = defaultdict(Counter)
    tests = mbpp_tests(folder) if "mbpp" in args.datasets else {}
    for name in args.datasets.split(","):
        for split in args.splits.split(","):
            rows = read_rows(folder, name, split)
            start = time.monotonic()
            if name == "mbpp":
                got, items = regrade_mbpp(split, rows, tests, args.workers, args.alias)
            else:
                got, items = regrade_letters(name, split, rows)
            outcomes += got
            coverage[name].update(items)
            print(f"# {name} {split}: {len(rows)} items, {dict(items)}, "
                  f"{len(got)} answers regraded in {time.monotonic() - start:.1f}s")
    summary = summarise(outcomes)
    print("\nagreement with RouterBench's published grades (answers where rbench gives the same "
          "0/1)\n")
    for dataset, by_model in summary.items():
        total_a = sum(a for a, _ in by_model.values())
        total_n = sum(n for _, n in by_model.values())
        print(f"{dataset}: {total_a}/{total_n} = {100 * total_a / max(total_n, 1):.2f}%")
        for model, (a, n) in by_model.items():
            print(f"  {model:<40} {a:>5}/{n:<5} {100 * a / max(n, 1):6.2f}%")
        flips = Counter((o.published, o.rbench) for o in outcomes
                        if o.dataset == dataset and o.rbench == o.rbench
                        and o.rbench != o.published)
        print(f"  disagreements: published 1 -> rbench 0: {flips[(1.0, 0.0)]}, "
              f"published 0 -> rbench 1: {flips[(0.0, 1.0)]}")
    for dataset in summary:
        shown = [o for o in outcomes if o.dataset == dataset and o.rbench == o.rbench
                 and o.rbench != o.published][: args.show]
        if shown:
            print(f"\n## {dataset}: first {len(shown)} disagreements")
        for o in shown:
            excerpt = " ".join(o.response.split())[:140]
            print(f"- {o.split}/{o.sample_id} {o.model}: published {o.published:g}, rbench "
                  f"{o.rbench:g} ({o.reading}) | {excerpt}")
    if args.json:
        args.json.write_text(json.dumps({
            "summary": {d: {m: {"agree": a, "n": n} for m, (a, n) in ms.items()}
                        for d, ms in summary.items()},
            "coverage": {k: dict(v) for k, v in coverage.items()},
            "outcomes": [asdict(o) for o in outcomes],
        }, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
