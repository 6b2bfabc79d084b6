"""End to end through a real Kannel (bearerbox + smsbox + fakesmsc on 127.0.0.1): messages
from phones reach zhiyan, replies reach the fake SMSC (UCS-2 and concatenated parts
included), and delivery reports settle each message's state.

Kannel is a required test dependency (installed by scripts/install-system-deps.sh, which
`make test` runs): when it is missing these tests fail and say how to install it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.channels.sms.helpers import build_app, rows, sms_settings, wait_for
from tests.channels.sms.kannel_peer import INSTALL_HINT, Delivered, KannelPeer, installed
from tests.conftest import LiveServer, _KeepOpen
from zhiyan.channels.sms.echo import EchoAssistant
from zhiyan.config import EngineSettings, Settings, StorageSettings
from zhiyan.engine.base import Engine

SHORTCODE = "22345"


@pytest.fixture(scope="module")
def kannel(tmp_path_factory: pytest.TempPathFactory,
           tiny_engine: Engine) -> Iterator[tuple[KannelPeer, Settings]]:
    if not installed():
        pytest.fail(INSTALL_HINT)
    work: Path = tmp_path_factory.mktemp("kannel")
    peer = KannelPeer(work)
    base = Settings(engine=EngineSettings(model="tiny"),
                    storage=StorageSettings(data_dir=work / "var"))
    settings = sms_settings(base, providers={"kannel": {
        "sendsms_url": peer.sendsms_url, "username": "zhiyan", "password": "testpw"}})
    app = build_app(settings, _KeepOpen(tiny_engine), EchoAssistant())
    server = LiveServer(app)
    peer.webhook = f"{server.url}/sms/kannel/inbound"
    # the service reads its settings when the server starts: add the DLR URL now
    settings.extra["sms"]["providers"]["kannel"]["dlr_url"] = f"{server.url}/sms/kannel/dlr"
    with server, peer:
        yield peer, settings


def _to(peer: KannelPeer, number: str) -> list[Delivered]:
    return [d for d in peer.delivered() if d.to == number]


def test_english_message_round_trip_and_delivery_reports(kannel) -> None:
    peer, settings = kannel
    peer.mobile_sends("254700000001", SHORTCODE, "Hello zhiyan")
    got = wait_for(lambda: _to(peer, "254700000001"), what="the reply at the fake SMSC")
    assert got[0].text == "You said: Hello zhiyan" and got[0].sender == SHORTCODE
    inbound = rows(settings, "SELECT * FROM sms_inbound WHERE msisdn = '+254700000001'")
    assert inbound[0]["text"] == "Hello zhiyan" and inbound[0]["provider"] == "kannel"
    outbox = wait_for(lambda: rows(settings, "SELECT * FROM sms_outbox WHERE msisdn ="
                                   " '+254700000001' AND state = 'delivered'"),
                      what="the delivery report")
    assert outbox[0]["dlr_status"] == "delivered" and outbox[0]["encoding"] == "GSM-7"


@pytest.mark.parametrize(("number", "text"), [("251911000002", "ሰላም እንዴት ነህ"),
                                              ("8613800138000", "你好，知言")])
def test_ucs2_message_round_trip(kannel, number: str, text: str) -> None:
    peer, settings = kannel
    peer.mobile_sends(number, SHORTCODE, text)
    got = wait_for(lambda: _to(peer, number), what="the UCS-2 reply")
    assert got[0].text == f"You said: {text}"
    assert rows(settings, "SELECT text FROM sms_inbound WHERE msisdn = ?",
                f"+{number}")[0]["text"] == text
    outbox = rows(settings, "SELECT encoding FROM sms_outbox WHERE msisdn = ?", f"+{number}")
    assert outbox[0]["encoding"] == "UCS-2"


def test_long_reply_arrives_as_concatenated_parts(kannel) -> None:
    peer, settings = kannel
    number = "254700000003"
    question = " ".join(f"Point {i} matters." for i in range(12))[:155]  # one MO part
    peer.mobile_sends(number, SHORTCODE, question)
    parts = wait_for(lambda: len(_to(peer, number)) >= 2 and _to(peer, number),
                     what="two concatenated parts")
    assert len(parts) == 2
    assert all(p.part is not None for p in parts)
    refs = {p.part[0] for p in parts if p.part}
    assert len(refs) == 1 and sorted(p.part[1:] for p in parts if p.part) == [(2, 1), (2, 2)]
    joined = "".join(p.text for p in sorted(parts, key=lambda p: p.part or (0, 0, 0)))
    outbox = rows(settings, "SELECT text, segments FROM sms_outbox WHERE msisdn = ?",
                  f"+{number}")[0]
    assert joined == outbox["text"] == f"You said: {question}" and outbox["segments"] == 2


def _own_kannel(tmp_path: Path, engine: Engine, inbound: str, kannel: dict[str, object]
                ) -> tuple[KannelPeer, Settings, LiveServer]:
    """A Kannel and a zhiyan of a test's own, for options the shared fixture lacks
    (`sendsms_url` defaults to this Kannel's own)."""
    if not installed():
        pytest.fail(INSTALL_HINT)
    peer = KannelPeer(tmp_path, inbound=inbound)
    base = Settings(engine=EngineSettings(model="tiny"),
                    storage=StorageSettings(data_dir=tmp_path / "var"))
    settings = sms_settings(base, providers={"kannel": {
        "sendsms_url": peer.sendsms_url, **kannel}})
    server = LiveServer(build_app(settings, _KeepOpen(engine), EchoAssistant()))
    peer.webhook = f"{server.url}/sms/kannel/inbound"
    return peer, settings, server


def test_replies_in_the_webhook_response_body(tmp_path: Path, tiny_engine: Engine) -> None:
    """`reply = "body"`: quick answers ride back in the HTTP response (sendsms is dead here,
    so a reply can only have come that way), UCS-2 included."""
    peer, settings, server = _own_kannel(tmp_path, tiny_engine, "get", {
        "reply": "body", "body_wait_s": 8, "sendsms_url": "http://127.0.0.1:9/nothing"})
    with server, peer:
        peer.mobile_sends("254700000004", SHORTCODE, "Quick one")
        peer.mobile_sends("251911000005", SHORTCODE, "ሰላም")
        english = wait_for(lambda: _to(peer, "254700000004"), what="the body reply")
        amharic = wait_for(lambda: _to(peer, "251911000005"), what="the UCS-2 body reply")
    assert english[0].text == "You said: Quick one"
    assert amharic[0].text == "You said: ሰላም"
    outbox = rows(settings, "SELECT provider_ref, state, attempts FROM sms_outbox")
    assert [(r["provider_ref"], r["state"], r["attempts"]) for r in outbox] == [
        ("http-body", "sent", 0)] * 2


def test_post_url_inbound(tmp_path: Path, tiny_engine: Engine) -> None:
    """smsbox's post-url: the text arrives as the request body, the numbers in X-Kannel-*
    headers, the id in the URL; Chinese and plain text both make the round trip."""
    peer, settings, server = _own_kannel(tmp_path, tiny_engine, "post", {
        "username": "zhiyan", "password": "testpw"})
    with server, peer:
        peer.mobile_sends("254700000006", SHORTCODE, "Posted hello")
        peer.mobile_sends("8613800000007", SHORTCODE, "你好，知言")
        english = wait_for(lambda: _to(peer, "254700000006"), what="the reply")
        chinese = wait_for(lambda: _to(peer, "8613800000007"), what="the UCS-2 reply")
    assert english[0].text == "You said: Posted hello"
    assert chinese[0].text == "You said: 你好，知言"
    inbound = rows(settings, "SELECT msisdn, text, provider_msg_id FROM sms_inbound"
                             " ORDER BY id")
    assert [(r["msisdn"], r["text"]) for r in inbound] == [
        ("+254700000006", "Posted hello"), ("+8613800000007", "你好，知言")]
    assert all(len(r["provider_msg_id"]) == 36 for r in inbound)  # Kannel's %I, a UUID
