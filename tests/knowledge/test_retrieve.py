"""The retrieval policy (dense side only when BM25 is unsure) and the embedding caches, with
a deterministic stand-in embedder that counts its calls; real-model behaviour is in
test_hybrid.py."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.embed import CachedEmbedder, Embedder
from zhiyan.knowledge.retrieve import HybridRetriever
from zhiyan.knowledge.settings import KnowledgeSettings
from zhiyan.knowledge.store import SQLiteStore
from zhiyan.knowledge.types import Document


class CountingEmbedder(Embedder):
    """Vectors from a hash of the text; 'kitten' is placed next to the cat passage."""

    model = "counting"
    dim = 8

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.passage_calls = 0

    @staticmethod
    def _vector(text: str) -> np.ndarray:
        key = "cat" if "kitten" in text or "feline" in text else text
        seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(CountingEmbedder.dim)
        return (v / np.linalg.norm(v)).astype(np.float32)

    def passages(self, texts: list[str]) -> np.ndarray:
        self.passage_calls += len(texts)
        return np.stack([self._vector(t) for t in texts])

    def query(self, text: str) -> np.ndarray:
        self.queries.append(text)
        return self._vector(text)


DOCS = [
    Document(id="cat", title="Cats", text="Small domesticated felines purr and hunt mice."),
    Document(id="rain", title="Weather", text="Heavy rainfall floods the valley in April."),
    Document(id="bread", title="Baking", text="Knead the dough and bake the loaf at dawn."),
    Document(id="bread2", title="Bakery", text="A bakery sells the loaf each dawn."),
]


def make(tmp_path: Path, policy: str) -> tuple[KnowledgeBase, CountingEmbedder]:
    embedder = CountingEmbedder()
    kb = KnowledgeBase(SQLiteStore(tmp_path / f"{policy}.sqlite3", embed_model=embedder.model),
                       embedder, KnowledgeSettings(dense=policy))
    kb.add_many([Document(**d.__dict__) for d in DOCS])
    return kb, embedder


def test_adaptive_skips_the_embedding_only_when_bm25_is_sure(tmp_path: Path) -> None:
    kb, embedder = make(tmp_path, "adaptive")
    # Every word of the question in one chunk, far ahead of the rest: BM25 alone.
    assert kb.search_sync("heavy rainfall floods valley", 3)[0].doc_id == "rain"
    assert embedder.queries == []
    # No shared word: BM25 finds nothing, the dense side must run and finds the cat.
    hits = kb.search_sync("kitten", 3)
    assert embedder.queries == ["kitten"] and hits[0].doc_id == "cat"
    assert hits[0].bm25 is None and hits[0].cosine is not None
    # Two chunks match about equally ("loaf", "dawn"): not confident, dense side runs too.
    kb.search_sync("loaf dawn", 3)
    assert embedder.queries[-1] == "loaf dawn"
    kb.close()


def test_always_runs_the_dense_side(tmp_path: Path) -> None:
    kb, embedder = make(tmp_path, "always")
    hits = kb.search_sync("heavy rainfall floods valley", 3)
    assert embedder.queries == ["heavy rainfall floods valley"]
    assert hits[0].doc_id == "rain" and hits[0].cosine is not None
    kb.close()


def test_confidence_rule() -> None:
    retriever = HybridRetriever.__new__(HybridRetriever)
    retriever.confident_coverage, retriever.confident_margin = 1.0, 1.5
    assert retriever.confident([(1, 9.0), (2, 3.0)], 1.0)
    assert not retriever.confident([(1, 9.0), (2, 8.0)], 1.0)  # runner-up too close
    assert not retriever.confident([(1, 9.0), (2, 3.0)], 0.6)  # a question word missing
    assert retriever.confident([(1, 9.0)], 1.0)
    assert not retriever.confident([], 1.0)
    with pytest.raises(ValueError):
        HybridRetriever(None, None, dense="sometimes")  # type: ignore[arg-type]


def test_cached_embedder_embeds_each_text_once_across_runs(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    cache = CachedEmbedder(inner, tmp_path / "vectors.sqlite3")
    first = cache.passages(["a", "b", "a"])
    assert inner.passage_calls == 2
    cache.close()
    again = CachedEmbedder(inner, tmp_path / "vectors.sqlite3")
    second = again.passages(["b", "a", "c"])
    assert inner.passage_calls == 3  # only "c" is new
    np.testing.assert_array_equal(second[0], first[1])
    np.testing.assert_array_equal(second[1], first[0])
    assert again.model == inner.model and again.dim == inner.dim
    again.close()


def test_common_terms_are_dropped_when_rarer_ones_remain(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import zhiyan.knowledge.store as store

    kb = KnowledgeBase.open(tmp_path / "kb.sqlite3", KnowledgeSettings(embeddings=False))
    kb.add_many([Document(id="a", title="A", text="loaf"),
                 Document(id="b", title="B", text="loaf dough"),
                 Document(id="c", title="C", text="loaf rye")]
                + [Document(id=f"x{i}", title=f"X{i}", text=f"filler{i}") for i in range(12)])
    assert {h.doc_id for h in kb.search_sync("loaf rye", 5)} == {"a", "b", "c"}
    monkeypatch.setattr(store, "COMMON_TERM_CHUNKS", 2)  # "loaf" is in 3 chunks: common
    assert [h.doc_id for h in kb.search_sync("loaf rye", 5)] == ["c"]
    assert {h.doc_id for h in kb.search_sync("loaf", 5)} == {"a", "b", "c"}  # nothing rarer
    kb.close()


@pytest.mark.anyio
async def test_an_index_from_an_older_segmenter_is_rebuilt_on_open(tmp_path: Path) -> None:
    """Stores written before English stemming still find "prevent" in "prevents" once
    reopened: the BM25 tokens are rebuilt from the chunk text."""
    path = tmp_path / "kb.sqlite3"
    base = KnowledgeBase.open(path, KnowledgeSettings(embeddings=False))
    base.add_many([Document(id="malaria", title="Malaria", lang="en",
                            text="Sleeping under a treated bed net prevents it.")])
    base.close()
    old = sqlite3.connect(path)  # what an older zhiyan wrote: words unstemmed, no version
    old.execute("UPDATE kb_fts SET tokens = 'malaria sleeping under a treated bed net"
                " prevents it'")
    old.execute("DELETE FROM kb_state WHERE key = 'segmenter'")
    old.commit()
    old.close()
    base = KnowledgeBase.open(path, KnowledgeSettings(embeddings=False))
    try:
        hits = await base.search("how can I prevent malaria", k=3)
        assert hits and hits[0].doc_id == "malaria" and hits[0].coverage == 1.0
    finally:
        base.close()
