"""The demo generator: embedded figures, determinism, calibration, costs, store round trip and
whether the generated texts give a router something to learn from."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pytest

from routerbench_core.data.store import Store, StoreError
from routerbench_core.demo import generate as demo
from routerbench_core.demo import tables
from routerbench_core.testing import shared_data_dir


def _paper_dir() -> Path:
    data = shared_data_dir()
    paper = None if data is None else data.parent / "paper"
    if paper is None or not paper.is_dir():
        pytest.skip("the paper's tables (../shared/paper) are absent: cannot cross-check")
    return paper


def _read_csv(path: Path) -> dict[str, dict[str, float | None]]:
    with path.open(newline="") as fh:
        return {
            row["model"]: {k: (float(v) if v != "" else None) for k, v in row.items() if k != "model"}
            for row in csv.DictReader(fh)
        }


@pytest.mark.parametrize(
    ("filename", "table", "columns"),
    [
        ("llmrouterbench_table6_perf_accuracy.csv", tables.TABLE6, tables.TABLE6_COLUMNS),
        ("llmrouterbench_table9_perfcost_accuracy.csv", tables.TABLE9, tables.TABLE9_COLUMNS),
        ("llmrouterbench_table10_perfcost_total_usd.csv", tables.TABLE10, tables.TABLE10_COLUMNS),
    ],
)
def test_embedded_tables_equal_the_transcribed_csvs(filename, table, columns):
    published = _read_csv(_paper_dir() / filename)
    assert list(published) == list(table)
    for model, values in table.items():
        assert list(published[model]) == list(columns)
        assert [published[model][c] for c in columns] == list(values), model


def test_embedded_oracle_targets_equal_tables_7_and_8():
    paper = _paper_dir()
    t7 = {r["method"]: r for r in csv.DictReader((paper / "llmrouterbench_table7_perf_routers.csv").open())}
    t8 = {r["method"]: r for r in csv.DictReader((paper / "llmrouterbench_table8_perfcost_routers.csv").open())}
    assert float(t7["Oracle"]["Acc"]) == tables.PERF_ORACLE_ACC
    assert float(t8["Oracle"]["PerfGain"]) == tables.PERFCOST_ORACLE_PERF_GAIN


def test_table10_rows_sum_to_their_total():
    for model, row in tables.TABLE10.items():
        assert sum(v for v in row[:-1] if v is not None) == pytest.approx(row[-1], abs=0.03), model


@pytest.fixture(scope="module")
def perf_small() -> demo.DemoBench:
    return demo.generate("perf", max_per_dataset=60)


@pytest.fixture(scope="module")
def perfcost_full() -> demo.DemoBench:
    return demo.generate("perf-cost", max_per_dataset=None)


def test_same_seed_gives_identical_bench(perf_small):
    again = demo.generate("perf", max_per_dataset=60)
    np.testing.assert_array_equal(again.score, perf_small.score)
    np.testing.assert_array_equal(again.completion_tokens, perf_small.completion_tokens)
    assert [q.text for q in again.queries] == [q.text for q in perf_small.queries]
    other = demo.generate("perf", max_per_dataset=60, seed=1)
    assert other.name != perf_small.name
    assert not np.array_equal(other.score, perf_small.score)
    assert [q.text for q in other.queries] != [q.text for q in perf_small.queries]


def test_a_dataset_does_not_change_when_the_size_cap_of_others_does():
    """Each dataset draws from its own stream: AIME (60 items) is the same under any cap >= 60."""
    a = demo.generate("perf-cost", max_per_dataset=60)
    b = demo.generate("perf-cost", max_per_dataset=80)
    ta = [q.text for q in a.queries if q.dataset == "AIME"]
    tb = [q.text for q in b.queries if q.dataset == "AIME"]
    assert ta == tb and len(ta) == 60


def _acc_table(bench: demo.DemoBench, table, columns) -> tuple[np.ndarray, np.ndarray]:
    got = np.array([
        [np.nanmean(bench.score[bench.datasets == d, j]) if not np.isnan(bench.score[bench.datasets == d, j]).all() else np.nan
         for d in columns]
        for j in range(len(bench.models))
    ])
    want = np.array([[np.nan if v is None else v / 100 for v in table[m.name]] for m in bench.models])
    return got, want


def test_scaled_accuracy_is_the_table_up_to_rounding(perf_small):
    got, want = _acc_table(perf_small, tables.TABLE6, tables.TABLE6_COLUMNS)
    sizes = np.array([np.sum(perf_small.datasets == d) for d in tables.TABLE6_COLUMNS])
    assert (np.abs(got - want) <= 0.5 / sizes[None, :] + 1e-9).all()
    assert set(np.unique(perf_small.score)) <= {0.0, 1.0}


def test_full_size_accuracy_matches_table9_to_its_published_digits(perfcost_full):
    got, want = _acc_table(perfcost_full, tables.TABLE9, tables.TABLE9_COLUMNS)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    assert np.abs(got[ok] - want[ok]).max() < 0.00005 + 1e-9  # 2 decimals of a percentage
    sizes = {d: int(np.sum(perfcost_full.datasets == d)) for d in tables.TABLE9_COLUMNS}
    assert sizes == tables.PERFCOST_SIZES
    arena = perfcost_full.datasets == "ArenaHard"
    values = perfcost_full.score[arena]
    assert set(np.unique(values)) == {0.0, 0.5, 1.0}  # pairwise judging has ties
    assert 0.05 < (values == 0.5).mean() < 0.25
    rest = perfcost_full.score[~arena]
    assert set(np.unique(rest[~np.isnan(rest)])) == {0.0, 1.0}


def test_oracle_is_calibrated_to_the_published_oracle(perf_small, perfcost_full):
    def oracle(b: demo.DemoBench) -> float:
        ds = b.datasets
        return float(np.mean([np.nanmax(b.score[ds == d], axis=1).mean() for d in dict.fromkeys(ds)]))

    assert oracle(perf_small) == pytest.approx(tables.PERF_ORACLE_ACC / 100, abs=0.01)
    gpt5 = perfcost_full.model_names.index("GPT-5")
    ds = perfcost_full.datasets
    ref = np.mean([perfcost_full.score[ds == d, gpt5].mean() for d in dict.fromkeys(ds)])
    assert oracle(perfcost_full) / ref - 1 == pytest.approx(tables.PERFCOST_ORACLE_PERF_GAIN, abs=0.01)
    # Models agree far more than independent coins would: the oracle is well below that.
    assert perf_small.metadata["calibration"]["sigma_difficulty"] > 1.0


def test_costs_match_table10_and_the_prices(perfcost_full):
    b = perfcost_full
    for j, model in enumerate(b.model_names):
        spec = b.models[j]
        for k, d in enumerate(tables.TABLE10_COLUMNS[:-1]):
            rows = b.datasets == d
            want = tables.TABLE10[model][k]
            if want is None:
                assert np.isnan(b.cost[rows, j]).all() and np.isnan(b.score[rows, j]).all()
                continue
            total = float(b.cost[rows, j].sum())
            assert total == pytest.approx(want, rel=0.03, abs=0.006), (model, d)
            cells = b.cost[rows, j]
            assert cells.std() > 0  # per-query variation
            priced = (b.prompt_tokens[rows, j] * spec.input_price
                      + b.completion_tokens[rows, j] * spec.output_price) / 1e6
            np.testing.assert_allclose(cells, priced, rtol=1e-12)
    ok = ~np.isnan(b.cost)
    assert (b.prompt_tokens[ok] >= 1).all() and (b.completion_tokens[ok] >= 4).all()
    assert (b.prompt_tokens[ok] == np.round(b.prompt_tokens[ok])).all()
    assert (b.latency[ok] > 0).all()
    # Harder queries cost more, as in real benchmarks.
    corr = np.corrcoef(b.difficulty, np.nanmean(np.log(b.cost), axis=1))[0, 1]
    assert corr > 0.2


def test_perf_setting_is_unpriced_and_says_so(perf_small):
    assert all(m.input_price == 0 and m.output_price == 0 for m in perf_small.models)
    assert (perf_small.cost == 0).all()
    assert perf_small.to_matrix().cost_source[0, 0] == "free"
    reasoning = [perf_small.model_names.index(m) for m in ("Qwen3-8B", "DS-Qwen3")]
    plain = [perf_small.model_names.index(m) for m in ("Gemma-2-it", "Glm-4-chat")]
    assert perf_small.completion_tokens[:, reasoning].mean() > 3 * perf_small.completion_tokens[:, plain].mean()


def test_texts_are_unique_and_labelled(perf_small):
    for d in tables.TABLE6_COLUMNS:
        texts = [q.text for q in perf_small.queries if q.dataset == d]
        assert len(set(texts)) == len(texts), d
    meta = perf_small.metadata
    assert meta["synthetic"] is True and meta["source"] == "rbench-demo"
    assert meta["label"] == "SYNTHETIC" and "2601.07206" in meta["citation"]
    assert "SYNTHETIC" in demo.describe(perf_small)
    assert all(q.metadata["synthetic"] for q in perf_small.queries)


def test_store_round_trip_and_no_overwrite(tmp_path, perf_small):
    with Store(tmp_path / "demo.db") as store:
        name = perf_small.write(store)
        loaded = store.load_matrix(name)
        expected = perf_small.to_matrix()
        np.testing.assert_array_equal(loaded.score, expected.score)
        np.testing.assert_array_equal(loaded.cost, expected.cost)
        np.testing.assert_array_equal(loaded.completion_tokens, expected.completion_tokens)
        assert loaded.texts == expected.texts and loaded.models == expected.models
        assert loaded.metadata["synthetic"] is True
        assert store.summary(name).source == "rbench-demo"
        with pytest.raises(StoreError, match="already exists"):
            perf_small.write(store)
        np.testing.assert_array_equal(store.load_matrix(name).score, expected.score)


def test_missing_cells_load_as_missing_not_failed(tmp_path):
    bench = demo.generate("perf-cost", max_per_dataset=20)
    with Store(tmp_path / "demo.db") as store:
        m = store.load_matrix(bench.write(store))
    j = m.models.index("GPT-5-Chat")
    tau = m.datasets == "Tau2-Bench"
    assert np.isnan(m.score[tau, j]).all() and not m.failed[tau, j].any()
    assert not np.isnan(m.score[~tau]).any()


def test_bad_options_are_refused():
    with pytest.raises(demo.DemoError, match="unknown demo setting"):
        demo.generate("fast")  # type: ignore[arg-type]
    with pytest.raises(demo.DemoError, match="too small"):
        demo.generate("perf", max_per_dataset=3)


def _tfidf(texts: list[str]) -> np.ndarray:
    tokens = [re.findall(r"[a-z]+", t.lower()) for t in texts]
    vocab = {w: i for i, w in enumerate(sorted({w for ts in tokens for w in ts}))}
    x = np.zeros((len(texts), len(vocab)))
    for i, ts in enumerate(tokens):
        for w in ts:
            x[i, vocab[w]] += 1
    x = np.log1p(x) * np.log(len(texts) / (x > 0).sum(axis=0))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_texts_give_a_knn_router_signal():
    """A plain kNN over bag-of-words vectors of the generated texts beats best-single clearly,
    and the texts say which sub-topic a query is about (what the skills depend on)."""
    bench = demo.generate("perf", max_per_dataset=300)
    score = bench.score
    datasets = bench.datasets
    rng = np.random.default_rng(7)
    test = rng.random(len(score)) < 0.3
    train = ~test
    x = _tfidf([q.text for q in bench.queries])
    neighbours = np.argsort(-(x[test] @ x[train].T), axis=1)[:, :15]
    pick = score[train][neighbours].mean(axis=1).argmax(axis=1)
    knn = score[test][np.arange(test.sum()), pick]
    best = score[test][:, score[train].mean(axis=0).argmax()]

    def avg(values: np.ndarray) -> float:
        return float(np.mean([values[datasets[test] == d].mean() for d in tables.TABLE6_COLUMNS]))

    assert avg(knn) > avg(best) + 0.02
    assert avg(knn) < float(np.mean([np.max(score[test & (datasets == d)], axis=1).mean() for d in tables.TABLE6_COLUMNS]))
    nearest = np.argmax(x[test] @ x[train].T, axis=1)
    same_topic = bench.topics[test] == bench.topics[train][nearest]
    assert same_topic.mean() > 0.8
    assert not math.isnan(avg(knn))


#: sha256 of a small bench's scores and texts, generated with NumPy 2.4 (generator version 1).
PINNED_NUMPY = "2.4"
PINNED_DIGEST = "95023689bac0f591e9969ab3978b97d2a36e256ee0836b117079cde3d0cc693e"


def test_generation_is_pinned_across_runs_and_machines():
    """The demo is the same bench everywhere. If this fails, the generator changed: bump
    demo.GENERATOR_VERSION, note it in docs/demo.md's changelog, and update the pin."""
    import hashlib

    if not np.__version__.startswith(PINNED_NUMPY + "."):
        pytest.skip(f"pin computed with NumPy {PINNED_NUMPY}; this is NumPy {np.__version__}")
    bench = demo.generate("perf-cost", max_per_dataset=12)
    digest = hashlib.sha256()
    digest.update(np.nan_to_num(bench.score, nan=-1).astype("<f8").tobytes())
    digest.update("\n".join(q.text for q in bench.queries).encode())
    assert bench.metadata["generator_version"] == "1"
    assert digest.hexdigest() == PINNED_DIGEST
