"""Continuous learning on a real SQLite store: versions, no-ops, deletes and rollback take
effect for the very next query."""

from __future__ import annotations

import pytest

from zhiyan.knowledge.base import DocumentNotFound, KnowledgeBase, QueryError
from zhiyan.knowledge.types import Document


@pytest.mark.anyio
async def test_search_finds_documents_across_scripts_and_languages(kb: KnowledgeBase) -> None:
    hits = await kb.search("中华人民共和国的首都是哪里")
    assert hits[0].doc_id == "beijing" and hits[0].version == 1
    assert hits[0].title == "北京" and hits[0].lang == "zh" and hits[0].coverage > 0.5
    # Traditional question, simplified document — and the other way round.
    assert (await kb.search("北京是中華人民共和國的首都嗎"))[0].doc_id == "beijing"
    assert (await kb.search("台湾的电脑产业"))[0].doc_id == "taiwan-pc"
    assert (await kb.search("capital of Kenya"))[0].doc_id == "nairobi"
    assert (await kb.search("เมืองหลวงของประเทศไทย"))[0].doc_id == "bangkok"


def test_filters_by_language_and_source(kb: KnowledgeBase) -> None:
    assert {h.doc_id for h in kb.search_sync("capital 首都", 10, lang="en")} == {"nairobi"}
    assert {h.doc_id for h in kb.search_sync("capital 首都", 10, source="wiki")} == {"nairobi"}
    assert kb.search_sync("capital", 10, lang="zh") == []


@pytest.mark.parametrize("query", ['"', "AND", "NEAR(a b)", "a* OR", "(((", "col:x", "^-+",
                                   "' OR 1=1 --", "\x00"])
def test_no_query_breaks_the_full_text_syntax(kb: KnowledgeBase, query: str) -> None:
    assert isinstance(kb.search_sync(query), list)


def test_empty_and_oversized_queries_are_clear_errors(kb: KnowledgeBase) -> None:
    with pytest.raises(QueryError, match="empty"):
        kb.search_sync("   ")
    with pytest.raises(QueryError, match="longer than"):
        kb.search_sync("x" * (kb.settings.max_query_chars + 1))


def test_replace_creates_a_version_and_takes_effect_at_once(kb: KnowledgeBase) -> None:
    updated = Document(id="nairobi", title="Nairobi", lang="en", source="wiki",
                       text="Nairobi is the capital of Kenya and hosts the zebrafinch summit.")
    assert kb.replace(updated).status == "replaced"
    hit = kb.search_sync("zebrafinch summit")[0]
    assert (hit.doc_id, hit.version) == ("nairobi", 2)
    assert kb.search_sync("rail depot 1899") == [] or all(
        h.doc_id != "nairobi" for h in kb.search_sync("rail depot 1899"))
    assert [v.version for v in kb.versions("nairobi")] == [1, 2]
    assert kb.versions("nairobi")[-1].current


def test_identical_content_is_a_no_op(kb: KnowledgeBase) -> None:
    before = kb.store.generation()
    doc = kb.get("beijing")
    assert doc is not None and doc.text is not None
    result = kb.add(Document(id="beijing", title="北京", text=doc.text, lang="zh"))
    assert (result.status, result.version) == ("unchanged", 1)
    assert kb.store.generation() == before
    assert len(kb.versions("beijing")) == 1


def test_delete_then_rollback_restores(kb: KnowledgeBase) -> None:
    kb.delete("beijing")
    assert kb.get("beijing") is None
    assert all(h.doc_id != "beijing" for h in kb.search_sync("故宫"))
    with pytest.raises(DocumentNotFound):
        kb.delete("beijing")
    result = kb.rollback("beijing", 1)
    assert (result.status, result.version) == ("rolled_back", 3)
    assert kb.search_sync("故宫")[0].doc_id == "beijing"
    assert [v.action for v in kb.versions("beijing")] == ["add", "delete", "rollback"]


def test_rollback_to_an_old_version(kb: KnowledgeBase) -> None:
    kb.replace(Document(id="bangkok", title="Bangkok", text="Bangkok v2 text", lang="en"))
    kb.rollback("bangkok", 1)
    info = kb.get("bangkok")
    assert info is not None and info.version == 3 and info.title == "กรุงเทพมหานคร"
    with pytest.raises(DocumentNotFound):
        kb.rollback("bangkok", 99)
    with pytest.raises(DocumentNotFound):
        kb.replace(Document(id="nowhere", title="x", text="y"))


def test_list_pages_and_filters(kb: KnowledgeBase) -> None:
    docs, total = kb.list(limit=2)
    assert total == 4 and len(docs) == 2
    docs, total = kb.list(q="Nair")
    assert [d.id for d in docs] == ["nairobi"] and docs[0].chunks == 1
    assert kb.list(lang="th")[1] == 1
    assert kb.list(q="%")[1] == 0
