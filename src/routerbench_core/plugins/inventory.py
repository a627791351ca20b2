"""What is installed, as plain rows: the data of ``rbench list --json`` and ``rbench plugins
--json``. No typer, no rich: ``rbench list --json`` is answered from here and the plugin host
alone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from routerbench_core.plugins.manager import PluginHost

KIND_ALIASES = {
    "backends": "backend", "backend": "backend",
    "datasets": "dataset", "dataset": "dataset",
    "routers": "router", "router": "router",
    "embedders": "embedder", "embedder": "embedder",
    "importers": "importer", "importer": "importer",
}


def list_rows(host: PluginHost, kind: str | None = None) -> list[dict[str, Any]]:
    """What ``rbench list --json`` prints: every registered thing, then every failed plugin."""
    found: dict[str, bool] = {}  # one look-up per required module, not one per spec
    rows = [s.as_dict(found) for s in host.specs(kind)]  # type: ignore[arg-type]
    broken = [
        {
            "kind": "plugin", "name": r.name, "distribution": r.distribution,
            "version": r.version, "status": r.status, "summary": "plugin failed to load",
            "capabilities": {},
        }
        for r in host.failures()
    ]
    return rows + broken


def plugin_rows(host: PluginHost) -> list[dict[str, Any]]:
    """What ``rbench plugins --json`` prints."""
    host.specs()
    return [
        {"name": r.name, "distribution": r.distribution, "version": r.version,
         "status": r.status, "hooks": r.hooks}
        for r in host.records
    ]
