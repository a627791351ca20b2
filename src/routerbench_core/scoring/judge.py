"""LLM-as-judge: grade free-form answers with another model, through any backend.

Two judges share one cached caller (:class:`LLMJudge`):

* :class:`ReferenceJudge` — one verdict against a reference answer, as SimpleQA and HLE grade:
  ``correct`` / ``incorrect`` / ``not_attempted`` (SimpleQA's three grades; HLE's judge only
  says yes/no, so it never returns ``not_attempted``). Score 1 for correct, else 0.
* :class:`PairwiseJudge` — ArenaHard's comparison against a baseline answer, asked in BOTH
  orders to cancel position bias. Each round yields one of ``A>>B, A>B, A=B, B>A, B>>A``;
  seen from the judged model a strong preference weighs 3 and a slight one 1 (ArenaHard-auto's
  weighting); the sign of the two rounds' sum gives 1 (better), 0.5 (tie) or 0 (worse).

Why a judge call is cached like any other request: re-grading (a new dataset grader version,
``rbench grade --regrade``) must not pay for the same judgement twice, and a judge run killed
half-way resumes where it stopped. The key is the collector's own
:func:`routerbench_core.collection.backends.request_hash` (backend identity, judge model, messages,
output-changing sampling parameters) and entries are stored in the store's ``request_cache`` in
the collector's shape. Failed calls are never cached.

A judge that fails (the backend returned an error, or the reply has no parseable verdict) gives
``score=None`` with the error in ``details`` — never a 0, which would blame the judged model for
the judge's failure.

Prompts are versioned: changing a prompt's text must bump its ``version``, and datasets that use
it bump their ``grader_version`` so stored grades can be told apart and re-scored.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from routerbench_core.schema import GenerationRequest, Grade, ModelSpec, Query, Response

if TYPE_CHECKING:
    from routerbench_core.collection.backends import Backend
    from routerbench_core.data.store import Store

Verdict = Literal["correct", "incorrect", "not_attempted"]
T = TypeVar("T")


class JudgeError(ValueError):
    """A judge is misconfigured (unknown prompt, bad parameters)."""


# -- prompts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JudgePrompt:
    """A versioned judge prompt: a system message and a user template with ``{fields}``."""

    name: str
    version: str
    system: str
    user: str

    @property
    def ident(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self, **fields: str) -> list[dict[str, Any]]:
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.user.format(**fields)},
        ]


SIMPLEQA_PROMPT = JudgePrompt(
    name="simpleqa",
    version="1",
    system=(
        "You grade answers to short factual questions. You are given the question, the gold "
        "target answer and a predicted answer. Decide whether the prediction is CORRECT, "
        "INCORRECT or NOT_ATTEMPTED.\n"
        "- CORRECT: the prediction states the gold target's meaning (extra detail is fine if it "
        "does not contradict the target; spelling, capitalisation and formatting differences "
        "do not matter; a number must match to the precision the target gives).\n"
        "- INCORRECT: the prediction states an answer that contradicts the target, or hedges "
        "between several candidates one of which is wrong.\n"
        "- NOT_ATTEMPTED: the prediction gives no answer (a refusal, 'I don't know', or "
        "information that neither states nor contradicts the target).\n"
        "Judge only the final answer, not the reasoning. Reply with a brief justification and "
        "end with a line of the form 'Verdict: CORRECT', 'Verdict: INCORRECT' or "
        "'Verdict: NOT_ATTEMPTED'."
    ),
    user=(
        "Question: {question}\n\nGold target: {reference}\n\nPredicted answer: {answer}\n\n"
        "Grade the predicted answer."
    ),
)

HLE_PROMPT = JudgePrompt(
    name="hle",
    version="1",
    system=(
        "You judge whether a response to a hard exam question reaches the correct final answer. "
        "Extract the final answer the response commits to, compare it with the correct answer "
        "and decide whether they agree. Small numerical rounding differences are acceptable; "
        "for multiple choice the chosen option must be the correct one. Anything else - a "
        "different answer, several inconsistent answers, or no final answer - is not correct."
    ),
    user=(
        "Question: {question}\n\nResponse: {answer}\n\nCorrect answer: {reference}\n\n"
        "Reply in exactly this format:\n"
        "extracted_final_answer: <the response's final answer, or None>\n"
        "reasoning: <one or two sentences comparing it with the correct answer>\n"
        "correct: <yes or no>"
    ),
)

_PAIRWISE_SYSTEM = (
    "You are an impartial judge of two AI assistants' answers to the same user prompt. "
    "{own_answer}Compare both answers for correctness, helpfulness, relevance, concision and, "
    "where it matters, creativity and missing important information. Do not let the order of "
    "the answers, their length or the assistants' names influence you. Explain briefly, then "
    "give your final verdict as exactly one label:\n"
    "[[A>>B]] Assistant A is significantly better\n"
    "[[A>B]] Assistant A is slightly better\n"
    "[[A=B]] a tie, relatively the same\n"
    "[[B>A]] Assistant B is slightly better\n"
    "[[B>>A]] Assistant B is significantly better\n"
    'For example: "My final verdict is [[B>A]]".'
)

_PAIRWISE_USER = (
    "<|User Prompt|>\n{question}\n\n<|The Start of Assistant A's Answer|>\n{answer_a}\n"
    "<|The End of Assistant A's Answer|>\n\n<|The Start of Assistant B's Answer|>\n{answer_b}\n"
    "<|The End of Assistant B's Answer|>"
)

ARENA_HARD_PROMPT = JudgePrompt(
    name="arenahard-hard-prompt",
    version="1",
    system=_PAIRWISE_SYSTEM.format(
        own_answer="Before judging, write your own answer to the prompt and use it to check "
        "both assistants' answers for mistakes. "
    ),
    user=_PAIRWISE_USER,
)

ARENA_CREATIVE_PROMPT = JudgePrompt(
    name="arenahard-creative-writing",
    version="1",
    system=_PAIRWISE_SYSTEM.format(own_answer=""),
    user=_PAIRWISE_USER,
)

PROMPTS: dict[str, JudgePrompt] = {
    p.name: p for p in (SIMPLEQA_PROMPT, HLE_PROMPT, ARENA_HARD_PROMPT, ARENA_CREATIVE_PROMPT)
}


def get_prompt(name: str) -> JudgePrompt:
    try:
        return PROMPTS[name]
    except KeyError:
        raise JudgeError(
            f"unknown judge prompt {name!r}; choose one of {', '.join(sorted(PROMPTS))}"
        ) from None


# -- verdict parsing ---------------------------------------------------------------------------

_VERDICT_LINE = re.compile(r"verdict\s*[:：]\s*\**\s*(CORRECT|INCORRECT|NOT[_ ]ATTEMPTED)", re.I)
_BARE_VERDICT = re.compile(r"^\W*(CORRECT|INCORRECT|NOT[_ ]ATTEMPTED)\W*$", re.I)
_HLE_CORRECT = re.compile(r"correct\s*[:：]\s*\**\s*(yes|no)\b", re.I)
_PAIR_LABEL = re.compile(r"\[\[\s*([AB])\s*(>>|>|=|<<|<)\s*([AB])\s*\]\]")

#: Preference for assistant A, by label (ArenaHard-auto's weights: strong 3, slight 1).
_PREFERENCE_A = {"A>>B": 3, "A>B": 1, "A=B": 0, "B=A": 0, "B>A": -1, "B>>A": -3}


def parse_reference_verdict(prompt: JudgePrompt, text: str) -> Verdict | None:
    """The verdict in a judge reply, or None when it gives none."""
    if prompt.name == HLE_PROMPT.name:
        found = _HLE_CORRECT.findall(text)
        if not found:
            return None
        return "correct" if found[-1].lower() == "yes" else "incorrect"
    found = _VERDICT_LINE.findall(text)
    if not found:
        bare = _BARE_VERDICT.match(text.strip())
        found = [bare.group(1)] if bare else []
    if not found:
        return None
    word = found[-1].upper().replace(" ", "_")
    return {"CORRECT": "correct", "INCORRECT": "incorrect"}.get(word, "not_attempted")  # type: ignore[return-value]


def parse_pair_label(text: str) -> str | None:
    """The last ``[[A>B]]``-style label in a reply, normalised (``A<B`` → ``B>A``)."""
    labels = _PAIR_LABEL.findall(text.upper())
    if not labels:
        return None
    left, op, right = labels[-1]
    if left == right:
        return None
    if op in ("<", "<<"):
        left, right, op = right, left, op.replace("<", ">")
    if op == "=":
        return "A=B"
    return f"{left}{op}{right}"


def combine_rounds(label_model_second: str, label_model_first: str) -> float:
    """Score of the judged model from both rounds: 1 better, 0.5 tie, 0 worse.

    :param label_model_second: round 1 label, the baseline shown as A and the model as B.
    :param label_model_first: round 2 label, the model shown as A and the baseline as B.
    """
    total = -_PREFERENCE_A[label_model_second] + _PREFERENCE_A[label_model_first]
    return 1.0 if total > 0 else 0.5 if total == 0 else 0.0


# -- the cached caller ------------------------------------------------------------------------


_loop_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _judge_loop() -> asyncio.AbstractEventLoop:
    """One long-lived event loop in a daemon thread for every synchronous judge call.

    Why not ``asyncio.run`` per call: graders are called once per answer, and a fresh loop per
    answer would make an HTTP backend open (and leak) a new connection pool each time. On one
    loop its clients and connections are reused across thousands of grades.
    """
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="rbench-judge-loop",
                             daemon=True).start()
            _loop = loop
        return _loop


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code (inside a running event loop too)."""
    loop = _judge_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        coro.close()
        raise RuntimeError("a synchronous judge call from inside the judge loop; await it instead")
    return asyncio.run_coroutine_threadsafe(coro, loop).result()


