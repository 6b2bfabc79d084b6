"""Where knowledge lives. `KnowledgeStore` is the interface callers depend on; `SQLiteStore`
is the embedded default (one SQLite file, WAL, FTS5 for BM25, vectors as float32 blobs).

A PostgreSQL + pgvector store implements the same methods; nothing above this file changes.

Every write is one transaction: a document is at its old version or its new one, never half,
even when the process is killed mid-ingest.
"""

from __future__ import annotations

import abc
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zhiyan.knowledge.segment import SEGMENTER_VERSION, index_tokens
from zhiyan.knowledge.types import Document, DocumentInfo, VersionInfo, WriteResult
from zhiyan.storage.db import connect, migrate


@dataclass
class PreparedChunk:
    text: str
    text_hash: str
    #: space-separated BM25 tokens
    tokens: str


@dataclass
class PreparedDocument:
    """A document already chunked, tokenized and embedded: writing it does no slow work."""

    doc: Document
    content_hash: str
    chunks: list[PreparedChunk]


@dataclass
class Progress:
    """Where a large ingest stands, committed together with the documents it covers."""

    fingerprint: str
    path: str
    records_done: int
    finished: bool = False


@dataclass
class ChunkRow:
    chunk_id: int
    doc_id: str
    title: str
    version: int
    text: str
    source: str
    lang: str
    tokens: str


@dataclass
class VectorRows:
    """Live chunks with vectors newer than some chunk id, for the in-memory dense index."""

    ids: np.ndarray
    vectors: np.ndarray
    langs: list[str]
    sources: list[str]


class KnowledgeStore(abc.ABC):
    """Storage of documents, versions, chunks, the BM25 index and vectors."""

    embed_model: str

    @abc.abstractmethod
    def current_hashes(self, doc_ids: list[str]) -> dict[str, str]:
        """content_hash of the current version of each existing document."""

    @abc.abstractmethod
    def missing_vectors(self, text_hashes: Iterable[str]) -> set[str]:
        """Which chunk texts have no stored vector yet."""

    @abc.abstractmethod
    def write(self, docs: list[PreparedDocument], vectors: dict[str, np.ndarray],
              progress: Progress | None = None, action: str = "add") -> list[WriteResult]:
        """Add or replace documents (new versions), atomically, with the progress mark.

        `action` "rollback" records the new versions as rollbacks in the audit trail."""

    @abc.abstractmethod
    def delete(self, doc_id: str) -> WriteResult | None:
        """Remove a document from retrieval; its versions stay for audit. None if absent."""

    @abc.abstractmethod
    def version_document(self, doc_id: str, version: int) -> Document | None: ...

    @abc.abstractmethod
    def get(self, doc_id: str, with_text: bool = True) -> DocumentInfo | None: ...

    @abc.abstractmethod
    def list(self, q: str | None, lang: str | None, source: str | None, limit: int,
             offset: int) -> tuple[list[DocumentInfo], int]: ...

    @abc.abstractmethod
    def versions(self, doc_id: str) -> list[VersionInfo]: ...

    @abc.abstractmethod
    def bm25(self, terms: list[str], n: int, lang: str | None, source: str | None,
             frequencies: tuple[int, dict[str, int]] | None = None) -> list[tuple[int, float]]:
        """(chunk id, score) best first; higher score is better. `frequencies`: the
        caller's `doc_frequencies(terms)`, when it already has them."""

    @abc.abstractmethod
    def doc_frequencies(self, terms: list[str]) -> tuple[int, dict[str, int]]:
        """(live chunks, chunks containing each term) — absent terms are left out."""

    @abc.abstractmethod
    def chunks(self, chunk_ids: list[int]) -> dict[int, ChunkRow]: ...

    @abc.abstractmethod
    def generation(self) -> int:
        """Changes on every write, from any process."""

    @abc.abstractmethod
    def vectors_since(self, after_id: int) -> VectorRows: ...

    @abc.abstractmethod
    def live_chunk_ids(self) -> np.ndarray: ...

    @abc.abstractmethod
    def progress(self, fingerprint: str) -> Progress | None: ...

    @abc.abstractmethod
    def counts(self) -> dict[str, int]: ...

    @abc.abstractmethod
    def close(self) -> None: ...


