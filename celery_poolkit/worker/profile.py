"""The per-task profile: count, wall time p50/p95, CPU time, hub blocks, failures.

Bounded in memory whatever the traffic: at most :data:`MAX_TASKS` task names (the rest
are folded into ``(other)``), and wall-time percentiles come from the last
:data:`SAMPLES` runs of each task. :meth:`Profile.snapshot` returns frozen values, and
:func:`worker_profile_from_dict` reads them back from ``poolkit profile collect``'s JSON.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

MAX_TASKS = 500
SAMPLES = 512
OTHER = "(other)"
SCHEMA = 1


@dataclass(frozen=True, slots=True)
class TaskProfile:
    """One task name's measurements on one worker."""

    name: str
    count: int
    failures: int
    wall_total: float
    wall_p50: float
    wall_p95: float
    cpu_total: float
    blocks: int = 0
    block_seconds: float = 0.0

    @property
    def cpu_share(self) -> float:
        """The share of wall time spent on CPU (0-1): near 1 is CPU-bound, near 0 waits."""
        return min(1.0, self.cpu_total / self.wall_total) if self.wall_total > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cpu_share": round(self.cpu_share, 4)}


@dataclass(frozen=True, slots=True)
class Block:
    """One time the gevent hub was blocked, attributed to the greenlet that held it."""

    task: str | None
    task_id: str | None
    greenlet: str
    seconds: float
    stack: tuple[str, ...]
    at: float  # time.time() when the block ended

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class WorkerProfile:
    """A worker's profile as ``poolkit_profile`` returns it."""

    hostname: str
    pool: str
    concurrency: int
    queues: tuple[str, ...]
    cpu_clock: str  # how CPU was measured: process, thread, greenlet
    since: float
    tasks: tuple[TaskProfile, ...]
    blocks: int = 0
    recent_blocks: tuple[Block, ...] = field(default=())
    dropped: int = 0  # measurements lost (a full pipe from prefork children)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "hostname": self.hostname,
            "pool": self.pool,
            "concurrency": self.concurrency,
            "queues": list(self.queues),
            "cpu_clock": self.cpu_clock,
            "since": self.since,
            "blocks": self.blocks,
            "dropped": self.dropped,
            "tasks": [t.as_dict() for t in self.tasks],
            "recent_blocks": [b.as_dict() for b in self.recent_blocks],
        }


