"""MBPP (Austin et al., 2021): 974 crowd-sourced basic Python problems with three asserts each.

The original MBPP prompt (and LLMRouterBench's) shows the three test asserts; rbench keeps
tests hidden by default, so the model sees the task text and the function signature (name and
parameters, taken from the reference solution) instead — enough to write a function the hidden
asserts can call. ``prompt="seed"`` sends the seed's prompt, tests included. As in the seed,
the answer runs after an import block (``math``, ``re``, ``typing``, ``collections``, ...).

The asserts decide outside the answer's process: they are run against the reference code to
record each call's arguments and expected value; the answer's function is called with those
arguments in the sandbox and its returned values (plain data) are compared by the grader
(``FunctionCheck``, docs/sandbox.md). Tests whose values are not plain data run whole.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from rbench_dataset_mbpp.plugin import CAPABILITIES
from routerbench_core import (
    SEED_IMPORT_PREAMBLE,
    CodeExecDataset,
    DatasetError,
    FunctionCheck,
    HubSource,
    Program,
    Query,
)

#: The seed's prompt (LLMRouterBench, MIT), tests included: selected with ``prompt="seed"``.
SEED_PROMPT = (
    "You are an expert Python programmer, and here is your task:\n{question}\n\n"
    "Your code should pass these tests:\n{tests}"
)

PROMPT = (
    "You are an expert Python programmer. Here is your task:\n\n{question}\n\n"
    "Write a Python function with the signature `{signature}`. Put the complete code in a "
    "single ```python code block."
)

_REVISION = "4bb6404fdc6cacfda99d4ac4205087b89d32030c"


def called_function(test: str) -> str | None:
    """The name of the function an ``assert f(...) == ...`` line calls first."""
    try:
        tree = ast.parse(test)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id not in {"set", "sorted", "len", "abs", "round", "list", "tuple",
                                    "math", "isclose", "str", "int", "float", "frozenset"}:
                return node.func.id
    return None


def signature(code: str, name: str) -> str | None:
    """``def name(params):`` as written in the reference ``code``."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return f"def {name}({ast.unparse(node.args)}):"
    return None


class MBPP(CodeExecDataset, capabilities=CAPABILITIES):
    """MBPP (all 974 items of the full release), zero-shot, hidden asserts in the sandbox."""

    name = "mbpp"
    #: 2: the seed's import block before the answer; code is cut to a parsing prefix only
    #: when the answer hit the token limit
    #: 3: verdicts decided by the grader from the answer's returned values (recorded
    #: reference calls, plain data; docs/sandbox.md)
    grader_version = "3"
    hub_id = "google-research-datasets/mbpp"
    hub_revision = _REVISION
    hub_config = "full"
    hub_sources = tuple(
        HubSource("google-research-datasets/mbpp", _REVISION, split, "full")
        for split in ("train", "test", "validation", "prompt")
    )
    prompt_template = PROMPT
    required_fields = ("task_id", "code", "test_list")
    timeout_s = 10.0

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        text = record.get("text") or record.get("prompt")
        if not text:
            raise DatasetError(f"MBPP record {index} has no task text ('text' or 'prompt')")
        tests = [str(t) for t in record["test_list"]]
        if not tests:
            raise DatasetError(f"MBPP record {index} (task {record['task_id']}) has no tests")
        entry = called_function(tests[0])
        sig = signature(str(record["code"]), entry) if entry else None
        if entry is None or sig is None:
            raise DatasetError(
                f"MBPP task {record['task_id']}: cannot find the tested function in "
                f"{tests[0]!r} and the reference code"
            )
        imports = record.get("test_imports") or []
        setup = "\n".join([*map(str, imports), str(record.get("test_setup_code") or "")]).strip()
        return Query(
            dataset=self.name, id=str(record["task_id"]), text=str(text).strip(),
            ground_truth={"tests": tests, "setup": setup, "reference": str(record["code"])},
            metadata={"entry_point": entry, "signature": sig},
        )

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        return {"question": query.text, "signature": query.metadata["signature"]}

    def build_messages(self, query: Query) -> list[dict[str, Any]]:
        style = self.options.get("prompt", "rbench")
        if style == "seed":
            content = SEED_PROMPT.format(question=query.text,
                                         tests="\n".join(query.ground_truth["tests"])).strip()
            return [{"role": "user", "content": content}]
        if style != "rbench":
            raise DatasetError(f"mbpp: unknown prompt {style!r}; use rbench or seed")
        return super().build_messages(query)

    def entry_point(self, query: Query) -> str | None:
        return str(query.metadata["entry_point"])

    def build_program(self, code: str, query: Query) -> Program:
        """Whole mode: the answer, the setup and the asserts in one process."""
        setup = query.ground_truth.get("setup") or ""
        tests = "\n".join([setup, *query.ground_truth["tests"]]).strip() + "\n"
        return Program(code=SEED_IMPORT_PREAMBLE + code, tests=tests, limits=self.limits())

    def build_check(self, code: str, query: Query) -> FunctionCheck:
        return FunctionCheck(
            code=SEED_IMPORT_PREAMBLE + code, entry=str(query.metadata["entry_point"]),
            reference=str(query.ground_truth["reference"]),
            test="\n".join(query.ground_truth["tests"]) + "\n", driver="script",
            test_setup=str(query.ground_truth.get("setup") or ""),
            fallback=self.build_program(code, query), limits=self.limits(),
        )