@dataclass
class JudgeOutcome:
    """What a judge decided. ``score`` is None when the judge failed (see ``error``)."""

    score: float | None
    verdict: str | None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def grade_details(self) -> dict[str, Any]:
        """Details to store on the :class:`~routerbench_core.schema.Grade`."""
        out = {"judge_verdict": self.verdict, **self.details}
        if self.error is not None:
            out["error"] = self.error
        return out


class LLMJudge:
    """Sends judge prompts to a model through a backend; caches successful replies.

    :param backend: any :class:`~routerbench_core.collection.backends.Backend`.
    :param model: the judge model (a :class:`ModelSpec` or its name).
    :param params: sampling parameters (default ``temperature=0``: judgements should repeat).
    :param store: where cached judgements live (its ``request_cache``); None disables caching.
    """

    def __init__(
        self,
        backend: Backend,
        model: ModelSpec | str,
        *,
        params: Mapping[str, Any] | None = None,
        store: Store | None = None,
    ) -> None:
        self.backend = backend
        self.model = model if isinstance(model, ModelSpec) else ModelSpec(name=model)
        self.params: dict[str, Any] = dict({"temperature": 0.0} if params is None else params)
        self.store = store
        self.calls = 0  # backend calls actually made (cache misses); tests and reports read it

    def request_hash(self, messages: list[dict[str, Any]]) -> str:
        """The same key the collector uses for this request, so judge calls share the cache."""
        from routerbench_core.collection.backends import api_model_name, request_hash

        return request_hash(
            self.backend.cache_identity(), api_model_name(self.model), messages, self.params
        )

    async def acomplete(self, messages: list[dict[str, Any]], *, query_key: str = "judge") -> Response:
        """The judge model's reply (from the cache when present). Never raises for API errors."""
        key = self.request_hash(messages)
        if self.store is not None:
            hit = self.store.cached_responses([key]).get(key)
            if hit is not None:
                data = {**hit, "query_key": query_key, "model": self.model.name,
                        "request_hash": key}
                data["metadata"] = {**(data.get("metadata") or {}), "cached": True}
                return Response.model_validate(data)
        request = GenerationRequest(
            model=self.model, messages=messages, params=dict(self.params), query_key=query_key
        )
        self.calls += 1
        try:
            response = await self.backend.agenerate(request)
        except Exception as exc:  # a backend must not raise, but a judge must not crash a run
            return Response(
                query_key=query_key, model=self.model.name,
                error=f"judge backend raised {type(exc).__name__}: {exc}",
            )
        response.request_hash = key
        if self.store is not None and response.ok and response.raw_output is not None:
            # stored in the collector's shape, so either can answer the other's request
            from routerbench_core.data.store import CachedCall

            self.store.put_cached([CachedCall(
                key,
                str(getattr(self.backend, "name", type(self.backend).__name__)),
                self.model.name,
                {"model": self.model.name, "messages": messages, "params": self.params,
                 "purpose": "judge"},
                response,
            )])
        return response

    def describe(self) -> dict[str, Any]:
        return {"judge_model": self.model.name, "judge_params": self.params}


