"""SimpleQA: CSV loading, bare-question prompt, three-way judging over loopback HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rbench_dataset_simpleqa.dataset import SimpleQA, parse_metadata

from routerbench_core import ModelSpec, Response
from routerbench_core.testing.datasets import DatasetConformance

FIXTURE = Path(__file__).parent / "fixtures" / "simple_qa_test_set.csv"
JUDGE_MODEL = ModelSpec(name="judge-model", input_price=0.15, output_price=0.6)


def judge_reply(body: dict) -> str:
    """A careful judge for the fixture: the gold target must appear in the prediction."""
    user = body["messages"][-1]["content"]
    gold = re.search(r"Gold target: (.*?)\n\nPredicted answer:", user, re.S).group(1).strip()
    pred = re.search(r"Predicted answer: (.*?)\n\nGrade the", user, re.S).group(1)
    if re.search(r"don't know|not sure|cannot", pred, re.I):
        verdict = "NOT_ATTEMPTED"
    else:
        verdict = "CORRECT" if gold.lower() in pred.lower() else "INCORRECT"
    return f"Compared the prediction with the gold target.\nVerdict: {verdict}"


@pytest.fixture(scope="module")
def judge_backend():
    pytest.importorskip("rbench_backend_openai")
    from rbench_backend_openai.backend import OpenAIBackend

    from routerbench_core.testing.openai_server import OpenAIServer

    with OpenAIServer(reply=judge_reply) as server:
        yield OpenAIBackend(base_url=server.url, max_retries=0)


def reply(q, text):
    return Response(query_key=q.key, model="m", raw_output=text)


def test_load_and_prompt():
    ds = SimpleQA()
    qs = ds.load(FIXTURE)
    assert [q.ground_truth for q in qs] == ["Michio Sugeno", "Canberra", "118"]
    assert qs[0].metadata["topic"] == "Science and technology"
    assert ds.build_messages(qs[1]) == [{"role": "user", "content": "What is the capital city of Australia?"}]


def test_metadata_literal_is_parsed_without_eval():
    assert parse_metadata("{'topic': 'x', 'urls': ['u']}") == {"topic": "x", "urls": ["u"]}
    assert parse_metadata("__import__('os').system('echo hi')") == {"raw": "__import__('os').system('echo hi')"}


def test_three_way_verdicts(judge_backend):
    ds = SimpleQA()
    q0, q1, q2 = ds.load(FIXTURE)
    ctx = {"judge": judge_backend, "judge_model": JUDGE_MODEL}
    right = ds.grade(q1, reply(q1, "The capital is Canberra."), **ctx)
    wrong = ds.grade(q1, reply(q1, "Sydney."), **ctx)
    skip = ds.grade(q0, reply(q0, "I don't know who received it."), **ctx)
    assert (right.score, right.details["judge_verdict"]) == (1.0, "correct")
    assert (wrong.score, wrong.details["judge_verdict"]) == (0.0, "incorrect")
    assert (skip.score, skip.details["judge_verdict"]) == (0.0, "not_attempted")
    assert right.grader_version == "1+simpleqa@1"


def test_empty_answer_costs_no_judge_call():
    ds = SimpleQA()
    q = ds.load(FIXTURE)[0]
    g = ds.grade(q, reply(q, "  "))  # no judge configured: never needed
    assert g.score == 0.0 and g.details["judge_verdict"] == "not_attempted"


class TestSimpleQAConformance(DatasetConformance):
    dataset_name = "simpleqa"
    fixture = FIXTURE
    good_answers = {"0": "It was Michio Sugeno.", "1": "Canberra", "2": "Oganesson has atomic number 118."}
    bad_answers = {"0": "Geoffrey Hinton", "1": "Sydney", "2": "It is 117."}

    @pytest.fixture(autouse=True)
    def _judge(self, judge_backend):
        type(self).grade_context = {"judge": judge_backend, "judge_model": JUDGE_MODEL}


def test_grade_bench_end_to_end_with_cached_regrade(rbench_store):
    """Stored answers graded by `grade_bench` through a registered backend; a regrade is
    answered from the judge cache; a failed call stays ungraded."""
    pytest.importorskip("rbench_backend_openai")
    from routerbench_core import ModelSpec as MS
    from routerbench_core import judge_context
    from routerbench_core.testing import grade_bench, make_plugin_manager
    from routerbench_core.testing.openai_server import OpenAIServer

    ds = SimpleQA()
    qs = ds.load(FIXTURE)
    store = rbench_store
    bench_id = store.ensure_bench("b")
    with store.transaction() as conn:
        store.add_models(bench_id, [MS(name="m")], conn=conn)
        store.add_queries(bench_id, qs, conn=conn)
    store.put_responses("b", [
        Response(query_key=qs[0].key, model="m", raw_output="Michio Sugeno"),
        Response(query_key=qs[1].key, model="m", raw_output="Sydney"),
        Response(query_key=qs[2].key, model="m", error="HTTP 500"),
    ])
    host = make_plugin_manager()
    with OpenAIServer(reply=judge_reply) as server:
        ctx = judge_context(host, "openai", JUDGE_MODEL, store=store,
                            backend_options={"base_url": server.url, "max_retries": 0})
        report = grade_bench(store, "b", host, context=ctx)
        assert report.graded == 2 and report.failed_calls == 1 and report.n_errors == 0
        asked = len(server.requests)
        again = grade_bench(store, "b", host, context=ctx, regrade=True)
        assert again.graded == 2 and len(server.requests) == asked  # judge cache hit
    scores = {g.query_key: g.score for g in store.grades("b")}
    assert scores == {qs[0].key: 1.0, qs[1].key: 0.0}
