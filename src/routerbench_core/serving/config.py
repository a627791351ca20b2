"""The serve config (``rbench serve ARTEFACT --config serve.yaml``).

Example::

    models:                          # every pool model the server may call
      llama3-chatqa-1.5-70b:
        base_url: https://integrate.api.nvidia.com/v1
        api_key_env: NVIDIA_API_KEY
        api_model: nvidia/llama3-chatqa-1.5-70b      # the provider's id (default: the name)
      mixtral-8x7b-instruct:
        base_url: http://127.0.0.1:8000/v1           # a vLLM server
        input_price: 0.6                              # USD / 1M tokens (default: the artefact's)
        output_price: 0.6
    allow: [llama3-chatqa-1.5-70b, mixtral-8x7b-instruct]   # default: every configured model
    max_fallbacks: 2                 # next-best models tried after a 429/5xx/timeout
    upstream_timeout_s: 60           # per call to a model
    request_timeout_s: 120           # whole request, fallbacks included
    max_concurrency: 64              # requests being answered at once; the rest wait
    keys:                            # client keys (Authorization: Bearer ...), with budgets
      team-a: {key_env: TEAM_A_KEY, budget_usd: 5.0}
    record_text: false               # store query/answer texts (else only their hash)
    shadow: null                     # a second pool model asked too, for later comparison
    embed_cache: 100000              # query embeddings kept in memory

Every model must be in the artefact's pool and have a price (in the artefact or here): a served
request's cost is always known, never $0 by omission.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from routerbench_core.schema import ModelSpec


class ServeConfigError(ValueError):
    """The serve config is invalid; the message names the file and field."""


class ModelRoute(BaseModel):
    """How to reach one pool model."""

    model_config = ConfigDict(extra="forbid")

    backend: str = "openai"
    base_url: str | None = None
    api_key_env: str | None = None
    api_model: str | None = None
    input_price: float | None = Field(default=None, ge=0)
    output_price: float | None = Field(default=None, ge=0)
    free: bool = False
    max_retries: int = Field(default=0, ge=0)
    options: dict[str, Any] = Field(default_factory=dict)


class ClientKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_env: str
    budget_usd: float | None = Field(default=None, ge=0)


class ServeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: dict[str, ModelRoute]
    allow: list[str] | None = None
    max_fallbacks: int = Field(default=2, ge=0)
    upstream_timeout_s: float = Field(default=60.0, gt=0)
    request_timeout_s: float = Field(default=120.0, gt=0)
    max_concurrency: int = Field(default=64, ge=1)
    keys: dict[str, ClientKey] = Field(default_factory=dict)
    record_text: bool = False
    shadow: str | None = None
    embed_cache: int = Field(default=100_000, ge=0)
    #: server processes sharing the port (``--workers``); see serving/workers.py
    workers: int = Field(default=1, ge=1, le=256)
    #: with several workers, how often each re-reads the keys' spend from the store
    budget_sync_s: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> ServeConfig:
        if not self.models:
            raise ValueError("models: configure at least one pool model")
        for name in self.allow or []:
            if name not in self.models:
                raise ValueError(f"allow: {name!r} is not configured under models")
        if self.shadow is not None and self.shadow not in self.models:
            raise ValueError(f"shadow: {self.shadow!r} is not configured under models")
        return self

    @property
    def allowed(self) -> list[str]:
        return list(self.allow) if self.allow is not None else list(self.models)

    def specs(self, pool: list[ModelSpec]) -> dict[str, ModelSpec]:
        """The configured models' specs: the artefact's, with prices and ids from here."""
        by_name = {m.name: m for m in pool}
        out: dict[str, ModelSpec] = {}
        for name, route in self.models.items():
            if name not in by_name:
                raise ServeConfigError(
                    f"models: {name!r} is not in the artefact's pool "
                    f"({', '.join(by_name)}); the router can only choose pool models"
                )
            data = by_name[name].model_dump()
            for key in ("input_price", "output_price"):
                if getattr(route, key) is not None:
                    data[key] = getattr(route, key)
            if route.api_model:
                data["api_model"] = route.api_model
            if route.free:
                data["free"] = True
            spec = ModelSpec.model_validate(data)
            if not spec.priced and not route.free:
                raise ServeConfigError(
                    f"models: {name!r} has no price in the artefact or the config; add "
                    "input_price/output_price (USD per million tokens), or free: true for "
                    "your own hardware"
                )
            out[name] = spec
        return out


def load_config(path: str | Path | None, raw: dict[str, Any] | None = None) -> ServeConfig:
    """Parse the YAML file at ``path`` (or ``raw``) with one clear error on bad input."""
    import yaml

    where = str(path) if path is not None else "serve config"
    if raw is None:
        if path is None:
            raise ServeConfigError("--config is required: it maps each pool model to a backend")
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ServeConfigError(f"{where}: file not found") from None
        except yaml.YAMLError as exc:
            raise ServeConfigError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ServeConfigError(f"{where}: expected a mapping with a 'models' section")
    try:
        return ServeConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ServeConfigError(f"{where}: field {field!r}: {first['msg']}") from None
