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

import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType
from typing import Any

import pluggy

from routerbench_core.plugins import hookspecs
from routerbench_core.plugins.spec import KINDS, Kind, PluginSpec
from routerbench_core.words import did_you_mean, is_true

ENTRY_POINT_GROUP = "rbench"
CORE_DISTRIBUTION = "rbench"

#: Built-in plugins: modules in the core registered through the same hooks as third parties.
#: Those that register things (cheap, needed by every command) ...
BUILTIN_MODULES: tuple[str, ...] = (
    "routerbench_core.plugins.builtin_routers",
    "routerbench_core.plugins.builtin_embedders",
    "routerbench_core.plugins.builtin_importers",
)
#: ... and those that only add CLI commands (they import typer): not needed by a host that
#: builds no CLI (``rbench list --json``, library use).
BUILTIN_COMMAND_MODULES: tuple[str, ...] = (
    "routerbench_core.commands.listing",
    "routerbench_core.commands.data",
    "routerbench_core.commands.route",
    "routerbench_core.commands.collect",
    "routerbench_core.commands.preview",
    "routerbench_core.commands.demo",
    "routerbench_core.commands.serve",
    "routerbench_core.commands.runs",
)

HOOK_FOR_KIND: dict[Kind, str] = {
    "backend": "register_backends",
    "dataset": "register_datasets",
    "router": "register_routers",
    "embedder": "register_embedders",
    "importer": "register_importers",
}
ALL_HOOKS: tuple[str, ...] = (*HOOK_FOR_KIND.values(), "register_commands")


class PluginError(RuntimeError):
    """A plugin problem the user must fix (strict-mode failures, a broken built-in, ...)."""


