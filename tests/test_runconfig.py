"""The YAML run config: the seed project's keys, strict validation, errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from routerbench_core.collection.backends import request_hash
from routerbench_core.collection.runconfig import RunConfigError, load_run_config, parse_run_config

SEED_STYLE = """
models:
  - name: gemini-2.5-flash
    api_model_name: google/gemini-2.5-flash
    base_url: https://openrouter.ai/api/v1
    api_key: OPENROUTER_API_KEY
    temperature: 0.2
    top_p: 1.0
    timeout: 600
    reasoning_effort: medium
    extra_body:
      usage: {include: true}
      provider: {only: ['deepinfra/fp8'], allow_fallbacks: false}
    pricing:
      prompt_price_per_million: 0.10
      completion_price_per_million: 0.50
  - name: qwen-local
    backend: vllm
    api_model: Qwen/Qwen2.5-0.5B-Instruct
    max_tokens: 512
    seed: 7
    gpu_hour_price: 2.5
    options: {tensor_parallel_size: 2}
datasets:
  - dataset_id: hle
    splits: ["test"]
  - name: aime
    limit: 5
run:
  overwrite: false
  concurrency: 32
  demo_mode: true
  demo_limit: 100
"""


def test_seed_project_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(SEED_STYLE)
    cfg = load_run_config(path)
    gem, qwen = cfg.models
    assert gem.api_model == "google/gemini-2.5-flash" and gem.api_key_env == "OPENROUTER_API_KEY"
    assert (gem.input_price, gem.output_price) == (0.10, 0.50)
    params = gem.sampling_params()
    assert params["reasoning_effort"] == "medium" and params["timeout"] == 600
    assert params["extra_body"]["provider"]["only"] == ["deepinfra/fp8"]
    spec = gem.spec()
    assert spec.priced and spec.model_extra["api_model"] == "google/gemini-2.5-flash"
    assert not any("api_key" in k for k in spec.model_dump())  # only the variable's name
    assert gem.backend_options()["api_key_env"] == "OPENROUTER_API_KEY"
    assert qwen.backend == "vllm" and qwen.backend_options() == {
        "gpu_hour_price": 2.5, "tensor_parallel_size": 2}
    assert [d.name for d in cfg.datasets] == ["hle", "aime"] and cfg.datasets[0].splits == ["test"]
    assert cfg.run.concurrency == 32 and cfg.run.limit == 100 and cfg.run.refresh is False
    assert cfg.run.bench == "collected"


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"models": [{"name": "a", "temprature": 0.1}]}, r"models\[0\]\.temprature: unknown key"),
        ({"models": [{"name": "a", "top_p": 1.5}]}, r"models\[0\]\.top_p: Input should be less"),
        ({"models": [{"name": "a/b"}]}, r"models\[0\]\.name: .*contains '/'"),
        ({"models": [{"name": "a", "input_price": 1}]}, r"models\[0\]: .*both input_price"),
        ({"models": [{"name": "a"}, {"name": "a"}]}, r"listed twice"),
        ({"models": []}, r"models: List should have at least 1"),
        ({"run": {"concurency": 3}}, r"run\.concurency: unknown key"),
        ({"run": {"concurrency": 0}}, r"run\.concurrency: Input should be greater"),
        ({"datasets": [{"splits": ["test"]}]}, r"datasets\[0\]\.name: Field required"),
    ],
)
def test_invalid_config_names_the_key(patch: dict, expected: str) -> None:
    data = {"models": [{"name": "m"}], "datasets": [{"name": "d"}], **patch}
    with pytest.raises(RunConfigError, match=expected) as exc:
        parse_run_config(data, "run.yaml")
    assert str(exc.value).startswith("run.yaml: ")


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("models:\n  - name: a\n   bad: [\n")
    with pytest.raises(RunConfigError, match=r"bad\.yaml: line \d+"):
        load_run_config(path)
    with pytest.raises(RunConfigError, match="cannot read run config"):
        load_run_config(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(RunConfigError, match="expected a mapping"):
        load_run_config(tmp_path / "list.yaml")


def test_cache_key_covers_output_params_only() -> None:
    ident = {"backend": "openai", "base_url": "http://x/v1"}
    msgs = [{"role": "user", "content": "hi"}]
    base = request_hash(ident, "m", msgs, {"temperature": 0.0})
    assert base == request_hash(ident, "m", msgs, {"temperature": 0.0, "timeout": 5})
    assert base == request_hash(ident, "m", msgs, {"temperature": 0.0,
                                                   "extra_body": {"usage": {"include": True}}})
    assert base != request_hash(ident, "m", msgs, {"temperature": 0.1})
    assert base != request_hash(ident, "m", msgs, {"temperature": 0.0, "seed": 1})
    assert base != request_hash(ident, "m2", msgs, {"temperature": 0.0})
    assert base != request_hash({**ident, "base_url": "http://y/v1"}, "m", msgs,
                                {"temperature": 0.0})
    assert base != request_hash(ident, "m", [{"role": "user", "content": "hi!"}],
                                {"temperature": 0.0})
    assert base != request_hash(ident, "m", msgs, {"temperature": 0.0,
                                                   "extra_body": {"provider": {"only": ["a"]}}})
    assert base != request_hash(ident, "m", msgs, {"temperature": 0.0,
                                                   "reasoning_effort": "high"})


def test_seed_demo_limit_applies_only_in_demo_mode() -> None:
    base = {"models": [{"name": "m", "generator_type": "direct"}], "datasets": [{"name": "d"}]}
    off = parse_run_config({**base, "run": {"demo_mode": False, "demo_limit": 5}})
    assert off.run.limit is None
    on = parse_run_config({**base, "run": {"demo_mode": True}})
    assert on.run.limit == 10  # the seed's default demo_limit


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"cache": {"enabled": True}}, r"cache: not used by rbench; .*request_cache"),
        ({"run": {"output_dir": "./results"}}, r"run\.output_dir: .*run\.store"),
        ({"run": {"demo_limit": 3}}, r"run\.demo_limit: applies only with demo_mode"),
        ({"models": [{"name": "e", "generator_type": "embedding"}]},
         r"models\[0\]\.generator_type: 'embedding' is not supported"),
    ],
)
def test_seed_only_keys_say_what_to_do(patch: dict, expected: str) -> None:
    data = {"models": [{"name": "m"}], "datasets": [{"name": "d"}], **patch}
    with pytest.raises(RunConfigError, match=expected):
        parse_run_config(data, "seed.yaml")
