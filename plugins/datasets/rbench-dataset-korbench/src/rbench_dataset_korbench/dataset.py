"""KOR-Bench (Ma et al., 2024, "Knowledge-Orthogonal Reasoning"): 1,250 questions that can only
be answered by applying a newly stated rule — 5 categories (cipher, counterfactual, logic,
operation, puzzle) × 25 rules × 10 questions — 3-shot with three solved questions of the same
rule.

Sources (``--data-file``):

* the release's ``data`` folder (or one category folder inside it): per category
  ``rule.jsonl`` (``idx``, ``rule_content``), ``sample.jsonl`` (``rule_id``, ``idx``,
  ``question``, ``answer``) and ``three-shot.jsonl`` (``rule_id``, ``question``, ``answer``);
* or a JSONL of prepared items: ``category``, ``rule_id``, ``idx``, ``rule_content``,
  ``question``, ``answer``, ``shots`` (a list of three ``{"question", "answer"}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rbench_dataset_korbench.plugin import CAPABILITIES
from rbench_dataset_korbench.scoring import CATEGORIES, check, extract_bracketed, unwrap
from routerbench_core import DatasetError, Query, TemplateDataset, read_records

PROMPT = """You will be given a rule of the "{category}" kind that you may never have seen before. Apply the rule exactly as stated — not what you know from elsewhere — to answer the question. Reason step by step, then give the final answer wrapped in double square brackets, like [[answer]].

### Rule:
{rule}

{shots}

### Question:
{question}

### Answer:"""

#: The seed's prompts: KOR-Bench's ``config/prompt/three-shot.yaml`` (KOR-Bench/KOR-Bench,
#: Apache-2.0, commit bb8194dff8e51e2e2247cf62aa9932c3d57d53d7), which LLMRouterBench (MIT)
#: ships as ``data/KORBench/three-shot.yaml`` (its Git LFS pointer names the same sha256,
#: a609638e…, and size, 3970 bytes). Reproduced word for word: parity needs it. Each
#: category's text before the rule; :func:`seed_prompt` adds the fixed rest.
SEED_INTROS: dict[str, str] = {
    'cipher': (
        'You are an intelligent assistant that specializes in encryption and decryption tasks. Below are the rules for a specific cipher. When responding, please ensure that your output adheres to the specified encryption and decryption rules and format.\n'
        '\n'
        '### Instructions:\n'
        '\n'
        '1. Identify the relevant properties and objects specified in the rule, including the plaintext, keyword, and ciphertext.\n'
        '2. Follow the specified encryption or decryption operations precisely as described in the rules.\n'
        '3. Ensure your output is formatted according to the specified notation and symbols.\n'
        '\n'
        '### Cipher Rule:\n'
        '\n'
    ),
    'counterfactual': (
        'You are an advanced assistant with expertise in storytelling and rule-based reasoning. Your task is to carefully analyze the provided story, which includes specific rules and details, and use this information to accurately answer related questions.\n'
        '\n'
        '### Instructions:\n'
        '\n'
        '1. Thoroughly review the story to identify and understand the relevant details and rules.\n'
        '2. Use the context provided by the story to offer precise and insightful answers.\n'
        '3. Ensure your responses align with the rules and information given in the story.\n'
        '\n'
        '### Story Rule:\n'
        '\n'
    ),
    'logic': (
        'You are an intelligent assistant that helps with various logical reasoning tasks. Below is a custom-defined rule for a specific type of logic. When responding, please ensure that your output adheres to the specified logical rules and format.\n'
        '\n'
        '### Instructions:\n'
        '\n'
        '1. Identify the relevant properties and objects as specified in the rule.\n'
        '2. Apply the given logical operations or reasoning patterns.\n'
        '3. Ensure your output is formatted according to the specified notation and symbols.\n'
        '\n'
        '### Logic Rule:\n'
        '\n'
    ),
    'operation': (
        'You are an intelligent assistant specializing in evaluating custom operations. Below is a specific rule defined for a custom operation. Your task is to apply this rule accurately to the provided question.\n'
        '\n'
        '### Instructions:\n'
        '\n'
        '1. Carefully read and understand the definitions of the new operations in the rule.\n'
        '2. If the question does not specifically ask for it, your answer should be a number or a group of numbers.\n'
        '3. Double-check your final answer to ensure it follows the rule accurately.\n'
        '\n'
        '### Operation Rule:\n'
        '\n'
    ),
    'puzzle': (
        'You are an intelligent assistant specializing in solving custom puzzle problems. Below is a specific rule defined for a custom puzzle. Your task is to apply this rule accurately to the provided question.\n'
        '\n'
        '### Instructions:\n'
        '\n'
        '1. Thoroughly understand the rule provided. If needed, break down the rule into simpler components or steps.\n'
        '2. Apply the rule carefully to address the question presented.\n'
        '3. Verify your answer to ensure it aligns with the rule and the context of the puzzle.\n'
        '\n'
        '### Puzzle Rule:\n'
        '\n'
    ),
}