class UnknownNameError(KeyError):
    """An unknown (or unavailable) backend/dataset/router/embedder/import-format name; the
    message suggests close matches or says why the name is unavailable."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0])


def env_flag(name: str) -> bool:
    """Whether environment variable ``name`` is set to 1/true/yes/on (any case)."""
    return is_true(os.environ.get(name))


@dataclass
class PluginRecord:
    """One plugin (an entry point or a built-in module) and how loading it went.

    ``error`` is a failure that removes the whole plugin (its import or a hook raised, it
    implements a hook that does not exist); ``conflicts`` are names it shares with another
    plugin: those names are unavailable, the plugin's other registrations still work.
    """

    name: str
    distribution: str
    version: str
    module: ModuleType | None = None
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    disabled: bool = False
    conflicts: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.error or self.conflicts)

    @property
    def status(self) -> str:
        if self.disabled:
            return "disabled"
        if self.failed:
            return "failed: " + "; ".join([*([self.error] if self.error else []), *self.conflicts])
        return "ok"


class PluginHost:
    """A small typed facade over the pluggy manager: what the CLI and runners talk to."""

    def __init__(self, pm: pluggy.PluginManager, records: list[PluginRecord], strict: bool):
        self.pm = pm
        self.records = records
        self.strict = strict
        self._specs: dict[Kind, dict[str, PluginSpec]] | None = None
        #: kind -> name -> why it is unavailable (registered by several plugins)
        self._conflicts: dict[Kind, dict[str, str]] = {kind: {} for kind in KINDS}
        self._by_module = {id(r.module): r for r in records if r.module is not None}
        for hook_name in ALL_HOOKS:
            for impl in getattr(pm.hook, hook_name).get_hookimpls():
                record = self._by_module.get(id(impl.plugin))
                if record is not None and hook_name not in record.hooks:
                    record.hooks.append(hook_name)

    # -- discovery -------------------------------------------------------------------------

    def _record_for(self, plugin: object) -> PluginRecord:
        record = self._by_module.get(id(plugin))
        if record is None:  # registered directly with pm.register after the host was made
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

    def call_hook(self, hook_name: str, plugin: object, **kwargs: Any) -> Any:
        """Call one plugin's implementation of ``hook_name`` through pluggy, so an
        implementation may take any subset of the hook's arguments."""
        hook = getattr(self.pm.hook, hook_name)
        others = [impl.plugin for impl in hook.get_hookimpls() if impl.plugin is not plugin]
        record = self._by_module.get(id(plugin))
        if env_flag("RBENCH_TRACE_HOOKS"):
            name = record.name if record else self.pm.get_name(plugin)
            print(f"rbench: calling {hook_name} of {name}", file=sys.stderr)
        return self.pm.subset_hook_caller(hook_name, remove_plugins=others)(**kwargs)

    def _plugins_of(self, hook_name: str) -> list[object]:
        """The plugins implementing ``hook_name``: ``tryfirst`` ones, then the others in
        registration order, then ``trylast`` ones (e.g. a command added to a sub-app that
        another built-in makes)."""
        impls = getattr(self.pm.hook, hook_name).get_hookimpls()
        ordered = ([i for i in impls if i.tryfirst] + [i for i in impls if not (i.tryfirst or i.trylast)]
                   + [i for i in impls if i.trylast])
        return [impl.plugin for impl in ordered]

    def _collect(self) -> dict[Kind, dict[str, PluginSpec]]:
        claims: dict[Kind, dict[str, list[PluginSpec]]] = {kind: {} for kind in KINDS}
        for kind, hook_name in HOOK_FOR_KIND.items():
            for plugin in self._plugins_of(hook_name):
                record = self._record_for(plugin)
                if record.error:
                    continue
                mine: list[PluginSpec] = []

                def register(
                    name: str,
                    target: str | Callable[..., Any],
                    summary: str = "",
                    *,
                    capabilities: Mapping[str, Any] | None = None,
                    requires: Sequence[str] = (),
                    _record: PluginRecord = record,
                    _kind: Kind = kind,
                    _mine: list[PluginSpec] = mine,
                ) -> None:
                    _mine.append(PluginSpec(
                        kind=_kind,
                        name=name,
                        target=target,
                        summary=summary,
                        capabilities=dict(capabilities or {}),
                        requires=tuple(requires),
                        plugin=_record.name,
                        distribution=_record.distribution,
                        version=_record.version,
                    ))

                try:
                    self.call_hook(hook_name, plugin, register=register)
                except Exception as exc:  # isolate one plugin's bug from the rest
                    self._fail(record, f"{hook_name} raised {type(exc).__name__}: {exc}")
                    continue
                for spec in mine:
                    claims[kind].setdefault(spec.name, []).append(spec)

        specs: dict[Kind, dict[str, PluginSpec]] = {kind: {} for kind in KINDS}
        failed = {r.name for r in self.records if r.error}  # a failed plugin provides nothing
        for kind in KINDS:
            for name, claimed in claims[kind].items():
                claimed = [s for s in claimed if s.plugin not in failed]
                if len(claimed) == 1:
                    specs[kind][name] = claimed[0]
                elif claimed:
                    self._conflict(kind, name, claimed)
        return specs

    def _conflict(self, kind: Kind, name: str, claimed: list[PluginSpec]) -> None:
        """Several plugins registered ``name``: it becomes unavailable (never a silent pick or
        rename) and each plugin concerned is shown as failed, naming all of them."""
        who = " and ".join(f"{s.distribution!r} (plugin {s.plugin})" for s in claimed)
        message = (
            f"{kind} name {name!r} is registered by {who}; uninstall one or block it with "
            f"RBENCH_DISABLE_PLUGINS={claimed[-1].plugin}"
        )
        self._conflicts[kind][name] = message
        for plugin in dict.fromkeys(s.plugin for s in claimed):
            record = next(r for r in self.records if r.name == plugin)
            record.conflicts.append(message)
        if self.strict:
            raise PluginError(f"{message} (RBENCH_STRICT_PLUGINS is set)")

    def specs(self, kind: Kind | None = None) -> list[PluginSpec]:
        """Everything registered (of one kind, or all), sorted by kind then name."""
        if self._specs is None:
            self._specs = self._collect()
        kinds = [kind] if kind else list(KINDS)
        return [self._specs[k][n] for k in kinds for n in sorted(self._specs[k])]

    def names(self, kind: Kind) -> list[str]:
        return [s.name for s in self.specs(kind)]

    def get(self, kind: Kind, name: str) -> PluginSpec:
        """The spec for ``name``, or an error with "did you mean" suggestions (or saying why
        the name is unavailable)."""
        self.specs()
        assert self._specs is not None
        table = self._specs[kind]
        if name in table:
            return table[name]
        why = self._conflicts[kind].get(name)
        if why:
            raise UnknownNameError(f"{kind} {name!r} is unavailable: {why}")
        installed = sorted(table)
        hint = did_you_mean(name, installed)
        failed = [r for r in self.records if r.failed]
        broken = (
            " Some plugins failed to load (see `rbench plugins`): "
            + ", ".join(r.name for r in failed)
            if failed
            else ""
        )
        raise UnknownNameError(
            f"unknown {kind} {name!r}.{hint} Installed: {', '.join(installed) or 'none'}.{broken}"
        )

    def unavailable(self, kind: Kind, name: str) -> str | None:
        """Why ``name`` is unavailable (several plugins registered it), or None."""
        self.specs()
        return self._conflicts[kind].get(name)

    def load(self, kind: Kind, name: str) -> Any:
        """Import and return the class/factory registered as ``name``."""
        return self.get(kind, name).load()

    def add_commands(self, app: Any) -> None:
        """Let every plugin add its CLI commands; a failing plugin is recorded, not fatal."""
        for plugin in self._plugins_of("register_commands"):
            record = self._record_for(plugin)
            if record.error:
                continue
            try:
                self.call_hook("register_commands", plugin, app=app)
            except Exception as exc:
                self._fail(record, f"register_commands raised {type(exc).__name__}: {exc}")

    def target_problems(self) -> list[str]:
        """Registered targets that cannot be right (``"module:Clas"``), found without importing
        them; strict mode refuses to start with any. ``rbench plugins --check`` imports them."""
        problems = []
        for spec in self.specs():
            problem = spec.target_problem()
            if problem:
                problems.append(f"{spec.kind} {spec.name!r} of plugin {spec.plugin} "
                                f"(distribution {spec.distribution}): {problem}")
        return problems

    def failures(self) -> list[PluginRecord]:
        self.specs()  # conflicts are only known once everything has registered
        return [r for r in self.records if r.failed]


