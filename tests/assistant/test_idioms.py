"""Idiom skills in chat: which messages ask for which skill, and the chain game, reverse
lookup and usage judging played through the turn pipeline (tiny model, real dictionary)."""

from __future__ import annotations

import pytest

from zhiyan.assistant.idioms import Skill, chain_key, detect
from zhiyan.assistant.turn import Assistant, Turn
from zhiyan.chengyu.dictionary import get_dictionary
from zhiyan.config import EngineSettings, Settings
from zhiyan.engine.base import Engine
from zhiyan.i18n import t


@pytest.mark.parametrize(("text", "active", "skill"), [
    ("来玩成语接龙吧", False, Skill("chain_start")),
    ("成语接龙：画蛇添足", False, Skill("chain_start", "画蛇添足")),
    ("玩同音成语接龙", False, Skill("chain_start", homophone=True)),
    ("let's play idiom chain", False, Skill("chain_start")),
    ("成语接龙是什么？", False, None),
    ("来接龙吧", False, Skill("chain_start")),
    ("我们班明天有接龙比赛", False, None),
    ("what is an idiom chain?", False, None),
    ("足智多谋", True, Skill("chain_move", "足智多谋")),
    ("足智多谋。", True, Skill("chain_move", "足智多谋")),
    ("足智多谋", False, None),
    ("画蛇添足是什么意思", True, None),
    ("结束接龙", True, Skill("chain_end")),
    ("end game", True, Skill("chain_end")),
    ("stop", True, None),
    ("提示", True, Skill("chain_hint")),
    ("有什么成语形容做多余的事，反而坏事？", False, Skill("find", "做多余的事，反而坏事")),
    ("形容一个人很勇敢的成语", False, Skill("find", "一个人很勇敢")),
    ("“画蛇添足”用得对吗：他写完文章又加了一段总结，真是画蛇添足。", False,
     Skill("judge", "他写完文章又加了一段总结，真是画蛇添足", "画蛇添足")),
    ("他的发言画龙点睛，这个成语用得对吗？", False, Skill("judge", "他的发言画龙点睛", "画龙点睛")),
    ("这句话里的成语用得对吗？他做事总是画蛇添足。", False,
     Skill("judge", "他做事总是画蛇添足", "画蛇添足")),
    ("画蛇添足用得对吗？", False, None),
    ("画蛇添足是什么意思？", False, None),
    ("肯尼亚的首都是哪里？", False, None),
    ("选择恰当的成语填空：他做事认真，从不____。候选：画蛇添足、敷衍了事、一丝不苟", False,
     Skill("cloze", "他做事认真，从不#idiom#。", candidates=["画蛇添足", "敷衍了事", "一丝不苟"])),
    ("他写完又加了一段，真是（ ）。选项：A. 画蛇添足 B. 锦上添花", False,
     Skill("cloze", "他写完又加了一段，真是#idiom#。", candidates=["画蛇添足", "锦上添花"])),
])
def test_detect(text: str, active: bool, skill: Skill | None) -> None:
    assert detect(text, active) == skill


def _assistant(engine: Engine) -> Assistant:
    return Assistant(engine, Settings(engine=EngineSettings(model="tiny",
                                                            default_max_tokens=8)))


async def _say(assistant: Assistant, text: str, user: str = "u-chain") -> str:
    reply = await assistant.respond(Turn(text=text, user_id=user, channel="sms",
                                         conversation_id=f"sms:{user}"))
    assert reply.kind == "idiom", reply
    return reply.text


def _mine(text: str) -> str:
    """The idiom the assistant played in a reply ("我接：X（pinyin）…")."""
    return text.split("我接：", 1)[1].split("（", 1)[0]


