"""The provider interface: one small class per gateway (Kannel, Africa's Talking, Twilio, a
generic JSON webhook) that translates its wire format to and from zhiyan's.

A provider parses webhooks (inbound messages, delivery reports, USSD) into plain
dataclasses and sends outbound messages. It never touches the queue or the assistant, so
adding one is one new file in this folder: `load_provider("name")` imports
`zhiyan.channels.sms.providers.name` and uses its `PROVIDER` class.
"""

from __future__ import annotations

import importlib
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from urllib.parse import unquote_to_bytes

import httpx
from starlette.responses import Response

DlrStatus = Literal["sent", "delivered", "undelivered"]


class WebhookError(Exception):
    """A webhook the provider must not retry as is: 400 malformed, 403 not authentic."""

    status_code = 400


class BadRequest(WebhookError):
    status_code = 400


class Forbidden(WebhookError):
    status_code = 403


class SendError(Exception):
    """An outbound send failed; `retryable` says whether trying again may help."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class WebhookRequest:
    """What a provider sees of an HTTP request: enough to parse it and check signatures."""

    method: str
    #: the URL as received (scheme, host, path and query)
    url: str
    #: header names in lower case
    headers: Mapping[str, str]
    query: bytes
    body: bytes

    def params(self, source: Literal["query", "body", "both"] = "both") -> dict[str, bytes]:
        """URL-encoded parameters as raw bytes (decoding is the provider's business:
        Kannel may send UTF-16 text)."""
        out: dict[str, bytes] = {}
        if source in ("query", "both"):
            out.update(parse_urlencoded(self.query))
        if source in ("body", "both") and self.body:
            content_type = self.headers.get("content-type", "")
            if "json" in content_type or "multipart" in content_type:
                raise BadRequest("expected an application/x-www-form-urlencoded body")
            out.update(parse_urlencoded(self.body))
        return out

    def form(self, source: Literal["query", "body", "both"] = "both") -> dict[str, str]:
        """Parameters decoded as UTF-8; invalid bytes are a 400, never a silent '?'."""
        try:
            return {k: v.decode("utf-8") for k, v in self.params(source).items()}
        except UnicodeDecodeError as exc:
            raise BadRequest(f"parameters are not valid UTF-8: {exc.reason}") from None


def parse_urlencoded(raw: bytes) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for pair in raw.split(b"&"):
        if not pair:
            continue
        key, _, value = pair.partition(b"=")
        try:
            name = unquote_to_bytes(key.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("a parameter name is not valid UTF-8") from None
        out[name] = unquote_to_bytes(value.replace(b"+", b" "))
    return out


@dataclass(frozen=True)
class InboundMessage:
    provider_msg_id: str
    #: the sender as the gateway wrote it (normalised to E.164 by the caller)
    sender: str
    #: the number or short code the user wrote to
    to: str
    text: str


@dataclass(frozen=True)
class DeliveryReport:
    status: DlrStatus
    #: zhiyan's outbox id when the gateway echoes it back (Kannel's dlr-url) …
    outbox_id: int | None = None
    #: … or the gateway's own message id returned by `send`
    provider_ref: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class OutboundMessage:
    outbox_id: int
    #: stable across retries: a gateway that honours it never delivers twice
    idempotency_key: str
    to: str
    sender: str
    text: str
    encoding: str


@dataclass(frozen=True)
class SendResult:
    provider_ref: str | None = None


@dataclass(frozen=True)
class UssdRequest:
    session_id: str
    phone: str
    service_code: str
    #: the user's inputs so far, in order
    inputs: list[str]


@dataclass(frozen=True)
class AcceptedInbound:
    inbound_id: int
    duplicate: bool


MAX_TEXT_CHARS = 4000


def require(fields: Mapping[str, str], *names: str) -> list[str]:
    """The named fields, each present and non-empty after trimming, or a 400 naming them."""
    missing = [n for n in names if not str(fields.get(n, "")).strip()]
    if missing:
        raise BadRequest(f"missing field(s): {', '.join(missing)}")
    return [str(fields[n]).strip() for n in names]


def check_text(text: str) -> str:
    if len(text) > MAX_TEXT_CHARS:
        raise BadRequest(f"text longer than {MAX_TEXT_CHARS} characters")
    if any(ord(c) < 32 and c not in "\n\r\t" for c in text):
        raise BadRequest("text contains control characters")
    return text


class Provider(ABC):
    """One gateway. `options` is its `[sms.providers.<name>]` table."""

    name: ClassVar[str]

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = dict(options or {})

    @abstractmethod
    def parse_inbound(self, request: WebhookRequest) -> InboundMessage: ...

    @abstractmethod
    def inbound_ack(self, accepted: AcceptedInbound) -> Response:
        """What the gateway gets back once the message is durably queued."""

    @abstractmethod
    def parse_dlr(self, request: WebhookRequest) -> DeliveryReport: ...

    @abstractmethod
    async def send(self, client: httpx.AsyncClient, message: OutboundMessage) -> SendResult: ...

    #: seconds an inbound webhook may wait for the reply to answer it in its own HTTP
    #: response (0: never; the reply is always sent with `send`)
    @property
    def reply_hold_s(self) -> float:
        return 0.0

    def body_reply(self, text: str, encoding: str) -> Response:
        """The webhook response that carries the reply itself (when reply_hold_s > 0)."""
        raise NotImplementedError

    supports_ussd: ClassVar[bool] = False

    def parse_ussd(self, request: WebhookRequest) -> UssdRequest:
        raise NotImplementedError

    def ussd_response(self, text: str, end: bool) -> Response:
        raise NotImplementedError


_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


def load_provider(name: str, options: Mapping[str, Any] | None = None) -> Provider:
    """The provider module `name` (a file in this folder); KeyError when there is none."""
    if not _NAME.match(name) or name == "base":
        raise KeyError(name)
    try:
        module = importlib.import_module(f"zhiyan.channels.sms.providers.{name}")
    except ModuleNotFoundError:
        raise KeyError(name) from None
    cls: type[Provider] = module.PROVIDER
    return cls(options)


def raise_for_send(response: httpx.Response) -> None:
    """5xx and 429 are worth retrying; other 4xx will fail the same way again."""
    if response.status_code < 300:
        return
    retryable = response.status_code >= 500 or response.status_code in (408, 429)
    raise SendError(f"HTTP {response.status_code}: {response.text[:200]}", retryable)
