"""The USSD menu through a real server, Africa's Talking convention (CON/END, `*`-joined
inputs, screens of at most 182 characters)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.channels.sms.helpers import build_app, rows, sms_settings
from tests.conftest import LiveServer
from zhiyan.assistant.turn import Reply, Turn
from zhiyan.channels.sms.echo import EchoAssistant
from zhiyan.channels.ussd import PREFIX_CHARS, fit_screen
from zhiyan.config import Settings
from zhiyan.engine.base import Engine
from zhiyan.i18n import LANGUAGES, t

LIMIT = 182
PHONE = "+254700111222"


class SlowAssistant:
    async def respond(self, turn: Turn) -> Reply:
        await asyncio.sleep(5)
        return Reply(text="too late")


class LongAssistant:
    async def respond(self, turn: Turn) -> Reply:
        return Reply(text="This is a long answer sentence. " * 20)


@pytest.fixture
def ussd_server(settings: Settings, shared_engine: Engine,
                request: pytest.FixtureRequest) -> Iterator[tuple[LiveServer, Settings]]:
    assistant = getattr(request, "param", None) or EchoAssistant()
    configured = sms_settings(settings, providers={"africastalking": {}},
                              ussd={"answer_timeout_s": 1.0})
    with LiveServer(build_app(configured, shared_engine, assistant)) as live:
        yield live, configured


def _dial(url: str, text: str, session: str = "ATUid_1", phone: str = PHONE) -> str:
    answer = httpx.post(f"{url}/ussd/africastalking", data={
        "sessionId": session, "serviceCode": "*384*123#", "phoneNumber": phone,
        "networkCode": "63902", "text": text})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    assert len(answer.text) <= LIMIT, answer.text
    return answer.text


def test_menu_ask_and_answer(ussd_server) -> None:
    live, _ = ussd_server
    assert _dial(live.url, "") == "CON " + t("sms.ussd_menu", "en")
    assert _dial(live.url, "1") == "CON Type your question:"
    assert _dial(live.url, "1*Where is Lamu?") == "END You said: Where is Lamu?"
    assert _dial(live.url, "1*2*3") == "END You said: 2*3"


def test_idiom_of_the_day_goes_through_the_assistant(ussd_server) -> None:
    live, _ = ussd_server
    screen = _dial(live.url, "2")
    assert screen.startswith("END You said: Give one Chinese idiom")


def test_language_choice_is_the_sms_session_language(ussd_server) -> None:
    live, settings = ussd_server
    listing = _dial(live.url, "3")
    assert listing.startswith("CON ") and all(name in listing for name in LANGUAGES.values())
    swahili = list(LANGUAGES).index("sw") + 1
    assert _dial(live.url, f"3*{swahili}") == "END Lugha imewekwa kuwa Kiswahili."
    assert _dial(live.url, "", session="ATUid_2") == "CON " + t("sms.ussd_menu", "sw")
    assert rows(settings, "SELECT lang FROM sms_sessions WHERE msisdn = ?", PHONE)[0][0] == "sw"


def test_help_and_invalid_choices(ussd_server) -> None:
    live, _ = ussd_server
    assert _dial(live.url, "4") == "END " + t("sms.ussd_help", "en")
    assert _dial(live.url, "9") == "END Invalid choice."
    assert _dial(live.url, "3*99") == "END Invalid choice."


@pytest.mark.parametrize("ussd_server", [LongAssistant()], indirect=True)
def test_long_answer_fits_one_screen(ussd_server) -> None:
    live, _ = ussd_server
    screen = _dial(live.url, "1*tell me everything")
    assert screen.startswith("END This is a long answer sentence.")
    assert screen.endswith(".") and len(screen) <= LIMIT


@pytest.mark.parametrize("ussd_server", [SlowAssistant()], indirect=True)
def test_slow_answer_ends_politely_before_the_operator_drops_the_session(ussd_server) -> None:
    live, _ = ussd_server
    assert _dial(live.url, "1*slow question") == "END " + t("sms.ussd_busy", "en")


def test_bad_requests(ussd_server) -> None:
    live, _ = ussd_server
    missing = httpx.post(f"{live.url}/ussd/africastalking", data={"text": ""})
    assert missing.status_code == 400
    bad_phone = httpx.post(f"{live.url}/ussd/africastalking",
                           data={"sessionId": "s", "phoneNumber": "nope", "text": ""})
    assert bad_phone.status_code == 400
    assert httpx.post(f"{live.url}/ussd/nosuch", data={}).status_code == 404


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_menu_screen_fits_in_every_language(lang: str) -> None:
    limit = LIMIT - PREFIX_CHARS
    listing = t("sms.ussd_lang_menu", lang) + "\n" + "\n".join(
        f"{i}. {name}" for i, name in enumerate(LANGUAGES.values(), 1))
    for key in ("ussd_menu", "ussd_ask", "ussd_invalid", "ussd_busy", "ussd_help"):
        assert len(t(f"sms.{key}", lang)) <= limit, (lang, key)
    assert len(listing) <= limit
    assert fit_screen(t("sms.ussd_menu", lang), limit) == t("sms.ussd_menu", lang)
