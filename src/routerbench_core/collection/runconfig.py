"""The collection run config (YAML), validated with pydantic.

It follows the seed project's collector config — ``models`` (name, provider model id, base URL,
API-key variable, sampling parameters, reasoning effort, extra body, prices), ``datasets``
(with splits) and ``run`` options — so an existing config ports by renaming little. Unknown keys
are errors (a misspelt ``temprature`` must not silently fall back to a default), and every error
names the file and the key path, e.g. ``run.yaml: models[1].top_p: Input should be ≤ 1``.

API keys are never written in the config or the store: ``api_key_env`` names the variable.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from routerbench_core.schema import ModelSpec

DEFAULT_BENCH = "collected"


class RunConfigError(ValueError):
    """The run config is invalid; the message names the file and the key."""


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_base_url(value: str) -> str:
    """An ``http(s)://host[:port]/...`` URL, or a ValueError saying what is wrong with it."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        if not parts.scheme:
            raise ValueError(f"{value!r} is not a URL; give e.g. http://localhost:8000/v1")
        raise ValueError(f"{value!r} uses {parts.scheme}://; rbench talks to OpenAI-compatible "
                         "APIs over http:// or https:// only")
    if not parts.hostname:
        raise ValueError(f"{value!r} has no host; give e.g. http://localhost:8000/v1")
    return value


