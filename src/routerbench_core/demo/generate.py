"""The embedded demo benchmark: a SYNTHETIC outcome matrix calibrated to published figures.

Why it exists: ``rbench demo`` must show the whole routing job on a fresh clone with nothing to
download. So rbench generates, deterministically from a seed, a benchmark whose per-model,
per-dataset accuracies and costs are those the LLMRouterBench paper published (see
:mod:`routerbench_core.demo.tables`), and whose per-query outcomes have the structure routers
live on: shared difficulty (models agree on what is hard), sub-topic skills (models disagree in
ways the query text reveals) and hidden query factors (models disagree in ways nothing reveals).

The outcome model is an item-response model. For query ``q`` of dataset ``d`` and model ``m``::

    y[q, m] = -σ_b·difficulty[q] + σ_u·skill[m, topic(q)] + σ_z·<v[m], z[q]>/√K + ε[q, m]

with ε logistic. Model ``m`` answers correctly the ``k = round(acc[m, d]·n_d)`` queries of
``d`` with the highest ``y`` — equivalently, its ability on ``d`` is the threshold fitted so its
accuracy on ``d`` equals the published one (exactly at the paper's sizes, to within 1/(2·n_d)
when scaled down; ArenaHard, judged pairwise, also has ties scored 0.5). σ_b, the weight of shared difficulty, is fitted by bisection so that the
Oracle (some model right) matches the paper's Oracle row; σ_u and σ_z are fixed.

Costs (performance–cost setting): the paper's total USD per model and dataset divided by the
paper's dataset size gives the mean cost per query; each query's cost varies with its length and
difficulty and with per-call noise, renormalised so each model–dataset mean stays the published
one. Costs are then split into prompt and completion tokens under assumed list prices, and
recomputed from the integer token counts, so ``cost == price(tokens)`` for every cell.

Everything here is pure numpy. Nothing is read from disk.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from routerbench_core.data.matrix import OutcomeMatrix
from routerbench_core.demo import tables
from routerbench_core.demo.text import DATASETS, write_text
from routerbench_core.schema import ModelSpec, Query

if TYPE_CHECKING:
    from routerbench_core.data.store import Store

DemoSetting = Literal["perf", "perf-cost"]
SETTINGS: tuple[DemoSetting, ...] = ("perf", "perf-cost")

GENERATOR_VERSION = "1"
SOURCE = "rbench-demo"
LABEL = "SYNTHETIC"
GRADER = "rbench-demo"
#: Default cap on queries per dataset: small enough that ``rbench demo`` runs in under a minute.
DEFAULT_MAX_PER_DATASET = 100
DEFAULT_SEED = 0

#: Fixed weights of the outcome model (σ_b is fitted); ε is standard logistic (sd ≈ 1.81).
SIGMA_TOPIC = 1.2
SIGMA_HIDDEN = 0.8
LATENT_DIM = 4
#: Input share of the cost of agentic datasets (many turns re-send a long context).
AGENTIC_INPUT_SHARE = 0.8
MIN_COMPLETION_TOKENS = 4
#: Datasets judged pairwise (1 / 0.5 / 0) and the share of ties each model gets there.
TIE_SHARE: dict[str, float] = {"ArenaHard": 0.15}


class DemoError(ValueError):
    """Bad demo options (unknown setting, non-positive size, ...)."""


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _rng(seed: int, *parts: str) -> np.random.Generator:
    """A generator seeded from the demo seed and names, so each dataset's draws are its own."""
    return np.random.default_rng(np.random.SeedSequence([seed, *(_crc(p) for p in parts)]))


@dataclass(frozen=True)
class Published:
    """The published figures of one setting, as arrays (accuracy as a fraction, NaN = not run)."""

    setting: DemoSetting
    models: list[str]
    datasets: list[str]
    accuracy: np.ndarray  # (models, datasets)
    full_sizes: dict[str, int]
    total_usd: np.ndarray | None  # (models, datasets)
    oracle_target: str