def seed_prompt(category: str, rule: str, shots: list[dict[str, str]], question: str) -> str:
    """The seed's three-shot prompt: the category's intro, the rule, each solved example and
    the question as ``### Question:`` / ``### Answer:`` blocks, ending on an open answer."""
    examples = "".join(f"### Question:\n{s['question']}\n\n### Answer:\n{s['answer']}\n\n"
                       for s in shots)
    return f"{SEED_INTROS[category]}{rule}\n\n{examples}### Question:\n{question}\n\n### Answer:\n"


N_SHOTS = 3


class KORBench(TemplateDataset, capabilities=CAPABILITIES):
    """KOR-Bench, all five categories (or those present in the given folder)."""

    name = "korbench"
    #: 2: puzzle rules 1-5 checked as KOR-Bench does (2 and 4: any answer of the list);
    #: numbers compare exactly
    grader_version = "2"
    hub_id = None  # released on GitHub (KOR-Bench/KOR-Bench, folder data/)
    hub_revision = None
    required_fields = ("category", "rule_id", "idx", "rule_content", "question", "answer", "shots")

    def load(self, data_file: Path | None = None, *, limit: int | None = None) -> list[Query]:
        if data_file is not None and Path(data_file).is_dir():
            queries = self._from_release(Path(data_file))
            return queries[:limit] if limit is not None else queries
        return super().load(data_file, limit=limit)

    def _from_release(self, root: Path) -> list[Query]:
        folders = [root / c for c in CATEGORIES if (root / c).is_dir()]
        if not folders and root.name in CATEGORIES:
            folders = [root]
        if not folders:
            raise DatasetError(
                f"{root}: no KOR-Bench category folders ({', '.join(CATEGORIES)}) with "
                "rule.jsonl, sample.jsonl and three-shot.jsonl"
            )
        queries: list[Query] = []
        for folder in folders:
            category = folder.name
            for needed in ("rule.jsonl", "sample.jsonl", "three-shot.jsonl"):
                if not (folder / needed).exists():
                    raise DatasetError(f"{folder}: missing {needed}")
            rules = {str(r["idx"]): str(r["rule_content"]) for r in read_records(folder / "rule.jsonl")}
            shots: dict[str, list[dict[str, str]]] = {}
            for r in read_records(folder / "three-shot.jsonl"):
                shots.setdefault(str(r["rule_id"]), []).append(
                    {"question": str(r["question"]), "answer": str(r["answer"])})
            for i, item in enumerate(read_records(folder / "sample.jsonl")):
                rule_id = str(item.get("rule_id"))
                if rule_id not in rules:
                    raise DatasetError(f"{folder / 'sample.jsonl'}: item {i} names rule "
                                       f"{rule_id!r}, which rule.jsonl does not define")
                queries.append(self.to_query({
                    **item, "category": category, "rule_content": rules[rule_id],
                    "shots": shots.get(rule_id, []),
                }, i))
        return queries

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        category = str(record["category"])
        if category not in CATEGORIES:
            raise DatasetError(f"record {index}: category {category!r} is not one of {CATEGORIES}")
        shots = list(record["shots"])
        if len(shots) < N_SHOTS:
            raise DatasetError(
                f"record {index} ({category} rule {record['rule_id']}): {len(shots)} exemplar(s), "
                f"KOR-Bench is {N_SHOTS}-shot; three-shot.jsonl lacks this rule's examples"
            )
        return Query(
            dataset=self.name, id=f"{category}-{record['idx']}", text=str(record["question"]),
            ground_truth=unwrap(str(record["answer"])),  # the category is metadata, not a split
            metadata={"category": category, "rule_id": str(record["rule_id"]),
                      "rule": str(record["rule_content"]), "shots": shots[:N_SHOTS]},
        )

    prompt_template = "{prompt}"

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        """The seed's prompt by default; ``prompt=rbench`` gives rbench's earlier one (it also
        asks for the ``[[ ]]`` answer format in words)."""
        style = self.options.get("prompt", "seed")
        if style not in ("seed", "rbench"):
            raise DatasetError(f"korbench: unknown prompt {style!r}; use seed or rbench")
        meta = query.metadata
        if style == "seed":
            return {"prompt": seed_prompt(meta["category"], meta["rule"], meta["shots"],
                                          query.text)}
        shots = "\n\n".join(
            f"### Question:\n{s['question']}\n\n### Answer:\n{s['answer']}"
            for s in query.metadata["shots"]
        )
        return {"prompt": PROMPT.format(question=query.text, category=meta["category"],
                                        rule=meta["rule"], shots=shots)}

    def extract(self, output: str, query: Query) -> str | None:
        return extract_bracketed(output)

    def score(self, prediction: str, query: Query) -> tuple[float, dict[str, Any]]:
        ok = check(prediction, str(query.ground_truth), query.metadata["category"],
                   query.metadata["rule_id"])
        return (1.0 if ok else 0.0), {"category": query.metadata["category"],
                                      "rule_id": query.metadata["rule_id"]}

