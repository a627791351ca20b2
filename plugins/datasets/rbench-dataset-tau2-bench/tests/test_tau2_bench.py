"""tau2-bench: task loading (domains folder, tasks.json, results file), results import with
excluded simulations and costs, grading of task records, and the import format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rbench_dataset_tau2_bench.dataset import Tau2Bench, read_results, task_records

from routerbench_core import DatasetError, Response
from routerbench_core.testing.datasets import DatasetConformance

FIX = Path(__file__).parent / "fixtures"
DOMAINS = FIX / "domains"
RESULTS = FIX / "qwen3-8b_airline.json"


def rec(rewards, excluded=0, qid="airline:0"):
    domain, tid = qid.split(":")
    return json.dumps({"task_id": tid, "domain": domain, "rewards": rewards,
                       "agent_costs": [0.01] * len(rewards), "excluded": excluded})


def test_load_domains_folder_and_prompt():
    ds = Tau2Bench()
    qs = ds.load(DOMAINS)
    assert [q.id for q in qs] == ["airline:0", "airline:1", "retail:0"]
    assert "EHGLP3" in qs[0].text and "Emma Kim" in qs[0].text
    content = ds.build_messages(qs[2])[0]["content"]
    assert "retail domain" in content and "clicky switches" in content
    assert "exchange_delivered_order_items" not in content  # expected actions stay hidden


def test_load_tasks_json_needs_a_domain(tmp_path):
    assert [q.id for q in Tau2Bench().load(DOMAINS / "retail" / "tasks.json")] == ["retail:0"]
    bare = tmp_path / "tasks.json"
    bare.write_text((DOMAINS / "airline" / "tasks.json").read_text())
    with pytest.raises(DatasetError, match="domain="):
        Tau2Bench().load(bare)
    assert len(Tau2Bench(domain="airline").load(bare)) == 2
    assert [q.id for q in Tau2Bench().load(RESULTS)] == ["airline:0", "airline:1"]


def test_base_split_is_honoured(tmp_path):
    d = tmp_path / "domains" / "airline"
    d.mkdir(parents=True)
    (d / "tasks.json").write_text((DOMAINS / "airline" / "tasks.json").read_text())
    (d / "split_tasks.json").write_text(json.dumps({"base": ["1"], "train": ["0"]}))
    assert [q.id for q in Tau2Bench().load(tmp_path / "domains")] == ["airline:1"]


def test_task_records_exclude_infrastructure_failures():
    records = task_records(read_results(RESULTS))
    assert records["0"]["rewards"] == [1.0, 0.0] and records["0"]["excluded"] == 0
    assert records["1"]["rewards"] == [1.0] and records["1"]["excluded"] == 1


def test_import_scores_and_costs():
    ds = Tau2Bench()
    qs = ds.load(DOMAINS)
    model, responses = ds.import_results(RESULTS, queries=qs)
    assert model == "qwen3-8b" and len(responses) == 2
    by_key = {r.query_key: r for r in responses}
    r0, r1 = by_key["tau2-bench/airline:0"], by_key["tau2-bench/airline:1"]
    assert r0.cost == pytest.approx(0.025) and r1.cost == pytest.approx(0.05)
    assert r0.cost_source == "imported"
    q = {x.key: x for x in qs}
    assert ds.grade(q[r0.query_key], r0).score == pytest.approx(0.5)
    g1 = ds.grade(q[r1.query_key], r1)
    assert g1.score == 1.0 and g1.details == {"trials": 1, "excluded": 1}


def test_all_excluded_is_not_graded_zero():
    ds = Tau2Bench()
    q = ds.load(DOMAINS)[0]
    g = ds.grade(q, Response(query_key=q.key, model="m", raw_output=rec([], excluded=2)))
    assert g.score is None and "no evaluable simulation" in g.details["error"]


def test_bad_inputs(tmp_path):
    ds = Tau2Bench()
    qs = ds.load(DOMAINS / "retail" / "tasks.json")
    with pytest.raises(DatasetError, match="not in the loaded tasks"):
        ds.import_results(RESULTS, queries=qs)
    junk = tmp_path / "r.json"
    junk.write_text(json.dumps({"simulations": []}))
    with pytest.raises(DatasetError, match="domain_name"):
        read_results(junk)
    bad = json.loads(RESULTS.read_text())
    bad["simulations"][0]["reward_info"]["reward"] = 3.0
    with pytest.raises(DatasetError, match="outside"):
        task_records(bad)
    q = qs[0]
    with pytest.raises(DatasetError, match="not a tau2 task record"):
        ds.grade(q, Response(query_key=q.key, model="m", raw_output="I helped the customer."))
    with pytest.raises(DatasetError, match="is for task airline:0"):
        ds.grade(q, Response(query_key=q.key, model="m", raw_output=rec([1.0])))


def test_cli_import_format(tmp_path):
    from typer.testing import CliRunner

    from routerbench_core.testing import State, Store, build_app, make_plugin_manager

    host = make_plugin_manager()
    db = tmp_path / "r.db"

    def rbench(*args):
        return CliRunner().invoke(build_app(host), ["--store", str(db), *args],
                                  obj=State(host=host))

    out = rbench("data", "import", "tau2-bench", str(RESULTS), "--name", "agents",
                 "-o", f"data_file={DOMAINS}")
    assert out.exit_code == 0, out.output
    with Store(db) as store:
        m = store.load_matrix("agents")
        assert list(m.models) == ["qwen3-8b"]
        scores = dict(zip(m.keys.tolist(), m.score[:, 0].tolist(), strict=True))
        assert scores["tau2-bench/airline:0"] == pytest.approx(0.5)
        assert scores["tau2-bench/airline:1"] == 1.0
        assert scores["tau2-bench/retail:0"] != scores["tau2-bench/retail:0"]  # NaN: not run

    again = rbench("data", "import", "tau2-bench", str(RESULTS), "--name", "agents", "--add",
                   "-o", f"data_file={DOMAINS}", "-o", "model=qwen3-8b-rerun")
    assert again.exit_code == 0, again.output
    with Store(db) as store:
        assert list(store.load_matrix("agents").models) == ["qwen3-8b", "qwen3-8b-rerun"]

    no_tasks = rbench("data", "import", "tau2-bench", str(RESULTS), "--name", "b")
    assert no_tasks.exit_code == 2 and "-o data_file=PATH" in no_tasks.output


class TestTau2BenchConformance(DatasetConformance):
    dataset_name = "tau2-bench"
    fixture = DOMAINS
    expects_hub = False
    good_answers = {q: rec([1.0, 1.0], qid=q) for q in ("airline:0", "airline:1", "retail:0")}
    bad_answers = {q: rec([0.0], qid=q) for q in ("airline:0", "airline:1", "retail:0")}
