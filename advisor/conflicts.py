"""Findings about a queue's pool and its features: PK2xx-PK6xx.

Checked twice per queue: against the pool the project runs today (from deployment
commands or ``worker_pool``), and against the advised pool, so a team sees what it
loses before it switches (time limits on threads, child limits outside prefork).
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_poolkit.advisor.budget import PoolSource
from celery_poolkit.advisor.deploy import WorkerCommand
from celery_poolkit.advisor.discovery import Setting, TaskDef
from celery_poolkit.advisor.rules import finding
from celery_poolkit.model import (
    Effect,
    Evidence,
    Finding,
    Green,
    Hazard,
    Location,
    Pool,
    QueueAdvice,
    TaskInfo,
)

_NO_HARD_LIMIT = (Pool.THREADS, Pool.SOLO, Pool.EVENTLET)


def queue_findings(
    advice: QueueAdvice,
    tasks: list[TaskInfo],
    *,
    defs: dict[str, TaskDef],
    commands: list[WorkerCommand],
) -> Iterator[Finding]:
    for task in tasks:
        for ev in task.evidence:
            yield from _evidence_finding(advice, task, ev)
        current = advice.current_pool
        if current in (Pool.GEVENT, Pool.EVENTLET) and Effect.CPU in task.effects:
            ev = next(e for e in task.evidence if e.kind == Effect.CPU.value)
            yield finding("PK203", ev.location, queue=advice.name, task=task.name,
                          call=ev.call, pool=current.value)  # fmt: skip
        tdef = defs.get(task.name)
        own: dict[str, Location] = {
            k: tdef.location
            for k in ("time_limit", "soft_time_limit")
            if tdef and k in tdef.options
        }
        yield from _time_limits(advice, task, own)
    yield from _deployment(advice, commands)


def _evidence_finding(advice: QueueAdvice, task: TaskInfo, ev: Evidence) -> Iterator[Finding]:
    """PK201, PK202, PK204, PK401, PK502: one piece of evidence against the pools."""
    current = advice.current_pool
    pools = {advice.pool} | ({current} if current else set())
    green = pools & {Pool.GEVENT, Pool.EVENTLET}
    q, name, at = advice.name, task.name, ev.location
    chain = " -> ".join(ev.via)
    if ev.kind == Green.BLOCKS_HUB.value and current in (Pool.GEVENT, Pool.EVENTLET):
        yield finding("PK201", at, queue=q, task=name, call=ev.call, chain=chain,
                      pool=current.value)  # fmt: skip
    elif ev.kind == Green.NEEDS_ADAPTER.value and green:
        yield finding("PK202", at, queue=q, task=name, call=ev.call)
    elif ev.kind == Hazard.RUNS_EVENT_LOOP.value:
        yield finding("PK204", at, queue=q, task=name, call=ev.call)
    elif ev.kind == Hazard.THREAD_UNSAFE.value and Pool.THREADS in pools:
        yield finding("PK401", at, queue=q, task=name, call=ev.call, chain=chain)
    elif ev.kind == Hazard.SPAWNS_PROCESSES.value and (current or Pool.PREFORK) is Pool.PREFORK:
        yield finding("PK502", at, queue=q, task=name, call=ev.call)


#: The pools where poolkit's worker step enforces time limits and recycling (issue 13).
_POOLKIT_ENFORCES = dict.fromkeys(
    (Pool.THREADS, Pool.SOLO, Pool.GEVENT), " (enforced when the worker runs poolkit's step)"
)


def app_wide_limits(
    queues: list[QueueAdvice],
    settings_limits: dict[str, tuple[str, Location]],
) -> Iterator[Finding]:
    """PK301 for ``task_time_limit``/``task_soft_time_limit``: one finding per pool that
    ignores them, naming its queues, rather than one per queue."""
    for key, (_, where) in sorted(settings_limits.items()):
        lost: dict[tuple[Pool, PoolSource], list[str]] = {}
        for advice in queues:
            for pool in dict.fromkeys(p for p in (advice.current_pool, advice.pool) if p):
                if pool in _NO_HARD_LIMIT or (pool is Pool.GEVENT and "soft" in key):
                    which = (
                        PoolSource.CONFIGURED if pool is advice.current_pool else PoolSource.ADVISED
                    )
                    lost.setdefault((pool, which), []).append(advice.name)
        for (pool, which), names in sorted(lost.items(), key=lambda kv: (kv[0][0].value, kv[0][1])):
            yield finding(
                "PK301",
                where,
                what=key,
                where=f"the {which.value} {pool.value} pool of queue(s) {', '.join(names)}",
                enforced=_POOLKIT_ENFORCES.get(pool, ""),
            )


def _time_limits(
    advice: QueueAdvice,
    task: TaskInfo | None,
    limits: dict[str, Location],
) -> Iterator[Finding]:
    """PK301 for limits set on one task (``task``) or for the whole app (``task=None``)."""
    pools = [p for p in (advice.current_pool, advice.pool) if p is not None]
    for pool in dict.fromkeys(pools):
        ignored = [
            k
            for k in limits
            if pool in _NO_HARD_LIMIT or (pool is Pool.GEVENT and k.endswith("soft_time_limit"))
        ]
        if not ignored:
            continue
        which = (
            PoolSource.ADVISED
            if pool is advice.pool and pool is not advice.current_pool
            else PoolSource.CONFIGURED
        )
        whose = f"of task {task.name}" if task else f"(for every task on queue {advice.name!r})"
        yield finding(
            "PK301",
            limits[ignored[0]],
            queue=advice.name,
            task=task.name if task else None,
            what=f"{' and '.join(ignored)} {whose}",
            where=f"the {which.value} {pool.value} pool",
            enforced=_POOLKIT_ENFORCES.get(pool, ""),
        )


def _deployment(advice: QueueAdvice, commands: list[WorkerCommand]) -> Iterator[Finding]:
    q = advice.name
    for cmd in commands:
        if not cmd.consumes(q):
            continue
        pool = cmd.pool or Pool.PREFORK
        at = cmd.location
        if pool is not advice.pool:
            yield finding("PK601", at, queue=q, path=at.path, pool=pool.value,
                          advised=advice.pool.value, command=advice.command)  # fmt: skip
        if cmd.autoscale and pool in (Pool.THREADS, Pool.SOLO):
            yield finding("PK302", at, queue=q, pool=pool.value)
        if (cmd.max_tasks_per_child or cmd.max_memory_per_child) and pool is not Pool.PREFORK:
            yield finding("PK303", at, queue=q, what="--max-tasks/memory-per-child",
                          pool=pool.value, enforced=_POOLKIT_ENFORCES.get(pool, ""))  # fmt: skip
        if cmd.beat and pool in (Pool.GEVENT, Pool.EVENTLET):
            yield finding("PK304", at, queue=q, pool=pool.value)
        if pool is Pool.EVENTLET:
            yield finding("PK305", at, queue=q, what="this worker")
        if cmd.windows:
            yield finding("PK306", at, queue=q)
        if (cmd.time_limit or cmd.soft_time_limit) and pool in _NO_HARD_LIMIT:
            yield finding("PK301", at, queue=q, what="--time-limit/--soft-time-limit",
                          where=pool.value, enforced=_POOLKIT_ENFORCES.get(pool, ""))  # fmt: skip


def settings_findings(settings: dict[str, Setting], pool: Pool | None) -> list[Finding]:
    """``worker_pool`` against the settings it makes moot: PK305, PK303."""
    out: list[Finding] = []
    if pool is Pool.EVENTLET:
        # From worker_pool, or from the live worker (the start-up guard of a -P eventlet
        # worker), which has no setting to point at.
        setting = settings.get("worker_pool")
        where = setting.location if setting is not None else None
        out.append(finding("PK305", where, what="worker_pool"))
    for key in ("worker_max_tasks_per_child", "worker_max_memory_per_child"):
        if key in settings and pool is not None and pool is not Pool.PREFORK:
            out.append(
                finding(
                    "PK303",
                    settings[key].location,
                    what=key,
                    pool=f"{pool.value} (worker_pool)",
                    enforced=_POOLKIT_ENFORCES.get(pool, ""),
                )
            )
    return out
