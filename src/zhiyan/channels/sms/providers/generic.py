"""A generic JSON webhook, for gateways without their own adapter and for integrations.

Inbound: `POST /sms/generic/inbound` with `{"id": "…", "from": "+254…", "to": "22345",
"text": "…"}`; the answer is `{"status": "queued", "message_id": N, "duplicate": false}`.
Delivery reports: `POST /sms/generic/dlr` with `{"message_id": "<id send returned>",
"status": "sent" | "delivered" | "undelivered"}`.

Outbound: `POST {send_url}` with `{"to", "from", "text", "encoding", "idempotency_key"}` and
an `Idempotency-Key` header, expecting `{"id": "…"}` back. A gateway that honours the key
(answering a repeat with the first result or 409) makes delivery exactly once.

Options: `send_url`, `token` (when set, webhooks need `Authorization: Bearer <token>` and
sends carry it).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

import httpx
from starlette.responses import JSONResponse, Response

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
)

_STATUSES: tuple[DlrStatus, ...] = ("sent", "delivered", "undelivered")


class Generic(Provider):
    name = "generic"

    def _json(self, request: WebhookRequest) -> dict[str, Any]:
        token = self.options.get("token")
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                raise Forbidden("wrong or missing bearer token")
        try:
            data = json.loads(request.body.decode("utf-8"))
        except UnicodeDecodeError:
            raise BadRequest("the body is not valid UTF-8") from None
        except ValueError:
            raise BadRequest("the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("the body must be a JSON object")
        return data

    @staticmethod
    def _string(data: dict[str, Any], name: str, required: bool = True) -> str:
        value = data.get(name)
        if value is None and not required:
            return ""
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or (required and not value.strip()):
            raise BadRequest(f"missing or malformed field: {name}")
        return value

    def parse_inbound(self, request: WebhookRequest) -> InboundMessage:
        data = self._json(request)
        if not isinstance(data.get("text"), str):
            raise BadRequest("missing or malformed field: text")
        return InboundMessage(self._string(data, "id").strip(),
                              self._string(data, "from").strip(),
                              self._string(data, "to", required=False).strip(),
                              check_text(data["text"]))

    def inbound_ack(self, accepted: AcceptedInbound) -> Response:
        return JSONResponse({"status": "queued", "message_id": accepted.inbound_id,
                             "duplicate": accepted.duplicate})

    def parse_dlr(self, request: WebhookRequest) -> DeliveryReport:
        data = self._json(request)
        ref = self._string(data, "message_id").strip()
        given = self._string(data, "status").strip().lower()
        status = next((s for s in _STATUSES if s == given), None)
        if status is None:
            raise BadRequest(f"status must be one of {', '.join(_STATUSES)}")
        return DeliveryReport(status, provider_ref=ref, detail=str(data.get("detail", ""))[:200])

    async def send(self, client: httpx.AsyncClient, message: OutboundMessage) -> SendResult:
        url = self.options.get("send_url")
        if not url:
            raise SendError("generic provider has no send_url", retryable=False)
        headers = {"Idempotency-Key": message.idempotency_key}
        if self.options.get("token"):
            headers["Authorization"] = f"Bearer {self.options['token']}"
        body = {"to": message.to, "from": message.sender, "text": message.text,
                "encoding": message.encoding, "idempotency_key": message.idempotency_key}
        try:
            response = await client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SendError(f"gateway unreachable: {exc}") from exc
        if response.status_code == 409:  # the gateway already has this key: it was sent
            return SendResult(message.idempotency_key)
        raise_for_send(response)
        try:
            return SendResult(str(response.json().get("id") or message.idempotency_key))
        except (ValueError, AttributeError):
            return SendResult(message.idempotency_key)


PROVIDER = Generic
