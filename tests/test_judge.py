"""LLM-as-judge: verdict parsing, both-order pairwise scoring, caching and failures.

The judge model here is a small rule-based Backend subclass that reads the rendered judge
prompt and answers like a careful judge would (it compares the prediction with the gold target,
or prefers the answer that contains a marker word). Everything else is real: the prompts, the
parsing, the SQLite store's request cache.
"""

from __future__ import annotations

import re

import pytest

from routerbench_core.collection.backends import Backend
from routerbench_core.schema import GenerationRequest, Response
from routerbench_core.scoring.judge import (
    ARENA_HARD_PROMPT,
    HLE_PROMPT,
    SIMPLEQA_PROMPT,
    JudgeError,
    LLMJudge,
    PairwiseJudge,
    ReferenceJudge,
    combine_rounds,
    get_prompt,
    parse_pair_label,
    parse_reference_verdict,
)


class RuleJudgeBackend(Backend):
    """Answers judge prompts by rule: exact-ish match for reference prompts; for pairwise
    prompts prefers the answer containing 'GOOD' (and, with ``position_bias``, always A)."""

    name = "rule-judge"

    def __init__(self, *, fail: bool = False, garble: bool = False, position_bias: bool = False):
        super().__init__()
        self.fail, self.garble, self.position_bias = fail, garble, position_bias
        self.seen: list[GenerationRequest] = []

    async def agenerate(self, request: GenerationRequest) -> Response:
        self.seen.append(request)
        if self.fail:
            return Response(query_key=request.query_key or "", model=request.model.name,
                            error="HTTP 503 from judge")
        user = request.messages[-1]["content"]
        if self.garble:
            text = "I cannot decide."
        elif "<|User Prompt|>" in user:
            a = user.split("Assistant A's Answer|>")[1].split("<|The End")[0]
            b = user.split("Assistant B's Answer|>")[1].split("<|The End")[0]
            if self.position_bias:
                label = "A>B"
            elif ("GOOD" in a) == ("GOOD" in b):
                label = "A=B"
            else:
                label = "A>>B" if "GOOD" in a else "B>>A"
            text = f"Both were read carefully. My final verdict is [[{label}]]."
        elif "Gold target:" in user:
            gold = re.search(r"Gold target: (.*)", user).group(1).strip().lower()
            pred = re.search(r"Predicted answer: (.*)", user, re.S).group(1).strip().lower()
            if "don't know" in pred:
                verdict = "NOT_ATTEMPTED"
            else:
                verdict = "CORRECT" if gold in pred else "INCORRECT"
            text = f"The prediction was compared with the target.\nVerdict: {verdict}"
        else:
            gold = re.search(r"Correct answer: (.*)", user).group(1).strip()
            resp = re.search(r"Response: (.*?)\n\nCorrect answer", user, re.S).group(1)
            ok = gold.lower() in resp.lower()
            text = f"extracted_final_answer: {resp.strip()}\nreasoning: compared.\ncorrect: {'yes' if ok else 'no'}"
        return Response(query_key=request.query_key or "", model=request.model.name,
                        raw_output=text, prompt_tokens=100, completion_tokens=20, cost=0.001)


def test_reference_verdicts_simpleqa_three_ways():
    judge = ReferenceJudge(LLMJudge(RuleJudgeBackend(), "judge-model"))
    q = "What is the capital of Australia?"
    good = judge.judge_sync(q, "Canberra", "It is Canberra.")
    bad = judge.judge_sync(q, "Canberra", "Sydney.")
    skip = judge.judge_sync(q, "Canberra", "I don't know.")
    assert (good.score, good.verdict) == (1.0, "correct")
    assert (bad.score, bad.verdict) == (0.0, "incorrect")
    assert (skip.score, skip.verdict) == (0.0, "not_attempted")
    details = good.grade_details()
    assert details["judge_prompt"] == "simpleqa@1"
    assert details["judge_model"] == "judge-model"
    assert details["judge_cost"] == pytest.approx(0.001)


def test_hle_prompt_yes_no():
    judge = ReferenceJudge(LLMJudge(RuleJudgeBackend(), "j"), HLE_PROMPT)
    assert judge.judge_sync("2+2?", "4", "The answer is 4").verdict == "correct"
    assert judge.judge_sync("2+2?", "4", "The answer is 5").score == 0.0


@pytest.mark.parametrize(
    "text,verdict",
    [
        ("blah\nVerdict: CORRECT", "correct"),
        ("Verdict: correct\n...\nVerdict: **INCORRECT**", "incorrect"),
        ("verdict: NOT ATTEMPTED", "not_attempted"),
        ("NOT_ATTEMPTED", "not_attempted"),
        ("The answer looks CORRECT to me but who knows", None),
        ("", None),
    ],
)
def test_parse_simpleqa_verdict(text, verdict):
    assert parse_reference_verdict(SIMPLEQA_PROMPT, text) == verdict