def published(setting: DemoSetting) -> Published:
    """The paper's accuracy (and, for perf-cost, total cost) tables for ``setting``."""
    if setting == "perf":
        acc_table, columns, sizes = tables.TABLE6, tables.TABLE6_COLUMNS, tables.PERF_SIZES
        usd = None
        target = f"Oracle AvgAcc {tables.PERF_ORACLE_ACC} (Table 7)"
    elif setting == "perf-cost":
        acc_table, columns, sizes = tables.TABLE9, tables.TABLE9_COLUMNS, tables.PERFCOST_SIZES
        usd = np.array(
            [[np.nan if v is None else v for v in row[: len(columns)]]
             for row in tables.TABLE10.values()],
            dtype=np.float64,
        )
        target = (
            f"Oracle PerfGain {tables.PERFCOST_ORACLE_PERF_GAIN} over "
            f"{tables.PERFCOST_REFERENCE_MODEL} (Table 8)"
        )
    else:
        raise DemoError(f"unknown demo setting {setting!r}; choose one of {', '.join(SETTINGS)}")
    acc = np.array(
        [[np.nan if v is None else v / 100.0 for v in row] for row in acc_table.values()],
        dtype=np.float64,
    )
    return Published(
        setting=setting, models=list(acc_table), datasets=list(columns), accuracy=acc,
        full_sizes=dict(sizes), total_usd=usd, oracle_target=target,
    )


def dataset_sizes(setting: DemoSetting, max_per_dataset: int | None) -> dict[str, int]:
    """The paper's sizes, each capped at ``max_per_dataset`` (None = full size)."""
    if max_per_dataset is not None and max_per_dataset < 10:
        raise DemoError(
            f"max_per_dataset={max_per_dataset} is too small to calibrate accuracies; use 10 or "
            "more, or None for the paper's full sizes"
        )
    full = published(setting).full_sizes
    if max_per_dataset is None:
        return dict(full)
    return {d: min(n, max_per_dataset) for d, n in full.items()}


def bench_name(setting: DemoSetting, max_per_dataset: int | None = DEFAULT_MAX_PER_DATASET,
               seed: int = DEFAULT_SEED) -> str:
    """``demo-perf`` / ``demo-perf-cost``, with ``-full`` and ``-s<seed>`` where not default."""
    name = f"demo-{setting}"
    if max_per_dataset is None:
        name += "-full"
    elif max_per_dataset != DEFAULT_MAX_PER_DATASET:
        name += f"-n{max_per_dataset}"
    if seed != DEFAULT_SEED:
        name += f"-s{seed}"
    return name


