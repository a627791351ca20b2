"""HumanEval: prompt without hidden tests, program assembly, the conformance kit."""

from __future__ import annotations

from pathlib import Path

from rbench_dataset_humaneval.dataset import HumanEval

from routerbench_core import Response
from routerbench_core.testing.datasets import DatasetConformance

FIXTURE = Path(__file__).parent / "fixtures" / "humaneval.jsonl"

RUNNING_MAX = '''Here you go:

```python
from typing import List

def running_max(values: List[int]) -> List[int]:
    result, best = [], float("-inf")
    for v in values:
        best = max(best, v)
        result.append(best)
    return result

print(running_max([1, 2]))
```
'''


class TestHumanEvalConformance(DatasetConformance):
    dataset_name = "humaneval"
    fixture = FIXTURE
    good_answers = {
        "RBench/0": RUNNING_MAX,
        # uses the helper the prompt defined, without repeating it
        "RBench/1": "```python\ndef count_vowels(text):\n    return sum(map(is_vowel, text))\n```",
        # a body-only completion is appended to the prompt
        "RBench/2": "```python\n    return sum(map(int, str(n)))\n```",
    }
    bad_answers = {
        "RBench/0": "```python\ndef running_max(values):\n    return sorted(values)\n```",
        "RBench/1": "```python\ndef count_vowels(text):\n    return len(text)\n```",
        "RBench/2": "I am not sure how to do this.",
    }


def test_prompt_shows_signature_not_tests() -> None:
    ds = HumanEval()
    query = ds.load(FIXTURE)[0]
    content = ds.build_messages(query)[0]["content"]
    assert query.text in content and "```python" in content
    assert "def check" not in content and "assert candidate" not in content


def test_grade_details_record_the_execution() -> None:
    ds = HumanEval()
    query = ds.load(FIXTURE)[0]
    bad = ds.grade(query, Response(query_key=query.key, model="m", raw_output=(
        "```python\ndef running_max(values):\n    return values\n```")))
    assert bad.score == 0.0
    assert bad.details["verdict"] == "decomposed"  # decided by the grader, from values
    assert bad.details["reason"].startswith("AssertionError")
    execution = bad.details["execution"]
    assert execution["status"] == "completed"  # the answer's process ended normally
    assert "bubblewrap" in execution["isolation"] and "pids cgroup" in execution["isolation"]


def test_seed_prompt_shows_the_tests_only_when_asked() -> None:
    query = HumanEval().load(FIXTURE)[0]
    hidden = HumanEval().build_messages(query)[0]["content"]
    seed = HumanEval(prompt="seed").build_messages(query)[0]["content"]
    assert "def check" not in hidden
    assert seed.startswith("You are an expert Python programmer, and here is your task:\n")
    assert "Your code should pass these tests:\n" in seed and "def check" in seed
