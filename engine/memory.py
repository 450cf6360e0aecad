"""How much memory this process may still use, so huge inputs are refused before they are read."""

from __future__ import annotations

import os
from pathlib import Path

_MEMINFO = Path("/proc/meminfo")
_PROC_CGROUP = Path("/proc/self/cgroup")
_CGROUP_ROOT = Path("/sys/fs/cgroup")
#: (folder under the cgroup root, limit file, usage file) of cgroup v2 and of v1's memory controller.
_V2 = ("", "memory.max", "memory.current")
_V1 = ("memory", "memory.limit_in_bytes", "memory.usage_in_bytes")


def _meminfo_available() -> int | None:
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _sysconf_available() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None  # absent, or "max" (no limit)


def _own_cgroups() -> list[tuple[tuple[str, str, str], str]]:
    """(layout, path) of the cgroups this process is in that can limit memory (``/proc/self/cgroup``)."""
    try:
        lines = _PROC_CGROUP.read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":
            found.append((_V2, path))
        elif "memory" in controllers.split(","):
            found.append((_V1, path))
    return found


def _cgroup_headroom() -> int | None:
    """The least ``limit - usage`` over this process's memory cgroups and their ancestors."""
    room = None
    for (folder, limit_file, usage_file), path in _own_cgroups():
        base = _CGROUP_ROOT / folder if folder else _CGROUP_ROOT
        level = base / path.lstrip("/")
        while True:
            limit, usage = _read_int(level / limit_file), _read_int(level / usage_file)
            if limit is not None and usage is not None:
                room = max(0, limit - usage) if room is None else min(room, max(0, limit - usage))
            if level == base or base not in level.parents:
                break
            level = level.parent
    return room


def available_memory() -> int | None:
    """Bytes this process can still allocate without swapping, or None where that is unknown.

    The smallest of: the kernel's ``MemAvailable`` (free memory plus reclaimable caches; on
    systems without ``/proc/meminfo``, the free physical pages), and the headroom
    ``limit - usage`` of each memory cgroup (v1 or v2) this process is in and of their
    ancestors, where a limit is set (a container's memory limit).
    """
    found = [v for v in (_meminfo_available() or _sysconf_available(), _cgroup_headroom()) if v is not None]
    return min(found) if found else None
