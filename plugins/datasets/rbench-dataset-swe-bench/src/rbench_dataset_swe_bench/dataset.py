"""SWE-bench Verified (Jimenez et al., 2024; Verified subset by OpenAI, 2024): 500 GitHub issues
whose fix must make the repository's hidden tests pass.

rbench does not run the agents or the test containers: it imports the official harness's
results (``python -m swebench.harness.run_evaluation``) and, when present, the agent's costs.
Each imported answer is one JSON object per instance (the "harness record")::

    {"instance_id": "astropy__astropy-12907", "status": "resolved", "resolved": true,
     "model_patch": "diff --git ...", "cost": 0.42}

``status`` is one of ``resolved``, ``unresolved``, ``empty_patch``, ``error`` (the harness
could not evaluate the patch, e.g. it did not apply) or ``incomplete`` (submitted but never
evaluated).
Scores follow SWE-bench's resolved rate: resolved 1; unresolved, empty patch and error 0
(SWE-bench counts them as unresolved); incomplete ``None`` (not graded: it was never run).

Accepted harness outputs (see :func:`read_harness_results`):

* the run summary ``<model>.<run_id>.json`` (``resolved_ids``, ``unresolved_ids``,
  ``empty_patch_ids``, ``error_ids``, ``submitted_ids``; ``incomplete_ids`` — instances with no
  prediction — are not imported);
* the per-instance reports ``logs/run_evaluation/<run_id>/<model>/<instance_id>/report.json``
  (``{instance_id: {"resolved": bool, "patch_exists": bool, ...}}``): give the folder;
* optional predictions (``preds.json`` ``{id: {"model_patch": ...}}`` or ``*.jsonl`` lines with
  ``instance_id`` and ``model_patch``) to keep each patch;
* optional costs: JSON ``{instance_id: cost or {"cost", "prompt_tokens", "completion_tokens"}}``,
  JSONL lines with ``instance_id`` and ``cost``, or a folder of SWE-agent / mini-swe-agent
  trajectories (``*.traj.json``/``*.traj`` with ``info.model_stats.instance_cost``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rbench_dataset_swe_bench.plugin import CAPABILITIES
from routerbench_core import DatasetError, Query, Response, TemplateDataset, read_records

STATUSES = ("resolved", "unresolved", "empty_patch", "error", "incomplete")
SCORES: dict[str, float | None] = {
    "resolved": 1.0, "unresolved": 0.0, "empty_patch": 0.0, "error": 0.0, "incomplete": None,
}
#: The summary's outcome lists. ``incomplete_ids`` is not one: the harness lists there every
#: dataset instance that had no prediction, i.e. that the agent never attempted.
SUMMARY_KEYS = {
    "resolved_ids": "resolved", "unresolved_ids": "unresolved",
    "empty_patch_ids": "empty_patch", "error_ids": "error",
}

PROMPT = """You are working in a checkout of the {repo} repository at commit {base_commit}. Resolve the following issue by editing the repository's source files. Answer with the patch as a unified diff (git diff format) that applies to that commit.

<issue>
{question}
</issue>"""


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read harness file {path}: {exc}") from exc


def read_harness_results(path: str | Path) -> dict[str, str]:
    """``instance_id -> status`` from a run summary JSON or a folder of per-instance reports."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"harness results {path} do not exist")
    statuses: dict[str, str] = {}
    if path.is_dir():
        reports = sorted(path.rglob("report.json"))
        if not reports:
            raise DatasetError(
                f"{path}: no per-instance report.json files found (expected "
                "logs/run_evaluation/<run_id>/<model>/<instance_id>/report.json)"
            )
        for report in reports:
            data = _load_json(report)
            if not isinstance(data, Mapping) or not data:
                raise DatasetError(f"{report}: expected {{instance_id: {{...}}}}")
            for iid, result in data.items():
                if not isinstance(result, Mapping) or "resolved" not in result:
                    raise DatasetError(f"{report}: instance {iid} has no 'resolved' field")
                if result.get("patch_is_None") or result.get("patch_exists") is False:
                    statuses[str(iid)] = "empty_patch"
                elif result.get("patch_successfully_applied") is False:
                    statuses[str(iid)] = "error"
                else:
                    statuses[str(iid)] = "resolved" if result["resolved"] else "unresolved"
        return statuses
    data = _load_json(path)
    if not isinstance(data, Mapping) or not any(k in data for k in SUMMARY_KEYS):
        raise DatasetError(
            f"{path}: not a SWE-bench run summary (expected resolved_ids, unresolved_ids, ...); "
            "pass the <model>.<run_id>.json the harness writes, or the folder of report.json files"
        )
    for key, status in SUMMARY_KEYS.items():
        for iid in data.get(key) or []:
            if str(iid) in statuses and statuses[str(iid)] != status:
                raise DatasetError(
                    f"{path}: instance {iid} is listed as both {statuses[str(iid)]} and {status}"
                )
            statuses[str(iid)] = status
    for iid in data.get("submitted_ids") or []:  # submitted but in no outcome list
        statuses.setdefault(str(iid), "incomplete")
    return statuses  # instances never submitted are left out, never counted as failures


def read_predictions(path: str | Path) -> dict[str, str]:
    """``instance_id -> model_patch`` from ``preds.json`` or a predictions JSONL."""
    path = Path(path)
    if path.suffix == ".json":
        data = _load_json(path)
        if isinstance(data, Mapping):
            return {str(k): str((v or {}).get("model_patch") or "") for k, v in data.items()}
        records = data
    else:
        records = read_records(path)
    return {str(r["instance_id"]): str(r.get("model_patch") or "") for r in records}


