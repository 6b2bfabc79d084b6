"""SMS webhooks: `/sms/{provider}/inbound` and `/sms/{provider}/dlr` (and, through
channels/ussd.py, `/ussd/{provider}`).

An inbound webhook parses, validates and normalises the message, commits it to the queue
and answers at once; the answer is produced by the worker, which runs in this process (the
router's lifespan starts it) unless `[sms] worker_in_server = false`, in which case
`zhiyan sms worker` does the work. Malformed input is a 400 and queues nothing; an
unknown or disabled provider is a 404; a bad signature is a 403.
"""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from zhiyan.channels import ussd
from zhiyan.channels.sms.providers.base import WebhookError
from zhiyan.channels.sms.service import (
    SmsService,
    get_service,
    lifespan,
    webhook_error,
    webhook_request,
)
from zhiyan.channels.sms.sessions import InvalidNumber, normalize_number

log = logging.getLogger("zhiyan.sms")

router = APIRouter(lifespan=lifespan)
router.include_router(ussd.router)


@router.api_route("/sms/{provider}/inbound", methods=["GET", "POST"])
async def inbound(provider: str, request: Request) -> Response:
    service = get_service(request.app)
    adapter = service.provider(provider)
    raw = await webhook_request(request)
    try:
        message = adapter.parse_inbound(raw)
        msisdn = normalize_number(message.sender, service.settings.default_region)
    except WebhookError as exc:
        return webhook_error(exc)
    except InvalidNumber as exc:
        return webhook_error(WebhookError(str(exc)))
    try:
        accepted = await service.acceptor.accept(provider, message, msisdn)
    except Exception as exc:
        log.error("sms: could not queue a message from %s: %s", provider, exc)
        raise HTTPException(503, "the message queue is unavailable; retry later",
                            headers={"Retry-After": "5"}) from None
    if adapter.reply_hold_s > 0:
        reply = await _wait_for_body_reply(service, accepted.inbound_id, adapter.reply_hold_s)
        if reply is not None:
            return adapter.body_reply(*reply)
    return adapter.inbound_ack(accepted)


async def _wait_for_body_reply(service: SmsService, inbound_id: int,
                               hold_s: float) -> tuple[str, str] | None:
    """Poll for the reply until shortly before the hold ends (the sender takes it then)."""
    deadline = time.monotonic() + hold_s * 0.8
    while True:
        reply = await asyncio.to_thread(service.queue.take_for_body, inbound_id, time.time())
        if reply is not None or time.monotonic() >= deadline:
            return reply
        await asyncio.sleep(0.05)


@router.api_route("/sms/{provider}/dlr", methods=["GET", "POST"])
async def delivery_report(provider: str, request: Request) -> Response:
    service = get_service(request.app)
    adapter = service.provider(provider)
    raw = await webhook_request(request)
    try:
        report = adapter.parse_dlr(raw)
    except WebhookError as exc:
        return webhook_error(exc)
    found = await asyncio.to_thread(service.queue.apply_dlr, provider, report, time.time())
    if not found:
        raise HTTPException(404, "no message matches this delivery report")
    return JSONResponse({"status": "ok"})
