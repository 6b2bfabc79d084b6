"""Idiom skills the assistant, the CLI and the HTTP API share: explain, reverse lookup,
judge usage, choose for a blank (the chain game is in chain.py).

Input that is not Chinese gets `SkillInputError`, whose message is looked up in the user's
language (i18n area `chengyu`), so every caller shows the same clear text.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from zhiyan.chengyu.cloze import choose_for_blank
from zhiyan.chengyu.detect import find_idioms
from zhiyan.chengyu.dictionary import Idiom, get_dictionary, has_chinese, to_simplified
from zhiyan.chengyu.meaning import get_meaning_index
from zhiyan.engine.base import ChatRequest, Engine, Message
from zhiyan.i18n import normalize_lang, t

__all__ = [
    "Explanation",
    "Judgement",
    "SkillInputError",
    "choose_for_blank",
    "explain",
    "find_by_meaning",
    "judge_usage",
]

_VARIANT_OF = re.compile(r"(?:同|亦作|也作|又作)“([\u3400-\u9fff]{3,12})”")


class SkillInputError(ValueError):
    """Input an idiom skill cannot work with; `message(lang)` explains in that language."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(t(f"chengyu.{key}", "en", **values))
        self.key = key
        self.values = values

    def message(self, lang: str | None) -> str:
        return t(f"chengyu.{self.key}", lang, **self.values)


def require_chinese(text: str) -> str:
    text = text.strip()
    if not text:
        raise SkillInputError("empty_input")
    if not has_chinese(text):
        raise SkillInputError("not_chinese", text=text[:40])
    return text


@dataclass
class Explanation:
    """An idiom's meaning, origin, example and pinyin, ready to show in `lang`.

    `known` is False for a word the dictionary lacks; `suggestions` then holds the
    closest idioms. `translated` says whether `meaning` is in `lang`; if not, `note`
    tells the user (in their language) that the dictionary text is Chinese.
    """

    query: str
    lang: str
    known: bool
    word: str = ""
    pinyin: str = ""
    meaning: str = ""
    origin: str = ""
    example: str | None = None
    meaning_zh: str = ""
    translated: bool = False
    note: str | None = None
    suggestions: list[str] = field(default_factory=list)

    def render(self) -> str:
        """Plain text for chat, SMS and the terminal."""
        lang = self.lang
        if not self.known:
            if self.suggestions:
                return t("chengyu.unknown_with_suggestions", lang, word=self.query,
                         suggestions="、".join(self.suggestions))
            return t("chengyu.unknown", lang, word=self.query)
        lines = [f"{self.word} ({self.pinyin})", f"{t('chengyu.label_meaning', lang)}: "
                 f"{self.meaning}"]
        if self.origin:
            lines.append(f"{t('chengyu.label_origin', lang)}: {self.origin}")
        if self.example:
            lines.append(f"{t('chengyu.label_example', lang)}: {self.example}")
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


async def explain(word: str, lang: str = "zh", engine: Engine | None = None) -> Explanation:
    """Explain an idiom. For a language other than Chinese the meaning is translated by
    `engine` when one is given; otherwise the Chinese text comes with a localized note."""
    lang = normalize_lang(lang)
    query = word.strip()
    if not query:
        raise SkillInputError("empty_input")
    dictionary = get_dictionary()
    idiom = dictionary.lookup(query)
    if idiom is None:
        suggestions = [d.word for d in dictionary.closest(query, 5)]
        if not has_chinese(query) and not suggestions:
            raise SkillInputError("not_chinese", text=query[:40])
        return Explanation(query=query, lang=lang, known=False, suggestions=suggestions)
    result = Explanation(
        query=query, lang=lang, known=True, word=idiom.word, pinyin=idiom.pinyin,
        meaning=idiom.explanation, origin=idiom.derivation, example=idiom.example,
        meaning_zh=idiom.explanation, translated=lang == "zh",
    )
    if lang != "zh":
        translated = await _translate(idiom, lang, engine) if engine else None
        if translated:
            result.meaning, result.translated = translated, True
        else:
            result.note = t("chengyu.shown_in_chinese", lang)
    return result


