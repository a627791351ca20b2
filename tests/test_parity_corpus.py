"""The grading parity corpus: rbench's verdict on every labelled case is the correct one.

``tests/parity/corpus.json`` holds dataset items in the seed's own file formats and raw model
answers, each labelled with the correct verdict and with LLMRouterBench's verdict (derived by
running the seed's graders: ``bench/parity_seed_verdicts.py``). Every case goes through the real
path: the dataset plugin loads the item file, ``grade`` extracts and scores the answer (code
runs in the sandbox). The cases where rbench and the seed differ must be explained in
docs/datasets.md, form by form.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from routerbench_core.plugins.manager import make_plugin_manager
from routerbench_core.schema import Query, Response

ROOT = Path(__file__).resolve().parents[1]
CORPUS = json.loads((ROOT / "tests" / "parity" / "corpus.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = CORPUS["cases"]
DOCS = ROOT / "docs" / "datasets.md"

#: scorers the corpus must exercise (dataset plugins whose grading runs without a judge)
SCORED = {"aime", "math500", "livemathbench", "finqa", "mathbench", "mmlu-pro", "gpqa", "medqa",
          "emorynlp", "meld", "bbh", "korbench", "knights-knaves", "humaneval", "mbpp",
          "livecodebench"}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, dict[str, Query]]]:
    """Each dataset's corpus items, written as its file and loaded by the plugin's loader."""
    host = make_plugin_manager()
    folder = tmp_path_factory.mktemp("parity")
    out: dict[str, tuple[Any, dict[str, Query]]] = {}
    for name, items in CORPUS["items"].items():
        path = folder / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in items.values()), encoding="utf-8")
        dataset = host.load("dataset", name)()
        queries = dataset.load(path)
        assert len(queries) == len(items), name
        out[name] = (dataset, dict(zip(items, queries, strict=True)))
    return out


def test_corpus_is_big_and_covers_every_scorer() -> None:
    assert len(CASES) >= 300
    assert {c["dataset"] for c in CASES} == SCORED
    assert len({c["id"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert isinstance(case["correct"], bool) and isinstance(case["seed"], bool), case["id"]
    # both verdicts occur for every scorer: the corpus is not one-sided
    for name in SCORED:
        verdicts = {c["correct"] for c in CASES if c["dataset"] == name}
        assert verdicts == {True, False}, name


def _verdicts(loaded: dict[str, tuple[Any, dict[str, Query]]]) -> dict[str, bool]:
    by_dataset: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in CASES:
        by_dataset[case["dataset"]].append(case)
    verdicts: dict[str, bool] = {}
    for name, cases in by_dataset.items():
        dataset, queries = loaded[name]
        items = []
        for case in cases:
            query = queries[case["item"]]
            metadata = {"finish_reason": case["finish_reason"]} if case.get("finish_reason") else {}
            items.append((query, Response(query_key=query.key, model="corpus",
                                          raw_output=case["answer"], metadata=metadata)))
        grades = dataset.grade_many(items, workers=2)
        for case, grade in zip(cases, grades, strict=True):
            verdicts[case["id"]] = grade.score == 1.0
    return verdicts


def test_rbench_gives_the_correct_verdict_on_every_case(loaded) -> None:
    verdicts = _verdicts(loaded)
    wrong = [f"{c['id']} ({c['form']}): rbench {verdicts[c['id']]}, correct {c['correct']}, "
             f"answer {c['answer']!r}" for c in CASES if verdicts[c["id"]] != c["correct"]]
    assert not wrong, "\n".join(wrong)


#: datasets whose ``grader=seed`` reproduces the seed column of the corpus, case by case
SEED_GRADED = ("aime", "math500", "livemathbench")


def test_seed_grader_reproduces_the_seed_verdict_on_the_math_cases(loaded) -> None:
    """``grader=seed`` on AIME, MATH500 and LiveMathBench gives the seed's own verdict (the
    column derived by running the seed's graders), including its false positives."""
    pytest.importorskip("pylatexenc", reason="grader=seed for math needs pylatexenc (seed extra)")
    host = make_plugin_manager()
    wrong = []
    for name in SEED_GRADED:
        _, queries = loaded[name]
        dataset = host.load("dataset", name)(grader="seed")
        cases = [c for c in CASES if c["dataset"] == name]
        items = [(queries[c["item"]], Response(query_key=queries[c["item"]].key, model="corpus",
                                               raw_output=c["answer"])) for c in cases]
        for case, grade in zip(cases, dataset.grade_many(items), strict=True):
            assert grade.grader == f"{name}:seed"
            if (grade.score == 1.0) != case["seed"]:
                wrong.append(f"{case['id']} ({case['form']}): seed grader {grade.score}, seed "
                             f"{case['seed']}, answer {case['answer']!r}")
    assert not wrong, "\n".join(wrong)
    differing = [c for c in CASES if c["dataset"] in SEED_GRADED and c["correct"] != c["seed"]]
    assert len(differing) >= 15  # the seed column is not rbench's default verdict


def test_every_difference_from_the_seed_is_documented() -> None:
    """docs/datasets.md lists, per answer form, the cases where rbench and the seed differ."""
    text = DOCS.read_text(encoding="utf-8")
    differing = sorted({c["form"] for c in CASES if c["correct"] != c["seed"]})
    assert differing, "the corpus should show the seed's false positives and negatives"
    missing = [form for form in differing if f"`{form}`" not in text]
    assert not missing, f"forms where rbench differs from the seed, not in {DOCS.name}: {missing}"


def test_every_dataset_plugin_readme_lists_its_deviations_from_the_seed() -> None:
    readmes = sorted((ROOT / "plugins" / "datasets").glob("rbench-dataset-*/README.md"))
    assert len(readmes) == 21
    for readme in readmes:
        text = readme.read_text(encoding="utf-8")
        assert "## Deviations from the seed" in text, readme.parent.name
        assert "unpublished" not in text.lower(), f"{readme.parent.name}: the seed's code is public"
