"""Kannel (bearerbox + smsbox), the open-source gateway operators run in front of their SMSCs.

Inbound: an `sms-service` whose get-url carries the parameters below; set
`mo-recode = true` so UCS-2 text arrives as UTF-8, and `omit-empty = true` because zhiyan
answers the webhook at once with an empty body and sends the reply later::

    group = sms-service
    keyword = default
    catch-all = true
    omit-empty = true
    get-url = "http://127.0.0.1:8080/sms/kannel/inbound?from=%p&to=%P&text=%a&id=%I&coding=%c&charset=%C"

Or with post-url, where smsbox sends the text as the request body (charset in its
Content-Type) and the numbers in `X-Kannel-From` / `X-Kannel-To` headers; the message id
still travels in the URL, and `send-sender` must be on or the sender is missing::

    post-url = "http://127.0.0.1:8080/sms/kannel/inbound?id=%I"
    send-sender = true

Without mo-recode, UCS-2 text arrives as UTF-16BE bytes with `charset=UTF-16BE`; both are
decoded, either way. Outbound goes through smsbox's `/cgi-bin/sendsms` (`coding=2` for UCS-2, smsbox
splits long text into concatenated parts) with `dlr-mask` and a `dlr-url` that carries the
outbox id, so delivery reports find their message.

Replies in the HTTP response instead (`reply = "body"`): the webhook waits up to
`body_wait_s` (default 8; keep it under smsbox's HTTP timeout) for the answer and returns
it as the response body (UTF-8, with `X-Kannel-Coding: 2` for UCS-2, which smsbox honours
with `accept-x-kannel-headers = true` in the sms-service group); an answer that takes
longer goes out through sendsms as usual. Quick
replies (HELP, STOP, MORE …) then cost one HTTP round trip; delivery reports for body
replies need `dlr-mask`/`dlr-url` in the sms-service group and are not tracked per message.

Options: `sendsms_url`, `username`, `password`, `dlr_url` (zhiyan's `/sms/kannel/dlr`,
reachable from smsbox; omit for no delivery reports), `token` (when set, webhooks must carry
`token=…`), `strip_plus` (default true: SMSCs expect international digits without `+`).
"""

from __future__ import annotations

import codecs
import hmac
from urllib.parse import urlencode

import httpx
from starlette.responses import Response

from zhiyan.channels.sms.providers.base import (
    AcceptedInbound,
    BadRequest,
    DeliveryReport,
    DlrStatus,
    Forbidden,
    InboundMessage,
    OutboundMessage,
    Provider,
    SendError,
    SendResult,
    WebhookRequest,
    check_text,
    raise_for_send,
    require,
)

#: dlr-mask 31: delivered, undelivered, queued on SMSC, SMSC ack, SMSC nack
DLR_MASK = 31
_DLR_TYPES: dict[int, DlrStatus] = {
    1: "delivered", 2: "undelivered", 4: "sent", 8: "sent", 16: "undelivered",
}


class Kannel(Provider):
    name = "kannel"

    def _authorize(self, params: dict[str, bytes]) -> None:
        token = self.options.get("token")
        if token and not hmac.compare_digest(params.get("token", b""), str(token).encode()):
            raise Forbidden("wrong or missing token")

    def parse_inbound(self, request: WebhookRequest) -> InboundMessage:
        posted = request.method == "POST" and "x-kannel-to" in request.headers
        raw = request.params("query" if posted else "both")
        self._authorize(raw)
        text_bytes = request.body if posted else raw.get("text")
        try:
            fields = {k: v.decode("utf-8") for k, v in raw.items() if k != "text"}
        except UnicodeDecodeError:
            raise BadRequest("parameters are not valid UTF-8") from None
        if posted:  # post-url: numbers in headers, charset in the Content-Type
            fields.update({
                "from": request.headers.get("x-kannel-from", ""),
                "to": request.headers.get("x-kannel-to", ""),
                "coding": request.headers.get("x-kannel-coding", ""),
                "charset": _content_type_charset(request.headers.get("content-type", "")),
            })
            if not fields["from"]:
                raise BadRequest("missing X-Kannel-From: set send-sender = true in the"
                                 " sms-service group")
        sender, msg_id = require(fields, "from", "id")
        if text_bytes is None:
            raise BadRequest("missing field(s): text")
        charset = fields.get("charset", "").strip() or "UTF-8"
        if fields.get("coding") == "2" and charset.upper() in ("UCS-2", "UCS2", "UTF-16"):
            charset = "UTF-16BE"
        try:
            codecs.lookup(charset)
            text = text_bytes.decode(charset)
        except LookupError:
            raise BadRequest(f"unknown charset {charset[:30]!r}") from None
        except UnicodeDecodeError:
            raise BadRequest(f"text is not valid {charset}") from None
        return InboundMessage(msg_id, sender, fields.get("to", "").strip(), check_text(text))

    def inbound_ack(self, accepted: AcceptedInbound) -> Response:
        # An empty body: with omit-empty, smsbox sends nothing now; the reply follows.
        return Response(b"", 200)

    @property
    def reply_hold_s(self) -> float:
        if self.options.get("reply", "sendsms") != "body":
            return 0.0
        return float(self.options.get("body_wait_s", 8.0))

    def body_reply(self, text: str, encoding: str) -> Response:
        headers = {"X-Kannel-Coding": "2"} if encoding == "UCS-2" else {}
        return Response(text.encode("utf-8"), 200, headers=headers,
                        media_type="text/plain; charset=utf-8")

    def parse_dlr(self, request: WebhookRequest) -> DeliveryReport:
        raw = request.params()
        self._authorize(raw)
        fields = {k: v.decode("utf-8", "replace") for k, v in raw.items()}
        oid, kind = require(fields, "oid", "type")
        if not oid.isdigit() or not kind.isdigit():
            raise BadRequest("oid and type must be numbers")
        status = _DLR_TYPES.get(int(kind))
        if status is None:
            raise BadRequest(f"unknown delivery report type {kind}")
        return DeliveryReport(status, outbox_id=int(oid), detail=f"kannel type {kind}")

    async def send(self, client: httpx.AsyncClient, message: OutboundMessage) -> SendResult:
        url = self.options.get("sendsms_url", "http://127.0.0.1:13013/cgi-bin/sendsms")
        to = message.to
        if self.options.get("strip_plus", True):
            to = to.removeprefix("+")
        params = {
            "username": self.options.get("username", ""),
            "password": self.options.get("password", ""),
            "to": to,
            "text": message.text,
            "charset": "UTF-8",
            "coding": "2" if message.encoding == "UCS-2" else "0",
        }
        if message.sender:
            params["from"] = message.sender
        dlr_url = self.options.get("dlr_url")
        if dlr_url:
            sep = "&" if "?" in dlr_url else "?"
            token = self.options.get("token")
            extra = f"&token={token}" if token else ""
            params["dlr-mask"] = str(DLR_MASK)
            params["dlr-url"] = f"{dlr_url}{sep}oid={message.outbox_id}&type=%d{extra}"
        try:
            response = await client.get(f"{url}?{urlencode(params)}")
        except httpx.HTTPError as exc:
            raise SendError(f"sendsms unreachable: {exc}") from exc
        raise_for_send(response)
        return SendResult(None)


def _content_type_charset(content_type: str) -> str:
    """`text/plain; charset="UTF-8"` → `UTF-8` (smsbox quotes it)."""
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"')
    return ""


PROVIDER = Kannel
