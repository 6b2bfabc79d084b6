"""`zhiyan sms simulate` and `zhiyan sms status` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _zhiyan(*args: str, stdin: str = "", data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ZHIYAN_CONFIG": "", "ZHIYAN_STORAGE__DATA_DIR": str(data),
           "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "zhiyan.cli", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=120)


def test_simulate_shows_encoding_segments_and_cost(tmp_path: Path) -> None:
    long = "Tell me. " * 40
    result = _zhiyan("sms", "simulate", "--echo", "--number", "0712345678",
                     stdin=f"Hello “there”\nLANG am\nሰላም\n{long}\nSTOP\nhi\n", data=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "+254712345678" in out
    assert 'You said: Hello "there"' in out and "GSM-7 · 23 units · 1 segment(s)" in out
    assert "ቋንቋው ወደ አማርኛ ተቀይሯል።" in out
    assert "UCS-2" in out
    assert "GSM-7 · 301 units · 2 segment(s)" in out and "(reply MORE)" in out
    assert "(no reply: opted_out)" in out
    assert "KES" in out


def test_status_counts_messages(tmp_path: Path) -> None:
    empty = _zhiyan("sms", "status", data=tmp_path)
    assert empty.returncode == 0 and "no SMS traffic yet" in empty.stdout
