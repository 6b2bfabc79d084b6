"""HTML pages: visible text only (no scripts, styles or markup), title from <title> or <h1>."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

from zhiyan.knowledge.ingest import Loader, Skip, stem_id
from zhiyan.knowledge.ingest.text import read_text
from zhiyan.knowledge.types import Document

_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section",
          "article", "table", "ul", "ol", "blockquote", "pre", "dd", "dt"}
# Elements whose text is never shown. Not <head>: its end tag is optional, and a page
# that leaves it out would lose its whole body; <title> is the head's only text.
_HIDDEN = {"script", "style", "noscript", "template", "title"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.h1 = ""
        self._hidden = 0
        self._in: list[str] = []
        self._titled = False  # the page's <title> is read; an <svg>'s title is not it

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        if tag in _BLOCK:
            self.parts.append("\n")
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self._hidden:
            self._hidden -= 1
        if tag == "title" and self.title.strip():
            self._titled = True
        if tag in _BLOCK:
            self.parts.append("\n")
        if tag in self._in:
            while self._in and self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        current = self._in[-1] if self._in else ""
        if current == "title":
            if not self._titled:
                self.title += data
        elif current == "h1" and not self._hidden:
            self.h1 += data
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    """(title, text) of an HTML page."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    text = "\n".join(line for line in lines if line)
    return (parser.title.strip() or parser.h1.strip()), text


class HtmlLoader(Loader):
    suffixes = (".html", ".htm")

    def records(self, path: Path, name: str) -> Iterator[Document | Skip]:
        title, text = html_to_text(read_text(path))
        yield Document(id=stem_id(name), title=title or stem_id(name), text=text,
                       source=Path(name).name)
