"""Collection: ask every model every query, record everything, lose nothing, pay nothing twice.

How a run goes:

1. Every model is checked before any call (backend installed, a price or ``--allow-unpriced``).
2. Dataset plugins load their items and build the prompts; queries and models go into the bench.
3. Each (query, model) pair gets a request hash (:func:`routerbench_core.collection.backends.request_hash`).
   A pair whose bench row already holds a successful answer with that hash is done; a hash in
   the store's ``request_cache`` is answered from it (no HTTP); the rest is sent.
4. Answers are written the moment they arrive, in small group commits: the response row, the
   cache entry and the removal of any stale grade go in one transaction. A run killed at any
   point (SIGKILL included) has lost only what was in flight, and a re-run asks only that.
5. Failed calls are stored with their error (so they show up, are never scored, and are retried
   by the next run) and are never cached.
6. Stored answers are graded by their dataset's grader in the next stage
   (:func:`routerbench_core.scoring.grading.collect_and_grade` runs both when ``run.grade``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from routerbench_core.collection.backends import Backend, has_price, request_hash
from routerbench_core.collection.runconfig import ModelConfig, RunConfig
from routerbench_core.data.text import invalid_text_note
from routerbench_core.schema import GenerationRequest, ModelSpec, Query, Response

if TYPE_CHECKING:
    from routerbench_core.data.store import Store
    from routerbench_core.plugins.manager import PluginHost

#: Largest number of answers written in one transaction.
MAX_BATCH = 512
#: How long a claim on a request lasts without a heartbeat (a live collector renews its
#: claims every third of this; a killed one's claims are taken over at once on this host).
LEASE_TTL_S = 120.0
#: How often a collector looks again at requests another collector is asking.
LEASE_POLL_S = 0.25


class CollectError(RuntimeError):
    """The run cannot start (bad config, missing plugin, unpriced model); nothing was sent."""


class Progress(Protocol):
    """What the collector reports while it runs (the CLI shows a rich progress bar)."""

    def start(self, total: int, description: str) -> None: ...

    def advance(self, n: int, *, cost: float, failures: int) -> None: ...

    def finish(self) -> None: ...


@dataclass
class ModelReport:
    """What happened to one model's requests in a run."""

    model: str
    backend: str
    total: int = 0
    already_done: int = 0
    from_cache: int = 0
    asked: int = 0
    failed: int = 0
    spend: float = 0.0
    unknown_cost: int = 0
    by_other: int = 0
    cost_note: str = ""
    errors: list[str] = field(default_factory=list)
    invalid_text: list[str] = field(default_factory=list)


@dataclass
class CollectReport:
    bench: str
    store: str
    n_queries: int
    models: list[ModelReport]
    elapsed_s: float
    #: set by :func:`routerbench_core.scoring.grading.collect_and_grade` when the run grades
    grading: Any = None

    @property
    def asked(self) -> int:
        return sum(m.asked for m in self.models)

    @property
    def failed(self) -> int:
        return sum(m.failed for m in self.models)

    @property
    def spend(self) -> float:
        return sum(m.spend for m in self.models)

    def lines(self) -> list[str]:
        out = [f"bench {self.bench!r} in {self.store}: {self.n_queries} queries, "
               f"{len(self.models)} model(s), {self.elapsed_s:.1f} s"]
        for m in self.models:
            out.append(
                f"  {m.model} [{m.backend}]: {m.total} requests — {m.already_done} already "
                f"stored, {m.from_cache} from cache, {m.asked} asked, {m.failed} failed; "
                f"new spend ${m.spend:.4f}"
                + (f" ({m.unknown_cost} with unknown cost)" if m.unknown_cost else "")
            )
            if m.by_other:
                out.append(f"    {m.by_other} answered by another collector running on this "
                           "store at the same time (not asked twice)")
            if m.cost_note:
                out.append(f"    cost: {m.cost_note}")
            for err in m.errors[:3]:
                out.append(f"    e.g. failure: {err}")
            if m.invalid_text:
                out.append(f"    {len(m.invalid_text)} answer(s) with invalid text (lone "
                           "surrogates or bytes that are not UTF-8), stored with U+FFFD; the "
                           "exact original is kept in the response's metadata.invalid_text:")
                out.extend(f"      {note}" for note in m.invalid_text[:5])
        if self.failed:
            out.append(f"{self.failed} request(s) failed and are stored as failures (never "
                       "scored); run the same command again to retry them")
        if self.grading is not None:
            out.extend(self.grading.lines())
        return out


