"""Builds the web application: engine, error mapping, limits, metrics and the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from zhiyan.assistant.router import knowledge_provider
from zhiyan.assistant.turn import Assistant
from zhiyan.channels import http_api
from zhiyan.channels import web as web_channel
from zhiyan.channels.sms import api as sms_api
from zhiyan.chengyu import api as chengyu_api
from zhiyan.config import Settings
from zhiyan.engine.base import Engine
from zhiyan.engine.errors import EngineError, QueueFullError
from zhiyan.engine.factory import build_engine
from zhiyan.knowledge import api as knowledge_api
from zhiyan.metrics import Metrics
from zhiyan.middleware import LimitsAndMetrics


def error_body(message: str, error_type: str, code: str | None = None,
               param: str | None = None) -> dict[str, Any]:
    """The OpenAI error shape, so OpenAI clients raise their usual exceptions."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The application. The engine is built now, not lazily: a missing or corrupt model
    must stop the server before it accepts a single request."""
    engine = engine or build_engine(settings.engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # a stand-in assistant (benchmarks' instant one) may have nothing to warm
        warm_up = getattr(app.state.assistant, "warm_up", None)
        if warm_up is not None:
            await warm_up()
        yield
        await engine.close()

    app = FastAPI(title="zhiyan", version="0.1.0", lifespan=lifespan)
    metrics = Metrics()
    metrics.in_flight.set_function(lambda: float(getattr(engine, "in_flight", 0)))
    app.state.settings = settings
    app.state.engine = engine
    app.state.metrics = metrics
    app.state.assistant = Assistant(engine, settings, settings.storage.database,
                                    knowledge_provider(app))

    @app.exception_handler(EngineError)
    async def engine_error(request: Request, exc: EngineError) -> JSONResponse:
        headers = {}
        if isinstance(exc, QueueFullError):
            headers["Retry-After"] = str(exc.retry_after)
        return JSONResponse(error_body(str(exc), exc.error_type), exc.status_code, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse(
                error_body("the request body is not valid JSON", "invalid_request_error"), 400
            )
        problems = []
        for e in errors:
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            problems.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        param = ".".join(str(p) for p in errors[0].get("loc", ())[1:]) if errors else ""
        return JSONResponse(
            error_body("invalid request: " + "; ".join(problems), "invalid_request_error",
                       param=param or None),
            400,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error_type = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return JSONResponse(error_body(str(exc.detail), error_type), exc.status_code,
                            getattr(exc, "headers", None))

    app.include_router(http_api.router)
    # Each part of zhiyan adds its router here, one line each:
    app.include_router(knowledge_api.router)
    app.include_router(web_channel.router)
    app.include_router(sms_api.router)
    app.include_router(chengyu_api.router)
    app.add_middleware(GZipMiddleware, minimum_size=500)  # web pages on slow links
    app.add_middleware(LimitsAndMetrics, metrics=metrics,
                       max_body=settings.server.max_body_bytes)
    return app
