"""The `[knowledge]` settings table (env: ZHIYAN_KNOWLEDGE__KEY)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class KnowledgeSettings(BaseModel):
    #: dense embeddings (multilingual-e5-small); off = BM25 only, faster ingest, less RAM
    embeddings: bool = True
    #: CPU threads for the embedding model
    embed_threads: int = Field(default=2, ge=1)
    #: chunk size in characters (a Chinese character or a letter each count one)
    chunk_chars: int = Field(default=400, ge=50)
    #: candidates each retriever contributes before reciprocal-rank fusion
    candidates: int = Field(default=50, ge=5)
    #: the k of reciprocal-rank fusion (higher flattens the rank weights)
    rrf_k: int = Field(default=60, ge=1)
    #: "adaptive": embed the query and search vectors only when BM25 is unsure (its top chunk
    #: lacks a question word or barely beats the next); "always": fuse both for every query
    dense: Literal["adaptive", "always"] = "adaptive"
    #: adaptive: BM25 is sure when its top chunk holds this share of the question's
    #: IDF-weighted words ... (both chosen on CMRC questions 0-499, docs/benchmarks.md)
    confident_coverage: float = Field(default=0.4, ge=0.0, le=1.0)
    #: ... and its BM25 score is at least this many times the runner-up's
    confident_margin: float = Field(default=1.1, ge=1.0)
    #: longest query accepted, in characters
    max_query_chars: int = Field(default=2000, ge=10)
    #: largest file the upload endpoint accepts, in bytes
    max_upload_bytes: int = Field(default=20_000_000, ge=1024)
    #: documents written per transaction while ingesting files
    batch_size: int = Field(default=32, ge=1)