def _cost_entry(value: Any) -> dict[str, Any]:
    if isinstance(value, int | float):
        return {"cost": float(value)}
    if isinstance(value, Mapping):
        stats = value.get("info", {}).get("model_stats") if "info" in value else value
        stats = stats or {}
        cost = stats.get("cost", stats.get("instance_cost"))
        return {
            "cost": None if cost is None else float(cost),
            "prompt_tokens": stats.get("prompt_tokens", stats.get("tokens_sent")),
            "completion_tokens": stats.get("completion_tokens", stats.get("tokens_received")),
            "api_calls": stats.get("api_calls"),
        }
    raise DatasetError(f"cost entry {value!r} is neither a number nor an object")


def read_costs(path: str | Path) -> dict[str, dict[str, Any]]:
    """``instance_id -> {"cost", "prompt_tokens", "completion_tokens"}`` (see module doc)."""
    path = Path(path)
    if path.is_dir():
        out = {}
        for traj in sorted([*path.rglob("*.traj.json"), *path.rglob("*.traj")]):
            data = _load_json(traj)
            iid = data.get("instance_id") or traj.name.split(".traj")[0]
            out[str(iid)] = _cost_entry(data)
        if not out:
            raise DatasetError(f"{path}: no *.traj.json / *.traj trajectory files found")
        return out
    if path.suffix == ".json":
        data = _load_json(path)
        if not isinstance(data, Mapping):
            raise DatasetError(f"{path}: expected an object instance_id -> cost")
        return {str(k): _cost_entry(v) for k, v in data.items()}
    return {str(r["instance_id"]): _cost_entry(r) for r in read_records(path)}


class SWEBench(TemplateDataset, capabilities=CAPABILITIES):
    """SWE-bench Verified: 500 instances, results imported from the official harness."""

    name = "swe-bench"
    grader_version = "1"
    hub_id = "princeton-nlp/SWE-bench_Verified"
    hub_revision = "c104f840cc67f8b6eec6f759ebc8b2693d585d4a"
    hub_split = "test"
    prompt_template = PROMPT
    required_fields = ("instance_id", "repo", "base_commit", "problem_statement")

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        def tests(field: str) -> list[str]:
            value = record.get(field) or []
            return json.loads(value) if isinstance(value, str) else list(value)

        return Query(
            dataset=self.name, id=str(record["instance_id"]),
            text=str(record["problem_statement"]),
            ground_truth={"FAIL_TO_PASS": tests("FAIL_TO_PASS"), "PASS_TO_PASS": tests("PASS_TO_PASS"),
                          "patch": record.get("patch"), "test_patch": record.get("test_patch")},
            metadata={"repo": record["repo"], "base_commit": record["base_commit"],
                      "version": record.get("version"), "difficulty": record.get("difficulty")},
        )

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        return {"question": query.text, "repo": query.metadata["repo"],
                "base_commit": query.metadata["base_commit"]}

    # -- grading: the answer is the harness record of the instance ---------------------------

    def extract(self, output: str, query: Query) -> dict[str, Any] | None:
        if not output.strip():  # nothing produced: same as an empty patch
            return None
        try:
            record = json.loads(output)
        except json.JSONDecodeError:
            raise DatasetError(
                f"{query.key}: the stored answer is not a SWE-bench harness record; import "
                "harness results with `rbench data import swe-bench` (raw patches are not graded here)"
            ) from None
        if not isinstance(record, Mapping) or record.get("status") not in STATUSES:
            raise DatasetError(
                f"{query.key}: harness record lacks a status (one of {', '.join(STATUSES)})"
            )
        if record.get("instance_id") not in (None, query.id):
            raise DatasetError(
                f"{query.key}: harness record is for instance {record['instance_id']!r}"
            )
        return dict(record)

    def score(self, prediction: dict[str, Any], query: Query) -> tuple[float | None, dict[str, Any]]:
        status = prediction["status"]
        details = {"status": status}
        if status == "incomplete":
            details["error"] = "the harness never evaluated this instance"
        return SCORES[status], details

    # -- import ----------------------------------------------------------------------------

    def import_results(
        self, results: str | Path, *, model: str, queries: list[Query],
        predictions: str | Path | None = None, costs: str | Path | None = None,
    ) -> list[Response]:
        """Responses (one harness record each) for the instances of ``queries`` in ``results``.

        Instances the results do not mention are left out (never counted as unresolved);
        instance ids that are not in ``queries`` are an error.
        """
        statuses = read_harness_results(results)
        patches = read_predictions(predictions) if predictions else {}
        cost_table = read_costs(costs) if costs else {}
        by_id = {q.id: q for q in queries}
        unknown = sorted(set(statuses) - set(by_id))
        if unknown:
            raise DatasetError(
                f"{results}: {len(unknown)} instance(s) are not in the loaded dataset, e.g. "
                f"{unknown[:3]}; load the matching split (SWE-bench Verified has 500)"
            )
        responses = []
        for iid, status in statuses.items():
            record: dict[str, Any] = {"instance_id": iid, "status": status,
                                      "resolved": status == "resolved"}
            if iid in patches:
                record["model_patch"] = patches[iid]
            c = cost_table.get(iid, {})
            if c.get("cost") is not None:
                record["cost"] = c["cost"]
            responses.append(Response(
                query_key=by_id[iid].key, model=model, raw_output=json.dumps(record),
                cost=c.get("cost"), cost_source="imported" if c.get("cost") is not None else None,
                prompt_tokens=c.get("prompt_tokens"), completion_tokens=c.get("completion_tokens"),
                metadata={"harness": "swe-bench", "results_file": str(results)},
            ))
        return responses
