"""`zhiyan eval chid`, `chid-build`, `chid-fit` and `zhiyan idiom`, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SHARED_DATA

ZHIYAN = [sys.executable, "-m", "zhiyan.cli"]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ZHIYAN, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env={**os.environ, **(env or {})})


def test_eval_chid_on_real_items_then_fit_weights(tmp_path: Path) -> None:
    """Plumbing without a model (the tiny test model cannot score Chinese choices, see
    test_chengyu_cloze); the model features are exercised by the slow cloze test."""
    data = SHARED_DATA / "chid_fewclue_train.jsonl"
    evaluated = run("eval", "chid", str(data), "--limit", "3", "--features", "meaning",
                    "--weights", "meaning=1", "--out", "r.json", "--progress", "p.jsonl",
                    cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "accuracy:" in evaluated.stdout and "items/s" in evaluated.stdout
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["items"] == 3 and 0 <= report["accuracy"] <= 1
    assert report["cpu_seconds_per_item"] >= 0 and report["weights"] == {"meaning": 1.0}
    assert len((tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()) == 3
    assert set(report["rows"][0]["features"]) == {"meaning"}

    built = run("eval", "chid-build", "own.jsonl", "--n", "12", cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-2000:]
    own = run("eval", "chid", "own.jsonl", "--features", "meaning", "--weights", "meaning=1",
              "--out", "own.json", cwd=tmp_path)
    assert own.returncode == 0 and "items: 12" in own.stdout, own.stderr[-2000:]

    # without --features the shipped solver decides and is timed (the tiny model cannot
    # score Chinese, so idiom knowledge decides here; the default model's path is in the
    # slow cloze test)
    solved = run("eval", "chid", str(data), "--limit", "2", "--model", "tiny",
                 "--out", "s.json", cwd=tmp_path)
    assert solved.returncode == 0, solved.stderr[-2000:]
    report = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert report["decided_by"] == "solver (shortlist)" and report["items"] == 2
    assert all(0 <= r["choice"] < 7 and "shortlist" in r for r in report["rows"])

    fitted = run("eval", "chid-fit", "own.json", "r.json", cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr[-2000:]
    assert "fitted on own.json (12 items)" in fitted.stdout and "r.json" in fitted.stdout


def test_idiom_commands(tmp_path: Path) -> None:
    env = {"ZHIYAN_STORAGE__DATA_DIR": str(tmp_path / "data")}
    shown = run("idiom", "show", "ye gong hao long", "--lang", "en", cwd=tmp_path, env=env)
    assert shown.returncode == 0 and "叶公好龙" in shown.stdout and "Meaning" in shown.stdout
    refused = run("idiom", "find", "too much", "--lang", "en", cwd=tmp_path, env=env)
    assert refused.returncode == 2 and "Chinese" in refused.stderr
    found = run("idiom", "find", "形容做多余的事，反而坏事", cwd=tmp_path, env=env)
    assert found.stdout.splitlines()[0].startswith("画蛇添足")
    first = run("idiom", "chain", "一心一意", "--new", cwd=tmp_path, env=env)
    assert first.returncode == 0 and "[assistant] 意" in first.stdout
    again = run("idiom", "chain", "画蛇添足", cwd=tmp_path, env=env)
    assert "应该以" in again.stdout  # the saved game remembers the chain
    detected = run("idiom", "detect", "他这样做真是画蛇添足。", cwd=tmp_path, env=env)
    assert detected.stdout.startswith("6-10\t画蛇添足")
