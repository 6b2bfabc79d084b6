"""The decision for one SMS, without a server: quota, rate limit, MORE, LANG, opt-out."""

from __future__ import annotations

import pytest

from zhiyan.assistant.turn import Reply, Turn
from zhiyan.channels.sms.dialogue import Snapshot, decide, error_decision
from zhiyan.channels.sms.echo import EchoAssistant
from zhiyan.channels.sms.sessions import Session, utc_day
from zhiyan.channels.sms.settings import SmsSettings

NOW = 1_800_000_000.0
NUMBER = "+254700000009"


async def _say(text: str, session: Session | None = None, answered: int = 0,
               **settings: object) -> tuple[str, str | None, Session]:
    snapshot = Snapshot(session or Session(NUMBER), answered)
    decision = await decide(snapshot, text, EchoAssistant(), SmsSettings(**settings), NOW)
    return decision.outcome, decision.reply.text if decision.reply else None, decision.session


@pytest.mark.anyio
async def test_daily_quota_notice_once_then_quiet() -> None:
    full = Session(NUMBER, day=utc_day(NOW), day_count=3)
    outcome, text, after = await _say("question", full, daily_quota=3)
    assert outcome == "quota" and text is not None and "limit of 3 questions" in text
    outcome, text, _ = await _say("again", after, daily_quota=3)
    assert (outcome, text) == ("quota", None)
    yesterday = Session(NUMBER, day="2000-01-01", day_count=3)
    outcome, text, after = await _say("new day", yesterday, daily_quota=3)
    assert outcome == "answer" and after.day_count == 1


@pytest.mark.anyio
async def test_rate_limit_is_localized_and_said_once() -> None:
    outcome, text, after = await _say("q", Session(NUMBER, lang="zh"), answered=6)
    assert outcome == "limited" and text == "您发送得太快了。请稍等一分钟再试。"
    outcome, text, _ = await _say("q", after, answered=6)
    assert (outcome, text) == ("limited", None)


@pytest.mark.anyio
async def test_stop_beats_rate_limit_and_help_needs_no_quota() -> None:
    full = Session(NUMBER, day=utc_day(NOW), day_count=99)
    outcome, text, after = await _say("STOP", full, answered=99, daily_quota=3)
    assert outcome == "stop" and after.opted_out and text and "START" in text
    outcome, text, _ = await _say("HELP", after)
    assert (outcome, text) == ("opted_out", None)
    outcome, text, _ = await _say("HELP", full, daily_quota=3)
    assert outcome == "help" and text and "LANG" in text


@pytest.mark.anyio
async def test_lang_and_empty_message() -> None:
    outcome, text, after = await _say("LANG klingon")
    assert outcome == "lang" and text and "Unknown language" in text and after.lang is None
    outcome, text, after = await _say("语言 中文")
    assert after.lang == "zh" and text == "语言已设为中文。"
    outcome, text, _ = await _say("   ")
    assert outcome == "help"


@pytest.mark.anyio
async def test_more_walks_through_a_long_answer() -> None:
    long = " ".join(f"Line {i} of the answer is here." for i in range(30))
    outcome, first, session = await _say(long, segment_budget=1)
    assert first and first.endswith("(reply MORE)") and session.pending_more
    parts = [first]
    while session.pending_more:
        outcome, text, session = await _say("MORE", session, segment_budget=1)
        assert outcome == "more" and text
        parts.append(text)
    outcome, text, _ = await _say("MORE", session, segment_budget=1)
    assert text == "That was all. Send a new question."
    rebuilt = " ".join(p.removesuffix(" (reply MORE)") for p in parts)
    assert rebuilt == f"You said: {long}"


@pytest.mark.anyio
async def test_more_goes_on_in_the_answers_language() -> None:
    """An English keyword asks for the rest of a Chinese answer: the rest's hint stays
    Chinese, as the first page's was."""
    long = "".join(f"第{i}句话说的是这个回答的一部分内容。" for i in range(40))

    class Chinese:
        async def respond(self, turn: Turn) -> Reply:
            return Reply(text=long, lang="zh", kind="answer")

    asked = await decide(Snapshot(Session(NUMBER), 0), "问题", Chinese(),
                         SmsSettings(segment_budget=1), NOW)
    hint = '（回复"更多"）'  # SMS text straightens the quotes of the catalog's hint
    assert asked.reply and asked.reply.text.endswith(hint)
    outcome, text, _ = await _say("MORE", asked.session, segment_budget=1)
    assert outcome == "more" and text and text.endswith(hint)


def test_error_reply_is_the_apology() -> None:
    decision = error_decision(Snapshot(Session(NUMBER, lang="sw"), 0), 2)
    assert decision.outcome == "error" and decision.reply is not None
    assert decision.reply.text.startswith("Samahani")
