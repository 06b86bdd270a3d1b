"""The records a run produces. ``results.json`` is these, as plain dicts; the report and
the charts read only that JSON, so they can be re-rendered from a saved run."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from poolbench.guard import Load
from poolbench.sampler import Peaks
from poolbench.stats import Repeats


@dataclass(frozen=True)
class Batch:
    """One timed batch: N tasks sent, the time until the last one finished in the worker."""

    n: int
    wall_s: float
    median_task_ms: float
    pg_connections: int
    load: Load
    used: bool  # False: superseded by a retry because the machine was disturbed

    @property
    def tasks_per_s(self) -> float:
        return self.n / self.wall_s


@dataclass(frozen=True)
class CellResult:
    config: str
    pool: str
    concurrency: int
    launcher: str
    deprecated: bool
    advised: bool
    env: dict[str, str]
    workload: str
    limit: float
    status: str  # "ok", "unavailable" or "failed"
    reason: str = ""
    argv: tuple[str, ...] = ()
    worker: dict[str, Any] = field(default_factory=dict)
    warmup: dict[str, float] = field(default_factory=dict)
    batches: tuple[Batch, ...] = ()
    peaks: Peaks | None = None
    seconds: float = 0.0

    @property
    def repeats(self) -> Repeats | None:
        used = [b.tasks_per_s for b in self.batches if b.used]
        return Repeats(tuple(used)) if self.status == "ok" and used else None

    def as_dict(self) -> dict[str, Any]:
        reps = self.repeats
        used = [b for b in self.batches if b.used]
        return {
            "config": self.config,
            "pool": self.pool,
            "concurrency": self.concurrency,
            "launcher": self.launcher,
            "deprecated": self.deprecated,
            "advised": self.advised,
            "env": self.env,
            "workload": self.workload,
            "status": self.status,
            "reason": self.reason,
            "argv": list(self.argv),
            "limit": self.limit,
            "tasks_per_s": reps.median if reps else None,
            "repeats": list(reps.values) if reps else [],
            "spread": reps.spread if reps else None,
            "share_of_limit": reps.median / self.limit if reps else None,
            "disturbed": any(b.load.disturbed for b in used),
            "median_task_ms": statistics.median(b.median_task_ms for b in used) if used else None,
            "peak_rss_mib": self.peaks.rss_mib if self.peaks else None,
            "peak_pss_mib": self.peaks.pss_mib if self.peaks else None,
            "processes": self.peaks.processes if self.peaks else None,
            "peak_pg_connections": self.peaks.pg_connections if self.peaks else None,
            "worker": self.worker,
            "warmup": self.warmup,
            "batches": [
                {
                    "n": b.n,
                    "wall_s": b.wall_s,
                    "tasks_per_s": b.tasks_per_s,
                    "median_task_ms": b.median_task_ms,
                    "pg_connections": b.pg_connections,
                    "foreign_cores": b.load.foreign_cores,
                    "machine_busy": b.load.machine_busy,
                    "disturbed": b.load.disturbed,
                    "used": b.used,
                }
                for b in self.batches
            ],
            "seconds": self.seconds,
        }
