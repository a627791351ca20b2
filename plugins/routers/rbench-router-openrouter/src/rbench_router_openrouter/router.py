"""OpenRouter's auto router as an rbench router: a commercial router evaluated like the others.

It answers from outside the candidate pool, so it returns a :class:`Routing` with ``score``,
``cost`` and ``external_model`` set (the evaluator scores those directly).

``mode="online"``: every test query is sent through the ``openai`` backend plugin to
``openrouter/auto`` (base URL and key from the parameters). The response's ``model`` field names
the model OpenRouter picked; the answer is graded with the query's dataset plugin (the same
grader as every stored answer); the cost is the one the service reports (``usage.cost``), and a
missing cost is an error, never $0. A failed call is a failure (score and cost missing), never a
0. With ``save`` (default) the answers and grades are written to the replay bench (below) as
model ``openrouter``, so a later run can replay them without calling anyone.

``mode="replay"`` (default): the router's recorded outcomes are read from a separate bench
(``replay_bench``, default ``<bench>-openrouter``) that holds the same query keys and one model
column (``column``, default ``openrouter``). Keeping it in its own bench keeps it out of the
candidate pool, so no baseline, oracle or other router can pick it. The router reads only the
rows of the test keys it is asked to route — the outcomes of its own answers, exactly what the
online mode would produce — and learns nothing from them (it has no training).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field

from rbench_router_openrouter.plugin import CAPABILITIES
from routerbench_core import (
    LabeledSet,
    QuerySet,
    Router,
    RouterContext,
    RouterError,
    RouterParams,
    Routing,
)

#: Behaviour version (bump with a README changelog line when results change).
VERSION = "1"
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"


class OpenRouterRouter(Router, capabilities=CAPABILITIES):
    """OpenRouter auto: online calls or replay of a stored column."""


    class Params(RouterParams):
        mode: Literal["replay", "online"] = Field("replay",
            description="replay a stored column or call OpenRouter online")
        column: str = Field("openrouter",
            description="model column holding OpenRouter's answers (replay)")
        replay_bench: str | None = Field(None,
            description="bench holding the replayed answers (default: <bench>-openrouter)")
        store: str | None = Field(None, description="store path for online answers")
        model: str = Field("openrouter/auto", description="OpenRouter model id")
        base_url: str = Field(DEFAULT_BASE_URL, description="OpenAI-compatible endpoint")
        api_key: str | None = Field(None, description="API key (prefer api_key_env)")
        api_key_env: str = Field("OPENROUTER_API_KEY",
            description="environment variable holding the API key")
        concurrency: int = Field(16, ge=1, description="requests in flight")
        timeout: float = Field(600.0, gt=0, description="seconds per request")
        max_retries: int = Field(5, ge=0, description="retries on 429/5xx/timeouts")
        max_tokens: int | None = Field(None, ge=1, description="completion token limit")
        save: bool = Field(True, description="store the online answers so the run can be replayed")

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        p = self.params
        self.mode = p.mode
        self.column = p.column
        self.replay_bench = p.replay_bench or f"{ctx.bench}-openrouter"
        self.store_path = p.store
        self.model = p.model
        self.base_url = p.base_url
        self.api_key = p.api_key
        self.api_key_env = p.api_key_env
        self.concurrency = p.concurrency
        self.timeout = p.timeout
        self.max_retries = p.max_retries
        self.max_tokens = p.max_tokens
        self.save = p.save
        self._info: dict[str, Any] = {}
        self._memo: dict[tuple[str, ...], Routing] = {}

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        """Nothing to learn: the routing decision is OpenRouter's."""

    def _open_store(self) -> Any:
        from routerbench_core.testing import Store, default_store_path

        return Store(self.store_path or default_store_path())

    # -- replay -------------------------------------------------------------------------------

    def _replay(self, queries: QuerySet) -> Routing:
        store = self._open_store()
        try:
            if not store.has_bench(self.replay_bench):
                raise RouterError(
                    f"openrouter replay: bench {self.replay_bench!r} is not in {store.path}; "
                    "import the recorded OpenRouter outcomes as a bench with one model column "
                    f"{self.column!r} (same query keys), pass --param "
                    "openrouter.replay_bench=NAME, or run with --param openrouter.mode=online"
                )
            m = store.load_matrix(self.replay_bench)
        finally:
            store.close()
        if self.column not in m.models:
            raise RouterError(
                f"openrouter replay: bench {self.replay_bench!r} has no column {self.column!r}; "
                f"its models: {', '.join(m.models)} (choose one with --param "
                "openrouter.column=NAME)"
            )
        j = m.models.index(self.column)
        row = {k: i for i, k in enumerate(m.keys.tolist())}
        idx = np.array([row.get(k, -1) for k in queries.keys.tolist()], dtype=np.int64)
        found = idx >= 0
        score = np.where(found, m.score[np.maximum(idx, 0), j], np.nan)
        cost = np.where(found, m.cost[np.maximum(idx, 0), j], np.nan)
        self._info.update(mode="replay", replay_bench=self.replay_bench, column=self.column,
                          n_not_recorded=int((~found).sum()))
        return Routing(choice=np.full(len(queries), -1, dtype=np.int64), score=score, cost=cost,
                       external_model=[self.column] * len(queries),
                       info={"mode": "replay", "n_not_recorded": int((~found).sum())})

    # -- online -------------------------------------------------------------------------------

    def _backend(self, host: Any) -> Any:
        # ``openrouter/auto`` has no price of its own (it depends on the model picked), so the
        # backend records the cost the service reports; a missing report stays unknown (NaN,
        # counted by the evaluator), never $0.
        options: dict[str, Any] = {"base_url": self.base_url, "timeout": self.timeout,
                                   "max_retries": self.max_retries,
                                   "concurrency": self.concurrency, "allow_unpriced": True}
        if self.api_key:
            options["api_key"] = self.api_key
        else:
            import os

            if os.environ.get(self.api_key_env):
                options["api_key_env"] = self.api_key_env
        return host.load("backend", "openai")(**options)

    def _online(self, queries: QuerySet) -> Routing:
        from routerbench_core import GenerationRequest, ModelSpec
        from routerbench_core.testing import make_plugin_manager

        host = make_plugin_manager()
        store = self._open_store()
        try:
            stored = {q.key: q for q in store.queries(self.ctx.bench)}
        finally:
            store.close()
        missing = [k for k in queries.keys.tolist() if k not in stored]
        if missing:
            raise RouterError(
                f"openrouter online: {len(missing)} test queries (e.g. {missing[0]!r}) are not "
                f"in bench {self.ctx.bench!r} of the store; online mode needs the stored queries "
                "(their prompts and ground truths)"
            )
        items = [stored[k] for k in queries.keys.tolist()]
        graders: dict[str, Any] = {}
        no_grader = []
        for name in sorted({q.dataset for q in items}):
            try:
                graders[name] = host.load("dataset", name)()
            except Exception as exc:  # unknown dataset or missing dependency
                no_grader.append(f"{name} ({exc})")
        if no_grader:  # a configuration error: raised before any call is made
            raise RouterError(
                "openrouter online: no grader for dataset(s) " + "; ".join(no_grader) + ". "
                "Install the dataset plugins, or use --param openrouter.mode=replay"
            )
        backend = self._backend(host)
        spec = ModelSpec(name=self.model)
        gen_params: dict[str, Any] = {}
        if self.max_tokens is not None:
            gen_params["max_tokens"] = self.max_tokens
        requests = [
            GenerationRequest(
                model=spec, messages=q.messages or graders[q.dataset].build_messages(q),
                params=gen_params, query_key=q.key,
            )
            for q in items
        ]

        async def call_all() -> list[Any]:
            try:
                return await backend.agenerate_many(requests, concurrency=self.concurrency)
            finally:
                await backend.aclose()

        responses = asyncio.run(call_all())
        n = len(items)
        score = np.full(n, np.nan)
        cost = np.full(n, np.nan)
        chosen: list[str] = []
        grades = []
        errors: Counter[str] = Counter()
        for i, (q, r) in enumerate(zip(items, responses, strict=True)):
            picked = str((r.metadata or {}).get("response_model") or "unknown")
            chosen.append(picked)
            if not r.ok:
                errors[(r.error or "error")[:80]] += 1
                continue
            if r.cost is None:
                errors["no reported cost"] += 1
            else:
                cost[i] = r.cost
            grade = graders[q.dataset].grade(q, r)
            grades.append(grade)
            if grade.score is not None:
                score[i] = grade.score
        if self.save:
            self._save(items, responses, grades)
        info = {"mode": "online", "model": self.model, "base_url": self.base_url,
                "chosen_models": dict(Counter(chosen)), "n_failed": int(sum(errors.values())),
                "errors": dict(errors)}
        self._info.update(info)
        return Routing(choice=np.full(n, -1, dtype=np.int64), score=score, cost=cost,
                       external_model=chosen, info=info)

    def _save(self, items: list[Any], responses: list[Any], grades: list[Any]) -> None:
        """Record the answers as model ``column`` of the replay bench (created on first use)."""
        from routerbench_core import ModelSpec

        store = self._open_store()
        try:
            with store.transaction() as conn:
                if not store.has_bench(self.replay_bench):
                    store.create_bench(self.replay_bench, source=f"openrouter:{self.base_url}",
                                       metadata={"router": "openrouter", "model": self.model,
                                                 "of_bench": self.ctx.bench}, conn=conn)
                store.add_models(self.replay_bench, [ModelSpec(name=self.column)], conn=conn)
                store.add_queries(self.replay_bench, items, conn=conn)
            store.put_responses(self.replay_bench, [
                r.model_copy(update={"model": self.column}) for r in responses])
            store.put_grades(self.replay_bench, [
                g.model_copy(update={"model": self.column}) for g in grades])
        finally:
            store.close()
        self._info["saved_to"] = self.replay_bench

    # -- the router ---------------------------------------------------------------------------

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        if len(queries) == 0:
            return Routing(choice=np.zeros(0, dtype=np.int64), score=np.zeros(0),
                           cost=np.zeros(0), external_model=[])
        # The decision does not depend on a configuration: route each query set once (the
        # evaluator routes the default and every sweep entry; online calls cost money).
        key = tuple(queries.keys.tolist())
        if key not in self._memo:
            self._memo[key] = (self._online(queries) if self.mode == "online"
                               else self._replay(queries))
        return self._memo[key]

    def describe(self) -> dict[str, Any]:
        return {"version": VERSION, "mode": self.mode, "column": self.column,
                "replay_bench": self.replay_bench, "model": self.model, **self._info}

    # -- artefacts (rbench train / serve) ---------------------------------------------------

    def save_state(self) -> Any:
        raise RouterError(
            "openrouter cannot be saved as an artefact: its decisions are made online by "
            "OpenRouter (nothing is fitted here) and its answers come from outside the pool; "
            "point your client at OpenRouter's own endpoint instead"
        )

    def load_state(self, state: Any) -> None:
        self.save_state()
