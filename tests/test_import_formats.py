"""Importers and exporters on small hand-written inputs: the mapping of every format, the
all-or-nothing guarantee, and round trips."""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from routerbench_core.data.importers import (
    DataFormatError,
    export_bench,
    import_bench,
    parse,
)
from routerbench_core.data.importers.base import split_from_stem
from routerbench_core.data.store import Store, StoreError

# -- fixture writers -------------------------------------------------------------------------


def lrb_record(i: int, model: str, **over: Any) -> dict[str, Any]:
    rec = {
        "index": i, "origin_query": f"What is {i} + {i}?", "prompt": f"Q: What is {i} + {i}?",
        "prediction": str(2 * i if model != "weak" else i), "ground_truth": str(2 * i),
        "score": 1.0 if model != "weak" or i % 2 else 0.0, "prompt_tokens": 10 + i,
        "completion_tokens": 5 + i, "cost": (15 + 2 * i) * 1e-6, "raw_output": f"The answer is {2 * i}",
    }
    rec.update(over)
    return rec


def write_lrb(root: Path, dataset: str, split: str, model: str, records: list[dict[str, Any]],
              name: str | None = None, **top: Any) -> Path:
    folder = root / "results" / "bench" / dataset / split / model
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{model}_20250101_000000.json")
    doc = {"dataset_name": dataset, "split": split, "model_name": model, "records": records}
    doc.update(top)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def lrb_release(tmp_path: Path) -> Path:
    root = tmp_path / "release"
    for model in ("strong", "weak"):
        write_lrb(root, "arith", "test", model, [lrb_record(i, model) for i in range(4)])
        write_lrb(root, "other", "test", model, [lrb_record(i, model) for i in range(3)])
    return root


def store_fingerprint(store: Store) -> dict[str, Any]:
    """Everything stored, to show a failed import changed nothing."""
    out = {}
    for table in ("benches", "models", "queries", "responses", "grades"):
        out[table] = store.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
    return out


def same_matrix(a: Any, b: Any, *, keys: bool = True) -> None:
    assert a.models == b.models
    if keys:
        assert list(a.keys) == list(b.keys)
    assert list(a.datasets) == list(b.datasets)
    assert a.texts == b.texts
    for name in ("score", "cost", "prompt_tokens", "completion_tokens", "latency"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.failed, b.failed)


# -- llmrouterbench --------------------------------------------------------------------------


def test_llmrouterbench_maps_records(rbench_store: Store, lrb_release: Path) -> None:
    result = import_bench(rbench_store, "llmrouterbench", lrb_release, "lrb")
    assert (result.n_queries, result.n_models, result.n_records) == (7, 2, 14)
    m = rbench_store.load_matrix("lrb")
    assert m.models == ["strong", "weak"]
    assert list(m.keys[:2]) == ["arith/test/0", "arith/test/1"]
    assert m.dataset_names() == ["arith", "other"]
    i = list(m.keys).index("arith/test/2")
    assert m.score[i].tolist() == [1.0, 0.0]
    assert m.cost[i, 0] == pytest.approx(19e-6)
    assert m.prompt_tokens[i, 0] == 12 and m.completion_tokens[i, 1] == 7
    q = rbench_store.queries("lrb", dataset="arith")[2]
    assert q.text == "Q: What is 2 + 2?" and q.ground_truth == "4" and q.source_split == "test"
    assert q.metadata == {"index": 2, "origin_query": "What is 2 + 2?"}
    grades = list(rbench_store.grades("lrb", model="weak"))
    assert {g.grader for g in grades} == {"import:llmrouterbench"}
    assert grades[2].prediction == "2"
    resp = next(rbench_store.responses("lrb", model="strong"))
    assert resp.raw_output == "The answer is 0" and resp.cost_source == "imported"


