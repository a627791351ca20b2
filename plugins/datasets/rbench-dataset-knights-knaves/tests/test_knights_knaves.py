"""Knights and Knaves: loader, prompt, extraction and all-identities-right scoring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rbench_dataset_knights_knaves.dataset import KnightsKnaves
from rbench_dataset_knights_knaves.scoring import extract_identities

from routerbench_core import DatasetError, Response

FIXTURE = Path(__file__).parent / "fixtures" / "kk_test.jsonl"


@pytest.fixture
def ds() -> KnightsKnaves:
    return KnightsKnaves()


@pytest.fixture
def queries(ds):
    return ds.load(FIXTURE)


def answer(q, text):
    return Response(query_key=q.key, model="m", raw_output=text)


def test_load_fixture(queries):
    assert [q.id for q in queries] == ["2ppl-0", "3ppl-1"]
    assert queries[0].ground_truth == {"Zoey": "knave", "Oliver": "knight"}
    assert queries[1].ground_truth == {"Alice": "knight", "Bob": "knave", "Carol": "knave"}
    assert queries[1].metadata["n_people"] == 3


def test_prompt_has_puzzle_and_format(ds, queries):
    messages = ds.build_messages(queries[0])
    assert len(messages) == 1 and messages[0]["role"] == "user"
    content = messages[0]["content"]
    assert queries[0].text in content and "CONCLUSION:" in content
    assert "Zoey is a knave, and Oliver" not in content  # the solution never leaks


def test_known_good_answers(ds, queries):
    q2, q3 = queries
    good2 = "Suppose Zoey tells the truth... contradiction.\nCONCLUSION:\n(1) Zoey is a knave\n(2) Oliver is a knight"
    good3 = "Reasoning...\n\n**CONCLUSION:**\n(1) Alice is a **knight**\n(2) Bob is a knave\n(3) Carol is a knave."
    g = ds.grade(q2, answer(q2, good2))
    assert g.score == 1.0 and g.grader == "knights-knaves" and g.grader_version == "1"
    assert ds.grade(q3, answer(q3, good3)).score == 1.0
    # no CONCLUSION header: the last statement about each name counts
    assert ds.grade(q2, answer(q2, "Zoey is a knave, and Oliver is a knight.")).score == 1.0


def test_known_bad_answers(ds, queries):
    q2, q3 = queries
    wrong = ds.grade(q3, answer(q3, "CONCLUSION:\n(1) Alice is a knight\n(2) Bob is a knight\n(3) Carol is a knave"))
    assert wrong.score == 0.0 and wrong.details["wrong"] == ["Bob"]
    partial = ds.grade(q3, answer(q3, "CONCLUSION:\n(1) Alice is a knight\n(2) Bob is a knave"))
    assert partial.score == 0.0 and partial.details["missing"] == ["Carol"]
    nothing = ds.grade(q2, answer(q2, "I am not sure."))
    assert nothing.score == 0.0 and nothing.prediction is None
    # reasoning mentions the wrong identity first, the conclusion fixes it: the conclusion wins
    flip = "If Zoey is a knight then Oliver is a knave...\nCONCLUSION:\n(1) Zoey is a knave\n(2) Oliver is a knight"
    assert ds.grade(q2, answer(q2, flip)).score == 1.0


def test_negation_and_alternative_role_words():
    assert extract_identities("Zoey is not a knight. Oliver: knight", ["Zoey", "Oliver"]) == {
        "Zoey": "knave", "Oliver": "knight"}
    roles = {"knight": "pioneer", "knave": "laggard"}
    assert extract_identities("(1) Ava is a pioneer (2) Ben is a laggard", ["Ava", "Ben"], roles) == {
        "Ava": "knight", "Ben": "knave"}


def test_name_matched_as_whole_word():
    # "Ann" must not match inside "Anna"
    assert extract_identities("Anna is a knight", ["Ann"]) == {}


def test_bad_record_is_a_clear_error(ds, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"quiz": "x", "names": ["A", "B"]}\n')
    with pytest.raises(DatasetError, match="solution"):
        ds.load(bad)
    mismatch = tmp_path / "mismatch.jsonl"
    mismatch.write_text('{"quiz": "x", "names": ["A", "B"], "solution": [true]}\n')
    with pytest.raises(DatasetError, match="2 names but 1 solution"):
        ds.load(mismatch)


def test_hub_without_datasets_library_is_a_clear_error(ds, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(DatasetError, match="--data-file"):
        ds.load()


from routerbench_core.testing.datasets import DatasetConformance  # noqa: E402


class TestKnightsKnavesConformance(DatasetConformance):
    dataset_name = "knights-knaves"
    fixture = FIXTURE
    good_answers = {
        "2ppl-0": "CONCLUSION:\n(1) Zoey is a knave\n(2) Oliver is a knight",
        "3ppl-1": "CONCLUSION:\n(1) Alice is a knight\n(2) Bob is a knave\n(3) Carol is a knave",
    }
    bad_answers = {
        "2ppl-0": "CONCLUSION:\n(1) Zoey is a knight\n(2) Oliver is a knave",
        "3ppl-1": "CONCLUSION:\n(1) Alice is a knight\n(2) Bob is a knave",
    }



def test_hub_path_reads_one_split_per_size(monkeypatch):
    """The hub loader asks for every size split and keeps it (a stand-in `datasets` module
    records the calls; tests never touch the hub)."""
    import sys
    import types

    calls = []
    rows = [json.loads(line) for line in FIXTURE.read_text().splitlines()]

    def load_dataset(repo, config, split, revision):
        calls.append((repo, config, split, revision))
        n = int(split[0])
        return [r for r in rows if len(r["names"]) == n]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    qs = KnightsKnaves().load()
    assert [c[2] for c in calls] == [f"{n}ppl" for n in range(2, 9)]
    assert {c[:2] for c in calls} == {("K-and-K/knights-and-knaves", "test")}
    # the size is metadata; the split is the hub's test (so --split source does not choke on it)
    assert [(q.id, q.source_split, q.metadata["n_people"]) for q in qs] == [
        ("2ppl-0", "test", 2), ("3ppl-1", "test", 3)]
    assert {q.source_split for q in KnightsKnaves().load(FIXTURE)} == {None}
