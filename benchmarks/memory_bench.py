"""How much RAM `zhiyan serve` needs, per configuration, against the default one, in one run.

Each configuration starts its own `zhiyan serve` (a fresh data directory), gets the same
work (a knowledge question, an idiom question, a cloze item: every model the server can
load is then loaded), and is read from /proc: peak and current resident set, split into
anonymous memory (heap, KV cache, embedding model: what the machine must really hold) and
file-backed pages (the mapped model file, which the kernel can drop and read again).

Resident is not needed: llama.cpp reads the whole mapped model file while loading, but on
x86 it copies most weights into its own repacked (anonymous) buffer, and the file pages of
those weights are never touched again. So after that first round the benchmark clears the
pages' referenced bits (`/proc/PID/clear_refs`), sends the same work again, and reads from
`/proc/PID/smaps` which pages that second round touched: the working set is all anonymous
memory plus the file pages referenced (model file and other files: libraries, e5).
A baseline of the same reading over a few idle seconds shows what the idle server touches.

    .venv/bin/python benchmarks/memory_bench.py
    .venv/bin/python benchmarks/memory_bench.py --configs default parallel2 no_mmap

The product aims at a 2 GB machine; the ratio column is each row's peak resident set over
the default configuration's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

#: name -> (model, environment overrides[, llama.cpp `CommonParams` attributes])
CONFIGS: dict[str, tuple[str, dict[str, str]] | tuple[str, dict[str, str], dict[str, object]]] = {
    "default": ("default", {}),  # parallel = "auto": 4 slots, 2 under 3 GiB of memory
    "parallel4": ("default", {"ZHIYAN_ENGINE__PARALLEL": "4"}),
    "parallel2": ("default", {"ZHIYAN_ENGINE__PARALLEL": "2"}),
    "bm25_only": ("default", {"ZHIYAN_KNOWLEDGE__EMBEDDINGS": "false"}),
    "parallel2_bm25": ("default", {"ZHIYAN_ENGINE__PARALLEL": "2",
                                   "ZHIYAN_KNOWLEDGE__EMBEDDINGS": "false"}),
    "lite": ("lite", {}),
    "lite_parallel2_bm25": ("lite", {"ZHIYAN_ENGINE__PARALLEL": "2",
                                     "ZHIYAN_KNOWLEDGE__EMBEDDINGS": "false"}),
    # Not engine settings: set on llama.cpp's parameters by _BOOT, to see what they change.
    # load_mode 0 = LLAMA_LOAD_MODE_NONE: the file is read into memory, not mapped.
    "no_mmap": ("default", {}, {"load_mode": 0}),
    # no_extra_bufts: no repacked copies; every weight is used from the mapped file.
    "no_repack": ("default", {}, {"no_extra_bufts": True}),
}

#: `zhiyan serve` with llama.cpp parameters the engine does not expose (argv[1], JSON), set
#: on the `CommonParams` just before the engine hands them to `xllamacpp.Server`.
_BOOT = """
import json, sys
import xllamacpp
from zhiyan.cli import app
overrides = json.loads(sys.argv.pop(1))
server = xllamacpp.Server
def patched(params, *args, **kwargs):
    for key, value in overrides.items():
        setattr(params, key, value)
    return server(params, *args, **kwargs)
xllamacpp.Server = patched
app()
"""

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


def _major_faults(pid: int) -> int:
    """Page faults that had to read from disk (a dropped file page read again)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[9])


def _smaps_kb(pid: int) -> dict[str, int]:
    """Resident and referenced kB from /proc/PID/smaps: anonymous memory, the mapped model
    file (*.gguf), other mapped files. A file mapping's referenced pages are bounded by its
    file-backed pages (its private copies of pages are counted as anonymous)."""
    totals = dict.fromkeys(("anon", "anon_ref", "model", "model_ref", "files", "files_ref"), 0)
    mapping: dict[str, int] = {}
    path = ""

    def add() -> None:
        anon = mapping.get("Anonymous", 0)
        totals["anon"] += anon
        totals["anon_ref"] += min(mapping.get("Referenced", 0), anon)
        if path.startswith("/"):
            kind = "model" if path.endswith(".gguf") else "files"
            on_file = mapping.get("Rss", 0) - anon
            totals[kind] += on_file
            totals[kind + "_ref"] += min(mapping.get("Referenced", 0), on_file)

    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if "-" in head[0] and not head[0].endswith(":"):  # a new mapping: "from-to perms …"
            add()
            mapping, path = {}, head[5] if len(head) > 5 else ""
        elif head[0] in ("Rss:", "Anonymous:", "Referenced:"):
            mapping[head[0][:-1]] = int(head[1])
    add()
    return totals


