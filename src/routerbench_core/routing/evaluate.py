"""Replay evaluation of routers on an outcome matrix: split, fit, route, score — for every seed.

The evaluator is the only code that touches test outcomes. Routers get
:class:`~routerbench_core.routing.router.LabeledSet` views of train and validation (row copies made by
fancy indexing, so they share no memory with the full matrix) and a bare
:class:`~routerbench_core.routing.router.QuerySet` of test queries, whose only callables are an
embedding lookup over vectors computed beforehand and a reader of answer texts loaded
beforehand (:class:`_VectorLookup`, :class:`_StoredAnswers`). Neither holds the store, the
evaluator or the matrix, so no score or cost is reachable from anything a router is handed
(``tests/test_side_doors.py`` walks it all).

Scoring a :class:`~routerbench_core.routing.router.Routing`:

- accuracy of a query = the score of the chosen model on it;
- cost of a query = the sum of the costs of every model called (cascades pay for each call);
- a test query on which *no* model has a score cannot be evaluated: it is dropped from test
  before routing and counted (``n_unscorable``);
- a query whose *chosen* model has no score (a failed or ungradable answer) counts as wrong by
  default (``missing="wrong"``: the user got no usable answer) or is left out of the mean
  (``missing="skip"``); either way it is counted in ``n_missing_choice``;
- a called model whose cost is missing adds nothing and is counted in ``n_missing_cost``.

Reference points that need test outcomes by definition — the oracle, the dataset oracle and the
expected accuracy of a uniform random pick — are computed here (:meth:`Evaluator.references`),
never by a router. Best single is chosen on the labelled (train + valid) part and scored on test.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from routerbench_core.data.matrix import OutcomeMatrix
from routerbench_core.routing.accuracy import (
    MissingPolicy,
    apply_missing,
    average_over_datasets,
    avg_acc,
    best_index,
    cheapest_index,
    check_missing,
    dataset_oracle_choice,
    mean_cost,
    oracle_choice,
    per_dataset_mean,
)
from routerbench_core.routing.protocol import (
    DEFAULT_SEEDS,
    DEFAULT_TEST_FRACTION,
    DEFAULT_VALID_FRACTION,
    Split,
    make_split,
    split_from_source,
)
from routerbench_core.routing.router import (
    LabeledSet,
    OutputsFn,
    QuerySet,
    Router,
    RouterContext,
    RouterError,
    Routing,
    Setting,
)

if TYPE_CHECKING:
    from routerbench_core.data.store import Store
    from routerbench_core.embedding.base import Embedder

TextView = Literal["query", "full"]
RouterFactory = Callable[..., Router]
#: Names of the evaluator-computed references (not routers: they need test outcomes).
REFERENCES: tuple[str, ...] = ("random", "dataset-oracle", "oracle")


# -- scoring ---------------------------------------------------------------------------------


@dataclass
class ScoredRouting:
    """Per-query outcome of one routing of the test set."""

    acc: np.ndarray  # (n,) in [0, 1]; NaN where left out (missing="skip")
    cost: np.ndarray  # (n,) USD per query (sum over called models)
    choice: np.ndarray  # (n,) chosen model index (-1 for external answers)
    n_missing_choice: int = 0
    n_missing_cost: int = 0


def score_routing(
    routing: Routing, score: np.ndarray, cost: np.ndarray, *, missing: MissingPolicy = "wrong"
) -> ScoredRouting:
    """Score a routing against outcome arrays (rows aligned with the routed queries)."""
    n, m = score.shape
    if routing.score is not None:  # answers from outside the pool
        s = np.asarray(routing.score, dtype=np.float64)
        c = np.asarray(routing.cost if routing.cost is not None else np.full(n, np.nan), float)
        if s.shape != (n,) or c.shape != (n,):
            raise RouterError(f"external routing must give score and cost of shape ({n},)")
        miss = np.isnan(s)
        acc = np.where(miss, 0.0 if missing == "wrong" else np.nan, s)
        return ScoredRouting(
            acc=acc, cost=np.nan_to_num(c), choice=np.full(n, -1), n_missing_choice=int(miss.sum()),
            n_missing_cost=int(np.isnan(c).sum()),
        )
    choice = np.asarray(routing.choice)
    if choice.shape != (n,):
        raise RouterError(f"routing.choice has shape {choice.shape}, expected ({n},)")
    if not np.issubdtype(choice.dtype, np.integer):
        raise RouterError(f"routing.choice must hold integer model indices, got {choice.dtype}")
    if n and (choice.min() < 0 or choice.max() >= m):
        raise RouterError(f"routing.choice has indices outside 0..{m - 1}")
    rows = np.arange(n)
    chosen = score[rows, choice]
    miss = np.isnan(chosen)
    acc = np.where(miss, 0.0 if missing == "wrong" else np.nan, chosen)
    if routing.called is None:
        called = np.zeros((n, m), dtype=bool)
    else:
        called = np.asarray(routing.called, dtype=bool).copy()
        if called.shape != (n, m):
            raise RouterError(f"routing.called has shape {called.shape}, expected ({n}, {m})")
    called[rows, choice] = True  # the chosen answer was paid for
    paid = np.where(called, cost, 0.0)
    cost_missing = called & np.isnan(cost)
    return ScoredRouting(
        acc=acc, cost=np.nansum(paid, axis=1), choice=choice.astype(np.int64),
        n_missing_choice=int(miss.sum()), n_missing_cost=int(cost_missing.sum()),
    )


# -- results ---------------------------------------------------------------------------------


@dataclass
class Point:
    """One routing of the test set (one configuration of one seed)."""

    config: dict[str, Any] | None
    avg_acc: float
    cost: float
    per_dataset: dict[str, float]
    distribution: dict[str, float]
    n_missing_choice: int = 0
    n_missing_cost: int = 0
    route_seconds: float = 0.0
    model: str | None = None  # for single-model references

    def as_dict(self) -> dict[str, Any]:
        d = {
            "config": self.config, "avg_acc": self.avg_acc, "cost": self.cost,
            "per_dataset": self.per_dataset, "distribution": self.distribution,
            "n_missing_choice": self.n_missing_choice, "n_missing_cost": self.n_missing_cost,
        }
        if self.model is not None:
            d["model"] = self.model
        return d


@dataclass
class SeedRun:
    """A router's results for one seed: its default routing and its sweep points."""

    seed: int
    default: Point
    points: list[Point]
    fit_seconds: float = 0.0
    describe: dict[str, Any] = field(default_factory=dict)


