"""MODEL-SAT's causal-LM backbone on a tiny randomly initialised Llama built in the test (no
download): the capability soft prompt + instruction -> Yes/No path trains, routes, and learns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from rbench_router_model_sat.router import ModelSATRouter  # noqa: E402

from routerbench_core import RouterError  # noqa: E402
from routerbench_core.testing import (
    Evaluator,  # noqa: E402
    HashingEmbedder,  # noqa: E402
)
from routerbench_core.testing.synthetic import make_synthetic_bench  # noqa: E402


def _tiny_lm(path: Path, texts: list[str]) -> str:
    import torch
    from rbench_router_model_sat.lm_backbone import INQUIRY
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    split = pre_tokenizers.Whitespace().pre_tokenize_str
    words = {"[PAD]", "[UNK]", "Yes", "No", "Instruction"}
    for t in [*texts, INQUIRY]:
        words.update(w for w, _ in split(t))
    vocab = {w: i for i, w in enumerate(sorted(words))}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="[PAD]", unk_token="[UNK]")
    fast.save_pretrained(path)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                      max_position_embeddings=256, pad_token_id=vocab["[PAD]"])
    LlamaForCausalLM(cfg).save_pretrained(path)
    return str(path)


def test_causal_lm_backbone_trains_and_routes(tmp_path: Path) -> None:
    bench = make_synthetic_bench(n_clusters=2, n_models=2, queries_per_cluster=60, seed=4)
    ev = Evaluator(bench.matrix, seeds=(42,), embedder=HashingEmbedder())
    train, valid, test = ev.views(42)
    lm_path = _tiny_lm(tmp_path / "tiny", list(bench.matrix.texts))
    router = ModelSATRouter(ev.context(42), backbone="causal-lm", backbone_model=lm_path,
                            core_tasks=4, shots=10, max_steps=150, eval_every=25, patience=6,
                            lm_lr=3e-3, lr=3e-3, lm_batch_size=32, max_length=32)
    router.fit(train, valid)
    assert router.lm_net is not None and router.net is None
    proba = router.predict_proba(test)
    assert proba.shape == (len(test), 2) and ((proba >= 0) & (proba <= 1)).all()
    choice = router.route(test).choice
    # chance is 0.5; the tiny LM must pick up the topic -> expert mapping
    assert np.mean(choice == bench.expert[ev.split(42).test]) >= 0.75
    assert router.describe()["backbone"] == "causal-lm"


def test_causal_lm_backbone_needs_a_local_model() -> None:
    bench = make_synthetic_bench(seed=1)
    ev = Evaluator(bench.matrix, seeds=(42,), embedder=HashingEmbedder())
    with pytest.raises(RouterError, match="backbone_model"):
        ModelSATRouter(ev.context(42), backbone="causal-lm")
    train, valid, _ = ev.views(42)
    router = ModelSATRouter(ev.context(42), backbone="causal-lm",
                            backbone_model="/nonexistent/model", core_tasks=4, shots=5)
    with pytest.raises(RouterError, match="offline"):
        router.fit(train, valid)