def worker_profile_from_dict(data: Any) -> WorkerProfile:
    """The inverse of :meth:`WorkerProfile.as_dict`; ValueError names what is wrong."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"not a poolkit worker profile (schema {SCHEMA})")
    try:
        tasks = tuple(
            TaskProfile(**{k: v for k, v in t.items() if k != "cpu_share"}) for t in data["tasks"]
        )
        blocks = tuple(Block(**{**b, "stack": tuple(b["stack"])}) for b in data["recent_blocks"])
        return WorkerProfile(
            hostname=str(data["hostname"]),
            pool=str(data["pool"]),
            concurrency=int(data["concurrency"]),
            queues=tuple(data["queues"]),
            cpu_clock=str(data["cpu_clock"]),
            since=float(data["since"]),
            tasks=tasks,
            blocks=int(data["blocks"]),
            recent_blocks=blocks,
            dropped=int(data.get("dropped", 0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed worker profile: {type(exc).__name__}: {exc}") from None


class ProfileObserver(Protocol):
    """Sees every run and hub block the profile records (the worker's metrics exporters),
    in the thread that records it: it must be quick and never raise."""

    def run(self, name: str, wall: float, cpu: float, failed: bool) -> None: ...

    def block(self, block: Block) -> None: ...


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _Stats:
    __slots__ = ("block_seconds", "blocks", "count", "cpu", "failures", "samples", "wall")

    def __init__(self) -> None:
        self.count = self.failures = self.blocks = 0
        self.wall = self.cpu = self.block_seconds = 0.0
        self.samples: deque[float] = deque(maxlen=SAMPLES)


class Profile:
    """Measurements by task name. Safe to update from several threads."""

    def __init__(self) -> None:
        self._stats: dict[str, _Stats] = {}
        self._lock = threading.Lock()
        self.since = time.time()
        self.blocks = 0
        self.recent: deque[Block] = deque(maxlen=50)
        self.dropped = 0
        self.observers: list[ProfileObserver] = []

    def _get(self, name: str) -> _Stats:
        stats = self._stats.get(name)
        if stats is None:
            if len(self._stats) >= MAX_TASKS:
                name = OTHER
                stats = self._stats.get(name)
            if stats is None:
                stats = self._stats[name] = _Stats()
        return stats

    def add(self, name: str, wall: float, cpu: float, failed: bool) -> None:
        with self._lock:
            stats = self._get(name)
            stats.count += 1
            stats.failures += failed
            stats.wall += wall
            stats.cpu += cpu
            stats.samples.append(wall)
        for observer in self.observers:
            observer.run(name, wall, cpu, failed)

    def add_block(self, block: Block) -> None:
        with self._lock:
            self.blocks += 1
            self.recent.append(block)
            if block.task is not None:
                stats = self._get(block.task)
                stats.blocks += 1
                stats.block_seconds += block.seconds
        for observer in self.observers:
            observer.block(block)

    def tasks(self) -> tuple[TaskProfile, ...]:
        with self._lock:
            items = [(name, s, sorted(s.samples)) for name, s in self._stats.items()]
        return tuple(
            TaskProfile(
                name=name,
                count=s.count,
                failures=s.failures,
                wall_total=round(s.wall, 6),
                wall_p50=round(_percentile(ordered, 0.5), 6),
                wall_p95=round(_percentile(ordered, 0.95), 6),
                cpu_total=round(s.cpu, 6),
                blocks=s.blocks,
                block_seconds=round(s.block_seconds, 6),
            )
            for name, s, ordered in sorted(items, key=lambda i: i[0])
        )


@dataclass(frozen=True, slots=True)
class ClusterProfile:
    """Every worker's profile, as ``poolkit profile collect`` writes it."""

    app: str
    collected_at: float
    workers: tuple[WorkerProfile, ...]
    errors: tuple[tuple[str, str], ...] = ()  # (hostname, what it answered instead)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "kind": "poolkit-cluster-profile",
            "app": self.app,
            "collected_at": self.collected_at,
            "workers": [w.as_dict() for w in self.workers],
            "errors": dict(self.errors),
        }


def cluster_profile_from_dict(data: Any) -> ClusterProfile:
    """Read ``poolkit profile collect``'s JSON; ValueError says what is wrong."""
    if not isinstance(data, dict) or data.get("kind") != "poolkit-cluster-profile":
        raise ValueError("not a file written by `poolkit profile collect`")
    if data.get("schema") != SCHEMA:
        raise ValueError(f"profile schema {data.get('schema')!r}; this poolkit reads {SCHEMA}")
    workers = data.get("workers")
    if not isinstance(workers, list):
        raise ValueError("'workers' must be a list")
    return ClusterProfile(
        app=str(data.get("app", "")),
        collected_at=float(data.get("collected_at", 0.0)),
        workers=tuple(worker_profile_from_dict(w) for w in workers),
        errors=tuple(sorted((str(k), str(v)) for k, v in dict(data.get("errors", {})).items())),
    )


def collect(app: Any, app_name: str, timeout: float) -> ClusterProfile:
    """Ask every worker of ``app`` for its profile over the broker (remote control)."""
    replies = app.control.broadcast("poolkit_profile", reply=True, timeout=timeout) or []
    workers: list[WorkerProfile] = []
    errors: list[tuple[str, str]] = []
    for reply in replies:
        for hostname, answer in dict(reply).items():
            if isinstance(answer, dict) and "error" in answer:
                # Celery answers "No such key" when the worker's app never installed poolkit.
                errors.append((hostname, str(answer["error"])))
                continue
            try:
                workers.append(worker_profile_from_dict(answer))
            except ValueError as exc:
                errors.append((hostname, str(exc)))
    return ClusterProfile(
        app=app_name,
        collected_at=time.time(),
        workers=tuple(sorted(workers, key=lambda w: w.hostname)),
        errors=tuple(sorted(errors)),
    )
