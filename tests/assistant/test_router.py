"""Routing rules, and the model's routing held to the three route names by a grammar."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhiyan.assistant import router
from zhiyan.engine.base import Engine
from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.grounded import relevant
from zhiyan.knowledge.settings import KnowledgeSettings
from zhiyan.knowledge.types import Document


def test_commands_in_the_users_language() -> None:
    assert router.parse_command("msaada", "sw") == router.Command("help")
    assert router.parse_command("HELP", "zh") == router.Command("help")
    assert router.parse_command("lang ha", "en") == router.Command("lang", "ha")
    assert router.parse_command("RESET", "en") == router.Command("reset")
    assert router.parse_command("help me find a doctor", "en") is None


def test_idioms_are_found_when_asked_about_or_sent_alone() -> None:
    entry = router.find_idiom("画蛇添足是什么意思")
    assert entry is not None and entry.word == "画蛇添足"
    assert router.find_idiom("画蛇添足") is not None
    assert router.find_idiom("what does 对牛弹琴 mean") is not None
    assert router.find_idiom("今天天气很好") is None
    passage = router.idiom_passage(entry)
    assert passage.doc_id == "chengyu:画蛇添足" and entry.explanation in passage.text


def test_small_talk() -> None:
    assert router.is_smalltalk("habari yako")
    assert router.is_smalltalk("谢谢！")
    assert router.is_smalltalk("สวัสดีครับ")
    assert not router.is_smalltalk("what is malaria")


@pytest.mark.anyio
async def test_model_routing_is_one_of_the_three_routes(tiny_engine: Engine) -> None:
    assert await router.route_with_model(tiny_engine, "画蛇添足是什么意思") in {
        "knowledge", "idiom", "smalltalk"}


@pytest.mark.anyio
async def test_chat_search_keeps_a_passage_whose_title_the_question_names(
        tmp_path: Path) -> None:
    """The chat pipeline judges relevance as grounded answers do: "哪些地方种植黄蝉？" shares
    only the name with the passage on 黄蝉 (coverage far below the threshold), and naming
    its title makes it relevant."""
    kb = KnowledgeBase.open(tmp_path / "kb.sqlite3", KnowledgeSettings(embeddings=False))
    kb.add_many([
        Document(id="hc", title="黄蝉", lang="zh",
                 text="黄蝉原生于巴西，是夹竹桃科的常绿灌木，花期五月至八月，全株有毒。"),
        Document(id="rice", title="水稻", lang="zh",
                 text="水稻是一年生禾本科植物，喜高温多湿，是重要的粮食作物。"),
    ])
    try:
        question = "哪些地方种植黄蝉？"
        assert relevant(await kb.search(question, k=4, lang="zh")) == []  # coverage alone
        passages = await router.search_knowledge(kb, question, "zh", 4)
        assert [p.doc_id for p in passages] == ["hc"]
    finally:
        kb.close()


@pytest.mark.parametrize(("text", "word"), [
    ("what does hua she tian zu mean", "画蛇添足"),
    ("huà shé tiān zú?", "画蛇添足"),
    ("Explain lv jian bu xian please", "屡见不鲜"),
    ("apa maksud ma ma hu hu", "马马虎虎"),
    ("hua she tian zu is nice", None),  # neither alone nor asked about
    ("can you tell me the capital", None),
    ("what is the meaning of life", None),
])
def test_an_idiom_asked_about_in_pinyin_is_found(text: str, word: str | None) -> None:
    found = router.find_idiom(text)
    assert (found.word if found else None) == word