# Terms found in more than this share of chunks, or in more than this many chunks, are
# dropped from the BM25 query when rarer terms remain: they barely change the ranking, but an
# OR query scores every posting of every term, so at 100k chunks a question's few common
# words (年, 月, 进行 ...) cost most of its time. Measured at 100k chunks (CMRC questions plus
# CHID distractors): the 2,000-chunk cap cut BM25 p50/p95 from 12/60 ms to 5/13 ms, with
# recall@5 97.3% -> 97.7% on questions 0-299 (where the cap was chosen) and 98.8% -> 98.6%
# on questions 500-999; up to 10k chunks it changes nothing (20% is the smaller bound).
COMMON_TERM_SHARE = 0.2
COMMON_TERM_CHUNKS = 2000


class SQLiteStore(KnowledgeStore):
    def __init__(self, path: Path | str, embed_model: str = "none") -> None:
        self.path = path
        self.embed_model = embed_model
        self._write = connect(path)
        migrate(self._write)
        self._read = connect(path)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._counted: tuple[int, int] = (-1, 0)  # (generation, live chunks)
        self._retokenize_if_stale()

    def _retokenize_if_stale(self) -> None:
        """Rebuild the BM25 tokens of every live chunk when the index was written by an
        older segmenter (see SEGMENTER_VERSION), in one transaction: a store killed halfway
        keeps its old index and redoes the work on the next open."""
        current = "SELECT value FROM kb_state WHERE key = 'segmenter'"
        row = self._read.execute(current).fetchone()
        if row is not None and row[0] == SEGMENTER_VERSION:
            return  # the usual case: no write lock taken on open
        with self._write_lock:
            conn = self._write
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(current).fetchone()  # another process may have done it
                if row is None or row[0] != SEGMENTER_VERSION:
                    for chunk_id, title, text in conn.execute(
                            "SELECT c.id, d.title, c.text FROM kb_chunks c"
                            " JOIN kb_documents d ON d.id = c.doc_id").fetchall():
                        conn.execute("UPDATE kb_fts SET tokens = ? WHERE rowid = ?",
                                     (index_tokens(title, text), chunk_id))
                    conn.execute(
                        "INSERT INTO kb_state(key, value) VALUES ('segmenter', ?)"
                        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        (SEGMENTER_VERSION,))
                    conn.execute(
                        "UPDATE kb_state SET value = value + 1 WHERE key = 'generation'")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # -- writes ---------------------------------------------------------------------------

    def current_hashes(self, doc_ids: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        with self._read_lock:
            for start in range(0, len(doc_ids), 500):
                part = doc_ids[start:start + 500]
                marks = ",".join("?" * len(part))
                for row in self._read.execute(
                    f"SELECT id, content_hash FROM kb_documents WHERE id IN ({marks})", part
                ):
                    out[row[0]] = row[1]
        return out

    def missing_vectors(self, text_hashes: Iterable[str]) -> set[str]:
        wanted = list(set(text_hashes))
        have: set[str] = set()
        with self._read_lock:
            for start in range(0, len(wanted), 500):
                part = wanted[start:start + 500]
                marks = ",".join("?" * len(part))
                have.update(row[0] for row in self._read.execute(
                    f"SELECT text_hash FROM kb_vectors WHERE model = ? AND text_hash IN ({marks})",
                    [self.embed_model, *part]))
        return set(wanted) - have

    def write(self, docs: list[PreparedDocument], vectors: dict[str, np.ndarray],
              progress: Progress | None = None, action: str = "add") -> list[WriteResult]:
        results = []
        with self._write_lock:
            conn = self._write
            conn.execute("BEGIN IMMEDIATE")
            try:
                for text_hash, vector in vectors.items():
                    conn.execute(
                        "INSERT OR IGNORE INTO kb_vectors(text_hash, model, vector) VALUES (?,?,?)",
                        (text_hash, self.embed_model, np.asarray(vector, np.float32).tobytes()))
                for prepared in docs:
                    results.append(self._write_one(conn, prepared, action))
                if progress is not None:
                    conn.execute(
                        "INSERT INTO kb_ingest_progress(fingerprint, path, records_done, finished)"
                        " VALUES (?,?,?,?) ON CONFLICT(fingerprint) DO UPDATE SET"
                        " records_done = excluded.records_done, finished = excluded.finished,"
                        " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
                        (progress.fingerprint, progress.path, progress.records_done,
                         int(progress.finished)))
                if any(r.status != "unchanged" for r in results):
                    self._bump(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return results

    def _write_one(self, conn: sqlite3.Connection, prepared: PreparedDocument,
                   action: str) -> WriteResult:
        doc = prepared.doc
        row = conn.execute("SELECT version, content_hash FROM kb_documents WHERE id = ?",
                           (doc.id,)).fetchone()
        if row is not None and row[1] == prepared.content_hash:
            return WriteResult(doc.id, row[0], "unchanged")
        last = conn.execute("SELECT MAX(version) FROM kb_versions WHERE doc_id = ?",
                            (doc.id,)).fetchone()[0]
        version = (last or 0) + 1
        if action == "add":
            action = "replace" if row is not None else "add"
        conn.execute(
            "INSERT INTO kb_versions(doc_id, version, title, text, source, lang, content_hash,"
            " action) VALUES (?,?,?,?,?,?,?,?)",
            (doc.id, version, doc.title, doc.text, doc.source, doc.lang, prepared.content_hash,
             action))
        self._drop_chunks(conn, doc.id)
        conn.execute(
            "INSERT INTO kb_documents(id, title, source, lang, version, content_hash)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET title = excluded.title,"
            " source = excluded.source, lang = excluded.lang, version = excluded.version,"
            " content_hash = excluded.content_hash,"
            " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
            (doc.id, doc.title, doc.source, doc.lang, version, prepared.content_hash))
        for seq, chunk in enumerate(prepared.chunks):
            cursor = conn.execute(
                "INSERT INTO kb_chunks(doc_id, version, seq, text, text_hash) VALUES (?,?,?,?,?)",
                (doc.id, version, seq, chunk.text, chunk.text_hash))
            conn.execute("INSERT INTO kb_fts(rowid, tokens) VALUES (?, ?)",
                         (cursor.lastrowid, chunk.tokens))
        status = {"add": "added", "replace": "replaced", "rollback": "rolled_back"}[action]
        return WriteResult(doc.id, version, status)  # type: ignore[arg-type]

    @staticmethod
    def _drop_chunks(conn: sqlite3.Connection, doc_id: str) -> None:
        conn.execute("DELETE FROM kb_fts WHERE rowid IN"
                     " (SELECT id FROM kb_chunks WHERE doc_id = ?)", (doc_id,))
        conn.execute("DELETE FROM kb_chunks WHERE doc_id = ?", (doc_id,))

    @staticmethod
    def _bump(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE kb_state SET value = value + 1 WHERE key = 'generation'")

    def delete(self, doc_id: str) -> WriteResult | None:
        with self._write_lock:
            conn = self._write
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT title, source, lang, content_hash FROM kb_documents"
                                   " WHERE id = ?", (doc_id,)).fetchone()
                if row is None:
                    conn.execute("ROLLBACK")
                    return None
                last = conn.execute("SELECT MAX(version) FROM kb_versions WHERE doc_id = ?",
                                    (doc_id,)).fetchone()[0]
                conn.execute(
                    "INSERT INTO kb_versions(doc_id, version, title, text, source, lang,"
                    " content_hash, action) VALUES (?,?,?,'',?,?,?,'delete')",
                    (doc_id, last + 1, row[0], row[1], row[2], row[3]))
                self._drop_chunks(conn, doc_id)
                conn.execute("DELETE FROM kb_documents WHERE id = ?", (doc_id,))
                self._bump(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return WriteResult(doc_id, last + 1, "deleted")

    # -- reads ----------------------------------------------------------------------------

    def _query(self, sql: str, params: Iterable[object] = ()) -> list[sqlite3.Row]:
        with self._read_lock:
            return self._read.execute(sql, tuple(params)).fetchall()

    def version_document(self, doc_id: str, version: int) -> Document | None:
        rows = self._query("SELECT title, text, lang, source, action FROM kb_versions"
                           " WHERE doc_id = ? AND version = ?", (doc_id, version))
        if not rows or rows[0]["action"] == "delete":
            return None
        r = rows[0]
        return Document(id=doc_id, title=r["title"], text=r["text"], lang=r["lang"],
                        source=r["source"])

    _INFO = ("SELECT d.id, d.title, d.source, d.lang, d.version, d.updated_at,"
             " (SELECT COUNT(*) FROM kb_chunks c WHERE c.doc_id = d.id) AS chunks")

    def get(self, doc_id: str, with_text: bool = True) -> DocumentInfo | None:
        rows = self._query(self._INFO + " FROM kb_documents d WHERE d.id = ?", (doc_id,))
        if not rows:
            return None
        info = DocumentInfo(**dict(rows[0]))
        if with_text:
            text = self._query("SELECT text FROM kb_versions WHERE doc_id = ? AND version = ?",
                               (doc_id, info.version))
            info.text = text[0][0]
        return info

    def list(self, q: str | None, lang: str | None, source: str | None, limit: int,
             offset: int) -> tuple[list[DocumentInfo], int]:
        where, params = [], []
        if q:
            escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("(d.title LIKE ? ESCAPE '\\' OR d.id LIKE ? ESCAPE '\\')")
            params += [f"%{escaped}%", f"%{escaped}%"]
        if lang:
            where.append("d.lang = ?")
            params.append(lang)
        if source:
            where.append("d.source = ?")
            params.append(source)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        total = self._query("SELECT COUNT(*) FROM kb_documents d" + clause, params)[0][0]
        rows = self._query(self._INFO + " FROM kb_documents d" + clause
                           + " ORDER BY d.updated_at DESC, d.id LIMIT ? OFFSET ?",
                           [*params, limit, offset])
        return [DocumentInfo(**dict(r)) for r in rows], total

    def versions(self, doc_id: str) -> list[VersionInfo]:
        current = self._query("SELECT version FROM kb_documents WHERE id = ?", (doc_id,))
        now = current[0][0] if current else None
        rows = self._query("SELECT version, action, title, lang, source, content_hash, created_at"
                           " FROM kb_versions WHERE doc_id = ? ORDER BY version", (doc_id,))
        return [VersionInfo(**dict(r), current=r["version"] == now) for r in rows]

    def bm25(self, terms: list[str], n: int, lang: str | None, source: str | None,
             frequencies: tuple[int, dict[str, int]] | None = None) -> list[tuple[int, float]]:
        terms = list(dict.fromkeys(terms))
        if not terms:
            return []
        total, freq = frequencies or self.doc_frequencies(terms)
        present = [t for t in terms if t in freq]
        limit = min(COMMON_TERM_SHARE * total, COMMON_TERM_CHUNKS)
        rare = [t for t in present if freq[t] <= limit]
        use = rare or present
        if not use:
            return []
        # Each term is a quoted FTS5 string ("" escapes a quote): no user text is syntax.
        expr = " OR ".join('"' + t.replace('"', '""') + '"' for t in use)
        if lang or source:
            sql = ("SELECT f.rowid, -bm25(kb_fts) AS s FROM kb_fts f"
                   " JOIN kb_chunks c ON c.id = f.rowid JOIN kb_documents d ON d.id = c.doc_id"
                   " WHERE kb_fts MATCH ?")
            params: list[object] = [expr]
            if lang:
                sql += " AND d.lang = ?"
                params.append(lang)
            if source:
                sql += " AND d.source = ?"
                params.append(source)
            sql += " ORDER BY s DESC LIMIT ?"
        else:
            sql = "SELECT rowid, -rank AS s FROM kb_fts WHERE kb_fts MATCH ? ORDER BY rank LIMIT ?"
            params = [expr]
        rows = self._query(sql, [*params, n])
        return [(int(r[0]), float(r[1])) for r in rows]

    def _live_chunks(self) -> int:
        """COUNT(*) of the chunks, recounted only after a write (a 100k-row count costs
        about 1.5 ms, and every query needs it twice). Call under the read lock."""
        generation = self._read.execute(
            "SELECT value FROM kb_state WHERE key = 'generation'").fetchone()[0]
        if generation != self._counted[0]:
            total = self._read.execute("SELECT COUNT(*) FROM kb_chunks").fetchone()[0] or 1
            self._counted = (generation, total)
        return self._counted[1]

    def doc_frequencies(self, terms: list[str]) -> tuple[int, dict[str, int]]:
        terms = list(dict.fromkeys(terms))
        marks = ",".join("?" * len(terms))
        with self._read_lock:
            total = self._live_chunks()
            if not terms:
                return total, {}
            freq = dict(self._read.execute(
                f"SELECT term, doc FROM kb_fts_vocab WHERE term IN ({marks})", terms).fetchall())
        return total, freq

    def chunks(self, chunk_ids: list[int]) -> dict[int, ChunkRow]:
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        rows = self._query(
            "SELECT c.id, c.doc_id, d.title, c.version, c.text, d.source, d.lang, f.tokens"
            " FROM kb_chunks c JOIN kb_documents d ON d.id = c.doc_id"
            f" JOIN kb_fts f ON f.rowid = c.id WHERE c.id IN ({marks})", chunk_ids)
        return {r[0]: ChunkRow(*r) for r in rows}

    def generation(self) -> int:
        return int(self._query("SELECT value FROM kb_state WHERE key = 'generation'")[0][0])

    def vectors_since(self, after_id: int) -> VectorRows:
        rows = self._query(
            "SELECT c.id, v.vector, d.lang, d.source FROM kb_chunks c"
            " JOIN kb_documents d ON d.id = c.doc_id"
            " JOIN kb_vectors v ON v.text_hash = c.text_hash AND v.model = ?"
            " WHERE c.id > ? ORDER BY c.id", (self.embed_model, after_id))
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if rows:
            vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
            vectors = vectors.reshape(len(rows), -1)
        else:
            vectors = np.zeros((0, 0), dtype=np.float32)
        return VectorRows(ids, vectors, [r[2] for r in rows], [r[3] for r in rows])

    def live_chunk_ids(self) -> np.ndarray:
        with self._read_lock:
            rows = self._read.execute("SELECT id FROM kb_chunks").fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def progress(self, fingerprint: str) -> Progress | None:
        rows = self._query("SELECT fingerprint, path, records_done, finished"
                           " FROM kb_ingest_progress WHERE fingerprint = ?", (fingerprint,))
        if not rows:
            return None
        r = rows[0]
        return Progress(r[0], r[1], int(r[2]), bool(r[3]))

    def counts(self) -> dict[str, int]:
        row = self._query("SELECT (SELECT COUNT(*) FROM kb_documents),"
                          " (SELECT COUNT(*) FROM kb_chunks), (SELECT COUNT(*) FROM kb_vectors)")
        return {"documents": row[0][0], "chunks": row[0][1], "vectors": row[0][2]}

    def close(self) -> None:
        with self._write_lock, self._read_lock:
            self._write.close()
            self._read.close()
