"""Small LLMRouterBench-layout releases to import in tests (``results/bench/<dataset>/<split>/
<model>/<model>_<stamp>.json``): every model answers every query of every dataset, answers are
long enough to be packed (80 words), scores alternate, costs differ per model."""

from __future__ import annotations

import json
import random
from pathlib import Path

WORDS = ("alpha beta gamma delta solve the equation first we note that hence therefore "
         "answer boxed value sum product prime integer").split()


def answer(rng: random.Random, i: int) -> str:
    """An 80-word answer ending in its query's index."""
    return " ".join(rng.choice(WORDS) for _ in range(80)) + f" so the answer is {i}."


def write_llmrouterbench_release(root: Path, *, models: int = 3, datasets: int = 3, n: int = 40,
                                 seed: int = 0) -> Path:
    """Write ``models`` × ``datasets`` run files of ``n`` records under ``root``; returns it.
    Datasets are ``ds0``, ``ds1``, ... (split ``test``), models ``model0``, ``model1``, ..."""
    rng = random.Random(seed)
    for d in range(datasets):
        for m in range(models):
            records = [{
                "index": i, "origin_query": f"q{d}.{i}", "prompt": f"Question {d}.{i}?",
                "prediction": str(i), "ground_truth": str(i), "score": float((i + m) % 2),
                "prompt_tokens": 10, "completion_tokens": 20 + i, "cost": 1e-5 * (m + 1),
                "raw_output": answer(rng, i),
            } for i in range(n)]
            folder = root / "results" / "bench" / f"ds{d}" / "test" / f"model{m}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"model{m}_20250101_000000.json").write_text(json.dumps(
                {"dataset_name": f"ds{d}", "split": "test", "model_name": f"model{m}",
                 "records": records}), encoding="utf-8")
    return root