def test_parse_hle_verdict_takes_last():
    assert parse_reference_verdict(HLE_PROMPT, "correct: no\ncorrect: yes") == "correct"
    assert parse_reference_verdict(HLE_PROMPT, "correct: maybe") is None


@pytest.mark.parametrize(
    "text,label",
    [
        ("My final verdict is [[A>>B]]", "A>>B"),
        ("first [[A>B]] then on reflection [[B>A]]", "B>A"),
        ("[[ b > a ]]", "B>A"),
        ("[[A<B]]", "B>A"),
        ("[[B=A]]", "A=B"),
        ("[[A>A]]", None),
        ("A is better", None),
    ],
)
def test_parse_pair_label(text, label):
    assert parse_pair_label(text) == label


def test_combine_rounds_weights_and_signs():
    # round 1: baseline=A, model=B; round 2: model=A, baseline=B
    assert combine_rounds("B>>A", "A>>B") == 1.0
    assert combine_rounds("A>>B", "B>>A") == 0.0
    assert combine_rounds("A=B", "A=B") == 0.5
    assert combine_rounds("A>B", "A>B") == 0.5  # position bias cancels out
    assert combine_rounds("A>B", "A>>B") == 1.0  # strong win outweighs slight loss
    assert combine_rounds("A>>B", "A>B") == 0.0


def test_pairwise_both_orders():
    backend = RuleJudgeBackend()
    judge = PairwiseJudge(LLMJudge(backend, "j"))
    win = judge.judge_sync("Write a poem", "a GOOD poem", "a bland poem")
    loss = judge.judge_sync("Write a poem", "a bland poem", "a GOOD poem")
    tie = judge.judge_sync("Write a poem", "a GOOD poem", "another GOOD poem")
    assert (win.score, win.verdict) == (1.0, "win")
    assert (loss.score, loss.verdict) == (0.0, "loss")
    assert (tie.score, tie.verdict) == (0.5, "tie")
    # both orders were really asked: the model's answer appears once as A and once as B
    firsts = [r.messages[-1]["content"] for r in backend.seen[:2]]
    assert sum("Assistant A's Answer|>\na GOOD poem" in f for f in firsts) == 1
    assert win.details["baseline_first_label"] == "B>>A"
    assert win.details["model_first_label"] == "A>>B"


def test_pairwise_position_bias_gives_tie():
    judge = PairwiseJudge(LLMJudge(RuleJudgeBackend(position_bias=True), "j"))
    assert judge.judge_sync("q", "x", "y").score == 0.5


def test_pairwise_category_prompt():
    backend = RuleJudgeBackend()
    judge = PairwiseJudge(LLMJudge(backend, "j"))
    judge.judge_sync("q", "GOOD", "bad", category="creative_writing")
    assert "write your own answer" not in backend.seen[-1].messages[0]["content"]
    judge.judge_sync("q", "GOOD", "bad", category="hard_prompt")
    assert "write your own answer" in backend.seen[-1].messages[0]["content"]
    assert judge.prompt_for("unknown-category") is ARENA_HARD_PROMPT


def test_failed_judge_call_is_none_not_zero():
    ref = ReferenceJudge(LLMJudge(RuleJudgeBackend(fail=True), "j"))
    out = ref.judge_sync("q", "a", "a")
    assert out.score is None and "503" in out.error
    assert "503" in out.grade_details()["error"]
    pair = PairwiseJudge(LLMJudge(RuleJudgeBackend(fail=True), "j"))
    out = pair.judge_sync("q", "a", "b")
    assert out.score is None and "baseline_first judge call failed" in out.error


def test_unparseable_judge_reply_is_none():
    out = ReferenceJudge(LLMJudge(RuleJudgeBackend(garble=True), "j")).judge_sync("q", "a", "a")
    assert out.score is None and "no verdict" in out.error
    out = PairwiseJudge(LLMJudge(RuleJudgeBackend(garble=True), "j")).judge_sync("q", "a", "b")
    assert out.score is None and "verdict label" in out.error


def test_backend_that_raises_is_a_failure_not_a_crash():
    class Raising(RuleJudgeBackend):
        async def agenerate(self, request):
            raise ConnectionError("refused")

    out = ReferenceJudge(LLMJudge(Raising(), "j")).judge_sync("q", "a", "a")
    assert out.score is None and "ConnectionError" in out.error


