"""How many parallel slots this machine can afford, so the default fits a 2 GB machine.

Each llama.cpp slot reserves its own KV cache (the default model: ~28 KB a token, so
~115 MB for a 4,096-token slot). Measured with `benchmarks/memory_bench.py`, the default
model's working set is ~1.80 GB with 4 slots and ~1.57 GB with 2; with 4 slots it thrashed
under an 1,800 MiB memory limit (docs/benchmarks.md, "Memory"). So `parallel = "auto"`
gives 4 slots where there is room and 2 where memory is short. The memory counted is the
smaller of the machine's RAM and the memory limit of this process's cgroup (a container
or a systemd unit often allows far less than the machine has).
"""

from __future__ import annotations

from pathlib import Path

#: below this much memory (bytes), "auto" gives SMALL_SLOTS instead of LARGE_SLOTS
ROOMY = 3 * 1024**3
SMALL_SLOTS = 2
LARGE_SLOTS = 4


def _meminfo_total(proc: Path) -> int | None:
    try:
        for line in (proc / "meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _read_limit(path: Path) -> int | None:
    """A cgroup memory limit file: a byte count, or "max" / a huge number for none."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if not text.isdigit():
        return None
    value = int(text)
    return value if value < 2**60 else None


def _cgroup_limit(proc: Path, cgroup_root: Path) -> int | None:
    """The tightest memory limit on this process's cgroup and its ancestors (v1 or v2)."""
    try:
        lines = (proc / "self" / "cgroup").read_text().splitlines()
    except OSError:
        return None
    limits: list[int] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, group = parts
        if controllers == "":  # cgroup v2
            base, name = cgroup_root, "memory.max"
            if not (base / "cgroup.controllers").exists():
                base = cgroup_root / "unified"
        elif "memory" in controllers.split(","):  # cgroup v1
            base, name = cgroup_root / "memory", "memory.limit_in_bytes"
        else:
            continue
        here = base / group.lstrip("/")
        while True:
            limit = _read_limit(here / name)
            if limit is not None:
                limits.append(limit)
            if here == base or base not in here.parents:
                break
            here = here.parent
    return min(limits) if limits else None


def usable_memory(proc: Path = Path("/proc"),
                  cgroup_root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Bytes this process may use: the smaller of RAM and its cgroup's limit (None if
    neither can be read, e.g. not on Linux)."""
    known = [m for m in (_meminfo_total(proc), _cgroup_limit(proc, cgroup_root)) if m]
    return min(known) if known else None


def auto_parallel(memory: int | None) -> int:
    """Slots for `parallel = "auto"`: 2 under 3 GiB, else 4 (4 when memory is unknown,
    as before this setting existed)."""
    return SMALL_SLOTS if memory is not None and memory < ROOMY else LARGE_SLOTS
