"""HumanEval inside the real pipeline: stored answers graded by ``rbench grade``'s engine."""

from __future__ import annotations

import math
from pathlib import Path

from rbench_dataset_humaneval.dataset import HumanEval

from routerbench_core import ModelSpec, Response
from routerbench_core.testing import Store, grade_bench, make_plugin_manager

FIXTURE = Path(__file__).parent / "fixtures" / "humaneval.jsonl"


def test_stored_answers_are_graded_and_failures_stay_missing(tmp_path: Path) -> None:
    queries = HumanEval().load(FIXTURE)[:2]
    with Store(tmp_path / "rbench.db") as store:
        store.ensure_bench("demo")
        store.add_models("demo", [ModelSpec(name="good", input_price=1, output_price=1),
                                  ModelSpec(name="bad", input_price=1, output_price=1)])
        store.add_queries("demo", queries)
        good = "```python\ndef running_max(values):\n    out, m = [], None\n    for v in values:\n        m = v if m is None else max(m, v)\n        out.append(m)\n    return out\n```"
        store.put_responses("demo", [
            Response(query_key=queries[0].key, model="good", raw_output=good),
            Response(query_key=queries[0].key, model="bad",
                     raw_output="```python\ndef running_max(values):\n    return values\n```"),
            Response(query_key=queries[1].key, model="good",
                     raw_output="```python\ndef count_vowels(text):\n    return sum(map(is_vowel, text))\n```"),
            Response(query_key=queries[1].key, model="bad", error="HTTP 500: server error"),
        ])
        report = grade_bench(store, "demo", make_plugin_manager())
        assert (report.graded, report.failed_calls, report.n_errors) == (3, 1, 0), report
        grades = {(g.query_key, g.model): g for g in store.grades("demo")}
        assert grades[(queries[0].key, "good")].score == 1.0
        assert grades[(queries[0].key, "bad")].score == 0.0
        assert grades[(queries[1].key, "good")].score == 1.0
        assert (queries[1].key, "bad") not in grades
        assert {(g.grader, g.grader_version) for g in grades.values()} == {("humaneval", HumanEval.grader_version)}
        matrix = store.load_matrix("demo")
        col = matrix.models.index("bad")
        row = list(matrix.keys).index(queries[1].key)
        assert math.isnan(matrix.score[row, col]), "a failed call is missing, never 0"
        again = grade_bench(store, "demo", make_plugin_manager())
        assert (again.graded, again.up_to_date) == (0, 3)
