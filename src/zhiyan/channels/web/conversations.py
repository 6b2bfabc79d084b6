"""The web chat's conversations: what each browser's list shows and what a page re-renders.

The web keeps its own copy of the messages because a page must render a conversation
server-side (JavaScript off, reload, back button) with the citations exactly as they
were shown; the assistant's own memory is keyed by the same conversation id.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zhiyan.assistant.turn import Citation
from zhiyan.storage.db import open_database

TITLE_CHARS = 60


@dataclass
class Conversation:
    id: str
    title: str
    updated_at: str


@dataclass
class WebMessage:
    id: int
    role: str
    text: str
    citations: list[Citation] = field(default_factory=list)


def title_from(text: str) -> str:
    """A conversation is named after its first question until the user renames it."""
    words = " ".join(text.split())
    return words if len(words) <= TITLE_CHARS else words[: TITLE_CHARS - 1] + "…"


class ConversationStore:
    """SQLite-backed; every method is short, so one connection behind a lock is enough."""

    def __init__(self, path: Path | str) -> None:
        self._db = open_database(path)
        self._lock = threading.Lock()

    def _write(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    def secret(self) -> bytes:
        """The installation's CSRF key, made on first use."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO web_secret(id, key) VALUES (1, ?)",
                (secrets.token_hex(32),),
            )
            row = self._db.execute("SELECT key FROM web_secret WHERE id = 1").fetchone()
        return bytes.fromhex(row["key"])

    def create(self, owner: str, title: str) -> Conversation:
        conversation_id = secrets.token_urlsafe(12)
        self._write("INSERT INTO web_conversations(id, owner, title) VALUES (?, ?, ?)",
                    (conversation_id, owner, title))
        found = self.get(owner, conversation_id)
        assert found is not None
        return found

    def get(self, owner: str, conversation_id: str) -> Conversation | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, title, updated_at FROM web_conversations WHERE id = ? AND owner = ?",
                (conversation_id, owner),
            ).fetchone()
        return Conversation(**dict(row)) if row else None

    def list(self, owner: str, limit: int = 50) -> list[Conversation]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, title, updated_at FROM web_conversations WHERE owner = ?"
                " ORDER BY updated_at DESC, rowid DESC LIMIT ?",
                (owner, limit),
            ).fetchall()
        return [Conversation(**dict(r)) for r in rows]

    def rename(self, owner: str, conversation_id: str, title: str) -> bool:
        cursor = self._write(
            "UPDATE web_conversations SET title = ? WHERE id = ? AND owner = ?",
            (title_from(title), conversation_id, owner),
        )
        return cursor.rowcount == 1

    def delete(self, owner: str, conversation_id: str) -> bool:
        cursor = self._write("DELETE FROM web_conversations WHERE id = ? AND owner = ?",
                             (conversation_id, owner))
        return cursor.rowcount == 1

    def messages(self, conversation_id: str) -> list[WebMessage]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, role, text, citations FROM web_messages"
                " WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
        return [
            WebMessage(r["id"], r["role"], r["text"],
                       [Citation(**c) for c in json.loads(r["citations"])])
            for r in rows
        ]

    def add(self, conversation_id: str, role: str, text: str,
            citations: list[Citation] | None = None) -> int:
        """Store a message; the user's question is stored before it is answered."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._db.execute(
                    "INSERT INTO web_messages(conversation_id, role, text, citations)"
                    " VALUES (?, ?, ?, ?)",
                    (conversation_id, role, text,
                     json.dumps([asdict(c) for c in citations or []], ensure_ascii=False)),
                )
                self._db.execute(
                    "UPDATE web_conversations SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ',"
                    "'now') WHERE id = ?",
                    (conversation_id,),
                )
                self._db.execute("COMMIT")
            except Exception:
                self._db.execute("ROLLBACK")
                raise
        return int(cursor.lastrowid or 0)

    def take_last_question(self, conversation_id: str) -> str | None:
        """For retry: remove the last question and its answer, and return the question
        (it is asked, and stored, again)."""
        history = self.messages(conversation_id)
        if history and history[-1].role == "assistant":
            history.pop()
        if not history or history[-1].role != "user":
            return None
        self._write("DELETE FROM web_messages WHERE conversation_id = ? AND id >= ?",
                    (conversation_id, history[-1].id))
        return history[-1].text

    def message(self, owner: str, message_id: int) -> WebMessage | None:
        with self._lock:
            row = self._db.execute(
                "SELECT m.id, m.role, m.text, m.citations FROM web_messages m"
                " JOIN web_conversations c ON c.id = m.conversation_id"
                " WHERE m.id = ? AND c.owner = ?",
                (message_id, owner),
            ).fetchone()
        if row is None:
            return None
        return WebMessage(row["id"], row["role"], row["text"],
                          [Citation(**c) for c in json.loads(row["citations"])])
