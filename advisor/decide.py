"""Per queue: the pool, the concurrency, how many worker processes, and why.

The thresholds come from the pool benchmark measured on real workers
(``shared/research/pool-benchmark.md``, summarised in ``docs/advise.rst``):

* waits (HTTP, database, sleep) scale with concurrency on gevent and threads alike
  (391-723 tasks/s at ``-c 50`` vs 37-39 on prefork ``-c 2``), but one green or threaded
  process spends 1-2.3 ms of CPU per task on Celery itself, so it reaches only 40-73 % of
  ``concurrency / latency``: IO queues get one worker process per core;
* pure-Python CPU scales only on prefork (32/s vs 17-19/s on every one-process pool):
  ``-c`` = cores;
* C work that releases the GIL scales on threads too (37 vs 35/s): threads, ``-c`` = cores;
* psycopg2 under gevent without a wait callback runs one query at a time (19/s vs 641/s
  with it): gevent is fine *with* poolkit's adapter, and the advice says so;
* a call that blocks the hub in C rules gevent out; eventlet is never advised.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import NamedTuple

from celery_poolkit.advisor import confidence
from celery_poolkit.model import (
    WAITING_EFFECTS,
    Alternative,
    Confidence,
    Effect,
    Evidence,
    Green,
    Hazard,
    Pool,
    QueueAdvice,
    Split,
    TaskInfo,
    TaskKind,
)

_BLOCKS_HUB = Green.BLOCKS_HUB.value  # an Evidence kind: the call stalls every greenlet

#: Greenlets/threads per process for IO queues: the concurrency the benchmark measured
#: (40-73 % of concurrency/latency per process at -c 50 on 2 cores).
IO_CONCURRENCY = 50
_WAITS_GEVENT_HELPS = frozenset(
    {
        Effect.NET_IO,
        Effect.DB_IO,
        Effect.SLEEP,
        Effect.SUBPROCESS,
        Effect.CPU_CHILD,
        Effect.BROKER_IO,
    }
)


_NO_WORK = "no blocking or CPU work found in these tasks' code"
_DEFAULT_IS_PREFORK = f"{_NO_WORK}: Celery's default (prefork, -c = cores) is the safe choice"


@dataclass(frozen=True, slots=True)
class Override:
    """``[tool.poolkit.queues.<name>]``: what the team decided, which the advisor keeps."""

    pool: Pool | None = None
    concurrency: int | None = None
    processes: int | None = None


def classify(effects: frozenset[Effect]) -> TaskKind:
    """A task's kind, the decision's input."""
    if Effect.GPU in effects:
        return TaskKind.GPU
    if Effect.CPU in effects:
        return TaskKind.CPU
    if Effect.CPU_RELEASES_GIL in effects:
        return TaskKind.CPU_RELEASES_GIL
    if effects & WAITING_EFFECTS:
        return TaskKind.IO
    return TaskKind.UNKNOWN


class _Choice(NamedTuple):
    """A pool for one queue as the decision is being made."""

    pool: Pool
    concurrency: int
    processes: int = 1
    split: Split | None = None


def decide(
    queue: str,
    tasks: list[TaskInfo],
    *,
    app: str,
    cores: int,
    override: Override | None = None,
    current: Pool | None = None,
    measured: Collection[str] = (),
) -> QueueAdvice:
    """One queue's advice: a pool by the tasks' kinds, then hazards and children narrow
    it, then the confidence (:mod:`.confidence`; ``measured`` names the tasks whose kind
    ``--profile`` measured), then what the team pinned in ``[tool.poolkit]``."""
    hazards = {h for t in tasks for h in t.hazards}
    evidence = _evidence(tasks)
    green_blockers = [e for e in evidence if e.kind in (_BLOCKS_HUB, Hazard.RUNS_EVENT_LOOP.value)]
    reasons: list[str] = []
    alternatives: list[Alternative] = []
    choice = _by_kind(
        queue, tasks, hazards, green_blockers, app=app, cores=cores, reasons=reasons,
        alternatives=alternatives,
    )  # fmt: skip
    choice = _narrowed(
        choice, tasks, hazards, evidence, green_blockers, cores=cores, reasons=reasons,
        alternatives=alternatives,
    )  # fmt: skip
    judged = confidence.judge(tasks, measured)
    if judged.level is Confidence.LOW and any(t.kind is TaskKind.UNKNOWN for t in tasks):
        reasons.insert(
            0, _unresolved_reason([t for t in tasks if t.kind is TaskKind.UNKNOWN], len(tasks))
        )
    elif (why := confidence.explain(judged)) is not None:
        reasons.append(why)
    if override is not None:
        choice, reasons, alternatives = _overridden(choice, override, reasons, alternatives)
    return QueueAdvice(
        name=queue,
        pool=choice.pool,
        concurrency=choice.concurrency,
        processes=choice.processes,
        confidence=judged.level,
        tasks=tuple(t.name for t in tasks),
        reasons=tuple(reasons),
        evidence=tuple(evidence),
        alternatives=tuple(alternatives),
        command=command(app, queue, choice.pool, choice.concurrency),
        split=choice.split,
        current_pool=current,
    )


def _by_kind(
    queue: str,
    tasks: list[TaskInfo],
    hazards: set[Hazard],
    green_blockers: list[Evidence],
    *,
    app: str,
    cores: int,
    reasons: list[str],
    alternatives: list[Alternative],
) -> _Choice:
    """The pool the strongest kind among the tasks asks for (GPU, CPU, GIL-free C, IO)."""
    kinds = {t.kind for t in tasks}
    if TaskKind.GPU in kinds:
        pool = Pool.SOLO if Hazard.FORK_UNSAFE in hazards else Pool.PREFORK
        reasons.append("GPU work: one task per process keeps one CUDA context per process")
        if pool is Pool.SOLO:
            reasons.append("fork-unsafe state (CUDA initialised at import) rules prefork out")
        alternatives.append(
            Alternative(Pool.THREADS, "threads would share one GPU context and the GIL")
        )
        return _Choice(pool, 1)
    if TaskKind.CPU in kinds:
        return _cpu_pool(
            queue, tasks, hazards, app=app, cores=cores, reasons=reasons, alternatives=alternatives
        )
    if TaskKind.CPU_RELEASES_GIL in kinds:
        return _nogil_pool(tasks, cores=cores, reasons=reasons, alternatives=alternatives)
    if TaskKind.IO in kinds:
        return _Choice(*_io_pool(
            tasks, hazards, green_blockers, reasons=reasons, alternatives=alternatives, cores=cores
        ))  # fmt: skip
    reasons.append(_DEFAULT_IS_PREFORK)
    return _Choice(Pool.PREFORK, cores)


def _cpu_pool(
    queue: str,
    tasks: list[TaskInfo],
    hazards: set[Hazard],
    *,
    app: str,
    cores: int,
    reasons: list[str],
    alternatives: list[Alternative],
) -> _Choice:
    split: Split | None = None
    processes = 1
    if Hazard.SPAWNS_PROCESSES in hazards or Hazard.FORK_UNSAFE in hazards:
        pool, concurrency, processes = Pool.SOLO, 1, cores
        why = (
            "a task starts its own processes (prefork's daemonic children cannot)"
            if Hazard.SPAWNS_PROCESSES in hazards
            else "fork-unsafe state created at import rules prefork out"
        )
        reasons.append(f"CPU-bound work, but {why}: run {cores} solo worker processes")
    elif _mostly_waiting(tasks) and Hazard.THREAD_UNSAFE not in hazards:
        # Measured (benchmarks/pools, workload "mixed": 3 IO, 1 pure-Python and 1
        # GIL-releasing task): threads -c 50 ran 67 tasks/s, prefork -c 2 33/s. Prefork
        # holds a process through every wait; threads overlap the waits and give the
        # GIL-bound slices the same cores once there is one process per core.
        pool, concurrency, processes = Pool.THREADS, IO_CONCURRENCY, cores
        cpu_bound = [t for t in tasks if t.kind is TaskKind.CPU]
        reasons.append(
            "most tasks here wait (IO or GIL-releasing C work) and a few hold the GIL: "
            f"-c {IO_CONCURRENCY} threads overlap the waits, and {cores} worker processes "
            "per host give the pure-Python work every core (measured on a mixed queue: "
            "threads 67 tasks/s vs prefork -c 2 33/s)"
        )
        split = _split(queue, cpu_bound, app, suffix="cpu", pool=Pool.PREFORK, concurrency=cores)
        reasons.append(
            f"{len(cpu_bound)} CPU-bound task(s) share this queue: they slow every "
            f"thread of their process; move them to {split.new_queue!r} (see split)"
        )
    else:
        pool, concurrency = Pool.PREFORK, cores
        reasons.append(
            f"pure-Python CPU work holds the GIL: only separate processes scale it "
            f"(prefork 32 tasks/s vs 17-19 on one-process pools), -c = {cores} cores"
        )
    if pool is not Pool.THREADS:
        alternatives.append(
            Alternative(Pool.THREADS, "threads share one GIL: CPU work runs one at a time")
        )
    else:
        alternatives.append(
            Alternative(Pool.PREFORK, "a process per task holds it through every wait")
        )
    alternatives.append(
        Alternative(
            Pool.GEVENT,
            "CPU work never yields: it starves every other greenlet, heartbeats included",
        )
    )
    light = [t for t in tasks if t.kind is TaskKind.IO]
    if light and split is None:
        split = _split_io(queue, light, app)
        reasons.append(
            f"{len(light)} IO-bound task(s) share this queue: they wait behind CPU work; "
            f"move them to {split.new_queue!r} (see split)"
        )
    return _Choice(pool, concurrency, processes, split)


def _nogil_pool(
    tasks: list[TaskInfo], *, cores: int, reasons: list[str], alternatives: list[Alternative]
) -> _Choice:
    # Waits in the same tasks (a download, then a resize) count like IO tasks do.
    waits = any(set(t.effects) & WAITING_EFFECTS for t in tasks)
    reasons.append(
        "C work that releases the GIL scales on threads as well as on prefork "
        "(37 vs 35 tasks/s) at a third of the memory"
    )
    if waits:
        reasons.append(
            f"the queue also waits: -c {IO_CONCURRENCY} threads, and {cores} worker "
            "processes per host, since one process tops out near a core on Celery's own "
            "1-2.3 ms of CPU per task"
        )
    alternatives.append(Alternative(Pool.PREFORK, "ties on throughput, 2-3x the memory"))
    alternatives.append(Alternative(Pool.GEVENT, "C work does not yield to the hub"))
    if waits:
        return _Choice(Pool.THREADS, IO_CONCURRENCY, cores)
    return _Choice(Pool.THREADS, cores)


def _narrowed(
    choice: _Choice,
    tasks: list[TaskInfo],
    hazards: set[Hazard],
    evidence: list[Evidence],
    green_blockers: list[Evidence],
    *,
    cores: int,
    reasons: list[str],
    alternatives: list[Alternative],
) -> _Choice:
    """Hazards rule pools out; CPU-heavy child programs cap the concurrency."""
    pool, concurrency, processes, split = choice
    if Hazard.THREAD_UNSAFE in hazards and pool is Pool.THREADS:
        pool = Pool.PREFORK if green_blockers else Pool.GEVENT
        reasons.append("thread-unsafe state rules threads out")
    if pool is Pool.PREFORK and Hazard.FORK_UNSAFE in hazards:
        # The default's reason names prefork, which is now ruled out: keep what it found.
        reasons[:] = [_NO_WORK if r == _DEFAULT_IS_PREFORK else r for r in reasons]
        pool, concurrency, processes = _fork_unsafe_pool(
            tasks, hazards, cores=cores, reasons=reasons, alternatives=alternatives
        )
    children = _cpu_children(evidence)
    if children and concurrency > cores:
        concurrency, processes = cores, 1
        # One process now: the per-core process count said before no longer holds.
        reasons[:] = [r for r in reasons if "worker processes per host" not in r]
        reasons.append(
            f"{children[0].call} (a CPU-heavy program) runs in a child process: each "
            f"running task keeps a core busy outside Python, so more than {cores} at once "
            f"only queue up in the OS; -c capped at the host's {cores} cores"
        )
    return _Choice(pool, concurrency, processes, split)


def _overridden(
    choice: _Choice, override: Override, reasons: list[str], alternatives: list[Alternative]
) -> tuple[_Choice, list[str], list[Alternative]]:
    """What ``[tool.poolkit.queues.<name>]`` pins, with the advisor's pick kept as a reason."""
    pool, concurrency, processes, split = choice
    if override.pool is not None and override.pool is not pool:
        reasons.insert(
            0,
            f"pool set to {override.pool.value} in [tool.poolkit] "
            f"(the advisor would pick {pool.value})",
        )
        # The alternatives were written against the advisor's pick: the pinned pool is
        # no longer an alternative, the pick is.
        alternatives = [a for a in alternatives if a.pool is not override.pool]
        alternatives.insert(
            0, Alternative(pool, "the advisor's pick; [tool.poolkit] keeps this queue off it")
        )
        pool = override.pool
    concurrency = override.concurrency or concurrency
    if override.processes and override.processes != processes:
        # Drop the advisor's own per-host count from the reasons: the team chose one.
        reasons = [r for r in reasons if "worker processes per host" not in r]
        reasons.append(f"{override.processes} worker processes per host, as [tool.poolkit] says")
        processes = override.processes
    return _Choice(pool, concurrency, processes, split), reasons, alternatives


