"""SIGKILL in the middle of an ingest: every document is at its old or its new version,
never half, and running the ingest again finishes the job."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.ingest.run import ingest_paths
from zhiyan.knowledge.settings import KnowledgeSettings

N = 1500
SETTINGS = KnowledgeSettings(embeddings=False, batch_size=10)

INGEST = """
import sys
from pathlib import Path
from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.ingest.run import ingest_paths
from zhiyan.knowledge.settings import KnowledgeSettings
kb = KnowledgeBase.open(sys.argv[1], KnowledgeSettings(embeddings=False, batch_size=10))
ingest_paths(kb, [Path(sys.argv[2])])
"""


def _corpus(path: Path, label: str) -> None:
    with path.open("w") as fh:
        for i in range(N):
            text = f"{label} 第{i}号文件。" + f"{label} revision body sentence number {i}. " * 8
            fh.write(json.dumps({"id": f"doc{i}", "title": f"Doc {i}", "text": text}) + "\n")


def test_sigkill_mid_ingest_leaves_every_document_whole(tmp_path: Path) -> None:
    db = tmp_path / "kb.sqlite3"
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    _corpus(old, "oldrev")
    _corpus(new, "newrev")
    kb = KnowledgeBase.open(db, SETTINGS)
    assert len(ingest_paths(kb, [old]).added) == N
    kb.close()

    proc = subprocess.Popen([sys.executable, "-c", INGEST, str(db), str(new)])
    deadline = time.monotonic() + 60
    with sqlite3.connect(db) as watch:
        while time.monotonic() < deadline:
            done = watch.execute("SELECT COUNT(*) FROM kb_documents WHERE version = 2").fetchone()
            if done[0] >= 50:
                break
            assert proc.poll() is None, "the ingest finished before it could be killed"
            time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    kb = KnowledgeBase.open(db, SETTINGS)
    conn = kb.store._read  # a fresh connection after the crash: recovery has run
    versions = dict(conn.execute("SELECT version, COUNT(*) FROM kb_documents GROUP BY version"))
    assert set(versions) == {1, 2} and sum(versions.values()) == N
    torn = conn.execute(
        "SELECT COUNT(*) FROM kb_documents d JOIN kb_chunks c ON c.doc_id = d.id"
        " WHERE c.version != d.version"
        " OR instr(c.text, CASE d.version WHEN 1 THEN 'oldrev' ELSE 'newrev' END) = 0"
    ).fetchone()[0]
    assert torn == 0
    missing = conn.execute("SELECT COUNT(*) FROM kb_documents d WHERE NOT EXISTS"
                           " (SELECT 1 FROM kb_chunks c WHERE c.doc_id = d.id)").fetchone()[0]
    assert missing == 0
    fts, chunks = (conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                   for t in ("kb_fts", "kb_chunks"))
    assert fts == chunks
    orphans = conn.execute("SELECT COUNT(*) FROM kb_versions v WHERE v.version = 2 AND NOT"
                           " EXISTS (SELECT 1 FROM kb_documents d WHERE d.id = v.doc_id AND"
                           " d.version = 2)").fetchone()[0]
    assert orphans == 0
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    report = ingest_paths(kb, [new])
    assert report.resumed >= 50 and len(report.replaced) == N - report.resumed
    assert kb.list(limit=1)[1] == N
    assert {h.version for h in kb.search_sync("newrev revision", 20)} == {2}
    kb.close()
