"""The seed's published evaluation subsets load through ``--data-file`` as they are.

LLMRouterBench ships its exact subsets as one JSON object per line in files named ``.json``
(MMLU-Pro ``test_3000.json`` with dict options, BBH ``test.json`` with a ``fewshot_template``,
GPQA-diamond with a fixed option order, MathBench ``college.jsonl``, EmoryNLP and MELD
``test.json``, HLE and SimpleQA ``*.jsonl``). Each is written here in that format (small
hand-made records; the field layout learned from the seed's evaluation code) and previewed with
``rbench data preview DATASET --data-file F``: the prompt, gold and a graded answer must come
out as the seed would have it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from routerbench_core.commands.app import State, build_app
from routerbench_core.plugins.manager import make_plugin_manager

EMOTIONS_MELD = {"A": "neutral", "B": "surprise", "C": "fear", "D": "sadness", "E": "joy",
                 "F": "disgust", "G": "anger"}
EMOTIONS_EMORY = {"A": "Joyful", "B": "Mad", "C": "Neutral", "D": "Peaceful", "E": "Powerful",
                  "F": "Sad", "G": "Scared"}

#: dataset -> (file name, seed-format records, an answer, its expected score, text in the prompt)
SUBSETS: dict[str, tuple[str, list[dict[str, Any]], str, float, str]] = {
    "mmlu-pro": ("test_3000.json", [
        {"question_id": 7001, "question": "Which gas dominates air?", "category": "chemistry",
         "options": {"A": "oxygen", "B": "nitrogen", "C": "argon", "D": "neon"},
         "answer": "B", "answer_index": 1, "src": "ori_mmlu-x"},
        {"question_id": 7002, "question": "2+2?", "category": "math",
         "options": {"A": "3", "B": "4", "C": "5"}, "answer": "B", "answer_index": 1},
    ], "Nitrogen is 78%.\nAnswer: B", 1.0, "A. oxygen\nB. nitrogen"),
    "bbh": ("test.json", [
        {"input": "not ( True ) and ( True ) is", "target": "False",
         "fewshot_template": "Q: True and False is\nA: False\n\nQ: not False is\nA: True\n\n"
                             "Q: True or False is\nA: True"},
        {"input": "How many legs do 2 cats have?", "target": "8",
         "fewshot_template": "Q: 1 dog legs?\nA: 4"},
    ], "not True is False, so False.\nAnswer: False", 1.0, "Q: not False is\nA: True"),
    "gpqa": ("gpqa_diamond.json", [
        {"question": "Which particle has no charge?", "High-level domain": "Physics",
         "options": {"A": "proton", "B": "electron", "C": "neutron", "D": "positron"},
         "answer": "C"},
    ], "Answer: C", 1.0, "A) proton\nB) electron\nC) neutron\nD) positron"),
    "mathbench": ("college.jsonl", [
        {"question": "The derivative of x^2 is", "options": ["x", "2x", "x^2", "2"],
         "answer": "B"},
    ], "d/dx x^2 = 2x\nAnswer: B", 1.0, "A. x\nB. 2x\nC. x^2\nD. 2"),
    "emorynlp": ("test.json", [
        {"history": ["Joey: Hey!", "Ross: Hi."], "utterance": "Rachel: I got the job!",
         "candidate": EMOTIONS_EMORY, "answer": "A"},
    ], "She is thrilled.\nAnswer: A", 1.0, "History:\n- Joey: Hey!\n- Ross: Hi.\n\nUtterance:"),
    "meld": ("test.json", [
        {"history": ["Monica: Where is it?"], "utterance": "Chandler: Oh no.",
         "candidate": EMOTIONS_MELD, "answer": "D"},
        {"history": [], "utterance": "Phoebe: Hi!", "candidate": EMOTIONS_MELD, "answer": "E"},
    ], "Answer: D", 1.0, "G. anger"),
    "hle": ("subset_500.jsonl", [
        {"id": "hle-1", "question": "What is 7 factorial?", "answer": "5040",
         "answer_type": "exactMatch", "image": "", "category": "Math"},
    ], "Explanation: 7! = 5040\nAnswer: 5040\nConfidence: 99%", -1.0, "What is 7 factorial?"),
    "simpleqa": ("subset_500.jsonl", [
        {"problem": "Who wrote Dune?", "answer": "Frank Herbert",
         "metadata": "{'topic': 'Art', 'answer_type': 'Person', 'urls': []}"},
    ], "Frank Herbert", -1.0, "Who wrote Dune?"),
}


def preview(*args: str) -> list[dict[str, Any]]:
    host = make_plugin_manager()
    result = CliRunner().invoke(build_app(host), ["data", "preview", *args, "--json"],
                                obj=State(host=host), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("name", sorted(SUBSETS))
def test_seed_subset_file_loads_through_data_file(tmp_path: Path, name: str) -> None:
    file_name, records, answer, score, shown = SUBSETS[name]
    path = tmp_path / file_name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    items = preview(name, "--data-file", str(path), "--limit", str(len(records)),
                    "--answer", answer)
    assert len(items) == len(records)  # a published subset is evaluated whole
    first = items[0]
    prompt = "\n".join(m["content"] for m in first["messages"])
    assert shown in prompt, prompt
    if score >= 0:  # judged datasets stop at extraction (they need a judge backend)
        assert first["verdict"]["score"] == score, first
        assert first["verdict"]["grader_version"] != "1"  # re-graded by --regrade


def test_mmlu_pro_dict_options_keep_their_texts(tmp_path: Path) -> None:
    """The seed's dict options used to turn into the letters themselves."""
    _, records, _, _, _ = SUBSETS["mmlu-pro"]
    path = tmp_path / "test.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (item,) = preview("mmlu-pro", "--data-file", str(path))
    assert item["gold"] == "B"
    assert "B. nitrogen" in item["messages"][0]["content"]
    assert "\nA. A\n" not in item["messages"][0]["content"]


def test_preview_shows_an_ambiguous_answer_and_the_grader(tmp_path: Path) -> None:
    _, records, _, _, _ = SUBSETS["gpqa"]
    path = tmp_path / "gpqa_diamond.json"
    path.write_text(json.dumps(records[0]) + "\n", encoding="utf-8")
    (item,) = preview("gpqa", "--data-file", str(path), "--answer", "Answer: A, C")
    assert item["extracted"] is None
    assert item["verdict"]["details"]["reason"] == "ambiguous: the answer names A, C"
    assert item["verdict"]["grader"] == "gpqa" and item["verdict"]["score"] == 0.0
    (seed,) = preview("gpqa", "--data-file", str(path), "--answer", "Answer: A, C",
                      "--option", "grader=seed")
    assert seed["verdict"]["grader"] == "gpqa:seed" and seed["extracted"] == "A"