def _call_details(response: Response) -> dict[str, Any]:
    return {
        "judge_cost": response.cost,
        "judge_prompt_tokens": response.prompt_tokens,
        "judge_completion_tokens": response.completion_tokens,
        "judge_cached": bool(response.metadata.get("cached", False)),
    }


class ReferenceJudge:
    """One verdict of an answer against a reference (SimpleQA, HLE)."""

    SCORES: dict[str, float] = {"correct": 1.0, "incorrect": 0.0, "not_attempted": 0.0}

    def __init__(self, judge: LLMJudge, prompt: JudgePrompt | str = SIMPLEQA_PROMPT) -> None:
        self.judge = judge
        self.prompt = get_prompt(prompt) if isinstance(prompt, str) else prompt

    async def ajudge(
        self, question: str, reference: str, answer: str, *, query_key: str = "judge"
    ) -> JudgeOutcome:
        messages = self.prompt.render(question=question, reference=reference, answer=answer)
        response = await self.judge.acomplete(messages, query_key=query_key)
        details = {
            "judge_prompt": self.prompt.ident, **self.judge.describe(), **_call_details(response)
        }
        if not response.ok or response.raw_output is None:
            return JudgeOutcome(None, None, f"judge call failed: {response.error}", details)
        details["judge_output"] = response.raw_output
        verdict = parse_reference_verdict(self.prompt, response.raw_output)
        if verdict is None:
            return JudgeOutcome(
                None, None,
                f"judge reply has no verdict ({self.prompt.ident} expects "
                f"{'correct: yes/no' if self.prompt.name == 'hle' else 'Verdict: ...'})",
                details,
            )
        return JudgeOutcome(self.SCORES[verdict], verdict, None, details)

    def judge_sync(self, question: str, reference: str, answer: str, **kw: Any) -> JudgeOutcome:
        return _run_sync(self.ajudge(question, reference, answer, **kw))


