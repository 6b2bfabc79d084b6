"""Shape a reply to a segment budget: normalise it, and if it is still too long cut it at a
sentence boundary and append a localized "reply MORE" hint. The cut-off rest is returned
so the session can keep it for the user's MORE.

The assistant is asked for a short answer first (`Turn.max_chars`); shaping is the
guarantee, because a model's sense of length is approximate and every segment is paid.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from zhiyan.channels.sms import gsm
from zhiyan.i18n import t

#: a sentence ends at . ! ? (Latin), 。！？ (CJK), ። ፧ (Ethiopic), or a line break
_SENTENCE_END = re.compile(r"(?:[.!?](?=\s)|[。！？!?]|[።፧]|\n)")
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


@dataclass(frozen=True)
class Shaped:
    text: str
    #: what did not fit, for MORE (None: the whole reply was sent)
    rest: str | None
    info: gsm.SegmentInfo


def tidy(text: str) -> str:
    text = gsm.normalize(text)
    text = _BLANK_LINES.sub("\n", text)
    text = _SPACES.sub(" ", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def _cut_points(text: str) -> list[int]:
    """Positions just after each sentence end, best (latest) first."""
    return sorted({m.end() for m in _SENTENCE_END.finditer(text)}, reverse=True)


def _fallback_cut(text: str, fits: Callable[[str], bool]) -> int:
    """No sentence fits: cut at the last space that fits, else at the last character."""
    low, high = 1, len(text)
    while low < high:  # the longest prefix that fits
        mid = (low + high + 1) // 2
        if fits(text[:mid]):
            low = mid
        else:
            high = mid - 1
    space = text.rfind(" ", 0, low + 1)
    return space if space > low // 2 else low


def shape(text: str, lang: str | None, budget: int = 2) -> Shaped:
    body = tidy(text)
    if gsm.fits(body, budget):
        return Shaped(body, None, gsm.segments(body))
    hint = " " + tidy(t("sms.more_hint", lang))
    if gsm.encoding_of(body) == "GSM-7" and gsm.encoding_of(hint) == "UCS-2":
        # an Amharic hint on an English answer would turn every segment into UCS-2 and
        # halve it; MORE works in every language, so the English hint keeps GSM-7
        hint = " " + tidy(t("sms.more_hint", "en"))

    def fits(prefix: str) -> bool:
        return gsm.fits(prefix.rstrip() + hint, budget)

    cut = next((p for p in _cut_points(body) if fits(body[:p])), None)
    if cut is None:
        cut = _fallback_cut(body, fits)
    head, rest = body[:cut].rstrip(), body[cut:].strip()
    if not rest:
        return Shaped(head, None, gsm.segments(head))
    out = head + hint
    return Shaped(out, rest, gsm.segments(out))
