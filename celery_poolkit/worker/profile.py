"""The per-task profile: count, wall time p50/p95, CPU time, hub blocks, failures.

Bounded in memory whatever the traffic: at most :data:`MAX_TASKS` task names (the rest
are folded into ``(other)``), and wall-time percentiles come from the last
:data:`SAMPLES` runs of each task. :meth:`Profile.snapshot` returns frozen values, and
:func:`worker_profile_from_dict` reads them back from ``poolkit profile collect``'s JSON.
"""

from __future__ import annotations

import re
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


def worker_profile_from_dict(data: Any, dropped: list[str] | None = None) -> WorkerProfile:
    """The inverse of :meth:`WorkerProfile.as_dict`, checked against the schema.

    A worker's reply crosses the broker: anyone who can publish to it can forge one. A
    bad worker-level field is a ValueError naming it; a bad task or block entry is left
    out and described in ``dropped``, so one bad entry costs that entry only. Numbers
    must be finite and not negative, and every string is made printable
    (:func:`printable`) and bounded before anything prints it.
    """
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"not a poolkit worker profile (schema {SCHEMA})")
    notes = dropped if dropped is not None else []
    try:
        tasks: dict[str, TaskProfile] = {}
        for entry in _items(data, "tasks", _MAX_ENTRIES):
            try:
                task = _task(entry)
            except ValueError as exc:
                notes.append(f"task entry dropped: {exc}")
                continue
            if task.name in tasks:
                notes.append(f"task entry dropped: {task.name!r} appears twice")
                continue
            tasks[task.name] = task
        blocks = []
        for entry in _items(data, "recent_blocks", _MAX_ENTRIES):
            try:
                blocks.append(_block(entry))
            except ValueError as exc:
                notes.append(f"block entry dropped: {exc}")
        return WorkerProfile(
            hostname=_text(data, "hostname", empty=False),
            pool=_text(data, "pool"),
            concurrency=int(_number(data, "concurrency", whole=True)),
            queues=tuple(_string(q, "queues") for q in _items(data, "queues", _MAX_ENTRIES)),
            cpu_clock=_text(data, "cpu_clock"),
            since=float(_number(data, "since")),
            tasks=tuple(tasks.values()),
            blocks=int(_number(data, "blocks", whole=True)),
            recent_blocks=tuple(blocks),
            dropped=int(_number(data, "dropped", whole=True, default=0)),
        )
    except ValueError as exc:
        raise ValueError(f"malformed worker profile: {exc}") from None