@dataclass
class DemoBench:
    """A generated demo benchmark: queries, models and the outcome arrays (queries × models)."""

    name: str
    setting: DemoSetting
    models: list[ModelSpec]
    queries: list[Query]
    score: np.ndarray
    cost: np.ndarray
    prompt_tokens: np.ndarray
    completion_tokens: np.ndarray
    latency: np.ndarray
    topics: np.ndarray
    difficulty: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def model_names(self) -> list[str]:
        return [m.name for m in self.models]

    @property
    def datasets(self) -> np.ndarray:
        return np.array([q.dataset for q in self.queries], dtype=object)

    def to_matrix(self) -> OutcomeMatrix:
        """The outcome matrix, as :meth:`Store.load_matrix` would return it after :meth:`write`."""
        n, m = self.score.shape
        missing = np.isnan(self.score)
        source = "free" if self.setting == "perf" else "priced"
        cost_source = np.where(missing, None, source).astype(object)
        return OutcomeMatrix(
            bench=self.name, models=self.model_names,
            keys=np.array([q.key for q in self.queries], dtype=object),
            datasets=self.datasets, texts=[q.text for q in self.queries],
            score=self.score.copy(), cost=self.cost.copy(),
            prompt_tokens=self.prompt_tokens.copy(),
            completion_tokens=self.completion_tokens.copy(), latency=self.latency.copy(),
            failed=np.zeros((n, m), dtype=bool), model_specs={s.name: s for s in self.models},
            cost_source=cost_source, metadata=dict(self.metadata),
        )

    def write(self, store: Store, name: str | None = None) -> str:
        """Store the bench (one transaction: all or nothing). Returns its name.

        Cells the paper did not run (GPT-5-Chat on Tau2-Bench) get no response at all, so they
        load as missing, never as a failure or a zero.
        """
        from routerbench_core.data.store import _dumps

        name = name or self.name
        created = time.time()
        source = "free" if self.setting == "perf" else "priced"
        with store.transaction() as conn:
            bench_id = store.create_bench(name, source=SOURCE, metadata=self.metadata, conn=conn)
            store.add_models(bench_id, self.models, conn=conn)
            store.add_queries(bench_id, self.queries, conn=conn)
            qi, mi = np.nonzero(~np.isnan(self.score))
            responses = []
            grades = []
            details = _dumps({"synthetic": True})
            for q, m in zip(qi.tolist(), mi.tolist(), strict=True):
                responses.append((
                    bench_id, q, m, None, int(self.prompt_tokens[q, m]),
                    int(self.completion_tokens[q, m]), None, None, float(self.cost[q, m]),
                    source, float(self.latency[q, m]), None, None, created, details,
                ))
                grades.append((
                    bench_id, q, m, float(self.score[q, m]), None, GRADER, GENERATOR_VERSION,
                    details, created,
                ))
            store.write_response_rows(conn, responses)
            store.write_grade_rows(conn, grades)
        return name


# -- the outcome model ---------------------------------------------------------------------


@dataclass
class _DatasetDraws:
    name: str
    topics: np.ndarray  # topic index into the dataset's topic list
    topic_names: list[str]
    difficulty: np.ndarray
    hidden: np.ndarray  # (n, K)
    noise: np.ndarray  # (n, M) logistic
    texts: list[str]
    cost_noise: np.ndarray  # (n, M) normal
    context: np.ndarray  # (n,) multiplier of the context tokens


def _draw_dataset(seed: int, setting: str, dataset: str, n: int, n_models: int) -> _DatasetDraws:
    spec = DATASETS[dataset]
    rng = _rng(seed, setting, dataset)
    topic_names = list(spec.topics)
    weights = rng.dirichlet(np.full(len(topic_names), 4.0))
    topics = rng.choice(len(topic_names), size=n, p=weights)
    difficulty = rng.standard_normal(n)
    hidden = rng.standard_normal((n, LATENT_DIM))
    noise = rng.logistic(0.0, 1.0, size=(n, n_models))
    cost_noise = rng.standard_normal((n, n_models))
    context = np.exp(rng.normal(0.0, 0.15, size=n))
    text_rng = _rng(seed, setting, dataset, "text")
    texts: list[str] = []
    seen: set[str] = set()
    for i in range(n):
        for _ in range(100):
            text = write_text(spec, topic_names[topics[i]], float(difficulty[i]), text_rng)
            if text not in seen:
                break
        else:  # pragma: no cover - the vocabularies are far larger than any dataset
            raise DemoError(f"could not write {n} distinct texts for {dataset}")
        seen.add(text)
        texts.append(text)
    return _DatasetDraws(
        name=dataset, topics=topics, topic_names=topic_names, difficulty=difficulty,
        hidden=hidden, noise=noise, texts=texts, cost_noise=cost_noise, context=context,
    )


