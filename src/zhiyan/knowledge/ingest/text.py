"""Plain text and Markdown: one file, one document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from zhiyan.knowledge.ingest import Loader, LoadError, Skip, stem_id
from zhiyan.knowledge.types import Document

# Chinese text that is not UTF-8 is nearly always GBK (GB18030 is its superset) or Big5
# (cp950, Windows' Big5, has characters such as 碁 that plain Big5 lacks). Either codec
# decodes much of the other's bytes without error, into unlikely characters; the reading
# kept is the one made of common characters, and only when it is clearly text.
# (charset-normalizer, limited to these two codecs, reads a short GBK note such as
# "短文本。" as cp950 mojibake; this check reads it right.)
_LEGACY = ("gb18030", "cp950")
_PLAUSIBLE = 0.75


def _common(ch: str) -> bool:
    """ASCII, CJK punctuation, or a frequently used Han character (GB2312 level 1 or Big5
    level 1, after the Traditional/Simplified split each covers)."""
    code = ord(ch)
    if code < 0x80 or 0x3000 <= code <= 0x303F or 0xFF00 <= code <= 0xFFEF or ch in "·—‘’“”…":
        return True
    try:
        if 0xB0 <= ch.encode("gb2312")[0] <= 0xD7:
            return True
    except UnicodeEncodeError:
        pass
    try:
        return 0xA440 <= int.from_bytes(ch.encode("big5"), "big") <= 0xC67E
    except UnicodeEncodeError:
        return False


def _plausibility(text: str) -> float:
    chars = [c for c in text[:20000] if not c.isspace()]
    if not chars or "\x00" in text:
        return 0.0
    return sum(map(_common, chars)) / len(chars)


def read_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without a BOM), else GBK/GB18030 or Big5."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        error = exc
    readings = []
    for encoding in _LEGACY:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        readings.append((_plausibility(text), text))
    if readings:
        score, text = max(readings, key=lambda r: r[0])
        if score >= _PLAUSIBLE:
            return text
    raise LoadError(f"not UTF-8, GBK or Big5 text ({error.reason} at byte {error.start})"
                    ) from None


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
