"""Settings: one TOML file plus environment variables, with documented defaults.

Precedence, highest first: environment (`ZHIYAN_SECTION__KEY`, e.g. `ZHIYAN_ENGINE__MODEL`),
the TOML file (`--config`, else `$ZHIYAN_CONFIG`, else `./zhiyan.toml` if present), then the
defaults below. Every field is documented here; docs/configuration.md shows an example.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, Field, field_validator

SectionT = TypeVar("SectionT", bound=BaseModel)


class EngineSettings(BaseModel):
    #: "llamacpp" (in-process) or "openai" (a remote OpenAI-compatible server)
    backend: Literal["llamacpp", "openai"] = "llamacpp"
    #: a registry name (default, lite, tiny) or a path to any GGUF file
    model: str = "default"
    #: tokens one request may use (prompt + answer)
    context_size: int = Field(default=4096, ge=256)
    #: requests decoded together (continuous batching slots); "auto": 4, or 2 where this
    #: process may use under 3 GiB of memory (RAM or its cgroup's limit; see engine/sizing)
    parallel: Annotated[int, Field(ge=1, le=64)] | Literal["auto"] = "auto"
    #: CPU threads for llama.cpp
    threads: int = Field(default=2, ge=1)
    #: requests allowed to wait for a slot before new ones get 429
    max_waiting: int = Field(default=16, ge=0)
    #: host RAM llama.cpp may use to keep prompt caches of idle slots (MiB); its own default
    #: is 8 GiB, which alone would overrun a 2 GB machine
    prompt_cache_mib: int = Field(default=256, ge=0)
    #: prompt-lookup speculative decoding: up to this many tokens that followed the same
    #: 3 tokens earlier in the context are drafted and verified in one batch (llama.cpp
    #: "ngram-simple"). 4 makes answers copied from passages 12-19% faster to generate, but
    #: open-ended chat between 8% faster and 3% slower, and it changes some greedy chat
    #: answers (batched logits differ in the last bits), so 0 (off) is the default. Forced
    #: scoring (score_choices, score_pieces) is unaffected: one token per request
    lookup_draft: int = Field(default=0, ge=0, le=64)
    #: llama.cpp's own log lines (every request's slot and timings) on stderr; off, only
    #: its errors are shown, so `zhiyan chat` prints the answer and nothing else
    llama_logs: bool = False
    #: default answer length when a request names none
    default_max_tokens: int = Field(default=512, ge=1)
    #: for backend = "openai"
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key: str | None = None
    remote_model: str = "default"
    #: where assembled model files are cached (default: ~/.cache/zhiyan/models)
    cache_dir: Path | None = None


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    #: largest request body accepted, in bytes
    max_body_bytes: int = Field(default=1_000_000, ge=1024)


class StorageSettings(BaseModel):
    #: the SQLite database holding conversations, knowledge and queues
    #: (default: $XDG_DATA_HOME/zhiyan, i.e. ~/.local/share/zhiyan)
    data_dir: Path = Field(default_factory=lambda: _data_home() / "zhiyan")

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def database(self) -> Path:
        return self.data_dir / "zhiyan.sqlite3"


class Settings(BaseModel):
    engine: EngineSettings = Field(default_factory=EngineSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    #: sections owned by other parts of zhiyan (knowledge, sms, policy …), kept as given
    extra: dict[str, Any] = Field(default_factory=dict)

    def section(self, name: str, model: type[SectionT]) -> SectionT:
        """The `[name]` table validated by the owning module's own settings model.

        Lets each part of zhiyan (knowledge, sms, policy …) own its settings without
        this file knowing about them.
        """
        return model(**self.extra.get(name, {}))


ENV_PREFIX = "ZHIYAN_"


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key or key == "ZHIYAN_CONFIG":
            continue
        path = key[len(ENV_PREFIX):].lower().split("__")
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    if path is None and environ.get("ZHIYAN_CONFIG"):
        path = Path(environ["ZHIYAN_CONFIG"])
    if path is None and Path("zhiyan.toml").is_file():
        path = Path("zhiyan.toml")
    data: dict[str, Any] = {}
    if path is not None:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    data = _merge(data, _env_overrides(environ))
    known = {k: data.pop(k) for k in list(data) if k in Settings.model_fields and k != "extra"}
    return Settings(**known, extra=data)