def _correct(utility: np.ndarray, points: np.ndarray, tie_share: float = 0.0) -> np.ndarray:
    """Per column ``m``, scores summing to ``points[m]``, given to the highest utilities.

    Binary datasets: 1.0 for the ``points[m]`` best queries, 0.0 elsewhere. Pairwise-judged
    datasets (``tie_share > 0``) also have ties scored 0.5: the next-best band of about
    ``tie_share`` of the queries. NaN points (a model the paper did not run) give NaN scores.
    """
    n, n_models = utility.shape
    order = np.argsort(-utility, axis=0, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(n)[:, None].repeat(n_models, 1), axis=0)
    two_k = np.round(2 * np.nan_to_num(points, nan=0.0))
    if tie_share > 0:
        wins = np.maximum(np.floor((two_k - round(tie_share * n)) / 2), 0)
        ties = two_k - 2 * wins
        over = wins + ties > n
        wins = np.where(over, two_k - n, wins)
        ties = np.where(over, 2 * n - two_k, ties)
    else:
        wins = np.floor(two_k / 2)
        ties = np.zeros(n_models)
    out = np.where(ranks < wins[None, :], 1.0, np.where(ranks < (wins + ties)[None, :], 0.5, 0.0))
    out[:, np.isnan(points)] = np.nan
    return out


def _oracle_acc(blocks: Sequence[np.ndarray]) -> float:
    """Mean over datasets of the share of queries some model answers correctly."""
    return float(np.mean([np.nanmax(b, axis=1).mean() for b in blocks]))


def generate(
    setting: DemoSetting,
    *,
    seed: int = DEFAULT_SEED,
    max_per_dataset: int | None = DEFAULT_MAX_PER_DATASET,
) -> DemoBench:
    """Generate the demo bench of ``setting`` (deterministic in ``seed`` and the size cap)."""
    pub = published(setting)
    sizes = dataset_sizes(setting, max_per_dataset)
    n_models = len(pub.models)
    model_rng = _rng(seed, setting, "models")
    all_topics = [f"{d}/{t}" for d in pub.datasets for t in DATASETS[d].topics]
    skill = model_rng.standard_normal((n_models, len(all_topics)))
    skill_index = {t: i for i, t in enumerate(all_topics)}
    loadings = model_rng.standard_normal((n_models, LATENT_DIM))

    draws = [_draw_dataset(seed, setting, d, sizes[d], n_models) for d in pub.datasets]
    # The parts of the utility that do not depend on the fitted σ_b.
    rest: list[np.ndarray] = []
    ks: list[np.ndarray] = []
    for j, dr in enumerate(draws):
        cols = np.array([skill_index[f"{dr.name}/{dr.topic_names[t]}"] for t in dr.topics])
        topic_part = skill[:, cols].T  # (n, M)
        hidden_part = dr.hidden @ loadings.T / np.sqrt(LATENT_DIM)
        rest.append(SIGMA_TOPIC * topic_part + SIGMA_HIDDEN * hidden_part + dr.noise)
        n = len(dr.texts)
        unit = 2.0 if dr.name in TIE_SHARE else 1.0  # half points where ties score 0.5
        ks.append(np.round(pub.accuracy[:, j] * n * unit) / unit)

    def outcomes(sigma_b: float) -> list[np.ndarray]:
        return [
            _correct(r - sigma_b * dr.difficulty[:, None], k, TIE_SHARE.get(dr.name, 0.0))
            for r, dr, k in zip(rest, draws, ks, strict=True)
        ]

    def oracle_target(blocks: list[np.ndarray]) -> float:
        if setting == "perf":
            return tables.PERF_ORACLE_ACC / 100.0
        ref = pub.models.index(tables.PERFCOST_REFERENCE_MODEL)
        ref_acc = float(np.mean([b[:, ref].mean() for b in blocks]))
        return (1.0 + tables.PERFCOST_ORACLE_PERF_GAIN) * ref_acc

    # Oracle accuracy falls as shared difficulty grows: bisect σ_b onto the published Oracle.
    lo, hi = 0.0, 12.0
    target = oracle_target(outcomes(0.0))
    if _oracle_acc(outcomes(lo)) <= target:
        sigma_b = lo
    elif _oracle_acc(outcomes(hi)) >= target:
        sigma_b = hi
    else:
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            if _oracle_acc(outcomes(mid)) > target:
                lo = mid
            else:
                hi = mid
        sigma_b = 0.5 * (lo + hi)
    blocks = outcomes(sigma_b)
    oracle = _oracle_acc(blocks)

    specs = _model_specs(setting, pub.models)
    queries: list[Query] = []
    for dr in draws:
        for i, text in enumerate(dr.texts):
            queries.append(Query(
                dataset=dr.name, id=f"{i:05d}", text=text,
                metadata={
                    "category": dr.topic_names[dr.topics[i]],
                    "difficulty": round(float(dr.difficulty[i]), 4),
                    "synthetic": True,
                },
            ))
    score = np.concatenate(blocks, axis=0)
    pt, ct, cost, latency = _tokens_and_costs(setting, pub, draws, blocks, specs, seed)
    nan = np.isnan(score)
    for arr in (pt, ct, cost, latency):
        arr[nan] = np.nan
    metadata = {
        "synthetic": True,
        "label": LABEL,
        "source": SOURCE,
        "setting": setting,
        "seed": seed,
        "max_per_dataset": max_per_dataset,
        "generator_version": GENERATOR_VERSION,
        "citation": tables.CITATION,
        "calibration": {
            "accuracy": "Table 6" if setting == "perf" else "Table 9",
            "cost": None if setting == "perf" else "Table 10 (total USD / dataset size)",
            "oracle_target": pub.oracle_target,
            "oracle_acc": round(oracle, 4),
            "oracle_target_acc": round(target, 4),
            "sigma_difficulty": round(sigma_b, 4),
            "sigma_topic": SIGMA_TOPIC,
            "sigma_hidden": SIGMA_HIDDEN,
            "prices": "assumed list prices, not from the paper" if setting == "perf-cost"
            else "none: the paper's performance setting is self-hosted and unpriced",
        },
        "description": (
            "SYNTHETIC demo benchmark generated by rbench, calibrated to published per-model, "
            "per-dataset figures of arXiv:2601.07206; outcomes are simulated, not real answers"
        ),
    }
    return DemoBench(
        name=bench_name(setting, max_per_dataset, seed), setting=setting, models=specs,
        queries=queries, score=score, cost=cost, prompt_tokens=pt, completion_tokens=ct,
        latency=latency,
        topics=np.array([dr.topic_names[t] for dr in draws for t in dr.topics], dtype=object),
        difficulty=np.concatenate([dr.difficulty for dr in draws]), metadata=metadata,
    )