class PairwiseJudge:
    """An answer against a baseline answer, judged in both orders (ArenaHard)."""

    def __init__(
        self, judge: LLMJudge, prompts: Mapping[str, JudgePrompt | str] | None = None,
        default: str = "hard_prompt",
    ) -> None:
        self.judge = judge
        chosen = prompts or {
            "hard_prompt": ARENA_HARD_PROMPT, "creative_writing": ARENA_CREATIVE_PROMPT,
        }
        self.prompts = {k: get_prompt(v) if isinstance(v, str) else v for k, v in chosen.items()}
        if default not in self.prompts:
            raise JudgeError(f"default category {default!r} has no prompt")
        self.default = default

    def prompt_for(self, category: str | None) -> JudgePrompt:
        return self.prompts.get(category or self.default, self.prompts[self.default])

    async def ajudge(
        self, question: str, answer: str, baseline: str, *, category: str | None = None,
        query_key: str = "judge",
    ) -> JudgeOutcome:
        prompt = self.prompt_for(category)
        round1, round2 = await asyncio.gather(
            self.judge.acomplete(
                prompt.render(question=question, answer_a=baseline, answer_b=answer),
                query_key=query_key,
            ),
            self.judge.acomplete(
                prompt.render(question=question, answer_a=answer, answer_b=baseline),
                query_key=query_key,
            ),
        )
        details: dict[str, Any] = {"judge_prompt": prompt.ident, **self.judge.describe()}
        labels: list[str | None] = []
        errors: list[str] = []
        for name, response in (("baseline_first", round1), ("model_first", round2)):
            details[f"{name}_call"] = _call_details(response)
            if not response.ok or response.raw_output is None:
                errors.append(f"{name} judge call failed: {response.error}")
                labels.append(None)
                continue
            details[f"{name}_output"] = response.raw_output
            label = parse_pair_label(response.raw_output)
            if label is None:
                errors.append(f"{name} judge reply has no [[A>B]]-style verdict label")
            labels.append(label)
        details["baseline_first_label"], details["model_first_label"] = labels
        if errors or labels[0] is None or labels[1] is None:
            return JudgeOutcome(None, None, "; ".join(errors), details)
        score = combine_rounds(labels[0], labels[1])
        verdict = {1.0: "win", 0.5: "tie", 0.0: "loss"}[score]
        return JudgeOutcome(score, verdict, None, details)

    def judge_sync(self, question: str, answer: str, baseline: str, **kw: Any) -> JudgeOutcome:
        return _run_sync(self.ajudge(question, answer, baseline, **kw))


