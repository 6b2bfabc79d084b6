"""The values the knowledge base hands around: documents, versions, hits, write results."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

WriteStatus = Literal["added", "replaced", "unchanged", "deleted", "rolled_back"]


@dataclass
class Document:
    """A document as given to the knowledge base."""

    id: str
    title: str
    text: str
    lang: str = "und"
    source: str = ""

    def content_hash(self) -> str:
        """Same hash ⇔ same content: re-ingesting it is a no-op."""
        payload = json.dumps([self.title, self.text, self.lang, self.source], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class DocumentInfo:
    id: str
    title: str
    source: str
    lang: str
    version: int
    updated_at: str
    chunks: int
    text: str | None = None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "id": self.id, "title": self.title, "source": self.source, "lang": self.lang,
            "version": self.version, "updated_at": self.updated_at, "chunks": self.chunks,
        }
        if self.text is not None:
            data["text"] = self.text
        return data


@dataclass
class VersionInfo:
    version: int
    action: str
    title: str
    lang: str
    source: str
    content_hash: str
    created_at: str
    current: bool = False


@dataclass
class WriteResult:
    doc_id: str
    version: int
    status: WriteStatus


@dataclass
class Hit:
    """One retrieved chunk. `score` is the fused (reciprocal-rank) score, higher is better."""

    doc_id: str
    title: str
    version: int
    chunk_id: int
    text: str
    score: float
    source: str
    lang: str
    #: BM25 score (higher is better) when the chunk matched the full-text query
    bm25: float | None = None
    #: cosine similarity to the query when dense retrieval ran
    cosine: float | None = None
    #: IDF-weighted share of the query's tokens found in this chunk (0..1): is it relevant
    coverage: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "doc_id": self.doc_id, "title": self.title, "version": self.version,
            "chunk_id": self.chunk_id, "text": self.text, "score": round(self.score, 6),
            "source": self.source, "lang": self.lang,
            "bm25": None if self.bm25 is None else round(self.bm25, 4),
            "cosine": None if self.cosine is None else round(self.cosine, 4),
            "coverage": round(self.coverage, 4),
        }
