"""What does `rbench serve` add to a request, over calling the model's endpoint directly?

Fits avengers-pro on nim9 (shared data; the hashing embedder) and saves it, starts the loopback
OpenAI-compatible stub (``routerbench_core.testing.openai_server``) in its own process with a
fixed latency per answer (20 ms), starts ``rbench serve`` on that artefact in another process
(every pool model pointed at the stub; every request recorded in the store), then sends the
same N requests at concurrency 64 two ways from this process with one aiohttp client:

* direct: to the stub itself (the baseline, measured in the same run);
* routed: to the rbench server, which embeds, routes, calls the stub and records.

Prompts come from a fixed set that is sent once before timing, so embeddings are cached (the
goal is for that case); ``--cold`` makes every prompt new (each one is embedded).

Printed: requests/s both ways, and the routing overhead per request = routed latency − direct
latency at p50 and p99; also, from the store's records, the time the server added (its request
latency minus the upstream call) and its embed+route time, and the server's CPU time per
request (steadier than latencies on a machine shared with other jobs).
Goal: overhead p50 < 5 ms, p99 < 20 ms. Usage: ``python bench/serve_overhead.py [--requests
3000] [--concurrency 64] [--latency 0.02] [--cold] [--workers N] [--floor]``; ``--floor``
also measures a bare aiohttp forwarding proxy with as many processes (no routing, no records):
the part of the overhead that the HTTP stack and the machine set, whatever the router does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

import numpy as np


def start(cmd: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"{cmd[2]} did not start (got {url!r})")
    return proc, url


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc), to compare per request
    costs independently of what else runs on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fit(work: Path) -> tuple[Path, list[str], Path]:
    from routerbench_core.data.importers import import_bench
    from routerbench_core.data.store import Store
    from routerbench_core.embedding.hashing import HashingEmbedder
    from routerbench_core.plugins.manager import make_plugin_manager
    from routerbench_core.routing.evaluate import Evaluator
    from routerbench_core.serving.artefact import EmbedderInfo, save_artefact
    from routerbench_core.serving.train import train_artefact
    from routerbench_core.testing import shared_data_dir

    data = shared_data_dir()
    if data is None or not (data / "llmrouter-nim9").is_dir():
        raise SystemExit("needs the shared nim9 data (set RBENCH_SHARED_DATA)")
    db = work / "rbench.db"
    with Store(db) as store:
        import_bench(store, "llmrouter", data / "llmrouter-nim9", "nim9")
        matrix = store.load_matrix("nim9")
        emb = HashingEmbedder()
        ev = Evaluator(matrix, setting="perf-cost", seeds=[42], embedder=emb, store=store)
        router, meta = train_artefact(ev, make_plugin_manager(), "avengers-pro", {"k": 30}, 42,
                                      embedder=EmbedderInfo(name="hashing", cache_id=emb.cache_id))
        art = save_artefact(work / "avengers-pro", meta, router)
        return art, list(matrix.models), db


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_pids(pid: int) -> list[int]:
    """The server's process and, with --workers, its worker processes (Linux /proc)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(x) for x in children.read_text().split()] if children.exists() else []
    return [pid, *kids]


def bare_proxy(upstream: str, port: int) -> None:
    """The floor: forward the request body to the upstream and its answer back, nothing else
    (same aiohttp server and client, uvloop when installed, SO_REUSEPORT)."""
    import aiohttp
    from aiohttp import web

    async def run() -> None:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))

        async def chat(request: web.Request) -> web.Response:
            async with session.post(upstream + "/chat/completions", data=await request.read(),
                                    headers={"Content-Type": "application/json"}) as r:
                return web.Response(body=await r.read(), content_type="application/json")

        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, reuse_port=True).start()
        print(f"http://127.0.0.1:{port}/v1", flush=True)
        await asyncio.Event().wait()

    try:
        import uvloop

        uvloop.run(run())
    except ImportError:
        asyncio.run(run())


