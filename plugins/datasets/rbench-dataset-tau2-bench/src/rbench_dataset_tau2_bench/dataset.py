"""τ²-bench (Barres et al., 2025): customer-service agents in the airline (50 tasks), retail
(114) and telecom (114) domains — 278 tasks — talking to a simulated user and using tools.

rbench does not run the simulations: it imports the results file ``tau2 run`` writes
(``data/simulations/<name>.json``: ``info``, ``tasks``, ``simulations``) and turns each task's
simulations into one graded answer. Each answer is stored as a JSON record::

    {"task_id": "7", "domain": "airline", "rewards": [1.0, 0.0], "agent_costs": [0.08, 0.09],
     "user_costs": [0.01, 0.01], "termination_reasons": ["user_stop", "max_steps"],
     "excluded": 0}

Score = mean reward over the task's evaluable trials (τ²-bench's pass^1). Simulations without
``reward_info`` or ended by ``infrastructure_error`` / ``context_window_exceeded`` are not
evaluable (τ²-bench leaves them out of its metrics too); a task with none left is not graded
(``score=None``), never 0. Cost = the mean agent cost of the evaluable trials — the cost of one
run of the routed model; the user simulator's cost is benchmark overhead, kept in the record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rbench_dataset_tau2_bench.plugin import CAPABILITIES
from routerbench_core import DatasetError, Query, Response, TemplateDataset

DOMAINS = ("airline", "retail", "telecom")
NON_EVALUABLE = frozenset({"infrastructure_error", "context_window_exceeded"})

PROMPT = """You are a customer service agent in the {domain} domain. Follow the domain policy, use the available tools, and help the customer until their request is resolved.

Customer: {question}"""


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc


def scenario_text(task: Mapping[str, Any]) -> str:
    """What the simulated customer wants, from a task's ``user_scenario``."""
    scenario = task.get("user_scenario") or {}
    instructions = scenario.get("instructions") if isinstance(scenario, Mapping) else scenario
    if isinstance(instructions, str):
        return instructions.strip()
    if isinstance(instructions, Mapping):
        parts = [instructions.get("reason_for_call"), instructions.get("known_info")]
        text = "\n".join(str(p).strip() for p in parts if p)
        if text:
            return text
    description = task.get("description") or {}
    if isinstance(description, Mapping) and description.get("purpose"):
        return str(description["purpose"])
    raise DatasetError(f"task {task.get('id')!r} has no user_scenario instructions to show")


def domain_of_results(data: Mapping[str, Any], source: str) -> str:
    try:
        return str(data["info"]["environment_info"]["domain_name"])
    except (KeyError, TypeError):
        raise DatasetError(
            f"{source}: not a tau2 results file (info.environment_info.domain_name missing)"
        ) from None


def read_results(path: str | Path) -> dict[str, Any]:
    """A ``tau2 run`` results file, or a results folder (``results.json`` + ``simulations/``)."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"tau2 results {path} do not exist")
    if path.is_dir():
        data = _load_json(path / "results.json")
        if not data.get("simulations"):
            sims = [_load_json(p) for p in sorted((path / "simulations").glob("*.json"))]
            data = {**data, "simulations": sims}
    else:
        data = _load_json(path)
    if not isinstance(data, Mapping) or "simulations" not in data:
        raise DatasetError(f"{path}: not a tau2 results file (no 'simulations')")
    domain_of_results(data, str(path))
    return dict(data)


def task_records(results: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``task_id -> answer record`` from the simulations of one results file."""
    domain = domain_of_results(results, "results")
    out: dict[str, dict[str, Any]] = {}
    for sim in results["simulations"]:
        tid = str(sim["task_id"])
        rec = out.setdefault(tid, {"task_id": tid, "domain": domain, "rewards": [],
                                   "agent_costs": [], "user_costs": [],
                                   "termination_reasons": [], "excluded": 0})
        reason = str(sim.get("termination_reason") or "")
        rec["termination_reasons"].append(reason)
        reward = (sim.get("reward_info") or {}).get("reward")
        if reward is None or reason in NON_EVALUABLE:
            rec["excluded"] += 1
            continue
        reward = float(reward)
        if not 0.0 <= reward <= 1.0:
            raise DatasetError(f"task {tid}: reward {reward} is outside [0, 1]")
        rec["rewards"].append(reward)
        rec["agent_costs"].append(sim.get("agent_cost"))
        rec["user_costs"].append(sim.get("user_cost"))
    return out