@pytest.mark.anyio
async def test_the_chain_game_is_played_in_chat_turn_by_turn(tiny_engine: Engine) -> None:
    assistant = _assistant(tiny_engine)
    opening = await _say(assistant, "成语接龙")
    assert opening == t("chengyu.chain_begin", "zh")
    reply = await _say(assistant, "画蛇添足")
    mine = _mine(reply)
    assert mine.startswith("足") and get_dictionary().get(mine) is not None
    assert reply.endswith(f"下一个成语要以“{mine[-1]}”开头。")
    # a wrong start is refused with the reason, and the game goes on
    wrong = await _say(assistant, "一心一意")
    assert wrong == t("chengyu.chain_wrong_start", "zh", word="一心一意", needed=mine[-1])
    # "提示": the assistant plays the user's side, then its own
    hint = await _say(assistant, "提示")
    yours = hint.split("替你接：", 1)[1].split("。", 1)[0]
    assert yours.startswith(mine[-1]) and _mine(hint).startswith(yours[-1])
    # a repeat is refused
    assert await _say(assistant, "画蛇添足") == t("chengyu.chain_repeat", "zh", word="画蛇添足")
    # the game is the conversation's: the assistant remembers the moves as said
    said = assistant.conn.execute(
        "SELECT content FROM assistant_messages WHERE user_id = 'u-chain' AND role = 'user'"
        " ORDER BY id").fetchall()
    assert [r[0] for r in said] == ["成语接龙", "画蛇添足", "一心一意", "提示", "画蛇添足"]
    assert await _say(assistant, "结束接龙") == t("chengyu.chain_over", "zh", count=4)
    # over: an idiom alone is a question about it again, not a move
    after = await assistant.respond(Turn(text="画蛇添足", user_id="u-chain", channel="sms",
                                         conversation_id="sms:u-chain", max_tokens=4))
    assert "我接" not in after.text


@pytest.mark.anyio
async def test_each_user_has_their_own_game_and_an_idle_one_is_over(
        tiny_engine: Engine) -> None:
    assistant = _assistant(tiny_engine)
    reply = await _say(assistant, "成语接龙：画蛇添足", user="u-a")
    assert "我接：" in reply
    # another user's idiom is not a move in u-a's game
    other = await assistant.respond(Turn(text="一心一意", user_id="u-b", channel="sms",
                                         conversation_id="sms:u-b", max_tokens=4))
    assert "我接" not in other.text
    assistant.conn.execute(
        "UPDATE chengyu_chain SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now',"
        " '-31 minutes') WHERE conversation_id = ?", (chain_key("u-a", "sms:u-a"),))
    idle = await assistant.respond(Turn(text=_mine(reply)[-1] + "智多谋", user_id="u-a",
                                        channel="sms", conversation_id="sms:u-a",
                                        max_tokens=4))
    assert "我接" not in idle.text


@pytest.mark.anyio
async def test_idioms_for_a_described_meaning_and_a_usage_judged(tiny_engine: Engine) -> None:
    assistant = _assistant(tiny_engine)
    found = await _say(assistant, "有什么成语形容做多余的事，反而坏事？", user="u-find")
    lines = found.splitlines()
    assert lines[0] == t("chengyu.find_header", "zh", description="做多余的事，反而坏事")
    assert any(line.startswith(("1. 画蛇添足", "2. 画蛇添足", "3. 画蛇添足")) for line in lines)
    misspelt = await _say(assistant, "“画蛇添足”用得对吗：他写完文章又加了一段，真是画蛇添脚。",
                          user="u-judge")
    assert misspelt == t("chengyu.judge_misspelt", "zh", found="画蛇添脚", word="画蛇添足")
    judged = await _say(assistant, "他的发言画龙点睛，这个成语用得对吗？", user="u-judge")
    # the tiny model's yes or no is arbitrary; the reply names the idiom and its meaning
    meaning = get_dictionary().get("画龙点睛").explanation  # type: ignore[union-attr]
    assert judged in (t("chengyu.judge_fits", "zh", word="画龙点睛", meaning=meaning),
                      t("chengyu.judge_misfits", "zh", word="画龙点睛", meaning=meaning))


@pytest.mark.anyio
async def test_the_idiom_for_a_blank_is_chosen_in_chat(tiny_engine: Engine) -> None:
    assistant = _assistant(tiny_engine)
    offered = ["画蛇添足", "锦上添花", "雪中送炭"]
    chosen = await _say(assistant, "他写完文章又加了一段，真是____。候选：" + "、".join(offered),
                        user="u-cloze")
    idioms = [get_dictionary().get(w) for w in offered]
    assert chosen in [t("chengyu.cloze_pick", "zh", word=i.word, pinyin=i.pinyin,
                        meaning=i.explanation) for i in idioms if i is not None]
    two = await _say(assistant, "他（ ）又（ ）。选项：画蛇添足、锦上添花", user="u-cloze")
    assert two == t("chengyu.cloze_bad", "zh", reason=t("chengyu.cloze_blanks", "zh", found=2))
