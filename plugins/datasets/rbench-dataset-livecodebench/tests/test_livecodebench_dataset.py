"""LiveCodeBench: stdin and functional problems, encoded private tests, per-case timeouts."""

from __future__ import annotations

import base64
import pickle
import zlib
from pathlib import Path, PurePosixPath

import pytest
from rbench_dataset_livecodebench.dataset import LiveCodeBench, decode_tests

from routerbench_core import DatasetError, Response
from routerbench_core.testing.datasets import DatasetConformance

FIXTURE = Path(__file__).parent / "fixtures" / "livecodebench.jsonl"

SUM_OK = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
SUM_BUFFER = "```python\nimport sys\nprint(sum(map(int, sys.stdin.buffer.read().split())))\n```"
EVEN_OK = (
    "```python\nclass Solution:\n    def countEvenDigits(self, num: int) -> int:\n"
    "        return sum(int(d) % 2 == 0 for d in str(num))\n\n"
    "print(Solution().countEvenDigits(2468))\n```"
)
REVERSE_OK = "```python\nprint(*reversed(open(0).read().split()))\n```"


class TestLiveCodeBenchConformance(DatasetConformance):
    dataset_name = "livecodebench"
    fixture = FIXTURE
    good_answers = {"rbench_abc001_a": SUM_OK, "9901": EVEN_OK, "rbench_cf_9001": REVERSE_OK}
    bad_answers = {
        # right on the public sample, wrong on the hidden ones
        "rbench_abc001_a": "```python\ninput()\nprint(5)\n```",
        "9901": "```python\nclass Solution:\n    def countEvenDigits(self, num):\n        return len(str(num))\n```",
        "rbench_cf_9001": "```python\nprint('models pick routers')\n```",
    }


def _grade(ds: LiveCodeBench, qid: str, text: str) -> dict:
    query = next(q for q in ds.load(FIXTURE) if q.id == qid)
    grade = ds.grade(query, Response(query_key=query.key, model="m", raw_output=text))
    return {"score": grade.score, "reason": grade.details.get("reason"),
            **grade.details.get("execution", {})}


def test_private_tests_are_decoded_and_hidden() -> None:
    ds = LiveCodeBench()
    atcoder, leetcode, _ = ds.load(FIXTURE)
    assert atcoder.metadata["mode"] == "stdin" and len(atcoder.ground_truth["tests"]) == 2
    assert leetcode.metadata["mode"] == "functional"
    assert leetcode.metadata["fn_name"] == "countEvenDigits"
    (user,) = ds.build_messages(leetcode)  # one user message, as the official runner sends
    assert user["role"] == "user" and "class Solution" in user["content"]
    assert user["content"].startswith("You are an expert Python programmer.")
    assert "13579" not in user["content"]  # a private input
    assert "stdin" in ds.build_messages(atcoder)[0]["content"]


def test_stdin_variants_pass() -> None:
    ds = LiveCodeBench()
    assert _grade(ds, "rbench_abc001_a", SUM_BUFFER)["score"] == 1.0
    with_exit = "```python\nimport sys\na, b = map(int, input().split())\nprint(a + b)\nsys.exit(0)\n```"
    assert _grade(ds, "rbench_abc001_a", with_exit)["score"] == 1.0


def test_solution_running_in_a_thread_is_awaited() -> None:
    threaded = (
        "```python\nimport sys, threading\nsys.setrecursionlimit(10**6)\n"
        "threading.stack_size(1 << 26)\n\ndef main():\n"
        "    a, b = map(int, input().split())\n    print(a + b)\n\n"
        "threading.Thread(target=main).start()\n```"
    )
    assert _grade(LiveCodeBench(), "rbench_abc001_a", threaded)["score"] == 1.0


def test_per_case_timeout_fails_fast() -> None:
    ds = LiveCodeBench(per_case_timeout_s=0.5)
    slow = "```python\nimport time\ntry:\n    time.sleep(30)\nexcept Exception:\n    pass\nprint(5)\n```"
    result = _grade(ds, "rbench_abc001_a", slow)
    assert result["score"] == 0.0 and "time limit" in result["reason"]
    assert result["duration_s"] < 5


def test_wrong_answer_names_the_case() -> None:
    result = _grade(LiveCodeBench(), "rbench_cf_9001", "```python\nprint('models pick routers')\n```")
    assert result["score"] == 0.0 and result["reason"] == "test 1: wrong answer"


def test_decode_tests_refuses_objects() -> None:
    blob = base64.b64encode(zlib.compress(pickle.dumps(PurePosixPath("/etc")))).decode()
    with pytest.raises(DatasetError, match="refusing"):
        decode_tests(blob)
    assert decode_tests('[{"input": "1", "output": "2"}]') == [{"input": "1", "output": "2"}]
    assert decode_tests(None) == []


def _modular_problem(tmp_path: Path) -> Path:
    import json

    cases = [{"input": "1\n", "output": "998244353\n", "testtype": "stdin"},
             {"input": "2\n", "output": "0.5 1\n", "testtype": "stdin"}]
    record = {
        "question_title": "Mod", "question_content": "Print the answer.", "platform": "atcoder",
        "question_id": "rbench_mod", "starter_code": "", "metadata": "{}",
        "public_test_cases": json.dumps(cases[:1]), "private_test_cases": json.dumps(cases[1:]),
    }
    path = tmp_path / "mod.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("program", "passes"),
    [
        ("print(998244353 if input() == '1' else '0.5 1')", True),
        # exact decimals, as the official runner: 1.0 is 1, 0.50 is 0.5
        ("print('998244353.0' if input() == '1' else '0.50 1.0')", True),
        # an off-by-one large integer is wrong (a float tolerance used to accept it)
        ("print(998244352 if input() == '1' else '0.5 1')", False),
        ("print(998244353 if input() == '1' else '0.5000001 1')", False),
        ("print(998244353 if input() == '1' else '0.5\\n1')", False),  # line count differs
    ],
)
def test_outputs_compare_exactly_as_the_official_runner(
    tmp_path: Path, program: str, passes: bool
) -> None:
    ds = LiveCodeBench()
    (query,) = ds.load(_modular_problem(tmp_path))
    grade = ds.grade(query, Response(query_key=query.key, model="m",
                                     raw_output=f"```python\n{program}\n```"))
    assert grade.score == (1.0 if passes else 0.0), grade.details


def test_functional_return_values_compare_exactly() -> None:
    ds = LiveCodeBench()
    tuple_answer = (
        "```python\nclass Solution:\n    def countEvenDigits(self, num: int) -> int:\n"
        "        return sum(int(d) % 2 == 0 for d in str(num)) + 1e-9\n```"
    )
    assert _grade(ds, "9901", tuple_answer)["score"] == 0.0  # 4.000000001 is not 4


FORGE = ('{"case": "ok", "stdout": "4"}\\n' * 8)


@pytest.mark.parametrize("answer", [
    # forged result lines on every descriptor, then an early exit
    "```python\nimport os\nfor fd in range(1, 16):\n    try:\n        os.write(fd, b'" + FORGE
    + "')\n    except OSError:\n        pass\nos._exit(0)\n```",
    # hunting the expected outputs in memory and on disk: they never enter the sandbox
    "```python\nimport gc, os, json\nfound = [o for o in gc.get_objects() if isinstance(o, dict) "
    "and 'output' in o]\nprint(json.dumps(found)[:50], os.listdir('.'))\n```",
])
def test_hostile_stdin_answers_score_zero(answer: str) -> None:
    result = _grade(LiveCodeBench(), "rbench_abc001_a", answer)
    assert result["score"] == 0.0, result
