"""Findings about a queue's pool and its features: PK2xx-PK6xx.

Checked twice per queue: against the pool the project runs today (from deployment
commands or ``worker_pool``), and against the advised pool, so a team sees what it
loses before it switches (time limits on threads, child limits outside prefork).
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_poolkit.advisor.deploy import WorkerCommand
from celery_poolkit.advisor.discovery import TaskDef
from celery_poolkit.advisor.routing import RuleFactory
from celery_poolkit.model import (
    Effect,
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
    rule: RuleFactory,
) -> Iterator[Finding]:
    q = advice.name
    current = advice.current_pool
    pools = {advice.pool} | ({current} if current else set())
    effective_current = current or Pool.PREFORK  # Celery's default pool
    for task in tasks:
        for ev in task.evidence:
            if ev.kind == Green.BLOCKS_HUB.value and (current in (Pool.GEVENT, Pool.EVENTLET)):
                yield rule(
                    "PK201",
                    f"{ev.call} blocks the gevent hub ({' -> '.join(ev.via)}); "
                    f"queue {q!r} runs on {current.value}: every greenlet stalls while it "
                    "waits",
                    ev.location,
                    queue=q,
                    task=task.name,
                )
            elif ev.kind == Green.NEEDS_ADAPTER.value and pools & {Pool.GEVENT, Pool.EVENTLET}:
                yield rule(
                    "PK202",
                    f"{ev.call} is green under gevent only with a wait callback: "
                    "install celery-poolkit[gevent] so poolkit's adapter sets it",
                    ev.location,
                    queue=q,
                    task=task.name,
                )
            elif ev.kind == Hazard.RUNS_EVENT_LOOP.value:
                yield rule(
                    "PK204",
                    f"task {task.name} starts an asyncio event loop "
                    f"({ev.call}); its concurrency comes from asyncio, not the pool, and "
                    "it conflicts with gevent patching",
                    ev.location,
                    queue=q,
                    task=task.name,
                )
            elif ev.kind == Hazard.THREAD_UNSAFE.value and Pool.THREADS in pools:
                yield rule(
                    "PK401",
                    f"{ev.call} is not thread-safe ({' -> '.join(ev.via)}) and "
                    f"queue {q!r} runs on threads",
                    ev.location,
                    queue=q,
                    task=task.name,
                )
            elif ev.kind == Hazard.SPAWNS_PROCESSES.value and effective_current is Pool.PREFORK:
                yield rule(
                    "PK502",
                    f"{ev.call} starts processes inside task {task.name}; "
                    "prefork's children are daemonic and cannot have children",
                    ev.location,
                    queue=q,
                    task=task.name,
                )
        if current in (Pool.GEVENT, Pool.EVENTLET) and Effect.CPU in task.effects:
            ev = next(e for e in task.evidence if e.kind == Effect.CPU.value)
            yield rule(
                "PK203",
                f"CPU-bound task {task.name} ({ev.call}) on queue {q!r}, which "
                f"runs on {current.value}: it starves heartbeats and every other greenlet",
                ev.location,
                queue=q,
                task=task.name,
            )
        tdef = defs.get(task.name)
        own: dict[str, Location] = {
            k: tdef.location
            for k in ("time_limit", "soft_time_limit")
            if tdef and k in tdef.options
        }
        yield from _time_limits(advice, task, own, rule)
    yield from _deployment(advice, commands, rule)


#: The pools where poolkit's worker step enforces time limits and recycling (issue 13).
_POOLKIT_ENFORCES = dict.fromkeys(
    (Pool.THREADS, Pool.SOLO, Pool.GEVENT), " (enforced when the worker runs poolkit's step)"
)


def app_wide_limits(
    queues: list[QueueAdvice],
    settings_limits: dict[str, tuple[str, Location]],
    rule: RuleFactory,
) -> Iterator[Finding]:
    """PK301 for ``task_time_limit``/``task_soft_time_limit``: one finding per pool that
    ignores them, naming its queues, rather than one per queue."""
    for key, (_, where) in sorted(settings_limits.items()):
        lost: dict[tuple[Pool, str], list[str]] = {}
        for advice in queues:
            for pool in dict.fromkeys(p for p in (advice.current_pool, advice.pool) if p):
                if pool in _NO_HARD_LIMIT or (pool is Pool.GEVENT and "soft" in key):
                    which = "configured" if pool is advice.current_pool else "advised"
                    lost.setdefault((pool, which), []).append(advice.name)
        for (pool, which), names in sorted(lost.items(), key=lambda kv: (kv[0][0].value, kv[0][1])):
            yield rule(
                "PK301",
                f"{key} is ignored on the {which} {pool.value} pool of queue(s) {', '.join(names)}"
                f"{_POOLKIT_ENFORCES.get(pool, '')}",
                where,
            )


def _time_limits(
    advice: QueueAdvice,
    task: TaskInfo | None,
    limits: dict[str, Location],
    rule: RuleFactory,
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
            "advised" if pool is advice.pool and pool is not advice.current_pool else "configured"
        )
        whose = f"of task {task.name}" if task else f"(for every task on queue {advice.name!r})"
        yield rule(
            "PK301",
            f"{' and '.join(ignored)} {whose} is ignored on the {which} {pool.value} pool"
            f"{_POOLKIT_ENFORCES.get(pool, '')}",
            limits[ignored[0]],
            queue=advice.name,
            task=task.name if task else None,
        )


def _deployment(
    advice: QueueAdvice, commands: list[WorkerCommand], rule: RuleFactory
) -> Iterator[Finding]:
    q = advice.name
    for cmd in commands:
        if not cmd.consumes(q):
            continue
        pool = cmd.pool or Pool.PREFORK
        if pool is not advice.pool:
            yield rule(
                "PK601",
                f"{cmd.location.path} runs queue {q!r} on {pool.value}; the "
                f"advice is {advice.pool.value} ({advice.command})",
                cmd.location,
                queue=q,
            )
        if cmd.autoscale and pool in (Pool.THREADS, Pool.SOLO):
            yield rule(
                "PK302",
                f"--autoscale on the {pool.value} pool: the autoscaler thread "
                "crashes (celery #5333); use prefork or gevent, or a fixed -c",
                cmd.location,
                queue=q,
            )
        if (cmd.max_tasks_per_child or cmd.max_memory_per_child) and pool is not Pool.PREFORK:
            yield rule(
                "PK303",
                f"--max-tasks/memory-per-child is ignored on {pool.value}: only "
                f"prefork recycles processes{_POOLKIT_ENFORCES.get(pool, '')}",
                cmd.location,
                queue=q,
            )
        if cmd.beat and pool in (Pool.GEVENT, Pool.EVENTLET):
            yield rule(
                "PK304",
                f"-B (embedded beat) with {pool.value}: Celery refuses to start "
                "(ImproperlyConfigured); run `celery beat` as its own process",
                cmd.location,
                queue=q,
            )
        if pool is Pool.EVENTLET:
            yield rule(
                "PK305",
                "eventlet is deprecated upstream: migrate this worker to "
                "-P gevent (poolkit makes psycopg2 green there too)",
                cmd.location,
                queue=q,
            )
        if cmd.windows:
            yield rule(
                "PK306",
                "a Windows worker: prefork is unsupported there (Celery 4+); "
                "use -P threads or -P solo",
                cmd.location,
                queue=q,
            )
        if (cmd.time_limit or cmd.soft_time_limit) and pool in _NO_HARD_LIMIT:
            yield rule(
                "PK301",
                f"--time-limit/--soft-time-limit is ignored on {pool.value}"
                f"{_POOLKIT_ENFORCES.get(pool, '')}",
                cmd.location,
                queue=q,
            )
