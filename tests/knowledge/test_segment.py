import sqlite3
from pathlib import Path

from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.chunk import chunk_text
from zhiyan.knowledge.segment import SEGMENTER_VERSION, detect_lang, normalize, tokens
from zhiyan.knowledge.settings import KnowledgeSettings
from zhiyan.knowledge.types import Document


def test_chinese_words_and_traditional_fold_to_simplified() -> None:
    assert "北京" in tokens("北京大学")
    assert tokens("臺灣電腦") == tokens("台湾电脑")
    assert normalize("ＡＢＣ") == "abc"


def test_thai_is_segmented_into_words() -> None:
    assert tokens("ผมรักภาษาไทย") == ["ผม", "รัก", "ภาษาไทย"]


def test_mixed_scripts_split_by_script_and_operators_are_plain_words() -> None:
    words = tokens('abc北京 "NEAR(x* OR y)" don\'t')
    assert {"abc", "北京", "near", "don't"} <= set(words)
    assert all('"' not in w and " " not in w and "*" not in w for w in words)


def test_english_words_are_stemmed_alike_and_other_words_left_alone() -> None:
    assert tokens("prevents")[0] == tokens("prevention")[0] == tokens("prevent")[0]
    assert tokens("Sleeping under nets") == tokens("sleep under net")
    assert tokens("makanan negara habari") == ["makanan", "negara", "habari"]
    assert "don't" in tokens("don't")


def test_detect_lang_by_script() -> None:
    assert detect_lang("这是一个中文句子") == "zh"
    assert detect_lang("ภาษาไทย") == "th"
    assert detect_lang("Habari ya asubuhi") == "und"


def test_chunks_end_at_sentences_and_respect_the_budget() -> None:
    text = "第一句话。" * 30 + "A very long English sentence goes here. " * 10
    chunks = chunk_text(text, 60)
    assert all(len(c) <= 60 for c in chunks)
    assert chunks[0].endswith("。")
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")


def test_a_name_jieba_glues_to_the_next_character_is_also_a_word() -> None:
    # jieba's HMM reads "杨昊现" and "刘七是" as words; the names alone must match too
    assert "杨昊" in tokens("杨昊现效力于哪里？")
    assert "刘七" in tokens("刘七是怎么死的？")
    assert "北京" in tokens("北京大学的学生")  # dictionary words give nothing more
    assert "北京大" not in tokens("北京大学的学生")


_PLAYERS = [
    Document(id="yang", title="杨昊",
             text="杨昊（1983年出生），中国足球运动员，司职后卫，现效力中乙球队陕西长安竞技。"),
    Document(id="wang", title="王明",
             text="王明，中国足球运动员，现效力于北京国安，曾效力于天津泰达。"),
    Document(id="li", title="李强", text="李强，中国足球运动员，现效力于上海申花。"),
]


def test_a_question_finds_the_name_jieba_glued_to_the_next_character(tmp_path: Path) -> None:
    kb = KnowledgeBase.open(tmp_path / "kb.sqlite3", KnowledgeSettings(embeddings=False))
    try:
        kb.add_many(_PLAYERS)
        assert kb.search_sync("杨昊现效力于哪里？", k=3)[0].doc_id == "yang"
    finally:
        kb.close()


def test_an_index_without_the_name_words_is_rebuilt_with_them(tmp_path: Path) -> None:
    """A store indexed by the segmenter before names were split off (version 2) gets the
    new words when opened, so index and questions agree."""
    path = tmp_path / "kb.sqlite3"
    kb = KnowledgeBase.open(path, KnowledgeSettings(embeddings=False))
    kb.add_many(_PLAYERS)
    kb.close()
    old = sqlite3.connect(path)
    rows = old.execute("SELECT rowid, tokens FROM kb_fts").fetchall()
    for rowid, words in rows:  # what version 2 wrote: no "杨昊" from "杨昊现"-like words
        old.execute("UPDATE kb_fts SET tokens = ? WHERE rowid = ?",
                    (" ".join(w for w in words.split() if w != "杨昊"), rowid))
    old.execute("UPDATE kb_state SET value = 2 WHERE key = 'segmenter'")
    old.commit()
    old.close()
    assert SEGMENTER_VERSION > 2
    kb = KnowledgeBase.open(path, KnowledgeSettings(embeddings=False))
    try:
        assert kb.search_sync("杨昊现效力于哪里？", k=3)[0].doc_id == "yang"
    finally:
        kb.close()
