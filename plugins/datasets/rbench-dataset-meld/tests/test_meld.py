"""MELD: both source formats, prompt with history, letter extraction and scoring."""

from __future__ import annotations

from pathlib import Path

import pytest
from rbench_dataset_meld.dataset import MELD

from routerbench_core import DatasetError, Response

FIX = Path(__file__).parent / "fixtures"


def reply(q, text):
    return Response(query_key=q.key, model="m", raw_output=text)


def test_multiple_choice_records():
    ds = MELD()
    q0, q1 = ds.load(FIX / "meld_mc.jsonl")
    assert (q0.ground_truth, q1.ground_truth) == ("E", "G")
    content = ds.build_messages(q1)[0]["content"]
    assert "- Joey: I got the part!" in content and "G. surprise" in content
    assert ds.grade(q1, reply(q1, "She is amazed.\n**Answer: G**")).score == 1.0
    assert ds.grade(q0, reply(q0, "Answer: E")).score == 1.0
    assert ds.grade(q0, reply(q0, "Answer: D")).score == 0.0


def test_official_release_csv():
    ds = MELD()
    qs = ds.load(FIX / "test_sent_emo.csv")
    assert [q.id for q in qs] == ["dia0_utt0", "dia0_utt1", "dia0_utt2", "dia1_utt0"]
    assert [q.ground_truth for q in qs] == ["G", "A", "E", "E"]
    assert qs[2].metadata["history"] == [qs[0].text, qs[1].text]
    assert qs[3].metadata["history"] == []  # a new dialogue starts a new history
    assert ds.grade(qs[1], reply(qs[1], "Sarcastic irritation. Answer: A")).score == 1.0


def test_csv_without_release_columns(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Utterance,Speaker\nhi,A\n")
    with pytest.raises(DatasetError, match="Emotion"):
        MELD().load(bad)


from routerbench_core.testing.datasets import DatasetConformance  # noqa: E402


class TestMELDConformance(DatasetConformance):
    dataset_name = "meld"
    fixture = FIX / "meld_mc.jsonl"
    expects_hub = False
    good_answers = {"0": "Answer: E", "1": "Answer: G"}
    bad_answers = {"0": "Answer: A", "1": "Answer: E"}
