"""rbench: collect → grade → route → report, for LLM routers.

This module is the public API for plugin authors, in the way ``import llm; @llm.hookimpl``
works: everything a plugin needs is importable from ``routerbench_core`` itself::

    from routerbench_core import hookimpl, Register, Router, LabeledSet, QuerySet, Routing

and a plugin's tests use the conformance kits and fixtures in :mod:`routerbench_core.testing`.
Nothing else is public; the sub-packages (``plugins``, ``data``, ``collection``, ``scoring``,
``embedding``, ``routing``, ``report``, ``commands``, ``demo``) may change between versions, and
a test keeps this repository's own plugins on this API.

Import cost matters: ``rbench list`` imports this module, so every name but ``hookimpl`` is
resolved lazily (PEP 562) from the module that defines it, the first time it is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from routerbench_core.plugins.hookspecs import hookimpl

__version__ = "0.1.0"

#: public name -> the module that defines it (a module itself where the value is None)
_API: dict[str, str] = {
    # plugin system
    "Register": "routerbench_core.plugins.spec",
    "PluginSpec": "routerbench_core.plugins.spec",
    # the data model
    "ModelSpec": "routerbench_core.schema",
    "Query": "routerbench_core.schema",
    "Response": "routerbench_core.schema",
    "Grade": "routerbench_core.schema",
    "GenerationRequest": "routerbench_core.schema",
    "UnpricedModelError": "routerbench_core.schema",
    # plugins' CLI commands (register_commands)
    "cli_state": "routerbench_core.commands.app",
    "cli_fail": "routerbench_core.commands.app",
    # import formats (register_importers)
    "DataFormatError": "routerbench_core.data.importers.base",
    "ImportedRecords": "routerbench_core.data.importers.records",
    # collect: backends
    "Backend": "routerbench_core.collection.backends",
    "BackendError": "routerbench_core.collection.backends",
    "api_model_name": "routerbench_core.collection.backends",
    "failed_response": "routerbench_core.collection.backends",
    "json_loads": "routerbench_core.data.jsonio",
    "json_dumps": "routerbench_core.data.jsonio",
    # grade: datasets and their families
    "Dataset": "routerbench_core.scoring.datasets",
    "TemplateDataset": "routerbench_core.scoring.datasets",
    "BoxedMathDataset": "routerbench_core.scoring.datasets",
    "CodeExecDataset": "routerbench_core.scoring.datasets",
    "DialogueEmotionDataset": "routerbench_core.scoring.datasets",
    "HubSource": "routerbench_core.scoring.datasets",
    "ScoreResult": "routerbench_core.scoring.datasets",
    "DatasetError": "routerbench_core.scoring.datasets",
    "content_id": "routerbench_core.scoring.datasets",
    "read_records": "routerbench_core.scoring.datasets",
    "ensure_gradable": "routerbench_core.scoring.datasets",
    # grade: shared scorers
    "LETTERS": "routerbench_core.scoring.choice",
    "extract_choice": "routerbench_core.scoring.choice",
    "format_choices": "routerbench_core.scoring.choice",
    "score_choice": "routerbench_core.scoring.choice",
    "answer_line": "routerbench_core.scoring.extract",
    "extract_final_answer": "routerbench_core.scoring.extract",
    "last_boxed": "routerbench_core.scoring.extract",
    "last_number": "routerbench_core.scoring.extract",
    "strip_reasoning": "routerbench_core.scoring.extract",
    "math_equal": "routerbench_core.scoring.math",
    "numeric_equal": "routerbench_core.scoring.math",
    "parse_number": "routerbench_core.scoring.math",
    "rounded_equal": "routerbench_core.scoring.math",
    "extract_code": "routerbench_core.scoring.code",
    "sanitize_code": "routerbench_core.scoring.code",
    "SEED_IMPORT_PREAMBLE": "routerbench_core.scoring.code",
    "read_choice": "routerbench_core.scoring.choice",
    "ChoiceReading": "routerbench_core.scoring.choice",
    "MultipleChoiceDataset": "routerbench_core.scoring.datasets",
    "hit_token_limit": "routerbench_core.scoring.datasets",
    "parse_exact": "routerbench_core.scoring.math",
    "Program": "routerbench_core.scoring.sandbox",
    "SandboxLimits": "routerbench_core.scoring.sandbox",
    "SandboxError": "routerbench_core.scoring.sandbox",
    "IsolationError": "routerbench_core.scoring.sandbox",
    "FunctionCheck": "routerbench_core.scoring.verdicts",
    "StdioCheck": "routerbench_core.scoring.verdicts",
    "CallCheck": "routerbench_core.scoring.verdicts",
    "LLMJudge": "routerbench_core.scoring.judge",
    "JudgeError": "routerbench_core.scoring.judge",
    "judge_context": "routerbench_core.scoring.judge",
    # embed
    "Embedder": "routerbench_core.embedding.base",
    # route
    "Router": "routerbench_core.routing.router",
    "RouterContext": "routerbench_core.routing.router",
    "RouterError": "routerbench_core.routing.router",
    "RouterParams": "routerbench_core.routing.router",
    "Grid": "routerbench_core.routing.router",
    "QuerySet": "routerbench_core.routing.router",
    "LabeledSet": "routerbench_core.routing.router",
    "Routing": "routerbench_core.routing.router",
    # route: saved routers (artefacts for ``rbench serve``)
    "RouterState": "routerbench_core.routing.artefact",
    "StateError": "routerbench_core.routing.artefact",
    "module_arrays": "routerbench_core.routing.artefact",
    "load_module_arrays": "routerbench_core.routing.artefact",
    "profile_arrays": "routerbench_core.routing.artefact",
    "profile_from_state": "routerbench_core.routing.artefact",
    "logistic_arrays": "routerbench_core.routing.artefact",
    "logistic_from_state": "routerbench_core.routing.artefact",
    # helpers shared by several plugins
    "RetryPolicy": "routerbench_core.collection.backends",
    "has_price": "routerbench_core.collection.backends",
    "parse_retry_after": "routerbench_core.collection.backends",
    "response_cost": "routerbench_core.collection.backends",
    "load_hub_records": "routerbench_core.scoring.datasets",
    "HLE_PROMPT": "routerbench_core.scoring.judge",
    "SIMPLEQA_PROMPT": "routerbench_core.scoring.judge",
    "ARENA_CREATIVE_PROMPT": "routerbench_core.scoring.judge",
    "ARENA_HARD_PROMPT": "routerbench_core.scoring.judge",
    "JudgedGrading": "routerbench_core.scoring.judge",
    "ReferenceJudge": "routerbench_core.scoring.judge",
    "PairwiseJudge": "routerbench_core.scoring.judge",
    "resolve_judge": "routerbench_core.scoring.judge",
    "TrainResult": "routerbench_core.routing.torch_utils",
    "batches": "routerbench_core.routing.torch_utils",
    "check_pool": "routerbench_core.routing.torch_utils",
    "ctx_seed": "routerbench_core.routing.torch_utils",
    "predict_in_chunks": "routerbench_core.routing.torch_utils",
    "resolve_device": "routerbench_core.routing.torch_utils",
    "routed_score": "routerbench_core.routing.torch_utils",
    "seed_torch": "routerbench_core.routing.torch_utils",
    "soft_targets": "routerbench_core.routing.torch_utils",
    "to_tensor": "routerbench_core.routing.torch_utils",
    "torch_threads": "routerbench_core.routing.torch_utils",
    "train_early_stopping": "routerbench_core.routing.torch_utils",
    "configure_threads": "routerbench_core.routing.torch_utils",
    # shared helper modules for routers: ``from routerbench_core import ml, torch_utils``
    "ml": "routerbench_core.routing.ml",
    "torch_utils": "routerbench_core.routing.torch_utils",
}

__all__ = ["__version__", "hookimpl", *_API]


def __getattr__(name: str) -> Any:
    target = _API.get(name)
    if target is None:
        raise AttributeError(f"module 'routerbench_core' has no attribute {name!r}")
    module = import_module(target)
    value = module if target.rsplit(".", 1)[-1] == name else getattr(module, name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

