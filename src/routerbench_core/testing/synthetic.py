"""A synthetic outcome matrix whose right answers are known, for testing routers and metrics.

Queries fall into topic clusters; each cluster's texts are drawn from that topic's vocabulary,
so any embedder that keeps words apart (the ``hashing`` embedder is enough) separates them.
In each cluster one model — its expert — is right (almost) always and the others are right
with a low base rate. Datasets are assigned independently of clusters, so choosing a model per
dataset does not help much: only a router that reads the text can approach the oracle.

Everything is drawn from ``numpy.random.default_rng(seed)``, so the bench is reproducible.
The matrix metadata says ``synthetic: true`` so reports label it SYNTHETIC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from routerbench_core.data.matrix import OutcomeMatrix
from routerbench_core.schema import ModelSpec

GENERATOR_VERSION = "1"

_TOPICS: dict[str, list[str]] = {
    "algebra": "equation polynomial variable solve root quadratic factor coefficient linear "
    "matrix integer sum product expression inequality".split(),
    "biology": "cell protein gene enzyme membrane organism species evolution tissue dna "
    "mitochondria photosynthesis bacteria virus neuron".split(),
    "history": "empire war treaty king revolution century dynasty colony battle parliament "
    "ancient medieval republic constitution monarchy".split(),
    "code": "function python list return loop string array recursion class compile "
    "variable index dictionary sort algorithm".split(),
    "chemistry": "molecule atom bond reaction acid base oxidation electron ion compound "
    "solution catalyst isotope valence titration".split(),
    "geography": "river mountain capital continent ocean climate desert border population "
    "island latitude plateau delta glacier valley".split(),
    "music": "melody chord rhythm symphony composer tempo harmony scale orchestra sonata "
    "note pitch opera concerto piano".split(),
    "law": "court contract statute plaintiff defendant tort liability jurisdiction appeal "
    "evidence verdict clause negligence precedent judge".split(),
}
_FILLER = "what which how the of a is in for to explain why given find".split()


@dataclass(frozen=True)
class SyntheticBench:
    """The matrix plus its ground truth: each query's cluster and its cluster's expert model."""

    matrix: OutcomeMatrix
    cluster: np.ndarray
    expert: np.ndarray
    topics: list[str]


def make_synthetic_bench(
    *,
    n_clusters: int = 4,
    n_models: int = 4,
    queries_per_cluster: int = 60,
    datasets: Sequence[str] = ("syn-a", "syn-b", "syn-c"),
    expert_accuracy: float = 0.95,
    base_accuracy: float = 0.25,
    costs: Sequence[float] | None = None,
    missing_rate: float = 0.0,
    seed: int = 0,
    bench: str = "synthetic",
) -> SyntheticBench:
    """Build a synthetic bench (see the module docstring).

    :param costs: USD per query for each model (default ``0.001 * 2**j``: model 0 cheapest).
    :param missing_rate: share of cells left missing (NaN score and cost), to test NaN handling.
    """
    if n_models < 2 or n_clusters < 1 or queries_per_cluster < 1:
        raise ValueError("need at least 2 models, 1 cluster and 1 query per cluster")
    rng = np.random.default_rng(seed)
    topic_names = list(_TOPICS)
    topics = [topic_names[c % len(topic_names)] + ("" if c < len(topic_names) else f"{c}")
              for c in range(n_clusters)]
    models = [f"model-{j}" for j in range(n_models)]
    cost_per_model = np.asarray(
        costs if costs is not None else [0.001 * 2**j for j in range(n_models)], dtype=np.float64
    )
    if cost_per_model.shape != (n_models,):
        raise ValueError(f"costs must have {n_models} entries")

    n = n_clusters * queries_per_cluster
    cluster = np.repeat(np.arange(n_clusters), queries_per_cluster)
    rng.shuffle(cluster)
    expert = cluster % n_models
    texts: list[str] = []
    for i, c in enumerate(cluster.tolist()):
        vocab = _TOPICS[topic_names[c % len(topic_names)]]
        words = list(rng.choice(vocab, size=7)) + list(rng.choice(_FILLER, size=3))
        if c >= len(topic_names):  # extra clusters get their own marker words
            words += [f"{topics[c]}x{k}" for k in rng.integers(0, 5, size=3)]
        rng.shuffle(words)
        texts.append(f"Q{i}: " + " ".join(str(w) for w in words) + "?")
    ds_names = list(datasets)
    ds = np.array([ds_names[i] for i in rng.integers(0, len(ds_names), size=n)], dtype=object)
    # make every dataset non-empty
    for j, name in enumerate(ds_names[: min(len(ds_names), n)]):
        ds[j] = name

    p = np.full((n, n_models), base_accuracy)
    p[np.arange(n), expert] = expert_accuracy
    score = (rng.random((n, n_models)) < p).astype(np.float64)
    length = np.array([len(t) for t in texts], dtype=np.float64)
    cost = cost_per_model[None, :] * (0.5 + length[:, None] / length.mean() / 2)
    hole = rng.random((n, n_models)) < missing_rate
    if missing_rate > 0:
        score[hole] = np.nan
        cost[hole] = np.nan
    keys = np.array([f"{ds[i]}/{i}" for i in range(n)], dtype=object)
    prompt_tokens = np.repeat(np.ceil(length / 4)[:, None], n_models, axis=1)
    completion_tokens = np.tile(64.0 * (1 + 0.25 * np.arange(n_models)), (n, 1))
    latency = completion_tokens / 50.0
    if missing_rate > 0:
        for grid in (prompt_tokens, completion_tokens, latency):
            grid[hole] = np.nan
    specs = {
        name: ModelSpec(
            name=name, input_price=float(c) * 1000, output_price=float(c) * 1000,
            description=f"{name}: a synthetic model, expert in "
            + (", ".join(topics[k] for k in range(n_clusters) if k % n_models == j) or "nothing"),
        )
        for j, (name, c) in enumerate(zip(models, cost_per_model, strict=True))
    }
    matrix = OutcomeMatrix(
        bench=bench, models=models, keys=keys, datasets=ds, texts=texts, score=score, cost=cost,
        prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency=latency,
        failed=np.zeros((n, n_models), dtype=bool), model_specs=specs,
        metadata={"synthetic": True, "generator": "routerbench_core.testing.synthetic",
                  "generator_version": GENERATOR_VERSION, "seed": seed},
    )
    return SyntheticBench(matrix=matrix, cluster=cluster, expert=expert, topics=topics)


def make_strong_weak_bench(seed: int = 0, *, queries_per_cluster: int = 60) -> SyntheticBench:
    """A bench for two-model (strong/weak) routers with a known answer: the most expensive
    model (``model-3``) is always right, the cheapest (``model-0``) only on clusters 0 and 1,
    so a good router sends exactly those clusters to the cheap model."""
    import dataclasses

    bench = make_synthetic_bench(n_clusters=4, n_models=4, queries_per_cluster=queries_per_cluster,
                                 base_accuracy=0.1, seed=seed)
    m = bench.matrix
    score = m.score.copy()
    score[:, 3] = 1.0
    score[:, 0] = np.isin(bench.cluster, [0, 1]).astype(float)
    return dataclasses.replace(bench, matrix=dataclasses.replace(m, score=score))


def make_content_bench(seed: int = 0, *, queries_per_topic: int = 60,
                       generalist_accuracy: float = 0.6, expert_accuracy: float = 0.95,
                       off_topic_accuracy: float = 0.2) -> SyntheticBench:
    """A bench where only reading the query pays: every dataset mixes three sub-topics.

    Two datasets (``syn-a``: algebra, biology, history; ``syn-b``: code, chemistry, geography)
    and four models: ``model-0`` is a generalist, right with ``generalist_accuracy`` on
    everything; ``model-j`` (j = 1..3) is an expert in the j-th sub-topic of each dataset and
    poor elsewhere. The generalist is then the best single model *and* the best model of each
    dataset (0.6 against (0.95 + 2 × 0.2) / 3 = 0.45), so a router that picks one model per
    dataset gains nothing, while one that reads the text can send each sub-topic to its expert
    and approach 0.95. ``cluster`` holds the sub-topic, ``expert`` its expert.
    """
    import dataclasses

    topics_of = {"syn-a": ["algebra", "biology", "history"],
                 "syn-b": ["code", "chemistry", "geography"]}
    base = make_synthetic_bench(n_clusters=6, n_models=4, queries_per_cluster=queries_per_topic,
                                seed=seed, bench="synthetic-content")
    m = base.matrix
    topic_names = list(_TOPICS)
    order = [t for ts in topics_of.values() for t in ts]
    topic = np.array([order.index(topic_names[c]) for c in base.cluster])
    datasets = np.array(["syn-a" if t < 3 else "syn-b" for t in topic], dtype=object)
    expert = 1 + topic % 3
    rng = np.random.default_rng(seed + 1)
    p = np.full(m.score.shape, off_topic_accuracy)
    p[:, 0] = generalist_accuracy
    p[np.arange(len(topic)), expert] = expert_accuracy
    score = (rng.random(p.shape) < p).astype(np.float64)
    keys = np.array([f"{d}/{i}" for i, d in enumerate(datasets)], dtype=object)
    matrix = dataclasses.replace(m, score=score, datasets=datasets, keys=keys,
                                 metadata={**m.metadata, "content_bench": True})
    return SyntheticBench(matrix=matrix, cluster=topic, expert=expert,
                          topics=order)


def store_matrix(store: object, matrix: OutcomeMatrix, *, grader: str = "synthetic") -> None:
    """Write an outcome matrix into a store as a new bench (queries, models, responses, grades),
    so CLI commands can run on it. Missing cells are written as absent, never as 0."""
    from routerbench_core.data.store import Store
    from routerbench_core.schema import Grade, Query, Response

    assert isinstance(store, Store)
    with store.transaction() as conn:
        bench_id = store.create_bench(matrix.bench, source="synthetic", metadata=matrix.metadata,
                                      conn=conn)
        store.add_models(bench_id, [matrix.model_specs.get(m) or ModelSpec(name=m)
                                    for m in matrix.models], conn=conn)
        store.add_queries(
            bench_id,
            [Query(dataset=str(d), id=str(k).split("/", 1)[-1], key=str(k), text=t)
             for k, d, t in zip(matrix.keys, matrix.datasets, matrix.texts, strict=True)],
            conn=conn,
        )
    responses, grades = [], []
    for i, key in enumerate(matrix.keys.tolist()):
        for j, model in enumerate(matrix.models):
            if np.isnan(matrix.score[i, j]) and np.isnan(matrix.cost[i, j]):
                continue
            c, pt, ct, lat = (matrix.cost[i, j], matrix.prompt_tokens[i, j],
                              matrix.completion_tokens[i, j], matrix.latency[i, j])
            responses.append(Response(
                query_key=key, model=model, raw_output=f"answer {i}/{j}",
                cost=None if np.isnan(c) else float(c), cost_source="imported",
                prompt_tokens=None if np.isnan(pt) else int(pt),
                completion_tokens=None if np.isnan(ct) else int(ct),
                latency_s=None if np.isnan(lat) else float(lat),
            ))
            s = matrix.score[i, j]
            grades.append(Grade(query_key=key, model=model,
                                score=None if np.isnan(s) else float(s),
                                grader=grader, grader_version=GENERATOR_VERSION))
    store.put_responses(matrix.bench, responses)  # type: ignore[attr-defined]
    store.put_grades(matrix.bench, grades)  # type: ignore[attr-defined]
