"""Keep the hook reference honest (after datasette): every hookspec is documented with its
exact signature, and every hook has a test named after it."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from routerbench_core.plugins import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = [
    name for name, fn in vars(hookspecs).items()
    if name.startswith("register_") and inspect.isfunction(fn)
]


def test_there_are_hooks() -> None:
    assert set(HOOKS) == {
        "register_backends", "register_datasets", "register_routers", "register_embedders",
        "register_importers", "register_commands",
    }


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_its_signature(hook: str) -> None:
    docs = (ROOT / "docs" / "hooks.md").read_text()
    assert f"## {hook}\n" in docs, f"docs/hooks.md has no section for {hook}"
    fn = getattr(hookspecs, hook)
    params = ", ".join(
        f"{p.name}: {p.annotation}" for p in inspect.signature(fn).parameters.values()
    )
    signature = f"def {hook}({params}) -> None"
    assert signature in docs, f"docs/hooks.md must show `{signature}`"
    assert fn.__doc__ and ":param" in fn.__doc__, f"{hook} needs a :param docstring"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test_named_after_it(hook: str) -> None:
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    assert re.search(rf"def test_hook_{hook}\w*\(", sources), f"no test_hook_{hook}* test"
