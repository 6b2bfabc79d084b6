"""JSON Lines: one document a line, {"id", "title", "text", "lang", "source"}.

A bad line is skipped with its line number; the rest of the file goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from zhiyan.knowledge.ingest import Loader, Skip, content_id
from zhiyan.knowledge.types import Document


class JsonlLoader(Loader):
    suffixes = (".jsonl", ".ndjson")

    def records(self, path: Path, name: str) -> Iterator[Document | Skip]:
        with path.open("rb") as fh:
            for number, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                where = f"{name}:{number}"
                try:
                    item = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    yield Skip(where, f"not valid JSON: {exc}")
                    continue
                if not isinstance(item, dict):
                    yield Skip(where, "a line must be a JSON object")
                    continue
                text, title = item.get("text"), item.get("title")
                if not isinstance(text, str) or not text.strip():
                    yield Skip(where, "missing 'text'")
                    continue
                if not isinstance(title, str) or not title.strip():
                    title = text.strip().split("\n", 1)[0][:80]
                doc_id = item.get("id")
                if doc_id is None or str(doc_id).strip() == "":
                    doc_id = content_id(title, text)
                yield Document(id=str(doc_id), title=title, text=text,
                               lang=str(item.get("lang") or "und"),
                               source=str(item.get("source") or Path(name).name))

    def total(self, path: Path) -> int | None:
        if path.stat().st_size > 200_000_000:
            return None
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())


