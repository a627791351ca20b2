"""MBPP: hidden asserts, signature-only prompt, setup code, the conformance kit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rbench_dataset_mbpp.dataset import MBPP, called_function

from routerbench_core import DatasetError
from routerbench_core.testing.datasets import DatasetConformance

FIXTURE = Path(__file__).parent / "fixtures" / "mbpp.jsonl"


class TestMbppConformance(DatasetConformance):
    dataset_name = "mbpp"
    fixture = FIXTURE
    good_answers = {
        "9001": "```python\ndef second_largest(nums):\n    a = sorted(set(nums))\n    return a[-2]\n```",
        "9002": "```python\ndef is_Palin(s):\n    t = s.casefold()\n    return t == t[::-1]\n\nprint(is_Palin('abc'))\n```",
        # relies on the hidden setup code importing math? no: imports it itself
        "9003": "```python\nimport math\n\ndef circle_area(r):\n    return math.pi * r ** 2\n```",
    }
    bad_answers = {
        "9001": "```python\ndef second_largest(nums):\n    return sorted(nums)[-2]\n```",
        "9002": "```python\ndef is_Palin(s):\n    return s == s[::-1]\n```",
        "9003": "```python\ndef circle_area(r):\n    return 3.14 * r * r\n```",
    }


def test_prompt_has_signature_but_no_asserts() -> None:
    ds = MBPP()
    query = ds.load(FIXTURE)[1]
    content = ds.build_messages(query)[0]["content"]
    assert "`def is_Palin(s):`" in content
    assert "assert" not in content and "router" not in content
    assert query.ground_truth["tests"][1] == 'assert is_Palin("router") == False'


def test_setup_code_runs_before_the_asserts() -> None:
    ds = MBPP()
    query = ds.load(FIXTURE)[2]
    assert query.ground_truth["setup"] == "import math"
    program = ds.build_program("def circle_area(r):\n    return 0\n", query)
    assert program.tests.startswith("import math\nassert")


def test_called_function() -> None:
    assert called_function("assert set(f(3)) == {1}") == "f"
    assert called_function("assert math.isclose(area(2), 4)") == "area"
    assert called_function("not python (") is None


def test_untestable_record_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "mbpp.jsonl"
    path.write_text(json.dumps({"task_id": 1, "text": "t", "code": "x = 1",
                                "test_list": ["assert True"]}) + "\n")
    with pytest.raises(DatasetError, match="cannot find the tested function"):
        MBPP().load(path)


def test_seed_prompt_shows_the_asserts_only_when_asked() -> None:
    from rbench_dataset_mbpp.dataset import MBPP

    query = MBPP().load(FIXTURE)[0]
    hidden = MBPP().build_messages(query)[0]["content"]
    seed = MBPP(prompt="seed").build_messages(query)[0]["content"]
    assert "assert " not in hidden
    assert seed.endswith(query.ground_truth["tests"][-1])
    assert "Your code should pass these tests:\n" + query.ground_truth["tests"][0] in seed


@pytest.mark.parametrize("answer", [
    # an object equal to everything
    "```python\nclass Eq:\n    def __eq__(self, other):\n        return True\n\n"
    "def second_largest(nums):\n    return Eq()\n```",
    # patched asserts and an early exit once called
    "```python\nimport builtins, os\nbuiltins.AssertionError = Exception\n\n"
    "def second_largest(nums, _=os.write(3, b'{\"call\": [\"ok\", [\"I\", \"3\"]]}\\n')):\n"
    "    os._exit(0)\n```",
])
def test_hostile_answers_score_zero(answer: str) -> None:
    from routerbench_core import Response

    ds = MBPP()
    query = ds.load(FIXTURE)[0]
    grade = ds.grade(query, Response(query_key=query.key, model="m", raw_output=answer))
    assert grade.score == 0.0 and grade.details["verdict"] == "decomposed", grade.details
