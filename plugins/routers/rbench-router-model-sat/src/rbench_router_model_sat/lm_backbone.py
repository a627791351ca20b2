# ruff: noqa: TID253  (heavy implementation module: imported only when backbone=causal-lm)
"""MODEL-SAT's causal-LM backbone: a capability instruction read by a language model.

As in the paper, a *capability encoder* maps the model's capability vector (its aptitude-test
accuracies) into the LM's input space — here ``soft_tokens`` learned prompt vectors — and the
LM reads them followed by the instruction and a performance inquiry; P(correct) comes from its
next-token logits for " Yes" versus " No", trained with soft-target BCE. The LM is fine-tuned
with a small learning rate. Meant for a GPU; it runs on CPU, slowly.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import nn

from routerbench_core import RouterError

INQUIRY = "\nCan the model described above answer this instruction correctly? Answer:"


def load_causal_lm(name: str, device: torch.device) -> tuple[Any, Any]:
    """(tokenizer, model) from a local path or the Hugging Face cache, never the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise RouterError("model-sat backbone=causal-lm needs the transformers package") from exc
    try:
        tok = AutoTokenizer.from_pretrained(name, local_files_only=True)
        lm = AutoModelForCausalLM.from_pretrained(name, local_files_only=True)
    except Exception as exc:  # transformers raises OSError/ValueError/... for a missing model
        raise RouterError(
            f"model-sat: cannot load causal LM {name!r} offline ({exc}); pass "
            "backbone_model=<local path> of a model already downloaded"
        ) from exc
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.unk_token
    return tok, lm.to(device)


def _answer_id(tok: Any, word: str) -> int:
    ids = tok(word, add_special_tokens=False)["input_ids"]
    if not ids:
        raise RouterError(f"model-sat: the tokenizer cannot encode {word!r}")
    return int(ids[0])


class CapabilityLM(nn.Module):
    """Capability encoder (vector -> soft prompt) + causal LM with a Yes/No read-out."""

    def __init__(self, tok: Any, lm: Any, n_tasks: int, soft_tokens: int, max_length: int) -> None:
        super().__init__()
        self.tok = tok
        self.lm = lm
        hidden = int(lm.get_input_embeddings().weight.shape[1])
        self.soft_tokens = soft_tokens
        self.encoder = nn.Sequential(nn.Linear(n_tasks, hidden), nn.GELU(),
                                     nn.Linear(hidden, soft_tokens * hidden))
        self.max_length = max_length
        self.yes = _answer_id(tok, " Yes")
        self.no = _answer_id(tok, " No")
        if self.yes == self.no:
            raise RouterError("model-sat: ' Yes' and ' No' map to the same token")

    def forward(self, texts: list[str], caps: torch.Tensor) -> torch.Tensor:
        """Logit of "Yes" over "No" for each (instruction, capability vector) pair."""
        dev = caps.device
        enc = self.tok([f"Instruction: {t}{INQUIRY}" for t in texts], return_tensors="pt",
                       padding=True, truncation=True, max_length=self.max_length)
        ids = enc["input_ids"].to(dev)
        mask = enc["attention_mask"].to(dev)
        emb = self.lm.get_input_embeddings()(ids)
        soft = self.encoder(caps).view(len(texts), self.soft_tokens, -1).to(emb.dtype)
        inputs = torch.cat([soft, emb], dim=1)
        full_mask = torch.cat([torch.ones(len(texts), self.soft_tokens, dtype=mask.dtype,
                                          device=dev), mask], dim=1)
        out = self.lm(inputs_embeds=inputs, attention_mask=full_mask).logits
        if self.tok.padding_side == "left":
            last = out[:, -1, :]
        else:
            idx = full_mask.sum(1) - 1
            last = out[torch.arange(len(texts), device=dev), idx]
        return (last[:, self.yes] - last[:, self.no]).float()


def pair_logits(net: CapabilityLM, texts: list[str], caps: np.ndarray, device: torch.device,
                batch: int) -> np.ndarray:
    """(n, M) logits for every query × capability vector, in batches of pairs, no grad."""
    n, m = len(texts), len(caps)
    capt = torch.as_tensor(caps, dtype=torch.float32, device=device)
    out = np.zeros((n, m), dtype=np.float32)
    qi, mi = np.divmod(np.arange(n * m), m)
    with torch.no_grad():
        for s in range(0, n * m, batch):
            q, j = qi[s : s + batch], mi[s : s + batch]
            out[q, j] = net([texts[i] for i in q], capt[j]).cpu().numpy()
    return out