def test_llmrouterbench_newest_file_wins(tmp_path: Path) -> None:
    root = tmp_path / "r"
    old = [lrb_record(i, "strong", score=0.0) for i in range(2)]
    new = [lrb_record(i, "strong", score=1.0) for i in range(2)]
    # timestamps in names decide, whatever the modification times say
    write_lrb(root, "d", "test", "strong", new, name="strong_20250102_000000.json")
    stale = write_lrb(root, "d", "test", "strong", old, name="strong_20240101_000000.json")
    os.utime(stale, (time.time() + 1000, time.time() + 1000))
    bench = parse("llmrouterbench", root)
    assert [g[2] for g in bench.grades] == [1.0, 1.0]
    # without timestamps the modification time decides
    root2 = tmp_path / "r2"
    a = write_lrb(root2, "d", "test", "strong", old, name="a.json")
    b = write_lrb(root2, "d", "test", "strong", new, name="b.json")
    os.utime(a, (time.time() + 1000, time.time() + 1000))
    os.utime(b, (time.time() - 1000, time.time() - 1000))
    assert [g[2] for g in parse("llmrouterbench", root2).grades] == [0.0, 0.0]


def test_llmrouterbench_null_score_and_failure(tmp_path: Path, rbench_store: Store) -> None:
    recs = [lrb_record(0, "strong", score=None), lrb_record(1, "strong", error="timeout",
                                                           raw_output=None, score=None)]
    write_lrb(tmp_path / "r", "d", "test", "strong", recs)
    import_bench(rbench_store, "llmrouterbench", tmp_path / "r", "b")
    m = rbench_store.load_matrix("b")
    assert np.isnan(m.score).all()
    assert m.failed[:, 0].tolist() == [False, True]
    s = rbench_store.summary("b")
    assert (s.n_responses, s.n_failures, s.n_grades) == (2, 1, 0)


def test_llmrouterbench_round_trip(tmp_path: Path, rbench_store: Store, lrb_release: Path) -> None:
    write_lrb(lrb_release, "arith", "train", "strong",
              [lrb_record(0, "strong", ground_truth={"answer": [0]}, error="rate limited")])
    import_bench(rbench_store, "llmrouterbench", lrb_release, "a")
    files = export_bench(rbench_store, "a", "llmrouterbench", tmp_path / "out")
    assert all(p.is_relative_to(tmp_path / "out" / "results" / "bench") for p in files)
    import_bench(rbench_store, "llmrouterbench", tmp_path / "out", "b")
    same_matrix(rbench_store.load_matrix("a"), rbench_store.load_matrix("b"))
    qa, qb = rbench_store.queries("a"), rbench_store.queries("b")
    assert [q.model_dump() for q in qa] == [q.model_dump() for q in qb]
    strip = lambda g: g.model_dump(exclude={"created_at"})  # noqa: E731
    assert list(map(strip, rbench_store.grades("a"))) == list(map(strip, rbench_store.grades("b")))
    rs = lambda r: r.model_dump(exclude={"created_at"})  # noqa: E731
    assert list(map(rs, rbench_store.responses("a"))) == list(map(rs, rbench_store.responses("b")))
    doc = json.loads(files[0].read_text())
    assert {"performance", "cost", "tokens", "counts", "records"} <= set(doc)


def test_llmrouterbench_model_names_with_slashes_round_trip(tmp_path: Path,
                                                            rbench_store: Store) -> None:
    write_lrb(tmp_path / "r", "d", "test", "vendor_m", [lrb_record(0, "x")],
              model_name="vendor/m")
    import_bench(rbench_store, "llmrouterbench", tmp_path / "r", "a")
    assert rbench_store.load_matrix("a").models == ["vendor/m"]
    export_bench(rbench_store, "a", "llmrouterbench", tmp_path / "out")
    import_bench(rbench_store, "llmrouterbench", tmp_path / "out", "b")
    assert rbench_store.load_matrix("b").models == ["vendor/m"]


def test_llmrouterbench_skips_demo_runs(tmp_path: Path) -> None:
    write_lrb(tmp_path / "r", "d", "test", "a", [lrb_record(0, "a")])
    write_lrb(tmp_path / "r", "d", "test", "b", [lrb_record(0, "b")], demo=True)
    # a newer demo run does not hide the real run beside it
    write_lrb(tmp_path / "r", "d", "test", "a", [lrb_record(0, "a", score=0.0)], demo=True,
              name="a_20300101_000000.json")
    bench = parse("llmrouterbench", tmp_path / "r")
    assert [m.name for m in bench.models] == ["a"]
    assert [g[2] for g in bench.grades] == [1.0]
    assert bench.metadata["skipped_demo_runs"] == ["d/test/b"]


