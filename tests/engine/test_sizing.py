"""parallel = "auto": slots from the machine's RAM and this process's cgroup limit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from zhiyan.config import EngineSettings
from zhiyan.engine import factory
from zhiyan.engine.sizing import auto_parallel, usable_memory

GIB = 1024**3


def fake_proc(tmp_path: Path, mem_total_gib: float, cgroup: str) -> Path:
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "meminfo").write_text(
        f"MemTotal:       {int(mem_total_gib * GIB / 1024)} kB\nMemFree:        1000 kB\n")
    (proc / "self" / "cgroup").write_text(cgroup)
    return proc


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_ram_alone_when_no_cgroup_limit(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, 24, "0::/user.slice\n")
    root = tmp_path / "cgroup"
    write(root / "cgroup.controllers", "memory cpu\n")
    write(root / "user.slice" / "memory.max", "max\n")
    assert usable_memory(proc, root) == 24 * GIB
    assert auto_parallel(usable_memory(proc, root)) == 4


def test_cgroup_v2_limit_of_an_ancestor_counts(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, 24, "0::/box/app\n")
    root = tmp_path / "cgroup"
    write(root / "cgroup.controllers", "memory cpu\n")
    write(root / "box" / "memory.max", str(1800 * 1024**2))
    write(root / "box" / "app" / "memory.max", "max\n")
    assert usable_memory(proc, root) == 1800 * 1024**2
    assert auto_parallel(usable_memory(proc, root)) == 2


def test_cgroup_v1_memory_limit(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, 24, "4:memory:/docker/abc\n1:cpu,cpuacct:/docker/abc\n0::/\n")
    root = tmp_path / "cgroup"
    write(root / "memory" / "memory.limit_in_bytes", "9223372036854771712\n")  # no limit
    write(root / "memory" / "docker" / "abc" / "memory.limit_in_bytes", str(2 * GIB))
    assert usable_memory(proc, root) == 2 * GIB


def test_small_machine_without_cgroups(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, 1.9, "")
    assert usable_memory(proc, tmp_path / "nowhere") == int(1.9 * GIB / 1024) * 1024
    assert auto_parallel(usable_memory(proc, tmp_path / "nowhere")) == 2


def test_unknown_memory_keeps_four_slots(tmp_path: Path) -> None:
    assert usable_memory(tmp_path / "no-proc", tmp_path / "no-cgroup") is None
    assert auto_parallel(None) == 4


def test_thresholds() -> None:
    assert auto_parallel(3 * GIB - 1) == 2
    assert auto_parallel(3 * GIB) == 4


@pytest.mark.parametrize("memory, slots", [(int(1.8 * GIB), 2), (16 * GIB, 4)])
def test_engine_built_with_auto_gets_the_slots(monkeypatch: pytest.MonkeyPatch,
                                               memory: int, slots: int) -> None:
    monkeypatch.setattr(factory, "usable_memory", lambda: memory)
    engine = factory.build_engine(EngineSettings(model="tiny", context_size=512))
    try:
        assert engine.parallel == slots  # type: ignore[attr-defined]
    finally:
        asyncio.run(engine.close())


def test_an_explicit_number_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory, "usable_memory", lambda: int(1.8 * GIB))
    engine = factory.build_engine(EngineSettings(model="tiny", context_size=512, parallel=3))
    try:
        assert engine.parallel == 3  # type: ignore[attr-defined]
    finally:
        asyncio.run(engine.close())