@dataclass
class RouterRun:
    name: str
    seeds: list[SeedRun]
    reference: bool = False
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class References:
    """Evaluator-computed reference points for one seed (all scored on its test set)."""

    seed: int
    random: Point
    best_single: Point
    dataset_oracle: Point
    oracle: Point
    cheapest: Point | None  # None when no model has a known cost
    singles: dict[str, Point]
    train_avg_acc: dict[str, float]

    def get(self, name: str) -> Point | None:
        return {
            "random": self.random, "best-single": self.best_single,
            "dataset-oracle": self.dataset_oracle, "oracle": self.oracle,
            "cheapest": self.cheapest,
        }[name]


# -- the evaluator ---------------------------------------------------------------------------


class _EmbeddingTable:
    """Embeds every text of the bench once (through the store cache) and serves lookups.

    Holds only texts and vectors: nothing here leads to outcomes.
    """

    def __init__(self, embedder: Embedder, store: Store | None, texts: Sequence[str],
                 datasets: Sequence[str] | None = None, text_view: TextView = "query"):
        self._embedder = embedder
        self._store = store
        self._texts = list(texts)
        self._datasets = list(datasets) if datasets is not None else ["" for _ in self._texts]
        self.text_view = text_view
        self._index: dict[str, int] | None = None
        self._vectors: np.ndarray | None = None
        self.seconds = 0.0

    def _ensure(self, progress: Callable[[str, float], None] | None = None) -> None:
        if self._vectors is None:
            from routerbench_core.embedding.base import cached_embed, query_views

            t0 = time.perf_counter()
            unique = list(dict.fromkeys(self._texts))
            if self.text_view == "query":
                views = query_views(self._texts, self._datasets)
                embedded = [views[t] for t in unique]
            else:
                embedded = unique
            self._vectors = cached_embed(self._embedder, self._store, embedded,
                                         progress=progress)
            self._index = {t: i for i, t in enumerate(unique)}
            self.seconds += time.perf_counter() - t0

    def lookup(self, progress: Callable[[str, float], None] | None = None) -> _VectorLookup:
        """What routers get: the bench's vectors, computed now (through the store cache), in an
        object that holds no store."""
        self._ensure(progress)
        assert self._index is not None and self._vectors is not None
        return _VectorLookup(self._index, self._vectors, self._embedder)


