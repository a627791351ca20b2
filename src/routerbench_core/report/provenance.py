"""Provenance of a run: what was run, with which code, on what, when — recorded with every
``rbench route`` / ``collect`` / ``grade`` in the store and carried by the route JSON, so a
number in a paper can be traced back to the command and versions that produced it.

The dict (``provenance(...)``) has these keys:

``time``
    UTC start time, ISO 8601 (``2026-12-01T09:45:12Z``).
``command``
    the command line as a list (``["rbench", "route", "-r", "avengers", ...]``).
``rbench``, ``python``, ``platform``
    versions of the core, the interpreter, and the OS/machine.
``plugins``
    ``{kind: {name: {distribution, version}}}`` for every plugin component the run used.
``embedder``
    ``{name, options, distribution, version}`` or None when no router needed one.
``settings``
    the run's own options (setting, split, seeds, fractions, OOD datasets, missing policy …).
``params``
    ``{router: {key: value}}`` given with ``--param``.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def command_line(argv: Iterable[str] | None = None) -> list[str]:
    """The command as typed: ``rbench`` and its arguments (the program path is dropped, so a
    venv's absolute path does not leak into reports)."""
    args = list(sys.argv[1:] if argv is None else argv)
    return ["rbench", *args]


def _component(host: Any, kind: str, name: str) -> dict[str, str]:
    try:
        spec = host.get(kind, name)
    except Exception:  # a name the host does not know (a test double): record it plainly
        return {"distribution": "", "version": ""}
    return {"distribution": spec.distribution, "version": spec.version}


def provenance(
    host: Any, *, started: str | None = None, argv: Iterable[str] | None = None,
    components: Mapping[str, Iterable[str]] | None = None, embedder: str | None = None,
    embedder_options: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The provenance dict (see the module docstring). ``components`` maps a plugin kind
    (``router``, ``dataset``, ``backend``) to the names used."""
    from routerbench_core import __version__
    from routerbench_core.report.build import _clean

    plugins: dict[str, dict[str, dict[str, str]]] = {}
    for kind, names in (components or {}).items():
        plugins[kind] = {n: _component(host, kind, n) for n in names}
    emb = None
    if embedder is not None:
        emb = {"name": embedder, "options": dict(embedder_options or {}),
               **_component(host, "embedder", embedder)}
    return _clean({
        "time": started or utc_now(),
        "command": command_line(argv),
        "rbench": __version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "plugins": plugins,
        "embedder": emb,
        "settings": dict(settings or {}),
        "params": dict(params or {}),
    })


def route_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    """What ``rbench runs`` shows of a route run: routers, setting, seeds, headline AvgAcc."""
    from routerbench_core.report.build import _clean

    acc = {name: (m.get("avg_acc") or {}).get("mean")
           for name, m in (report.get("metrics") or {}).items()}
    return _clean({
        "setting": report.get("setting"), "seeds": report.get("seeds"),
        "routers": list(report.get("router") or []), "avg_acc": acc,
        "labels": report.get("labels") or [],
    })


def record_route(store: Any, host: Any, report: dict[str, Any], prov: dict[str, Any],
                 *, kind: str = "route") -> int:
    """Store a finished route run (the report carries ``provenance``); returns the run id,
    which is also written into the report's provenance."""
    report["provenance"] = prov
    run_id = store.add_run(kind=kind, bench=report.get("bench"), summary=route_summary(report),
                           provenance=prov, result=report)
    prov["run"] = run_id
    return run_id


def record_result(store: Any, *, kind: str, bench: str | None, result: Any,
                  prov: dict[str, Any], summary: Mapping[str, Any] | None = None) -> int:
    """Store a collect/grade run: ``result`` is its report (a dataclass or a dict)."""
    import dataclasses

    from routerbench_core.report.build import _clean

    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        result = dataclasses.asdict(result)
    body = _clean(dict(result))
    return store.add_run(kind=kind, bench=bench, summary=_clean(dict(summary or {})),
                         provenance=prov, result=body)


def provenance_items(run: dict[str, Any]) -> list[tuple[str, str]]:
    """The run's provenance as short (field, value) pairs, for the top of any output."""
    p = run.get("provenance") or {}
    items = [("run", f"{run['id']} · {run['kind']} · {run['created']} · bench {run.get('bench')}"),
             ("command", " ".join(p.get("command") or [])),
             ("versions", f"rbench {p.get('rbench', '?')} · Python {p.get('python', '?')} · "
                          f"{p.get('platform', '?')}")]
    emb = p.get("embedder")
    if emb:
        opts = ", ".join(f"{k}={v}" for k, v in (emb.get("options") or {}).items())
        ver = f" ({emb['distribution']} {emb['version']})" if emb.get("distribution") else ""
        items.append(("embedder", f"{emb['name']}{ver}" + (f" [{opts}]" if opts else "")))
    for kind, comps in (p.get("plugins") or {}).items():
        if comps:
            items.append((f"{kind}s", ", ".join(
                f"{n} ({c.get('distribution') or '?'} {c.get('version') or '?'})"
                for n, c in comps.items())))
    settings = p.get("settings") or {}
    if settings:
        items.append(("settings", ", ".join(f"{k}={short_value(v)}" for k, v in settings.items())))
    params = {k: v for k, v in (p.get("params") or {}).items() if v}
    if params:
        items.append(("params", "; ".join(
            f"{r}: " + ", ".join(f"{k}={short_value(v)}" for k, v in kv.items())
            for r, kv in params.items())))
    return items


def provenance_lines(run: dict[str, Any]) -> list[str]:
    """:func:`provenance_items` as ``field: value`` lines."""
    return [f"{k}: {v}" for k, v in provenance_items(run)]


def short_value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) if all(not isinstance(v, dict | list) for v in value) \
            else json.dumps(value)
    return json.dumps(value) if isinstance(value, dict) else str(value)


def flat(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A nested result as (dotted key, scalar) pairs, for runs that are not route reports."""
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += flat(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        out = []
        for i, v in enumerate(value):
            out += flat(v, f"{prefix}[{i}]")
        return out
    return [(prefix, short_value(value) if value is not None else "")]