def _work(url: str) -> None:
    """The work: a knowledge question, an idiom question, a cloze item."""
    for question in ("What is the capital of Kenya?", "画蛇添足是什么意思？"):
        response = httpx.post(url + "/v1/chat/completions", timeout=600, json={
            "messages": [{"role": "user", "content": question}], "max_tokens": 48})
        response.raise_for_status()
    httpx.post(url + "/v1/chengyu/cloze", json=CLOZE, timeout=600).raise_for_status()


def measure(model: str, overrides: dict[str, str], llama: dict[str, object],
            port: int) -> dict[str, float]:
    """Start a server with this configuration, give it the work, read its memory."""
    with tempfile.TemporaryDirectory(prefix="zhiyan-mem-") as data:
        env = {**os.environ, "ZHIYAN_STORAGE__DATA_DIR": data, **overrides}
        log = Path(data) / "serve.log"
        serve = ["serve", "--model", model, "--port", str(port)]
        command = ([sys.executable, "-c", _BOOT, json.dumps(llama), *serve] if llama
                   else [sys.executable, "-m", "zhiyan.cli", *serve])
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                stderr=log.open("w"))
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
            slots = httpx.get(url + "/healthz").json()["engine"]["parallel"]
            _work(url)  # first round: loads everything
            Path(f"/proc/{proc.pid}/clear_refs").write_text("1")
            time.sleep(3)
            idle = _smaps_kb(proc.pid)
            Path(f"/proc/{proc.pid}/clear_refs").write_text("1")
            begin, faults = time.monotonic(), _major_faults(proc.pid)
            _work(url)  # second round: the same work, pages touched are recorded
            seconds, faults = time.monotonic() - begin, _major_faults(proc.pid) - faults
            touched = _smaps_kb(proc.pid)
            done = _status_kb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    mb = {key: value / 1024 for key, value in touched.items()}
    return {"slots": slots, "started_rss": started["VmRSS"] / 1024,
            "peak_rss": done["VmHWM"] / 1024,
            "anon": done["RssAnon"] / 1024, "file": done["RssFile"] / 1024,
            "idle_ref": (idle["model_ref"] + idle["files_ref"]) / 1024,
            "working_set": mb["anon"] + mb["model_ref"] + mb["files_ref"],
            "round_s": seconds, "major_faults": faults,
            **{f"smaps_{key}": value for key, value in mb.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--port", type=int, default=18731)
    args = parser.parse_args()
    names = args.configs if "default" in args.configs else ["default", *args.configs]
    rows = {}
    for name in names:
        model, overrides, *llama = CONFIGS[name]
        rows[name] = measure(model, overrides, llama[0] if llama else {}, args.port)
        print(f"measured {name}: {json.dumps(rows[name])}", file=sys.stderr, flush=True)
    base = rows["default"]["peak_rss"]
    print(f"{'configuration':<22} {'slots':>5} {'RSS at start':>12} {'peak RSS':>9} "
          f"{'anon':>7} {'file':>7} {'peak/default':>12}")
    for name, row in rows.items():
        print(f"{name:<22} {row['slots']:>5} {row['started_rss']:>10.0f}MB "
              f"{row['peak_rss']:>7.0f}MB "
              f"{row['anon']:>5.0f}MB {row['file']:>5.0f}MB {row['peak_rss'] / base:>12.3f}")
    print("\nSecond round of the same work (MB from smaps; ref = referenced in that round):")
    print(f"{'configuration':<22} {'anon':>6} {'model':>6} {'model ref':>9} {'files':>6} "
          f"{'files ref':>9} {'working set':>11} {'idle ref':>8} {'round':>6} {'majflt':>6}")
    for name, row in rows.items():
        print(f"{name:<22} {row['smaps_anon']:>6.0f} {row['smaps_model']:>6.0f} "
              f"{row['smaps_model_ref']:>9.0f} {row['smaps_files']:>6.0f} "
              f"{row['smaps_files_ref']:>9.0f} {row['working_set']:>11.0f} "
              f"{row['idle_ref']:>8.0f} {row['round_s']:>5.1f}s {row['major_faults']:>6}")


if __name__ == "__main__":
    main()
