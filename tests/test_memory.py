"""available_memory: the kernel's MemAvailable, tightened by any cgroup limit of this process."""

import pytest

from factormap.engine import memory


@pytest.fixture
def fake_system(tmp_path, monkeypatch):
    """A fake /proc/meminfo, /proc/self/cgroup and /sys/fs/cgroup under tmp_path."""
    root = tmp_path / "cgroup"
    root.mkdir()
    monkeypatch.setattr(memory, "_MEMINFO", tmp_path / "meminfo")
    monkeypatch.setattr(memory, "_PROC_CGROUP", tmp_path / "self_cgroup")
    monkeypatch.setattr(memory, "_CGROUP_ROOT", root)
    (tmp_path / "meminfo").write_text("MemTotal:  16000000 kB\nMemFree:  1000 kB\nMemAvailable:  8000000 kB\n")
    return tmp_path, root


def _group(folder, limit_file, usage_file, limit, usage):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / limit_file).write_text(f"{limit}\n")
    (folder / usage_file).write_text(f"{usage}\n")


def test_without_cgroups_it_is_mem_available(fake_system):
    tmp_path, _ = fake_system
    assert memory.available_memory() == 8_000_000 * 1024


def test_a_cgroup_v2_limit_of_a_parent_counts(fake_system):
    tmp_path, root = fake_system
    (tmp_path / "self_cgroup").write_text("0::/box/job\n")
    _group(root / "box", "memory.max", "memory.current", 3_000_000_000, 1_000_000_000)
    _group(root / "box" / "job", "memory.max", "memory.current", "max", 900_000_000)
    assert memory.available_memory() == 2_000_000_000


def test_a_cgroup_v1_memory_limit_counts(fake_system):
    tmp_path, root = fake_system
    (tmp_path / "self_cgroup").write_text("4:memory:/api/abc\n3:cpuset:/\n0::/\n")
    _group(root / "memory", "memory.limit_in_bytes", "memory.usage_in_bytes", 2**63 - 4096, 5_000_000_000)
    _group(root / "memory" / "api" / "abc", "memory.limit_in_bytes", "memory.usage_in_bytes",
           1_500_000_000, 1_000_000_000)
    assert memory.available_memory() == 500_000_000


def test_mem_available_wins_when_it_is_smaller(fake_system):
    tmp_path, root = fake_system
    (tmp_path / "self_cgroup").write_text("0::/\n")
    _group(root, "memory.max", "memory.current", 10**13, 0)
    assert memory.available_memory() == 8_000_000 * 1024


def test_nothing_known_is_none(fake_system, monkeypatch):
    tmp_path, _ = fake_system
    (tmp_path / "meminfo").unlink()
    monkeypatch.setattr(memory, "_sysconf_available", lambda: None)
    assert memory.available_memory() is None


def test_on_this_machine_it_is_a_positive_number():
    free = memory.available_memory()
    assert free is None or free > 0
