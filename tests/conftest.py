"""Shared fixtures: one tiny llama.cpp engine per test session, and a live zhiyan server.

The tiny model (SmolLM2-135M) is for engine plumbing only: its answers are not judged for
quality, only for shape. Tests marked `slow` use the default model.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from zhiyan.config import EngineSettings, Settings, StorageSettings
from zhiyan.engine.base import Engine
from zhiyan.engine.factory import build_engine

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def tiny_engine() -> Iterator[Engine]:
    engine = build_engine(EngineSettings(model="tiny", context_size=2048, parallel=4))
    yield engine
    import asyncio

    asyncio.run(engine.close())


@pytest.fixture(scope="session")
def default_engine() -> Iterator[Engine]:
    engine = build_engine(EngineSettings(model="default", context_size=4096, parallel=2))
    yield engine
    import asyncio

    asyncio.run(engine.close())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A real uvicorn server on 127.0.0.1 in a background thread."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class _KeepOpen(Engine):
    """Wraps the shared engine so an app's shutdown does not close it for later tests."""

    def __init__(self, inner: Engine) -> None:
        self._inner = inner
        self.model_id = inner.model_id
        self.context_size = inner.context_size

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def chat_stream(self, request):  # type: ignore[no-untyped-def]
        return self._inner.chat_stream(request)

    async def count_tokens(self, messages):  # type: ignore[no-untyped-def]
        return await self._inner.count_tokens(messages)

    async def score_choices(self, prompt, choices):  # type: ignore[no-untyped-def]
        return await self._inner.score_choices(prompt, choices)

    async def health(self):  # type: ignore[no-untyped-def]
        return await self._inner.health()

    async def close(self) -> None:
        return None


@pytest.fixture
def shared_engine(tiny_engine: Engine) -> Engine:
    """The session's tiny engine, safe to hand to an app that closes its engine."""
    return _KeepOpen(tiny_engine)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        engine=EngineSettings(model="tiny", context_size=2048, parallel=4),
        storage=StorageSettings(data_dir=tmp_path / "var"),
    )


@pytest.fixture
def live_server(settings: Settings, shared_engine: Engine) -> Iterator[LiveServer]:
    from zhiyan.app import create_app

    with LiveServer(create_app(settings, shared_engine)) as server:
        yield server
