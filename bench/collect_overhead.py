"""How much throughput does the rbench OpenAI backend cost over a bare client loop?

Starts the loopback OpenAI-compatible server (``routerbench_core.testing.openai_server``) in its
own process with a fixed latency per answer (20 ms by default), then sends the same N requests
(5,000) at the same concurrency (64) three ways and prints requests/s for each:

* bare: ``asyncio`` + the official ``openai`` client (``AsyncOpenAI``) and a semaphore —
  with its default ``httpx`` transport, and with its aiohttp transport when ``httpx-aiohttp``
  is installed (``openai[aiohttp]``);
* bare aiohttp: ``asyncio`` + a raw ``aiohttp`` POST loop, the fastest plain client here, so
  the backend's own overhead is visible even though httpx is the slow part of the openai
  client at this concurrency (encode/httpx#3215);
* rbench backend: ``OpenAIBackend.astream`` (retries, usage parsing, cost), no store;
* rbench collect: the whole collector (hashing, request cache and store writes in SQLite).

The ceiling is concurrency / latency (3,200 requests/s at 64 and 20 ms). Target: the rbench
backend at ≥ 0.9 × bare. Usage: ``python bench/collect_overhead.py [--requests 5000]
[--concurrency 64] [--latency 0.02]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "routerbench_core.testing.openai_server", "--latency",
         str(latency)],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"the loopback server did not start (got {url!r})")
    return proc, url


def messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"question number {i}: what is {i} + {i}?"}]


async def bare(url: str, n: int, concurrency: int, transport: str = "httpx") -> float:
    import httpx
    from openai import AsyncOpenAI

    if transport == "aiohttp":
        from openai import DefaultAioHttpClient

        http_client: httpx.AsyncClient = DefaultAioHttpClient()
    else:
        http_client = httpx.AsyncClient(limits=httpx.Limits(
            max_connections=concurrency, max_keepalive_connections=concurrency))
    client = AsyncOpenAI(base_url=url, api_key="bench", max_retries=0, http_client=http_client)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> str | None:
        async with gate:
            r = await client.chat.completions.create(model="bench-model", messages=messages(i),
                                                     temperature=0.0)
            return r.choices[0].message.content

    start = time.perf_counter()
    out = await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - start
    await client.close()
    assert all(out)
    return n / elapsed


async def bare_aiohttp(url: str, n: int, concurrency: int) -> float:
    import json

    import aiohttp

    gate = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:

        async def one(i: int) -> str:
            async with gate:
                body = {"model": "bench-model", "messages": messages(i), "temperature": 0.0}
                async with s.post(url + "/chat/completions", data=json.dumps(body),
                                  headers={"Content-Type": "application/json"}) as r:
                    return (await r.json())["choices"][0]["message"]["content"]

        start = time.perf_counter()
        out = await asyncio.gather(*(one(i) for i in range(n)))
        elapsed = time.perf_counter() - start
    assert all(out)
    return n / elapsed


def has_openai() -> bool:
    import importlib.util

    return importlib.util.find_spec("openai") is not None


def has_openai_aiohttp() -> bool:
    import importlib.util

    return importlib.util.find_spec("httpx_aiohttp") is not None


async def rbench_backend(url: str, n: int, concurrency: int) -> float:
    from rbench_backend_openai.backend import OpenAIBackend

    from routerbench_core.schema import GenerationRequest, ModelSpec

    backend = OpenAIBackend(base_url=url, api_key="bench", concurrency=concurrency)
    spec = ModelSpec(name="bench-model", input_price=1.0, output_price=2.0)
    requests = [GenerationRequest(model=spec, messages=messages(i), query_key=str(i),
                                  params={"temperature": 0.0}) for i in range(n)]
    start = time.perf_counter()
    done = [r async for _, r in backend.astream(requests, concurrency)]
    elapsed = time.perf_counter() - start
    await backend.aclose()
    assert len(done) == n and all(r.ok for r in done), next(r.error for r in done if not r.ok)
    return n / elapsed


def rbench_collect(url: str, n: int, concurrency: int) -> float:
    """The whole collector, with a tiny in-memory dataset plugin (n queries)."""
    from rbench_backend_openai import plugin as openai_plugin

    from routerbench_core import hookimpl
    from routerbench_core.collection.collector import collect
    from routerbench_core.collection.runconfig import parse_run_config
    from routerbench_core.data.store import Store
    from routerbench_core.plugins.manager import make_plugin_manager
    from routerbench_core.schema import Grade, Query
    from routerbench_core.scoring.datasets import Dataset

    class Sums(Dataset):
        name, category, size = "bench-sums", "math", n

        def load(self, data_file=None, *, limit=None):  # type: ignore[no-untyped-def]
            return [Query(dataset=self.name, id=str(i), text=messages(i)[0]["content"])
                    for i in range(limit or n)]

        def build_messages(self, query):  # type: ignore[no-untyped-def]
            return [{"role": "user", "content": query.text}]

        def grade(self, query, response, **context) -> Grade:  # type: ignore[no-untyped-def]
            return self.make_grade(query, response, 1.0, None)

    class Plugin:
        @staticmethod
        @hookimpl
        def register_datasets(register) -> None:  # type: ignore[no-untyped-def]
            register("bench-sums", Sums, "bench")

    host = make_plugin_manager(load_entrypoints=False, extra_plugins=[openai_plugin, Plugin])
    cfg = parse_run_config({
        "models": [{"name": "bench-model", "base_url": url, "temperature": 0.0,
                    "input_price": 1.0, "output_price": 2.0}],
        "datasets": [{"name": "bench-sums"}],
        "run": {"concurrency": concurrency, "grade": False, "bench": "overhead"},
    })
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
        report = collect(cfg, host, store)
    assert report.asked == n and report.failed == 0
    # throughput of the request phase (dataset loading and hashing excluded would flatter it)
    return n / report.elapsed_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()
    proc, url = start_server(args.latency)
    try:
        n, c = args.requests, args.concurrency
        asyncio.run(rbench_backend(url, min(n, 500), c))  # warm up both the server and client
        bare_rps = asyncio.run(bare(url, n, c)) if has_openai() else None
        bare_aio_openai = asyncio.run(bare(url, n, c, "aiohttp")) \
            if has_openai() and has_openai_aiohttp() else None
        aio_rps = asyncio.run(bare_aiohttp(url, n, c))
        backend_rps = asyncio.run(rbench_backend(url, n, c))
        collect_rps = rbench_collect(url, n, c)
    finally:
        proc.terminate()
        proc.wait(10)
    ceiling = args.concurrency / args.latency if args.latency else float("inf")
    print(f"collect_overhead: {n} requests, concurrency {c}, server latency "
          f"{args.latency * 1000:.0f} ms (ceiling {ceiling:,.0f} req/s), {os.cpu_count()} CPUs")
    def show(label: str, value: float | None, hint: str = "") -> None:
        text = f"{value:8.1f} req/s" if value is not None else f"skipped ({hint})"
        print(f"  {label:<39}: {text}")

    show("bare asyncio + openai client (httpx)", bare_rps, "pip install openai")
    show("bare asyncio + openai client (aiohttp)", bare_aio_openai,
         "pip install openai httpx-aiohttp")
    show("bare asyncio + aiohttp", aio_rps)
    best = max(v for v in (bare_rps, aio_rps, bare_aio_openai) if v is not None)
    for label, value in (("rbench OpenAIBackend", backend_rps),
                         ("rbench collect (with SQLite store)", collect_rps)):
        ratios = [f"{value / best:.2f} x the fastest bare loop"]
        if bare_rps is not None:
            ratios.insert(0, f"{value / bare_rps:.2f} x bare openai client (target >= 0.9)")
        print(f"  {label:<39}: {value:8.1f} req/s  " + ", ".join(ratios))


if __name__ == "__main__":
    main()
