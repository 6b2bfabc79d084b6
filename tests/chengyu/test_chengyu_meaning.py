"""Meaning similarity: the dense explanation vectors persist across processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from zhiyan.chengyu.meaning import DenseMeaning

CONTEXT = "他做事总是多此一举，结果（成语），把事情弄得更糟。"
WORDS = ["画蛇添足", "锦上添花", "一丝不苟"]


def test_explanation_vectors_are_kept_across_runs(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "idiom-vectors.sqlite3"
    first = DenseMeaning(cache).similarities(CONTEXT, WORDS)
    assert cache.exists()

    # a later run (a new DenseMeaning on the same file) embeds no explanation again
    again = DenseMeaning(cache)

    def refuse(texts: list[str]) -> np.ndarray:
        raise AssertionError(f"embedded again: {texts}")

    monkeypatch.setattr(again._e5, "passages", refuse)
    assert again.similarities(CONTEXT, WORDS) == pytest.approx(first, abs=1e-6)
    # the idiom that fits the context scores highest (the vectors are real ones)
    assert max(range(3), key=first.__getitem__) == 0



def test_an_unwritable_cache_still_gives_similarities(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    dense = DenseMeaning(blocker / "idiom-vectors.sqlite3")  # its folder cannot be made
    assert dense.similarities(CONTEXT, WORDS) == pytest.approx(
        DenseMeaning(None).similarities(CONTEXT, WORDS), abs=1e-6)


def test_warming_fills_the_cache_so_a_later_cloze_embeds_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "idiom-vectors.sqlite3"
    seen: list[int] = []
    DenseMeaning(cache).warm(WORDS, batch=2, progress=seen.append)
    assert seen == [2, 1]  # committed a batch at a time

    later = DenseMeaning(cache)

    def refuse(texts: list[str]) -> np.ndarray:
        raise AssertionError(f"embedded again: {texts}")

    monkeypatch.setattr(later._e5, "passages", refuse)
    scores = later.similarities(CONTEXT, WORDS)
    assert max(range(3), key=scores.__getitem__) == 0


def test_warming_without_a_cache_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError, match="could not be opened"):
        DenseMeaning(blocker / "idiom-vectors.sqlite3").warm(WORDS)
