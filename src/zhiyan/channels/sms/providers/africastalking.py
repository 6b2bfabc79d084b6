"""Africa's Talking: SMS callbacks, delivery reports, USSD, and the messaging API.

Webhooks (form-encoded POSTs):
- incoming SMS: `from, to, text, date, id, linkId, networkCode`
- delivery report: `id, status, phoneNumber, networkCode, failureReason, retryCount`
- USSD: `sessionId, serviceCode, phoneNumber, networkCode, text`, where `text` is every
  input of the session joined with `*`; the answer is `text/plain` starting with `CON `
  (show and wait for input) or `END ` (show and hang up).

Outbound: `POST {base_url}/version1/messaging` with the `apiKey` header. Africa's Talking
offers no idempotency key, so the outbox keeps the window for a duplicate to the moment
between their 201 and zhiyan's commit (see worker.py).

Options: `username`, `api_key`, `sender` (short code or alphanumeric id; default: the
number the user wrote to), `base_url` (default https://api.africastalking.com; the sandbox
is https://api.sandbox.africastalking.com).
"""

from __future__ import annotations

import httpx
from starlette.responses import PlainTextResponse, Response

from zhiyan.channels.sms.providers.base import (
    AcceptedInbound,
    BadRequest,
    DeliveryReport,
    DlrStatus,
    InboundMessage,
    OutboundMessage,
    Provider,
    SendError,
    SendResult,
    UssdRequest,
    WebhookRequest,
    check_text,
    raise_for_send,
    require,
)

_DLR: dict[str, DlrStatus] = {
    "success": "delivered", "sent": "sent", "submitted": "sent", "buffered": "sent",
    "queued": "sent", "rejected": "undelivered", "failed": "undelivered",
}
#: Recipients[].statusCode values that mean "accepted" (100 processed, 101 sent, 102 queued)
_ACCEPTED = {100, 101, 102}
#: codes that will fail again however often we try (bad number, blacklisted, no balance …)
_PERMANENT = {401, 402, 403, 404, 405, 406, 407}


class AfricasTalking(Provider):
    name = "africastalking"
    supports_ussd = True

    def parse_inbound(self, request: WebhookRequest) -> InboundMessage:
        fields = request.form()
        sender, msg_id = require(fields, "from", "id")
        if "text" not in fields:
            raise BadRequest("missing field(s): text")
        return InboundMessage(msg_id, sender, fields.get("to", "").strip(),
                              check_text(fields["text"]))

    def inbound_ack(self, accepted: AcceptedInbound) -> Response:
        return PlainTextResponse("", 200)

    def parse_dlr(self, request: WebhookRequest) -> DeliveryReport:
        fields = request.form()
        ref, status = require(fields, "id", "status")
        mapped = _DLR.get(status.lower())
        if mapped is None:
            raise BadRequest(f"unknown delivery status {status[:30]!r}")
        return DeliveryReport(mapped, provider_ref=ref,
                              detail=fields.get("failureReason", "") or status)

    async def send(self, client: httpx.AsyncClient, message: OutboundMessage) -> SendResult:
        base = self.options.get("base_url", "https://api.africastalking.com").rstrip("/")
        form = {"username": self.options.get("username", ""), "to": message.to,
                "message": message.text}
        sender = self.options.get("sender") or message.sender
        if sender:
            form["from"] = sender
        try:
            response = await client.post(
                f"{base}/version1/messaging", data=form,
                headers={"apiKey": self.options.get("api_key", ""),
                         "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise SendError(f"Africa's Talking unreachable: {exc}") from exc
        raise_for_send(response)
        try:
            recipient = response.json()["SMSMessageData"]["Recipients"][0]
            code = int(recipient["statusCode"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise SendError(f"unexpected answer: {response.text[:200]}") from exc
        if code not in _ACCEPTED:
            raise SendError(f"rejected: {recipient.get('status')} ({code})",
                            retryable=code not in _PERMANENT)
        return SendResult(str(recipient.get("messageId") or "") or None)

    def parse_ussd(self, request: WebhookRequest) -> UssdRequest:
        fields = request.form()
        session_id, phone = require(fields, "sessionId", "phoneNumber")
        text = check_text(fields.get("text", ""))
        inputs = text.split("*") if text else []
        return UssdRequest(session_id, phone, fields.get("serviceCode", ""), inputs)

    def ussd_response(self, text: str, end: bool) -> Response:
        return PlainTextResponse(("END " if end else "CON ") + text)


PROVIDER = AfricasTalking
