"""Shaping a reply for its channel: plain text or markdown, and the most characters it
can carry. Citations always survive shortening: where facts came from is part of the answer.
"""

from __future__ import annotations

import re

from zhiyan.i18n import t

_LINK = re.compile(r"\[([^\]]+)\]\((\S+?)\)")
#: the marked text must hold something besides markers: "____" is a blank to fill, not bold
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`{1,3})(?=[^\s*_])(.+?)(?<=[^\s*_])\1")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_BULLET = re.compile(r"^\s*[*+]\s+", re.MULTILINE)
_FENCE = re.compile(r"^```\w*\s*$", re.MULTILINE)


def to_plain(text: str) -> str:
    """Markdown to the plain text a phone shows."""
    text = _FENCE.sub("", text)
    text = _LINK.sub(r"\1 (\2)", text)
    text = _HEADING.sub("", text)
    text = _BULLET.sub("- ", text)
    text = _EMPHASIS.sub(r"\2", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def sources_line(titles: list[tuple[int, str]], lang: str, markdown: bool) -> str:
    if not titles:
        return ""
    label = t("core.sources", lang)
    items = " ".join(f"[{n}] {title}" for n, title in titles)
    return f"**{label}:** {items}" if markdown else f"{label}: {items}"


def shorten(text: str, limit: int, lang: str) -> str:
    """At most `limit` characters, cut at a sentence or word boundary, marked as shortened."""
    if len(text) <= limit:
        return text
    marker = " " + t("core.shortened", lang)
    room = max(1, limit - len(marker))
    cut = text[:room]
    boundary = max(cut.rfind(c) for c in ".。!?！？\n")
    if boundary < room // 2:
        boundary = cut.rfind(" ")
    if boundary >= room // 2:
        cut = cut[: boundary + 1]
    result = cut.rstrip() + marker
    return result[:limit]


def shape(text: str, *, lang: str, markdown: bool, max_chars: int | None,
          sources: list[tuple[int, str]], notes: list[str]) -> str:
    """The final text: the answer, any notes (e.g. "not from my sources"), the sources."""
    body = text if markdown else to_plain(text)
    tail_parts = [*notes, sources_line(sources, lang, markdown)]
    tail = "\n".join(p for p in tail_parts if p)
    if max_chars is None:
        return f"{body}\n\n{tail}".strip() if tail else body
    if tail and len(tail) > max_chars // 2:
        tail = shorten(tail, max_chars // 2, lang)
    room = max_chars - (len(tail) + 2 if tail else 0)
    body = shorten(body, max(room, 1), lang)
    return f"{body}\n\n{tail}".strip() if tail else body