class _VectorLookup:
    """``embed(texts)`` for routers: rows of precomputed vectors by text, and for other texts
    (model descriptions, task names) the embedder itself, uncached.

    It holds a text → row index, a read-only array and the embedder — no store, no evaluator,
    no outcome matrix — so nothing reachable from it leads to test outcomes.
    """

    __slots__ = ("_embedder", "_index", "_vectors")

    def __init__(self, index: dict[str, int], vectors: np.ndarray, embedder: Embedder) -> None:
        self._index = dict(index)
        self._vectors = np.array(vectors, dtype=np.float32)
        self._vectors.flags.writeable = False
        self._embedder = embedder

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        idx = [self._index.get(t, -1) for t in texts]
        if min(idx, default=0) >= 0:
            return self._vectors[idx]
        from routerbench_core.embedding.base import cached_embed

        return cached_embed(self._embedder, None, list(texts))


class _StoredAnswers:
    """``outputs(model, keys)`` for cascades: the bench's stored answer texts, read once from
    the store by the evaluator; holds only strings (no store handle)."""

    __slots__ = ("_texts",)

    def __init__(self, texts: dict[str, dict[str, str | None]]) -> None:
        self._texts = texts

    def __call__(self, model: str, keys: Sequence[str]) -> list[str | None]:
        by_key = self._texts.get(model, {})
        return [by_key.get(str(k)) for k in keys]


