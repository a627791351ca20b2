"""Built-in baselines registered as routers (``best-single``, ``cheapest``, ``random-pick``)
and the evaluator-computed references (``random``, ``dataset-oracle``, ``oracle``)."""

from __future__ import annotations

from routerbench_core.plugins.hookspecs import hookimpl
from routerbench_core.plugins.spec import Register

#: Capabilities of the baselines and of the references, written once: the classes in
#: routing.baselines read their settings from here.
BASELINE = {"settings": ["perf", "perf-cost"], "embeddings": False, "baseline": True}
REFERENCE = {"settings": ["perf", "perf-cost"], "embeddings": False, "reference": True}


@hookimpl
def register_routers(register: Register) -> None:
    m = "routerbench_core.routing.baselines"
    register("best-single", f"{m}:BestSingle", "the model best on train+valid, for every query",
             capabilities=BASELINE)
    register("cheapest", f"{m}:Cheapest", "the model cheapest on train+valid, for every query",
             capabilities=BASELINE)
    register("random-pick", f"{m}:RandomPick", "a uniform random model per query (seeded)",
             capabilities=BASELINE)
    register("random", f"{m}:RandomReference",
             "reference: expected accuracy/cost of a uniform random pick",
             capabilities=REFERENCE)
    register("dataset-oracle", f"{m}:DatasetOracleReference",
             "reference: best model per dataset, judged on test",
             capabilities=REFERENCE)
    register("oracle", f"{m}:OracleReference",
             "reference: best model per test query (cheapest among ties)",
             capabilities=REFERENCE)
