"""Dense retrieval with the real multilingual-e5 model (short texts keep it fast): finds
paraphrases BM25 cannot, across languages, and vectors are reused on rollback."""

from __future__ import annotations

from pathlib import Path

from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.settings import KnowledgeSettings
from zhiyan.knowledge.types import Document


def test_hybrid_finds_paraphrase_and_follows_writes(tmp_path: Path) -> None:
    kb = KnowledgeBase.open(tmp_path / "kb.sqlite3", KnowledgeSettings(embeddings=True))
    kb.add_many([
        Document(id="cat", title="Cats", text="Cats are small domesticated felines."),
        Document(id="rain", title="Weather", text="Heavy rainfall floods the valley in April."),
        Document(id="bread", title="Baking", text="Knead the dough and bake the loaf."),
    ])
    assert kb.store.counts()["vectors"] == 3
    hits = kb.search_sync("kitten", 3)  # no shared word: only the embedding can match
    assert hits[0].doc_id == "cat" and hits[0].bm25 is None and hits[0].cosine is not None
    assert kb.search_sync("下雨", 3)[0].doc_id == "rain"  # across languages

    kb.replace(Document(id="cat", title="Cats", text="Dogs bark at the postman."))
    assert all("felines" not in h.text for h in kb.search_sync("kitten", 3))
    kb.delete("bread")
    assert all(h.doc_id != "bread" for h in kb.search_sync("bake a loaf", 3))
    vectors = kb.store.counts()["vectors"]
    kb.rollback("cat", 1)
    assert kb.store.counts()["vectors"] == vectors  # nothing re-embedded
    assert kb.search_sync("kitten", 1)[0].doc_id == "cat"
    assert kb.search_sync("kitten", 3, lang="zh") == []
    kb.close()


def test_knowledge_and_idiom_meanings_share_one_e5_model(tmp_path: Path) -> None:
    """A server using both would otherwise hold two copies of the model in RAM."""
    from zhiyan.chengyu.meaning import DenseMeaning

    first = KnowledgeBase.open(tmp_path / "a.sqlite3", KnowledgeSettings(embeddings=True))
    second = KnowledgeBase.open(tmp_path / "b.sqlite3", KnowledgeSettings(embeddings=True))
    assert first.embedder is second.embedder is DenseMeaning()._e5
    first.close()
    second.close()
