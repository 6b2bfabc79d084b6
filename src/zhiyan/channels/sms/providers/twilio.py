"""Twilio Programmable Messaging: the incoming-message webhook, status callbacks, and the
Messages API.

Every webhook must carry a valid `X-Twilio-Signature`: HMAC-SHA1, keyed with the account's
auth token, of the full URL Twilio called followed by every POST parameter sorted by name,
each written as name then value with no separators, base64-encoded. A bad or missing
signature is a 403 and nothing is queued. Behind a proxy the URL Twilio called differs from
the one zhiyan sees: set `public_base_url` (e.g. `https://sms.example.org`).

The webhook answers with empty TwiML (`<Response/>`): the answer takes longer than Twilio
waits, so it is sent through the API with a `StatusCallback` for delivery reports.

Options: `account_sid`, `auth_token`, `from_number` (default: the number the user wrote
to), `status_callback` (zhiyan's `/sms/twilio/dlr` as Twilio reaches it), `public_base_url`,
`base_url` (default https://api.twilio.com).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit

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

_STATUS: dict[str, DlrStatus] = {
    "accepted": "sent", "queued": "sent", "sending": "sent", "sent": "sent",
    "delivered": "delivered", "read": "delivered",
    "undelivered": "undelivered", "failed": "undelivered",
}
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's request signature for a POST to `url` with form `params`."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class Twilio(Provider):
    name = "twilio"

    def _verified_form(self, request: WebhookRequest) -> dict[str, str]:
        given = request.headers.get("x-twilio-signature", "")
        token = str(self.options.get("auth_token", ""))
        if not given or not token:
            raise Forbidden("missing X-Twilio-Signature")
        try:
            fields = request.form("body")
        except BadRequest:
            raise Forbidden("bad X-Twilio-Signature") from None
        url = request.url
        public = self.options.get("public_base_url")
        if public:
            parts = urlsplit(request.url)
            url = public.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
        if not hmac.compare_digest(signature(token, url, fields), given):
            raise Forbidden("bad X-Twilio-Signature")
        return fields

    def parse_inbound(self, request: WebhookRequest) -> InboundMessage:
        fields = self._verified_form(request)
        msg_id, sender = require(fields, "MessageSid", "From")
        if "Body" not in fields:
            raise BadRequest("missing field(s): Body")
        return InboundMessage(msg_id, sender, fields.get("To", "").strip(),
                              check_text(fields["Body"]))

    def inbound_ack(self, accepted: AcceptedInbound) -> Response:
        return Response(EMPTY_TWIML, 200, media_type="text/xml")

    def parse_dlr(self, request: WebhookRequest) -> DeliveryReport:
        fields = self._verified_form(request)
        ref, status = require(fields, "MessageSid", "MessageStatus")
        mapped = _STATUS.get(status.lower())
        if mapped is None:
            raise BadRequest(f"unknown MessageStatus {status[:30]!r}")
        return DeliveryReport(mapped, provider_ref=ref, detail=fields.get("ErrorCode", status))

    async def send(self, client: httpx.AsyncClient, message: OutboundMessage) -> SendResult:
        base = self.options.get("base_url", "https://api.twilio.com").rstrip("/")
        sid = str(self.options.get("account_sid", ""))
        form = {"To": message.to, "From": self.options.get("from_number") or message.sender,
                "Body": message.text}
        if self.options.get("status_callback"):
            form["StatusCallback"] = self.options["status_callback"]
        try:
            response = await client.post(
                f"{base}/2010-04-01/Accounts/{sid}/Messages.json", data=form,
                auth=(sid, str(self.options.get("auth_token", ""))),
            )
        except httpx.HTTPError as exc:
            raise SendError(f"Twilio unreachable: {exc}") from exc
        raise_for_send(response)
        try:
            return SendResult(str(response.json()["sid"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise SendError(f"unexpected answer: {response.text[:200]}") from exc


PROVIDER = Twilio
