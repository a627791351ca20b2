"""The test runner that executes inside the sandbox for one LiveCodeBench answer.

It is *data* for the sandbox (its source text is the sandboxed program), never imported by the
grader. It reads ``solution.py`` and ``cases.json`` from the work dir, runs the solution once per
test case with a per-case time limit, and raises ``AssertionError`` naming the first failing
case. Two modes, as in LiveCodeBench: ``stdin`` (a whole program reading standard input) and
``functional`` (a LeetCode ``class Solution`` method called with JSON arguments).
"""

import builtins
import decimal
import io
import json
import signal
import sys
import threading

# LiveCodeBench's runner makes these available to every solution (LeetCode code assumes them).
HEADER = (
    "from typing import *\nfrom collections import *\nfrom functools import *\n"
    "from itertools import *\nfrom heapq import *\nfrom bisect import *\n"
    "import math, string, re, sys, heapq, bisect, itertools, functools, collections, random\n"
)


class CaseTimeout(BaseException):
    """Not an Exception: a solution's ``except Exception`` must not swallow the time limit."""


def _alarm(signum, frame):
    raise CaseTimeout()


def _decimals(line):
    try:
        return [decimal.Decimal(token) for token in line.split()]
    except decimal.InvalidOperation:
        return None


def stdout_matches(got, expected):
    """LiveCodeBench's official rule: the same number of (stripped) lines, each equal as text
    or, token by token, as exact decimals (``1.0`` equals ``1``; ``998244352`` is not
    ``998244353``, and no float tolerance applies)."""
    got_lines = [line.strip() for line in got.strip().split("\n")]
    want_lines = [line.strip() for line in expected.strip().split("\n")]
    if len(got_lines) != len(want_lines):
        return False
    for g, w in zip(got_lines, want_lines, strict=True):
        if g == w:
            continue
        gd, wd = _decimals(g), _decimals(w)
        if gd is None or wd is None or gd != wd:
            return False
    return True


def values_match(got, expected):
    """As the official runner: a returned tuple counts as a list, then plain equality."""
    if isinstance(got, tuple):
        got = list(got)
    return got == expected


def _join_threads():
    """Wait for threads the solution started (the ``threading.Thread(target=main)`` idiom for
    a bigger stack); the per-case alarm still interrupts the wait."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()


def run_stdin(compiled, case):
    data = case["input"].encode("utf-8")
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    out = io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    real_open = builtins.open

    def open_with_stdin(file, mode="r", *args, **kwargs):
        if file == 0:  # open(0).read(): the case input, not the real descriptor
            return io.BytesIO(data) if "b" in mode else io.StringIO(data.decode("utf-8"))
        return real_open(file, mode, *args, **kwargs)

    saved = sys.stdin, sys.stdout
    sys.stdin, sys.stdout = stdin, stdout
    builtins.open = open_with_stdin
    try:
        exec(compiled, {"__name__": "__main__", "__builtins__": builtins})
        _join_threads()
    except SystemExit:
        pass
    finally:
        stdout.flush()
        sys.stdin, sys.stdout = saved
        builtins.open = real_open
    return stdout_matches(out.getvalue().decode("utf-8", "replace"), case["output"])


def run_functional(compiled, case, fn_name):
    namespace = {"__name__": "__solution__"}
    exec(compiled, namespace)
    if "Solution" not in namespace:
        raise AssertionError("the answer defines no class Solution")
    method = getattr(namespace["Solution"](), fn_name, None)
    if method is None:
        raise AssertionError(f"class Solution has no method {fn_name}")
    args = [json.loads(line) for line in case["input"].split("\n") if line.strip()]
    return values_match(method(*args), json.loads(case["output"]))


def main():
    with open("cases.json", encoding="utf-8") as handle:
        spec = json.load(handle)
    with open("solution.py", encoding="utf-8") as handle:
        solution = handle.read()
    compiled = compile(HEADER + solution, "<solution>", "exec")
    per_case = float(spec["per_case_timeout"])
    signal.signal(signal.SIGALRM, _alarm)
    for index, case in enumerate(spec["cases"]):
        signal.setitimer(signal.ITIMER_REAL, per_case)
        try:
            if spec["mode"] == "functional":
                ok = run_functional(compiled, case, spec["fn_name"])
            else:
                ok = run_stdin(compiled, case)
        except CaseTimeout:
            raise AssertionError(f"test {index}: time limit of {per_case:g}s exceeded") from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if not ok:
            raise AssertionError(f"test {index}: wrong answer")


main()
