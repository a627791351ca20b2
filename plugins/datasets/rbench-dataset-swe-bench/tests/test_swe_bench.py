"""SWE-bench Verified: instance loading, harness-result import (summary and per-instance
reports), predictions and costs, grading of harness records, and the import format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rbench_dataset_swe_bench.dataset import SWEBench, read_costs, read_harness_results

from routerbench_core import DatasetError, Response
from routerbench_core.testing.datasets import DatasetConformance

FIX = Path(__file__).parent / "fixtures"
INSTANCES = FIX / "swe_bench_verified.jsonl"
SUMMARY = FIX / "my-agent.run1.json"
REPORTS = FIX / "logs"
A, D, S = "astropy__astropy-12907", "django__django-11099", "sympy__sympy-20590"


def record(iid, status):
    return json.dumps({"instance_id": iid, "status": status, "resolved": status == "resolved"})


def test_load_and_prompt_hide_the_fix():
    ds = SWEBench()
    qs = ds.load(INSTANCES)
    assert [q.id for q in qs] == [A, D, S]
    assert qs[0].ground_truth["FAIL_TO_PASS"] == [
        "astropy/modeling/tests/test_separable.py::test_separable[compound_model6-result6]"]
    content = ds.build_messages(qs[1])[0]["content"]
    assert "django/django" in content and "d26b2424437dabeeca94d7900b37d2df4410da0c" in content
    assert qs[1].text in content
    assert "\\Z" not in content and "test_validators" not in content  # no gold or test patch


def test_summary_and_per_instance_reports_agree():
    summary = read_harness_results(SUMMARY)
    reports = read_harness_results(REPORTS)
    assert summary == {A: "unresolved", D: "resolved", S: "empty_patch"}
    assert reports == summary


def test_import_with_predictions_and_trajectory_costs():
    ds = SWEBench()
    qs = ds.load(INSTANCES)
    responses = ds.import_results(SUMMARY, model="my-agent", queries=qs,
                                  predictions=FIX / "preds.json", costs=FIX / "trajs")
    by_id = {json.loads(r.raw_output)["instance_id"]: r for r in responses}
    assert by_id[D].cost == pytest.approx(0.17) and by_id[D].cost_source == "imported"
    assert by_id[D].prompt_tokens == 50000 and by_id[D].completion_tokens == 2100
    assert "validators.py" in json.loads(by_id[D].raw_output)["model_patch"]
    grades = {iid: ds.grade(next(q for q in qs if q.id == iid), r) for iid, r in by_id.items()}
    assert grades[D].score == 1.0 and grades[A].score == 0.0 and grades[S].score == 0.0
    assert grades[S].details["status"] == "empty_patch"


def test_missing_costs_stay_missing_not_zero():
    ds = SWEBench()
    responses = ds.import_results(SUMMARY, model="m", queries=ds.load(INSTANCES))
    assert all(r.cost is None and r.cost_source is None for r in responses)


def test_incomplete_instance_is_not_graded_zero(tmp_path):
    ds = SWEBench()
    q = ds.load(INSTANCES)[0]
    g = ds.grade(q, Response(query_key=q.key, model="m", raw_output=record(A, "incomplete")))
    assert g.score is None and "never evaluated" in g.details["error"]
    summary = tmp_path / "s.json"
    summary.write_text(json.dumps({"submitted_ids": [A], "resolved_ids": [], "unresolved_ids": []}))
    assert read_harness_results(summary) == {A: "incomplete"}
    # the harness lists unattempted dataset instances as incomplete: they are not imported
    summary.write_text(json.dumps({"submitted_ids": [A], "resolved_ids": [A],
                                   "incomplete_ids": [D, S]}))
    assert read_harness_results(summary) == {A: "resolved"}


def test_bad_inputs_are_clear_errors(tmp_path):
    ds = SWEBench()
    qs = ds.load(INSTANCES)
    other = tmp_path / "o.json"
    other.write_text(json.dumps({"resolved_ids": ["nobody__nothing-1"]}))
    with pytest.raises(DatasetError, match="not in the loaded dataset"):
        ds.import_results(other, model="m", queries=qs)
    both = tmp_path / "b.json"
    both.write_text(json.dumps({"resolved_ids": [A], "unresolved_ids": [A]}))
    with pytest.raises(DatasetError, match="both resolved and unresolved"):
        read_harness_results(both)
    junk = tmp_path / "j.json"
    junk.write_text(json.dumps({"hello": 1}))
    with pytest.raises(DatasetError, match="not a SWE-bench run summary"):
        read_harness_results(junk)
    with pytest.raises(DatasetError, match="harness record"):
        ds.grade(qs[0], Response(query_key=qs[0].key, model="m", raw_output="diff --git a b"))
    with pytest.raises(DatasetError, match="is for instance"):
        ds.grade(qs[0], Response(query_key=qs[0].key, model="m", raw_output=record(D, "resolved")))
    with pytest.raises(DatasetError, match="trajectory"):
        read_costs(tmp_path)


def test_cli_import_adds_to_a_bench_then_outcome_matrix(tmp_path):
    from typer.testing import CliRunner

    from routerbench_core.testing import State, Store, build_app, make_plugin_manager

    host = make_plugin_manager()
    assert host.get("importer", "swe-bench").distribution == "rbench-dataset-swe-bench"
    db = tmp_path / "r.db"
    from routerbench_core import ModelSpec

    with Store(db) as store:  # the model is already known, with prices: they must survive
        bench_id = store.ensure_bench("agents")
        store.add_models(bench_id, [ModelSpec(name="my-agent", input_price=1.0, output_price=2.0)])

    def rbench(*args):
        return CliRunner().invoke(build_app(host), ["--store", str(db), *args],
                                  obj=State(host=host))

    argv = ["data", "import", "swe-bench", str(SUMMARY), "--name", "agents", "--add",
            "-o", "model=my-agent", "-o", f"data_file={INSTANCES}", "-o", f"costs={FIX / 'trajs'}"]
    result = rbench(*argv)
    assert result.exit_code == 0, result.output
    assert "added 3 records" in result.output
    with Store(db) as store:
        m = store.load_matrix("agents")
        assert list(m.models) == ["my-agent"]
        assert sorted(m.score[:, 0].tolist()) == [0.0, 0.0, 1.0]
        assert m.cost[:, 0].sum() == pytest.approx(0.64)
        assert store.models("agents")[0].input_price == 1.0

    # a second agent joins the same bench; its instances are the same queries
    other = rbench("data", "import", "swe-bench", str(REPORTS), "--name", "agents", "--add",
                   "-o", "model=other-agent", "-o", f"data_file={INSTANCES}")
    assert other.exit_code == 0, other.output
    with Store(db) as store:
        m = store.load_matrix("agents")
        assert list(m.models) == ["my-agent", "other-agent"] and len(m.keys) == 3

    missing = rbench("data", "import", "swe-bench", str(SUMMARY), "--name", "x",
                     "-o", f"data_file={INSTANCES}")
    assert missing.exit_code == 2 and "-o model=NAME" in missing.output
    typo = rbench("data", "import", "swe-bench", str(SUMMARY), "--name", "x", "-o", "modle=m")
    assert typo.exit_code == 2 and "no option 'modle'" in typo.output and "model" in typo.output
    with Store(db) as store:
        assert store.bench_names() == ["agents"], "a failed import stores nothing"


class TestSWEBenchConformance(DatasetConformance):
    dataset_name = "swe-bench"
    fixture = INSTANCES
    good_answers = {A: record(A, "resolved"), D: record(D, "resolved"), S: record(S, "resolved")}
    bad_answers = {A: record(A, "unresolved"), D: record(D, "empty_patch"), S: record(S, "error")}
