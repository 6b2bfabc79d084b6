"""Where a turn goes: a command, an idiom skill, a knowledge question or small talk.

The rules here are cheap and predictable, which matters on a 2-core machine. The knowledge
base and the idiom dictionary are reached only through the adapter functions at the bottom,
so the rest of the pipeline never depends on how those parts are built.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from zhiyan.assistant.prompts import Passage
from zhiyan.engine.base import ChatRequest, Engine, Message
from zhiyan.i18n import LANGUAGES, t

RouteKind = Literal["command", "idiom", "knowledge", "smalltalk"]


@dataclass
class Command:
    name: Literal["help", "lang", "reset"]
    arg: str = ""


_LANG_COMMAND = re.compile(r"^\s*(?:lang|language|lugha|bahasa|harshe|ede|èdè|语言)\s+(\S+)\s*$",
                           re.IGNORECASE)
_RESET_WORDS = {"reset", "new", "restart", "重新开始", "新对话", "anza upya", "mulai baru",
                "mula semula", "sake farawa"}


def parse_command(text: str, lang: str) -> Command | None:
    """HELP (or the help word of the user's language), LANG <code>, RESET."""
    stripped = text.strip()
    lowered = stripped.lower().rstrip("!.。！")
    if match := _LANG_COMMAND.match(stripped):
        return Command("lang", match.group(1).lower())
    if lowered in _RESET_WORDS:
        return Command("reset")
    help_words = {w.strip().lower() for w in t("core.help_words", lang).split(",")}
    help_words |= {w.strip().lower() for w in t("core.help_words", "en").split(",")}
    if lowered in help_words:
        return Command("help")
    return None


_GREETINGS = re.compile(
    r"^\W*(hi+|hello|hey|yo|thanks?|thank you|thx|ok(ay)?|good (morning|night|evening)|bye|"
    r"你好\w?|您好|谢谢\w?|再见|早上好|晚安|สวัสดี\S*|ขอบคุณ\S*|habari\w*( yako)?|mambo( vipi)?|"
    r"asante( sana)?|sannu\w*|na gode|bawo ni|e kaaro|selamat (pagi|siang|malam)|terima kasih|"
    r"makasih|apa (kh)?abar|ሰላም\w*|አመሰግናለሁ)\W*$",
    re.IGNORECASE,
)


def is_smalltalk(text: str) -> bool:
    return bool(_GREETINGS.match(text.strip()))


_MEANING_CUES = re.compile(
    r"什么意思|啥意思|的意思|是什么|解释|出处|典故|怎么用|例句|mean|meaning|explain|maana|"
    r"maksud|erti|arti|ความหมาย|ma'ana|itumo|ትርጉም", re.IGNORECASE)


# -- adapters to the other parts of zhiyan --------------------------------------------------


@dataclass
class IdiomEntry:
    word: str
    pinyin: str
    explanation: str
    derivation: str
    example: str | None


def find_idiom(text: str) -> IdiomEntry | None:
    """The idiom a message asks about: a dictionary idiom in it, in characters or in
    pinyin ("what does hua she tian zu mean"), when the message is the idiom alone or asks
    what one means."""
    if not re.search(r"[\u4e00-\u9fff]{4}", text):
        return _pinyin_idiom(text)
    from zhiyan.chengyu.detect import find_idioms

    for match in find_idioms(text):
        alone = len(re.sub(r"[\W\s]", "", text)) <= len(match.word) + 1
        if alone or _MEANING_CUES.search(text):
            return _entry(match.idiom)
    return None


_PINYIN_SCAN_CHARS = 200
_PINYIN_SYLLABLE = re.compile(r"[a-zA-Zü:āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]{1,7}")


def _pinyin_idiom(text: str) -> IdiomEntry | None:
    """An idiom spelled in pinyin, one syllable a word: 4 to 8 words in a row that spell
    exactly an idiom's pinyin (with or without tones; English words rarely do). Only the
    start of a message is read: a question about an idiom is short, and every message
    without Chinese characters comes through here (a 4,000-character one took 38 ms)."""
    words = _PINYIN_SYLLABLE.findall(text[:_PINYIN_SCAN_CHARS])
    if len(words) < 4 or not (len(words) <= 8 or _MEANING_CUES.search(text)):
        return None
    from zhiyan.chengyu.dictionary import get_dictionary

    dictionary = get_dictionary()
    for size in range(4, 9):
        for start in range(len(words) - size + 1):
            found = dictionary.by_pinyin(" ".join(words[start:start + size]))
            if found and (size == len(words) or _MEANING_CUES.search(text)):
                return _entry(found[0])
    return None


def _entry(idiom: Any) -> IdiomEntry:
    return IdiomEntry(idiom.word, idiom.pinyin, idiom.explanation, idiom.derivation,
                      idiom.example)


def idiom_passage(entry: IdiomEntry) -> Passage:
    text = f"{entry.word}（{entry.pinyin}）\n释义：{entry.explanation}"
    if entry.derivation:
        text += f"\n出处：{entry.derivation}"
    if entry.example:
        text += f"\n例句：{entry.example}"
    return Passage(number=1, doc_id=f"chengyu:{entry.word}", title=f"成语词典：{entry.word}",
                   text=text, source="chengyu-dictionary", lang="zh")


KnowledgeProvider = Callable[[], Any]


def knowledge_provider(app: Any) -> KnowledgeProvider:
    """The application's knowledge base, opened on first use, so building the app stays
    fast. A broken install fails loudly here rather than silently answering unsourced."""

    def provide() -> Any:
        from zhiyan.knowledge.base import knowledge_for

        return knowledge_for(app)

    return provide


async def search_knowledge(kb: Any, query: str, lang: str, k: int,
                           previous: str | None = None) -> list[Any]:
    """The knowledge base's relevant hits for a message, best first; [] when none is
    relevant (the knowledge part's `retrieve`: the user's language first, follow-ups).
    At least as many as the grounded pipeline reads are returned, so an extracted answer
    reads these hits instead of searching again."""
    if kb is None:
        return []
    from zhiyan.knowledge.grounded import RETRIEVE_K, retrieve

    return await retrieve(kb, query, lang=lang, k=max(k, RETRIEVE_K), previous=previous)


def knowledge_passages(hits: list[Any], query: str, k: int) -> list[Passage]:
    """The best `k` hits as numbered passages, long chunks focused on the query."""
    from zhiyan.knowledge.grounded import MAX_QUESTION_CHARS, focus

    query = query[:MAX_QUESTION_CHARS]
    return [
        Passage(number=i, doc_id=str(h.doc_id), title=str(h.title),
                text=focus(str(h.text), query), version=h.version,
                chunk_id=str(h.chunk_id), source=h.source, lang=h.lang)
        for i, h in enumerate(hits[:k], start=1)
    ]


# -- routing by the model, grammar-constrained --------------------------------------------

ROUTE_GRAMMAR = 'root ::= "knowledge" | "idiom" | "smalltalk"'
_ROUTE_PROMPT = (
    "Classify the user's message. Answer with one word: idiom (asks about a Chinese idiom "
    "成语), knowledge (asks for facts or an explanation), or smalltalk (greeting, thanks, "
    "chat)."
)


async def route_with_model(engine: Engine, text: str) -> RouteKind:
    """The route as the model sees it, its output held to the three names by a grammar."""
    result = await engine.chat(ChatRequest(
        messages=[Message(role="system", content=_ROUTE_PROMPT),
                  Message(role="user", content=text[:500])],
        max_tokens=4, temperature=0.0, seed=0, grammar=ROUTE_GRAMMAR))
    word = result.content.strip().lower()
    return word if word in ("knowledge", "idiom", "smalltalk") else "knowledge"  # type: ignore[return-value]


def known_language(code: str) -> str | None:
    code = code.lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None
