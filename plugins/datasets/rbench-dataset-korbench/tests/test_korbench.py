"""KOR-Bench: release-folder and prepared-JSONL loading, the 3-shot prompt, [[...]] extraction
and the per-category rule checker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rbench_dataset_korbench.dataset import KORBench
from rbench_dataset_korbench.scoring import check, extract_bracketed, safe_arith

from routerbench_core import DatasetError, Response
from routerbench_core.testing.datasets import DatasetConformance

DATA = Path(__file__).parent / "fixtures" / "data"
IDS = ["cipher-1", "counterfactual-31", "logic-21", "operation-1", "operation-2",
       "puzzle-91", "puzzle-92"]


def reply(q, text):
    return Response(query_key=q.key, model="m", raw_output=text)


@pytest.fixture(scope="module")
def items():
    return {q.id: q for q in KORBench().load(DATA)}


def test_release_folder_loads_all_categories(items):
    assert sorted(items) == IDS
    assert items["cipher-1"].ground_truth == "DWWDFN"
    assert items["puzzle-92"].metadata["rule_id"] == "10"
    assert len(items["logic-21"].metadata["shots"]) == 3
    assert [q.id for q in KORBench().load(DATA / "operation")] == ["operation-1", "operation-2"]


#: sha256 of each category's template in KOR-Bench's config/prompt/three-shot.yaml (commit
#: bb8194d), the file the seed ships in Git LFS (its pointer names the same whole-file hash)
OFFICIAL_TEMPLATE_SHA256 = {
    "cipher": "9ebee5fa2aa0f64181216d5ab5c704bdb0be5e7b8fd5b96236d482bfcde20782",
    "counterfactual": "f7b6829a3d75f72dbde997130da85d113bfe22a99c92de0641abc3aa2fdb5486",
    "logic": "d5a629ed978c53536c47627c6f4263f21fa17ebdad3eba97b687d79bb9a1c997",
    "operation": "56310eaf63889d4153566a60fe8ef5a31b268f049f882a7ab8059962c0b26ba0",
    "puzzle": "63059270d6e40c922ea9288b8ed32e75f243577696ea8878bc00f45dbc7f9fd3",
}


@pytest.mark.parametrize("category", sorted(OFFICIAL_TEMPLATE_SHA256))
def test_seed_prompt_is_the_official_template(category):
    """With ``{}`` in every slot, the rendered prompt is byte for byte the official template."""
    import hashlib

    from rbench_dataset_korbench.dataset import seed_prompt

    skeleton = seed_prompt(category, "{}", [{"question": "{}", "answer": "{}"}] * 3, "{}")
    assert hashlib.sha256(skeleton.encode()).hexdigest() == OFFICIAL_TEMPLATE_SHA256[category]


def test_seed_prompt_is_the_default_and_rbench_prompt_selectable(items):
    query = items["cipher-1"]
    seed = KORBench().build_messages(query)[0]["content"]
    assert seed.startswith("You are an intelligent assistant that specializes in encryption")
    assert "### Cipher Rule:\n\n" in seed and seed.endswith(f"### Question:\n{query.text}\n\n### Answer:\n")
    old = KORBench(prompt="rbench").build_messages(query)[0]["content"]
    assert old.startswith("You will be given a rule") and old != seed
    with pytest.raises(DatasetError, match="unknown prompt"):
        KORBench(prompt="other").build_messages(query)


def test_three_shot_prompt(items):
    content = KORBench().build_messages(items["cipher-1"])[0]["content"]
    assert "three places later" in content  # the rule
    assert content.count("### Question:") == 4 and "[[KHOOR]]" in content
    assert "[[DWWDFN]]" not in content
    assert content.rstrip().endswith("### Answer:")


@pytest.mark.parametrize("qid,good,bad", [
    ("cipher-1", "Shift each letter by 3: [[DWWDFN]]", "[[dwwdfn]]"),
    ("counterfactual-31", "60°C is above 50°C here, so it boils. [[A]]", "[[B]]"),
    ("logic-21", "[[ T ; F ; F ]]", "[[T;T;F]]"),
    ("operation-1", "2*4+3 = 11 → [[11]]", "[[10]]"),
    ("operation-2", "2(1/2)+1/4 = 1.25 [[1.25]]", "[[3/4]]"),
    ("puzzle-91", "[[(3-2)*4*6=24]]", "[[4*6=24]]"),
    ("puzzle-92", "[[8/(3-8/3)]]", "[[8*3-8+8=24]]"),
])
def test_known_good_and_bad(items, qid, good, bad):
    ds = KORBench()
    q = items[qid]
    assert ds.grade(q, reply(q, good)).score == 1.0
    assert ds.grade(q, reply(q, bad)).score == 0.0


def test_no_brackets_scores_zero(items):
    q = items["operation-1"]
    g = KORBench().grade(q, reply(q, "The answer is 11."))
    assert g.score == 0.0 and g.prediction is None
    assert extract_bracketed("first [[1]] then [[2]]") == "2"
    assert extract_bracketed("\\boxed{7}") == "7"


def test_checker_rules():
    assert check("12 or 3", "3 or 12", "operation")
    assert not check("12 or 4", "3 or 12", "operation")
    assert check("x = 2", "x=2", "operation")
    assert check("A", "a", "counterfactual")
    assert safe_arith("(1+2)*8") == 24 and safe_arith("__import__('os')") is None
    assert safe_arith("1/0") is None


def test_prepared_jsonl_and_errors(tmp_path, items):
    q = items["operation-1"]
    f = tmp_path / "prepared.jsonl"
    f.write_text(json.dumps({"category": "operation", "rule_id": "1", "idx": "1",
                             "rule_content": q.metadata["rule"], "question": q.text,
                             "answer": "[[11]]", "shots": q.metadata["shots"]}) + "\n")
    (loaded,) = KORBench().load(f)
    assert loaded.model_dump() == q.model_dump()
    short = tmp_path / "short.jsonl"
    short.write_text(json.dumps({"category": "operation", "rule_id": "1", "idx": "1",
                                 "rule_content": "r", "question": "q", "answer": "[[1]]",
                                 "shots": []}) + "\n")
    with pytest.raises(DatasetError, match="3-shot"):
        KORBench().load(short)
    with pytest.raises(DatasetError, match="no KOR-Bench category folders"):
        KORBench().load(tmp_path)


class TestKORBenchConformance(DatasetConformance):
    dataset_name = "korbench"
    fixture = DATA
    expects_hub = False
    good_answers = {"cipher-1": "[[DWWDFN]]", "counterfactual-31": "[[A]]", "logic-21": "[[T;F;F]]",
                    "operation-1": "[[11]]", "operation-2": "[[5/4]]",
                    "puzzle-91": "[[4*6*(3-2)=24]]", "puzzle-92": "[[8/(3-8/3)=24]]"}
    bad_answers = {"cipher-1": "[[DWWDFM]]", "counterfactual-31": "[[B]]", "logic-21": "[[F;F;F]]",
                   "operation-1": "[[12]]", "operation-2": "[[1/4]]",
                   "puzzle-91": "[[2*3*4=24]]", "puzzle-92": "[[3*8=24]]"}


def test_puzzle_rules_that_list_valid_answers_accept_any_of_them():
    """Rules 2 and 4 give every valid word in the reference; equality was a false negative."""
    from rbench_dataset_korbench.scoring import check

    assert check("FLOWER", "flower,fowler,wolfer", "puzzle", "2")
    assert check("wolfer", "flower,fowler,wolfer", "puzzle", "4")
    assert not check("flow", "flower,fowler,wolfer", "puzzle", "2")
    assert check("b a c", "a b c", "puzzle", "3") and not check("a b", "a b c", "puzzle", "3")
    assert check("2,1", "1,2", "puzzle", "5") and not check("1,3", "1,2", "puzzle", "5")
    assert not check("flower", "flower,fowler", "puzzle", "7")  # other rules: the whole text