async def _translate(idiom: Idiom, lang: str, engine: Engine) -> str | None:
    language = t("core.language_name", lang)
    request = ChatRequest(
        messages=[
            Message(role="system", content=f"Translate Chinese dictionary text into "
                                           f"{language}. Reply with the translation only."),
            Message(role="user", content=f"{idiom.word}: {idiom.explanation}"),
        ],
        max_tokens=160,
        temperature=0.0,
    )
    text = (await engine.chat(request)).content.strip()
    return text or None


def canonical(idiom: Idiom) -> Idiom:
    """The main form of a variant entry (画蛇著足 … 同“画蛇添足” -> 画蛇添足)."""
    found = _VARIANT_OF.search(idiom.explanation)
    if found:
        main = get_dictionary().get(found.group(1))
        if main is not None:
            return main
    return idiom


def find_by_meaning(description: str, k: int = 5) -> list[tuple[Idiom, float]]:
    """Idioms whose meaning matches a described situation, best first.

    BM25 over the explanations; variants fold into their main form, and idioms with an
    example sentence (the ones people actually use) get a small lift.
    """
    description = require_chinese(description)
    best: dict[str, tuple[Idiom, float]] = {}
    for idiom, score in get_meaning_index().search(description, k * 6):
        main = canonical(idiom)
        score *= 1.15 if main.example else 1.0
        if main.word not in best or best[main.word][1] < score:
            best[main.word] = (main, score)
    return sorted(best.values(), key=lambda pair: -pair[1])[:k]


@dataclass
class Judgement:
    correct: bool
    reason: str
    word: str = ""
    meaning: str = ""
    checked_by: str = "dictionary"  # "dictionary" (form only) or "model"


async def judge_usage(sentence: str, word: str, engine: Engine | None = None,
                      lang: str = "zh") -> Judgement:
    """Is `word` used correctly in `sentence`, and why.

    The dictionary settles the form: a misspelt idiom (one character off) or an idiom
    missing from the sentence is wrong. Whether the meaning fits the sentence needs the
    model: it is shown the dictionary meaning and asked yes or no, scored as choices so the
    answer is a comparison of probabilities, not free text.
    """
    sentence = require_chinese(sentence)
    dictionary = get_dictionary()
    idiom = dictionary.lookup(word)  # characters, traditional characters or pinyin
    word = word.strip() if idiom is not None else require_chinese(word)
    if idiom is None:
        near = dictionary.closest(word, 3)
        return Judgement(False, t("chengyu.judge_unknown", lang, word=word,
                                  suggestions="、".join(d.word for d in near) or "-"), word)
    text = to_simplified(sentence)
    if idiom.word not in text and all(m.word != idiom.word for m in find_idioms(sentence)):
        misspelt = _misspelling_in(text, idiom)
        if misspelt:
            return Judgement(False, t("chengyu.judge_misspelt", lang, found=misspelt,
                                      word=idiom.word), idiom.word, idiom.explanation)
        return Judgement(False, t("chengyu.judge_absent", lang, word=idiom.word),
                         idiom.word, idiom.explanation)
    if engine is None:
        return Judgement(True, t("chengyu.judge_form_only", lang, word=idiom.word,
                                 meaning=idiom.explanation), idiom.word, idiom.explanation)
    prompt = (f"成语“{idiom.word}”的意思是：{idiom.explanation}\n"
              f"句子：{sentence}\n问：这个句子中“{idiom.word}”用得对吗？答：用得")
    yes, no = await engine.score_choices(prompt, ["对", "不对"])
    correct = yes >= no
    key = "judge_fits" if correct else "judge_misfits"
    return Judgement(correct, t(f"chengyu.{key}", lang, word=idiom.word,
                                meaning=idiom.explanation), idiom.word, idiom.explanation,
                     "model")


def _misspelling_in(text: str, idiom: Idiom) -> str | None:
    """A window of `text` one character away from the idiom (画蛇添脚 for 画蛇添足)."""
    n = len(idiom.word)
    for size in (n, n - 1, n + 1):
        for start in range(0, max(len(text) - size + 1, 0)):
            window = text[start:start + size]
            if window in get_dictionary():
                continue
            if any(d.word == idiom.word for d in get_dictionary().fuzzy(window, 20)):
                return window
    return None
