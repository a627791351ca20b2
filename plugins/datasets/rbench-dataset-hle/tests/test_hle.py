"""HLE: text-only loading, prompt format and grading by a real judge over loopback HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rbench_dataset_hle.dataset import HLE

from routerbench_core import (
    Backend,
    DatasetError,
    GenerationRequest,
    JudgeError,
    LLMJudge,
    ModelSpec,
    Response,
)
from routerbench_core.testing.datasets import DatasetConformance

FIXTURE = Path(__file__).parent / "fixtures" / "hle_test.jsonl"
JUDGE_MODEL = ModelSpec(name="judge-model", input_price=0.15, output_price=0.6)


def judge_reply(body: dict) -> str:
    """A strict judge for the fixture: the response's 'Answer:' line must equal the reference."""
    user = body["messages"][-1]["content"]
    response = re.search(r"Response: (.*?)\n\nCorrect answer:", user, re.S).group(1)
    correct = re.search(r"Correct answer: (.*?)\n\nReply", user, re.S).group(1).strip()
    found = re.findall(r"Answer:\s*(.+)", response)
    final = found[-1].strip() if found else "None"
    ok = final.rstrip(".").lower() == correct.lower()
    return f"extracted_final_answer: {final}\nreasoning: compared.\ncorrect: {'yes' if ok else 'no'}"


@pytest.fixture(scope="module")
def judge_server():
    from routerbench_core.testing.openai_server import OpenAIServer

    with OpenAIServer(reply=judge_reply) as server:
        yield server


@pytest.fixture(scope="module")
def judge_backend(judge_server):
    pytest.importorskip("rbench_backend_openai")
    from rbench_backend_openai.backend import OpenAIBackend

    return OpenAIBackend(base_url=judge_server.url, max_retries=1, backoff_base=0.01)


def reply(q, text):
    return Response(query_key=q.key, model="m", raw_output=text)


def test_loads_text_only_questions():
    qs = HLE().load(FIXTURE)
    assert [q.id for q in qs] == ["rbfix0000000000000000001", "rbfix0000000000000000002"]
    assert qs[1].metadata["answer_type"] == "multipleChoice"


def test_prompt_format():
    ds = HLE()
    q0, q1 = ds.load(FIXTURE)
    (user,) = ds.build_messages(q0)  # the seed's single message: format, then the question
    assert user["role"] == "user" and user["content"].startswith(
        "Your response should be in the following format:\nExplanation: {your explanation")
    assert "Confidence: {your confidence score" in user["content"]
    assert user["content"].endswith(". " + q0.text)


def test_grading_through_a_real_judge(judge_server, judge_backend, rbench_store):
    ds = HLE()
    q0, q1 = ds.load(FIXTURE)
    ctx = {"judge": judge_backend, "judge_model": JUDGE_MODEL, "store": rbench_store}
    good = ds.grade(q0, reply(q0, "Explanation: Legendre's formula.\nAnswer: 25\nConfidence: 90%"), **ctx)
    assert good.score == 1.0 and good.prediction == "25"
    assert good.details["judge_verdict"] == "correct" and good.details["judge_model"] == "judge-model"
    assert good.grader_version == HLE.grader_version and good.grader_version.startswith("2+")
    bad = ds.grade(q1, reply(q1, "Explanation: fluorine is very electronegative.\nAnswer: C\nConfidence: 60%"), **ctx)
    assert bad.score == 0.0 and bad.details["judge_verdict"] == "incorrect"
    calls = len(judge_server.requests)
    again = ds.grade(q0, reply(q0, "Explanation: Legendre's formula.\nAnswer: 25\nConfidence: 90%"), **ctx)
    assert again.score == 1.0 and len(judge_server.requests) == calls  # cached judgement
    assert again.details["judge_cached"] is True


def test_judge_failure_is_none_not_zero(judge_server, judge_backend):
    ds = HLE()
    q0 = ds.load(FIXTURE)[0]
    judge_server.inject("400", times=1)  # a client error: not retried
    g = ds.grade(q0, reply(q0, "Answer: 25"), judge=judge_backend, judge_model=JUDGE_MODEL)
    assert g.score is None and "judge call failed" in g.details["error"]


def test_missing_judge_is_an_error_not_a_zero():
    ds = HLE()
    q0 = ds.load(FIXTURE)[0]
    with pytest.raises(JudgeError, match="graded by an LLM judge"):
        ds.grade(q0, reply(q0, "Answer: 25"))
    class Idle(Backend):
        name = "idle"

        async def agenerate(self, request):
            raise AssertionError("must not be called")

    with pytest.raises(JudgeError, match="judge_model"):
        ds.grade(q0, reply(q0, "Answer: 25"), judge=Idle())


def test_grade_many_runs_concurrently_and_refuses_failures():
    class SlowJudge(Backend):
        name = "slow-judge"
        in_flight = peak = 0

        async def agenerate(self, request: GenerationRequest) -> Response:
            import asyncio

            SlowJudge.in_flight += 1
            SlowJudge.peak = max(SlowJudge.peak, SlowJudge.in_flight)
            await asyncio.sleep(0.05)
            SlowJudge.in_flight -= 1
            return Response(query_key="j", model=request.model.name, raw_output="correct: yes")

    ds = HLE()
    q0, q1 = ds.load(FIXTURE)
    items = [(q, reply(q, f"Answer: {i}")) for i in range(4) for q in (q0, q1)]
    grades = ds.grade_many(items, judge=LLMJudge(SlowJudge(), "j"), judge_concurrency=4)
    assert [g.score for g in grades] == [1.0] * 8 and SlowJudge.peak == 4
    failed = Response(query_key=q0.key, model="m", error="HTTP 500")
    with pytest.raises(DatasetError):
        ds.grade_many([(q0, failed)], judge=LLMJudge(SlowJudge(), "j"))


class TestHLEConformance(DatasetConformance):
    dataset_name = "hle"
    fixture = FIXTURE
    good_answers = {
        "rbfix0000000000000000001": "Explanation: five-adic valuation.\nAnswer: 25\nConfidence: 80%",
        "rbfix0000000000000000002": "Explanation: helium.\nAnswer: B\nConfidence: 95%",
    }
    bad_answers = {
        "rbfix0000000000000000001": "Explanation: guess.\nAnswer: 24\nConfidence: 10%",
        "rbfix0000000000000000002": "Explanation: guess.\nAnswer: A\nConfidence: 10%",
    }

    @pytest.fixture(autouse=True)
    def _judge(self, judge_backend):
        type(self).grade_context = {"judge": judge_backend, "judge_model": JUDGE_MODEL}
