"""USSD menu, Africa's Talking convention: `POST /ussd/{provider}`.

The gateway calls once per keypress with every input of the session joined by `*`, and
shows our answer: `CON …` keeps the session open for the next input, `END …` closes it.
Screens are at most 182 characters including the prefix, and the operator drops a session
after some 20-30 seconds, so an answer that takes longer than `answer_timeout_s` ends with
"still thinking" instead of a dropped session.

    (empty)      main menu: 1 ask, 2 idiom of the day, 3 language, 4 help
    1            "type your question"      1*<question>   the answer (END)
    2            the idiom of the day (END)
    3            the language list         3*<n>          language set (END)
    4            help (END)

The language chosen here is the same session setting as SMS `LANG xx`.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from zhiyan.assistant.turn import Turn
from zhiyan.channels.sms import sessions
from zhiyan.channels.sms.providers.base import WebhookError
from zhiyan.channels.sms.service import SmsService, get_service, webhook_error, webhook_request
from zhiyan.channels.sms.sessions import InvalidNumber
from zhiyan.channels.sms.shaping import tidy
from zhiyan.i18n import LANGUAGES, t

router = APIRouter()

PREFIX_CHARS = 4  # "CON " / "END "


def fit_screen(text: str, limit: int) -> str:
    """The text cut to `limit` characters, at a sentence end or word when it can be."""
    text = tidy(text)
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    sentence = max(head.rfind(mark) for mark in ".!?。！？።\n")
    if sentence > limit // 2:
        return head[: sentence + 1].rstrip()
    space = head.rfind(" ")
    if space > limit // 2:
        return head[:space].rstrip() + "…"
    return head + "…"


def _session_lang(service: SmsService, msisdn: str) -> str | None:
    with service.queue.transaction() as conn:
        return sessions.load(conn, msisdn).lang


def _set_lang(service: SmsService, msisdn: str, lang: str) -> None:
    with service.queue.transaction() as conn:
        session = sessions.load(conn, msisdn)
        session.lang = lang
        sessions.save(conn, session, time.time())


async def _ask(request: Request, service: SmsService, msisdn: str, text: str,
               lang: str | None, limit: int) -> str:
    turn = Turn(text=text, user_id=msisdn, channel="ussd", conversation_id=f"ussd:{msisdn}",
                lang=lang, max_chars=limit)
    try:
        reply = await asyncio.wait_for(request.app.state.assistant.respond(turn),
                                       service.settings.ussd.answer_timeout_s)
    except TimeoutError:
        return t("sms.ussd_busy", lang)
    return reply.text.strip() or t("sms.error", lang)


async def menu(request: Request, service: SmsService, msisdn: str,
               inputs: list[str]) -> tuple[str, bool]:
    """The screen for this point of the session, and whether it ends the session."""
    limit = service.settings.ussd.max_screen_chars - PREFIX_CHARS
    lang = await asyncio.to_thread(_session_lang, service, msisdn)
    choice = inputs[0].strip() if inputs else ""
    if not choice:
        return t("sms.ussd_menu", lang), False
    if choice == "1":
        question = "*".join(inputs[1:]).strip()
        if not question:
            return t("sms.ussd_ask", lang), False
        return await _ask(request, service, msisdn, question, lang, limit), True
    if choice == "2":
        return await _ask(request, service, msisdn, t("sms.ussd_idiom_prompt", lang), lang,
                          limit), True
    codes = list(LANGUAGES)
    if choice == "3":
        if len(inputs) < 2:
            listing = "\n".join(f"{i}. {LANGUAGES[c]}" for i, c in enumerate(codes, 1))
            return f"{t('sms.ussd_lang_menu', lang)}\n{listing}", False
        pick = inputs[1].strip()
        if not pick.isdigit() or not 1 <= int(pick) <= len(codes):
            return t("sms.ussd_invalid", lang), True
        code = codes[int(pick) - 1]
        await asyncio.to_thread(_set_lang, service, msisdn, code)
        return t("sms.lang_changed", code, name=LANGUAGES[code]), True
    if choice == "4":
        return t("sms.ussd_help", lang), True
    return t("sms.ussd_invalid", lang), True


@router.post("/ussd/{provider}")
async def ussd(provider: str, request: Request) -> Response:
    service = get_service(request.app)
    adapter = service.provider(provider)
    if not adapter.supports_ussd:
        raise HTTPException(404, f"provider '{provider}' has no USSD")
    raw = await webhook_request(request)
    try:
        call = adapter.parse_ussd(raw)
        msisdn = sessions.normalize_number(call.phone, service.settings.default_region)
    except WebhookError as exc:
        return webhook_error(exc)
    except InvalidNumber as exc:
        return webhook_error(WebhookError(str(exc)))
    text, end = await menu(request, service, msisdn, call.inputs)
    limit = service.settings.ussd.max_screen_chars - PREFIX_CHARS
    return adapter.ussd_response(fit_screen(text, limit), end)
