"""Operating points named in a request's ``model`` field: the cost knob at request time.

Accepted forms (``NAME`` is the served router's name; the ``rbench/`` prefix is optional)::

    rbench/NAME                    the artefact's default point (the calibrated one if any)
    rbench/NAME?alpha=0.3          explicit sweep keys (as the router's sweep() names them)
    rbench/NAME?point=calibrated   a named operating point of the artefact
    rbench/NAME-0.116              RouteLLM style: the value of the router's one sweep key

Keys are checked against the router's sweep (an unknown key is a 400 naming the known ones),
values must be numbers within the range the sweep covered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from routerbench_core.serving.artefact import ArtefactMeta

PREFIX = "rbench/"


class PointError(ValueError):
    """The request's model names no served router or a bad operating point (HTTP 400)."""

    def __init__(self, message: str, code: str = "invalid_model") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Resolved:
    """A request's operating point: the router config to route with and a label to record."""

    config: dict[str, Any] | None
    label: str


def served_id(meta: ArtefactMeta) -> str:
    return PREFIX + meta.router


def sweep_keys(meta: ArtefactMeta) -> dict[str, tuple[float, float]]:
    """Numeric sweep keys and the (min, max) range the sweep covered."""
    out: dict[str, tuple[float, float]] = {}
    for cfg in meta.sweep:
        for k, v in cfg.items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                lo, hi = out.get(k, (math.inf, -math.inf))
                out[k] = (min(lo, float(v)), max(hi, float(v)))
    return out


def _number(key: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise PointError(f"operating point {key}={raw!r} is not a number") from None
    if not math.isfinite(value):
        raise PointError(f"operating point {key}={raw!r} is not a finite number")
    return value


def _check(meta: ArtefactMeta, config: dict[str, float]) -> None:
    keys = sweep_keys(meta)
    for k, v in config.items():
        if k not in keys:
            known = ", ".join(sorted(keys)) or "none (this router has no cost knob)"
            raise PointError(f"router {meta.router!r} has no operating-point key {k!r}; "
                             f"known: {known}")
        lo, hi = keys[k]
        if not lo - 1e-9 <= v <= hi + 1e-9:
            raise PointError(f"operating point {k}={v:g} is outside the swept range "
                             f"[{lo:g}, {hi:g}] of router {meta.router!r}")


def default_point(meta: ArtefactMeta) -> Resolved:
    p = meta.point(meta.default_point) if meta.points else None
    return Resolved(config=None if p is None else p.config,
                    label=meta.default_point if p is not None else "default")


def resolve(meta: ArtefactMeta, model: str) -> Resolved:
    """The operating point a request's ``model`` asks for, or :class:`PointError`."""
    if not isinstance(model, str) or not model:
        raise PointError("the request has no model; use "
                         f"{served_id(meta)!r} (see GET /v1/models)", code="model_not_found")
    name = model[len(PREFIX):] if model.startswith(PREFIX) else model
    base, _, query = name.partition("?")
    if base != meta.router:
        suffix = base[len(meta.router) + 1:] if base.startswith(meta.router + "-") else None
        if suffix is None:
            raise PointError(
                f"model {model!r} is not served here; this server serves {served_id(meta)!r} "
                f"(with an optional operating point, e.g. {served_id(meta)}?"
                f"{next(iter(sweep_keys(meta)), 'key')}=VALUE)", code="model_not_found")
        keys = sweep_keys(meta)
        if len(keys) != 1:
            raise PointError(
                f"model {model!r}: the NAME-VALUE form needs a router with exactly one sweep "
                f"key; {meta.router!r} has {len(keys)} ({', '.join(keys) or 'none'}); use "
                f"{served_id(meta)}?KEY=VALUE", code="model_not_found")
        key = next(iter(keys))
        config = {key: _number(key, suffix)}
        _check(meta, config)
        return Resolved(config=config, label=f"{key}={config[key]:g}")
    if not query:
        return default_point(meta)
    pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False)
    if not pairs:
        raise PointError(f"model {model!r}: cannot read the operating point {query!r}")
    if len(pairs) == 1 and pairs[0][0] == "point":
        try:
            p = meta.point(pairs[0][1])
        except Exception as exc:
            raise PointError(str(exc)) from None
        return Resolved(config=p.config, label=p.name)
    config: dict[str, float] = {}
    for k, raw in pairs:
        if k in config:
            raise PointError(f"operating point key {k!r} is given twice")
        config[k] = _number(k, raw)
    _check(meta, config)
    return Resolved(config=config, label="&".join(f"{k}={v:g}" for k, v in config.items()))