def check_env_var_name(value: str) -> str:
    """The NAME of an environment variable; a value that looks like the key itself is refused
    without repeating it (an error message must never echo a secret)."""
    if _ENV_NAME.match(value):
        return value
    hint = "sk-..." if value.startswith("sk-") else f"{len(value)} characters"
    raise ValueError(
        f"expected the name of an environment variable holding the API key (e.g. "
        f"OPENAI_API_KEY), got a value that is not a variable name ({hint}; not shown, in "
        "case it is the key itself). Put the key in a variable and name the variable here"
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Pricing(_Strict):
    """The seed project's ``pricing`` block (USD per million tokens)."""

    prompt_price_per_million: float | None = Field(default=None, ge=0)
    completion_price_per_million: float | None = Field(default=None, ge=0)
    cached_prompt_price_per_million: float | None = Field(default=None, ge=0)


class ModelConfig(_Strict):
    """One model to collect: how to reach it, how to sample it and what it costs."""

    name: str = Field(min_length=1, description="The model's name in the bench (no '/').")
    backend: str = "openai"
    api_model: str | None = Field(
        default=None, validation_alias=AliasChoices("api_model", "api_model_name"),
        description="The provider's model id (default: name).",
    )
    base_url: str | None = None
    api_key_env: str | None = Field(
        default=None, validation_alias=AliasChoices("api_key_env", "api_key"),
        description="Name of the environment variable holding the API key.",
    )
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, gt=0)
    seed: int | None = None
    n: int | None = Field(default=None, ge=1)
    stop: list[str] | None = None
    timeout: float | None = Field(default=None, gt=0)
    reasoning_effort: str | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(
        default_factory=dict, description="Other request parameters, passed through."
    )
    input_price: float | None = Field(default=None, ge=0)
    output_price: float | None = Field(default=None, ge=0)
    cached_input_price: float | None = Field(default=None, ge=0)
    request_price: float = Field(default=0.0, ge=0)
    pricing: Pricing | None = None
    gpu_hour_price: float | None = Field(
        default=None, ge=0, description="vLLM: USD per GPU-hour; cost = GPU time × this."
    )
    free: bool = Field(default=False, description="Cost is knowingly $0 (e.g. own hardware).")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Backend options (retries, tensor_parallel_size, ...)."
    )
    description: str | None = None
    size: str | None = None

    @field_validator("name")
    @classmethod
    def _name_ok(cls, value: str) -> str:
        if "/" in value:
            raise ValueError(
                f"{value!r} contains '/'; put the provider id in api_model and give the model a "
                "plain name"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _url_ok(cls, value: str | None) -> str | None:
        if value is not None:
            check_base_url(value)
        return value

    @field_validator("api_key_env")
    @classmethod
    def _env_name_ok(cls, value: str | None) -> str | None:
        if value is not None:
            check_env_var_name(value)
        return value

    @model_validator(mode="after")
    def _prices(self) -> ModelConfig:
        if self.pricing is not None:
            if self.input_price is not None or self.output_price is not None:
                raise ValueError("give either pricing or input_price/output_price, not both")
            self.input_price = self.pricing.prompt_price_per_million
            self.output_price = self.pricing.completion_price_per_million
            if self.cached_input_price is None:
                self.cached_input_price = self.pricing.cached_prompt_price_per_million
        if (self.input_price is None) != (self.output_price is None):
            raise ValueError("give both input_price and output_price (USD per million tokens)")
        if self.free:
            priced = [k for k in ("input_price", "output_price", "cached_input_price",
                                  "gpu_hour_price") if getattr(self, k) is not None]
            if self.request_price:
                priced.append("request_price")
            if priced:
                raise ValueError(
                    f"free: true says this model costs $0, but {', '.join(priced)} "
                    "is also given; remove free (to use the prices) or the prices"
                )
        return self

    def sampling_params(self) -> dict[str, Any]:
        """What goes into each request: sampling parameters, extra params and extra body."""
        out: dict[str, Any] = {}
        for key in ("temperature", "top_p", "max_tokens", "seed", "n", "stop",
                    "reasoning_effort", "timeout"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out.update(self.params)
        if self.extra_body:
            out["extra_body"] = dict(self.extra_body)
        return out

    def spec(self) -> ModelSpec:
        """The bench's record of this model (never the key itself, only its variable name)."""
        extra: dict[str, Any] = {"backend": self.backend, "api_model": self.api_model or self.name}
        if self.base_url:
            extra["base_url"] = self.base_url
        if self.cached_input_price is not None:
            extra["cached_input_price"] = self.cached_input_price
        if self.gpu_hour_price is not None:
            extra["gpu_hour_price"] = self.gpu_hour_price
        if self.free:
            extra["free"] = True
        return ModelSpec(
            name=self.name, input_price=self.input_price, output_price=self.output_price,
            request_price=self.request_price, description=self.description, size=self.size,
            **extra,
        )

    def backend_options(self) -> dict[str, Any]:
        """Constructor options for the backend serving this model."""
        opts: dict[str, Any] = {}
        if self.base_url:
            opts["base_url"] = self.base_url
        if self.api_key_env:
            opts["api_key_env"] = self.api_key_env
        if self.gpu_hour_price is not None:
            opts["gpu_hour_price"] = self.gpu_hour_price
        if self.free:
            opts["free"] = True
        opts.update(self.options)
        return opts


class DatasetConfig(_Strict):
    """A dataset to collect, from a dataset plugin."""

    name: str = Field(min_length=1, validation_alias=AliasChoices("name", "dataset_id"))
    splits: list[str] | None = None
    data_file: Path | None = None
    limit: int | None = Field(default=None, gt=0)
    options: dict[str, Any] = Field(default_factory=dict)


class RunOptions(_Strict):
    """How to run: where to store, how hard to push, what to re-ask."""

    bench: str = Field(default=DEFAULT_BENCH, min_length=1)
    store: Path | None = None
    concurrency: int = Field(default=16, ge=1, le=4096)
    limit: int | None = Field(
        default=None, gt=0,
        description="At most this many queries per dataset split.",
    )
    refresh: bool = Field(
        default=False, validation_alias=AliasChoices("refresh", "overwrite"),
        description="Ignore cached answers and ask again (the new answers replace them).",
    )
    allow_unpriced: bool = False
    grade: bool = True
    progress: bool = True
    kind: Literal["bench"] = "bench"

    @field_validator("bench")
    @classmethod
    def _bench_name_ok(cls, value: str) -> str:
        from routerbench_core.data.store import StoreError, validate_bench_name

        try:
            validate_bench_name(value)
        except StoreError as exc:
            raise ValueError(str(exc)) from None
        return value


class RunConfig(_Strict):
    """A whole collection run: models × datasets, and the run options."""

    models: list[ModelConfig] = Field(min_length=1)
    datasets: list[DatasetConfig] = Field(min_length=1)
    run: RunOptions = Field(default_factory=RunOptions)

    @model_validator(mode="after")
    def _unique(self) -> RunConfig:
        seen: set[str] = set()
        for i, m in enumerate(self.models):
            if m.name in seen:
                raise ValueError(f"models[{i}].name: model {m.name!r} is listed twice")
            seen.add(m.name)
        return self


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def format_validation_error(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        loc = _loc(tuple(p for p in err["loc"] if p not in ("function-after",)))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs/collecting.md for the keys)"
        lines.append(f"{source}: {loc}: {msg}")
    return "\n".join(lines)


#: Seed-project keys with no rbench equivalent, and what to do instead.
_SEED_ONLY = {
    "cache": "rbench caches every request in the store's request_cache table; remove this "
             "section (use run.refresh / --refresh to bypass the cache)",
    "run.output_dir": "rbench writes to the store; use run.store (or --store) instead",
    "run.log_level": "remove it (rbench prints a progress bar and a summary)",
}


def _port_seed_keys(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Accept the seed collector's spellings that mean the same thing; refuse, with what to do,
    the ones that do not."""
    data = dict(data)
    run = dict(data.get("run") or {}) if isinstance(data.get("run"), dict) else data.get("run")
    for dotted, hint in _SEED_ONLY.items():
        head, _, tail = dotted.partition(".")
        holder = data if not tail else (run if isinstance(run, dict) else {})
        if (tail or head) in holder:
            raise RunConfigError(f"{source}: {dotted}: not used by rbench; {hint}")
    if isinstance(run, dict) and "demo_limit" in run and "demo_mode" not in run:
        raise RunConfigError(f"{source}: run.demo_limit: applies only with demo_mode: true "
                             "(as in the seed collector); or use run.limit")
    if isinstance(run, dict) and "demo_mode" in run:
        # seed semantics: demo_limit applies only when demo_mode is on
        demo = run.pop("demo_mode")
        limit = run.pop("demo_limit", 10)
        if demo and "limit" not in run:
            run["limit"] = limit
    if isinstance(run, dict):
        data["run"] = run
    models = data.get("models")
    if isinstance(models, list):
        ported = []
        for i, m in enumerate(models):
            if isinstance(m, dict) and "generator_type" in m:
                m = dict(m)
                kind = m.pop("generator_type")
                if kind != "direct":
                    raise RunConfigError(
                        f"{source}: models[{i}].generator_type: {kind!r} is not supported; "
                        "rbench collects text chat answers (generator_type: direct)"
                    )
            ported.append(m)
        data["models"] = ported
    return data


def parse_run_config(data: Any, source: str = "run config") -> RunConfig:
    """Validate an already-parsed mapping; errors name ``source`` and the key path."""
    if not isinstance(data, dict):
        raise RunConfigError(f"{source}: expected a mapping with models, datasets and run; "
                             f"got {type(data).__name__}")
    data = _port_seed_keys(data, source)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise RunConfigError(format_validation_error(exc, source)) from None


def load_run_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML run config."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RunConfigError(f"cannot read run config {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RunConfigError(f"{path}:{where}: not valid YAML: "
                             f"{getattr(exc, 'problem', None) or exc}") from None
    return parse_run_config(data, str(path))
