"""The plugin manager: discovers plugins, isolates their failures, and collects what they register.

Entry points of the group ``rbench`` are loaded one at a time (pluggy's own loader lets one broken
plugin crash every command). A plugin that fails to import, or whose hook raises, is recorded with
its error and the rest keep working; ``RBENCH_STRICT_PLUGINS=1`` turns any such failure into an
error. Two plugins registering the same name for the same kind is always an error naming both.

Environment variables (after pytest and tox):

``RBENCH_DISABLE_PLUGINS=a,b``      skip these plugins (entry-point or distribution names)
``RBENCH_DISABLE_PLUGIN_AUTOLOAD=1`` load no entry points at all (built-ins only)
``RBENCH_STRICT_PLUGINS=1``         any plugin failure is fatal
``RBENCH_TRACE_HOOKS=1``            print every hook call to stderr (as datasette does)
"""

from __future__ import annotations

import difflib
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import pluggy

from routerbench_core.plugins import hookspecs
from routerbench_core.plugins.spec import KINDS, Kind, PluginSpec

ENTRY_POINT_GROUP = "rbench"
CORE_DISTRIBUTION = "rbench"

#: Built-in plugins: modules in the core registered through the same hooks as third parties.
BUILTIN_MODULES: tuple[str, ...] = (
    "routerbench_core.commands.listing",
    "routerbench_core.commands.data",
    "routerbench_core.plugins.builtin_routers",
    "routerbench_core.plugins.builtin_embedders",
    "routerbench_core.commands.route",
    "routerbench_core.commands.collect",
    "routerbench_core.commands.demo",
    "routerbench_core.commands.serve",
)

HOOK_FOR_KIND: dict[Kind, str] = {
    "backend": "register_backends",
    "dataset": "register_datasets",
    "router": "register_routers",
    "embedder": "register_embedders",
}


class PluginError(RuntimeError):
    """A plugin problem the user must fix (duplicate names, strict-mode failures, ...)."""


class UnknownNameError(KeyError):
    """An unknown backend/dataset/router/embedder name; the message suggests close matches."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0])


def env_flag(name: str) -> bool:
    """Whether environment variable ``name`` is set to 1/true/yes/on (any case)."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class PluginRecord:
    """One plugin (an entry point or a built-in module) and how loading it went."""

    name: str
    distribution: str
    version: str
    module: ModuleType | None = None
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    disabled: bool = False

    @property
    def status(self) -> str:
        if self.disabled:
            return "disabled"
        if self.error:
            return f"failed: {self.error}"
        return "ok"


class PluginHost:
    """A small typed facade over the pluggy manager: what the CLI and runners talk to."""

    def __init__(self, pm: pluggy.PluginManager, records: list[PluginRecord], strict: bool):
        self.pm = pm
        self.records = records
        self.strict = strict
        self._specs: dict[Kind, dict[str, PluginSpec]] | None = None
        self._by_module = {id(r.module): r for r in records if r.module is not None}
        for hook_name in (*sorted(HOOK_FOR_KIND.values()), "register_commands"):
            for impl in getattr(pm.hook, hook_name).get_hookimpls():
                record = self._by_module.get(id(impl.plugin))
                if record is not None and hook_name not in record.hooks:
                    record.hooks.append(hook_name)

    # -- discovery -------------------------------------------------------------------------

    def _record_for(self, plugin: object) -> PluginRecord:
        record = self._by_module.get(id(plugin))
        if record is None:  # registered directly with pm.register (tests, extra plugins)
            name = self.pm.get_name(plugin) or repr(plugin)
            record = PluginRecord(name=name, distribution=name, version="", module=plugin)  # type: ignore[arg-type]
            self.records.append(record)
            self._by_module[id(plugin)] = record
        return record

    def _fail(self, record: PluginRecord, message: str) -> None:
        record.error = message
        if self.strict:
            raise PluginError(
                f"plugin {record.name!r} (distribution {record.distribution}) failed: {message} "
                "(RBENCH_STRICT_PLUGINS is set)"
            )

    def _collect(self) -> dict[Kind, dict[str, PluginSpec]]:
        specs: dict[Kind, dict[str, PluginSpec]] = {kind: {} for kind in KINDS}
        for kind, hook_name in HOOK_FOR_KIND.items():
            hook = getattr(self.pm.hook, hook_name)
            for impl in reversed(hook.get_hookimpls()):  # registration order
                record = self._record_for(impl.plugin)
                if record.error:
                    continue

                def register(
                    name: str,
                    target: str | Callable[..., Any],
                    summary: str = "",
                    *,
                    capabilities: Mapping[str, Any] | None = None,
                    requires: Sequence[str] = (),
                    _record: PluginRecord = record,
                    _kind: Kind = kind,
                ) -> None:
                    spec = PluginSpec(
                        kind=_kind,
                        name=name,
                        target=target,
                        summary=summary,
                        capabilities=dict(capabilities or {}),
                        requires=tuple(requires),
                        plugin=_record.name,
                        distribution=_record.distribution,
                        version=_record.version,
                    )
                    existing = specs[_kind].get(name)
                    if existing is not None:
                        raise PluginError(
                            f"{_kind} name {name!r} is registered twice: by distribution "
                            f"{existing.distribution!r} (plugin {existing.plugin}) and by "
                            f"{spec.distribution!r} (plugin {spec.plugin}); uninstall one or "
                            f"block it with RBENCH_DISABLE_PLUGINS"
                        )
                    specs[_kind][name] = spec

                if env_flag("RBENCH_TRACE_HOOKS"):
                    print(f"rbench: calling {hook_name} of {record.name}", file=sys.stderr)
                try:
                    impl.function(register=register)
                except PluginError:
                    raise
                except Exception as exc:  # isolate one plugin's bug from the rest
                    self._fail(record, f"{hook_name} raised {type(exc).__name__}: {exc}")
                    for k in KINDS:  # drop what this plugin registered before failing
                        for n in [n for n, s in specs[k].items() if s.plugin == record.name]:
                            del specs[k][n]
        return specs

    def specs(self, kind: Kind | None = None) -> list[PluginSpec]:
        """Everything registered (of one kind, or all), sorted by kind then name."""
        if self._specs is None:
            self._specs = self._collect()
        kinds = [kind] if kind else list(KINDS)
        return [self._specs[k][n] for k in kinds for n in sorted(self._specs[k])]

    def names(self, kind: Kind) -> list[str]:
        return [s.name for s in self.specs(kind)]

    def get(self, kind: Kind, name: str) -> PluginSpec:
        """The spec for ``name``, or an error with "did you mean" suggestions."""
        self.specs()
        assert self._specs is not None
        table = self._specs[kind]
        if name in table:
            return table[name]
        installed = sorted(table)
        close = difflib.get_close_matches(name, installed, n=3, cutoff=0.5)
        hint = f" did you mean {', '.join(close)}?" if close else ""
        failed = [r for r in self.records if r.error]
        broken = (
            " Some plugins failed to load (see `rbench list`): "
            + ", ".join(r.name for r in failed)
            if failed
            else ""
        )
        raise UnknownNameError(
            f"unknown {kind} {name!r}.{hint} Installed: {', '.join(installed) or 'none'}.{broken}"
        )

    def load(self, kind: Kind, name: str) -> Any:
        """Import and return the class/factory registered as ``name``."""
        return self.get(kind, name).load()

    def add_commands(self, app: Any) -> None:
        """Let every plugin add its CLI commands; a failing plugin is recorded, not fatal."""
        for impl in reversed(self.pm.hook.register_commands.get_hookimpls()):
            record = self._record_for(impl.plugin)
            if record.error:
                continue
            try:
                impl.function(app=app)
            except Exception as exc:
                self._fail(record, f"register_commands raised {type(exc).__name__}: {exc}")

    def failures(self) -> list[PluginRecord]:
        return [r for r in self.records if r.error]