def _io_pool(
    tasks: list[TaskInfo],
    hazards: set[Hazard],
    green_blockers: list[Evidence],
    *,
    reasons: list[str],
    alternatives: list[Alternative],
    cores: int,
) -> tuple[Pool, int, int]:
    effects = {e for t in tasks for e in t.effects}
    thread_unsafe = Hazard.THREAD_UNSAFE in hazards
    only_files = not (effects & _WAITS_GEVENT_HELPS)
    per_process = (
        f"one process tops out near a core on Celery's own 1-2.3 ms of CPU per task, so run "
        f"{cores} worker processes per host (one per core)"
    )
    if green_blockers and thread_unsafe:
        reasons.append(
            "a call blocks the gevent hub and thread-unsafe state rules threads "
            "out: processes are left"
        )
        return Pool.PREFORK, cores * 2, 1
    if green_blockers or only_files:
        blocker = green_blockers[0] if green_blockers else None
        if blocker is None:
            why = "file IO is never cooperative under gevent"
        elif blocker.kind == _BLOCKS_HUB:
            why = f"{blocker.call} blocks the gevent hub (C code waiting outside gevent)"
        else:
            why = f"{blocker.call} runs its own asyncio loop, which fights gevent's patching"
        reasons.append(
            f"IO-bound: waits scale with threads (405-701 tasks/s at -c 50 vs "
            f"37-39 on prefork -c 2); {why}, so not gevent"
        )
        reasons.append(per_process)
        alternatives.append(Alternative(Pool.GEVENT, why))
        alternatives.append(
            Alternative(
                Pool.PREFORK, "one process per concurrent wait: 10-19x less throughput per MiB"
            )
        )
        return Pool.THREADS, IO_CONCURRENCY, cores
    reasons.append(
        "IO-bound: waits scale with greenlets (391-723 tasks/s at -c 50 vs 37-39 on prefork -c 2)"
    )
    reasons.append(per_process)
    if any(e.kind == Green.NEEDS_ADAPTER.value for t in tasks for e in t.evidence):
        reasons.append(
            "psycopg2/psycopg waits block the hub unless a wait callback is installed "
            "(19 vs 641 tasks/s): install celery-poolkit[gevent], whose adapter does it"
        )
    alternatives.append(
        Alternative(
            Pool.THREADS,
            # Why gevent still wins the tie: Celery enforces no time limit on threads.
            "ties with gevent at -c 50 (405 vs 391 tasks/s), but Celery enforces no time "
            "limit on threads (gevent enforces the hard one); it wins only where monkey "
            "patching itself is the problem",
        )
        if not thread_unsafe
        else Alternative(Pool.THREADS, "thread-unsafe state")
    )
    alternatives.append(
        Alternative(Pool.PREFORK, "one process per concurrent wait: 10-19x less throughput per MiB")
    )
    alternatives.append(Alternative(Pool.EVENTLET, "deprecated upstream: use gevent"))
    return Pool.GEVENT, IO_CONCURRENCY, cores


