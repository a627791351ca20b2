"""BBH: exemplar handling (from the task's own items or a fewshot_template), per-task answer
formats, extraction and scoring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rbench_dataset_bbh.dataset import BBH
from rbench_dataset_bbh.scoring import answer_format, normalise, score_answer

from routerbench_core import DatasetError, Response
from routerbench_core.testing.datasets import DatasetConformance

FIX = Path(__file__).parent / "fixtures"
TASKS = FIX / "bbh_tasks.jsonl"
TEMPLATED = FIX / "bbh_with_templates.jsonl"


def reply(q, text):
    return Response(query_key=q.key, model="m", raw_output=text)


def test_first_three_items_of_a_task_become_its_exemplars():
    ds = BBH()
    qs = ds.load(TASKS)
    assert [q.id for q in qs] == ["boolean_expressions-3", "boolean_expressions-4",
                                  "date_understanding-8", "object_counting-12"]
    content = ds.build_messages(qs[0])[0]["content"]
    assert content.count("Question: ") == 4  # three exemplars + the question
    assert "Answer: False" in content and "not ( ( not not True ) ) is" in content
    assert content.rstrip().endswith(qs[0].text)
    assert "I have a piano" not in content  # other tasks' items never leak in


def test_fewshot_template_is_used_verbatim():
    ds = BBH()
    qs = ds.load(TEMPLATED)
    assert [q.metadata["format"] for q in qs] == ["words", "sequence", "binary"]
    content = ds.build_messages(qs[0])[0]["content"]
    assert "accept fund hat" in content and "mangrove syndrome therefrom" not in content


def test_known_good_and_bad_answers_per_format():
    ds = BBH()
    b3, b4, date, count = ds.load(TASKS)
    ws, dyck, lies = ds.load(TEMPLATED)
    good = [(b3, "not False is True; True or False.\nAnswer: True"),
            (b4, "Both sides are False. So the answer is False."),
            (date, "Jan 1 is a Tuesday, so the first Monday is Jan 7.\nAnswer: (A)"),
            (count, "1 + 1 + 4 = 6.\nAnswer: 6"),
            (ws, "Answer: mangrove, syndrome, therefrom"),
            (dyck, "Close in reverse order.\nAnswer: > ) > ]"),
            (lies, "Fidel lies, so Jerry lies, so Vina lies.\nAnswer: No")]
    for q, text in good:
        g = ds.grade(q, reply(q, text))
        assert g.score == 1.0, (q.id, g)
    bad = [(b3, "Answer: False"), (date, "Answer: (B)"), (count, "Answer: 5"),
           (ws, "Answer: syndrome mangrove therefrom"), (dyck, "Answer: ) > ]"),
           (lies, "Answer: Yes")]
    for q, text in bad:
        assert ds.grade(q, reply(q, text)).score == 0.0, q.id
    assert ds.grade(count, reply(count, "There are six instruments.")).score == 0.0


def test_format_rules():
    assert answer_format("navigate", "No") == "binary"
    assert answer_format(None, "(C)") == "choice" and answer_format(None, "17") == "number"
    assert answer_format(None, "] ) >") == "sequence" and answer_format(None, "a b") == "words"
    assert normalise("(C) 12/14/1937", "choice") == "C" and normalise("C.", "choice") == "C"
    assert score_answer("6.0", "6", "number") == 1.0 and score_answer("invalid", "valid", "binary") == 0.0
    assert score_answer("valid.", "valid", "binary") == 1.0
    assert score_answer("6 fruits", "6", "number") == 1.0 and score_answer("7 fruits", "6", "number") == 0.0


def test_per_task_sampling_is_seeded(tmp_path):
    f = tmp_path / "many.jsonl"
    with f.open("w") as out:
        for i in range(60):
            out.write(json.dumps({"task": "object_counting", "input": f"q{i}", "target": str(i)}) + "\n")
    a = [q.id for q in BBH(per_task=10).load(f)]
    assert a == [q.id for q in BBH(per_task=10).load(f)] and len(a) == 10
    assert a != [q.id for q in BBH(per_task=10, seed=1).load(f)]
    assert len(BBH().load(f)) == 40 and len(BBH(per_task=0).load(f)) == 57


def test_too_few_items_for_exemplars(tmp_path):
    f = tmp_path / "few.jsonl"
    f.write_text(json.dumps({"task": "navigate", "input": "q", "target": "No"}) + "\n")
    with pytest.raises(DatasetError, match="exemplars"):
        BBH().load(f)


class TestBBHConformance(DatasetConformance):
    dataset_name = "bbh"
    fixture = TASKS
    good_answers = {"boolean_expressions-3": "Answer: True", "boolean_expressions-4": "Answer: False",
                    "date_understanding-8": "Answer: (A)", "object_counting-12": "Answer: 6"}
    bad_answers = {"boolean_expressions-3": "Answer: False", "boolean_expressions-4": "Answer: True",
                   "date_understanding-8": "Answer: (C)", "object_counting-12": "Answer: 7"}


def test_hub_path_reads_every_task_config(monkeypatch):
    """One hub config per task, the task kept on each row (a stand-in `datasets` module)."""
    import sys
    import types

    calls = []

    def load_dataset(repo, config, split, revision):
        calls.append((repo, config, split, revision))
        return [{"input": f"{config} q{i}", "target": "True"} for i in range(5)]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    qs = BBH().load()
    assert len(calls) == 27 and {c[0] for c in calls} == {"lukaemon/bbh"}
    assert {c[3] for c in calls} == {"982bb89fd79532a8ac676a61fc42eb1aeec63f99"}
    assert len(qs) == 27 * 2  # 3 exemplars + 2 evaluated per task
    assert {q.metadata["task"] for q in qs} == {c[1] for c in calls}
    assert BBH(revision="abc").load() and calls[-1][3] == "abc"


def test_task_is_metadata_and_split_source_works(monkeypatch):
    """`--split source` read the task name as a split and raised SplitError (issue 10 item 7)."""
    import numpy as np
    import rbench_dataset_bbh.dataset as bbh_module

    from routerbench_core.testing import split_from_source

    rows = [json.loads(line) for line in TASKS.read_text().splitlines() if line.strip()]

    def fake_hub(repo_id, *, revision, split, config=None, dataset_name=""):
        return [{k: v for k, v in r.items() if k != "task"} for r in rows if r["task"] == config]

    monkeypatch.setattr(bbh_module, "load_hub_records", fake_hub)
    queries = BBH().load()
    assert queries and {q.source_split for q in queries} == {"test"}
    assert {q.metadata["task"] for q in queries} >= {"boolean_expressions", "object_counting"}
    assert {q.source_split for q in BBH().load(TASKS)} == {None}  # a file has no split
    # BBH (test) beside a dataset with its own train rows splits without error
    names = ["other"] * 6 + ["bbh"] * len(queries)
    texts = [f"train {i}" for i in range(6)] + [q.text for q in queries]
    split = split_from_source(np.array(names, dtype=object), texts,
                              ["train"] * 6 + [q.source_split for q in queries], seed=42)
    assert len(split.test) == len(queries) and len(split.train) + len(split.valid) == 6
