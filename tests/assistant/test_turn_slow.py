"""The pipeline on the default model: a grounded, cited answer in the user's language, and
no silent switch to English for a language the model writes poorly."""

from __future__ import annotations

import pytest

from zhiyan.assistant.language import detect
from zhiyan.assistant.turn import Assistant, Turn
from zhiyan.config import EngineSettings, Settings
from zhiyan.engine.base import Engine
from zhiyan.i18n import t

pytestmark = [pytest.mark.slow, pytest.mark.anyio]


async def test_default_model_answers_from_sources_in_the_users_language(
        default_engine: Engine, kenya_kb: object) -> None:
    settings = Settings(engine=EngineSettings(default_max_tokens=48))
    assistant = Assistant(default_engine, settings, ":memory:", kenya_kb)
    reply = await assistant.respond(
        Turn(text="what is the capital of kenya", user_id="s1", channel="sms", max_chars=300))
    assert "Nairobi" in reply.text and [c.doc_id for c in reply.citations] == ["kenya-en"]
    assert "send money" not in reply.text

    hausa = await assistant.respond(
        Turn(text="yaya ake kare kai daga zazzabin cizon sauro", user_id="s2", channel="sms"))
    assert hausa.lang == "ha"
    assert hausa.text == t("core.weak_language_none", "ha") or detect(hausa.text).lang == "ha"
