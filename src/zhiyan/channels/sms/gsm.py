"""SMS text craft: GSM 03.38 versus UCS-2, and how many segments (and so how much money) a
text costs.

A single character outside the GSM 7-bit alphabet turns the whole message into UCS-2,
which cuts a segment from 160 to 70 characters: a curly quote pasted by a model can more
than double the bill. So text is normalised first (`normalize`) and only then measured.

Counting rules:
- GSM-7: 160 septets in a single message, 153 per part when concatenated (the UDH takes
  the rest); characters from the extension table (``{ } [ ] ~ \\ | ^ €`` and form feed) are
  an escape plus a septet, so they count 2 — and a part never splits such a pair.
- UCS-2: 70 code units single, 67 per part; a character outside the Basic Multilingual
  Plane (most emoji) is a surrogate pair and counts 2, and a part never splits the pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

Encoding = Literal["GSM-7", "UCS-2"]

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

#: characters a model or a phone keyboard produces that have a plain GSM-7 twin
_NORMALISE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u2009": " ",
    "\u200b": "", "\ufeff": "", "\u2022": "-", "\u00b7": "-", "\t": " ",
    "\u2122": "TM", "\u00a9": "(c)",
})


def normalize(text: str) -> str:
    """Replace typographic characters by their GSM-7 twins and drop invisible ones.

    Only characters with a faithful plain equivalent are replaced; real letters of other
    scripts (Chinese, Amharic, Thai …) are left alone — those need UCS-2.
    """
    return text.translate(_NORMALISE).replace("\r\n", "\n")


def gsm_units(char: str) -> int | None:
    """Septets one character takes in GSM-7 (1 or 2), or None when it has no GSM-7 form."""
    try:
        return len(char.encode("gsm03.38"))
    except UnicodeEncodeError:
        return None


def ucs2_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def encoding_of(text: str) -> Encoding:
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return "UCS-2"
    return "GSM-7"


@dataclass(frozen=True)
class SegmentInfo:
    encoding: Encoding
    #: septets (GSM-7) or UTF-16 code units (UCS-2)
    units: int
    segments: int


def _units(char: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return gsm_units(char) or 1
    return ucs2_units(char)


def parts(text: str) -> list[str]:
    """The text as the parts a phone receives, never splitting an escape or surrogate pair."""
    encoding = encoding_of(text)
    single, part = (GSM_SINGLE, GSM_PART) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_PART)
    if sum(_units(c, encoding) for c in text) <= single:
        return [text] if text else []
    out, current, used = [], [], 0
    for char in text:
        size = _units(char, encoding)
        if used + size > part:
            out.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += size
    if current:
        out.append("".join(current))
    return out


def segments(text: str) -> SegmentInfo:
    encoding = encoding_of(text)
    units = sum(_units(c, encoding) for c in text)
    return SegmentInfo(encoding, units, len(parts(text)) if text else 1)


def capacity(encoding: Encoding, budget: int) -> int:
    """The most units a text of `budget` segments may take."""
    if budget <= 1:
        return GSM_SINGLE if encoding == "GSM-7" else UCS2_SINGLE
    return budget * (GSM_PART if encoding == "GSM-7" else UCS2_PART)


def fits(text: str, budget: int) -> bool:
    return segments(text).segments <= budget


def max_chars_hint(lang: str | None, budget: int) -> int:
    """A character budget to ask the assistant for: UCS-2 capacity for scripts that need
    it, GSM-7 capacity for Latin-script languages. Only a hint; shaping enforces."""
    ucs2_langs = {"zh", "th", "am"}
    encoding: Encoding = "UCS-2" if (lang or "") in ucs2_langs else "GSM-7"
    return capacity(encoding, budget)

