"""LiveCodeBench code generation (Jain et al., 2024): contest problems from LeetCode, AtCoder and
Codeforces, released in dated batches to avoid contamination. ``release_v6`` holds 1055.

Problems come in two kinds: a whole program reading standard input, or a LeetCode
``class Solution`` method (the ``starter_code`` shows its signature). Public examples appear in
the statement; the private tests stay hidden. pass@1 = every public and private test passes,
each within its per-case time limit (LiveCodeBench's 6 s).

Verdicts are decided by the grader, never in the answer's process: the sandboxed job receives
only the test *inputs* and returns what the program printed (``StdioCheck``) or what the
method returned as plain data (``CallCheck``); the expected outputs stay on the trusted side,
which compares them (:func:`stdout_matches`, :func:`values_match`).
"""

from __future__ import annotations

import base64
import decimal
import io
import json
import pickle
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rbench_dataset_livecodebench.plugin import CAPABILITIES
from routerbench_core import (
    CallCheck,
    CodeExecDataset,
    DatasetError,
    Query,
    StdioCheck,
    extract_code,
    read_records,
    sanitize_code,
)

#: The prompt of LiveCodeBench's official runner, as the seed sends it: one user message.
INSTRUCTION = (
    "You are an expert Python programmer. You will be given a question (problem "
    "specification) and will generate a correct Python program that matches the specification "
    "and passes all tests."
)
STDIN_FORMAT = (
    "Read the inputs from stdin solve the problem and write the answer to stdout (do not "
    "directly test on the sample inputs). Enclose your code within delimiters as follows. "
    "Ensure that when the python program runs, it reads the inputs, runs the algorithm and "
    "writes output to STDOUT.\n```python\n# YOUR CODE HERE\n```"
)
STARTER_FORMAT = (
    "You will use the following starter code to write the solution to the problem and enclose "
    "your code within delimiters.\n```python\n{starter_code}\n```"
)
PROMPT = (
    INSTRUCTION + "\n### Question:\n{question}\n\n### Format: {format}\n\n"
    "### Answer: (use the provided format with backticks)\n\n"
)

#: Files of each release (the repository adds one file per release).
RELEASE_FILES = {
    f"release_v{n}": ["test.jsonl", *[f"test{i}.jsonl" for i in range(2, n + 1)]]
    for n in range(1, 7)
}
#: LiveCodeBench's runner makes these available to every solution (LeetCode code assumes them).
HEADER = (
    "from typing import *\nfrom collections import *\nfrom functools import *\n"
    "from itertools import *\nfrom heapq import *\nfrom bisect import *\n"
    "import math, string, re, sys, heapq, bisect, itertools, functools, collections, random\n"
)


def _decimals(line: str) -> list[decimal.Decimal] | None:
    try:
        return [decimal.Decimal(token) for token in line.split()]
    except decimal.InvalidOperation:
        return None


def stdout_matches(got: str, expected: str) -> bool:
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


def values_match(got: Any, expected: Any) -> bool:
    """As the official runner: a returned tuple counts as a list, then plain equality. ``got``
    is plain data rebuilt by the grader's strict decoder, so ``==`` is the builtin one."""
    if isinstance(got, tuple):
        got = list(got)
    return bool(got == expected)


class _NoObjects(pickle.Unpickler):
    """Private tests are a pickled JSON *string*; refuse anything that would build objects."""

    def find_class(self, module: str, name: str) -> Any:
        raise DatasetError(f"private_test_cases pickle refers to {module}.{name}; refusing it")


