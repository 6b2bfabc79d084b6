"""Plain text and Markdown: one file, one document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from zhiyan.knowledge.ingest import Loader, LoadError, Skip, stem_id
from zhiyan.knowledge.types import Document


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


class TextLoader(Loader):
    suffixes = (".txt",)

    def records(self, path: Path, name: str) -> Iterator[Document | Skip]:
        text = read_text(path)
        first = text.strip().split("\n", 1)[0].strip()
        title = first if 0 < len(first) <= 80 else stem_id(name)
        yield Document(id=stem_id(name), title=title, text=text, source=Path(name).name)


_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)


class MarkdownLoader(Loader):
    suffixes = (".md", ".markdown")

    def records(self, path: Path, name: str) -> Iterator[Document | Skip]:
        text = read_text(path)
        heading = _HEADING.search(text)
        title = heading.group(1) if heading else stem_id(name)
        yield Document(id=stem_id(name), title=title, text=text, source=Path(name).name)