async def drive(url: str, model: str, prompts: list[str], concurrency: int) -> tuple[float, np.ndarray]:
    import aiohttp

    gate = asyncio.Semaphore(concurrency)
    lat = np.zeros(len(prompts))
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:
        async def one(i: int, text: str) -> None:
            body = json.dumps({"model": model, "messages": [{"role": "user", "content": text}]})
            async with gate:
                t0 = time.perf_counter()
                async with session.post(url + "/chat/completions", data=body,
                                        headers={"Content-Type": "application/json"}) as r:
                    await r.read()
                    if r.status != 200:
                        raise SystemExit(f"HTTP {r.status} from {url}")
                lat[i] = time.perf_counter() - t0

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i, p) for i, p in enumerate(prompts)))
        wall = time.perf_counter() - t0
    return len(prompts) / wall, lat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--distinct", type=int, default=500, help="distinct prompts (warm cache)")
    ap.add_argument("--cold", action="store_true", help="every prompt new (no cached embedding)")
    ap.add_argument("--workers", type=int, default=1, help="rbench serve --workers")
    ap.add_argument("--floor", action="store_true",
                    help="also measure a bare forwarding proxy (aiohttp, no routing, no "
                         "records) with the same number of processes: what the HTTP stack "
                         "alone adds on this machine")
    ap.add_argument("--runner", default=None,
                    help="a script to run the server with instead of the rbench CLI (profiling)")
    ap.add_argument("--bare-proxy", nargs=2, metavar=("UPSTREAM", "PORT"),
                    help=argparse.SUPPRESS)  # internal: run one bare proxy process
    args = ap.parse_args()
    if args.bare_proxy:
        bare_proxy(args.bare_proxy[0], int(args.bare_proxy[1]))
        return

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        art, models, db = fit(work)
        stub, stub_url = start([sys.executable, "-m", "routerbench_core.testing.openai_server",
                                "--latency", str(args.latency)])
        cfg = work / "serve.yaml"
        cfg.write_text(json.dumps({"models": {m: {"base_url": stub_url} for m in models},
                                   "max_concurrency": args.concurrency}))
        env = {**os.environ, "RBENCH_STORE": str(db)}
        entry = [args.runner] if args.runner else ["-m", "routerbench_core.commands.app"]
        server, url = start([sys.executable, *entry, "serve",
                             str(art), "--config", str(cfg), "--port", "0", "--log-level",
                             "warning", "--workers", str(args.workers)], env)
        floor: list[subprocess.Popen[str]] = []
        if args.floor:
            port = free_port()
            for _ in range(args.workers):
                proc, floor_url = start([sys.executable, __file__, "--bare-proxy", stub_url,
                                         str(port)])
                floor.append(proc)
        try:
            rng = np.random.default_rng(0)
            words = ("solve integral prime protein river court melody python list king "
                     "acid planet vote market").split()
            pool = [" ".join(rng.choice(words, 12)) + f" #{i}" for i in range(args.distinct)]
            if args.cold:
                prompts = [" ".join(rng.choice(words, 12)) + f" cold #{i}"
                           for i in range(args.requests)]
            else:
                prompts = [pool[i % len(pool)] for i in range(args.requests)]
                asyncio.run(drive(url, "rbench/avengers-pro", pool, args.concurrency))  # warm
            asyncio.run(drive(stub_url, models[0], prompts[:200], args.concurrency))  # warm
            t_start = time.time()
            c0 = cpu_seconds(stub.pid)
            direct_rps, direct = asyncio.run(drive(stub_url, models[0], prompts,
                                                   args.concurrency))
            stub_cpu = (cpu_seconds(stub.pid) - c0) / args.requests
            pids = server_pids(server.pid)
            c0, s0 = sum(cpu_seconds(p) for p in pids), cpu_seconds(stub.pid)
            routed_rps, routed = asyncio.run(drive(url, "rbench/avengers-pro", prompts,
                                                   args.concurrency))
            server_cpu = (sum(cpu_seconds(p) for p in pids) - c0) / args.requests
            stub_cpu2 = (cpu_seconds(stub.pid) - s0) / args.requests
            health = json.loads(urlopen(url.removesuffix("/v1") + "/health", timeout=10).read())
            if floor:
                asyncio.run(drive(floor_url, models[0], prompts[:200], args.concurrency))
                floor_rps, floored = asyncio.run(drive(floor_url, models[0], prompts,
                                                       args.concurrency))
        finally:
            for proc in floor:
                proc.kill()
            server.terminate()  # the server flushes its records on SIGTERM
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
            stub.kill()
            stub.wait(30)
        from routerbench_core.data.store import Store

        with Store(db) as store:
            rows = [r for r in store.served(since=t_start) if r["route_latency"] is not None]
        route_ms = 1000 * np.array([r["route_latency"] for r in rows])
        ms = 1000.0
        d50, d99 = np.percentile(direct, [50, 99]) * ms
        r50, r99 = np.percentile(routed, [50, 99]) * ms
        print(f"serve overhead: {args.requests} requests, concurrency {args.concurrency}, "
              f"upstream latency {args.latency * ms:.0f} ms, "
              f"{'cold (every prompt embedded)' if args.cold else 'cached embeddings'}")
        print(f"  direct to upstream   {direct_rps:8.0f} req/s   p50 {d50:7.2f} ms   p99 {d99:7.2f} ms")
        print(f"  through rbench serve {routed_rps:8.0f} req/s   p50 {r50:7.2f} ms   p99 {r99:7.2f} ms")
        if floor:
            f50, f99 = np.percentile(floored, [50, 99]) * ms
            print(f"  bare proxy (floor)   {floor_rps:8.0f} req/s   p50 {f50:7.2f} ms   p99 "
                  f"{f99:7.2f} ms   ({args.workers} aiohttp process(es), no routing, no records)")
        print(f"  throughput ratio     {routed_rps / direct_rps:8.2f}")
        print(f"  routing overhead     p50 {r50 - d50:6.2f} ms   p99 {r99 - d99:6.2f} ms   "
              f"(goal: p50 < 5, p99 < 20; {args.workers} worker(s))")
        if floor:
            print(f"  floor overhead       p50 {f50 - d50:6.2f} ms   p99 {f99 - d99:6.2f} ms   "
                  "(the bare proxy's, same sitting)")
        print(f"  CPU per request      rbench serve {server_cpu * ms:.3f} ms   stub upstream "
              f"{stub_cpu * ms:.3f} ms (direct run) / {stub_cpu2 * ms:.3f} ms (routed run)   "
              f"machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        added = 1000 * np.array([r["latency"] - (r["upstream_latency"] or 0.0) for r in rows
                                 if r["status"] == 200 and r["latency"] is not None])
        if len(added):
            print(f"  server-added time    p50 {np.percentile(added, 50):6.2f} ms   "
                  f"p99 {np.percentile(added, 99):6.2f} ms   (request latency in the server "
                  "minus the upstream call)")
        batches = health.get("routing_batches") or {}
        if batches.get("batches"):
            print(f"  routing batches      {batches['queries'] / batches['batches']:6.1f} queries "
                  f"per router call on average ({'one worker' if args.workers > 1 else 'server'}"
                  " answering /health)")
        if len(route_ms):
            print(f"  server embed+route   p50 {np.percentile(route_ms, 50):6.3f} ms   "
                  f"p99 {np.percentile(route_ms, 99):6.3f} ms   ({len(rows)} recorded requests)")


if __name__ == "__main__":
    main()