def _fork_unsafe_pool(
    tasks: list[TaskInfo],
    hazards: set[Hazard],
    *,
    cores: int,
    reasons: list[str],
    alternatives: list[Alternative],
) -> tuple[Pool, int, int]:
    """State that does not survive fork (a CUDA context, a model moved to the GPU at
    import) rules prefork out, whatever else the tasks do: prefork forks after import."""
    waits = any(set(t.effects) & WAITING_EFFECTS for t in tasks)
    thread_ok = Hazard.THREAD_UNSAFE not in hazards
    pool = Pool.THREADS if waits and thread_ok else Pool.SOLO
    concurrency = cores if pool is Pool.THREADS else 1
    reasons.append(
        "fork-unsafe state is created at import (a CUDA context, a model on the GPU): "
        "prefork's children would inherit a broken copy, so "
        + (
            f"threads -c {cores} in one process"
            if pool is Pool.THREADS
            else f"{cores} solo worker processes"
        )
    )
    alternatives.append(Alternative(Pool.PREFORK, "forks after import: the state breaks"))
    return pool, concurrency, 1 if pool is Pool.THREADS else cores


def _cpu_children(evidence: list[Evidence]) -> list[Evidence]:
    return [e for e in evidence if e.kind == Effect.CPU_CHILD.value]


