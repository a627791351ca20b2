"""The layout rules of docs/architecture.md, checked on the code itself.

- the core's root holds the public API and a few shared modules; everything else is a stage
  sub-package with a docstring saying what it holds;
- no stage imports a later one (collect → grade → route → report), not even lazily;
- plugins (ours and the example) import only the public API: ``routerbench_core`` and
  ``routerbench_core.testing``;
- every public name resolves, and importing the API costs no heavy library.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import routerbench_core
import routerbench_core.testing as kit

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "src" / "routerbench_core"

#: pipeline order: a module may import its own stage and earlier ones only
STAGE_LEVEL = {
    "schema": 0, "plugins": 0,
    "data": 1,
    "collection": 2,
    "scoring": 3,
    "embedding": 4,
    "routing": 5,
    "report": 6,
    "serving": 7, "demo": 7,
    "commands": 8,
    "testing": 9, "__main__": 9,
}
HEAVY = ("torch", "sklearn", "openai", "vllm", "sentence_transformers", "matplotlib",
         "pyarrow", "scipy")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every ``routerbench_core...`` module a file imports (module level and inside functions)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "routerbench_core":
                found += [(node.lineno, f"routerbench_core.{a.name}") for a in node.names]
            elif node.module.startswith("routerbench_core."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names
                      if a.name.startswith("routerbench_core")]
    return found


def test_core_root_holds_few_modules_and_documented_stage_packages() -> None:
    modules = sorted(p.name for p in CORE.glob("*.py"))
    assert len(modules) <= 8, modules
    packages = sorted(p.name for p in CORE.iterdir() if (p / "__init__.py").is_file())
    for stage in ("plugins", "data", "collection", "scoring", "embedding", "routing", "report",
                  "commands", "demo", "testing"):
        assert stage in packages
    for name in packages:
        doc = ast.get_docstring(ast.parse((CORE / name / "__init__.py").read_text()))
        assert doc and len(doc) > 40, f"routerbench_core.{name} needs a docstring saying its job"
    assert set(packages) <= set(STAGE_LEVEL), "a new stage package needs a place in the order"


def test_no_stage_imports_a_later_stage() -> None:
    upward = []
    for path in sorted(CORE.rglob("*.py")):
        stage = path.relative_to(CORE).parts[0].removesuffix(".py")
        level = STAGE_LEVEL.get(stage, 0)
        for line, module in imported_modules(path):
            target = module.split(".")[1] if "." in module else ""
            if STAGE_LEVEL.get(target, 0) > level:
                upward.append(f"{path.relative_to(REPO)}:{line} ({stage}) imports {module}")
    assert not upward, "imports against the pipeline order:\n" + "\n".join(upward)


def plugin_files() -> list[Path]:
    roots = [*REPO.glob("plugins/*/rbench-*"), *REPO.glob("examples/rbench-*")]
    return sorted(p for root in roots for p in root.rglob("*.py"))


def test_plugins_import_only_the_public_api() -> None:
    files = plugin_files()
    assert len(files) > 60  # every plugin's code and tests are scanned
    private = []
    for path in files:
        for line, module in imported_modules(path):
            if module == "routerbench_core" or module.startswith("routerbench_core.testing"):
                continue
            name = module.split(".", 1)[1]
            if module.count(".") == 1 and name in routerbench_core.__all__:
                continue  # ``from routerbench_core import ml``: a public name, not a path
            private.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    assert not private, "plugins must use the public API only:\n" + "\n".join(private)


def test_the_private_import_check_catches_a_private_import(tmp_path: Path) -> None:
    bad = tmp_path / "plugin.py"
    bad.write_text("def f():\n    from routerbench_core.data.store import Store\n")
    assert imported_modules(bad) == [(2, "routerbench_core.data.store")]


@pytest.mark.parametrize("name", sorted(set(routerbench_core.__all__) - {"__version__"}))
def test_every_public_name_resolves(name: str) -> None:
    if name in routerbench_core._API and routerbench_core._API[name].endswith("torch_utils"):
        pytest.importorskip("torch")
    assert getattr(routerbench_core, name) is not None


def test_every_testing_name_resolves() -> None:
    for name in kit._PIPELINE:
        assert getattr(kit, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        kit.nope  # noqa: B018


def test_unknown_api_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Rooter'"):
        routerbench_core.Rooter  # noqa: B018


def test_plugin_author_imports_work_and_stay_light() -> None:
    code = (
        "import sys\n"
        "from routerbench_core import hookimpl, Router, Dataset, Backend, Embedder, Register\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print(Router.__module__, Dataset.__module__, Backend.__module__, Embedder.__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [
        "routerbench_core.routing.router", "routerbench_core.scoring.datasets",
        "routerbench_core.collection.backends", "routerbench_core.embedding.base",
    ]