def decode_tests(raw: Any) -> list[dict[str, Any]]:
    """Test cases stored as a JSON list, a JSON string, or base64(zlib(pickle(JSON string)))."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, list):
        return [dict(c) for c in raw]
    text = str(raw).strip()
    if not text.startswith("["):
        try:
            data = zlib.decompress(base64.b64decode(text))
            text = _NoObjects(io.BytesIO(data)).load()
        except (ValueError, zlib.error, pickle.UnpicklingError, EOFError) as exc:
            raise DatasetError(f"cannot decode test cases ({type(exc).__name__}: {exc})") from exc
        if not isinstance(text, str):
            raise DatasetError("decoded test cases are not a JSON string")
    cases = json.loads(text)
    if not isinstance(cases, list):
        raise DatasetError("test cases must decode to a list")
    return cases


class LiveCodeBench(CodeExecDataset, capabilities=CAPABILITIES):
    """LiveCodeBench code generation (lite), zero-shot, hidden private tests in the sandbox.

    Options: ``version`` (default ``release_v6``), ``per_case_timeout_s`` (6), ``max_timeout_s``
    (total cap per answer, 180), ``memory_mb``, ``workers``.
    """

    name = "livecodebench"
    #: 2: outputs compared exactly as the official runner (was: float tolerance); unfinished
    #: code is cut only when the answer hit the token limit; the official one-message prompt.
    #: 3: verdicts decided by the grader from the printed/returned values (docs/sandbox.md);
    #: the answer's process never sees the expected outputs.
    grader_version = "3"
    hub_id = "livecodebench/code_generation_lite"
    #: a commit holding test.jsonl … test6.jsonl, the one several public evaluation projects
    #: pin (with test6.jsonl's sha256); not checked against the hub from here (README)
    hub_revision = "0fe84c3912ea0c4d4a78037083943e8f0c4dd505"
    prompt_template = PROMPT
    required_fields = ("question_id", "question_content", "public_test_cases")

    def read_source_records(self, data_file: Path | None) -> list[dict[str, Any]]:
        if data_file is not None:
            return read_records(data_file)
        version = str(self.options.get("version", "release_v6"))
        if version not in RELEASE_FILES:
            raise DatasetError(f"unknown LiveCodeBench version {version!r}; use {sorted(RELEASE_FILES)}")
        revision = self.options.get("revision") or self.hub_revision or "main"
        try:
            import datasets as hf_datasets
        except ImportError:
            raise DatasetError(
                "livecodebench has no local file and the `datasets` library is not installed: "
                "pass --data-file PATH (the release's test*.jsonl) or `pip install -c "
                "constraints.txt datasets`"
            ) from None
        files = [f"hf://datasets/{self.hub_id}@{revision}/{f}" for f in RELEASE_FILES[version]]
        try:
            table = hf_datasets.load_dataset("json", data_files=files, split="train")
        except Exception as exc:
            raise DatasetError(
                f"cannot load {self.hub_id} {version} at {revision}: {type(exc).__name__}: {exc}; "
                "pass --data-file PATH"
            ) from exc
        return [dict(row) for row in table]

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        public = decode_tests(record["public_test_cases"])
        private = decode_tests(record.get("private_test_cases"))
        meta = record.get("metadata") or {}
        if isinstance(meta, str):
            meta = json.loads(meta) if meta.strip() else {}
        fn_name = meta.get("func_name")
        kinds = {case.get("testtype", "stdin") for case in public + private}
        mode = "functional" if "functional" in kinds else "stdin"
        if mode == "functional" and not fn_name:
            raise DatasetError(f"functional problem {record['question_id']} has no func_name")
        return Query(
            dataset=self.name, id=str(record["question_id"]),
            text=str(record["question_content"]).strip(),
            ground_truth={"tests": private},
            metadata={
                "title": record.get("question_title"), "platform": record.get("platform"),
                "contest_date": str(record.get("contest_date") or "") or None,
                "difficulty": record.get("difficulty"),
                "starter_code": record.get("starter_code") or "", "fn_name": fn_name,
                "mode": mode, "public_tests": public,
            },
        )

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        starter = query.metadata.get("starter_code") or ""
        fmt = STARTER_FORMAT.format(starter_code=starter.rstrip()) if starter else STDIN_FORMAT
        return {"question": query.text, "format": fmt}

    def extract(self, output: str, query: Query, *, truncated: bool = False) -> Any:
        code = extract_code(output, truncated=truncated)
        if code is None or not code.strip():
            return None
        if query.metadata["mode"] == "functional":
            return sanitize_code(code, truncated=truncated)  # keep the class; drop demo calls
        return code  # a stdin program's top-level code *is* the solution

    def build_check(self, code: str, query: Query) -> StdioCheck | CallCheck:
        cases = list(query.metadata["public_tests"]) + list(query.ground_truth["tests"])
        per_case = float(self.options.get("per_case_timeout_s", 6.0))
        total = min(float(self.options.get("max_timeout_s", 180.0)), per_case * len(cases) + 5)
        limits = self.limits(timeout_s=total)
        if query.metadata["mode"] == "functional":
            parsed = [([json.loads(line) for line in c["input"].split("\n") if line.strip()],
                       json.loads(c["output"])) for c in cases]
            return CallCheck(code=HEADER + code, entry=str(query.metadata["fn_name"]),
                             cases=parsed, compare=values_match, style="method",
                             per_case_timeout=per_case, limits=limits)
        return StdioCheck(code=HEADER + code, cases=[(c["input"], c["output"]) for c in cases],
                          compare=stdout_matches, per_case_timeout=per_case, limits=limits)
