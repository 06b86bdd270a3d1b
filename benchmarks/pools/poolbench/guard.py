"""The shared-machine guard: how much CPU did processes outside the benchmark use?

The machine may run other people's jobs. Before each timed batch the driver waits (a
bounded time) for them to go quiet; during each batch it accounts the CPU of the whole
machine and of the benchmark's own process tree (driver, servers, worker). A batch is
*disturbed* when foreign processes used at least :data:`FOREIGN_CORES` cores while the
machine was at least :data:`BUSY` busy — then the benchmark competed for CPU, and the
batch is retried. Everything measured here goes into results.json.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from poolbench import procfs

FOREIGN_CORES = 0.3
BUSY = 0.85


@dataclass(frozen=True)
class Load:
    seconds: float
    foreign_cores: float
    machine_busy: float  # 0..1 of all cores

    @property
    def disturbed(self) -> bool:
        return self.foreign_cores >= FOREIGN_CORES and self.machine_busy >= BUSY


@dataclass(frozen=True)
class _Snapshot:
    at: float
    machine: procfs.MachineCpu
    ours: dict[int, int]


class Guard:
    """Measures foreign CPU over windows; the benchmark is ``root``'s process tree."""

    def __init__(self, root: int | None = None) -> None:
        self.root = os.getpid() if root is None else root
        self.cores = len(os.sched_getaffinity(0))

    def snapshot(self) -> _Snapshot:
        pids = procfs.tree(self.root)
        return _Snapshot(
            at=time.monotonic(),
            machine=procfs.machine_cpu(),
            ours={pid: procfs.cpu_ticks([pid]) for pid in pids},
        )

    def load_since(self, start: _Snapshot) -> Load:
        end = self.snapshot()
        seconds = max(end.at - start.at, 1e-6)
        busy = end.machine.busy - start.machine.busy
        total = max(end.machine.total - start.machine.total, 1)
        # A pid that is new in this window counts in full; one that exited is lost, which
        # errs on the side of calling the machine disturbed.
        ours = sum(ticks - start.ours.get(pid, 0) for pid, ticks in end.ours.items())
        foreign = max(busy - ours, 0) / procfs.CLOCK_TICKS / seconds
        return Load(seconds=seconds, foreign_cores=foreign, machine_busy=busy / total)

    def wait_quiet(self, max_wait: float, window: float = 0.5) -> tuple[float, Load]:
        """Wait until foreign processes use < FOREIGN_CORES, at most ``max_wait`` seconds."""
        started = time.monotonic()
        while True:
            snap = self.snapshot()
            time.sleep(window)
            load = self.load_since(snap)
            waited = time.monotonic() - started
            if load.foreign_cores < FOREIGN_CORES or waited >= max_wait:
                return waited, load