# -- malformed input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (lambda r: r.pop("score"), "score", "missing required field"),
        (lambda r: r.pop("index"), "index", "missing required field"),
        (lambda r: r.update(score="high"), "score", "expected a number"),
        (lambda r: r.update(score=1.5), "score", "outside [0, 1]"),
        (lambda r: r.update(score=True), "score", "expected a number"),
        (lambda r: r.update(prompt_tokens=-3), "prompt_tokens", "non-negative integer"),
        (lambda r: r.update(completion_tokens="12"), "completion_tokens", "non-negative integer"),
        (lambda r: r.update(cost=-0.5), "cost", "non-negative number"),
        (lambda r: r.update(raw_output=["a"]), "raw_output", "expected a string"),
        (lambda r: r.update(index=[1]), "index", "integer or string"),
    ],
)
def test_llmrouterbench_bad_field_is_named(tmp_path: Path, mutate: Any, field: str,
                                           words: str) -> None:
    recs = [lrb_record(i, "m") for i in range(5)]
    mutate(recs[3])
    path = write_lrb(tmp_path / "r", "d", "test", "m", recs)
    with pytest.raises(DataFormatError) as err:
        parse("llmrouterbench", tmp_path / "r")
    assert err.value.file == str(path)
    assert str(err.value.record).startswith("3")
    assert err.value.field == field
    assert words in str(err.value) and str(path) in str(err.value)


def test_llmrouterbench_duplicate_index(tmp_path: Path) -> None:
    recs = [lrb_record(0, "m"), lrb_record(1, "m"), lrb_record(0, "m")]
    write_lrb(tmp_path / "r", "d", "test", "m", recs)
    with pytest.raises(DataFormatError, match=r"record 2 \(index 0\).*duplicate record.*record 0"):
        parse("llmrouterbench", tmp_path / "r")


def test_llmrouterbench_bad_json_names_line(tmp_path: Path) -> None:
    path = write_lrb(tmp_path / "r", "d", "test", "m", [lrb_record(0, "m")])
    path.write_text('{"records": [\n  {"index": 0,,}\n]}', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"invalid JSON at line 2") as err:
        parse("llmrouterbench", tmp_path / "r")
    assert err.value.file == str(path)


def test_llmrouterbench_disagreeing_prompts(tmp_path: Path) -> None:
    write_lrb(tmp_path / "r", "d", "test", "a", [lrb_record(0, "a")])
    write_lrb(tmp_path / "r", "d", "test", "b", [lrb_record(0, "b", prompt="something else")])
    with pytest.raises(DataFormatError, match="differs from the prompt") as err:
        parse("llmrouterbench", tmp_path / "r")
    assert err.value.field == "prompt"


def test_failed_import_leaves_store_unchanged(tmp_path: Path, rbench_store: Store,
                                              lrb_release: Path) -> None:
    import_bench(rbench_store, "llmrouterbench", lrb_release, "keep")
    before = store_fingerprint(rbench_store)
    # a bad record in the LAST file: everything before it parsed fine and must not be written
    write_lrb(lrb_release, "zzz", "test", "strong", [lrb_record(0, "s"), {"index": 1}])
    with pytest.raises(DataFormatError):
        import_bench(rbench_store, "llmrouterbench", lrb_release, "new")
    with pytest.raises(DataFormatError):
        import_bench(rbench_store, "llmrouterbench", lrb_release, "keep", replace=True)
    with pytest.raises(StoreError, match="already exists"):
        import_bench(rbench_store, "llmrouterbench", lrb_release, "keep")
    assert store_fingerprint(rbench_store) == before
    assert rbench_store.bench_names() == ["keep"]


def test_replace_swaps_bench_atomically(tmp_path: Path, rbench_store: Store,
                                        lrb_release: Path) -> None:
    import_bench(rbench_store, "llmrouterbench", lrb_release, "b")
    root = tmp_path / "small"
    write_lrb(root, "d", "test", "only", [lrb_record(0, "only")])
    import_bench(rbench_store, "llmrouterbench", root, "b", replace=True)
    m = rbench_store.load_matrix("b")
    assert m.shape == (1, 1) and m.models == ["only"]
    assert rbench_store.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 1


# -- llmrouter -------------------------------------------------------------------------------


