"""Provider parsing on its own: Kannel charsets and tokens, Twilio's published signature
example, the provider registry."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from zhiyan.channels.sms.providers.base import (
    BadRequest,
    Forbidden,
    WebhookRequest,
    load_provider,
)
from zhiyan.channels.sms.providers.twilio import signature


def _get(query: str) -> WebhookRequest:
    return WebhookRequest("GET", f"http://127.0.0.1/sms/kannel/inbound?{query}", {},
                          query.encode(), b"")


def _post(body: bytes, content_type: str, **headers: str) -> WebhookRequest:
    return WebhookRequest("POST", "http://127.0.0.1/sms/kannel/inbound?id=m1",
                          {"content-type": content_type, **headers}, b"id=m1", body)


def test_kannel_post_url_body_and_headers() -> None:
    kannel = load_provider("kannel", {})
    numbers = {"x-kannel-from": "254700000001", "x-kannel-to": "22345"}
    recoded = kannel.parse_inbound(_post("你好".encode(), 'text/plain; charset="UTF-8"',
                                         **numbers, **{"x-kannel-coding": "0"}))
    assert (recoded.text, recoded.sender, recoded.provider_msg_id) == (
        "你好", "254700000001", "m1")
    raw_ucs2 = kannel.parse_inbound(_post("ሰላም".encode("utf-16-be"),
                                          "text/plain; charset=UTF-16BE",
                                          **numbers, **{"x-kannel-coding": "2"}))
    assert raw_ucs2.text == "ሰላም"
    with pytest.raises(BadRequest, match="send-sender"):
        kannel.parse_inbound(_post(b"hi", "text/plain", **{"x-kannel-to": "22345"}))
    with pytest.raises(BadRequest, match="not valid UTF-8"):
        kannel.parse_inbound(_post(b"\xff\xfe", "text/plain", **numbers))


def test_twilio_signature_matches_twilios_documented_example() -> None:
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675310", "Digits": "1234",
              "From": "+14158675310", "To": "+18005551212"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", url, params) == "GvWf1cFY/Q7PnoempGyD5oXAezc="


def test_twilio_public_base_url_is_what_gets_signed() -> None:
    twilio = load_provider("twilio", {"auth_token": "t", "public_base_url":
                                      "https://sms.example.org"})
    form = {"MessageSid": "SM1", "From": "+14155552671", "Body": "hi"}
    body = "&".join(f"{k}={quote(v)}" for k, v in form.items()).encode()
    signed = signature("t", "https://sms.example.org/sms/twilio/inbound", form)
    request = WebhookRequest("POST", "http://10.0.0.5:8080/sms/twilio/inbound",
                             {"x-twilio-signature": signed,
                              "content-type": "application/x-www-form-urlencoded"}, b"", body)
    assert twilio.parse_inbound(request).text == "hi"


def test_kannel_utf8_and_raw_ucs2() -> None:
    kannel = load_provider("kannel", {})
    text = "ሰላም 知言"
    recoded = kannel.parse_inbound(_get(
        f"from=251911000002&to=22345&id=u1&coding=0&charset=UTF-8&text={quote(text)}"))
    assert recoded.text == text and recoded.sender == "251911000002"
    raw = quote(text.encode("utf-16-be"))
    without_recode = kannel.parse_inbound(_get(
        f"from=251911000002&to=22345&id=u2&coding=2&charset=UTF-16BE&text={raw}"))
    assert without_recode.text == text
    latin = kannel.parse_inbound(_get(
        f"from=1&to=2&id=u3&coding=0&charset=ISO-8859-1&text={quote('é'.encode('latin-1'))}"))
    assert latin.text == "é"


@pytest.mark.parametrize(("query", "needle"), [
    ("from=1&id=x&charset=UTF-8&text=%FF%FE", "not valid UTF-8"),
    ("from=1&id=x&charset=KLINGON&text=hi", "unknown charset"),
    ("from=1&text=hi", "id"),
    ("id=x&text=hi", "from"),
    ("from=1&id=x", "text"),
])
def test_kannel_bad_input(query: str, needle: str) -> None:
    with pytest.raises(BadRequest, match=needle):
        load_provider("kannel", {}).parse_inbound(_get(query))


def test_kannel_token_and_dlr_types() -> None:
    kannel = load_provider("kannel", {"token": "s3cret"})
    with pytest.raises(Forbidden):
        kannel.parse_inbound(_get("from=1&id=x&text=hi"))
    assert kannel.parse_inbound(_get("from=1&id=x&text=hi&token=s3cret")).text == "hi"
    report = kannel.parse_dlr(_get("oid=12&type=1&token=s3cret"))
    assert (report.outbox_id, report.status) == (12, "delivered")
    assert kannel.parse_dlr(_get("oid=12&type=8&token=s3cret")).status == "sent"
    assert kannel.parse_dlr(_get("oid=12&type=16&token=s3cret")).status == "undelivered"
    with pytest.raises(BadRequest):
        kannel.parse_dlr(_get("oid=12&type=3&token=s3cret"))


def test_registry_knows_only_provider_modules() -> None:
    for name in ("kannel", "africastalking", "twilio", "generic"):
        assert load_provider(name).name == name
    for name in ("base", "nosuch", "../x", "Kannel"):
        with pytest.raises(KeyError):
            load_provider(name)
