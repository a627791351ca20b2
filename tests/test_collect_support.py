"""Shared pieces of the collector tests: a tiny real dataset plugin and an ``rbench`` runner.

Not a test module itself (it holds no tests); the collector tests import it by path, and the
kill-and-resume test runs it as a script (``python test_collect_support.py collect ...``) so a
real ``rbench`` process with this dataset plugin can be killed mid-run.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from routerbench_core import hookimpl
from routerbench_core.schema import Grade, Query, Response
from routerbench_core.scoring.datasets import Dataset

HERE = Path(__file__).resolve()


class ToyAdd(Dataset):
    """Questions "q<i>: what is i + i?"; the answer is correct when it contains 2i."""

    name = "toyadd"
    category = "math"
    size = 10_000
    grader_version = "1"

    def load(self, data_file: Path | None = None, *, limit: int | None = None) -> list[Query]:
        n = int(self.options.get("n", 20))
        if limit is not None:
            n = min(n, limit)
        split = self.options.get("split")
        return [Query(dataset=self.name, id=str(i), text=f"q{i}: what is {i} + {i}?",
                      ground_truth=2 * i, source_split=split) for i in range(n)]

    def build_messages(self, query: Query) -> list[dict[str, Any]]:
        return [{"role": "system", "content": "Answer with a number."},
                {"role": "user", "content": query.text}]

    def grade(self, query: Query, response: Response, **context: Any) -> Grade:
        time.sleep(float(self.options.get("grade_delay", 0)))  # a slow grader, to interrupt
        numbers = re.findall(r"-?\d+", (response.raw_output or "").split(":")[-1])
        prediction = numbers[-1] if numbers else None
        score = float(prediction is not None and int(prediction) == query.ground_truth)
        return self.make_grade(query, response, score, prediction)


def toy_reply(body: dict[str, Any]) -> str:
    """The loopback server's model: right for even i, off by one for odd i."""
    text = body["messages"][-1]["content"]
    i = int(re.match(r"q(\d+):", text).group(1))  # type: ignore[union-attr]
    return f"q{i}: {2 * i if i % 2 == 0 else 2 * i + 1}"


@hookimpl
def register_datasets(register: Any) -> None:
    register("toyadd", ToyAdd, "toy additions for collector tests",
             capabilities={"category": "math", "size": 10_000})


# a module object, as an installed plugin's entry point is (pluggy keys plugins by identity)
TOY_PLUGIN = ModuleType("toyadd-test-plugin")
TOY_PLUGIN.register_datasets = register_datasets  # type: ignore[attr-defined]


def load_support() -> ModuleType:
    """This module, importable from tests run with ``--import-mode=importlib``."""
    name = "rbench_test_collect_support"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def make_host() -> Any:
    import rbench_backend_openai.plugin as openai_plugin

    from routerbench_core.plugins.manager import make_plugin_manager

    return make_plugin_manager(load_entrypoints=False,
                               extra_plugins=[openai_plugin, load_support().TOY_PLUGIN])


def run_cli(argv: list[str]) -> None:
    """The real ``rbench`` CLI, with the toy dataset plugin installed."""
    from routerbench_core.commands.app import State, build_app

    host = make_host()
    try:
        build_app(host)(args=argv, obj=State(host=host), prog_name="rbench")
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise


if __name__ == "__main__":
    run_cli(sys.argv[1:])
