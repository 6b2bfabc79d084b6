"""Idiom skills in chat, beyond explaining one (the router's "idiom" route): the chain
game (成语接龙), idioms for a described meaning, whether an idiom is used right in a
sentence, and the idiom for a blank ("…____…  候选：A、B、C").

Each is recognized by rules on the message, as cheap and predictable as the router, and
answered by the skills of `zhiyan.chengyu` (the same as the CLI and HTTP API). The chain
game is kept per user and conversation; while one is going on, a message that is only an
idiom is a move, and a game left alone for `CHAIN_IDLE_MINUTES` is over.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from zhiyan.engine.base import Engine
from zhiyan.i18n import t

if TYPE_CHECKING:
    from zhiyan.chengyu.chain import ChainGame

#: a chain game with no move for this long no longer takes idioms as moves
CHAIN_IDLE_MINUTES = 30

SkillName = Literal["chain_start", "chain_move", "chain_hint", "chain_end", "find", "judge",
                    "cloze"]


@dataclass
class Skill:
    name: SkillName
    #: the idiom played, the described meaning, or the sentence judged
    arg: str = ""
    #: the idiom judged
    word: str = ""
    homophone: bool = False
    #: the idioms offered for a blank
    candidates: list[str] = field(default_factory=list)


_CHAIN = re.compile(r"成语接龙|(?:来|玩|开始|一起)\S{0,3}接龙|接龙(?:吧|吗|游戏)"
                    r"|(?:play|start)\b.*\bidiom chain|idiom chain game", re.IGNORECASE)
#: asking about the game is not asking to play it
_ABOUT = re.compile(r"是什么|什么是|什么意思|规则|\bwhat\b|\brules?\b", re.IGNORECASE)
#: (not a bare "stop": on SMS that word unsubscribes, before the assistant sees it)
_CHAIN_END = re.compile(r"^(?:结束|不玩了|退出|停止|不接了)(?:接龙|游戏)?|^(?:stop|quit|end)"
                        r"(?: the)? (?:game|chain)$", re.IGNORECASE)
_CHAIN_HINT = re.compile(r"^(?:提示|帮我接|你帮我接|替我接|hint)$", re.IGNORECASE)
_HOMOPHONE = re.compile(r"同音|谐音|homophone", re.IGNORECASE)
_FIND = re.compile(
    r"(?:有)?(?:什么|哪些|哪个|哪一个)成语(?:可以|能|能够)?(?:用来)?"
    r"(?:形容|表示|比喻|描写|描述|说明|指)(?P<a>.+)"
    r"|(?:形容|表示|比喻|描写|描述)(?P<b>.+?)的成语")
_JUDGE = re.compile(r"用得?(?:对|正确|恰当|准确)(?:吗|不对|不)|用对了吗|用法(?:对|正确)吗"
                    r"|使用(?:正确|恰当|得当)吗")
_POINTER = re.compile(r"[，,]?(?:这个|这|该|此|句中的?|句子里的?)?(?:成语|词语|词)$")
_QUOTED = re.compile(r"[“\"「『](?P<w>[\u4e00-\u9fff，,]{3,12})[”\"」』]")
_CLAUSES = re.compile(r"[？?：:\n]")
_HAN_ONLY = re.compile(r"^[\u4e00-\u9fff，,]{3,12}$")
#: a blank to fill, and where the idioms offered for it begin
_BLANK = re.compile(r"#idiom#|_{2,}|＿{2,}|（\s*）|\(\s*\)|【\s*】")
_OPTIONS = re.compile(r"(?:候选成语|候选|选项|备选|可选成语)[:：]")
_OPTION_WORD = re.compile(r"[\u4e00-\u9fff]{3,12}")
#: an instruction before the passage ("选择恰当的成语填空：")
_CLOZE_ASK = re.compile(r"^[^：:\n]*填空[^：:\n]*[:：]\s*")
_EDGES = "。！!？?，,、；;：:“”\"「」『』 \t\n"


def detect(text: str, chain_active: bool) -> Skill | None:
    """The idiom skill a message asks for, if any."""
    stripped = text.strip()
    bare = stripped.strip(_EDGES)
    if chain_active:
        if _CHAIN_END.match(bare):
            return Skill("chain_end")
        if _CHAIN_HINT.match(bare):
            return Skill("chain_hint")
        if _HAN_ONLY.match(bare) and not _CHAIN.search(bare) and (
                len(bare) == 4 or _in_dictionary(bare)):
            return Skill("chain_move", bare)
    if _CHAIN.search(stripped) and len(stripped) <= 40 and not _ABOUT.search(stripped):
        rest = _CHAIN.sub(" ", stripped)
        first = _first_idiom(rest)
        return Skill("chain_start", first or "", homophone=bool(_HOMOPHONE.search(stripped)))
    if (options := _OPTIONS.search(stripped)) and _BLANK.search(stripped[:options.start()]):
        passage = _CLOZE_ASK.sub("", stripped[:options.start()].strip())
        candidates = _OPTION_WORD.findall(stripped[options.end():])
        return Skill("cloze", _BLANK.sub("#idiom#", passage.strip()), candidates=candidates)
    if found := _FIND.search(stripped):
        description = (found.group("a") or found.group("b") or "").strip(_EDGES)
        description = re.sub(r"^(?:的是|是)", "", description).strip(_EDGES)
        if description:
            return Skill("find", description)
    if _JUDGE.search(stripped):
        quoted = _QUOTED.search(stripped)
        parts = []
        for clause in _CLAUSES.split(stripped):
            if cue := _JUDGE.search(clause):
                clause = clause[:cue.start()]  # "…，这个成语用得对吗" keeps "…"
            clause = _POINTER.sub("", clause.strip(_EDGES)).strip(_EDGES)
            if clause:
                parts.append(clause)
        sentence = max(parts, key=len, default="")
        word = quoted.group("w") if quoted else _first_idiom(sentence)
        if word and sentence and sentence != word:  # an idiom alone has no usage to judge
            return Skill("judge", sentence, word)
    return None


def _in_dictionary(word: str) -> bool:
    from zhiyan.chengyu.dictionary import get_dictionary

    return get_dictionary().lookup(word) is not None


def _first_idiom(text: str) -> str | None:
    from zhiyan.chengyu.detect import find_idioms

    found = find_idioms(text)
    return found[0].word if found else None


def chain_key(user_id: str, conversation: str) -> str:
    """Games from chat are kept apart from the HTTP game API's ids."""
    return f"chat:{user_id}:{conversation}"


