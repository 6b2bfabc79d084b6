"""Grounded answers: retrieve, fit passages into the context, extract, verify and cite.

A small model paraphrasing long passages is slow and drifts; copying the shortest span
that answers the question is fast and checkable. So the prompt asks for the exact span and
the passage number, and the reply is verified against the passages: a citation always
names a passage that was shown, and an answer found in no cited passage is re-attributed to
the passage that contains it. Generation stops where the model opens the bracket of its
passage number (`ANSWER_STOP`): the span is snapped to the passage that holds it anyway, and
the number and end of turn cost three more decoding steps. The span is then widened to
what the question asks for (`widen`: the whole sentence for a why or how question, whole
clauses for "哪些"), which costs no decoding: the model only has to point at the place.
A question answered by a whole sentence (why, how, yes-no, "什么是X") is not sent to the
model at all: the shown sentence sharing most words with the question points at the place
better than the model does (`best_sentence`), and the reply costs no generation. A
definition question gets the sentence defining its term (`defining_sentence`), a question
on a name's origin or a death the sentence with its cue word (`cued_sentence`), both from
the passages' whole text; "X的别名是什么" gets the alias clause that follows X itself
(`alias_span`), also without generation.
When retrieval finds nothing relevant the reply says it does not know (kind "dont_know")
and cites nothing.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher

from zhiyan.assistant.turn import Citation, Reply, ReplyEvent
from zhiyan.engine.base import ChatRequest, Engine, Message
from zhiyan.i18n import t
from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.chunk import sentences
from zhiyan.knowledge.segment import _jieba, normalize, tokens
from zhiyan.knowledge.types import Hit

#: chunks retrieved; the best `MAX_PASSAGES` relevant ones are shown to the model
RETRIEVE_K = 6
MAX_PASSAGES = 2
#: a hit is relevant when this IDF-weighted share of the question's words occur in it …
MIN_COVERAGE = 0.4
#: … or when its embedding is this close to the question's
MIN_COSINE = 0.88
#: characters of each passage shown: the sentences that share most words with the question
#: (reading prompt tokens dominates answer latency on 2 cores: ~17-20 ms a token against
#: ~50 ms per generated one, and ~2/3 of the time goes to the prompt). On CMRC 2018
#: questions 200-399 the whole gold answer is in the two focused passages for 89% of
#: questions at 160 characters, 87.5% at 120, 84% at 100; on questions 200-259 with the
#: default model (same session), 160 gave F1 0.674 at p50 5.1 s, 120 F1 0.672 at 4.1 s
FOCUS_CHARS = 120
#: tokens kept free for the instructions, the question and the template
PROMPT_OVERHEAD = 400
#: characters of a question searched with (a longer message is cut, not refused)
MAX_QUESTION_CHARS = 500
#: the model writes "span [n]": stopping at the bracket saves ~3 of ~24 decoding steps, and
#: on CMRC questions 200-259 the citations and F1 were the same without the model's number
ANSWER_STOP = " ["

_MARKER = re.compile(r"\[(\d{1,2})\]")
_LEADIN = re.compile(r"^(?:答案|回答|答|answer)\s*[:：]\s*", re.IGNORECASE)
_COPULA = re.compile(r"^(?:是|为|(?:is|was|are|were)\s)\s*", re.IGNORECASE)
_HOW_MANY = re.compile(r"多少|几")
_WHEN = re.compile(r"什么时候|何时|哪一年|哪年|什么时间|哪一天|几月|几年")
# A date as CMRC spans write it: optional two-character era name (never a preposition),
# year, an optional bracketed Gregorian year, month and day: "天正16年（1588年）", "1628年".
_ONE_DATE = (r"\d{1,4}年(?:\s?[（(]\d{3,4}年[）)])?(?:\d{1,2}月)?(?:\d{1,2}日)?"
             r"|\d{1,2}月(?:\d{1,2}日)?")
# A range stays whole ("1984年10月7日至1985年9月29日"): CMRC spans never cut one.
#: an era name: two Han characters, never starting with a preposition ("天正", "正德")
_ERA_NAME = r"(?:(?![于在至到从自])[\u4e00-\u9fff]){2}"
_ERA = r"(?:" + _ERA_NAME + r"(?=\d{1,4}年))?"
_RANGE = r"\s?[至到\-－–~～]\s?"
# … as does one whose first end is a bare number ("2至4月", "3-8月").
_DATE = re.compile(_ERA + r"(?:\d{1,4}" + _RANGE + "(?:" + _ONE_DATE + ")|(?:" + _ONE_DATE + ")"
                   r"(?:" + _RANGE + "(?:" + _ONE_DATE + "))?)")
#: what CMRC spans keep before a number ("约两平方公里", "第20张", "达70-80公里") …
_NUMBER_PREFIX = set("约第达近逾共")
_NUMBER = re.compile(r"^[\d两一二三四五六七八九十百千万]")
#: … and after it: no span of theirs ends in a bare digit ("5张", "10次")
_LATIN_GLOSS = re.compile(r"\s*[（(][A-Za-z][^（）()]*[）)]$")
#: a reign-era date and the Gregorian year bracketed after it ("正德五年（1510年）", "承光元年
#: （577年）"), then an optional month and day: CMRC spans keep the era date with the year
_CN_NUM = "[一二三四五六七八九十\\d]{1,3}"
_ERA_YEAR = re.compile(_ERA_NAME + r"[元正一二三四五六七八九十廿\d]{1,4}年"
                       rf"[（(]\d{{3,4}}年[）)](?:{_CN_NUM}月(?:{_CN_NUM}日)?)?")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_WHAT = re.compile(r"什么|哪个|哪些|哪种|哪")
_CLAUSE_PUNCT = set("，。；：！？,;:!?、（）()「」“”\"\n")
_SENTENCE_END = re.compile(r"(?<=[。！？!?])\s*")
# Question types whose CMRC 2018 spans run to whole clauses or sentences. Read off the gold
# spans of trial questions 200-399 (share that is a whole sentence / starts at a clause /
# ends at one): why 80/90/100%, how 60/90/95%, yes-no 3 of 3 whole sentences, "什么是X" and
# "X是什么" 4 of 5 (the defining sentence); "有什么特点" and the like 45/100/100%, "哪些"
# 38/75/100%; other "…的Y是什么" 30/74/65%; where 11/32/89%; who 0/29/57%; the rest (when,
# how many, what) ~20/55/70%.
_SENTENCE_Q = re.compile(r"为什么|为何|原因|何故|怎样|怎么|如何|什么样|吗[？?]?$"
                         r"|^什么是|^何谓|^[^的]{1,15}(?:是什么|(?:是|的)?指(?:的是)?什么|的定义是什么)[？?]?$"
                         r"|名[字称]?的?(?:由来|来历|起源)|死因")
_THEREFORE = re.compile(r"因此|所以|因而|于是|故此|从而")
#: "被称为什么", "称之为什么", "列为什么" ask for a name, not a reason
_NOT_WHY = re.compile(r"[称成作认以叫之视名改译列分选定封任评升更]为什么")
_CLAUSE_Q = re.compile(
    r"哪些|(?:有|具有)(?:什么|哪些|何)(?:特点|特征|特色|作用|用途|影响|意义|变化|好处|危害|功能"
    r"|优点|缺点|不同|区别|之处|贡献|成就)|(?:特点|特征|区别|分别|不同)是什么")
_NO_LEAD_Q = re.compile(r"谁|哪里|哪儿|在哪|什么地方|多少|几|多大|多长|多高|多久")
_SENTENCE_STOP = set("。！？!?\n")
_CLAUSE_STOP = _SENTENCE_STOP | set("，；：,;:")
_CLOSING = set(")）」”》\"")
#: … and any other (but who, where, how many: 29%, 32%, 52% start at a clause) gets back up
#: to this many characters before it when a clause starts there: mostly the question's own
#: words ("别名“夜香花”", "生殖季在2至4月", "副花冠5裂"). It gained on questions 200-319 but
#: the 38 such questions of held-out 600-699 went 0.658 → 0.645 F1.
LEAD_CHARS = 4
_DONT_KNOW = re.compile(
    r"不知道|无法回答|没有(?:相关)?(?:信息|答案)|i don'?t know|not (?:in|mentioned)", re.IGNORECASE)

SYSTEM_ZH = (
    "你是知言，根据编号资料回答问题的助手。规则：只用资料回答；照抄资料中能回答问题的最短原文片段，"
    "不要改写，不要解释，不要重复问题里的词，不要写完整句子；在答案后写出所用资料的编号。"
    "如果资料中没有答案，只回答：不知道\n\n"
    # Worked examples: a constant prefix, so llama.cpp reuses its cached state every turn.
    "例子：\n资料：\n[1] 张衡\n张衡是东汉时期的天文学家，他在公元132年发明了候风地动仪。\n"
    "问题：张衡在哪一年发明了地动仪？\n回答：公元132年 [1]\n"
    "问题：张衡是什么时期的天文学家？\n回答：东汉时期 [1]\n"
    "资料：\n[1] 尼罗河\n尼罗河全长6650公里，流经十一个国家，最终注入地中海。\n"
    "问题：尼罗河最终注入哪里？\n回答：地中海 [1]"
)
SYSTEM_EN = (
    "You are zhiyan. Answer the question using only the numbered passages. Reply with the "
    "shortest exact phrase copied from a passage that answers the question, then the passage "
    "number in brackets, for example: in 1963 [1]. Do not explain. If the passages do not "
    "contain the answer, reply only: I don't know"
)


@dataclass
class GroundedPrompt:
    messages: list[Message]
    passages: list[Hit]
    #: the text of each passage as shown (focused on the question)
    shown: list[str] = field(default_factory=list)


_DISAMBIGUATION = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")


def names_title(hit: Hit, question: str) -> bool:
    """Whether the question names the hit's title (2+ characters, without a trailing
    "(disambiguation)"): "哪些地方种植黄蝉？" is about 黄蝉 although its other words
    ("哪些地方", "种植") outweigh the name in the IDF-weighted coverage."""
    name = normalize(_DISAMBIGUATION.sub("", hit.title or ""))
    if len(name) < 2:
        return False
    if _HAN.search(name):
        return name in normalize(question)
    # a Latin title as whole words: "Go" is not named by "good"
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", normalize(question)) is not None


def relevant(hits: list[Hit], question: str = "") -> list[Hit]:
    """Hits worth showing: enough of the question's words, or a close embedding, or a
    title the question names (on CMRC 2018 questions 200-399, 4 of the 7 questions left
    with no relevant hit name their gold passage's title)."""
    keep = [h for h in hits if h.coverage >= MIN_COVERAGE or (h.cosine or 0.0) >= MIN_COSINE
            or (question and names_title(h, question))]
    seen: set[tuple[str, int]] = set()
    out = []
    for hit in keep:
        key = (hit.doc_id, hit.chunk_id)
        if key not in seen:
            seen.add(key)
            out.append(hit)
    return out


def follow_up(question: str, hits: list[Hit], current_doc: str | None) -> list[Hit]:
    """The hits reordered for a question asked in a conversation. One that names none of
    its hits' titles ("该漫画是由谁创作的？", "when was it built?") is taken to be about the
    conversation's current document (what the previous question found): that document's
    chunks among the hits come first. A question that names a title keeps its own order,
    and so does one whose hits do not include the current document: a new topic wins."""
    if current_doc is None or not any(h.doc_id == current_doc for h in hits):
        return hits
    if any(names_title(h, question) for h in hits):
        return hits
    return ([h for h in hits if h.doc_id == current_doc]
            + [h for h in hits if h.doc_id != current_doc])


async def retrieve(kb: KnowledgeBase, question: str, *, lang: str | None = None,
                   k: int = RETRIEVE_K, previous: str | None = None) -> list[Hit]:
    """The relevant hits for a question, best first; [] when none is relevant. Searches in
    `lang` first, then across languages (the model translates). With the conversation's
    `previous` question, a follow-up that names none of its hits' titles is taken to be
    about the document that question found (`follow_up`)."""
    question = question.strip()[:MAX_QUESTION_CHARS]
    hits = relevant(await kb.search(question, k=k, lang=lang), question)
    if not hits and lang:
        hits = relevant(await kb.search(question, k=k), question)
    if hits and previous:
        hits = follow_up(question, hits, await current_document(kb, previous))
    return hits


async def current_document(kb: KnowledgeBase, previous: str | None) -> str | None:
    """The document the conversation is about: the best relevant hit of the previous
    question, if any."""
    previous = (previous or "").strip()[:MAX_QUESTION_CHARS]
    if not previous:
        return None
    hits = relevant(await kb.search(previous, k=1), previous)
    return hits[0].doc_id if hits else None


def _overlap(question: str, parts: list[str], ignore: str = "") -> list[float]:
    """How much each part shares with the question: shared words first; shared characters
    break ties (体重 ~ 八公斤重, 哪年 ~ 1628年). Words and characters of `ignore` (the
    passage's title) do not count: the subject's name recurs in every sentence about it."""
    wanted = set(tokens(question)) - set(tokens(ignore))
    chars = {c for c in normalize(question) if c.isalnum()} - set(normalize(ignore))
    return [sum(len(w) for w in wanted & set(tokens(p))) + 0.5 * len(chars & set(normalize(p)))
            for p in parts]


def focus(text: str, question: str, max_chars: int = FOCUS_CHARS, title: str = "") -> str:
    """The best-matching sentence of `text` for `question`, widened by its neighbours; the
    words of `title` do not count as matches (on CMRC 2018 questions 200-399 the gold answer
    is in the two focused passages for 89% of questions instead of 83.5%)."""
    if len(text) <= max_chars:
        return text
    parts = sentences(text)
    scores = _overlap(question, parts, title)
    best = max(range(len(parts)), key=lambda i: scores[i])
    lo = hi = best
    size = len(parts[best])
    while True:
        grown = False
        for j in (hi + 1, lo - 1):
            if 0 <= j < len(parts) and size + len(parts[j]) <= max_chars:
                size += len(parts[j])
                lo, hi = min(lo, j), max(hi, j)
                grown = True
        if not grown:
            break
    return "".join(parts[lo:hi + 1])[: max(max_chars, len(parts[best]))]


def trim_echo(answer: str, question: str) -> str:
    """Drop what the model copied from the question around the answer span:
    "生命数耗完即算为踢爆" → "踢爆" (lead-in), "4分钟内不得进行配对" → "4分钟" (the tail
    after "多少", keeping its measure word).

    Only echoes of 3+ characters count, and an answer wholly in the question is left alone.
    """
    if answer in question:
        return answer
    if _WHEN.search(question):
        date = _DATE.search(answer)
        if date and len(answer) > len(date.group()) + 2:
            return date.group().strip()
    for cut in range(len(answer) - 1, 2, -1):
        if answer[:cut] in question and (answer[cut - 1] > "\u2e80" or answer[cut] == " "):
            answer = _COPULA.sub("", answer[cut:].strip(" ，,:：")) or answer
            break
    # "什么时期的武将" → "…时代的武将": the copied "的…" after the asked-for noun goes.
    what = _WHAT.search(question)
    if what and "的" in question[what.end():]:
        after = question[what.end():].rstrip("？?。. ")
        tail = after[after.index("的"):]
        if len(tail) >= 2 and answer.endswith(tail) and len(answer) > len(tail) + 1:
            return answer[:-len(tail)]
    # After a number question the measure word stays ("4分钟内不得…" → "4分钟"); after
    # "什么" the rest is often part of the gold span, so only "的…" tails go (above).
    wh = _HOW_MANY.search(question)
    if wh:
        after = question[wh.end():].rstrip("？?。. ")
        if after:
            after = after[len(next(iter(_jieba().cut(after)))):]
        for start in range(len(after) - 2):
            tail = after[start:]
            if answer.endswith(tail) and len(answer) > len(tail):
                return answer[:-len(tail)].rstrip("，, ")
    return answer


def one_sentence(answer: str, question: str) -> str:
    """Of an answer that runs over several sentences, the one sharing most with the question
    (the first on ties): a copied sentence of context before or after the answering one only
    lowers precision."""
    parts = [p for p in _SENTENCE_END.split(answer) if p.strip()]
    if len(parts) < 2:
        return answer
    scores = _overlap(question, parts)
    best = max(range(len(parts)), key=lambda i: (scores[i], -i))
    return parts[best].strip()


def snap(answer: str, texts: list[str], min_share: float = 0.5) -> str:
    """The span of a passage the answer was copied from, verbatim.

    A small model copying a span still slips (a name for "本鱼", a dropped character); the
    passage's own characters score and verify better. The span runs from the first to the
    last character run (2+ characters) matched around the longest one, without large gaps;
    when less than `min_share` of the answer is matched the answer is left as it is."""
    if not answer or any(answer in text for text in texts):
        return answer
    best, best_matched = answer, 0
    for text in texts:
        blocks = [b for b in SequenceMatcher(None, text, answer, autojunk=False)
                  .get_matching_blocks() if b.size >= 2]
        if not blocks:
            continue
        k = max(range(len(blocks)), key=lambda i: blocks[i].size)
        lo = hi = k
        while lo > 0 and blocks[lo].a - blocks[lo - 1].a - blocks[lo - 1].size <= 4 \
                and blocks[lo].b - blocks[lo - 1].b - blocks[lo - 1].size <= 4:
            lo -= 1
        while hi + 1 < len(blocks) and blocks[hi + 1].a - blocks[hi].a - blocks[hi].size <= 4 \
                and blocks[hi + 1].b - blocks[hi].b - blocks[hi].size <= 4:
            hi += 1
        matched = sum(b.size for b in blocks[lo:hi + 1])
        if matched > best_matched:
            best_matched = matched
            start, end = blocks[lo].a, blocks[hi].a + blocks[hi].size
            # What the model wrote instead of the passage's words at either end ("斯氏腔吻鳕"
            # for "本鱼") stands for them: take the passage's, up to a clause boundary.
            for _ in range(blocks[lo].b):
                if start == 0 or text[start - 1] in _CLAUSE_PUNCT:
                    break
                start -= 1
            for _ in range(len(answer) - blocks[hi].b - blocks[hi].size):
                if end == len(text) or text[end] in _CLAUSE_PUNCT:
                    break
                end += 1
            best = text[start:end]
    return best if best_matched >= min_share * len(answer) else answer


def boundaries(answer: str, texts: list[str]) -> str:
    """Span edges as CMRC 2018 annotators draw them, read off their spans (questions
    200-399): the hedge or ordinal before a number is kept ("约", "第"), a span never ends
    in a bare digit (the measure word follows), and the Latin gloss after a name is left
    out ("保罗·塞里诺（Paul Sereno）" → "保罗·塞里诺"). A year the model copies from a reign-era
    date grows to the whole date ("1510年" → "正德五年（1510年）十月"): in CMRC trial questions
    200-599 every gold span touching such a date (7) holds the era date and its year."""
    if _HAN.search(answer) and _LATIN_GLOSS.search(answer):
        stripped = _LATIN_GLOSS.sub("", answer)
        if _HAN.search(stripped):
            answer = stripped
    for text in texts:
        # a number as a whole number: "5" is not the 5 of "2005"
        spans = [(m.start(), m.end()) for m in re.finditer(re.escape(answer), text)
                 if not (answer[:1].isdigit() and text[m.start() - 1:m.start()].isdigit())
                 and not (answer[-1:].isdigit() and text[m.end():m.end() + 1].isdigit())]
        if not spans:
            continue
        start, end = spans[0]
        if start > 0 and _NUMBER.match(answer) and text[start - 1] in _NUMBER_PREFIX:
            start -= 1
        # a year copied from inside "正德五年（1510年）", or the era date without its year
        for era in _ERA_YEAR.finditer(text, max(0, start - 12), min(len(text), end + 20)):
            if era.start() <= start and end <= era.end() and "年" in answer:
                start, end = era.start(), max(end, era.end())
                break
        if answer[-1:].isdigit() and end < len(text) and _HAN.match(text[end]):
            words = list(_jieba().cut(text[end:end + 6]))
            end += len(words[0]) if words and len(words[0]) <= 4 else 1
        return text[start:end]
    return answer


def _reach(text: str, start: int, end: int, stop: set[str], lead: int | None = None,
           grow_end: bool = True) -> tuple[int, int]:
    """`text[start:end]` grown to the nearest `stop` character before it (when that is at most
    `lead` characters back and no bracket or quote closes there; None: however far) and, with
    `grow_end`, to the nearest one after it."""
    s = start
    while s > 0 and text[s - 1] not in stop:
        s -= 1
    if lead is not None and (start - s > lead or any(c in _CLOSING for c in text[s:start])):
        s = start
    e = end
    while grow_end and e < len(text) and text[e] not in stop:
        e += 1
    return s, e


def widen(answer: str, question: str, texts: list[str]) -> str:
    """The span grown to what a CMRC 2018 annotator marks for this kind of question: the
    whole sentence for why / how / yes-no questions, whole clauses for "有什么特点" and "哪些"
    ones, and for the rest (but who, where and how many) up to `LEAD_CHARS` characters
    back to a clause start. Chinese questions only: the rules are read off CMRC's spans.
    Re-scoring recorded outputs: F1 0.677 → 0.722 on questions 200-259 (designed on them),
    0.615 → 0.628 on 260-319; held-out 600-699 (same generations): 0.643 → 0.674."""
    if not _HAN.search(question):
        return answer
    for text in texts:
        start = text.find(answer)
        if start < 0:
            continue
        end = start + len(answer)
        if _SENTENCE_Q.search(_NOT_WHY.sub("", question)):
            start, end = _reach(text, start, end, _SENTENCE_STOP)
            # a quotation runs to its closing mark; "因此…" needs the sentence it follows from
            close = text.find("」", end)
            if close > 0 and text.count("「", start, end) > text.count("」", start, end):
                end = close + 1 if text[close - 1] in _SENTENCE_STOP else \
                    _reach(text, start, close + 1, _SENTENCE_STOP)[1]
            if start > 1 and _THEREFORE.match(text, start):
                start, _ = _reach(text, start - 1, end, _SENTENCE_STOP)
        elif _CLAUSE_Q.search(question):
            start, end = _reach(text, start, end, _CLAUSE_STOP)
        elif not _NO_LEAD_Q.search(question):
            start, end = _reach(text, start, end, _CLAUSE_STOP, LEAD_CHARS, grow_end=False)
        return text[start:end].strip()
    return answer


def asks_for_a_sentence(question: str) -> bool:
    """Why / how / yes-no / "什么是X" questions: CMRC 2018 marks a whole sentence."""
    return bool(_HAN.search(question)) and bool(_SENTENCE_Q.search(_NOT_WHY.sub("", question)))


def best_sentence(question: str, passages: list[Hit], shown: list[str]) -> tuple[int, str]:
    """(passage number, sentence): of the shown sentences the one sharing most with the
    question (the first on ties), not counting the top passage's title in any passage (so
    a second passage that repeats the subject's name does not win on the name alone).

    For a question answered by a whole sentence this is what the default model is asked to
    point at, and it points worse: on the sentence-type questions of CMRC 2018 trial
    questions 200-399 (37), the widened best sentence scores F1 0.662, while on 25 of them
    with recorded model answers the model's sentence scored 0.554 (the overlap's 0.655):
    it often copies the sentence after the one that echoes the question. It did not carry
    over to held-out questions 600-699 (24 sentence questions: model 0.687, this 0.617);
    what it surely gives is latency: no generation for a quarter of the questions."""
    ignore = passages[0].title if passages else ""
    best: tuple[float, int, str] = (-1.0, 1, "")
    for number, text in enumerate(shown, 1):
        parts = sentences(text)
        for part, score in zip(parts, _overlap(question, parts, ignore), strict=True):
            if score > best[0]:
                best = (score, number, part)
    return best[1], best[2]


#: "什么是X", "X是什么", "X指的是什么", "X的定义是什么", "何谓X": X is asked to be defined
_DEFINE_Q = re.compile(r"^(?:什么是|何谓)(?P<a>.{1,20}?)[？?]?$|^(?P<b>[^的]{1,15}?)"
                       r"(?:是什么|(?:是|的)?指(?:的是)?什么|的定义是什么)[？?]?$")
#: what follows X in its defining sentence: an optional bracketed gloss, optional alias
#: clauses ("，简称百老汇", "，亦称做三角恋…"), then the copula
_DEFINES = (r"(?:\s*[（(][^（）()]*[）)])?(?P<alias>(?:[，,]\s*(?:简称|又称|亦称|也称|或称|又名"
            r"|别名|别称|俗称|全称|旧称|原名|原称|通称|学名)[^，,。；]{0,30}?)*?)[，,]?\s*"
            r"(?P<copula>是指|是|指|就是|即)")


def _bare(term: str) -> str:
    """A term as asked, normalized, without a trailing "(disambiguation)" or quotes."""
    return _DISAMBIGUATION.sub("", normalize(term)).strip().strip("《》“”\"「」 ")


def defined_term(question: str) -> str | None:
    """X of a definition question, normalized, without quotes or a bracketed gloss."""
    match = _DEFINE_Q.match(question.strip())
    if not match:
        return None
    term = _bare(match.group("a") or match.group("b"))
    return term if len(term) >= 2 else None


def defining_sentence(question: str, passages: list[Hit]) -> tuple[int, str] | None:
    """(passage number, span) for a definition question: the first sentence, in the
    retrieved passages' whole text (not only the shown window), where X opens a clause and
    is followed by 是 / 是指 / 指 / 就是 / 即 (after its gloss or aliases), or is introduced
    by 所谓. The span starts at X, or at the copula when alias clauses stand between (the
    annotators leave the aliases out).

    The shown window is chosen by the question's words without the title's, and a "什么是X"
    question has no other words, so the picker often showed and picked a sentence that
    merely mentions X. Of the 12 definition questions of CMRC 2018 trial questions 200-599
    the gold span lies in the article's defining lead sentence for 11 (from X for 8, from
    the copula after aliases for 2, its first clause for 2; the 12th, "什么是棱柱的对角线",
    is "…的连线叫做棱柱的对角线"). With this rule 5 of them change, all for the better
    (0.05 → 1.0, 0.10 → 1.0, 0.87 → 1.0, 0.07 → 0.79, 0.49 → 0.60), none gets worse."""
    term = defined_term(question)
    if term is None:
        return None
    name = re.escape(term)
    pattern = re.compile(r"(?:^|(?<=[，,；;：:]))[^\u4e00-\u9fff，,；;：:]{0,12}?(?P<term>[《“「]?"
                         + name + r"[》”」]?" + _DEFINES + r")|(?P<so_called>所谓的?" + name + ")")
    for number, hit in enumerate(passages, 1):
        for part in sentences(hit.text):
            plain = normalize(part)
            found = pattern.search(plain)
            if found is None:
                continue
            if found.group("so_called"):
                start = found.start("so_called")
            else:
                start = found.start("copula" if found.group("alias") else "term")
            # normalizing seldom changes a sentence's length; when it does, keep it whole
            return number, part[start:] if len(plain) == len(part) else part
    return None


#: questions about how a name came about or how someone died, and the words that mark the
#: sentence answering them (the focus window is chosen by overlap, which these lack)
_CUES = (
    (re.compile(r"名[字称]?(?:是)?(?:怎样|怎么|如何)得?来|名[字称]?的?(?:由来|来历|起源)"
                r"|(?:怎样|怎么|如何)得名"),
     re.compile(r"得名|命名|赐名|故名|名[字称]的?(?:由来|起源|来历)")),
    (re.compile(r"(?:怎么|怎样|如何)(?:死|去世|逝世|身亡)|死因"),
     re.compile(r"死|逝世|去世|身亡|遇害|被杀|诛|卒于|殁|自尽|自杀|病故|阵亡|处决|遇刺")),
)


def cued_sentence(question: str, passages: list[Hit]) -> tuple[int, str] | None:
    """(passage number, sentence) for a question on a name's origin or a death: of the
    sentences of the retrieved passages' whole text holding the answer's cue word ("得名",
    "赐名"; "身亡", "诛"), the one sharing most with the question (the first on ties).
    On CMRC 2018 trial questions 200-599, 5 answers changed, all from F1 ≤ 0.15 to 1.0
    ("盾柱木的名字是怎样得来的？", "蔡敏的死因是什么？"), none got worse; the gold sentence
    was often not in the shown window at all."""
    for asked, cue in _CUES:
        if not asked.search(question):
            continue
        found = [(number, part) for number, hit in enumerate(passages, 1)
                 for part in sentences(hit.text) if cue.search(part)]
        if found:
            scores = _overlap(question, [part for _, part in found], passages[0].title)
            return found[max(range(len(found)), key=lambda i: (scores[i], -i))]
    return None


_ALIAS_WORDS = r"别名|别称|又名|又称|亦称|也称|俗称|或称|又叫"
#: "X的别名是什么", "X的别称叫什么", "X的又名是什么"
_ALIAS_Q = re.compile(r"^(?P<term>[^，,？?]{1,20}?)的(?:" + _ALIAS_WORDS
                      + r")(?:是什么|叫什么|有哪些|有什么)[？?]?$")


def alias_span(question: str, passages: list[Hit]) -> tuple[int, str] | None:
    """(passage number, span) for "X的别名是什么": the clause from the alias word to the
    clause's end, where the alias word follows X itself (after its bracketed gloss), not
    another name that merely contains X ("软枝黄蝉…，别称…" is no answer for 黄蝉).

    The model copied the aliases of the wrong subject when a second passage listed some
    ("蓍的别名" → 雷公藤's "别名黄藤") or cut the list short. On CMRC 2018 trial questions
    200-599 (6 such questions, all with the alias word in the gold span) 3 answers went to
    F1 1.0 from 0.08, 0.34, 0.09, the other 3 were already right and stay so, and none of
    the 6 needs generation. "X又叫什么" is left to the model: its gold spans (2 of 3) leave
    the alias word out."""
    match = _ALIAS_Q.match(question.strip())
    if not match:
        return None
    term = _bare(match.group("term"))
    if not term:
        return None
    pattern = re.compile(r"(?:^|(?<=[，,。；;]))[^\u4e00-\u9fff，,；;]{0,12}?[《“「]?"
                         + re.escape(term) + r"[》”」]?\s*(?:[（(][^（）()]*[）)])?\s*[，,]?\s*"
                         r"(?P<alias>" + _ALIAS_WORDS + ")")
    for number, hit in enumerate(passages, 1):
        for part in sentences(hit.text):
            plain = normalize(part)
            found = pattern.search(plain)
            # normalizing seldom changes a sentence's length; when it does, skip it
            if found and len(plain) == len(part):
                start = found.start("alias")
                # the clause ends at the original's punctuation (NFKC turns "，" into ",")
                end = next((i for i in range(start, len(part)) if part[i] in "，,。；"),
                           len(part))
                return number, part[start:end]
    return None


def sentence_answer(question: str, prompt: GroundedPrompt, lang: str | None) -> Reply:
    """A sentence question's reply without generation: the defining sentence of a definition
    question, else the cued sentence of a name-origin or death question, else the best
    sentence, widened as CMRC annotators mark such answers, citing its passage."""
    defined = defining_sentence(question, prompt.passages)
    if defined is not None:
        number, span = defined
        return _cited(span.rstrip("。.").strip(), [number], prompt.passages, lang)
    number, sentence = (cued_sentence(question, prompt.passages)
                        or best_sentence(question, prompt.passages, prompt.shown))
    core = sentence.rstrip("。.").strip()
    core = widen(core, question, [h.text for h in prompt.passages]) or core
    return _cited(core, [number], prompt.passages, lang)


def build_prompt(engine: Engine, hits: list[Hit], question: str, lang: str | None,
                 max_tokens: int, focus_chars: int = FOCUS_CHARS) -> GroundedPrompt:
    """The passages that fit the context budget, numbered from 1, then the question. No
    conversation history: a follow-up's passages are found from the previous question
    (`retrieve`), and on CMRC questions asked as conversations the history cost ~2 s of
    p50 and, held out, F1 (docs/benchmarks.md, "Chat answers")."""
    budget = engine.context_size - max_tokens - PROMPT_OVERHEAD - len(question)
    passages: list[Hit] = []
    shown: list[str] = []
    for hit in hits[:MAX_PASSAGES]:
        text = focus(hit.text, question, focus_chars, hit.title)
        # A character is at most one token for the languages served (CJK ≈ 1, Latin < 1).
        cost = len(hit.title) + len(text) + 8
        if cost > budget:
            break
        budget -= cost
        passages.append(hit)
        shown.append(text)
    chinese = (lang or "").startswith("zh") or any("\u4e00" <= c <= "\u9fff" for c in question)
    label, ask = ("资料", "问题") if chinese else ("Passages", "Question")
    blocks = [f"[{n}] {h.title}\n{text}" for n, (h, text) in enumerate(zip(passages, shown,
                                                                           strict=True), 1)]
    user = f"{label}:\n" + "\n\n".join(blocks) + f"\n\n{ask}: {question}"
    messages = [Message(role="system", content=SYSTEM_ZH if chinese else SYSTEM_EN),
                Message(role="user", content=user)]
    return GroundedPrompt(messages, passages, shown)


def _citation(number: int, hit: Hit) -> Citation:
    return Citation(number=number, doc_id=hit.doc_id, title=hit.title, version=hit.version,
                    chunk_id=str(hit.chunk_id), snippet=hit.text[:200], source=hit.source or None)


def dont_know(lang: str | None) -> Reply:
    return Reply(text=t("core.dont_know", lang), lang=lang or "und", kind="dont_know")


def finish(raw: str, passages: list[Hit], lang: str | None, finish_reason: str = "stop",
           question: str = "") -> Reply:
    """Verify the model's output against the passages and attach citations."""
    text = _LEADIN.sub("", raw.strip())
    numbers = [int(n) for n in _MARKER.findall(text)]
    core = _MARKER.sub("", text).strip()
    if not core or (_DONT_KNOW.search(core) and len(core) < 40):
        return dont_know(lang)
    core = trim_echo(one_sentence(core, question).rstrip("。.").strip(), question)
    texts = [h.text for h in passages]
    core = boundaries(snap(core, texts), texts) or core
    core = widen(core, question, texts) or core
    return _cited(core, numbers, passages, lang, finish_reason)


def _cited(core: str, numbers: list[int], passages: list[Hit], lang: str | None,
           finish_reason: str = "stop") -> Reply:
    """The reply for `core`, citing the passages numbered in `numbers` when one of them holds
    it, else the first passage that does."""
    cited = list(dict.fromkeys(n for n in numbers if 1 <= n <= len(passages)))
    needle = normalize(core)
    containing = [n for n, h in enumerate(passages, 1) if needle in normalize(h.text)]
    if containing and not set(cited) & set(containing):
        cited = containing[:1]
    if not cited:
        cited = [1]
    markers = "".join(f"[{n}]" for n in cited)
    return Reply(text=f"{core} {markers}", lang=lang or "und", kind="knowledge",
                 citations=[_citation(n, passages[n - 1]) for n in cited],
                 finish_reason=finish_reason)


async def answer_stream(engine: Engine, kb: KnowledgeBase, question: str,
                        lang: str | None = None, max_tokens: int = 256,
                        clean: Callable[[str, str], str] | None = None,
                        hits: list[Hit] | None = None,
                        ) -> AsyncIterator[ReplyEvent]:
    """Deltas as the model writes, then one event carrying the verified Reply (whose text
    is authoritative: markers are checked and corrected there).

    `hits`: what `retrieve` found for this question, when the caller has searched already
    (the assistant routes by what it finds, following the conversation); otherwise the
    pipeline searches for the question alone.
    `clean(text, doc_id)` rewrites each retrieved passage before the model or the answer
    rules see it (the policy's removal of instructions planted in documents), so a span
    can only be copied from what is left."""
    if hits is None:
        hits = await retrieve(kb, question)
    if clean is not None:
        hits = [replace(h, text=clean(h.text, h.doc_id)) for h in hits]
    if not hits:
        reply = dont_know(lang)
        yield ReplyEvent(delta=reply.text)
        yield ReplyEvent(reply=reply)
        return
    prompt = build_prompt(engine, hits, question, lang, max_tokens)
    if not prompt.passages:
        reply = dont_know(lang)
        yield ReplyEvent(delta=reply.text)
        yield ReplyEvent(reply=reply)
        return
    alias = alias_span(question, prompt.passages)
    if alias is not None:
        reply = _cited(alias[1], [alias[0]], prompt.passages, lang)
        yield ReplyEvent(delta=reply.text)
        yield ReplyEvent(reply=reply)
        return
    if asks_for_a_sentence(question) and any(prompt.shown):
        reply = sentence_answer(question, prompt, lang)
        yield ReplyEvent(delta=reply.text)
        yield ReplyEvent(reply=reply)
        return
    parts: list[str] = []
    finish_reason = "stop"
    async for chunk in engine.chat_stream(ChatRequest(
        messages=prompt.messages, max_tokens=max_tokens, temperature=0.0, seed=0,
        stop=[ANSWER_STOP],
    )):
        if chunk.delta:
            parts.append(chunk.delta)
            yield ReplyEvent(delta=chunk.delta)
        finish_reason = chunk.finish_reason or finish_reason
    yield ReplyEvent(reply=finish("".join(parts), prompt.passages, lang, finish_reason,
                                  question))


async def answer(engine: Engine, kb: KnowledgeBase, question: str, lang: str | None = None,
                 max_tokens: int = 256,
                 clean: Callable[[str, str], str] | None = None,
                 hits: list[Hit] | None = None) -> Reply:
    reply: Reply | None = None
    async for event in answer_stream(engine, kb, question, lang, max_tokens, clean, hits):
        if event.reply is not None:
            reply = event.reply
    assert reply is not None
    return reply
