"""Embedding speed: rbench's embedder against a bare ``SentenceTransformer.encode``.

Same model (the bundled all-MiniLM-L6-v2), same texts, same sitting: each contender runs in
its own fresh process (so its peak RSS is its own), alternating ``--repeat`` times, and the
medians are compared. Texts are a fixed sample of the nim9 queries (``$RBENCH_SHARED_DATA`` or
../shared/data), or synthetic ones when the data is absent.

- bare: ``SentenceTransformer(path).encode(texts)`` with the library's defaults;
- rbench: ``cached_embed(MiniLMEmbedder(), store, texts)`` into a fresh store, i.e. what
  ``rbench route`` does on a first run (longest first, streamed to the cache);
- ``--also NAME`` adds another registered embedder (e.g. ``minilm-static``).

Model loading is timed apart from embedding (both load once per process), and the peak RSS
once loaded (imports + model, before any text) is printed beside each peak: it is the floor
no batch size can go under. Goal (issue 14): rbench's throughput >= 1.0x the bare encode,
peak RSS <= 700 MiB.

    python bench/embed_speed.py --texts 1000 --repeat 2 --also minilm-static
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, os, resource, sys, time
mode, texts_file, store_path = sys.argv[1], sys.argv[2], sys.argv[3]
texts = json.load(open(texts_file))
t0 = time.perf_counter()
if mode == "bare":
    from sentence_transformers import SentenceTransformer
    from routerbench_core.embedding.sentence_transformers import minilm_path
    model = SentenceTransformer(str(minilm_path()), device="cpu")
    load = time.perf_counter() - t0
    loaded_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    vectors = model.encode(texts)
else:
    from routerbench_core.data.store import Store
    from routerbench_core.embedding.base import cached_embed, load_embedder
    from routerbench_core.plugins.manager import make_plugin_manager
    embedder = load_embedder(make_plugin_manager(), mode)
    store = Store(store_path)
    # what a first `route` pays besides the forward passes: load before timing, as for bare
    getattr(embedder, "_load", lambda: None)()
    load = time.perf_counter() - t0
    loaded_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    vectors = cached_embed(embedder, store, texts)
wall = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"load": load, "wall": wall, "rss": rss, "loaded_rss": loaded_rss,
                  "n": len(vectors),
                  "dim": int(vectors.shape[1])}))
"""


def sample_texts(n: int, seed: int = 0) -> tuple[list[str], str]:
    root = Path(os.environ.get("RBENCH_SHARED_DATA") or
                Path(__file__).resolve().parents[2] / "shared" / "data") / "llmrouter-nim9"
    texts: list[str] = []
    for name in ("queries_train.jsonl", "queries_test.jsonl"):
        path = root / name
        if path.is_file():
            texts += [json.loads(line)["query"] for line in path.open(encoding="utf-8")]
    source = "nim9 queries"
    if not texts:
        rng = random.Random(seed)
        words = "route model query answer cost solve prove value number step final".split()
        texts = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 300)))
                 for _ in range(n)]
        source = "synthetic texts (nim9 not found)"
    texts = sorted(set(texts))
    random.Random(seed).shuffle(texts)
    return texts[:n], source


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--also", action="append", default=[], help="another embedder to time")
    args = ap.parse_args(argv)

    texts, source = sample_texts(args.texts)
    chars = sum(map(len, texts))
    print(f"{len(texts):,} {source}, {chars / len(texts):.0f} characters on average")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} CPUs")
    modes = ["bare", "minilm", *args.also]
    results: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory(prefix="rbench-embed-") as tmp:
        tf = Path(tmp) / "texts.json"
        tf.write_text(json.dumps(texts), encoding="utf-8")
        for r in range(args.repeat):
            for mode in modes:
                store = Path(tmp) / f"{mode}-{r}.db"
                proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(tf), str(store)],
                                      capture_output=True, text=True)
                if proc.returncode != 0:
                    print(f"{mode} failed:\n{proc.stderr[-2000:]}")
                    return 1
                res = json.loads(proc.stdout.strip().splitlines()[-1])
                results[mode].append(res)
                print(f"  run {r + 1} {mode:<14} {len(texts) / res['wall']:7.1f} texts/s  "
                      f"(load {res['load']:.1f} s, RSS {res['loaded_rss']:,.0f} MiB once "
                      f"loaded, peak {res['rss']:,.0f} MiB)", flush=True)
    print(f"\n{'embedder':<16} {'texts/s':>9} {'vs bare':>8} {'peak RSS MiB':>13} "
          f"{'loaded MiB':>11}")
    bare = statistics.median(len(texts) / r["wall"] for r in results["bare"])
    for mode in modes:
        rate = statistics.median(len(texts) / r["wall"] for r in results[mode])
        rss = max(r["rss"] for r in results[mode])
        loaded = max(r["loaded_rss"] for r in results[mode])
        print(f"{mode:<16} {rate:>9.1f} {rate / bare:>7.2f}x {rss:>13,.0f} {loaded:>11,.0f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("goal: minilm >= 1.00x bare, peak RSS <= 700 MiB (\"loaded\": the peak once the "
          "libraries are imported and the model loaded, before any text; the floor)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
