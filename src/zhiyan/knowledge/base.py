"""`KnowledgeBase`: the one object callers use — store, segmenter, embedder and retriever.

Writes are synchronous (call them from a worker thread in async code; the HTTP API's sync
endpoints already run in one); `search` is async and does its work off the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from zhiyan.knowledge.chunk import chunk_text
from zhiyan.knowledge.embed import Embedder, shared_e5
from zhiyan.knowledge.retrieve import HybridRetriever
from zhiyan.knowledge.segment import detect_lang, index_tokens
from zhiyan.knowledge.settings import KnowledgeSettings
from zhiyan.knowledge.store import (
    KnowledgeStore,
    PreparedChunk,
    PreparedDocument,
    Progress,
    SQLiteStore,
)
from zhiyan.knowledge.types import (
    Document,
    DocumentInfo,
    Hit,
    VersionInfo,
    WriteResult,
)

__all__ = ["Document", "Hit", "KnowledgeBase", "QueryError", "knowledge_for"]


class QueryError(ValueError):
    """An empty or oversized query: the caller gets a clear 400, not an empty answer."""


class DocumentNotFound(KeyError):
    pass


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class KnowledgeBase:
    def __init__(self, store: KnowledgeStore, embedder: Embedder | None = None,
                 settings: KnowledgeSettings | None = None) -> None:
        self.settings = settings or KnowledgeSettings()
        self.store = store
        self.embedder = embedder
        self.retriever = HybridRetriever(store, embedder, self.settings.candidates,
                                         self.settings.rrf_k, self.settings.dense,
                                         self.settings.confident_coverage,
                                         self.settings.confident_margin)

    @classmethod
    def open(cls, path: Path | str, settings: KnowledgeSettings | None = None) -> KnowledgeBase:
        settings = settings or KnowledgeSettings()
        embedder = shared_e5(settings.embed_threads) if settings.embeddings else None
        store = SQLiteStore(path, embed_model=embedder.model if embedder else "none")
        return cls(store, embedder, settings)

    def close(self) -> None:
        self.store.close()

    # -- writes ---------------------------------------------------------------------------

    @staticmethod
    def validate(doc: Document) -> None:
        """ValueError with a clear message for a document that cannot be stored."""
        if not doc.id or not doc.id.strip():
            raise ValueError("a document needs a non-empty id")
        if any(unicodedata.category(ch) == "Cc" for ch in doc.id):
            # a newline or tab in an id could not be typed into a URL or a CLI argument
            raise ValueError(f"document id {doc.id!r} contains a control character")
        if not doc.title.strip():
            raise ValueError(f"document {doc.id!r} has no title")
        if not doc.text.strip():
            raise ValueError(f"document {doc.id!r} has no text")

    def _settle(self, doc: Document) -> None:
        """Validate, and detect the language where none is given: the content hash covers
        the language, so this comes before any comparison with what is stored."""
        self.validate(doc)
        if not doc.lang or doc.lang == "und":
            doc.lang = detect_lang(doc.text)

    def prepare(self, doc: Document) -> PreparedDocument:
        self._settle(doc)
        return self._chunk(doc)

    def _chunk(self, doc: Document) -> PreparedDocument:
        chunks = []
        for piece in chunk_text(doc.text, self.settings.chunk_chars):
            chunks.append(PreparedChunk(
                text=piece, text_hash=text_hash(f"{doc.title}\n{piece}"),
                tokens=index_tokens(doc.title, piece)))
        return PreparedDocument(doc, doc.content_hash(), chunks)

    def _embed(self, prepared: list[PreparedDocument]) -> dict[str, np.ndarray]:
        if self.embedder is None:
            return {}
        texts: dict[str, str] = {}
        for p in prepared:
            for c in p.chunks:
                texts[c.text_hash] = f"{p.doc.title}\n{c.text}"
        missing = sorted(self.store.missing_vectors(texts))
        if not missing:
            return {}
        vectors = self.embedder.passages([texts[h] for h in missing])
        return dict(zip(missing, vectors, strict=True))

    def add_many(self, docs: Iterable[Document],
                 progress: Progress | None = None) -> list[WriteResult]:
        """Add or replace documents in one transaction; unchanged content is a no-op."""
        docs = list(docs)
        current = self.store.current_hashes([d.id for d in docs])
        changed: dict[str, PreparedDocument] = {}
        for doc in docs:
            self._settle(doc)
            if current.get(doc.id) == doc.content_hash():
                # unchanged: no chunking or tokenizing; and it wins over an earlier
                # duplicate of its id in this batch, like any later duplicate
                changed.pop(doc.id, None)
                continue
            changed[doc.id] = self._chunk(doc)  # the last of duplicate ids in a batch wins
        vectors = self._embed(list(changed.values()))
        results = self.store.write(list(changed.values()), vectors, progress)
        written = {r.doc_id for r in results}
        for doc in docs:
            if doc.id not in written:
                info = self.store.get(doc.id, with_text=False)
                results.append(WriteResult(doc.id, info.version if info else 0, "unchanged"))
                written.add(doc.id)
        return results

    def add(self, doc: Document) -> WriteResult:
        return self.add_many([doc])[0]

    def replace(self, doc: Document) -> WriteResult:
        """A new version of an existing document (DocumentNotFound if there is none)."""
        if self.store.get(doc.id, with_text=False) is None:
            raise DocumentNotFound(doc.id)
        return self.add(doc)

    def delete(self, doc_id: str) -> WriteResult:
        result = self.store.delete(doc_id)
        if result is None:
            raise DocumentNotFound(doc_id)
        return result

    def rollback(self, doc_id: str, version: int) -> WriteResult:
        """Make an old version current again, as a new version (the audit trail only grows).

        Works for deleted documents too: rolling back restores them.
        """
        old = self.store.version_document(doc_id, version)
        if old is None:
            raise DocumentNotFound(f"{doc_id} version {version}")
        prepared = self.prepare(old)
        return self.store.write([prepared], self._embed([prepared]), action="rollback")[0]

    # -- reads ----------------------------------------------------------------------------

    def get(self, doc_id: str, with_text: bool = True) -> DocumentInfo | None:
        return self.store.get(doc_id, with_text)

    def list(self, q: str | None = None, lang: str | None = None, source: str | None = None,
             limit: int = 50, offset: int = 0) -> tuple[list[DocumentInfo], int]:
        return self.store.list(q, lang, source, limit, offset)

    def versions(self, doc_id: str) -> list[VersionInfo]:
        return self.store.versions(doc_id)

    def check_query(self, query: str) -> str:
        query = (query or "").strip()
        if not query:
            raise QueryError("the query is empty")
        if len(query) > self.settings.max_query_chars:
            raise QueryError(f"the query is longer than {self.settings.max_query_chars} "
                             "characters")
        return query

    def search_sync(self, query: str, k: int = 5, lang: str | None = None,
                    source: str | None = None) -> list[Hit]:
        query = self.check_query(query)
        if not 1 <= k <= 100:
            raise QueryError("k must be between 1 and 100")
        return self.retriever.search(query, k, lang or None, source or None)

    async def search(self, query: str, k: int = 5, lang: str | None = None,
                     source: str | None = None) -> list[Hit]:
        """Top-k chunks for `query`; runs in a worker thread (segmentation, embedding)."""
        return await asyncio.to_thread(self.search_sync, query, k, lang, source)


_create_lock = threading.Lock()


def knowledge_for(app: Any) -> KnowledgeBase:
    """The application's knowledge base, created on first use and cached on app.state."""
    kb = getattr(app.state, "knowledge", None)
    if kb is not None:
        return kb
    with _create_lock:
        kb = getattr(app.state, "knowledge", None)
        if kb is None:
            app_settings = app.state.settings
            kb = KnowledgeBase.open(app_settings.storage.database,
                                    app_settings.section("knowledge", KnowledgeSettings))
            app.state.knowledge = kb
    return kb