class Evaluator:
    """Runs routers on one outcome matrix under the protocol, one seed at a time.

    :param setting: ``perf`` (one default routing per seed) or ``perf-cost`` (every sweep
        configuration gives a point).
    :param split_source: ``protocol`` (70/30 per dataset) or ``source`` (the queries' own
        train/test labels, given as ``source_splits``; valid is carved from train).
    :param outputs: reader of stored answer texts (for cascades), or None.
    :param text_view: what is embedded: ``query`` (default) strips the template every prompt
        of a dataset shares — few-shot exemplars, instructions — so encoders that truncate see
        the query itself (:func:`routerbench_core.embedding.base.query_views`); ``full`` embeds the
        prompt as stored.
    """

    def __init__(
        self,
        matrix: OutcomeMatrix,
        *,
        setting: Setting = "perf",
        seeds: Sequence[int] = DEFAULT_SEEDS,
        ood: Sequence[str] = (),
        test_fraction: float = DEFAULT_TEST_FRACTION,
        valid_fraction: float = DEFAULT_VALID_FRACTION,
        embedder: Embedder | None = None,
        store: Store | None = None,
        device: str = "cpu",
        missing: MissingPolicy = "wrong",
        split_source: Literal["protocol", "source"] = "protocol",
        source_splits: Sequence[str | None] | None = None,
        outputs: OutputsFn | None = None,
        progress: Callable[[str, float], None] | None = None,
        text_view: TextView = "query",
    ) -> None:
        if setting not in ("perf", "perf-cost"):
            raise ValueError(f"setting must be perf or perf-cost, got {setting!r}")
        check_missing(missing)
        if not seeds:
            raise ValueError("at least one seed is needed")
        if split_source == "source" and source_splits is None:
            raise ValueError("split_source='source' needs source_splits")
        self.matrix = matrix
        self.setting: Setting = setting
        self.seeds = [int(s) for s in seeds]
        self.ood = tuple(ood)
        self.test_fraction = test_fraction
        self.valid_fraction = valid_fraction
        self.device = device
        self.missing: MissingPolicy = missing
        self.split_source = split_source
        self.source_splits = list(source_splits) if source_splits is not None else None
        self.progress = progress
        self.names = matrix.dataset_names()
        self._embed = (
            _EmbeddingTable(embedder, store, matrix.texts, matrix.datasets.tolist(), text_view)
            if embedder else None
        )
        self._outputs = outputs
        self._lookup: _VectorLookup | None = None
        self._answers: _StoredAnswers | None = None
        self._splits: dict[int, Split] = {}
        self._n_unscorable: dict[int, int] = {}
        self._refs: dict[int, References] = {}
        self.unscorable = ~(~np.isnan(matrix.score)).any(axis=1)

    # -- splits and views --------------------------------------------------------------------

    @property
    def embed_seconds(self) -> float:
        return 0.0 if self._embed is None else self._embed.seconds

    def split(self, seed: int) -> Split:
        """The split for ``seed``, with unscorable queries removed from test."""
        if seed not in self._splits:
            m = self.matrix
            if self.split_source == "source":
                assert self.source_splits is not None
                s = split_from_source(m.datasets, m.texts, self.source_splits, seed,
                                      valid_fraction=self.valid_fraction, ood=self.ood)
            else:
                s = make_split(m.datasets, m.texts, seed, test_fraction=self.test_fraction,
                               valid_fraction=self.valid_fraction, ood=self.ood)
            unscorable = self.unscorable[s.test]
            self._n_unscorable[seed] = int(unscorable.sum())
            self._splits[seed] = Split(
                seed=s.seed, train=s.train, valid=s.valid, test=s.test[~unscorable],
                dropped=s.dropped, ood=s.ood, duplicate_rows=s.duplicate_rows, source=s.source,
            )
        return self._splits[seed]

    def n_unscorable_test(self, seed: int) -> int:
        """Test queries dropped because no model has a score on them."""
        self.split(seed)
        return self._n_unscorable[seed]

    # What a router is handed holds plain data and two callables (embeddings by text, stored
    # answers by key) that reference no store, no evaluator and no outcome matrix: walking
    # attributes, closures or gc referents from them never reaches a test outcome.

    def _router_embed(self) -> _VectorLookup | None:
        if self._embed is None:
            return None
        if self._lookup is None:
            self._lookup = self._embed.lookup(self.progress)
        return self._lookup

    def _router_answers(self, wanted: bool) -> _StoredAnswers | None:
        if not wanted or self._outputs is None:
            return None
        if self._answers is None:
            keys = [str(k) for k in self.matrix.keys.tolist()]
            self._answers = _StoredAnswers({
                model: dict(zip(keys, self._outputs(model, keys), strict=True))
                for model in self.matrix.models
            })
        return self._answers

    def _query_view(self, rows: np.ndarray, answers: bool = True, emb: bool = True) -> QuerySet:
        m = self.matrix
        return QuerySet(
            keys=m.keys[rows], datasets=m.datasets[rows], texts=[m.texts[i] for i in rows.tolist()],
            models=list(m.models), _embed=self._router_embed() if emb else None,
            _outputs=self._router_answers(answers),
        )

    def _labeled_view(self, rows: np.ndarray, answers: bool = True, emb: bool = True
                      ) -> LabeledSet:
        m = self.matrix
        return LabeledSet(
            keys=m.keys[rows], datasets=m.datasets[rows], texts=[m.texts[i] for i in rows.tolist()],
            models=list(m.models), _embed=self._router_embed() if emb else None,
            _outputs=self._router_answers(answers),
            score=m.score[rows], cost=m.cost[rows], prompt_tokens=m.prompt_tokens[rows],
            completion_tokens=m.completion_tokens[rows], missing=self.missing,
        )

    def views(self, seed: int, *, answers: bool = True, embeddings: bool = True
              ) -> tuple[LabeledSet, LabeledSet, QuerySet]:
        """(train, valid, test queries) for ``seed``: what a router is given. ``answers``: hand
        over the stored answer texts (read from the store once, for routers that read them);
        ``embeddings``: hand over the embeddings (computed once, for routers that need them)."""
        s = self.split(seed)
        return (self._labeled_view(s.train, answers, embeddings),
                self._labeled_view(s.valid, answers, embeddings),
                self._query_view(s.test, answers, embeddings))

    def context(self, seed: int) -> RouterContext:
        return RouterContext(
            models=list(self.matrix.models), model_specs=dict(self.matrix.model_specs),
            setting=self.setting, seed=seed, device=self.device, bench=self.matrix.bench,
            progress=self.progress, missing=self.missing,
        )

    # -- scoring -----------------------------------------------------------------------------

    def _point(
        self, scored: ScoredRouting, rows: np.ndarray, config: dict[str, Any] | None,
        seconds: float = 0.0, model: str | None = None,
    ) -> Point:
        ds = self.matrix.datasets[rows]
        per = per_dataset_mean(scored.acc, ds, self.names)
        per = {k: v for k, v in per.items() if (ds == k).any()}
        counts = np.bincount(scored.choice[scored.choice >= 0], minlength=self.matrix.n_models)
        total = max(len(scored.choice), 1)
        return Point(
            config=config, avg_acc=average_over_datasets(per), cost=float(scored.cost.sum()),
            per_dataset=per,
            distribution={n: float(c) / total for n, c in zip(self.matrix.models, counts, strict=True)},
            n_missing_choice=scored.n_missing_choice, n_missing_cost=scored.n_missing_cost,
            route_seconds=seconds, model=model,
        )

    def score(self, seed: int, routing: Routing, config: dict[str, Any] | None = None) -> Point:
        """Score a routing of ``seed``'s test queries."""
        rows = self.split(seed).test
        m = self.matrix
        scored = score_routing(routing, m.score[rows], m.cost[rows], missing=self.missing)
        return self._point(scored, rows, config)

    def references(self, seed: int) -> References:
        """Reference points for ``seed``: random (expected), best single (chosen on train+valid),
        dataset oracle, oracle, cheapest (chosen on train+valid) and every single model."""
        if seed in self._refs:
            return self._refs[seed]
        m = self.matrix
        s = self.split(seed)
        rows = s.test
        score, cost = m.score[rows], m.cost[rows]
        n, k = score.shape
        singles = {
            name: self._point(
                score_routing(Routing(choice=np.full(n, j)), score, cost, missing=self.missing),
                rows, None, model=name,
            )
            for j, name in enumerate(m.models)
        }
        # best single and cheapest: chosen on train + valid by the shared rules
        fit = np.concatenate([s.train, s.valid])
        train_acc = avg_acc(m.score[fit], m.datasets[fit], self.missing)
        fit_cost = mean_cost(m.cost[fit])
        train_avg = {name: float(train_acc[j]) for j, name in enumerate(m.models)}
        best = m.models[best_index(train_acc, fit_cost)]
        cheapest_j = cheapest_index(fit_cost, train_acc)

        # random: expected accuracy and cost of a uniform pick among the models
        filled = apply_missing(score, self.missing)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            exp_acc = np.nanmean(filled, axis=1)
            exp_cost = np.nanmean(cost, axis=1)
        rnd = ScoredRouting(acc=exp_acc, cost=np.nan_to_num(exp_cost), choice=np.full(n, -1),
                            n_missing_cost=int(np.isnan(cost).sum()))
        random_pt = self._point(rnd, rows, None)
        random_pt.distribution = {name: 1.0 / k for name in m.models}

        # dataset oracle: the model best on each dataset's test queries
        dchoice = dataset_oracle_choice(score, cost, m.datasets[rows], self.missing)
        dso = self._point(score_routing(Routing(choice=dchoice), score, cost, missing=self.missing),
                          rows, None)

        # oracle: per query the best score; among the models reaching it the cheapest known
        ochoice = oracle_choice(score, cost)
        oracle = self._point(score_routing(Routing(choice=ochoice), score, cost, missing=self.missing),
                             rows, None)

        refs = References(
            seed=seed, random=random_pt, best_single=singles[best], dataset_oracle=dso,
            oracle=oracle, cheapest=None if cheapest_j is None else singles[m.models[cheapest_j]],
            singles=singles,
            train_avg_acc=train_avg,
        )
        self._refs[seed] = refs
        return refs

    # -- running routers ---------------------------------------------------------------------

    def run(
        self, factory: RouterFactory, *, name: str, params: Mapping[str, Any] | None = None,
        on_seed: Callable[[int], None] | None = None,
    ) -> RouterRun:
        """Fit and route ``factory(ctx, **params)`` on every seed.

        When ``factory`` is a router class its parameters are validated first, so a bad value
        fails before any training, naming ``name``."""
        params = dict(params or {})
        if isinstance(factory, type) and issubclass(factory, Router):
            factory.validate_params(params, name)
        out: list[SeedRun] = []
        for seed in self.seeds:
            router = factory(self.context(seed), **params)
            if self.setting not in getattr(router, "settings", ("perf",)):
                raise RouterError(
                    f"router {name!r} does not support the {self.setting} setting "
                    f"(it supports: {', '.join(router.settings)})"
                )
            train, valid, test = self.views(
                seed, answers=bool(getattr(router, "reads_answers", False)),
                embeddings=bool(getattr(router, "needs_embeddings", True)))
            t0 = time.perf_counter()
            router.fit(train, valid)
            fit_s = time.perf_counter() - t0
            default = self._route(router, seed, test, None)
            points = [default]
            if self.setting == "perf-cost":
                points = [self._route(router, seed, test, dict(c)) for c in router.sweep()]
                if not points:
                    raise RouterError(f"router {name!r} returned an empty sweep()")
            out.append(SeedRun(seed=seed, default=default, points=points, fit_seconds=fit_s,
                               describe=router.describe()))
            if on_seed is not None:
                on_seed(seed)
        return RouterRun(name=name, seeds=out, params=params)

    def _route(self, router: Router, seed: int, test: QuerySet, config: dict[str, Any] | None) -> Point:
        t0 = time.perf_counter()
        routing = router.route(test, config)
        seconds = time.perf_counter() - t0
        if not isinstance(routing, Routing):
            raise RouterError(
                f"{type(router).__name__}.route returned {type(routing).__name__}, not a Routing"
            )
        point = self.score(seed, routing, config)
        point.route_seconds = seconds
        return point

    def run_reference(self, name: str, on_seed: Callable[[int], None] | None = None) -> RouterRun:
        """A reference (random / dataset-oracle / oracle) as a run, one point per seed."""
        if name not in REFERENCES:
            raise ValueError(f"{name!r} is not a reference; references: {', '.join(REFERENCES)}")
        seeds = []
        for seed in self.seeds:
            p = self.references(seed).get(name)
            seeds.append(SeedRun(seed=seed, default=p, points=[p]))
            if on_seed is not None:
                on_seed(seed)
        return RouterRun(name=name, seeds=seeds, reference=True)


