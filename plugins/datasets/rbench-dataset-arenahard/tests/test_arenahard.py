"""Arena-Hard v2: questions + baseline files, pairwise judging in both orders over loopback HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rbench_dataset_arenahard.dataset import ArenaHard, read_baseline_file

from routerbench_core import DatasetError, ModelSpec, Response
from routerbench_core.testing.datasets import DatasetConformance

FIX = Path(__file__).parent / "fixtures"
QUESTIONS = FIX / "question.jsonl"
BASELINES = [FIX / "model_answer" / "o3-mini-2025-01-31.jsonl",
             FIX / "model_answer" / "gemini-2.0-flash-001.jsonl"]
JUDGE_MODEL = ModelSpec(name="judge-model", input_price=1.0, output_price=4.0)
UID_CODE, UID_POEM = "fx0a1b2c3d4e5f60", "fx1b2c3d4e5f6071"

#: What a careful judge looks for in each fixture prompt.
KEYWORDS = {"Fibonacci": {"doubling", "matrix", "o(log n)", "logarithmic"},
            "haiku": {"lighthouse", "fog", "winter"}}
SEEN_ORDERS: list[tuple[str, str]] = []


def judge_reply(body: dict) -> str:
    user = body["messages"][-1]["content"]
    question = user.split("<|User Prompt|>\n")[1].split("\n\n<|The Start")[0]
    a = user.split("Assistant A's Answer|>\n")[1].split("\n<|The End")[0]
    b = user.split("Assistant B's Answer|>\n")[1].split("\n<|The End")[0]
    SEEN_ORDERS.append((a[:20], b[:20]))
    words = next(v for k, v in KEYWORDS.items() if k in question)
    qa, qb = (sum(w in x.lower() for w in words) - 2 * ("cannot help" in x.lower())
              for x in (a, b))
    diff = qa - qb
    label = "A=B" if diff == 0 else ("A>>B" if diff >= 2 else "A>B") if diff > 0 else (
        "B>>A" if diff <= -2 else "B>A")
    return f"Checked both answers against my own.\n\nMy final verdict is [[{label}]]"


@pytest.fixture(scope="module")
def judge_backend():
    pytest.importorskip("rbench_backend_openai")
    from rbench_backend_openai.backend import OpenAIBackend

    from routerbench_core.testing.openai_server import OpenAIServer

    with OpenAIServer(reply=judge_reply) as server:
        yield OpenAIBackend(base_url=server.url, max_retries=0)


def reply(q, text):
    return Response(query_key=q.key, model="m", raw_output=text)


GOOD_CODE = ("Use fast doubling: F(2k) = F(k)(2F(k+1) - F(k)), F(2k+1) = F(k)^2 + F(k+1)^2, "
             "which recurses on n/2, so it is O(log n) (logarithmic) time.")
GOOD_POEM = "Winter fog settles\nthe lighthouse sweeps its pale arm\nacross a blind sea"


def test_load_pairs_questions_with_category_baselines():
    qs = ArenaHard(baseline_files=BASELINES).load(QUESTIONS)
    assert [q.id for q in qs] == [UID_CODE, UID_POEM]
    assert qs[0].ground_truth["baseline_model"] == "o3-mini-2025-01-31"
    assert qs[1].ground_truth["baseline_model"] == "gemini-2.0-flash-001"
    assert qs[1].ground_truth["baseline_answer"].startswith("Fog on the water")
    msgs = ArenaHard(baseline_files=BASELINES).build_messages(qs[0])
    assert msgs == [{"role": "user", "content": qs[0].text}]


def test_missing_baseline_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="no baseline answer from o3-mini"):
        ArenaHard().load(QUESTIONS)
    bad = tmp_path / "x.jsonl"
    bad.write_text(json.dumps({"uid": "u", "messages": []}) + "\n")
    with pytest.raises(DatasetError, match="x.jsonl, line 1"):
        read_baseline_file(bad)


def test_inline_baseline_answer(tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text(json.dumps({"uid": "u1", "prompt": "hi", "category": "hard_prompt",
                             "baseline_answer": "hello"}) + "\n")
    (q,) = ArenaHard().load(f)
    assert q.ground_truth == {"baseline_model": "o3-mini-2025-01-31", "baseline_answer": "hello"}


def test_pairwise_both_orders_over_http(judge_backend):
    ds = ArenaHard(baseline_files=BASELINES)
    code, poem = ds.load(QUESTIONS)
    ctx = {"judge": judge_backend, "judge_model": JUDGE_MODEL}
    SEEN_ORDERS.clear()
    win = ds.grade(code, reply(code, GOOD_CODE), **ctx)
    assert (win.score, win.prediction) == (1.0, "win")
    assert win.details["baseline_first_label"] == "B>>A" and win.details["model_first_label"] == "A>>B"
    assert SEEN_ORDERS[0][0] != SEEN_ORDERS[1][0]  # both positions were really asked
    loss = ds.grade(poem, reply(poem, "Here is a short poem about the sea."), **ctx)
    assert (loss.score, loss.prediction) == (0.0, "loss")
    tie = ds.grade(poem, reply(poem, "Fog again\nnothing else\nsilence"), **ctx)
    assert (tie.score, tie.prediction) == (0.5, "tie")
    assert win.details["judge_prompt"] == "arenahard-hard-prompt@1"
    assert tie.details["judge_prompt"] == "arenahard-creative-writing@1"


def test_judge_reasoning_is_stripped_and_empty_answer_loses():
    ds = ArenaHard(baseline_files=BASELINES)
    code = ds.load(QUESTIONS)[0]
    g = ds.grade(code, reply(code, "<think>long</think>   "))
    assert g.score == 0.0 and g.details["reason"] == "empty answer"


class TestArenaHardConformance(DatasetConformance):
    dataset_name = "arenahard"
    fixture = QUESTIONS
    options = {"baseline_files": [str(p) for p in BASELINES]}
    expects_hub = False
    good_answers = {UID_CODE: GOOD_CODE, UID_POEM: GOOD_POEM}
    bad_answers = {UID_CODE: "Sorry, I cannot help with that.", UID_POEM: "A poem about the sea."}

    @pytest.fixture(autouse=True)
    def _judge(self, judge_backend):
        type(self).grade_context = {"judge": judge_backend, "judge_model": JUDGE_MODEL}
