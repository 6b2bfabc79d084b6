"""SMS webhooks through a real server: durable acceptance, dedupe, bad input, providers
(Africa's Talking and Twilio against a local stand-in of their API), sessions, rate limits,
retries and delivery reports. The assistant is the instant echo unless said otherwise."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.channels.sms.helpers import Gateway, build_app, rows, sms_settings, wait_for
from tests.conftest import LiveServer
from zhiyan.channels.sms.echo import EchoAssistant
from zhiyan.channels.sms.providers.twilio import signature
from zhiyan.config import Settings
from zhiyan.engine.base import Engine

TWILIO_TOKEN = "twilio-test-token"


def _providers(gateway: Gateway) -> dict[str, Any]:
    return {
        "generic": {"send_url": f"{gateway.url}/generic/send"},
        "africastalking": {"base_url": gateway.url, "username": "sandbox", "api_key": "k"},
        "twilio": {"base_url": gateway.url, "account_sid": "AC123", "auth_token": TWILIO_TOKEN,
                   "status_callback": "http://example.invalid/sms/twilio/dlr"},
    }


@pytest.fixture
def server(settings: Settings, shared_engine: Engine,
           gateway: Gateway) -> Iterator[tuple[LiveServer, Settings]]:
    configured = sms_settings(settings, providers=_providers(gateway), rate_per_minute=3)
    with LiveServer(build_app(configured, shared_engine, EchoAssistant())) as live:
        yield live, configured


def _generic(url: str, msg_id: str, sender: str, text: str, **extra: Any) -> httpx.Response:
    body = {"id": msg_id, "from": sender, "to": "22345", "text": text, **extra}
    return httpx.post(f"{url}/sms/generic/inbound", json=body)


def _inbound_count(settings: Settings) -> int:
    return int(rows(settings, "SELECT count(*) FROM sms_inbound")[0][0])


def _replies_to(gateway: Gateway, number: str) -> list[str]:
    return [r.json["text"] for r in gateway.delivered.values() if r.json["to"] == number]


def test_generic_inbound_is_queued_answered_and_sent_once(server, gateway) -> None:
    live, settings = server
    answer = _generic(live.url, "m-1", "+254700000001", "Hello “zhiyan”")
    assert answer.status_code == 200
    assert answer.json()["status"] == "queued" and answer.json()["duplicate"] is False
    retry = _generic(live.url, "m-1", "+254700000001", "Hello “zhiyan”")
    assert retry.json() == {**answer.json(), "duplicate": True}
    wait_for(lambda: _replies_to(gateway, "+254700000001"), what="the reply")
    assert _replies_to(gateway, "+254700000001") == ['You said: Hello "zhiyan"']
    sent = next(iter(gateway.delivered.values()))
    assert sent.json["encoding"] == "GSM-7" and sent.json["from"] == "22345"
    assert _inbound_count(settings) == 1
    outbox = wait_for(lambda: rows(settings, "SELECT * FROM sms_outbox WHERE state = 'sent'"))
    assert outbox[0]["provider_ref"] == f"gw-{outbox[0]['idempotency_key']}"
    dlr = httpx.post(f"{live.url}/sms/generic/dlr",
                     json={"message_id": outbox[0]["provider_ref"], "status": "delivered"})
    assert dlr.status_code == 200
    assert rows(settings, "SELECT state FROM sms_outbox")[0]["state"] == "delivered"
    unknown = httpx.post(f"{live.url}/sms/generic/dlr",
                         json={"message_id": "nope", "status": "delivered"})
    assert unknown.status_code == 404


@pytest.mark.parametrize(("body", "content_type", "needle"), [
    (b'{"id": "x", "from": "+254700000001"}', "application/json", "text"),
    (b'{"from": "+254700000001", "text": "hi"}', "application/json", "id"),
    (b'{"id": "x", "text": "hi"}', "application/json", "from"),
    (b'{"id": "x", "from": "+254700000001", "text": 5}', "application/json", "text"),
    (b'{"id": "x", "from": "not a number", "text": "hi"}', "application/json", "phone"),
    (b'{"id": "x", "from": "+254700000001", "text": "hi"', "application/json", "JSON"),
    (b'["a list"]', "application/json", "object"),
    (b'{"id": "x", "from": "+2547", "text": "\xff\xfe bad"}', "application/json", "UTF-8"),
    (json.dumps({"id": "x", "from": "+254700000001", "text": "a" * 10_000}).encode(),
     "application/json", "longer"),
    (b'{"id": "x", "from": "+254700000001", "text": "nul \\u0000 byte"}', "application/json",
     "control"),
])
def test_malformed_inbound_is_400_and_queues_nothing(server, body, content_type,
                                                     needle) -> None:
    live, settings = server
    answer = httpx.post(f"{live.url}/sms/generic/inbound", content=body,
                        headers={"content-type": content_type})
    assert answer.status_code == 400, answer.text
    assert needle.lower() in answer.json()["error"]["message"].lower()
    assert _inbound_count(settings) == 0


def test_unknown_or_disabled_provider_is_404(server) -> None:
    live, settings = server
    for name in ("nosuch", "kannel", "base", "..%2Fetc"):
        answer = httpx.post(f"{live.url}/sms/{name}/inbound", json={})
        assert answer.status_code == 404, name
    assert httpx.post(f"{live.url}/ussd/twilio", data={}).status_code == 404
    assert _inbound_count(settings) == 0


def test_huge_body_is_413(server) -> None:
    live, settings = server
    answer = httpx.post(f"{live.url}/sms/generic/inbound", content=b"x" * 100_000,
                        headers={"content-type": "application/json"})
    assert answer.status_code == 413
    assert _inbound_count(settings) == 0


def test_odd_number_formats_share_one_session(server, gateway) -> None:
    live, settings = server
    _generic(live.url, "f-1", "254711000111", "LANG sw")
    wait_for(lambda: _replies_to(gateway, "+254711000111"), what="lang reply")
    _generic(live.url, "f-2", "0711 000 111", "HELP")
    replies = wait_for(lambda: len(_replies_to(gateway, "+254711000111")) == 2 and
                       _replies_to(gateway, "+254711000111"), what="help reply")
    assert replies[0] == "Lugha imewekwa kuwa Kiswahili."
    assert replies[1].startswith("zhiyan hujibu kwa SMS")
    assert {r["msisdn"] for r in rows(settings, "SELECT msisdn FROM sms_inbound")} == {
        "+254711000111"}


def test_stop_takes_precedence_and_is_remembered(server, gateway) -> None:
    live, settings = server
    number = "+254722000222"
    _generic(live.url, "s-1", number, "acha")
    wait_for(lambda: _replies_to(gateway, number), what="stop confirmation")
    for i in range(3):
        _generic(live.url, f"s-q{i}", number, f"question {i}")
    _generic(live.url, "s-more", number, "MORE")
    wait_for(lambda: rows(settings, "SELECT count(*) FROM sms_inbound WHERE state = 'ignored'"
                          )[0][0] == 4, what="ignored messages")
    assert _replies_to(gateway, number) == [
        "Hutapokea tena ujumbe kutoka zhiyan. Tuma ANZA kuendelea."]
    _generic(live.url, "s-start", number, "START")
    _generic(live.url, "s-q9", number, "back again")
    replies = wait_for(lambda: len(_replies_to(gateway, number)) == 3 and
                       _replies_to(gateway, number), what="replies after START")
    assert replies[2] == "You said: back again"


def test_more_continues_a_long_answer(server, gateway) -> None:
    live, _ = server
    number = "+254733000333"
    long_text = " ".join(f"Fact {i} is worth knowing." for i in range(40))
    _generic(live.url, "l-1", number, long_text)
    first = wait_for(lambda: _replies_to(gateway, number), what="first part")[0]
    assert first.endswith("(reply MORE)") and len(first) <= 306
    _generic(live.url, "l-2", number, "more")
    second = wait_for(lambda: len(_replies_to(gateway, number)) == 2 and
                      _replies_to(gateway, number)[1], what="second part")
    assert second.startswith("Fact") and second != first


def test_flood_hits_rate_limit_without_slowing_others(settings, shared_engine,
                                                      gateway) -> None:
    configured = sms_settings(settings, providers=_providers(gateway), rate_per_minute=3,
                              concurrency=2)
    with LiveServer(build_app(configured, shared_engine, EchoAssistant(0.1))) as live:
        flooder, other = "+254744000444", "+254755000555"
        for i in range(40):
            _generic(live.url, f"flood-{i}", flooder, f"spam {i}")
        started = time.monotonic()
        _generic(live.url, "calm-1", other, "a calm question")
        wait_for(lambda: _replies_to(gateway, other), timeout=10, what="the calm reply")
        calm_latency = time.monotonic() - started
        wait_for(lambda: rows(configured, "SELECT (SELECT count(*) FROM sms_inbound WHERE"
                              " state = 'queued') + (SELECT count(*) FROM sms_outbox WHERE"
                              " state = 'pending')")[0][0] == 0, what="the flood to drain")
        replies = _replies_to(gateway, flooder)
    # echo takes 0.1 s: the calm number waits for at most one flood message, not forty
    # (the bound is loose for a loaded CI machine; typically it is about 0.2 s)
    assert calm_latency < 3.0
    answers = [r for r in replies if r.startswith("You said")]
    notices = [r for r in replies if r.startswith("You are sending too fast")]
    assert len(answers) == 3 and len(notices) == 1


def test_outbound_retries_with_backoff(settings, shared_engine, gateway) -> None:
    gateway.failures["/generic/send"] = 2
    configured = sms_settings(settings, providers=_providers(gateway))
    with LiveServer(build_app(configured, shared_engine, EchoAssistant())) as live:
        _generic(live.url, "r-1", "+254766000666", "retry me")
        wait_for(lambda: _replies_to(gateway, "+254766000666"), what="the retried send")
        row = wait_for(lambda: rows(configured, "SELECT * FROM sms_outbox WHERE state='sent'"))
    assert row[0]["attempts"] == 3
    assert len(gateway.sent_to("/generic/send")) == 3
    assert len(gateway.delivered) == 1


def test_africastalking_sms_send_and_delivery_report(server, gateway) -> None:
    live, settings = server
    form = {"from": "+254777000777", "to": "22345", "text": "Habari", "date": "2026-11-28",
            "id": "ATXid_in_1", "linkId": "l1", "networkCode": "63902"}
    answer = httpx.post(f"{live.url}/sms/africastalking/inbound", data=form)
    assert answer.status_code == 200
    sent = wait_for(lambda: gateway.sent_to("/version1/messaging"), what="the AT send")[0]
    assert sent.headers["apikey"] == "k"
    assert sent.form == {"username": "sandbox", "to": "+254777000777",
                         "message": "You said: Habari", "from": "22345"}
    ref = wait_for(lambda: rows(settings, "SELECT provider_ref FROM sms_outbox WHERE"
                                " state = 'sent'"))[0][0]
    dlr = {"id": ref, "status": "Success", "phoneNumber": "+254777000777",
           "networkCode": "63902", "failureReason": "", "retryCount": "0"}
    assert httpx.post(f"{live.url}/sms/africastalking/dlr", data=dlr).status_code == 200
    assert rows(settings, "SELECT state, dlr_status FROM sms_outbox")[0]["state"] == "delivered"
    failed = {**dlr, "status": "Failed", "failureReason": "UserInBlacklist"}
    assert httpx.post(f"{live.url}/sms/africastalking/dlr", data=failed).status_code == 200
    # a final state is not overwritten
    assert rows(settings, "SELECT state FROM sms_outbox")[0]["state"] == "delivered"
    bad = httpx.post(f"{live.url}/sms/africastalking/inbound", data={"from": "+2547", "id": "z"})
    assert bad.status_code == 400


def _twilio_post(url: str, path: str, form: dict[str, str], sign: str | None) -> httpx.Response:
    headers = {} if sign is None else {"X-Twilio-Signature": sign}
    return httpx.post(url + path, data=form, headers=headers)


def test_twilio_signature_is_required(server, gateway) -> None:
    live, settings = server
    form = {"MessageSid": "SM" + "1" * 32, "AccountSid": "AC123", "From": "+14155552671",
            "To": "+14155550000", "Body": "Hi from Twilio", "NumSegments": "1"}
    url = f"{live.url}/sms/twilio/inbound"
    assert _twilio_post(live.url, "/sms/twilio/inbound", form, None).status_code == 403
    forged = signature("wrong-token", url, form)
    assert _twilio_post(live.url, "/sms/twilio/inbound", form, forged).status_code == 403
    tampered = signature(TWILIO_TOKEN, url, {**form, "Body": "other"})
    assert _twilio_post(live.url, "/sms/twilio/inbound", form, tampered).status_code == 403
    assert _inbound_count(settings) == 0
    good = _twilio_post(live.url, "/sms/twilio/inbound", form, signature(TWILIO_TOKEN, url, form))
    assert good.status_code == 200 and good.headers["content-type"].startswith("text/xml")
    assert b"<Response/>" in good.content
    sent = wait_for(lambda: gateway.sent_to("/2010-04-01/Accounts/AC123/Messages.json"))[0]
    assert sent.form["To"] == "+14155552671" and sent.form["Body"] == "You said: Hi from Twilio"
    assert sent.headers["authorization"].startswith("Basic ")
    ref = wait_for(lambda: rows(settings, "SELECT provider_ref FROM sms_outbox WHERE"
                                " state = 'sent'"))[0][0]
    status = {"MessageSid": ref, "MessageStatus": "delivered", "AccountSid": "AC123"}
    dlr_url = f"{live.url}/sms/twilio/dlr"
    assert _twilio_post(live.url, "/sms/twilio/dlr", status, "bad").status_code == 403
    ok = _twilio_post(live.url, "/sms/twilio/dlr", status, signature(TWILIO_TOKEN, dlr_url,
                                                                      status))
    assert ok.status_code == 200
    assert rows(settings, "SELECT state FROM sms_outbox")[0]["state"] == "delivered"


def test_tiny_model_answers_through_the_real_assistant(settings, shared_engine,
                                                       gateway) -> None:
    configured = sms_settings(settings, providers=_providers(gateway))
    with LiveServer(build_app(configured, shared_engine)) as live:
        _generic(live.url, "t-1", "+254788000888", "What is the capital of Kenya?")
        reply = wait_for(lambda: _replies_to(gateway, "+254788000888"), timeout=120,
                         what="the model's reply")[0]
    outbox = rows(configured, "SELECT * FROM sms_outbox")[0]
    assert reply.strip() and outbox["segments"] <= 2


def test_kannel_body_reply_is_replayed_to_a_retried_webhook(settings, shared_engine) -> None:
    configured = sms_settings(settings, providers={"kannel": {
        "reply": "body", "body_wait_s": 5, "sendsms_url": "http://127.0.0.1:9/nothing"}})
    query = {"from": "254700000010", "to": "22345", "text": "知言", "id": "k-1",
             "coding": "0", "charset": "UTF-8"}
    with LiveServer(build_app(configured, shared_engine, EchoAssistant())) as live:
        first = httpx.get(f"{live.url}/sms/kannel/inbound", params=query, timeout=10)
        again = httpx.get(f"{live.url}/sms/kannel/inbound", params=query, timeout=10)
    for answer in (first, again):
        assert answer.status_code == 200
        assert answer.text == "You said: 知言" and answer.headers["x-kannel-coding"] == "2"
    outbox = rows(configured, "SELECT provider_ref, state FROM sms_outbox")
    assert [tuple(r) for r in outbox] == [("http-body", "sent")]
