"""Embedding the query, not the template: a dataset's shared few-shot prefix and instruction
suffix are stripped before embedding (RouterBench prompts share 1.2k+ leading characters)."""

from __future__ import annotations

import numpy as np

from routerbench_core.embedding.base import MIN_TEMPLATE_CHARS, query_views
from routerbench_core.routing.evaluate import _EmbeddingTable

SHOTS = "Answer the question.\n\nQ: 1+1?\nA) 2\nB) 3\nAnswer: A\n\nQ: 2+2?\nA) 5\nB) 4\nAnswer: B\n\n"
TAIL = "\nPrint only a single choice from A or B without explanation.\nAnswer:"


def test_shared_prefix_and_suffix_are_stripped_per_dataset() -> None:
    texts = [SHOTS + "Q: capital of France?\nA) Paris\nB) Rome" + TAIL,
             SHOTS + "Q: colour of the sky?\nA) blue\nB) green" + TAIL,
             "Write a function to reverse a list.", "Write a function to sort a list."]
    views = query_views(texts, ["arc", "arc", "mbpp", "mbpp"])
    assert views[texts[0]] == "capital of France?\nA) Paris\nB) Rome"
    assert views[texts[1]] == "colour of the sky?\nA) blue\nB) green"
    # a shared prefix shorter than the threshold ("Write a function to ") is kept
    assert len("Write a function to ") < MIN_TEMPLATE_CHARS
    assert views[texts[2]] == texts[2] and views[texts[3]] == texts[3]


def test_cut_never_splits_a_word_and_identical_texts_survive() -> None:
    common = "x" * 40 + " shared words then sp"
    texts = [common + "ecific one", common + "ecial two", common + "ecial two"]
    views = query_views(texts, ["d"] * 3)
    assert views[texts[0]] == "specific one" and views[texts[1]] == "special two"
    only = query_views(["one lonely prompt " * 5], ["d"])
    assert only == {"one lonely prompt " * 5: "one lonely prompt " * 5}


class _Recorder:
    cache_id = "recorder"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts):  # noqa: ANN001, ANN201
        self.seen.extend(texts)
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_evaluator_embeds_query_views_but_serves_by_full_text() -> None:
    texts = [SHOTS + "Q: a?" + TAIL, SHOTS + "Q: bb?" + TAIL]
    rec = _Recorder()
    table = _EmbeddingTable(rec, None, texts, ["d", "d"], "query")  # type: ignore[arg-type]
    vectors = table.lookup()(texts)
    assert sorted(rec.seen) == ["a?", "bb?"]  # embedded longest first
    assert vectors.shape == (2, 2)
    full = _Recorder()
    _EmbeddingTable(full, None, texts, ["d", "d"], "full").lookup()(texts)  # type: ignore[arg-type]
    assert sorted(full.seen) == sorted(texts)
