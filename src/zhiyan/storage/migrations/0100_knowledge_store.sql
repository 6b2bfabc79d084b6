-- Knowledge store: documents with versions, live chunks, a BM25 index and dense vectors.
-- kb_versions keeps every version's full text (audit and rollback); kb_chunks holds only the
-- chunks of each document's current version, so retrieval never sees stale text.

CREATE TABLE kb_documents (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL DEFAULT 'und',
    version INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX kb_documents_source ON kb_documents(source);
CREATE INDEX kb_documents_lang ON kb_documents(lang);

CREATE TABLE kb_versions (
    doc_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL DEFAULT 'und',
    content_hash TEXT NOT NULL,
    -- "add", "replace", "rollback" or "delete" (a delete is recorded as a version too)
    action TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (doc_id, version)
);

-- AUTOINCREMENT: chunk ids are never reused, so an in-memory vector index can sync by id.
CREATE TABLE kb_chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES kb_documents(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    text TEXT NOT NULL,
    text_hash TEXT NOT NULL
);
CREATE INDEX kb_chunks_doc ON kb_chunks(doc_id);

-- Text is segmented in Python (jieba, Thai, Unicode words) into space-separated lowercase
-- tokens; the ascii tokenizer then only splits on those spaces and keeps every non-ASCII
-- character, so Thai vowel marks and Han characters survive. rowid = kb_chunks.id.
CREATE VIRTUAL TABLE kb_fts USING fts5(tokens, tokenize = 'ascii');
CREATE VIRTUAL TABLE kb_fts_vocab USING fts5vocab(kb_fts, 'row');

-- Dense vectors by chunk-text hash: identical text is embedded once, and a rollback to an
-- old version re-embeds nothing.
CREATE TABLE kb_vectors (
    text_hash TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    vector BLOB NOT NULL
);

-- Bumped by every write so other processes' caches know to resync.
CREATE TABLE kb_state (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO kb_state(key, value) VALUES ('generation', 0);

-- Resume point of a large ingest, committed in the same transaction as the documents.
CREATE TABLE kb_ingest_progress (
    fingerprint TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    records_done INTEGER NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