# -- wiring judges into dataset graders -------------------------------------------------------


def resolve_judge(context: Mapping[str, Any], *, dataset: str) -> LLMJudge:
    """The judge a judged dataset's ``grade(..., **context)`` should use.

    ``context["judge"]`` is an :class:`LLMJudge`, or a backend together with
    ``context["judge_model"]`` (and optionally ``judge_params`` and ``store`` for the cache).
    Missing configuration is an error, never a 0 score.
    """
    from routerbench_core.collection.backends import Backend

    judge = context.get("judge")
    if isinstance(judge, LLMJudge):
        return judge
    if isinstance(judge, Backend):
        model = context.get("judge_model")
        if not model:
            raise JudgeError(
                f"dataset {dataset!r}: a judge backend was given without judge_model; name the "
                "judge model (e.g. judge_model='gpt-4.1-mini')"
            )
        return LLMJudge(judge, model, params=context.get("judge_params"),
                        store=context.get("store"))
    raise JudgeError(
        f"dataset {dataset!r} is graded by an LLM judge: run `rbench grade --judge-model NAME` "
        "(with --judge-base-url/--judge-api-key-env for a non-OpenAI endpoint), or from Python "
        "pass context=judge_context(host, 'openai', 'gpt-4.1-mini', store=store) to "
        "grade_bench; its answers stay ungraded until then"
    )


def judge_context(
    host: Any, backend: str, model: str | ModelSpec, *, store: Store | None = None,
    backend_options: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``context`` for ``grade_bench``/``Dataset.grade`` that judged datasets need.

    :param host: the plugin host (:func:`routerbench_core.plugins.manager.make_plugin_manager`).
    :param backend: a registered backend name, e.g. ``"openai"``.
    :param model: the judge model; a :class:`ModelSpec` carries prices for cost accounting.

    For a CLI: ``grade_bench(store, bench, host, context=judge_context(host, "openai",
    "gpt-4.1-mini", store=store, backend_options={"base_url": ...}))``.
    """
    backend_cls = host.load("backend", backend)
    instance = backend_cls(**dict(backend_options or {}))
    return {"judge": LLMJudge(instance, model, params=params, store=store)}


def gather_bounded(
    factories: Sequence[Callable[[], Awaitable[T]]], concurrency: int = 16
) -> list[T]:
    """Run coroutine factories with at most ``concurrency`` in flight; results in order.

    Judged datasets grade many answers at once this way (each grade is one or two judge calls).
    """

    async def main() -> list[T]:
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(factory: Callable[[], Awaitable[T]]) -> T:
            async with gate:
                return await factory()

        return list(await asyncio.gather(*(one(f) for f in factories)))

    return _run_sync(main())


class JudgedGrading:
    """Mixin for datasets graded by an LLM judge: implement ``async agrade(query, response,
    **context) -> Grade`` and inherit ``grade`` and a concurrent ``grade_many``.

    Put it before the dataset base class (``class HLE(JudgedGrading, TemplateDataset)``).
    ``context["judge_concurrency"]`` bounds the judge calls in flight (default 16).
    """

    async def agrade(self, query: Query, response: Response, **context: Any) -> Grade:
        raise NotImplementedError

    def grade(self, query: Query, response: Response, **context: Any) -> Grade:
        return gather_bounded([lambda: self.agrade(query, response, **context)])[0]

    def grade_many(
        self, items: Sequence[tuple[Query, Response]], *, workers: int = 1, **context: Any
    ) -> list[Grade]:
        from routerbench_core.scoring.datasets import ensure_gradable

        for _, response in items:  # refuse failed calls before paying for any judgement
            ensure_gradable(response)
        concurrency = int(context.pop("judge_concurrency", 16))
        return gather_bounded(
            [lambda q=q, r=r: self.agrade(q, r, **context) for q, r in items], concurrency
        )
