"""SQuAD-format JSON (also CMRC 2018, DRCD): every paragraph context becomes a document.

The document id is the paragraph id where the file has one (CMRC does), otherwise
"<article id or title>-<n>", so evaluations can tell whether the gold context was found.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zhiyan.knowledge.ingest import Loader, LoadError, Skip
from zhiyan.knowledge.types import Document


def load_squad(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LoadError(f"not valid JSON: {exc}") from None
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise LoadError("not SQuAD-format JSON (no top-level 'data' list)")
    return articles


def paragraph_id(article: dict[str, Any], index: int, paragraph: dict[str, Any]) -> str:
    if paragraph.get("id"):
        return str(paragraph["id"])
    return f"{article.get('id') or article.get('title') or 'article'}-{index}"


class SquadLoader(Loader):
    suffixes = (".json",)

    def records(self, path: Path, name: str) -> Iterator[Document | Skip]:
        for a_number, article in enumerate(load_squad(path)):
            paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
            if not isinstance(paragraphs, list):
                yield Skip(f"{name}: article {a_number}", "no 'paragraphs' list")
                continue
            title = str(article.get("title") or f"article {a_number}")
            for index, paragraph in enumerate(paragraphs):
                context = paragraph.get("context") if isinstance(paragraph, dict) else None
                if not isinstance(context, str) or not context.strip():
                    yield Skip(f"{name}: {title} #{index}", "no 'context'")
                    continue
                yield Document(id=paragraph_id(article, index, paragraph), title=title,
                               text=context, source=Path(name).name)
