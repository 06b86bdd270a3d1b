"""Run one cell: one worker configuration on one workload, from start to stop.

Start the worker the way users do (``celery -A benchapp worker -P … -c …``), wait for
its readiness marker, send an untimed warm-up batch (it also opens the database
connections), size the timed batches from the warm-up rate, run the repeats under the
shared-machine guard, and stop the worker by its pid. Every wait has a deadline.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.procs import HarnessError
from harness.workers import start_worker
from poolbench.guard import Guard
from poolbench.limits import theoretical_limit
from poolbench.results import Batch, CellResult
from poolbench.sampler import Peaks, Sampler
from poolbench.spec import LATENCY_S, PoolConfig, Workload

READY_KEY = "bench:ready"
DONE_KEY = "bench:done"


@dataclass(frozen=True)
class Plan:
    """How hard to measure: the full run and ``--quick`` differ only here."""

    repeats: int = 3
    batch_seconds: float = 2.0  # aimed-for length of a timed batch at the warm-up rate
    min_tasks: int = 40
    max_tasks: int = 800
    warmup_seconds: float = 0.5  # warm-up size: this long at the theoretical limit
    quiet_wait: float = 4.0  # at most this long for foreign load to calm before a batch
    attempts: int = 2  # per repeat, when the machine was disturbed
    batch_timeout: float = 60.0


QUICK = Plan(
    repeats=2,
    batch_seconds=0.6,
    min_tasks=10,
    max_tasks=300,
    warmup_seconds=0.3,
    quiet_wait=2.0,
    attempts=2,
    batch_timeout=30.0,
)


class BatchFailed(RuntimeError):
    pass


def batch_size(rate: float, plan: Plan, multiple: int) -> int:
    n = min(max(round(rate * plan.batch_seconds), plan.min_tasks), plan.max_tasks)
    return math.ceil(n / multiple) * multiple


def warmup_size(limit: float, concurrency: int, plan: Plan, multiple: int) -> int:
    n = max(2, min(2 * concurrency, math.ceil(limit * plan.warmup_seconds)))
    return math.ceil(n / multiple) * multiple


class Cell:
    def __init__(
        self,
        config: PoolConfig,
        workload: Workload,
        *,
        app_root: Path,
        env: Mapping[str, str],
        redis_url: str,
        pg_dsn: str,
        task_args: Mapping[str, Any],
        plan: Plan,
        guard: Guard,
        log_dir: Path,
        cores: int,
        patience_until: float,
    ) -> None:
        self.config, self.workload, self.plan, self.guard = config, workload, plan, guard
        self.app_root, self.env, self.redis_url, self.pg_dsn = app_root, env, redis_url, pg_dsn
        self.task_args, self.log_dir = task_args, log_dir
        self.patience_until = patience_until
        self.limit = theoretical_limit(workload, config.concurrency, cores)

    def result(self, status: str, reason: str = "", **more: Any) -> CellResult:
        return record(self.config, self.workload, self.limit, status, reason, **more)

    def run(self) -> CellResult:
        import redis
        from celery import Celery

        started = time.monotonic()
        db = redis.Redis.from_url(self.redis_url)
        db.flushdb()
        hostname = f"bench-{self.config.pool}-{self.workload.name}@%h"
        argv = self.config.argv("benchapp", self.workload.queue, hostname)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            worker = start_worker(
                argv,
                cwd=self.app_root,
                env={**self.env, **self.config.env},
                timeout=90,
                log_dir=self.log_dir,
            )
        except HarnessError as exc:
            reason = f"worker did not start: {str(exc)[-600:]}"
            return self.result("failed", reason, argv=tuple(argv))
        client = Celery("poolbench-driver", broker=self.redis_url)
        client.conf.task_ignore_result = True
        sampler: Sampler | None = None
        peaks: Peaks | None = None
        facts: dict[str, Any] = {}
        failure = ""
        try:
            marker = db.blpop([READY_KEY], timeout=30)
            if marker is None:
                raise BatchFailed("no readiness marker from the worker within 30 s")
            facts = json.loads(marker[1])
            sampler = Sampler(worker.pid, self.pg_dsn)
            warm_n = warmup_size(self.limit, self.config.concurrency, self.plan, self._multiple())
            warm = self._batch(client, db, warm_n, self.plan.batch_timeout)
            rate = min(warm["n"] / warm["wall"], self.limit)
            n = batch_size(rate, self.plan, self._multiple())
            batches = self._repeats(client, db, sampler, n)
        except BatchFailed as exc:
            failure = str(exc)
        finally:
            client.close()
            peaks = sampler.stop() if sampler is not None else None
            worker.stop(timeout=20)
        seconds = time.monotonic() - started
        if failure:
            reason = f"{failure}\n--- worker log ---\n{worker.tail(15)}"
            return self.result("failed", reason, argv=tuple(argv), worker=facts, peaks=peaks,
                               seconds=seconds)  # fmt: skip
        return self.result(
            "ok",
            argv=tuple(worker.argv),
            worker=facts,
            batches=tuple(batches),
            peaks=peaks,
            warmup={"n": warm_n, "seconds": warm["wall"], "tasks_per_s": warm_n / warm["wall"]},
            seconds=seconds,
        )

    def _multiple(self) -> int:
        return len(self.workload.tasks)

    def _repeats(self, client: Any, db: Any, sampler: Sampler, n: int) -> list[Batch]:
        batches: list[Batch] = []
        for _ in range(self.plan.repeats):
            tries: list[Batch] = []
            for _attempt in range(self.plan.attempts):
                # Past its share of the run's time budget a cell stops waiting for a quiet
                # machine and stops retrying: the run stays bounded, the record says so.
                patient = time.monotonic() < self.patience_until
                if tries and not patient:
                    break
                if patient:
                    self.guard.wait_quiet(self.plan.quiet_wait)
                before = self.guard.snapshot()
                sampler.window()
                done = self._batch(client, db, n, self.plan.batch_timeout)
                load = self.guard.load_since(before)
                tries.append(
                    Batch(
                        n=n,
                        wall_s=done["wall"],
                        median_task_ms=done["task_ms"],
                        pg_connections=sampler.window(),
                        load=load,
                        used=False,
                    )
                )
                if not load.disturbed:
                    break
            # Keep the least disturbed attempt; the others stay in the record, unused.
            keep = min(
                range(len(tries)),
                key=lambda i: (tries[i].load.disturbed, tries[i].load.foreign_cores),
            )
            batches += [_with_used(b, i == keep) for i, b in enumerate(tries)]
        return batches

    def _args(self, i: int) -> tuple[str, tuple[Any, ...]]:
        task = self.workload.tasks[i % len(self.workload.tasks)]
        value = {"latency": LATENCY_S, "item": i}.get(task.arg, self.task_args.get(task.arg))
        return task.name, (value,)

    def _batch(self, client: Any, db: Any, n: int, timeout: float) -> dict[str, float]:
        """Send ``n`` tasks and wait until all have finished; wall time from task-side
        timestamps (the time just before the first send to the last task's end)."""
        db.delete(DONE_KEY)
        t0 = time.time()
        for i in range(n):
            name, args = self._args(i)
            client.send_task(name, args, queue=self.workload.queue)
        limit = time.monotonic() + timeout
        while db.llen(DONE_KEY) < n:
            if time.monotonic() > limit:
                raise BatchFailed(
                    f"only {db.llen(DONE_KEY)} of {n} tasks finished in {timeout:.0f} s"
                )
            time.sleep(0.02)
        rows = [r.decode().split() for r in db.lrange(DONE_KEY, 0, -1)]
        failed = [r for r in rows if r[3] != "SUCCESS"]
        if failed:
            raise BatchFailed(f"{len(failed)} of {n} tasks did not succeed (state {failed[0][3]})")
        ends = [float(r[1]) for r in rows]
        durations = [(float(r[1]) - float(r[0])) * 1000 for r in rows]
        return {"n": n, "wall": max(ends) - t0, "task_ms": statistics.median(durations)}


def _with_used(batch: Batch, used: bool) -> Batch:
    return replace(batch, used=used)


def record(
    config: PoolConfig, workload: Workload, limit: float, status: str, reason: str, **more: Any
) -> CellResult:
    c = config
    return CellResult(
        config=c.name,
        pool=c.pool,
        concurrency=c.concurrency,
        launcher=c.launcher,
        deprecated=c.deprecated,
        advised=c.advised,
        env=c.env,
        workload=workload.name,
        limit=limit,
        status=status,
        reason=reason,
        **more,
    )


def unavailable(config: PoolConfig, workload: Workload, reason: str, cores: int) -> CellResult:
    limit = theoretical_limit(workload, config.concurrency, cores)
    return record(config, workload, limit, "unavailable", reason)


__all__ = ["QUICK", "Cell", "Plan", "batch_size", "record", "unavailable", "warmup_size"]
