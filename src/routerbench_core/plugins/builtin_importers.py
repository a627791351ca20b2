"""Built-in import formats, registered through the same hook as a dataset plugin's formats."""

from __future__ import annotations

from routerbench_core.plugins.hookspecs import hookimpl
from routerbench_core.plugins.spec import Register


@hookimpl
def register_importers(register: Register) -> None:
    m = "routerbench_core.data.importers"
    register("llmrouterbench", f"{m}.llmrouterbench:parse",
             "LLMRouterBench release: results/bench/<dataset>/<split>/<model>/*.json",
             capabilities={"exports": True})
    register("llmrouter", f"{m}.llmrouter:parse",
             "LLMRouter folder: scores_<split>.json, queries_<split>.jsonl, models.json")
    register("routerdc", f"{m}.routerdc:parse",
             "RouterDC folder of per-dataset JSON lists of {question, scores}",
             capabilities={"options": {
                 "on_duplicate": "a question repeated inside a file: error (default; lists "
                                 "every repeat), first (keep the first row) or mean (average "
                                 "the scores)"}})
    register("routerbench", f"{m}.routerbench:parse",
             "RouterBench wide CSV (a file or folder): per query, score and cost per model")
    register("parquet", f"{m}.parquet:parse", "rbench's own folder of Parquet tables (full fidelity)",
             capabilities={"exports": True}, requires=["pyarrow"])