def _entry_point_distribution(ep: EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return ep.name, ""
    return dist.metadata["Name"] or ep.name, dist.version or ""


def _disabled_names() -> set[str]:
    raw = os.environ.get("RBENCH_DISABLE_PLUGINS", "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def make_plugin_manager(
    *,
    load_entrypoints: bool | None = None,
    builtins: bool = True,
    extra_plugins: Iterable[object] = (),
    strict: bool | None = None,
) -> PluginHost:
    """Build a fresh plugin host (one per CLI invocation or test; never a global).

    :param load_entrypoints: load third-party entry points (default: unless
        ``RBENCH_DISABLE_PLUGIN_AUTOLOAD`` is set).
    :param builtins: register the core's built-in plugins.
    :param extra_plugins: objects or modules with hookimpls to register too (tests use this).
    :param strict: make plugin failures fatal (default: ``RBENCH_STRICT_PLUGINS``).
    """
    if strict is None:
        strict = env_flag("RBENCH_STRICT_PLUGINS")
    if load_entrypoints is None:
        load_entrypoints = not env_flag("RBENCH_DISABLE_PLUGIN_AUTOLOAD")
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    records: list[PluginRecord] = []
    disabled = _disabled_names()
    version = _core_version()

    if builtins:
        for module_name in BUILTIN_MODULES:
            short = module_name.rsplit(".", 1)[-1]
            record = PluginRecord(
                name=f"rbench.{short}", distribution=CORE_DISTRIBUTION, version=version
            )
            records.append(record)
            try:
                record.module = import_module(module_name)
                pm.register(record.module, name=record.name)
            except Exception as exc:
                record.error = f"{type(exc).__name__}: {exc}"
                if strict:
                    raise PluginError(f"built-in plugin {module_name} failed: {exc}") from exc

    if load_entrypoints:
        seen: set[str] = set()
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in seen:  # the same distribution found twice on sys.path
                continue
            seen.add(ep.name)
            distribution, dist_version = _entry_point_distribution(ep)
            record = PluginRecord(name=ep.name, distribution=distribution, version=dist_version)
            records.append(record)
            if ep.name in disabled or distribution in disabled:
                record.disabled = True
                continue
            try:
                module = ep.load()
                record.module = module
                pm.register(module, name=ep.name)
            except Exception as exc:
                message = f"{type(exc).__name__}: {exc}"
                record.error = message
                if env_flag("RBENCH_TRACE_HOOKS"):
                    traceback.print_exc()
                if strict:
                    raise PluginError(
                        f"plugin {ep.name!r} (distribution {distribution}) failed to load: "
                        f"{message} (RBENCH_STRICT_PLUGINS is set)"
                    ) from exc

    for plugin in extra_plugins:
        name = getattr(plugin, "__name__", None) or repr(plugin)
        pm.register(plugin, name=name)

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"a plugin implements a hook that does not exist: {exc}") from exc

    return PluginHost(pm, records, strict)


def _core_version() -> str:
    from routerbench_core import __version__

    return __version__
