"""Read-only views of ``/proc``: process trees, their memory, and CPU time.

Linux only, like the rest of the suite. Processes come and go while we read (a task may
fork, a prefork child may be replaced), so every read tolerates a vanished pid.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    return raw[raw.rindex(")") + 2 :].split()


def parents() -> dict[int, int]:
    """pid -> parent pid, for every process visible now."""
    out: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                out[int(entry.name)] = int(fields[1])
    return out


def tree(root: int, parent_of: dict[int, int] | None = None) -> set[int]:
    """``root`` and all its descendants."""
    parent_of = parents() if parent_of is None else parent_of
    children: dict[int, list[int]] = {}
    for pid, ppid in parent_of.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in found or pid not in parent_of:
            continue
        found.add(pid)
        todo.extend(children.get(pid, ()))
    return found


def cpu_ticks(pids: Iterable[int]) -> int:
    """utime + stime (+ reaped children's) of ``pids``, in clock ticks."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            # After the ")": state=0, ppid=1, ... utime=11, stime=12, cutime=13, cstime=14.
            total += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return total


@dataclass(frozen=True)
class MachineCpu:
    busy: int
    total: int


def machine_cpu() -> MachineCpu:
    """Aggregate busy and total ticks of all cores (first line of /proc/stat)."""
    values = [int(v) for v in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return MachineCpu(busy=busy, total=busy + idle + iowait)


def rss_bytes(pid: int) -> int:
    try:
        return int((PROC / str(pid) / "statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def pss_bytes(pid: int) -> int:
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0
