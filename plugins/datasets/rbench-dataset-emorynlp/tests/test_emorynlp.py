"""EmoryNLP: both source formats, prompt with history, letter extraction and scoring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rbench_dataset_emorynlp.dataset import EmoryNLP

from routerbench_core import DatasetError, Response

FIX = Path(__file__).parent / "fixtures"


def reply(q, text):
    return Response(query_key=q.key, model="m", raw_output=text)


def test_multiple_choice_records():
    ds = EmoryNLP()
    q0, q1 = ds.load(FIX / "emorynlp_mc.jsonl")
    assert (q0.ground_truth, q1.ground_truth) == ("C", "F")
    content = ds.build_messages(q0)[0]["content"]
    assert "- Joey: Oh, c'mon" in content and "C. Neutral" in content and "one of ABCDEFG" in content
    assert "History:\n- \n\nUtterance:" in ds.build_messages(q1)[0]["content"]  # as the seed
    assert ds.grade(q0, reply(q0, "She is downplaying it calmly.\nAnswer: C")).score == 1.0
    assert ds.grade(q1, reply(q1, "He is heartbroken. Answer: (F)")).score == 1.0
    assert ds.grade(q1, reply(q1, "Answer: A")).score == 0.0
    assert ds.grade(q1, reply(q1, "Sad")).prediction is None


def test_official_release_json():
    ds = EmoryNLP()
    qs = ds.load(FIX / "emotion-detection-tst.json")
    assert [q.id for q in qs] == ["s01_e01_c01_u001", "s01_e01_c01_u002", "s01_e01_c01_u003"]
    assert [q.ground_truth for q in qs] == ["C", "E", "A"]  # Neutral, Powerful, Joyful
    assert qs[2].metadata["history"] == [qs[0].text, qs[1].text]
    assert qs[0].text.startswith("Monica Geller: ")
    assert ds.grade(qs[2], reply(qs[2], "A joke. Answer: A")).score == 1.0
    assert len(ds.load(FIX / "emotion-detection-tst.json", limit=2)) == 2


def test_unknown_emotion_is_rejected(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"episodes": [{"scenes": [{"scene_id": "c1", "utterances": [
        {"utterance_id": "u1", "speakers": ["A"], "transcript": "hi", "emotion": "Bored"}]}]}]}))
    with pytest.raises(DatasetError, match="Bored"):
        EmoryNLP().load(bad)


def test_no_hub_means_data_file_is_required():
    with pytest.raises(DatasetError, match="--data-file"):
        EmoryNLP().load()


from routerbench_core.testing.datasets import DatasetConformance  # noqa: E402


class TestEmoryNLPConformance(DatasetConformance):
    dataset_name = "emorynlp"
    fixture = FIX / "emorynlp_mc.jsonl"
    expects_hub = False
    good_answers = {"0": "Calm, matter-of-fact.\nAnswer: C", "1": "Answer: F"}
    bad_answers = {"0": "Answer: A", "1": "Answer: C"}
