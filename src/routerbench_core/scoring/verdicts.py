"""Verdicts on code answers, decided in the grader from plain data, never inside the sandbox.

Why: anything in the answer's process can be forged by the answer (an early ``exit(0)``, a
patched ``assert``, a rewritten harness, a secret read from a stack frame, an object whose
``__eq__`` is always true). So the answer's process only ever *returns values*; the pass/fail
decision is made here, by trusted code, on values rebuilt by a strict decoder that makes only
builtin types (:func:`routerbench_core.scoring._sandbox_child.decode`).

Three decomposed checks, and the whole mode:

- :class:`FunctionCheck` (HumanEval, MBPP): the item's own test is first run in a separate
  sandboxed job against the *reference* solution, recording every call (arguments and the
  reference's return value; cached per item). The answer's job receives only the recorded
  arguments and returns what its function gives for each. If every value equals the recorded
  one, the answer passes (the reference passed the same test with the same values). Otherwise
  the test is run again in another job with the tested function replaced by a replayer that
  returns the answer's values: the test's own asserts (tolerances, ``set(...) ==``) decide, on
  plain data. Expected values never enter the answer's job.
- :class:`StdioCheck` (stdin/stdout programs): the answer's job returns what it printed per
  input; outputs are compared here.
- :class:`CallCheck` (LeetCode-style methods with known expected values): the job returns the
  values, compared here.
- A :class:`~routerbench_core.scoring.sandbox.Program` (whole mode) when a test cannot be
  decomposed (its values are not plain data, the reference fails it, no reference exists):
  still isolated, but the pass is the end marker of a process the answer shares
  (docs/sandbox.md says what that mode cannot rule out).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal

from routerbench_core.scoring._sandbox_child import CodecError, decode, encode
from routerbench_core.scoring.sandbox import (
    ExecResult,
    Program,
    Sandbox,
    SandboxError,
    SandboxLimits,
)

__all__ = ["CallCheck", "Check", "FunctionCheck", "StdioCheck", "Verdict", "Verifier"]


@dataclass(frozen=True)
class FunctionCheck:
    """An answer's function against an assert-style test, decided by recorded values.

    :param code: the answer's code (with any trusted preamble the prompt gave).
    :param entry: the tested function's name.
    :param reference: trusted code defining ``entry`` correctly (the reference solution).
    :param test: the trusted test. ``driver="check"``: it defines ``check(candidate)``
        (HumanEval); ``driver="script"``: assert lines calling ``entry`` by name (MBPP).
    :param test_setup: trusted code run before the test, in its namespace (helpers, imports).
    :param fallback: the whole-mode program used when the test cannot be decomposed.
    """

    code: str
    entry: str
    reference: str
    test: str
    driver: Literal["check", "script"] = "check"
    test_setup: str = ""
    fallback: Program | None = None
    limits: SandboxLimits | None = None


@dataclass(frozen=True)
class StdioCheck:
    """A stdin/stdout program: per input, the printed output must match (``compare``)."""

    code: str
    cases: Sequence[tuple[str, str]]
    compare: Callable[[str, str], bool]
    per_case_timeout: float | None = None
    limits: SandboxLimits | None = None


@dataclass(frozen=True)
class CallCheck:
    """A function (``style="function"``) or ``Solution`` method (``"method"``) called with
    known arguments; each returned value must match its expected value (``compare``)."""

    code: str
    entry: str
    cases: Sequence[tuple[Sequence[Any], Any]]
    compare: Callable[[Any, Any], bool]
    style: Literal["function", "method"] = "function"
    per_case_timeout: float | None = None
    limits: SandboxLimits | None = None


Check = FunctionCheck | StdioCheck | CallCheck | Program


@dataclass
class Verdict:
    """The trusted decision on one answer."""

    passed: bool
    mode: Literal["decomposed", "whole"]
    reason: str | None = None
    execution: dict[str, Any] = field(default_factory=dict)

    def details(self) -> dict[str, Any]:
        return {"verdict": self.mode, "reason": self.reason, "execution": self.execution}


def _lines(result: ExecResult) -> list[dict[str, Any]]:
    """The job's result lines as JSON objects (hostile input: anything else is dropped)."""
    out = []
    for line in result.lines:
        try:
            obj = json.loads(line, parse_constant=lambda name: None)
        except (ValueError, RecursionError):
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def _wire(value: Any) -> Any:
    return json.loads(json.dumps(value))


