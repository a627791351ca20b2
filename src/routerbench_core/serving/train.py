"""Fit one router for one seed, measure it, calibrate an operating point, describe it as an
artefact (what ``rbench train --save DIR`` does).

The router is fitted on the seed's train split with its validation split, exactly as
``rbench route`` fits it; every sweep configuration is then routed on validation (to choose)
and on test (to report). ``--target-share`` / ``--target-cost`` pick a configuration on
validation only, as RouteLLM's ``calibrate_threshold`` does: the test numbers stored beside it
are what that choice achieved, never what chose it.

Routers that refit on train + validation after choosing their hyper-parameters (avengers,
avengers-pro by default) have seen the validation outcomes, so their validation accuracy is
optimistic; shares and cost per query, which calibration targets, are much less affected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from routerbench_core.routing.evaluate import (
    Evaluator,
    average_over_datasets,
    per_dataset_mean,
    score_routing,
)
from routerbench_core.routing.router import LabeledSet, QuerySet, Router, RouterError
from routerbench_core.serving.artefact import (
    ArtefactMeta,
    BenchInfo,
    Calibration,
    EmbedderInfo,
    OperatingPoint,
    PointMetrics,
    bench_fingerprint,
    make_router,
)


def _metrics(router: Router, queries: QuerySet, score: np.ndarray, cost: np.ndarray,
             config: dict[str, Any] | None, models: list[str], missing: str) -> PointMetrics:
    routing = router.route(queries, config)
    scored = score_routing(routing, score, cost, missing=missing)  # type: ignore[arg-type]
    names = list(dict.fromkeys(queries.datasets.tolist()))
    acc = average_over_datasets(per_dataset_mean(scored.acc, queries.datasets, names))
    n = len(queries)
    counts = np.bincount(scored.choice[scored.choice >= 0], minlength=len(models))
    total = float(scored.cost.sum())
    return PointMetrics(
        avg_acc=None if np.isnan(acc) else float(acc), cost=total,
        cost_per_query=total / max(n, 1), n_queries=n,
        distribution={m: float(c) / max(n, 1) for m, c in zip(models, counts, strict=True)},
    )


def _point_name(config: Mapping[str, Any] | None) -> str:
    if not config:
        return "default"
    return "&".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in config.items())


def share_model(valid: LabeledSet) -> str:
    """The model whose share ``--target-share`` targets by default: the dearest on validation
    (RouteLLM's "strong" model)."""
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(valid.cost, axis=0) if len(valid) else np.full(len(valid.models), np.nan)
    if np.isnan(mean).all():
        raise RouterError("--target-share: no model has a known cost on validation; name the "
                          "model with --share-model")
    return valid.models[int(np.nanargmax(np.where(np.isnan(mean), -np.inf, mean)))]


def calibrate(points: list[OperatingPoint], *, target_share: float | None = None,
              model: str | None = None, target_cost: float | None = None) -> Calibration:
    """Choose a point on validation: the largest ``model`` share not above ``target_share``,
    or the most accurate point whose cost per query is within ``target_cost``."""
    usable = [p for p in points if p.valid is not None]
    if not usable:
        raise RouterError("calibration needs validation metrics; the validation split is empty")
    if target_share is not None:
        if not 0.0 <= target_share <= 1.0:
            raise RouterError(f"--target-share must be in [0, 1], got {target_share}")
        assert model is not None

        def share(p: OperatingPoint) -> float:
            assert p.valid is not None
            return p.valid.distribution.get(model, 0.0)

        within = [p for p in usable if share(p) <= target_share + 1e-12]
        if within:
            best = max(within, key=lambda p: (share(p), p.valid.avg_acc or 0.0))  # type: ignore[union-attr]
            note = ""
        else:
            best = min(usable, key=share)
            note = "no swept point is at or below the target; the lowest share was taken"
        return Calibration(target="share", value=target_share, model=model, point=best.name,
                           achieved_valid=share(best), note=note)
    if target_cost is None:
        raise ValueError("calibrate needs target_share or target_cost")
    if target_cost < 0:
        raise RouterError(f"--target-cost must be >= 0, got {target_cost}")

    def cpq(p: OperatingPoint) -> float:
        assert p.valid is not None
        return p.valid.cost_per_query

    within = [p for p in usable if cpq(p) <= target_cost + 1e-15]
    if within:
        best = max(within, key=lambda p: ((p.valid.avg_acc or 0.0), -cpq(p)))  # type: ignore[union-attr]
        note = ""
    else:
        best = min(usable, key=cpq)
        note = "no swept point is within the target cost; the cheapest was taken"
    return Calibration(target="cost", value=target_cost, point=best.name,
                       achieved_valid=cpq(best), note=note)


def train_artefact(
    ev: Evaluator, host: Any, name: str, params: Mapping[str, Any] | None, seed: int, *,
    embedder: EmbedderInfo | None, target_share: float | None = None,
    share_model_name: str | None = None, target_cost: float | None = None,
    fit_on: str = "split",
) -> tuple[Router, ArtefactMeta]:
    """Fit router ``name`` on ``seed``'s split and describe it (nothing is written here).

    ``fit_on="all"``: after measuring and calibrating on the split, refit a fresh router on
    train + test with the same validation split, and return that one (the metrics stored are
    the split's: there is no held-out test left to measure the refitted router on)."""
    from routerbench_core import __version__
    from routerbench_core.routing.baselines import reference_name

    if target_share is not None and target_cost is not None:
        raise RouterError("give --target-share or --target-cost, not both")
    cls = host.load("router", name)
    if reference_name(cls) is not None:
        raise RouterError(f"{name!r} is a reference computed from test outcomes; it cannot be "
                          "trained or served")
    params = dict(params or {})
    router = make_router(cls, ev.context(seed), params)
    if ev.setting not in router.settings:
        raise RouterError(f"router {name!r} does not support the {ev.setting} setting "
                          f"(it supports: {', '.join(router.settings)})")
    train, valid, test = ev.views(seed)
    router.fit(train, valid)
    m = ev.matrix
    models = list(m.models)
    rows = ev.split(seed).test
    configs: list[dict[str, Any] | None] = [None]
    sweep = [dict(c) for c in router.sweep()] if ev.setting == "perf-cost" else []
    configs += [c for c in sweep if c]
    points: list[OperatingPoint] = []
    for config in configs:
        valid_m = (_metrics(router, valid.queries(), valid.score, valid.cost, config, models,
                            ev.missing) if len(valid) else None)
        test_m = _metrics(router, test, m.score[rows], m.cost[rows], config, models, ev.missing)
        points.append(OperatingPoint(name=_point_name(config), config=config, valid=valid_m,
                                     test=test_m))
    calibration = None
    default = "default"
    if target_share is not None or target_cost is not None:
        if not sweep:
            raise RouterError(f"router {name!r} has no sweep to calibrate (use --setting "
                              "perf-cost with a cost-aware router)")
        swept = [p for p in points if p.config]
        model = None
        if target_share is not None:
            model = share_model_name or share_model(valid)
            if model not in models:
                raise RouterError(f"--share-model {model!r} is not in the pool: {', '.join(models)}")
        calibration = calibrate(swept, target_share=target_share, model=model,
                                target_cost=target_cost)
        chosen = next(p for p in swept if p.name == calibration.point)
        points.append(OperatingPoint(name="calibrated", config=chosen.config, valid=chosen.valid,
                                     test=chosen.test))
        default = "calibrated"
    fitted_on = (f"train split of seed {seed}, validation split for choices "
                 f"(test {ev.test_fraction:g}, valid {ev.valid_fraction:g} of train)")
    if fit_on == "all":
        refit = make_router(cls, ev.context(seed), params)
        rest = train.concat(ev._labeled_view(ev.split(seed).test))
        refit.fit(rest, valid)
        router = refit
        fitted_on = (f"train + test of seed {seed} (validation split for choices), after "
                     "measuring on that seed's test split: the metrics are the split fit's")
    elif fit_on != "split":
        raise RouterError(f"--fit-on must be split or all, not {fit_on!r}")
    meta = ArtefactMeta(
        rbench_version=__version__, router=name,
        router_class=f"{type(router).__module__}:{type(router).__qualname__}",
        params=params, setting=ev.setting, seed=seed,
        fitted_on=fitted_on,
        models=[m.model_specs.get(x) or _spec(x) for x in models], embedder=embedder,
        bench=BenchInfo(name=m.bench, fingerprint=bench_fingerprint(m), n_queries=m.n_queries,
                        datasets=m.dataset_names()),
        sweep=sweep, points=points, default_point=default, calibration=calibration,
        fallback_order=fallback_order(valid if len(valid) else train),
        describe=_clean(router.describe()),
    )
    return router, meta


def _spec(name: str) -> Any:
    from routerbench_core.schema import ModelSpec

    return ModelSpec(name=name)


def fallback_order(labeled: LabeledSet) -> list[str]:
    """Pool models from best to worst dataset-averaged accuracy on ``labeled`` (validation):
    the order the server tries after the routed model fails."""
    names = list(dict.fromkeys(labeled.datasets.tolist()))
    accs = []
    for j in range(len(labeled.models)):
        col = np.nan_to_num(labeled.score[:, j])
        accs.append(average_over_datasets(per_dataset_mean(col, labeled.datasets, names)))
    order = sorted(range(len(accs)), key=lambda j: (-np.nan_to_num(accs[j], nan=-1.0), j))
    return [labeled.models[j] for j in order]


def _clean(value: Any) -> Any:
    from routerbench_core.report.build import _clean as clean

    return clean(value)