# -- running registered routers ----------------------------------------------------------------


def router_class(host: Any, name: str) -> type[Router]:
    """The class registered as router ``name`` (with "did you mean" errors from the host)."""
    return host.load("router", name)


def needs_embeddings(host: Any, names: Sequence[str]) -> bool:
    """Whether any of these routers needs query embeddings (references never do)."""
    from routerbench_core.routing.baselines import reference_name

    for name in names:
        cls = router_class(host, name)
        if reference_name(cls) is None and getattr(cls, "needs_embeddings", True):
            return True
    return False


def run_registered(
    ev: Evaluator, host: Any, name: str, params: Mapping[str, Any] | None = None,
    on_seed: Callable[[int], None] | None = None,
) -> RouterRun:
    """Run the router registered as ``name``; references are computed by the evaluator."""
    from routerbench_core.routing.baselines import reference_name

    cls = router_class(host, name)
    ref = reference_name(cls)
    if ref is not None:
        if params:
            raise RouterError(f"{name!r} is a reference and takes no parameters")
        return ev.run_reference(ref, on_seed=on_seed)
    return ev.run(cls, name=name, params=params, on_seed=on_seed)


def run_all(
    ev: Evaluator, host: Any, names: Sequence[str],
    params: Mapping[str, Mapping[str, Any]] | None = None,
    on_seed: Callable[[str, int], None] | None = None,
) -> list[RouterRun]:
    """Run several registered routers/references in order (what ``rbench route`` does);
    ``on_seed(router, seed)`` is called after each seed, e.g. to advance a progress bar."""
    runs = []
    for name in names:
        cb = None if on_seed is None else (lambda s, _n=name: on_seed(_n, s))
        runs.append(run_registered(ev, host, name, (params or {}).get(name), on_seed=cb))
    return runs