def test_judge_calls_are_cached_in_the_store(rbench_store):
    backend = RuleJudgeBackend()
    judge = ReferenceJudge(LLMJudge(backend, "j", store=rbench_store))
    first = judge.judge_sync("q?", "Paris", "Paris")
    again = ReferenceJudge(LLMJudge(backend, "j", store=rbench_store)).judge_sync("q?", "Paris", "Paris")
    assert len(backend.seen) == 1
    assert first.details["judge_cached"] is False and again.details["judge_cached"] is True
    assert again.score == first.score == 1.0
    # a different judge model or different params is a different cache entry
    ReferenceJudge(LLMJudge(backend, "other", store=rbench_store)).judge_sync("q?", "Paris", "Paris")
    ReferenceJudge(
        LLMJudge(backend, "j", params={"temperature": 0.5}, store=rbench_store)
    ).judge_sync("q?", "Paris", "Paris")
    assert len(backend.seen) == 3
    rows = rbench_store.execute("SELECT COUNT(*) FROM request_cache").fetchone()[0]
    assert rows == 3


def test_failed_calls_are_not_cached(rbench_store):
    failing = RuleJudgeBackend(fail=True)
    ReferenceJudge(LLMJudge(failing, "j", store=rbench_store)).judge_sync("q", "a", "a")
    assert rbench_store.execute("SELECT COUNT(*) FROM request_cache").fetchone()[0] == 0
    working = RuleJudgeBackend()
    out = ReferenceJudge(LLMJudge(working, "j", store=rbench_store)).judge_sync("q", "a", "a")
    assert out.score == 1.0 and len(working.seen) == 1


def test_hash_depends_on_model_messages_params():
    j = LLMJudge(RuleJudgeBackend(), "m")
    msgs = [{"role": "user", "content": "x"}]
    assert j.request_hash(msgs) == LLMJudge(RuleJudgeBackend(), "m").request_hash(msgs)
    assert j.request_hash(msgs) != LLMJudge(RuleJudgeBackend(), "n").request_hash(msgs)
    assert j.request_hash(msgs) != j.request_hash([{"role": "user", "content": "y"}])


async def test_async_api_and_sync_inside_a_running_loop():
    judge = ReferenceJudge(LLMJudge(RuleJudgeBackend(), "j"))
    assert (await judge.ajudge("q", "x", "x")).score == 1.0
    assert judge.judge_sync("q", "x", "y").score == 0.0  # runs in a helper thread


def test_prompts_are_versioned_and_known():
    for name in ("simpleqa", "hle", "arenahard-hard-prompt", "arenahard-creative-writing"):
        p = get_prompt(name)
        assert p.version and p.ident == f"{name}@{p.version}"
    with pytest.raises(JudgeError, match="unknown judge prompt"):
        get_prompt("nope")


def test_judge_shares_the_collectors_cache_key_and_shape(rbench_store):
    from routerbench_core.collection.backends import request_hash

    backend = RuleJudgeBackend()
    judge = LLMJudge(backend, "j", store=rbench_store)
    messages = SIMPLEQA_PROMPT.render(question="q", reference="a", answer="a")
    key = request_hash(backend.cache_identity(), "j", messages, {"temperature": 0.0})
    assert judge.request_hash(messages) == key
    # an entry written the way the collector writes it (no query_key/model/request_hash)
    from routerbench_core.data.store import CachedCall

    rbench_store.put_cached([CachedCall(
        key, "rule-judge", "j", {"messages": messages},
        Response(query_key="other", model="j", raw_output="Verdict: INCORRECT", cost=0.5))])
    out = ReferenceJudge(judge).judge_sync("q", "a", "a")
    assert backend.seen == [] and out.verdict == "incorrect" and out.details["judge_cached"]


def test_judge_context_builds_a_cached_judge_from_a_registered_backend(rbench_store):
    from routerbench_core.plugins.manager import make_plugin_manager
    from routerbench_core.scoring.judge import judge_context, resolve_judge

    class Plugin:
        from routerbench_core.plugins.hookspecs import hookimpl

        @staticmethod
        @hookimpl
        def register_backends(register):
            register("rule-judge", RuleJudgeBackend, "test judge")

    host = make_plugin_manager(load_entrypoints=False, extra_plugins=[Plugin])
    ctx = judge_context(host, "rule-judge", "jm", store=rbench_store)
    judge = resolve_judge(ctx, dataset="simpleqa")
    assert isinstance(judge.backend, RuleJudgeBackend) and judge.store is rbench_store
    assert ReferenceJudge(judge).judge_sync("q", "x", "x").score == 1.0


def test_sync_judge_calls_share_one_event_loop():
    """Backends keep connection pools per loop: every synchronous grade must reuse one loop."""
    import asyncio

    loops = []

    class LoopSpy(RuleJudgeBackend):
        async def agenerate(self, request):
            loops.append(asyncio.get_running_loop())
            return await super().agenerate(request)

    judge = ReferenceJudge(LLMJudge(LoopSpy(), "j"))
    for answer in ("a", "b", "c"):
        judge.judge_sync("q", "a", answer)
    assert len(loops) == 3 and len({id(lp) for lp in loops}) == 1