def _unresolved_reason(unresolved: list[TaskInfo], total: int) -> str:
    """Why a queue of mostly unresolved tasks gets no confident pool, and what decides."""
    names = ", ".join(t.name.rpartition(".")[2] for t in unresolved[:3])
    more = f" and {len(unresolved) - 3} more" if len(unresolved) > 3 else ""
    follow = [f"{e.location} ({e.call})" for t in unresolved for e in t.unresolved]
    where = f"; could not follow {', '.join(follow[:3])}" if follow else ""
    return (
        f"{len(unresolved)} of {total} tasks ({names}{more}) show no effect the advisor "
        f"could resolve{where}: this pool is a default, not a finding. "
        "`poolkit profile collect` on a running worker, then `poolkit advise --profile`, "
        "decides it from measurement"
    )


def _mostly_waiting(tasks: list[TaskInfo]) -> bool:
    """More tasks wait (IO, GIL-releasing C work) than hold the GIL with pure Python."""
    holding = sum(t.kind is TaskKind.CPU for t in tasks)
    waiting = sum(t.kind in (TaskKind.IO, TaskKind.CPU_RELEASES_GIL) for t in tasks)
    return waiting > holding


def _split_io(queue: str, light: list[TaskInfo], app: str) -> Split:
    """Move a CPU queue's IO-bound tasks to ``<queue>_io`` on a green or threads pool."""
    blockers = any(e.kind == _BLOCKS_HUB for t in light for e in t.evidence)
    nogil = any(t.kind is TaskKind.CPU_RELEASES_GIL for t in light)
    pool = Pool.THREADS if blockers or nogil else Pool.GEVENT
    return _split(queue, light, app, suffix="io", pool=pool, concurrency=IO_CONCURRENCY)


def _split(
    queue: str, moved: list[TaskInfo], app: str, *, suffix: str, pool: Pool, concurrency: int
) -> Split:
    new = f"{queue}_{suffix}"
    return Split(
        new_queue=new,
        pool=pool,
        concurrency=concurrency,
        tasks=tuple(t.name for t in moved),
        routes=tuple((t.name, new) for t in moved),
        command=command(app, new, pool, concurrency),
    )


def _evidence(tasks: list[TaskInfo]) -> list[Evidence]:
    """One piece of evidence per (kind, call), shortest chain first, across the tasks."""
    best: dict[tuple[str, str], Evidence] = {}
    for task in tasks:
        for ev in task.evidence:
            key = (ev.kind, ev.call)
            if key not in best or len(ev.via) < len(best[key].via):
                best[key] = ev
    return sorted(best.values(), key=lambda e: (e.kind, len(e.via), e.call))


def command(app: str, queue: str, pool: Pool, concurrency: int) -> str:
    return f"celery -A {app} worker -Q {queue} -P {pool.value} -c {concurrency} -n {queue}@%h"
