"""The `zhiyan` command, run as a user runs it: a real process, the tiny model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ZHIYAN = [sys.executable, "-m", "zhiyan.cli"]


def run(*args: str, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ZHIYAN, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def data_env(tmp_path: Path) -> dict[str, str]:
    return {"ZHIYAN_STORAGE__DATA_DIR": str(tmp_path / "data")}


def test_model_list_shows_every_model_and_whether_installed() -> None:
    result = run("model", "list")
    assert result.returncode == 0
    for name in ("default", "lite", "tiny"):
        assert name in result.stdout
    assert "yes" in result.stdout


def test_model_verify_and_path_for_tiny() -> None:
    verify = run("model", "verify", "tiny")
    assert verify.returncode == 0 and "ok tiny" in verify.stdout
    path = run("model", "path", "tiny")
    assert path.stdout.strip().endswith("SmolLM2-135M-Instruct.Q4_1.gguf")


def test_unknown_model_is_refused_with_the_choices() -> None:
    result = run("model", "path", "gigantic")
    assert result.returncode == 1
    assert "default, lite, tiny" in result.stderr


def test_one_shot_chat_answers(data_env: dict[str, str]) -> None:
    result = run("chat", "-m", "tiny", "--max-tokens", "12", "Say hello", env=data_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_interactive_chat_takes_turns_until_quit(data_env: dict[str, str]) -> None:
    proc = subprocess.run([*ZHIYAN, "chat", "-m", "tiny", "--max-tokens", "8"],
                          input="Hi\nWhat is two plus two?\n/quit\n", capture_output=True,
                          text=True, timeout=300, env={**os.environ, **data_env})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("> ") >= 3  # a prompt for each line read


def test_serve_refuses_to_start_on_a_corrupt_model(tmp_path: Path,
                                                   data_env: dict[str, str]) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + os.urandom(256))
    result = run("serve", "--port", "0", env={**data_env, "ZHIYAN_ENGINE__MODEL": str(broken)},
                 timeout=120)
    assert result.returncode == 1
    assert "cannot start" in result.stderr and "could not load" in result.stderr


def test_serve_refuses_to_start_without_the_model_package(data_env: dict[str, str]) -> None:
    result = run("serve", "--model", "/nonexistent/model.gguf", env=data_env, timeout=60)
    assert result.returncode == 1
    assert "no model '/nonexistent/model.gguf'" in result.stderr


@pytest.mark.slow
def test_default_model_explains_an_idiom_in_chinese(data_env: dict[str, str]) -> None:
    result = run("chat", "--max-tokens", "120", "画蛇添足是什么意思？", env=data_env, timeout=600)
    assert result.returncode == 0, result.stderr
    answer = result.stdout
    chinese = sum("\u4e00" <= ch <= "\u9fff" for ch in answer)
    assert chinese >= 10, answer
    assert any(word in answer for word in ("多余", "反而", "弄巧成拙", "画蛇添足")), answer


def test_idiom_warm_fills_the_vector_cache_and_resumes(tmp_path: Path) -> None:
    import sqlite3

    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    first = run("idiom", "warm", "--limit", "5", "--batch", "2", env=env)
    assert first.returncode == 0, first.stderr
    assert "5 idiom explanations" in first.stdout
    cache = tmp_path / "cache" / "zhiyan" / "idiom-vectors.sqlite3"
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT count(*) FROM vectors").fetchone() == (5,)
    again = run("idiom", "warm", "--limit", "7", env=env)  # keyed by text: no duplicates
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT count(*) FROM vectors").fetchone() == (7,)
