"""Kiwix .zim archives (offline Wikipedia in any language), read with libzim.

Every HTML article (redirects skipped) becomes a document with id "<archive>/<path>", so
ingesting a newer dump of the same archive replaces articles in place and keeps the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from zhiyan.knowledge.ingest import Loader, LoadError, Skip, stem_id
from zhiyan.knowledge.ingest.html import html_to_text
from zhiyan.knowledge.types import Document

# ZIM metadata names languages in ISO 639-3; zhiyan's filters use the two-letter codes.
_LANGS = {"eng": "en", "zho": "zh", "tha": "th", "swa": "sw", "ind": "id", "msa": "ms",
          "zsm": "ms", "hau": "ha", "yor": "yo", "amh": "am", "fra": "fr", "ara": "ar",
          "vie": "vi", "fil": "fil", "tgl": "tl"}


def _open(path: Path):  # type: ignore[no-untyped-def]
    from libzim.reader import Archive

    try:
        return Archive(str(path))
    except RuntimeError as exc:
        raise LoadError(f"not a readable ZIM archive: {exc}") from None


class ZimLoader(Loader):
    suffixes = (".zim",)

    def records(self, path: Path, name: str) -> Iterator[Document | Skip]:
        archive = _open(path)
        lang = "und"
        if "Language" in archive.metadata_keys:
            code = archive.get_metadata("Language").decode("utf-8", "replace").split(",")[0]
            lang = _LANGS.get(code.strip(), code.strip() or "und")
        prefix = stem_id(name)
        for index in range(archive.entry_count):
            entry = archive._get_entry_by_id(index)
            if entry.is_redirect:
                continue
            try:
                item = entry.get_item()
                if not item.mimetype.startswith("text/html"):
                    continue
                html = bytes(item.content).decode("utf-8", "replace")
            except RuntimeError as exc:
                yield Skip(f"{name}:{entry.path}", f"unreadable entry: {exc}")
                continue
            title, text = html_to_text(html)
            if not text.strip():
                continue
            yield Document(id=f"{prefix}/{entry.path}", title=entry.title or title or entry.path,
                           text=text, lang=lang, source=Path(name).name)

    def total(self, path: Path) -> int | None:
        return int(_open(path).entry_count)
