"""Settings precedence: defaults < TOML file < environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from zhiyan.config import load_settings


def test_defaults_bind_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.server.host == "127.0.0.1"
    assert settings.engine.model == "default"
    assert settings.storage.database.name == "zhiyan.sqlite3"
    assert settings.storage.data_dir.is_absolute()


def test_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "zhiyan.toml"
    config.write_text('[engine]\nmodel = "lite"\nparallel = 2\n[server]\nport = 9000\n'
                      '[sms]\nsegment_budget = 3\n')
    settings = load_settings(config, environ={"ZHIYAN_ENGINE__PARALLEL": "6",
                                              "ZHIYAN_SMS__SEGMENT_BUDGET": "1"})
    assert settings.engine.model == "lite"
    assert settings.engine.parallel == 6  # environment wins
    assert settings.server.port == 9000

    class Sms(BaseModel):
        segment_budget: int = 2

    assert settings.section("sms", Sms).segment_budget == 1
    assert settings.section("absent", Sms).segment_budget == 2


def test_invalid_values_are_refused_with_the_field(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="parallel"):
        load_settings(environ={"ZHIYAN_ENGINE__PARALLEL": "0"})


def test_config_path_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text('[engine]\nthreads = 1\n')
    assert load_settings(environ={"ZHIYAN_CONFIG": str(config)}).engine.threads == 1