#: Bounds on what a reply may hold: far above what a worker sends (MAX_TASKS task
#: names, 50 recent blocks), far below what would cost memory or time to read.
_MAX_ENTRIES = 10 * MAX_TASKS
_MAX_TEXT = 1000
_MAX_NUMBER = 1e15
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, limit: int = _MAX_TEXT) -> str:
    """``text`` safe to print: control characters (terminal escape sequences, bidi
    overrides) shown as ``\\xNN`` escapes, and at most ``limit`` characters.

    >>> printable("w1\\x1b[2J@host")
    'w1\\\\x1b[2J@host'
    """
    shown = _CONTROL.sub(_escape, text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _task(entry: Any) -> TaskProfile:
    if not isinstance(entry, dict):
        raise ValueError(f"not an object: {printable(repr(entry), 80)}")
    count = int(_number(entry, "count", whole=True))
    failures = int(_number(entry, "failures", whole=True))
    if failures > count:
        raise ValueError(f"failures {failures} > count {count}")
    return TaskProfile(
        name=_text(entry, "name", empty=False),
        count=count,
        failures=failures,
        wall_total=_number(entry, "wall_total"),
        wall_p50=_number(entry, "wall_p50"),
        wall_p95=_number(entry, "wall_p95"),
        cpu_total=_number(entry, "cpu_total"),
        blocks=int(_number(entry, "blocks", whole=True, default=0)),
        block_seconds=_number(entry, "block_seconds", default=0.0),
    )


def _block(entry: Any) -> Block:
    if not isinstance(entry, dict):
        raise ValueError(f"not an object: {printable(repr(entry), 80)}")
    task, task_id = entry.get("task"), entry.get("task_id")
    return Block(
        task=None if task is None else _string(task, "task"),
        task_id=None if task_id is None else _string(task_id, "task_id"),
        greenlet=_text(entry, "greenlet"),
        seconds=_number(entry, "seconds"),
        stack=tuple(_string(line, "stack") for line in _items(entry, "stack", 200)),
        at=_number(entry, "at"),
    )


def _items(data: dict[str, Any], key: str, limit: int) -> list[Any] | tuple[Any, ...]:
    value = data.get(key)
    if not isinstance(value, (list, tuple)):  # tuple: as_dict() before a JSON round trip
        raise ValueError(f"{key!r} must be a list")
    if len(value) > limit:
        raise ValueError(f"{key!r} has {len(value)} entries, over the limit of {limit}")
    return value


def _text(data: dict[str, Any], key: str, *, empty: bool = True) -> str:
    if key not in data:
        raise ValueError(f"{key!r} is missing")
    text = _string(data[key], key)
    if not empty and not text:
        raise ValueError(f"{key!r} is empty")
    return text


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string, not {type(value).__name__}")
    return printable(value)


def _number(
    data: dict[str, Any], key: str, *, whole: bool = False, default: float | None = None
) -> float:
    """A finite number from 0 to 1e15 (an int when ``whole``); NaN, inf, -1 are errors."""
    value: Any = data.get(key, default)
    if value is None:
        raise ValueError(f"{key!r} is missing")
    fits = isinstance(value, int) if whole else isinstance(value, (int, float))
    if isinstance(value, bool) or not fits:
        what = "a whole number" if whole else "a number"
        raise ValueError(f"{key!r} must be {what}, not {printable(repr(value), 40)}")
    if not (0 <= value <= _MAX_NUMBER):  # NaN fails every comparison
        raise ValueError(f"{key!r} must be from 0 to 1e15, not {value!r}")
    return value if whole else float(value)


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
    """Read ``poolkit profile collect``'s JSON; ValueError says what is wrong with the
    file as a whole. A bad worker entry, or bad entries inside one, are left out and
    listed in ``errors`` under that worker's name."""
    if not isinstance(data, dict) or data.get("kind") != "poolkit-cluster-profile":
        raise ValueError("not a file written by `poolkit profile collect`")
    if data.get("schema") != SCHEMA:
        shown = printable(repr(data.get("schema")), 40)
        raise ValueError(f"profile schema {shown}; this poolkit reads {SCHEMA}")
    workers = data.get("workers")
    if not isinstance(workers, list):
        raise ValueError("'workers' must be a list")
    raw_errors = data.get("errors", {})
    if not isinstance(raw_errors, dict):
        raise ValueError("'errors' must be an object")
    errors = [(printable(str(k)), printable(str(v))) for k, v in raw_errors.items()]
    found = []
    for number, entry in enumerate(workers, start=1):
        name = entry.get("hostname") if isinstance(entry, dict) else None
        label = printable(name) if isinstance(name, str) else f"worker #{number}"
        dropped: list[str] = []
        try:
            found.append(worker_profile_from_dict(entry, dropped))
        except ValueError as exc:
            errors.append((label, f"{exc}; its profile is left out"))
            continue
        if dropped:
            errors.append((label, _summary(dropped)))
    app, collected_at = data.get("app", ""), data.get("collected_at", 0.0)
    return ClusterProfile(
        app=_string(app, "app"),
        collected_at=_number({"collected_at": collected_at}, "collected_at"),
        workers=tuple(found),
        errors=tuple(sorted(errors)),
    )


def _summary(dropped: list[str]) -> str:
    shown = "; ".join(dropped[:3])
    more = f" (and {len(dropped) - 3} more)" if len(dropped) > 3 else ""
    return f"{len(dropped)} bad entr{'y' if len(dropped) == 1 else 'ies'} left out: {shown}{more}"


def collect(app: Any, app_name: str, timeout: float) -> ClusterProfile:
    """Ask every worker of ``app`` for its profile over the broker (remote control)."""
    replies = app.control.broadcast("poolkit_profile", reply=True, timeout=timeout) or []
    workers: dict[str, WorkerProfile] = {}
    errors: list[tuple[str, str]] = []
    twice: set[str] = set()
    for reply in replies:
        if not isinstance(reply, dict):
            errors.append(("(unknown)", f"malformed reply: {printable(repr(reply), 80)}"))
            continue
        for key, answer in reply.items():
            hostname = printable(str(key))
            if isinstance(answer, dict) and "error" in answer:
                # Celery answers "No such key" when the worker's app never installed poolkit.
                errors.append((hostname, printable(str(answer["error"]))))
                continue
            dropped: list[str] = []
            try:
                worker = worker_profile_from_dict(answer, dropped)
            except ValueError as exc:
                errors.append((hostname, str(exc)))
                continue
            if worker.hostname != hostname:  # one worker must not speak for another
                errors.append((hostname, f"answered as {worker.hostname!r}: left out"))
                continue
            if hostname in workers or hostname in twice:
                # Which answer is the worker's own cannot be told: a forged reply that
                # came first must not push the real one out, so neither counts.
                workers.pop(hostname, None)
                twice.add(hostname)
                continue
            workers[hostname] = worker
            if dropped:
                errors.append((hostname, _summary(dropped)))
    errors += [(h, "answered more than once (a forged reply?): every answer left out")
               for h in sorted(twice)]  # fmt: skip
    return ClusterProfile(
        app=app_name,
        collected_at=time.time(),
        workers=tuple(workers[name] for name in sorted(workers)),
        errors=tuple(sorted(errors)),
    )
