"""Verdicts decided in the grader: recorded reference values, replayed asserts, whole mode."""

from __future__ import annotations

import shutil
import sys

import pytest

from routerbench_core.scoring.sandbox import Program, SandboxLimits, shared_sandbox
from routerbench_core.scoring.verdicts import CallCheck, FunctionCheck, StdioCheck, Verifier

pytestmark = pytest.mark.skipif(sys.platform != "linux" or shutil.which("bwrap") is None,
                                reason="needs Linux with bubblewrap (apt-get install bubblewrap)")

HALF = "def half(x):\n    return x / 2\n"
TOLERANT = "def check(candidate):\n    assert abs(candidate(1) - 0.5) < 1e-6\n    assert candidate(4) == 2\n"


@pytest.fixture
def verifier() -> Verifier:
    return Verifier(shared_sandbox(2))


def _check(code: str, **kw) -> FunctionCheck:
    base = {"entry": "half", "reference": HALF, "test": TOLERANT, "driver": "check"}
    base.update(kw)
    return FunctionCheck(code=code, **base)


def test_equal_values_pass_and_wrong_values_fail(verifier: Verifier) -> None:
    assert verifier.check(_check(HALF)).passed
    wrong = verifier.check(_check("def half(x):\n    return x\n"))
    assert not wrong.passed and wrong.mode == "decomposed"
    assert wrong.reason.startswith("AssertionError")


def test_different_values_are_judged_by_the_tests_own_asserts(verifier: Verifier) -> None:
    close = verifier.check(_check("def half(x):\n    return x / 2 + (1e-9 if x == 1 else 0)\n"))
    assert close.passed  # replayed on plain values: abs(0.500000001 - 0.5) < 1e-6
    # the second assert is exact: a value off by 1e-9 there fails
    off = verifier.check(_check("def half(x):\n    return x / 2 + (1e-9 if x == 4 else 0)\n"))
    assert not off.passed


def test_call_sequence_depending_on_results_fails_with_the_reason(verifier: Verifier) -> None:
    test = "def check(candidate):\n    y = candidate(8)\n    assert candidate(y) == 2\n"
    assert verifier.check(_check(HALF, test=test)).passed
    other = verifier.check(_check("def half(x):\n    return 3\n", test=test))
    assert not other.passed and "depend on the answer's earlier results" in other.reason


def test_objects_in_the_test_fall_back_to_whole_mode(verifier: Verifier) -> None:
    reference = "class Box:\n    def __init__(self, v):\n        self.v = v\n\ndef half(x):\n    return Box(x / 2)\n"
    test = "def check(candidate):\n    assert candidate(4).v == 2\n"
    answer = reference
    fallback = Program(code=answer, tests=test + "check(half)\n")
    verdict = verifier.check(_check(answer, reference=reference, test=test, fallback=fallback))
    assert verdict.passed and verdict.mode == "whole" and "not plain data" in verdict.execution["note"]


def test_a_reference_that_never_ends_is_left_out_of_a_batch(verifier: Verifier) -> None:
    hang = "def half(x):\n    while True:\n        pass\n"
    specs = [_check(HALF, limits=SandboxLimits(timeout_s=1)),
             _check(HALF, reference=hang, limits=SandboxLimits(timeout_s=1))]
    verifier.prefetch(specs, workers=1)
    assert len(verifier._records) == 1  # the hanging one is recorded alone later
    verdicts = dict(verifier.check_stream(specs, workers=2))
    assert verdicts[0].passed
    assert not verdicts[1].passed and "timeout" in (verdicts[1].reason or "")


def test_stdio_and_call_checks_compare_in_the_grader(verifier: Verifier) -> None:
    echo = "print(int(input()) * 2)\n"
    same = lambda got, want: got.strip() == want.strip()  # noqa: E731
    assert verifier.check(StdioCheck(echo, [("2", "4"), ("5", "10")], same)).passed
    bad = verifier.check(StdioCheck(echo, [("2", "4"), ("5", "11")], same))
    assert not bad.passed and bad.reason == "test 1: wrong answer"
    method = "class Solution:\n    def f(self, a, b):\n        return [a, b]\n"
    eq = lambda got, want: got == want  # noqa: E731
    assert verifier.check(CallCheck(method, "f", [([1, 2], [1, 2])], eq, style="method")).passed
    assert not verifier.check(CallCheck(method, "f", [([1, 2], [2, 1])], eq, style="method")).passed
