"""Knowledge fixtures: a real SQLite knowledge base in a temp dir, BM25-only unless a test
asks for embeddings (embedding is the slow part and most behaviour does not depend on it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.settings import KnowledgeSettings
from zhiyan.knowledge.types import Document

DOCS = [
    Document(id="beijing", title="北京", lang="zh",
             text="北京是中华人民共和国的首都，也是全国的政治和文化中心。故宫位于北京市中心。"),
    Document(id="taiwan-pc", title="臺灣電腦產業", lang="zh",
             text="臺灣的電腦產業在一九八零年代快速發展，宏碁創立於一九七六年。"),
    Document(id="nairobi", title="Nairobi", lang="en", source="wiki",
             text="Nairobi is the capital of Kenya. The city was founded in 1899 as a rail depot."),
    Document(id="bangkok", title="กรุงเทพมหานคร", lang="th",
             text="กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย มีแม่น้ำเจ้าพระยาไหลผ่าน"),
]


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[KnowledgeBase]:
    base = KnowledgeBase.open(tmp_path / "kb.sqlite3", KnowledgeSettings(embeddings=False))
    base.add_many([Document(**d.__dict__) for d in DOCS])
    yield base
    base.close()
