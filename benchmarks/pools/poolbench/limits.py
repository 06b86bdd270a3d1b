"""The theoretical limit of a configuration: the throughput no pool can beat.

* Waiting work (http_io, db_io, sleep): ``concurrency / latency``. Every slot is busy for
  one latency per task, and nothing else is needed.
* CPU work (cpu_py, cpu_nogil): ``cores / work``, for every pool. It is the machine's
  limit, not the pool's: a pool that runs all CPU work on one core (solo, one gevent
  process, pure Python under the GIL) tops out at ``1 / cores`` of it, which is exactly
  what the share is meant to show.
* A mixed queue: both bounds at once, with the mean task: ``min(concurrency / mean
  duration, cores / mean CPU work)``.

Celery's own per-task overhead (~1-2 ms of CPU) is deliberately not in the limit: it is
part of what a pool costs.
"""

from __future__ import annotations

from poolbench.spec import Workload


def theoretical_limit(workload: Workload, concurrency: int, cores: int) -> float:
    """Tasks per second that ``concurrency`` slots on ``cores`` cores could at best reach."""
    if concurrency < 1 or cores < 1:
        raise ValueError(f"concurrency and cores must be >= 1, got {concurrency}, {cores}")
    n = len(workload.tasks)
    mean_duration = sum(t.wait_s + t.cpu_s for t in workload.tasks) / n
    mean_cpu = sum(t.cpu_s for t in workload.tasks) / n
    if workload.kind == "wait":
        return concurrency / mean_duration
    if workload.kind == "cpu":
        return cores / mean_cpu
    return min(concurrency / mean_duration, cores / mean_cpu)
