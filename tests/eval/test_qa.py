"""`zhiyan eval qa`'s answer paths: the grounded span and the chat pipeline, scored alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhiyan.assistant.turn import Assistant, Citation, Reply
from zhiyan.config import Settings
from zhiyan.engine.base import Engine
from zhiyan.eval.qa import answers, chat_body, gold_recall, summarize
from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.settings import KnowledgeSettings
from zhiyan.knowledge.types import Document


def test_gold_recall_counts_the_gold_span_inside_a_long_answer() -> None:
    sentence = "《战国无双3》由光荣和ω-force合作开发。"
    assert gold_recall(sentence, ["光荣和ω-force"]) == 1.0
    assert gold_recall("光荣", ["光荣和ω-force"]) == pytest.approx(2 / 5)
    assert gold_recall("", ["光荣"]) == 0.0
    # the best of several gold answers
    assert gold_recall("1994年", ["1995年", "1994"]) == 1.0


def test_chat_body_drops_the_sources_line_and_markers() -> None:
    reply = Reply("作者是杨昊[1]。\n\n来源: [1] 杨昊 (漫画家)", lang="zh",
                  citations=[Citation(number=1, doc_id="d1", title="杨昊 (漫画家)")],
                  kind="knowledge")
    assert chat_body(reply) == "作者是杨昊。"
    # a title in the sources line is never taken for the answer
    assert gold_recall(chat_body(reply), ["漫画家"]) == 0.0


def test_chat_body_drops_the_unsourced_note() -> None:
    reply = Reply("北京。\n\n（非资料来源：这是模型自己的回答，可能有误。）", lang="zh")
    assert chat_body(reply) == "北京。"
    # a reply whose last paragraph is its own text keeps it
    two = Reply("第一段。\n\n第二段。", lang="zh")
    assert chat_body(two) == "第一段。\n\n第二段。"


@pytest.mark.anyio
async def test_both_paths_answer_every_question_and_are_summarized(
        tiny_engine: Engine, tmp_path: Path) -> None:
    kb = KnowledgeBase.open(tmp_path / "kb.sqlite3", KnowledgeSettings(embeddings=False))
    kb.add_many([
        Document(id="moon", title="月球",
                 text="月球是地球唯一的天然卫星。月球与地球的平均距离约为38万公里。"),
        Document(id="nile", title="尼罗河", text="尼罗河是非洲的一条河流，全长约6650公里。"),
    ])
    questions = [{"id": "q1", "question": "月球与地球的平均距离是多少？",
                  "answers": ["约为38万公里"], "doc_id": "moon"}]
    assistant = Assistant(tiny_engine, Settings(), knowledge=kb, default_max_tokens=32)
    scored = await answers(tiny_engine, kb, questions, baseline=False, max_tokens=16,
                           via="both", assistant=assistant)
    row = scored["rows"][0]
    for prefix in ("", "chat_"):
        assert 0.0 <= row[f"{prefix}recall"] <= 1.0
        assert row[f"{prefix}seconds"] > 0
    # the chat path retrieved the moon passage and cites it as structured data
    assert row["chat_kind"] == "knowledge"
    assert row["chat_cited"] == ["moon"]
    assert scored["chat_cited_gold"] == 1.0
    assert set(summarize(scored["rows"])) >= {"f1", "chat_f1", "recall", "chat_recall",
                                              "contains", "chat_contains", "chat_p50_s"}
    kb.close()


@pytest.mark.anyio
async def test_conversation_mode_asks_a_passages_questions_as_one_sms_conversation(
        tiny_engine: Engine, tmp_path: Path) -> None:
    kb = KnowledgeBase.open(tmp_path / "kb.sqlite3", KnowledgeSettings(embeddings=False))
    kb.add_many([Document(id="moon", title="月球",
                          text="月球是地球唯一的天然卫星。月球与地球的平均距离约为38万公里。")])
    questions = [{"id": f"q{i}", "question": q, "answers": [a], "doc_id": "moon"}
                 for i, (q, a) in enumerate([("月球是什么？", "地球唯一的天然卫星"),
                                             ("它离地球多远？", "约为38万公里")])]
    assistant = Assistant(tiny_engine, Settings(), knowledge=kb, default_max_tokens=32)
    scored = await answers(tiny_engine, kb, questions, baseline=False, max_tokens=16,
                           via="chat", assistant=assistant, conversation=True)
    assert len(scored["rows"]) == 2
    # both questions went into the passage's conversation, in order
    remembered = assistant.conn.execute(
        "SELECT content FROM assistant_messages WHERE user_id = 'eval-qa'"
        " AND conversation_id = 'moon' AND role = 'user' ORDER BY id").fetchall()
    assert [r[0] for r in remembered] == ["月球是什么？", "它离地球多远？"]
    kb.close()
