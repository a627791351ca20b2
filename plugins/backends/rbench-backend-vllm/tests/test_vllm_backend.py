"""rbench-backend-vllm against a faithful fake of the vllm API (and the real one on a GPU).

The fake mirrors the parts of vllm the backend uses, with vllm's names and shapes: ``LLM(model,
**engine_args)`` with ``generate(prompts, sampling_params, use_tqdm=...)``, ``chat(...)`` and
``get_tokenizer()`` whose ``apply_chat_template(messages, tokenize=False,
add_generation_prompt=True)`` renders a template; ``SamplingParams`` (keyword-only, rejects
unknown fields, validates ranges); ``RequestOutput`` with ``prompt``, ``prompt_token_ids`` and
``outputs`` of ``CompletionOutput(index, text, token_ids, cumulative_logprob, logprobs,
finish_reason, stop_reason)``.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import rbench_backend_vllm.plugin as vllm_plugin
from rbench_backend_vllm.backend import VLLMBackend

from routerbench_core import GenerationRequest, ModelSpec, UnpricedModelError
from routerbench_core.testing import make_plugin_manager
from routerbench_core.testing.backends import BackendConformance

# -- the fake ------------------------------------------------------------------------------

@dataclass
class CompletionOutput:
    index: int
    text: str
    token_ids: list[int]
    cumulative_logprob: float | None
    logprobs: Any
    finish_reason: str | None = None
    stop_reason: int | str | None = None


@dataclass
class RequestOutput:
    request_id: str
    prompt: str
    prompt_token_ids: list[int]
    prompt_logprobs: Any
    outputs: list[CompletionOutput]
    finished: bool = True


class SamplingParams:
    _FIELDS = {"n": 1, "temperature": 1.0, "top_p": 1.0, "top_k": -1, "min_p": 0.0,
               "max_tokens": 16, "seed": None, "stop": None, "presence_penalty": 0.0,
               "frequency_penalty": 0.0, "repetition_penalty": 1.0}

    def __init__(self, **kwargs: Any) -> None:
        unknown = set(kwargs) - set(self._FIELDS)
        if unknown:
            raise TypeError(f"SamplingParams got unexpected keyword arguments {sorted(unknown)}")
        for key, default in self._FIELDS.items():
            setattr(self, key, kwargs.get(key, default))
        if self.temperature < 0:
            raise ValueError(f"temperature must be non-negative, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")


class Tokenizer:
    def encode(self, text: str) -> list[int]:
        return [hash(w) % 50_000 for w in text.split()]

    def apply_chat_template(self, conversation: list[dict[str, Any]], tokenize: bool = True,
                            add_generation_prompt: bool = False, **kwargs: Any) -> Any:
        text = "".join(f"<|{m['role']}|>{m['content']}<|end|>" for m in conversation)
        if kwargs.get("enable_thinking") is False:
            text += "<|nothink|>"
        if add_generation_prompt:
            text += "<|assistant|>"
        return text if not tokenize else self.encode(text)


@dataclass
class LLM:
    model: str
    engine_args: dict[str, Any] = field(default_factory=dict)
    calls: list[tuple[list[str], list[SamplingParams]]] = field(default_factory=list)
    instances: Any = None

    def __init__(self, model: str, **engine_args: Any) -> None:
        self.model, self.engine_args, self.calls = model, engine_args, []
        self.max_model_len = int(engine_args.get("max_model_len", 10_000))
        FAKE.instances.append(self)

    def get_tokenizer(self) -> Tokenizer:
        return Tokenizer()

    def generate(self, prompts: list[str] | str, sampling_params: Any = None,
                 use_tqdm: bool = True) -> list[RequestOutput]:
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        params = (sampling_params if isinstance(sampling_params, list)
                  else [sampling_params or SamplingParams()] * len(prompts))
        assert len(params) == len(prompts), "one SamplingParams per prompt"
        self.calls.append((prompts, params))
        tok = self.get_tokenizer()
        outputs = []
        for i, (prompt, sp) in enumerate(zip(prompts, params, strict=True)):
            ids = tok.encode(prompt)
            if len(ids) > self.max_model_len:
                raise ValueError(f"prompt length {len(ids)} exceeds max_model_len")
            user = prompt.rsplit("<|user|>", 1)[-1].split("<|end|>")[0]
            words = f"answer to {user}".split()[: sp.max_tokens]
            finish = "length" if len(f"answer to {user}".split()) > sp.max_tokens else "stop"
            outs = [CompletionOutput(index=k, text=" ".join(words), token_ids=list(range(len(words))),
                                     cumulative_logprob=-1.0, logprobs=None, finish_reason=finish)
                    for k in range(sp.n)]
            outputs.append(RequestOutput(request_id=str(i), prompt=prompt, prompt_token_ids=ids,
                                         prompt_logprobs=None, outputs=outs))
        time.sleep(0.01)
        return outputs

    def chat(self, messages: Any, sampling_params: Any = None, use_tqdm: bool = True,
             **kwargs: Any) -> list[RequestOutput]:
        convs = messages if messages and isinstance(messages[0], list) else [messages]
        tok = self.get_tokenizer()
        return self.generate([tok.apply_chat_template(c, tokenize=False,
                                                      add_generation_prompt=True) for c in convs],
                             sampling_params, use_tqdm)


FAKE = types.SimpleNamespace(instances=[])


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("vllm")
    module.__spec__ = importlib.machinery.ModuleSpec("vllm", None)
    module.LLM, module.SamplingParams = LLM, SamplingParams
    module.RequestOutput, module.CompletionOutput = RequestOutput, CompletionOutput
    FAKE.instances = []
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


SPEC = ModelSpec(name="qwen", api_model="Qwen/Qwen2.5-0.5B-Instruct", gpu_hour_price=2.0)


def req(text: str, spec: ModelSpec = SPEC, **params: Any) -> GenerationRequest:
    return GenerationRequest(model=spec, query_key=text, params=params,
                             messages=[{"role": "system", "content": "be brief"},
                                       {"role": "user", "content": text}])


# -- tests ---------------------------------------------------------------------------------

def test_generation_uses_chat_template_sampling_params_and_token_counts(fake_vllm) -> None:
    backend = VLLMBackend(tensor_parallel_size=2, data_parallel_size=2, max_model_len=4096,
                          gpu_memory_utilization=0.8, engine_args={"enforce_eager": True})
    r = backend.generate(req("what is two plus two", temperature=0.0, top_p=0.9, max_tokens=3,
                             seed=5, n=2, timeout=30, reasoning_effort="low"))
    llm = FAKE.instances[0]
    assert llm.model == "Qwen/Qwen2.5-0.5B-Instruct"
    assert llm.engine_args == {"tensor_parallel_size": 2, "data_parallel_size": 2,
                               "max_model_len": 4096, "gpu_memory_utilization": 0.8,
                               "enforce_eager": True}
    prompts, params = llm.calls[0]
    assert prompts[0] == ("<|system|>be brief<|end|><|user|>what is two plus two<|end|>"
                          "<|assistant|>")
    sp = params[0]
    assert (sp.temperature, sp.top_p, sp.max_tokens, sp.seed, sp.n) == (0.0, 0.9, 3, 5, 2)
    assert r.ok and r.raw_output == "answer to what"
    assert r.prompt_tokens == len(prompts[0].split())
    assert r.completion_tokens == 3 * 2  # both samples' tokens
    assert r.metadata["finish_reason"] == "length" and len(r.metadata["choices"]) == 2
    assert backend.n_gpus == 4


def test_gpu_hour_cost_is_shared_by_tokens_and_stated(fake_vllm) -> None:
    backend = VLLMBackend(tensor_parallel_size=2, batch_size=8)
    import asyncio

    out = asyncio.run(backend.agenerate_many([req("a"), req("b c d e f g h")]))
    assert {r.cost_source for r in out} == {"gpu-hours"}
    elapsed = out[0].metadata["batch_latency_s"]
    assert sum(r.cost for r in out) == pytest.approx(elapsed / 3600 * 2 * 2.0)
    assert out[1].cost > out[0].cost  # more tokens, bigger share
    assert "2 GPU(s) × $2.0/GPU-hour" in backend.cost_note(SPEC)


def test_free_and_unpriced(fake_vllm) -> None:
    free = VLLMBackend(free=True).generate(req("x", spec=ModelSpec(name="m")))
    assert (free.cost, free.cost_source) == (0.0, "free")
    with pytest.raises(UnpricedModelError, match="gpu_hour_price"):
        VLLMBackend().generate(req("x", spec=ModelSpec(name="m")))
    unknown = VLLMBackend(allow_unpriced=True).generate(req("x", spec=ModelSpec(name="m")))
    assert unknown.ok and unknown.cost is None


def test_batches_and_failure_isolation(fake_vllm) -> None:
    import asyncio

    backend = VLLMBackend(batch_size=3, max_model_len=10, gpu_hour_price=1.0)
    requests = [req(f"q{i}") for i in range(7)]
    requests[4] = req("far too long a prompt for this tiny context window indeed")

    async def run() -> list[tuple[int, Any]]:
        return [pair async for pair in backend.astream(requests)]

    pairs = asyncio.run(run())
    assert sorted(p for p, _ in pairs) == list(range(7))
    by_pos = dict(pairs)
    assert not by_pos[4].ok and "max_model_len" in by_pos[4].error and by_pos[4].cost is None
    assert all(by_pos[i].ok for i in range(7) if i != 4)
    sizes = [len(p) for p, _ in FAKE.instances[0].calls]
    assert sizes[:2] == [3, 3] and sizes[-1] == 1  # batch of 3, 3 (then retried alone), 1


def test_one_engine_per_backend(fake_vllm) -> None:
    backend = VLLMBackend(free=True)
    backend.generate(req("a"))
    with pytest.raises(Exception, match="one backend per model"):
        backend.generate(req("b", spec=ModelSpec(name="other", api_model="x/other", free=True)))


def test_cache_identity_has_output_changing_engine_options(fake_vllm) -> None:
    a = VLLMBackend(dtype="bfloat16", tensor_parallel_size=2).cache_identity()
    b = VLLMBackend(dtype="float16", tensor_parallel_size=2).cache_identity()
    assert a["backend"] == "vllm" and a != b
    assert "tensor_parallel_size" not in a


def test_collect_end_to_end_with_vllm_and_cache(fake_vllm, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "rbench_test_collect_support",
        Path(__file__).parents[4] / "tests" / "test_collect_support.py")
    if spec is None or not Path(spec.origin or "").exists():
        pytest.skip("core test helpers not found beside this plugin")
    support = importlib.util.module_from_spec(spec)
    assert spec.loader
    spec.loader.exec_module(support)
    from routerbench_core.testing import Store, collect, collect_and_grade, parse_run_config

    host = make_plugin_manager(load_entrypoints=False,
                               extra_plugins=[vllm_plugin, support.TOY_PLUGIN])
    cfg = parse_run_config({
        "models": [{"name": "qwen", "backend": "vllm", "api_model": "Qwen/Qwen2.5-0.5B-Instruct",
                    "max_tokens": 8, "temperature": 0, "gpu_hour_price": 1.5,
                    "options": {"tensor_parallel_size": 1, "batch_size": 4}}],
        "datasets": [{"name": "toyadd", "options": {"n": 10}}],
        "run": {"bench": "v"},
    })
    with Store(tmp_path / "v.db") as store:
        report = collect_and_grade(cfg, host, store)
        assert report.asked == 10 and report.failed == 0
        assert "GPU-hour" in report.models[0].cost_note
        assert [len(p) for p, _ in FAKE.instances[0].calls] == [4, 4, 2]
        rows = list(store.responses("v"))
        assert {r.cost_source for r in rows} == {"gpu-hours"}
        assert len(list(store.grades("v"))) == 10
        two = parse_run_config({
            "models": [{"name": n, "backend": "vllm", "api_model": f"org/{n}", "free": True}
                       for n in ("small", "large")],
            "datasets": [{"name": "toyadd", "options": {"n": 3}}], "run": {"bench": "two"},
        })
        FAKE.instances.clear()
        collect(two, host, store)
        assert [llm.model for llm in FAKE.instances] == ["org/small", "org/large"]
        assert {r.model for r in store.responses("two")} == {"small", "large"}
        FAKE.instances.clear()
        again = collect(cfg.model_copy(update={"run": cfg.run.model_copy(
            update={"bench": "v2"})}), host, store)
        assert again.models[0].from_cache == 10
        assert FAKE.instances == []  # the cached re-run never started an engine


def test_rbench_list_reports_missing_vllm() -> None:
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    host = make_plugin_manager(load_entrypoints=False, extra_plugins=[vllm_plugin])
    assert host.get("backend", "vllm").status == "missing dependency: vllm"
    from routerbench_core.testing import run_cli

    out = run_cli("list", "backends", "--json")
    rows = {r["name"]: r for r in json.loads(out.stdout) if r["kind"] == "backend"}
    if "vllm" not in rows:
        pytest.skip("rbench-backend-vllm is not installed (pip install -e) in this environment")
    assert rows["vllm"]["status"] == "missing dependency: vllm"


# -- the real thing ------------------------------------------------------------------------

@pytest.mark.vllm
@pytest.mark.gpu
def test_real_vllm_generates() -> None:
    if importlib.util.find_spec("vllm") is None:
        pytest.skip("vllm is not installed")
    model = os.environ.get("RBENCH_VLLM_TEST_MODEL")
    if not model:
        pytest.skip("set RBENCH_VLLM_TEST_MODEL to a local model path or cached hub id")
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    backend = VLLMBackend(gpu_hour_price=1.0, max_model_len=2048, gpu_memory_utilization=0.5)
    spec = ModelSpec(name="real", api_model=model)
    r = backend.generate(req("Say hello.", spec=spec, temperature=0.0, max_tokens=16))
    assert r.ok and r.raw_output and r.prompt_tokens and r.completion_tokens
    assert r.cost and r.cost_source == "gpu-hours"


def test_cli_flags_for_vllm(fake_vllm, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location(
        "rbench_test_collect_support",
        Path(__file__).parents[4] / "tests" / "test_collect_support.py")
    if spec is None or not Path(spec.origin or "").exists():
        pytest.skip("core test helpers not found beside this plugin")
    support = importlib.util.module_from_spec(spec)
    assert spec.loader
    spec.loader.exec_module(support)
    from routerbench_core.testing import State, Store, build_app

    host = make_plugin_manager(load_entrypoints=False,
                               extra_plugins=[vllm_plugin, support.TOY_PLUGIN])
    db = tmp_path / "cli.db"
    with pytest.raises(SystemExit) as exc:
        build_app(host)(args=["--store", str(db), "collect", "--backend", "vllm", "--model",
                              "org/tiny", "--gpu-hour-price", "3", "--dataset", "toyadd",
                              "--limit", "4", "--no-progress"],
                        obj=State(host=host), prog_name="rbench")
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "4 asked, 0 failed" in out and "$3.0/GPU-hour" in out
    assert FAKE.instances[0].model == "org/tiny"
    with Store(db) as store:
        assert {r.cost_source for r in store.responses("collected")} == {"gpu-hours"}
        assert store.models("collected")[0].name == "org--tiny"


class TestVLLMConformance(BackendConformance):
    """The backend contract, on the faithful fake of the vllm API (no HTTP: the fault-injection
    check is the kit's to skip; failure isolation is tested above)."""

    uses_http = False

    @pytest.fixture(autouse=True)
    def _fake_vllm(self, fake_vllm: types.ModuleType) -> None:
        return None

    def make_backend(self, server: Any) -> VLLMBackend:
        return VLLMBackend(gpu_hour_price=1.0)

    def model_spec(self) -> ModelSpec:
        return ModelSpec(name="conformance-model", api_model="Qwen/Qwen2.5-0.5B-Instruct",
                         gpu_hour_price=2.0)
