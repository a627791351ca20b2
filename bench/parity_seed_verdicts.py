"""Derive the "seed" column of the grading parity corpus by running the seed's own graders.

The parity corpus (``tests/parity/corpus.json``) records, for every case, the verdict that
LLMRouterBench's evaluation code gives. That column is not typed by hand: this script imports
the seed's ``evaluation`` package from a checkout (``--seed-repo``; nothing of it is copied into
rbench), feeds each case's record and answer to the seed evaluator of that dataset, and compares
(or, with ``--write``, stores) the verdicts.

The seed's modules import ``datasets``, ``loguru`` and its own ``generators`` package at load
time without needing them for grading; light stand-ins are installed for whichever is missing.
Its math grader needs ``pylatexenc`` and ``sympy`` (``--extra-path`` for a folder holding them).

    python bench/parity_seed_verdicts.py --seed-repo ~/src/LLMRouterBench [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "parity" / "corpus.json"


_STAND_INS = {
    "datasets/__init__.py": (
        "class Dataset(list):\n"
        "    @staticmethod\n"
        "    def from_list(rows):\n"
        "        return list(rows)\n\n\n"
        "def disable_progress_bars():\n    pass\n\n\n"
        "def load_dataset(*args, **kwargs):\n    return None\n\n\n"
        "def concatenate_datasets(parts):\n    return parts\n"
    ),
    "loguru/__init__.py": "import logging\n\nlogger = logging.getLogger('seed')\n",
    "generators/__init__.py": "",
    # the LLM grader client; judged datasets are not in the corpus
    "generators/generator.py": (
        "class DirectGenerator:\n    def __init__(self, *args, **kwargs):\n        pass\n"
    ),
}


def _stand_ins() -> None:
    """Modules the seed imports at load time but never uses for grading, written to a temporary
    folder on the path (the seed's code runner starts fresh interpreters that need them too)."""
    import importlib.util
    import os
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="seed-stand-ins-"))
    for relative, text in _STAND_INS.items():
        top = relative.split("/", 1)[0]
        if top != "generators" and importlib.util.find_spec(top) is not None:
            continue  # the real package is installed: use it
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(folder))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(folder), *sys.path[1:4], os.environ.get("PYTHONPATH", "")])


#: dataset -> (seed module, evaluator class)
EVALUATORS = {
    "aime": ("evaluation.AIME.aime", "AIMEEvaluator"),
    "math500": ("evaluation.MATH500.math500", "MATH500Evaluator"),
    "livemathbench": ("evaluation.LiveMathBench.livemathbench", "LiveMathBenchEvaluator"),
    "finqa": ("evaluation.FinQA.finqa", "FinQAEvaluator"),
    "mathbench": ("evaluation.MATHBench.mathbench", "MathBenchEvaluator"),
    "mmlu-pro": ("evaluation.MMLUPro.mmlupro", "MMLUProEvaluator"),
    "gpqa": ("evaluation.GPQA.gpqa", "GPQAEvaluator"),
    "medqa": ("evaluation.MedQA.medqa", "MedQAEvaluator"),
    "emorynlp": ("evaluation.EmoryNLP.emorynlp", "EmoryNLPEvaluator"),
    "meld": ("evaluation.MELD.meld", "MELDEvaluator"),
    "bbh": ("evaluation.BBH.bbh", "BBHEvaluator"),
    "knights-knaves": ("evaluation.K_and_K.k_and_k", "KnightsAndKnavesEvaluator"),
    "korbench": ("evaluation.KORBench.korbench", "KORBenchEvaluator"),
    "humaneval": ("evaluation.HumanEval.humaneval", "HumanEvalEvaluator"),
    "mbpp": ("evaluation.MBPP.mbpp", "MBPPEvaluator"),
    "livecodebench": ("evaluation.LiveCodeBench.livecodebench", "LiveCodeBenchEvaluator"),
}


def _evaluator(dataset: str) -> Any:
    from importlib import import_module

    module_name, class_name = EVALUATORS[dataset]
    cls = getattr(import_module(module_name), class_name)
    evaluator = cls.__new__(cls)  # skip __init__: it opens the seed's LLM grader client
    evaluator.imports = getattr(import_module(module_name), "imports", None)
    evaluator._raw_data = []
    return evaluator


def _seed_data(dataset: str, record: dict[str, Any]) -> dict[str, Any]:
    """The row the seed's evaluator reads for ``record`` (the seed's own file format)."""
    data = dict(record)
    if dataset == "korbench":
        data["question_type"] = record["category"]
    return data


def seed_verdict(dataset: str, record: dict[str, Any], answer: str) -> bool:
    evaluator = _evaluator(dataset)
    data = _seed_data(dataset, record)
    if dataset == "livecodebench":
        evaluator._raw_data = [record]
        data = {"__idx__": 0}
    return bool(evaluator.evaluate(data, answer)["is_correct"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-repo", type=Path, required=True,
                        help="a checkout of ynulihao/LLMRouterBench (holding evaluation/)")
    parser.add_argument("--extra-path", type=Path, action="append", default=[],
                        help="a folder of packages the seed's graders need (pylatexenc)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--write", action="store_true", help="store the verdicts in the corpus")
    args = parser.parse_args(argv)
    if not (args.seed_repo / "evaluation" / "base_evaluator.py").is_file():
        parser.error(f"{args.seed_repo} has no evaluation/base_evaluator.py")
    sys.path[:0] = [str(args.seed_repo), *map(str, args.extra_path)]
    _stand_ins()  # after: its PYTHONPATH carries the seed checkout to child interpreters
    corpus = json.loads(args.corpus.read_text(encoding="utf-8"))
    items = corpus["items"]
    changed = 0
    for case in corpus["cases"]:
        record = items[case["dataset"]][case["item"]]
        verdict = seed_verdict(case["dataset"], record, case["answer"])
        if case.get("seed") != verdict:
            changed += 1
            print(f"{case['id']}: seed verdict {verdict} (corpus says {case.get('seed')})")
            case["seed"] = verdict
    if args.write:
        args.corpus.write_text(json.dumps(corpus, indent=1, ensure_ascii=False) + "\n",
                               encoding="utf-8")
    print(f"{len(corpus['cases'])} cases, {changed} seed verdict(s) "
          f"{'updated' if args.write else 'differ from the corpus'}")
    return 0 if args.write or not changed else 1


if __name__ == "__main__":
    sys.exit(main())
