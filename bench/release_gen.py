"""A synthetic release in the LLMRouterBench layout, shared by the import benchmarks.

``results/bench/<dataset>/<split>/<model>/<model>_<stamp>.json``, one file per model and
dataset, with the seed project's record fields (prompt, raw output, prediction, ground truth,
0/1 score, token counts, cost). Texts are slices of one long word stream drawn from a
Zipf-distributed vocabulary, so they compress like prose (not like one repeated sentence, which
would flatter a store that compresses answers), and no two records share more than chance.
Model ``m`` of ``n`` answers correctly with probability ``0.3 + 0.6 m / (n - 1)``.

Used by ``bench/release_scale.py`` (the 400,200-record release) and ``bench/import_speed.py``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

#: Characters of word stream texts are cut from (at most; smaller releases need less).
CORPUS_CHARS = 40_000_000


def _vocabulary(rng: random.Random, n: int = 5000) -> list[str]:
    syllables = ["ka", "lo", "mi", "ne", "ta", "ru", "shi", "po", "ve", "de", "an", "or",
                 "ex", "qu", "th", "st", "in", "al", "er", "on"]
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def _corpus(rng: random.Random, chars: int) -> str:
    vocab = _vocabulary(rng)
    weights = [1.0 / (i + 1) for i in range(len(vocab))]
    out: list[str] = []
    n = 0
    while n < chars:
        batch = rng.choices(vocab, weights, k=10_000)
        out.extend(batch)
        n += sum(map(len, batch)) + len(batch)
    return " ".join(out)


def generate(root: Path, n_models: int, n_queries: int, n_datasets: int, prompt_chars: int,
             output_chars: int, seed: int = 0) -> int:
    """Write the release under ``root``; returns the number of records."""
    rng = random.Random(seed)
    needed = 2 * (n_queries * prompt_chars + n_models * n_queries * output_chars)
    corpus = _corpus(rng, min(CORPUS_CHARS, max(1_000_000, needed)))
    span = len(corpus) - 4 * max(prompt_chars, output_chars)

    def text(chars: int) -> str:
        start = rng.randrange(span)
        return corpus[start : start + rng.randint(chars // 2, chars * 3 // 2)]

    per_dataset = [n_queries // n_datasets + (i < n_queries % n_datasets)
                   for i in range(n_datasets)]
    prompts = [[f"Question {d}.{i}: " + text(prompt_chars) for i in range(n)]
               for d, n in enumerate(per_dataset)]
    total = 0
    for m in range(n_models):
        model = f"model-{m:02d}"
        skill = 0.3 + 0.6 * m / max(1, n_models - 1)
        price = 0.1 + m * 0.05
        for d, n in enumerate(per_dataset):
            dataset = f"dataset{d:02d}"
            records = []
            for i in range(n):
                raw = text(output_chars) + f" The answer is \\boxed{{{i % 97}}}."
                pt = len(prompts[d][i]) // 4
                ct = len(raw) // 4
                score = 1.0 if rng.random() < skill else 0.0
                records.append({
                    "index": i, "origin_query": prompts[d][i], "prompt": prompts[d][i],
                    "prediction": str(i % 97), "ground_truth": str(i % 97 if score else -1),
                    "score": score, "prompt_tokens": pt, "completion_tokens": ct,
                    "cost": (pt + ct) * price / 1e6, "raw_output": raw,
                })
            doc = {"dataset_name": dataset, "split": "test", "model_name": model,
                   "performance": sum(r["score"] for r in records) / max(1, n),
                   "cost": sum(r["cost"] for r in records), "counts": {"total": n},
                   "records": records}
            folder = root / "results" / "bench" / dataset / "test" / model
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / f"{model}_20250101_000000.json", "w", encoding="utf-8") as fh:
                json.dump(doc, fh, ensure_ascii=False)
            total += n
    return total