@dataclass
class _Item:
    query: Query
    model: ModelConfig
    spec: ModelSpec
    request: GenerationRequest
    hash: str


def load_queries(config: RunConfig, host: PluginHost) -> list[Query]:
    """Load every configured dataset split and attach the prompt each model will get."""
    queries: dict[str, Query] = {}
    for i, dc in enumerate(config.datasets):
        try:
            cls = host.load("dataset", dc.name)
        except KeyError as exc:
            raise CollectError(f"datasets[{i}].name: {exc}") from None
        except Exception as exc:
            raise CollectError(f"datasets[{i}].name: dataset {dc.name!r} cannot be loaded: {exc}"
                               ) from exc
        limit = dc.limit or config.run.limit
        for split in dc.splits or [None]:
            options = dict(dc.options)
            if split is not None:
                options["split"] = split
            dataset = cls(**options)
            items = dataset.load(dc.data_file, limit=limit)
            if limit is not None:
                items = items[:limit]
            for q in items:
                if q.key in queries:
                    continue
                update: dict[str, Any] = {"messages": dataset.build_messages(q)}
                if q.source_split is None and split is not None:
                    update["source_split"] = split
                queries[q.key] = q.model_copy(update=update)
    return list(queries.values())


def preflight(config: RunConfig, host: PluginHost) -> None:
    """Refuse to start a run that would fail or mis-price (before any request is sent)."""
    for i, m in enumerate(config.models):
        try:
            spec = host.get("backend", m.backend)
        except KeyError as exc:
            raise CollectError(f"models[{i}].backend: {exc}") from None
        missing = spec.missing_requirements()
        if missing:
            raise CollectError(
                f"models[{i}] ({m.name}): backend {m.backend!r} needs {', '.join(missing)}; "
                f"install it (e.g. `pip install {spec.distribution or missing[0]}`)"
            )
        costable = has_price(m.spec()) or (m.backend == "vllm" and m.gpu_hour_price is not None)
        if not costable and not config.run.allow_unpriced:
            raise CollectError(
                f"models[{i}] ({m.name}): no price. Add input_price/output_price (USD per "
                "million tokens), gpu_hour_price (vllm) or `free: true` (own hardware), or "
                "pass --allow-unpriced to rely on the API-reported cost (unknown otherwise)"
            )


def _make_backends(config: RunConfig, host: PluginHost) -> dict[str, Backend]:
    """One backend per model; HTTP models with identical options share one instance (one
    connection pool), batch backends (vLLM: one engine per model) never do."""
    shared: dict[str, Backend] = {}
    out: dict[str, Backend] = {}
    for m in config.models:
        options = m.backend_options()
        if config.run.allow_unpriced:
            options.setdefault("allow_unpriced", True)
        options.setdefault("concurrency", config.run.concurrency)
        per_model = bool(host.get("backend", m.backend).capabilities.get("batch"))
        key = json.dumps([m.backend, options, m.name if per_model else None], sort_keys=True,
                         default=str)
        if key not in shared:
            shared[key] = host.load("backend", m.backend)(**options)
        out[m.name] = shared[key]
    return out


class _Writer:
    """Writes answers to the bench (and the cache) in group commits."""

    def __init__(self, store: Store, bench_id: int, qi: dict[str, int], mi: dict[str, int],
                 owner: str | None = None):
        self.store, self.bench_id, self.qi, self.mi = store, bench_id, qi, mi
        self.owner = owner

    def write(self, pairs: Sequence[tuple[_Item, Response]], *, cache: bool = True) -> None:
        if not pairs:
            return
        from routerbench_core.data.store import CachedCall

        answers, cached = [], []
        for item, r in pairs:
            answers.append((self.qi[item.query.key], self.mi[item.spec.name], item.hash, r))
            if cache and r.ok:
                cached.append(CachedCall(item.hash, item.model.backend, item.spec.name,
                                         _request_record(item), r))
        self.store.record_answers(self.bench_id, answers, cached, lease_owner=self.owner)


def _request_record(item: _Item) -> dict[str, Any]:
    """What was asked, kept beside the cached answer for auditing."""
    return {"model": item.model.api_model or item.model.name,
            "messages": item.request.messages, "params": item.request.params}


def _from_cache(item: _Item, stored: dict[str, Any]) -> Response:
    data = dict(stored)
    data.update(query_key=item.query.key, model=item.spec.name, request_hash=item.hash)
    data["metadata"] = {**(data.get("metadata") or {}), "from_cache": True}
    return Response.model_validate(data)


