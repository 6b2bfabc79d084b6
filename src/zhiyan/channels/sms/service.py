"""The SMS service object shared by the webhook routes, USSD and the in-server worker:
settings, providers, the acceptor and the queue, created once per app and started and
stopped by the router's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from zhiyan.channels.sms.providers.base import Provider, WebhookError, WebhookRequest
from zhiyan.channels.sms.queue import Acceptor, Queue
from zhiyan.channels.sms.settings import SmsSettings
from zhiyan.channels.sms.worker import Worker, load_providers
from zhiyan.config import Settings

#: an SMS webhook is small; anything bigger is not one (the 4000-character text limit is
#: checked after parsing, with a clearer message)
MAX_WEBHOOK_BYTES = 64 * 1024


class SmsService:
    """Everything the SMS routes share: settings, providers, the acceptor and the queue."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.section("sms", SmsSettings)
        self.providers: dict[str, Provider] = load_providers(self.settings)
        self.db_path = settings.storage.database
        self.worker: Worker | None = None
        self.acceptor = Acceptor(self.db_path, on_commit=self._nudge)
        self.queue = Queue(self.db_path)

    def _nudge(self) -> None:
        if self.worker is not None:
            self.worker.nudge()

    def provider(self, name: str) -> Provider:
        found = self.providers.get(name)
        if found is None:
            raise HTTPException(404, f"no SMS provider '{name}' is enabled")
        return found

    def close(self) -> None:
        self.acceptor.close()
        self.queue.close()


def get_service(app: FastAPI) -> SmsService:
    service = getattr(app.state, "sms", None)
    if service is None:
        service = app.state.sms = SmsService(app.state.settings)
    return service


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    service = get_service(app)
    task = None
    stop = asyncio.Event()
    if service.settings.worker_in_server:
        service.worker = Worker(service.db_path, app.state.assistant, service.settings,
                                service.providers)
        task = asyncio.create_task(service.worker.run(stop), name="sms-worker")
    try:
        yield
    finally:
        stop.set()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 5)
        if service.worker is not None:
            service.worker.close()
        service.close()
        app.state.sms = None


async def webhook_request(request: Request) -> WebhookRequest:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_WEBHOOK_BYTES:
        raise HTTPException(413, f"webhook body over {MAX_WEBHOOK_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            raise HTTPException(413, f"webhook body over {MAX_WEBHOOK_BYTES} bytes")
    return WebhookRequest(
        method=request.method, url=str(request.url),
        headers={k.lower(): v for k, v in request.headers.items()},
        query=request.scope.get("query_string", b""), body=bytes(body),
    )


def webhook_error(exc: WebhookError) -> JSONResponse:
    from zhiyan.app import error_body

    kind = "permission_error" if exc.status_code == 403 else "invalid_request_error"
    return JSONResponse(error_body(str(exc), kind), exc.status_code)
