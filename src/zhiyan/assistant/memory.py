"""Conversation memory per user and conversation, within a token budget.

Turns are stored in SQLite as they happen. When the stored turns outgrow the budget, the
oldest ones are summarized by the engine into a running summary that goes with every later
prompt: nothing is dropped silently. If the engine cannot summarize (busy, failing), a
plain extract of the old turns takes the summary's place so the facts still survive.
"""

from __future__ import annotations

import logging
import sqlite3

from zhiyan.engine.base import ChatRequest, Engine, Message
from zhiyan.engine.errors import EngineError

log = logging.getLogger(__name__)

SUMMARY_PROMPT = (
    "Summarize the conversation below for your own memory in at most {words} words. Keep "
    "names, numbers, facts the user gave, what they asked and their preferences. Write "
    "the summary in English; do not add anything new."
)


def _extract(messages: list[Message], limit: int) -> str:
    """A summary made without the model: the first sentence of each turn."""
    parts = []
    for m in messages:
        first = m.content.strip().split("\n")[0][:160]
        parts.append(f"{m.role}: {first}")
    return " | ".join(parts)[-limit:]


async def summarize(engine: Engine, previous: str, messages: list[Message],
                    max_tokens: int = 160) -> str:
    """A running summary: the previous summary plus `messages`, condensed by the engine."""
    transcript = "\n".join(f"{m.role}: {m.content}" for m in messages)
    if previous:
        transcript = f"(earlier) {previous}\n{transcript}"
    request = ChatRequest(
        messages=[
            Message(role="system", content=SUMMARY_PROMPT.format(words=max_tokens * 2 // 3)),
            Message(role="user", content=transcript[-6000:]),
        ],
        max_tokens=max_tokens, temperature=0.1, seed=0,
    )
    try:
        result = await engine.chat(request)
        text = result.content.strip()
    except EngineError as exc:
        log.warning("summary by the engine failed (%s); keeping an extract", exc)
        text = ""
    if not text:
        text = ((previous + " | ") if previous else "") + _extract(messages, 1200)
    return text


async def fit_history(engine: Engine, history: list[Message], budget: int,
                      summary_tokens: int = 160) -> list[Message]:
    """History a channel keeps itself (the OpenAI API), fitted into `budget` tokens: the
    newest messages verbatim, the older ones as one summary message."""
    if not history or await engine.count_tokens(history) <= budget:
        return history
    kept: list[Message] = []
    used = 0
    for m in reversed(history):
        cost = await engine.count_tokens([m])
        if used + cost > budget // 2 and kept:
            break
        kept.insert(0, m)
        used += cost
    older = history[: len(history) - len(kept)]
    summary = await summarize(engine, "", older, summary_tokens)
    return [Message(role="system", content=f"Summary of the earlier conversation: {summary}"),
            *kept]


class Memory:
    """Stored turns of each (user, conversation), handed back within a token budget."""

    def __init__(self, conn: sqlite3.Connection, engine: Engine, budget_tokens: int = 1024,
                 summary_tokens: int = 160) -> None:
        self.conn = conn
        self.engine = engine
        self.budget_tokens = budget_tokens
        self.summary_tokens = summary_tokens

    async def append(self, user_id: str, conversation_id: str, role: str, content: str) -> None:
        tokens = await self.engine.count_tokens([Message(role=role, content=content)])  # type: ignore[arg-type]
        self.conn.execute(
            "INSERT INTO assistant_messages(user_id, conversation_id, role, content, tokens)"
            " VALUES (?, ?, ?, ?, ?)",
            (user_id, conversation_id, role, content, tokens),
        )

    def reset(self, user_id: str, conversation_id: str) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(
                "DELETE FROM assistant_messages WHERE user_id = ? AND conversation_id = ?",
                (user_id, conversation_id))
            self.conn.execute(
                "DELETE FROM assistant_summaries WHERE user_id = ? AND conversation_id = ?",
                (user_id, conversation_id))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def forget_last_exchange(self, user_id: str, conversation_id: str) -> bool:
        """Drop the last question and its answer (a retry asks it again, and the first
        attempt must not sit in the context twice). False when there is nothing recent to
        drop: turns already folded into the summary stay there."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            row = self.conn.execute(
                "SELECT max(id) FROM assistant_messages WHERE user_id = ? AND"
                " conversation_id = ? AND role = 'user' AND summarized = 0",
                (user_id, conversation_id)).fetchone()
            if row[0] is not None:
                self.conn.execute(
                    "DELETE FROM assistant_messages WHERE user_id = ? AND conversation_id = ?"
                    " AND id >= ?", (user_id, conversation_id, row[0]))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return row[0] is not None

    def last_user_message(self, user_id: str, conversation_id: str) -> str | None:
        """What the user said last in this conversation (summarized turns included)."""
        row = self.conn.execute(
            "SELECT content FROM assistant_messages WHERE user_id = ? AND conversation_id = ?"
            " AND role = 'user' ORDER BY id DESC LIMIT 1", (user_id, conversation_id)).fetchone()
        return str(row[0]) if row else None

    def summary(self, user_id: str, conversation_id: str) -> str:
        row = self.conn.execute(
            "SELECT summary FROM assistant_summaries WHERE user_id = ? AND conversation_id = ?",
            (user_id, conversation_id)).fetchone()
        return str(row[0]) if row else ""

    async def context(self, user_id: str, conversation_id: str,
                      budget: int | None = None) -> list[Message]:
        """The conversation so far: its summary (if any) then the recent turns, within the
        budget (default: the configured one). Summarizes the oldest turns first when they
        no longer fit."""
        budget = min(budget or self.budget_tokens, self.budget_tokens)
        rows = self.conn.execute(
            "SELECT id, role, content, tokens FROM assistant_messages"
            " WHERE user_id = ? AND conversation_id = ? AND summarized = 0 ORDER BY id",
            (user_id, conversation_id)).fetchall()
        summary = self.summary(user_id, conversation_id)
        summary_cost = len(summary) // 3
        total = sum(r["tokens"] for r in rows) + summary_cost
        if total > budget and len(rows) > 2:
            keep_from = len(rows)
            used = 0
            while keep_from > 0 and used + rows[keep_from - 1]["tokens"] <= budget // 2:
                keep_from -= 1
                used += rows[keep_from]["tokens"]
            keep_from = min(keep_from, len(rows) - 1)
            older, rows = rows[:keep_from], rows[keep_from:]
            summary = await summarize(
                self.engine, summary,
                [Message(role=r["role"], content=r["content"]) for r in older],
                self.summary_tokens)
            self._store_summary(user_id, conversation_id, summary, older[-1]["id"])
        messages = [Message(role=r["role"], content=r["content"]) for r in rows]
        if summary:
            messages.insert(0, Message(
                role="system", content=f"Summary of the earlier conversation: {summary}"))
        return messages

    def _store_summary(self, user_id: str, conversation_id: str, summary: str,
                       through_id: int) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(
                "INSERT INTO assistant_summaries(user_id, conversation_id, summary, tokens,"
                " through_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT(user_id, conversation_id) DO"
                " UPDATE SET summary = excluded.summary, tokens = excluded.tokens,"
                " through_id = excluded.through_id,"
                " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
                (user_id, conversation_id, summary, len(summary) // 3, through_id))
            self.conn.execute(
                "UPDATE assistant_messages SET summarized = 1"
                " WHERE user_id = ? AND conversation_id = ? AND id <= ?",
                (user_id, conversation_id, through_id))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise


def get_lang_pref(conn: sqlite3.Connection, user_id: str) -> str | None:
    row = conn.execute("SELECT lang FROM assistant_user_prefs WHERE user_id = ?",
                       (user_id,)).fetchone()
    return str(row[0]) if row else None


def set_lang_pref(conn: sqlite3.Connection, user_id: str, lang: str) -> None:
    conn.execute(
        "INSERT INTO assistant_user_prefs(user_id, lang) VALUES (?, ?) ON CONFLICT(user_id)"
        " DO UPDATE SET lang = excluded.lang,"
        " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        (user_id, lang))