def write_llmrouter(root: Path, *, models: dict[str, Any] | None = None,
                    extra_score: dict[str, Any] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    models = models or {
        "a": {"input_price": 1.0, "output_price": 2.0, "feature": "model a", "size": "7B",
              "service": "X"},
        "b": {"input_price": 0.5, "output_price": 0.5, "feature": "model b", "size": 8},
        "unused": {"input_price": 9, "output_price": 9},
    }
    (root / "models.json").write_text(json.dumps(models))
    train_q = [
        {"task_name": "math", "query": "1+1?", "ground_truth": "2", "metric": "em", "choices": None,
         "task_id": None},
        {"task_name": "mmlu", "query": "Shared question", "ground_truth": "A", "metric": "em_mc",
         "choices": "{'A': 1}", "task_id": None},
        {"task_name": "obqa", "query": "Shared question", "ground_truth": "A", "metric": "em_mc",
         "choices": None, "task_id": "7"},
        {"task_name": "math", "query": "never scored", "ground_truth": "x", "metric": "em",
         "choices": None, "task_id": None},
    ]
    test_q = [{"task_name": "math", "query": "1+1?", "ground_truth": "2", "metric": "em",
               "choices": None, "task_id": None},
              {"task_name": "code", "query": "def f(): pass" + "x" * 15, "ground_truth": "t",
               "metric": "code", "choices": None, "task_id": "3"}]
    (root / "queries_train.jsonl").write_text("\n".join(json.dumps(q) for q in train_q) + "\n")
    (root / "queries_test.jsonl").write_text("\n".join(json.dumps(q) for q in test_q) + "\n")
    train_s = [{"question": "1+1?", "scores": {"a": 1.0, "b": 0.0}},
               {"question": "Shared question", "scores": {"a": 0.5, "b": 1}}]
    test_s = [{"question": "def f(): pass" + "x" * 15, "scores": {"a": 0.0, "b": 1.0}},
              {"question": "1+1?", "scores": {"a": 1.0, "b": 1.0, **(extra_score or {})}}]
    (root / "scores_train.json").write_text(json.dumps(train_s))
    (root / "scores_test.json").write_text(json.dumps(test_s))
    return root


def test_llmrouter_join_prices_and_estimated_cost(tmp_path: Path, rbench_store: Store) -> None:
    root = write_llmrouter(tmp_path / "lr")
    import_bench(rbench_store, "llmrouter", root, "lr")
    m = rbench_store.load_matrix("lr")
    assert m.models == ["a", "b"]  # 'unused' has no scores and is not added
    assert list(m.datasets) == ["math", "mmlu", "code", "math"]
    specs = {s.name: s for s in rbench_store.models("lr")}
    assert specs["a"].description == "model a" and specs["a"].input_price == 1.0
    assert specs["b"].size == "8" and specs["a"].model_extra == {"service": "X"}
    code = list(m.datasets).index("code")
    text = "def f(): pass" + "x" * 15  # 28 chars -> 7 prompt tokens, 256 assumed completion
    assert m.cost[code, 0] == pytest.approx((7 * 1.0 + 256 * 2.0) / 1e6)
    assert m.cost[code, 1] == pytest.approx((7 * 0.5 + 256 * 0.5) / 1e6)
    assert m.texts[code] == text
    assert np.isnan(m.prompt_tokens).all()  # nothing was measured
    assert set(m.cost_source.ravel()) == {"estimated"}
    meta = rbench_store.bench_metadata("lr")
    assert meta["cost_estimated"] is True and meta["unscored_queries"] == 1
    qs = {(q.dataset, q.source_split): q for q in rbench_store.queries("lr")}
    shared = qs[("mmlu", "train")]
    assert shared.metadata["also_listed_as"] == [{"task_name": "obqa", "task_id": "7", "line": 3}]
    assert shared.metadata["choices"] == "{'A': 1}"
    tr, te = qs[("math", "train")], qs[("math", "test")]
    assert tr.key != te.key
    assert tr.metadata["cross_split_duplicate"] == [te.key]
    assert te.metadata["cross_split_duplicate"] == [tr.key]
    assert meta["cross_split_duplicates"] == 2


def test_llmrouter_unknown_model(tmp_path: Path) -> None:
    root = write_llmrouter(tmp_path / "lr", extra_score={"ghost": 1.0})
    with pytest.raises(DataFormatError, match="unknown model 'ghost'") as err:
        parse("llmrouter", root)
    assert err.value.file == str(root / "scores_test.json")
    assert err.value.record == 1 and err.value.field == "scores.ghost"


def test_llmrouter_unpriced_model_is_an_error(tmp_path: Path) -> None:
    root = write_llmrouter(tmp_path / "lr", models={"a": {"input_price": 1, "output_price": 1},
                                                    "b": {"input_price": 1}})
    with pytest.raises(DataFormatError, match="never \\$0") as err:
        parse("llmrouter", root)
    assert err.value.record == "b"


def test_llmrouter_unmatched_question_and_bad_line(tmp_path: Path) -> None:
    root = write_llmrouter(tmp_path / "lr")
    rows = json.loads((root / "scores_train.json").read_text())
    rows.append({"question": "not in queries", "scores": {"a": 1}})
    (root / "scores_train.json").write_text(json.dumps(rows))
    with pytest.raises(DataFormatError, match="no line of queries_train.jsonl") as err:
        parse("llmrouter", root)
    assert (err.value.record, err.value.field) == (2, "question")
    root = write_llmrouter(tmp_path / "lr2")
    with open(root / "queries_test.jsonl", "a") as fh:
        fh.write('{"task_name": "x", "query": 5}\n')
    with pytest.raises(DataFormatError) as err:
        parse("llmrouter", root)
    assert (err.value.record, err.value.field) == ("line 3", "query")


# -- routerdc --------------------------------------------------------------------------------


def test_split_from_stem() -> None:
    assert split_from_stem("gsm8k_train") == ("gsm8k", "train")
    assert split_from_stem("mmlu-test") == ("mmlu", "test")
    assert split_from_stem("arc_challenge_test") == ("arc_challenge", "test")
    assert split_from_stem("humaneval") == ("humaneval", None)


def test_routerdc_files_and_splits(tmp_path: Path, rbench_store: Store) -> None:
    d = tmp_path / "dc"
    d.mkdir()
    (d / "gsm8k_train.json").write_text(json.dumps(
        [{"question": "q1", "scores": {"m1": 1, "m2": 0}},
         {"question": "q2", "scores": {"m1": 0}, "answer": "4"}]))
    (d / "gsm8k-test.json").write_text(json.dumps([{"question": "q1", "scores": {"m1": 0.5,
                                                                                  "m2": 1}}]))
    (d / "mmlu.json").write_text(json.dumps([{"question": "q3", "scores": {"m2": 1}}]))
    import_bench(rbench_store, "routerdc", d, "dc")
    m = rbench_store.load_matrix("dc")
    assert m.models == ["m1", "m2"] and m.shape == (4, 2)
    qs = rbench_store.queries("dc")
    assert [(q.dataset, q.source_split) for q in qs] == [
        ("gsm8k", "test"), ("gsm8k", "train"), ("gsm8k", "train"), ("mmlu", None)]
    assert qs[2].metadata == {"answer": "4"}
    assert np.isnan(m.score[2, 1]) and m.score[0].tolist() == [0.5, 1.0]
    assert np.isnan(m.cost).all()  # no prices in this format: missing, not $0


def test_routerdc_errors(tmp_path: Path) -> None:
    d = tmp_path / "dc"
    d.mkdir()
    (d / "a_train.json").write_text(json.dumps([{"question": "q1", "scores": {"m1": 1}},
                                                {"question": "q2", "scores": {"m9": 1}}]))
    with pytest.raises(DataFormatError, match="unknown model 'm9'") as err:
        parse("routerdc", d)
    assert (err.value.record, err.value.field) == (1, "scores.m9")
    (d / "a_train.json").write_text(json.dumps([{"question": "q1", "scores": {"m1": 1}},
                                                {"question": "q1", "scores": {"m1": 0}}]))
    with pytest.raises(DataFormatError, match=r"1 question\(s\) repeated inside a file \(1 with "
                       r"conflicting scores\).*--on-duplicate first\|mean"):
        parse("routerdc", d)
    (d / "a_train.json").write_text(json.dumps([{"scores": {"m1": 1}}]))
    with pytest.raises(DataFormatError, match="missing required field") as err:
        parse("routerdc", d)
    assert err.value.field == "question"


# -- routerbench CSV -------------------------------------------------------------------------


def write_rb_csv(path: Path, rows: list[list[str]], models: tuple[str, ...] = ("m/a", "b")) -> Path:
    header = ["", "sample_id", "prompt", "eval_name", *models]
    header += [f"{m}|model_response" for m in models] + [f"{m}|total_cost" for m in models]
    header.append("oracle_model_to_route_to")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_routerbench_csv_mapping(tmp_path: Path, rbench_store: Store) -> None:
    big = "x" * 200_000  # beyond the csv module's default field limit
    write_rb_csv(tmp_path / "rb" / "arc_train.csv", [
        ["10", "arc.1", repr(["Q one", "part two"]), "arc-challenge", "1.0", "0.0",
         repr(["A"]), repr([big]), "0.002", "0.0001", "m/a"],
        ["11", "arc.1", repr(["Q two"]), "arc-challenge", "", "1.0", repr(["B"]), "",
         "0.003", "", "b"],
    ])
    write_rb_csv(tmp_path / "rb" / "arc_test.csv", [
        ["12", "arc.2", repr(["Q three"]), "", "", "", "", "", "", "", ""],
    ])
    import_bench(rbench_store, "routerbench", tmp_path / "rb", "rb")
    m = rbench_store.load_matrix("rb")
    assert m.models == ["m/a", "b"] and m.shape == (3, 2)
    # files in name order: arc_test.csv, then arc_train.csv
    assert list(m.keys) == ["arc/12", "arc-challenge/10", "arc-challenge/11"]
    assert m.texts[1] == "Q one\n\npart two"
    assert m.score[1].tolist() == [1.0, 0.0]
    assert np.isnan(m.score[2, 0]) and m.cost[2, 0] == pytest.approx(0.003)  # empty score
    assert np.isnan(m.cost[2, 1])  # empty cost cell: missing, not 0
    assert np.isnan(m.score[0]).all() and np.isnan(m.cost[0]).all()
    assert rbench_store.summary("rb").n_responses == 4
    assert rbench_store.cost_source_counts("rb") == {None: 1, "reported": 3}
    qs = rbench_store.queries("rb")
    assert [q.source_split for q in qs] == ["test", "train", "train"]
    assert qs[1].metadata == {"sample_id": "arc.1", "oracle_model_to_route_to": "m/a"}
    outs = rbench_store.outputs("rb", "b", [qs[1].key])
    assert outs == [big]


@pytest.mark.parametrize(
    ("cells", "field", "words"),
    [
        ({4: "yes"}, "m/a", "expected a number"),
        ({5: "2"}, "b", "outside"),
        ({8: "-1"}, "m/a|total_cost", "outside"),
        ({2: "not a list ["}, "prompt", "Python list of strings"),
        ({6: "[1, 2]"}, "m/a|model_response", "list of strings"),
    ],
)
def test_routerbench_bad_cells(tmp_path: Path, cells: dict[int, str], field: str,
                               words: str) -> None:
    row = ["1", "s", repr(["q"]), "e", "1", "0", repr(["r"]), repr(["r"]), "0.1", "0.1", ""]
    good = ["2", "s2", repr(["q2"]), "e", "1", "0", repr(["r"]), repr(["r"]), "0.1", "0.1", ""]
    for i, v in cells.items():
        row[i] = v
    path = write_rb_csv(tmp_path / "x_train.csv", [good, row])
    with pytest.raises(DataFormatError) as err:
        parse("routerbench", path)
    assert err.value.file == str(path) and err.value.record == "line 3"
    assert err.value.field == field and words in str(err.value)


def test_routerbench_unknown_model_column(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("sample_id,prompt,eval_name,a,ghost|total_cost\ns,\"['q']\",e,1,0.1\n")
    with pytest.raises(DataFormatError, match="unknown model 'ghost'") as err:
        parse("routerbench", path)
    assert err.value.field == "ghost|total_cost"


# -- parquet and csv -------------------------------------------------------------------------


def test_parquet_round_trip(tmp_path: Path, rbench_store: Store) -> None:
    pytest.importorskip("pyarrow")
    root = write_llmrouter(tmp_path / "lr")
    import_bench(rbench_store, "llmrouter", root, "a")
    export_bench(rbench_store, "a", "parquet", tmp_path / "pq")
    import_bench(rbench_store, "parquet", tmp_path / "pq", "b")
    same_matrix(rbench_store.load_matrix("a"), rbench_store.load_matrix("b"))
    assert [q.model_dump() for q in rbench_store.queries("a")] == \
        [q.model_dump() for q in rbench_store.queries("b")]
    assert [r.model_dump() for r in rbench_store.responses("a")] == \
        [r.model_dump() for r in rbench_store.responses("b")]
    assert [g.model_dump() for g in rbench_store.grades("a")] == \
        [g.model_dump() for g in rbench_store.grades("b")]
    assert rbench_store.models("a") == rbench_store.models("b")
    meta_a, meta_b = rbench_store.bench_metadata("a"), rbench_store.bench_metadata("b")
    assert meta_a == meta_b and meta_b["cost_estimated"] is True


def test_parquet_missing_pyarrow_is_a_clear_error(tmp_path: Path, rbench_store: Store,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from routerbench_core.data.importers.base import MissingDependencyError

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    import_bench(rbench_store, "llmrouter", write_llmrouter(tmp_path / "lr"), "a")
    with pytest.raises(MissingDependencyError, match=r"pip install 'rbench\[parquet\]'"):
        export_bench(rbench_store, "a", "parquet", tmp_path / "pq")


def test_wide_csv_export_reads_back(tmp_path: Path, rbench_store: Store,
                                    lrb_release: Path) -> None:
    import_bench(rbench_store, "llmrouterbench", lrb_release, "a")
    [out] = export_bench(rbench_store, "a", "csv", tmp_path / "a.csv")
    import_bench(rbench_store, "routerbench", out, "b")
    a, b = rbench_store.load_matrix("a"), rbench_store.load_matrix("b")
    assert a.models == b.models and a.texts == b.texts
    assert list(a.datasets) == list(b.datasets)
    np.testing.assert_array_equal(a.score, b.score)
    np.testing.assert_allclose(a.cost, b.cost, rtol=1e-15)
    assert [q.source_split for q in rbench_store.queries("b")] == ["test"] * 7


def test_unknown_format_suggests(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="Did you mean llmrouter"):
        parse("llmroutr", tmp_path)


def test_llmrouterbench_index_7_and_string_7_are_one_record(tmp_path: Path) -> None:
    write_lrb(tmp_path / "r", "d", "test", "m", [lrb_record(7, "m"), lrb_record(0, "m", index="7")])
    with pytest.raises(DataFormatError, match="duplicate record"):
        parse("llmrouterbench", tmp_path / "r")


def test_bad_bench_name_fails_before_parsing(rbench_store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="invalid bench name"):
        import_bench(rbench_store, "llmrouterbench", tmp_path / "does-not-matter", "a/b")


def test_llmrouterbench_chat_prompt(tmp_path: Path, rbench_store: Store) -> None:
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}]
    write_lrb(tmp_path / "r", "d", "test", "m", [lrb_record(0, "m", prompt=chat)])
    import_bench(rbench_store, "llmrouterbench", tmp_path / "r", "a")
    [q] = rbench_store.queries("a")
    assert q.messages == chat and q.text == "Be brief.\n\n2+2?"
    export_bench(rbench_store, "a", "llmrouterbench", tmp_path / "out")
    import_bench(rbench_store, "llmrouterbench", tmp_path / "out", "b")
    assert [x.model_dump() for x in rbench_store.queries("b")] == [q.model_dump()]
    write_lrb(tmp_path / "bad", "d", "test", "m", [lrb_record(0, "m", prompt=[{"role": "user"}])])
    with pytest.raises(DataFormatError, match="expected a message") as err:
        parse("llmrouterbench", tmp_path / "bad")
    assert err.value.field == "prompt[0]"


def test_parquet_bad_cell_is_named(tmp_path: Path, rbench_store: Store) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    import_bench(rbench_store, "llmrouter", write_llmrouter(tmp_path / "lr"), "a")
    export_bench(rbench_store, "a", "parquet", tmp_path / "pq")
    table = pq.read_table(tmp_path / "pq" / "grades.parquet")
    scores = table.column("score").to_pylist()
    scores[2] = 7.0
    table = table.set_column(table.column_names.index("score"), "score",
                             pa.array(scores, type=pa.float64()))
    pq.write_table(table, tmp_path / "pq" / "grades.parquet")
    with pytest.raises(DataFormatError, match="outside") as err:
        import_bench(rbench_store, "parquet", tmp_path / "pq", "b")
    assert err.value.file == str(tmp_path / "pq" / "grades.parquet")
    assert (err.value.record, err.value.field) == (2, "score")
    assert rbench_store.bench_names() == ["a"]