def collect(
    config: RunConfig,
    host: PluginHost,
    store: Store,
    *,
    progress: Progress | None = None,
    on_backend: Callable[[str, Backend], None] | None = None,
) -> CollectReport:
    """Run a collection (blocking); see the module docstring for the guarantees."""
    return asyncio.run(acollect(config, host, store, progress=progress, on_backend=on_backend))


async def acollect(
    config: RunConfig,
    host: PluginHost,
    store: Store,
    *,
    progress: Progress | None = None,
    on_backend: Callable[[str, Backend], None] | None = None,
) -> CollectReport:
    started = time.perf_counter()
    preflight(config, host)
    queries = load_queries(config, host)
    if not queries:
        raise CollectError("the configured datasets produced no queries; check datasets/limit")
    backends = _make_backends(config, host)
    if on_backend is not None:
        for name, b in backends.items():
            on_backend(name, b)
    bench = config.run.bench
    bench_id = store.ensure_bench(bench, source="collect")
    specs = [m.spec() for m in config.models]
    with store.transaction() as conn:
        qi = store.add_queries(bench_id, queries, conn=conn)
        store.refresh_query_messages(bench_id, queries, conn=conn)
        mi = store.add_models(bench_id, specs, conn=conn)
    meta = store.bench_metadata(bench)
    datasets_meta = dict(meta.get("datasets") or {})
    for dc in config.datasets:
        datasets_meta[dc.name] = {"options": dc.options, "splits": dc.splits}
    cost_notes = dict(meta.get("cost_notes") or {})
    for m, spec in zip(config.models, specs, strict=True):
        cost_notes[m.name] = backends[m.name].cost_note(spec)
    store.update_bench_metadata(bench, datasets=datasets_meta, cost_notes=cost_notes)

    done = store.answered_hashes(bench_id)
    from routerbench_core.data.store import lease_owner_id

    owner = lease_owner_id()
    writer = _Writer(store, bench_id, qi, mi, owner)
    reports: list[ModelReport] = []
    closed: set[int] = set()
    try:
        for position, (m, spec) in enumerate(zip(config.models, specs, strict=True)):
            backend = backends[m.name]
            report = ModelReport(model=m.name, backend=m.backend, total=len(queries),
                                 cost_note=cost_notes[m.name])
            reports.append(report)
            items = _items_for(m, spec, backend, queries)
            todo = []
            for item in items:
                if not config.run.refresh and done.get((qi[item.query.key], mi[m.name])) \
                        == item.hash:
                    report.already_done += 1
                else:
                    todo.append(item)
            if not config.run.refresh and todo:
                todo = _answer_from_cache(store, writer, todo, report)
            await _ask_claimed(store, backend, todo, writer, report, config.run.concurrency,
                               progress, refresh=config.run.refresh)
            later = {id(backends[n.name]) for n in config.models[position + 1:]}
            if id(backend) not in later:  # free its connections / GPU before the next model
                closed.add(id(backend))
                await backend.aclose()
    finally:
        for b in backends.values():
            if id(b) not in closed:
                closed.add(id(b))
                await b.aclose()
    result = CollectReport(bench=bench, store=str(store.path), n_queries=len(queries),
                           models=reports, elapsed_s=time.perf_counter() - started)
    return result


def _items_for(m: ModelConfig, spec: ModelSpec, backend: Backend,
               queries: Iterable[Query]) -> list[_Item]:
    params = m.sampling_params()
    identity = backend.cache_identity()
    api_model = m.api_model or m.name
    items = []
    for q in queries:
        messages = q.messages or [{"role": "user", "content": q.text}]
        h = request_hash(identity, api_model, messages, params)
        request = GenerationRequest(model=spec, messages=messages, params=params, query_key=q.key)
        items.append(_Item(query=q, model=m, spec=spec, request=request, hash=h))
    return items


def _answer_from_cache(store: Store, writer: _Writer, todo: list[_Item],
                       report: ModelReport) -> list[_Item]:
    hits = store.cached_responses([i.hash for i in todo])
    if not hits:
        return todo
    rest, answered = [], []
    for item in todo:
        stored = hits.get(item.hash)
        if stored is None:
            rest.append(item)
        else:
            answered.append((item, _from_cache(item, stored)))
    for i in range(0, len(answered), 4096):
        writer.write(answered[i: i + 4096], cache=False)
    report.from_cache = len(answered)
    return rest


