"""What to answer one SMS: keywords first, then the rate limit and quota, then the assistant.

`decide` reads a snapshot of the session and returns a `Decision` (the reply, the new
session, what to remember) without writing anything: the worker commits the decision
atomically with the outbox row, so a crash between the two cannot half-apply it. The
simulator uses the same function, so what it shows is what a phone would get.
"""

from __future__ import annotations

import calendar
import dataclasses
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Protocol

from zhiyan.assistant.turn import Reply, Turn
from zhiyan.channels.sms import gsm, sessions
from zhiyan.channels.sms.sessions import Session
from zhiyan.channels.sms.settings import SmsSettings
from zhiyan.channels.sms.shaping import Shaped, shape
from zhiyan.i18n import LANGUAGES, normalize_lang, t


class Responder(Protocol):
    """What the SMS channel needs of the assistant (the real one or a stand-in)."""

    async def respond(self, turn: Turn) -> Reply: ...


@dataclass
class Snapshot:
    session: Session
    #: questions answered for this number in the last minute
    answered_last_minute: int


@dataclass
class Decision:
    #: answer, stop, start, help, lang, more, limited, quota, opted_out, error
    outcome: str
    reply: Shaped | None
    session: Session
    remember: list[tuple[str, str]] = field(default_factory=list)


def _end_of_day(now: float) -> float:
    day = time.gmtime(now)
    return calendar.timegm((day.tm_year, day.tm_mon, day.tm_mday, 0, 0, 0)) + 86400.0


def error_decision(snapshot: Snapshot, budget: int) -> Decision:
    """The answer for a message the assistant failed on every attempt: say so, once."""
    lang = snapshot.session.lang
    return Decision("error", shape(t("sms.error", lang), lang, budget), snapshot.session)


def load_snapshot(conn: sqlite3.Connection, msisdn: str, now: float) -> Snapshot:
    return Snapshot(
        sessions.load(conn, msisdn),
        sessions.answered_since(conn, msisdn, now - 60.0),
    )


def _language_of(text: str) -> str | None:
    from zhiyan.assistant.language import detect

    found = detect(text[:300]).lang
    return found if found in LANGUAGES else None


async def decide(snapshot: Snapshot, text: str, assistant: Responder,
                 settings: SmsSettings, now: float) -> Decision:
    session = dataclasses.replace(snapshot.session)
    command = sessions.parse_command(text)
    lang = session.lang or (command.lang if command else None)
    budget = settings.segment_budget

    def say(key: str, outcome: str, in_lang: str | None = lang, **values: object) -> Decision:
        return Decision(outcome, shape(t(f"sms.{key}", in_lang, **values), in_lang, budget),
                        session)

    if command and command.kind == "stop":
        session.opted_out, session.pending_more = True, None
        return say("stop_confirm", "stop")
    if command and command.kind == "start":
        session.opted_out = False
        return say("start_confirm", "start")
    if session.opted_out:
        return Decision("opted_out", None, session)
    if (command and command.kind == "help") or not text.strip():
        return say("help", "help", codes=" ".join(LANGUAGES))
    if command and command.kind == "lang":
        code = sessions.language_from_arg(command.arg) if command.arg else None
        if code is None:
            return say("lang_unknown", "lang", codes=" ".join(LANGUAGES))
        session.lang = code
        return say("lang_changed", "lang", code, name=LANGUAGES[code])
    if command and command.kind == "more":
        if not session.pending_more:
            return say("nothing_more", "more")
        # the rest goes on in the answer's language, whichever word asked for it ("MORE")
        rest_lang = session.lang or _language_of(session.pending_more) or lang
        shaped = shape(session.pending_more, rest_lang, budget)
        session.pending_more = shaped.rest
        return Decision("more", shaped, session)

    today = sessions.utc_day(now)
    if session.day != today:
        session.day, session.day_count = today, 0
    quiet = session.limited_until is not None and session.limited_until > now
    if session.day_count >= settings.daily_quota:
        if quiet:
            return Decision("quota", None, session)
        session.limited_until = _end_of_day(now)
        return say("quota", "quota", limit=settings.daily_quota)
    if snapshot.answered_last_minute >= settings.rate_per_minute:
        if quiet:
            return Decision("limited", None, session)
        session.limited_until = now + 60.0
        return say("rate_limited", "limited")

    # No history is passed: the assistant keeps its own memory per conversation_id.
    turn = Turn(
        text=text, user_id=session.msisdn, channel="sms",
        conversation_id=f"sms:{session.msisdn}", lang=session.lang,
        max_chars=gsm.max_chars_hint(session.lang, budget),
    )
    reply = await assistant.respond(turn)
    reply_lang = session.lang or (reply.lang if reply.lang in LANGUAGES else None)
    body = reply.text.strip() or t("sms.error", reply_lang)
    shaped = shape(body, normalize_lang(reply_lang), budget)
    session.pending_more = shaped.rest
    session.day_count += 1
    session.limited_until = None
    return Decision("answer", shaped, session, [("user", text), ("assistant", body)])