def _model_specs(setting: DemoSetting, models: list[str]) -> list[ModelSpec]:
    if setting == "perf":
        return [
            ModelSpec(
                name=m, input_price=0.0, output_price=0.0,
                description=(
                    f"{m}: small open model from the paper's performance setting (self-hosted; "
                    "the paper gives no prices, so the demo charges $0). SYNTHETIC outcomes."
                ),
                size="~7-9B",
            )
            for m in models
        ]
    return [
        ModelSpec(
            name=m, input_price=tables.PERFCOST_PRICES[m][0],
            output_price=tables.PERFCOST_PRICES[m][1],
            description=(
                f"{m}: flagship model from the paper's performance-cost setting; prices are "
                "assumed list prices. SYNTHETIC outcomes."
            ),
        )
        for m in models
    ]


def _tokens_and_costs(
    setting: DemoSetting, pub: Published, draws: list[_DatasetDraws], blocks: list[np.ndarray],
    specs: list[ModelSpec], seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Prompt/completion tokens, cost and latency per cell (see the module docstring)."""
    n_models = len(specs)
    model_rng = _rng(seed, setting, "serving")
    ttft = model_rng.uniform(0.3, 1.5, size=n_models)
    speed = model_rng.uniform(40.0, 160.0, size=n_models)  # completion tokens per second
    pts, cts, costs, lats = [], [], [], []
    for j, (dr, block) in enumerate(zip(draws, blocks, strict=True)):
        spec = DATASETS[dr.name]
        n = len(dr.texts)
        words = np.array([len(t.split()) for t in dr.texts], dtype=np.float64)
        base_pt = np.round(1.35 * words + spec.context_tokens * dr.context)
        wrong = np.nan_to_num(1.0 - block, nan=0.0)
        if setting == "perf":
            reasoning = np.array([m in tables.PERF_REASONING_MODELS for m in pub.models])
            per_model = np.where(reasoning, 2400.0, 380.0)
            kind = {"math": 1.5, "code": 1.2, "logic": 1.3}.get(spec.category, 0.6)
            ct = per_model[None, :] * kind * np.exp(
                0.45 * dr.difficulty[:, None] + 0.35 * dr.cost_noise + 0.25 * wrong
            )
            ct = np.maximum(np.round(ct), MIN_COMPLETION_TOKENS)
            pt = np.repeat(base_pt[:, None], n_models, axis=1)
            cost = np.zeros((n, n_models))
        else:
            assert pub.total_usd is not None
            mean_cost = pub.total_usd[:, j] / pub.full_sizes[dr.name]  # (M,) NaN = not run
            raw = np.exp(
                0.45 * dr.difficulty[:, None] + 0.4 * dr.cost_noise + 0.15 * wrong
                + 0.3 * np.log(words / words.mean())[:, None]
            )
            target = raw / raw.mean(axis=0, keepdims=True) * mean_cost[None, :]
            price_in = np.array([s.input_price for s in specs], dtype=np.float64)
            price_out = np.array([s.output_price for s in specs], dtype=np.float64)
            target = np.nan_to_num(target, nan=0.0)
            if spec.category == "agentic":
                pt = np.round(AGENTIC_INPUT_SHARE * target / price_in * 1e6)
                ct = np.round((1 - AGENTIC_INPUT_SHARE) * target / price_out * 1e6)
            else:
                pt = np.repeat(base_pt[:, None], n_models, axis=1)
                ct = np.round((target - pt * price_in / 1e6) / price_out * 1e6)
            ct = np.maximum(ct, MIN_COMPLETION_TOKENS)
            pt = np.maximum(pt, 1)
            cost = (pt * price_in + ct * price_out) / 1e6
        latency = ttft[None, :] + ct / speed[None, :] * np.exp(0.2 * dr.cost_noise)
        pts.append(pt)
        cts.append(ct)
        costs.append(cost)
        lats.append(np.round(latency, 3))
    return (
        np.concatenate(pts).astype(np.float64), np.concatenate(cts).astype(np.float64),
        np.concatenate(costs), np.concatenate(lats),
    )


def describe(bench: DemoBench) -> str:
    """A one-paragraph description of a generated bench, with its SYNTHETIC label."""
    cal = bench.metadata["calibration"]
    n, m = bench.score.shape
    return (
        f"{LABEL}: bench {bench.name!r} — {n} generated queries × {m} models "
        f"({len(set(bench.datasets.tolist()))} datasets), calibrated to {tables.CITATION}; "
        f"Oracle {100 * cal['oracle_acc']:.2f} vs target {100 * cal['oracle_target_acc']:.2f}."
    )



def ensure_in_store(store: Store, bench: DemoBench) -> tuple[str, str]:
    """Put ``bench`` in ``store`` under its name; returns (name, what happened).

    An identical demo bench already there is reused (its cached embeddings too). A demo bench
    of the same name made with other options is regenerable, so it is replaced. Any other
    bench of that name is never touched: that is an error.
    """
    name = bench.name
    if not store.has_bench(name):
        bench.write(store)
        return name, "generated"
    summary = store.summary(name)
    if summary.source != SOURCE:
        raise DemoError(
            f"the store {store.path} already holds a bench named {name!r} that is not an rbench "
            "demo bench; use another store (--store or --out) so it is not touched"
        )
    keys = ("generator_version", "setting", "seed", "max_per_dataset")
    same = all(summary.metadata.get(k) == bench.metadata.get(k) for k in keys)
    if same and summary.n_queries == len(bench.queries):
        return name, "reused"
    store.delete_bench(name)
    bench.write(store)
    return name, "regenerated"