async def _ask_claimed(store: Store, backend: Backend, todo: list[_Item], writer: _Writer,
                       report: ModelReport, concurrency: int, progress: Progress | None, *,
                       refresh: bool) -> None:
    """Ask ``todo``, but only the requests this run holds a lease on: a second collector on
    the same store asks what the first has not claimed, waits for the rest, and then takes
    the answers from the cache (or asks what the other could not answer or left behind)."""
    owner = writer.owner
    assert owner is not None
    since = time.time() if refresh else 0.0  # --refresh: only answers newer than this run
    pending, first = todo, True
    try:
        while pending or first:
            claimed, cached = await asyncio.to_thread(
                store.claim_requests, [i.hash for i in pending], owner, LEASE_TTL_S,
                cached_since=since)
            mine = [i for i in pending if i.hash in claimed]
            done_elsewhere = [i for i in pending if i.hash in cached and i.hash not in claimed]
            if done_elsewhere:
                stored = await asyncio.to_thread(store.answered_hashes, writer.bench_id)
                hits = await asyncio.to_thread(store.cached_responses,
                                               [i.hash for i in done_elsewhere])
                fresh = [(i, _from_cache(i, hits[i.hash])) for i in done_elsewhere
                         if i.hash in hits and stored.get(
                             (writer.qi[i.query.key], writer.mi[i.spec.name])) != i.hash]
                await asyncio.to_thread(writer.write, fresh, cache=False)
                report.by_other += len(done_elsewhere)
            if mine or first:
                await _heartbeat(store, owner, _ask(backend, mine, writer, report, concurrency,
                                                    progress))
            first = False
            pending = [i for i in pending if i.hash not in claimed and i.hash not in cached]
            if pending:
                await asyncio.sleep(LEASE_POLL_S)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(store.release_leases, owner)


async def _heartbeat(store: Store, owner: str, work: Any) -> None:
    """Run ``work`` while renewing ``owner``'s leases, so a long call keeps its claims."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(LEASE_TTL_S / 3)
            await asyncio.to_thread(store.renew_leases, owner, LEASE_TTL_S)

    task = asyncio.ensure_future(beat())
    try:
        await work
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _ask(backend: Backend, todo: list[_Item], writer: _Writer, report: ModelReport,
               concurrency: int, progress: Progress | None) -> None:
    """Send ``todo`` and store answers in group commits as they arrive.

    A pump task moves finished answers from the backend into a queue; the writer takes
    everything that is ready at once and commits it. Under load batches grow (throughput);
    when answers trickle in each one is committed alone (so little is ever held in memory).
    """
    if progress is not None:
        progress.start(len(todo), f"{report.model}")
    if not todo:
        if progress is not None:
            progress.finish()
        return
    ready: asyncio.Queue[Any] = asyncio.Queue()
    end = object()

    async def pump() -> None:
        stream = backend.astream([i.request for i in todo], concurrency)
        try:
            async for pair in stream:
                ready.put_nowait(pair)
        except BaseException as exc:
            ready.put_nowait(exc)
            raise
        finally:
            await stream.aclose()
            ready.put_nowait(end)

    task = asyncio.ensure_future(pump())
    try:
        finished = False
        while not finished:
            batch = [await ready.get()]
            while not ready.empty() and len(batch) < MAX_BATCH:
                batch.append(ready.get_nowait())
            pending: list[tuple[_Item, Response]] = []
            for entry in batch:
                if entry is end:
                    finished = True
                elif isinstance(entry, BaseException):
                    await _flush(writer, pending, report, progress)
                    raise entry
                else:
                    position, response = entry
                    pending.append((todo[position], response))
            await _flush(writer, pending, report, progress)
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if progress is not None:
            progress.finish()


async def _flush(writer: _Writer, pending: list[tuple[_Item, Response]], report: ModelReport,
                 progress: Progress | None) -> None:
    """Commit a batch in a worker thread (SQLite releases the GIL), so answers keep arriving
    on the event loop while it writes; the next batch waits for this one."""
    if not pending:
        return
    await asyncio.to_thread(writer.write, pending)
    failures, cost = 0, 0.0
    for item, r in pending:
        report.asked += 1
        note = invalid_text_note(r)
        if note:
            report.invalid_text.append(f"{item.query.key}: {note}")
        if not r.ok:
            failures += 1
            report.failed += 1
            if len(report.errors) < 3:
                report.errors.append(f"{item.query.key}: {r.error}")
        elif r.cost is None:
            report.unknown_cost += 1
        else:
            cost += r.cost
    report.spend += cost
    if progress is not None:
        progress.advance(len(pending), cost=cost, failures=failures)
