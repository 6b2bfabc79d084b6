"""A zhiyan app with an admin token and short answers, and a test client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.channels.web.helpers import ADMIN_TOKEN
from zhiyan.config import Settings
from zhiyan.engine.base import Engine


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    settings.extra["admin"] = {"token": ADMIN_TOKEN}
    settings.engine.default_max_tokens = 24
    return settings


@pytest.fixture
def web_app(web_settings: Settings, shared_engine: Engine) -> FastAPI:
    from zhiyan.app import create_app

    return create_app(web_settings, shared_engine)


@pytest.fixture
def client(web_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(web_app, follow_redirects=False) as test_client:
        yield test_client