class Tau2Bench(TemplateDataset, capabilities=CAPABILITIES):
    """τ²-bench base tasks of airline, retail and telecom; results imported from ``tau2 run``.

    Option ``domain`` names the domain of a bare ``tasks.json`` whose folder does not say it.
    """

    name = "tau2-bench"
    grader_version = "1"
    hub_id = None  # tasks ship in the sierra-research/tau2-bench repository (data/tau2/domains)
    hub_revision = None
    prompt_template = PROMPT
    required_fields = ("id", "domain", "user_scenario")

    def load(self, data_file: Path | None = None, *, limit: int | None = None) -> list[Query]:
        if data_file is None or Path(data_file).suffix in (".jsonl", ".parquet"):
            return super().load(data_file, limit=limit)
        path = Path(data_file)
        if not path.exists():
            raise DatasetError(f"data file {path} does not exist; check the --data-file path")
        records: list[dict[str, Any]] = []
        if path.is_dir():  # data/tau2/domains: every domain's tasks
            for domain in DOMAINS:
                tasks = path / domain / "tasks.json"
                if tasks.exists():
                    records += self._domain_tasks(tasks, domain)
            if not records:
                raise DatasetError(f"{path}: no <domain>/tasks.json for {', '.join(DOMAINS)}")
        else:
            data = _load_json(path)
            if isinstance(data, Mapping) and "tasks" in data and "info" in data:  # results file
                domain = domain_of_results(data, str(path))
                records = [{**t, "domain": domain} for t in data["tasks"]]
            elif isinstance(data, list):
                domain = self.options.get("domain") or path.parent.name
                if domain not in DOMAINS:
                    raise DatasetError(
                        f"{path}: cannot tell the domain of these tasks; pass the option "
                        f"domain=<{'|'.join(DOMAINS)}> or keep the file in domains/<domain>/"
                    )
                records = self._domain_tasks(path, domain)
            else:
                raise DatasetError(
                    f"{path}: expected a tasks.json list, a tau2 results file, or JSONL records "
                    "with id, domain and user_scenario"
                )
        queries = []
        for i, rec in enumerate(records):
            if not isinstance(rec, Mapping) or "id" not in rec:
                raise DatasetError(f"{path}: task {i} has no 'id'")
            queries.append(self.to_query(rec, i))
        return queries[:limit] if limit is not None else queries

    def _domain_tasks(self, tasks_file: Path, domain: str) -> list[dict[str, Any]]:
        tasks = _load_json(tasks_file)
        if not isinstance(tasks, list):
            raise DatasetError(f"{tasks_file}: expected a JSON list of tasks")
        split_file = tasks_file.parent / "split_tasks.json"
        if split_file.exists():  # keep the benchmark's "base" split when the folder has one
            base = {str(t) for t in (_load_json(split_file).get("base") or [])}
            if base:
                tasks = [t for t in tasks if str(t.get("id")) in base]
        return [{**t, "domain": domain} for t in tasks]

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        domain = str(record["domain"])
        tid = str(record["id"])
        return Query(
            dataset=self.name, id=f"{domain}:{tid}", text=scenario_text(record),
            ground_truth={"evaluation_criteria": record.get("evaluation_criteria") or {}},
            source_split=domain, metadata={"domain": domain, "task_id": tid},
        )

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        return {"question": query.text, "domain": query.metadata["domain"]}

    # -- grading: the answer is the task's simulation record ----------------------------------

    def extract(self, output: str, query: Query) -> dict[str, Any] | None:
        if not output.strip():
            return None
        try:
            record = json.loads(output)
        except json.JSONDecodeError:
            raise DatasetError(
                f"{query.key}: the stored answer is not a tau2 task record; import results "
                "with `rbench data import tau2-bench`"
            ) from None
        if not isinstance(record, Mapping) or not isinstance(record.get("rewards"), list):
            raise DatasetError(f"{query.key}: tau2 task record lacks a 'rewards' list")
        found = f"{record.get('domain', query.metadata['domain'])}:{record.get('task_id', query.metadata['task_id'])}"
        if found != query.id:
            raise DatasetError(f"{query.key}: the tau2 task record is for task {found}")
        return dict(record)

    def score(self, prediction: dict[str, Any], query: Query) -> tuple[float | None, dict[str, Any]]:
        rewards = [float(r) for r in prediction["rewards"]]
        details: dict[str, Any] = {"trials": len(rewards), "excluded": prediction.get("excluded", 0)}
        if not rewards:
            details["error"] = "no evaluable simulation (all failed for infrastructure reasons)"
            return None, details
        return sum(rewards) / len(rewards), details

    # -- import ----------------------------------------------------------------------------

    def import_results(
        self, results: str | Path, *, queries: Sequence[Query], model: str | None = None,
    ) -> tuple[str, list[Response]]:
        """``(model, responses)`` for the tasks of one ``tau2 run`` results file.

        ``model`` defaults to the agent LLM the file names (``info.agent_info.llm``).
        """
        data = read_results(results)
        model = model or (data.get("info", {}).get("agent_info") or {}).get("llm")
        if not model:
            raise DatasetError(f"{results}: no agent model named in the file; pass --model")
        by_id = {q.id: q for q in queries}
        responses = []
        for tid, rec in task_records(data).items():
            qid = f"{rec['domain']}:{tid}"
            if qid not in by_id:
                raise DatasetError(
                    f"{results}: task {qid} is not in the loaded tasks; load the same domains"
                )
            costs = [c for c in rec["agent_costs"] if c is not None]
            cost = sum(costs) / len(costs) if costs and len(costs) == len(rec["agent_costs"]) else None
            responses.append(Response(
                query_key=by_id[qid].key, model=str(model), raw_output=json.dumps(rec),
                cost=cost, cost_source="imported" if cost is not None else None,
                metadata={"harness": "tau2-bench", "results_file": str(results)},
            ))
        return str(model), responses