def _disabled_names() -> set[str]:
    raw = os.environ.get("RBENCH_DISABLE_PLUGINS", "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def make_plugin_manager(
    *,
    load_entrypoints: bool | None = None,
    builtins: bool = True,
    extra_plugins: Iterable[object] = (),
    strict: bool | None = None,
    commands: bool = True,
) -> PluginHost:
    """Build a fresh plugin host (one per CLI invocation or test; never a global).

    :param load_entrypoints: load third-party entry points (default: unless
        ``RBENCH_DISABLE_PLUGIN_AUTOLOAD`` is set).
    :param builtins: register the core's built-in plugins.
    :param extra_plugins: objects or modules with hookimpls to register too (tests use this).
    :param strict: make plugin failures fatal (default: ``RBENCH_STRICT_PLUGINS``).
    :param commands: register the built-in CLI commands too (only a host that builds no CLI
        leaves them out; third-party plugins are loaded either way).
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

    def register(record: PluginRecord, module: object, what: str) -> None:
        """Register ``module`` for ``record``; a failure is recorded (fatal when strict)."""
        try:
            pm.register(module, name=record.name)
        except Exception as exc:  # a hookimpl with arguments its hookspec does not have, ...
            record.error = f"{type(exc).__name__}: {exc}"
            if strict:
                raise PluginError(
                    f"{what} {record.name!r} (distribution {record.distribution}) failed to "
                    f"register: {exc} (RBENCH_STRICT_PLUGINS is set)"
                ) from exc

    if builtins:
        modules = (BUILTIN_COMMAND_MODULES if commands else ()) + BUILTIN_MODULES
        for module_name in modules:
            short = module_name.rsplit(".", 1)[-1]
            record = PluginRecord(
                name=f"rbench.{short}", distribution=CORE_DISTRIBUTION, version=version
            )
            records.append(record)
            try:
                record.module = import_module(module_name)
            except Exception as exc:
                record.error = f"{type(exc).__name__}: {exc}"
                if strict:
                    raise PluginError(f"built-in plugin {module_name} failed: {exc}") from exc
                continue
            register(record, record.module, "built-in plugin")

    if load_entrypoints:
        seen: set[str] = set()
        from routerbench_core.plugins.discovery import entry_points_of

        for ep in entry_points_of(ENTRY_POINT_GROUP):
            if ep.name in seen:  # the same distribution found twice on sys.path
                continue
            seen.add(ep.name)
            distribution, dist_version = ep.distribution, ep.version
            record = PluginRecord(name=ep.name, distribution=distribution, version=dist_version)
            records.append(record)
            if ep.name in disabled or distribution in disabled:
                record.disabled = True
                continue
            try:
                record.module = ep.load()
            except Exception as exc:
                message = f"{type(exc).__name__}: {exc}"
                record.error = message
                if env_flag("RBENCH_TRACE_HOOKS"):
                    import traceback

                    traceback.print_exc()
                if strict:
                    raise PluginError(
                        f"plugin {ep.name!r} (distribution {distribution}) failed to load: "
                        f"{message} (RBENCH_STRICT_PLUGINS is set)"
                    ) from exc
                continue
            register(record, record.module, "plugin")

    for plugin in extra_plugins:
        name = getattr(plugin, "__name__", None) or repr(plugin)
        plugin = _hashable(plugin, name)
        record = PluginRecord(name=name, distribution=name, version="", module=plugin)  # type: ignore[arg-type]
        records.append(record)
        register(record, plugin, "plugin")

    _check_unknown_hooks(pm, records, strict)
    return PluginHost(pm, records, strict)


def _hashable(plugin: object, name: str) -> object:
    """``plugin``, or a module holding its attributes when it cannot be hashed (a
    ``SimpleNamespace``): pluggy's per-plugin hook callers keep plugins in sets."""
    try:
        hash(plugin)
    except TypeError:
        module = ModuleType(name)
        for attr in dir(plugin):
            if not attr.startswith("__"):
                setattr(module, attr, getattr(plugin, attr))
        return module
    return plugin


def _check_unknown_hooks(pm: pluggy.PluginManager, records: list[PluginRecord],
                         strict: bool) -> None:
    """pluggy's ``check_pending``, per plugin: a plugin implementing a hook that does not exist
    (``register_ruoters``) is a failure of that plugin, with a "did you mean", not of all."""
    by_module = {id(r.module): r for r in records if r.module is not None}
    for name, caller in list(vars(pm.hook).items()):
        if name.startswith("_") or caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if impl.optionalhook:
                continue
            hint = did_you_mean(name, ALL_HOOKS)
            message = f"implements unknown hook {name!r}.{hint} Hooks: {', '.join(ALL_HOOKS)}"
            record = by_module.get(id(impl.plugin))
            if strict or record is None:
                who = record.name if record else pm.get_name(impl.plugin)
                raise PluginError(f"plugin {who!r} {message}"
                                  + (" (RBENCH_STRICT_PLUGINS is set)" if strict else ""))
            record.error = message
            pm.unregister(impl.plugin)  # none of its hooks run
    pm.check_pending()  # nothing unknown is left registered


def _core_version() -> str:
    from routerbench_core import __version__

    return __version__
