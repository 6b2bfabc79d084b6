"""How much RAM `zhiyan serve` needs, per configuration, against the default one, in one run.

Each configuration starts its own `zhiyan serve` (a fresh data directory), gets the same
work (a knowledge question, an idiom question, a cloze item: every model the server can
load is then loaded), and is read from /proc: peak and current resident set, split into
anonymous memory (heap, KV cache, embedding model: what the machine must really hold) and
file-backed pages (the mapped model file, which the kernel can drop and read again).

    .venv/bin/python benchmarks/memory_bench.py
    .venv/bin/python benchmarks/memory_bench.py --configs default parallel2 lite_bm25

The product aims at a 2 GB machine; the ratio column is each row's resident set over the
default configuration's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

#: name -> (model, environment overrides)
CONFIGS: dict[str, tuple[str, dict[str, str]]] = {
    "default": ("default", {}),
    "parallel2": ("default", {"ZHIYAN_ENGINE__PARALLEL": "2"}),
    "bm25_only": ("default", {"ZHIYAN_KNOWLEDGE__EMBEDDINGS": "false"}),
    "parallel2_bm25": ("default", {"ZHIYAN_ENGINE__PARALLEL": "2",
                                   "ZHIYAN_KNOWLEDGE__EMBEDDINGS": "false"}),
    "lite": ("lite", {}),
    "lite_parallel2_bm25": ("lite", {"ZHIYAN_ENGINE__PARALLEL": "2",
                                     "ZHIYAN_KNOWLEDGE__EMBEDDINGS": "false"}),
}

CLOZE = {
    "content": "他做事总是#idiom#，结果把原本很好的计划弄得一团糟。",
    "candidates": ["画蛇添足", "雪中送炭", "一帆风顺", "守株待兔", "对牛弹琴", "亡羊补牢",
                   "井底之蛙"],
}


def _status_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0])
    return fields


def measure(model: str, overrides: dict[str, str], port: int) -> dict[str, float]:
    """Start a server with this configuration, give it the work, read its memory."""
    with tempfile.TemporaryDirectory(prefix="zhiyan-mem-") as data:
        env = {**os.environ, "ZHIYAN_STORAGE__DATA_DIR": data, **overrides}
        log = Path(data) / "serve.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "zhiyan.cli", "serve", "--model", model, "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 300
            while True:
                try:
                    if httpx.get(url + "/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    tail = log.read_text(errors="replace")[-1500:]
                    raise RuntimeError(f"zhiyan serve ({model}, {overrides}) did not come up:"
                                       f"\n{tail}")
                time.sleep(0.5)
            started = _status_kb(proc.pid)
            for question in ("What is the capital of Kenya?", "画蛇添足是什么意思？"):
                response = httpx.post(url + "/v1/chat/completions", timeout=600, json={
                    "messages": [{"role": "user", "content": question}], "max_tokens": 48})
                response.raise_for_status()
            httpx.post(url + "/v1/chengyu/cloze", json=CLOZE, timeout=600).raise_for_status()
            done = _status_kb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return {"started_rss": started["VmRSS"] / 1024, "peak_rss": done["VmHWM"] / 1024,
            "anon": done["RssAnon"] / 1024, "file": done["RssFile"] / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--port", type=int, default=18731)
    args = parser.parse_args()
    names = args.configs if "default" in args.configs else ["default", *args.configs]
    rows = {}
    for name in names:
        model, overrides = CONFIGS[name]
        rows[name] = measure(model, overrides, args.port)
        print(f"measured {name}", file=sys.stderr, flush=True)
    base = rows["default"]["peak_rss"]
    print(f"{'configuration':<22} {'RSS at start':>12} {'peak RSS':>9} {'anon':>7} "
          f"{'file':>7} {'peak/default':>12}")
    for name, row in rows.items():
        print(f"{name:<22} {row['started_rss']:>10.0f}MB {row['peak_rss']:>7.0f}MB "
              f"{row['anon']:>5.0f}MB {row['file']:>5.0f}MB {row['peak_rss'] / base:>12.3f}")


if __name__ == "__main__":
    main()