class Verifier:
    """Runs checks in a :class:`Sandbox` and decides verdicts; caches recorded references."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._records: dict[tuple[str, ...], list[Any] | str] = {}
        self._locks: dict[tuple[str, ...], threading.Lock] = {}
        self._guard = threading.Lock()

    # -- one check -----------------------------------------------------------------------

    def check(self, spec: Check) -> Verdict:
        if isinstance(spec, FunctionCheck):
            return self._function(spec)
        if isinstance(spec, StdioCheck):
            return self._stdio(spec)
        if isinstance(spec, CallCheck):
            return self._calls(spec)
        if isinstance(spec, Program):
            return self._whole(spec, None)
        raise TypeError(f"not a check: {type(spec).__name__}")

    def check_stream(self, specs: Sequence[Check], *, workers: int = 1
                     ) -> Iterator[tuple[int, Verdict | Exception]]:
        """``(index, verdict)`` as each check finishes (an infrastructure error comes back as
        the exception, for that index)."""
        count = max(1, min(workers, len(specs)))
        try:
            self.prefetch(specs, workers=count)
        except SandboxError:
            raise
        except Exception:  # noqa: BLE001, S110 - an optimisation: items are recorded alone then
            pass
        if count == 1:
            for i, spec in enumerate(specs):
                yield i, self._safe(spec)
            return
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="rbench-verify") as pool:
            pending: dict[Future[Verdict | Exception], int] = {}
            queue = iter(enumerate(specs))
            for i, spec in queue:
                pending[pool.submit(self._safe, spec)] = i
                if len(pending) >= 2 * count:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    yield index, future.result()
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending[pool.submit(self._safe, nxt[1])] = nxt[0]

    #: References recorded per job by :meth:`prefetch` (one fork for many trusted runs).
    RECORD_BATCH = 16

    def prefetch(self, specs: Sequence[Check], *, workers: int = 1) -> None:
        """Record the references of many :class:`FunctionCheck` items in a few batched jobs
        (trusted code only). Items a batch could not record are recorded one by one later."""
        todo: dict[tuple[str, ...], FunctionCheck] = {}
        for spec in specs:
            if isinstance(spec, FunctionCheck):
                key = self._key(spec)
                if key not in self._records:
                    todo.setdefault(key, spec)
        batches = [list(todo.values())[i : i + self.RECORD_BATCH]
                   for i in range(0, len(todo), self.RECORD_BATCH)]
        if batches:
            self.sandbox.map(self._record_batch, batches, workers=workers)

    def _record_batch(self, specs: list[FunctionCheck]) -> None:
        per_item = max((s.limits or self.sandbox.limits).timeout_s for s in specs)
        limits = SandboxLimits(timeout_s=per_item * len(specs) + 5,
                               memory_mb=max((s.limits or self.sandbox.limits).memory_mb
                                             for s in specs))
        result = self.sandbox.job("record_many", {
            "items": [self._record_payload(s) for s in specs], "per_item_timeout": per_item},
            limits)
        for line in _lines(result):
            index = line.get("index")
            if isinstance(index, int) and 0 <= index < len(specs):
                record = self._parse_record(line)
                with self._guard:
                    self._records.setdefault(self._key(specs[index]), record)

    @staticmethod
    def _key(spec: FunctionCheck) -> tuple[str, ...]:
        return (spec.reference, spec.test, spec.test_setup, spec.entry, spec.driver)

    @staticmethod
    def _record_payload(spec: FunctionCheck) -> dict[str, Any]:
        return {"reference": spec.reference, "test": spec.test, "test_setup": spec.test_setup,
                "entry": spec.entry, "driver": spec.driver}

    @staticmethod
    def _parse_record(line: dict[str, Any]) -> list[Any] | str:
        if not line.get("decomposable"):
            return str(line.get("reason"))
        try:
            calls = [[_wire(encode(decode(part))) for part in call]
                     for call in line.get("calls") or []]
            if any(len(call) != 3 for call in calls):
                raise ValueError("malformed recorded call")
        except (CodecError, ValueError, TypeError, RecursionError) as exc:
            return f"recorded values are not plain data: {exc}"
        return calls if calls else "the test never calls the function"

    def _safe(self, spec: Check) -> Verdict | Exception:
        try:
            return self.check(spec)
        except Exception as exc:  # noqa: BLE001 - handed to the caller for that item
            return exc

    # -- function tests ------------------------------------------------------------------

    def _record(self, spec: FunctionCheck) -> list[Any] | str:
        """Recorded calls ``[[args, kwargs, result], ...]`` or the reason they cannot be."""
        key = self._key(spec)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key in self._records:
                return self._records[key]
            result = self.sandbox.job("record", self._record_payload(spec), spec.limits)
            lines = _lines(result)
            if result.status != "completed" or not lines:
                record: list[Any] | str = (f"the reference run ended with {result.status}: "
                                           f"{result.error}")
            else:
                record = self._parse_record(lines[0])
            with self._guard:
                self._records[key] = record
            return record

    def _function(self, spec: FunctionCheck) -> Verdict:
        record = self._record(spec)
        if isinstance(record, str):
            return self._whole(spec.fallback, record)
        result = self.sandbox.job("calls", {
            "code": spec.code, "entry": spec.entry, "style": "function",
            "calls": [[args, kwargs] for args, kwargs, _ in record]}, spec.limits)
        execution = result.summary()
        outcomes = self._outcomes(result, len(record))
        if isinstance(outcomes, str):
            return Verdict(False, "decomposed", outcomes, execution)
        if all(o[0] == "ok" and o[1] == want for o, (_, _, want) in zip(outcomes, record,
                                                                          strict=True)):
            return Verdict(True, "decomposed", None, execution)
        answers = [[args, kwargs, o] for o, (args, kwargs, _) in zip(outcomes, record, strict=True)]
        replay = self.sandbox.job("replay", {
            "test": spec.test, "test_setup": spec.test_setup, "entry": spec.entry,
            "driver": spec.driver, "answers": answers}, spec.limits)
        lines = _lines(replay)
        if replay.status == "completed" and lines and lines[0].get("passed") is True:
            return Verdict(True, "decomposed", None, execution)
        reason = (str(lines[0].get("error")) if lines else
                  f"the test's replay ended with {replay.status}: {replay.error}")
        return Verdict(False, "decomposed", reason, execution)

    @staticmethod
    def _outcomes(result: ExecResult, expected: int) -> list[list[Any]] | str:
        """The answer's per-call outcomes, re-encoded by trusted code; or why there are none."""
        lines = _lines(result)
        if lines and "error" in lines[0]:
            return str(lines[0]["error"])[:300]
        outcomes: list[list[Any]] = []
        for line in lines:
            outcome = line.get("call")
            if not isinstance(outcome, list) or not outcome or not isinstance(outcome[0], str):
                return "malformed result from the answer's process"
            if outcome[0] == "ok":
                if len(outcome) != 2:
                    return "malformed result from the answer's process"
                try:
                    outcomes.append(["ok", _wire(encode(decode(outcome[1])))])
                except (CodecError, RecursionError) as exc:
                    return f"the answer returned something that is not plain data ({exc})"
            else:
                outcomes.append([str(outcome[0])[:20], *[str(x)[:200] for x in outcome[1:3]]])
        if len(outcomes) != expected:
            how = result.error or f"ended with {result.status}"
            return (f"the answer's process stopped after {len(outcomes)} of {expected} calls "
                    f"({how})")
        return outcomes

    # -- stdin/stdout and known-value calls ---------------------------------------------

    def _stdio(self, spec: StdioCheck) -> Verdict:
        result = self.sandbox.job("stdio", {
            "code": spec.code, "inputs": [i for i, _ in spec.cases],
            "per_case_timeout": spec.per_case_timeout}, spec.limits)
        execution = result.summary()
        lines = _lines(result)
        for index, (_, expected) in enumerate(spec.cases):
            if index >= len(lines):
                how = result.error or f"ended with {result.status}"
                return Verdict(False, "decomposed", f"test {index}: no output ({how})", execution)
            line = lines[index]
            if line.get("case") == "timeout":
                return Verdict(False, "decomposed", f"test {index}: time limit of "
                               f"{spec.per_case_timeout:g}s exceeded", execution)
            if line.get("case") != "ok":
                return Verdict(False, "decomposed", f"test {index}: {line.get('case')}"[:200],
                               execution)
            printed = line.get("stdout")
            if not isinstance(printed, str) or not spec.compare(printed, expected):
                return Verdict(False, "decomposed", f"test {index}: wrong answer", execution)
        return Verdict(True, "decomposed", None, execution)

    def _calls(self, spec: CallCheck) -> Verdict:
        try:
            calls = [[_wire(encode(tuple(args))), ["D", []]] for args, _ in spec.cases]
        except CodecError as exc:
            raise ValueError(f"a test case's arguments are not plain data: {exc}") from exc
        result = self.sandbox.job("calls", {
            "code": spec.code, "entry": spec.entry, "style": spec.style, "calls": calls,
            "per_case_timeout": spec.per_case_timeout}, spec.limits)
        execution = result.summary()
        outcomes = self._outcomes(result, len(spec.cases))
        if isinstance(outcomes, str):
            return Verdict(False, "decomposed", outcomes, execution)
        for index, (outcome, (_, expected)) in enumerate(zip(outcomes, spec.cases, strict=True)):
            if outcome[0] == "timeout":
                return Verdict(False, "decomposed", f"test {index}: time limit of "
                               f"{spec.per_case_timeout:g}s exceeded", execution)
            if outcome[0] != "ok":
                return Verdict(False, "decomposed", f"test {index}: {' '.join(outcome)}"[:200],
                               execution)
            if not spec.compare(decode(outcome[1]), expected):
                return Verdict(False, "decomposed", f"test {index}: wrong answer", execution)
        return Verdict(True, "decomposed", None, execution)

    # -- whole mode ----------------------------------------------------------------------

    def _whole(self, program: Program | None, why: str | None) -> Verdict:
        if program is None:
            return Verdict(False, "whole", f"the test cannot be decomposed ({why}) and no "
                           "whole-program check was given")
        result = self.sandbox.run(program)
        note = f"whole mode ({why})" if why else "whole mode"
        return Verdict(result.passed, "whole", None if result.passed else result.error,
                       {**result.summary(), "note": note})