def chain_active(conn: sqlite3.Connection, key: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM chengyu_chain WHERE conversation_id = ? AND"
        " julianday('now') - julianday(updated_at) < ? / 1440.0",
        (key, CHAIN_IDLE_MINUTES)).fetchone()
    return row is not None


async def respond(skill: Skill, lang: str, conn: sqlite3.Connection, key: str,
                  engine: Engine) -> str:
    """The reply text for a recognized skill."""
    if skill.name == "find":
        return _find(skill.arg, lang)
    if skill.name == "judge":
        from zhiyan.chengyu.skills import judge_usage

        return (await judge_usage(skill.arg, skill.word, engine, lang)).reason
    if skill.name == "cloze":
        return await _cloze(skill, lang, engine)
    return _chain(skill, lang, conn, key)


def _find(description: str, lang: str) -> str:
    from zhiyan.chengyu.skills import find_by_meaning

    found = find_by_meaning(description, 5)
    if not found:
        return t("chengyu.find_none", lang, description=description)
    lines = [t("chengyu.find_header", lang, description=description)]
    lines += [f"{n}. {idiom.word}（{idiom.pinyin}）：{idiom.explanation}"
              for n, (idiom, _) in enumerate(found, 1)]
    return "\n".join(lines)


async def _cloze(skill: Skill, lang: str, engine: Engine) -> str:
    from zhiyan.chengyu.cloze import ClozeInputError, ClozeSolver, parse_item
    from zhiyan.chengyu.dictionary import get_dictionary

    try:
        item = parse_item(skill.arg, skill.candidates)
    except ClozeInputError as exc:
        return exc.message(lang)
    word = item.candidates[(await ClozeSolver(engine).solve(item)).choice]
    idiom = get_dictionary().lookup(word)
    if idiom is None:
        return t("chengyu.cloze_pick_unknown", lang, word=word)
    return t("chengyu.cloze_pick", lang, word=word, pinyin=idiom.pinyin,
             meaning=idiom.explanation)


def _chain(skill: Skill, lang: str, conn: sqlite3.Connection, key: str) -> str:
    from zhiyan.chengyu.chain import ChainGame

    game = ChainGame(conn, key)
    if skill.name == "chain_end":
        return t("chengyu.chain_over", lang, count=game.end())
    if skill.name == "chain_start":
        game.start(skill.homophone)
        opening = t("chengyu.chain_begin_homophone" if skill.homophone
                    else "chengyu.chain_begin", lang)
        if not skill.arg:
            return opening
        return f"{opening}\n{_move(game, skill.arg, lang)}"
    if skill.name == "chain_hint":
        mine = game.respond()  # the assistant plays the user's side …
        if not mine.valid:
            game.end()
            return mine.message(lang)
        return f"{t('chengyu.chain_for_you', lang, word=mine.word)}\n{_answer(game, lang)}"
    return _move(game, skill.arg, lang)


def _move(game: ChainGame, word: str, lang: str) -> str:
    """The user's idiom checked and played, then the assistant's own move."""
    played = game.play(word)
    if not played.valid:
        return played.message(lang)
    return _answer(game, lang)


def _answer(game: ChainGame, lang: str) -> str:
    """The assistant's move, or its concession (which ends the game)."""
    reply = game.respond()
    if not reply.valid:
        game.end()
        return reply.message(lang)
    idiom = reply.idiom
    return t("chengyu.chain_mine", lang, word=reply.word,
             pinyin=idiom.pinyin if idiom else "", next=reply.next_char or "")
