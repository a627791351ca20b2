"""Hard limits for scorers: a call that runs too long is killed with its worker process."""

from __future__ import annotations

import time

import pytest

from routerbench_core.scoring.bounded import ScorerTimeout, bounded_call, time_limited


def test_a_call_past_its_limit_is_killed_and_the_next_one_works() -> None:
    start = time.monotonic()
    with pytest.raises(ScorerTimeout, match="within 0.5s"):
        bounded_call("time:sleep", (30,), timeout_s=0.5)
    assert time.monotonic() - start < 5
    assert bounded_call("math:factorial", (10,), timeout_s=5) == 3628800


def test_errors_and_memory_come_back_as_exceptions() -> None:
    with pytest.raises(RuntimeError, match="ValueError"):
        bounded_call("math:sqrt", (-1,), timeout_s=5)
    with pytest.raises(MemoryError):
        bounded_call("builtins:bytearray", (8 * 1024 ** 3,), timeout_s=10)


def test_time_limited_returns_the_fallback() -> None:
    sleepy = time_limited("time:sleep", time.sleep, timeout_s=0.3, on_timeout="gave up")
    assert sleepy(30) == "gave up"
