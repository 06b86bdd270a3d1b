"""Shared value types: frozen dataclasses and enums.

This module imports nothing from the project, so the advisor, the plugins, the runtime
and the CLI can all depend on it without cycles.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Pool(str, enum.Enum):
    """A Celery execution pool, by the name ``celery worker -P`` takes."""

    PREFORK = "prefork"
    THREADS = "threads"
    GEVENT = "gevent"
    EVENTLET = "eventlet"
    SOLO = "solo"

    @property
    def is_green(self) -> bool:
        """True for the pools that need monkey patching before anything else runs."""
        return self in (Pool.GEVENT, Pool.EVENTLET)

    @classmethod
    def parse(cls, value: str) -> Pool:
        """Map a ``-P`` value to a pool, accepting Celery's aliases.

        Celery resolves ``processes`` to prefork, and ``worker_pool`` may hold the pool's
        import path instead of its alias (``celery.concurrency.gevent:TaskPool``).

        >>> Pool.parse("processes")
        <Pool.PREFORK: 'prefork'>
        >>> Pool.parse("celery.concurrency.gevent:TaskPool")
        <Pool.GEVENT: 'gevent'>
        """
        name = value.strip().lower()
        if name in _IMPORT_PATHS:
            return _IMPORT_PATHS[name]
        if name == "processes":
            return cls.PREFORK
        try:
            return cls(name)
        except ValueError:
            choices = ", ".join(p.value for p in cls)
            raise ValueError(
                f"unknown pool {value!r}: choose one of {choices} (or 'processes', "
                "Celery's alias for prefork)"
            ) from None


_IMPORT_PATHS = {
    "celery.concurrency.prefork:taskpool": Pool.PREFORK,
    "celery.concurrency.thread:taskpool": Pool.THREADS,
    "celery.concurrency.gevent:taskpool": Pool.GEVENT,
    "celery.concurrency.eventlet:taskpool": Pool.EVENTLET,
    "celery.concurrency.solo:taskpool": Pool.SOLO,
}


@dataclass(frozen=True, slots=True)
class Location:
    """A place in the analysed code. ``path`` is relative to the analysed root."""

    path: str
    line: int
    col: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class Effect(str, enum.Enum):
    """What a call does while a task waits or works. Values are the JSON report's names."""

    NET_IO = "net_io"  # sockets: HTTP, SMTP, cloud SDKs, gRPC, …
    DB_IO = "db_io"  # a database round trip (SQL, Redis as a data store, Mongo, …)
    FILE_IO = "file_io"
    SUBPROCESS = "subprocess"  # waiting on a child process
    SLEEP = "sleep"
    BROKER_IO = "broker_io"  # publishing to the Celery broker (delay, apply_async, …)
    CPU = "cpu"  # pure-Python or C work that holds the GIL
    CPU_RELEASES_GIL = "cpu_releases_gil"  # C work that releases the GIL (hashlib, numpy, …)
    GPU = "gpu"
    #: A CPU-heavy program in a child process (ffmpeg, tesseract …): the task waits, but
    #: each running task keeps a core busy, so concurrency beyond the cores only queues.
    CPU_CHILD = "cpu_child"


#: The effects during which a task waits (on a socket, a disk, a child, a timer): what
#: makes a task IO-bound, for the pool decision and for its confidence alike.
WAITING_EFFECTS = frozenset(
    {
        Effect.NET_IO,
        Effect.DB_IO,
        Effect.FILE_IO,
        Effect.SUBPROCESS,
        Effect.CPU_CHILD,
        Effect.SLEEP,
        Effect.BROKER_IO,
    }
)


class Green(str, enum.Enum):
    """How a call behaves under a green (gevent/eventlet) pool."""

    SAFE = "safe"  # never blocks the hub (pure computation is judged by Effect, not here)
    SAFE_AFTER_PATCH = "safe_after_patch"  # stdlib sockets/time: cooperative once patched
    NEEDS_ADAPTER = "needs_adapter"  # cooperative once poolkit's adapter ran (psycopg2, grpc)
    BLOCKS_HUB = "blocks_hub"  # C code doing IO outside gevent: stalls every greenlet


class Hazard(str, enum.Enum):
    """Properties of a call that rule pools out regardless of its effect."""

    FORK_UNSAFE = "fork_unsafe"  # state that breaks across fork (CUDA context, grpc channel)
    THREAD_UNSAFE = "thread_unsafe"  # shared state that is not safe across threads
    SPAWNS_PROCESSES = "spawns_processes"  # multiprocessing: fails in prefork's daemonic children
    RUNS_EVENT_LOOP = "runs_event_loop"  # starts an asyncio loop inside the task


class TaskKind(str, enum.Enum):
    """What a task's evidence adds up to: the decision's input. Values are the JSON
    report's names."""

    GPU = "gpu"
    CPU = "cpu"  # holds the GIL
    CPU_RELEASES_GIL = "cpu_releases_gil"
    IO = "io"  # waits: network, database, files, children, sleeps, the broker
    UNKNOWN = "unknown"  # no effect found (or none that could be followed)

    @property
    def is_cpu(self) -> bool:
        """Work that keeps a core busy, the GIL held or not."""
        return self in (TaskKind.GPU, TaskKind.CPU, TaskKind.CPU_RELEASES_GIL)


@dataclass(frozen=True, slots=True)
class Call:
    """Knowledge about one library callable, looked up by canonical qualname.

    ``qualname`` is the dotted name a call resolves to after import aliases are followed:
    ``requests.get``, ``requests.Session.get`` (a method, when the receiver's class is
    known), or a prefix pattern ending in ``.*`` that covers every attribute below it
    (``boto3.*``). ``returns`` names the class a constructor or factory returns, so that
    method calls on its result can be looked up too (``requests.Session`` ->
    ``requests.Session``; ``boto3.client`` -> ``botocore.client.BaseClient``).
    ``effect`` is None for calls that only construct or configure.
    """

    qualname: str
    effect: Effect | None
    green: Green = Green.SAFE_AFTER_PATCH
    hazards: frozenset[Hazard] = frozenset()
    returns: str = ""
    note: str = ""


# --- The advisor's results --------------------------------------------------------------
# Formatters see only these types (never the engine), so they are all plain, frozen and
# slotted; tuples, not lists, so an Advice can be cached and compared.


class Severity(str, enum.Enum):
    """How much a finding matters; ``--fail-on`` compares against this order."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class Confidence(str, enum.Enum):
    """How sure the advisor is of a queue's recommendation."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a task has an effect or hazard: the library call and the chain that reaches it.

    ``kind`` is what the evidence shows: an :class:`Effect` value (``"net_io"``), a
    :class:`Hazard` value (``"fork_unsafe"``) or a :class:`Green` value
    (``"blocks_hub"``, ``"needs_adapter"``). ``via`` lists qualnames from the task down
    to the function that makes ``call``, which makes the recommendation reviewable.
    """

    kind: str
    call: str
    location: Location
    via: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """One Celery task as the advisor understood it."""

    name: str
    qualname: str
    queue: str
    location: Location
    effects: tuple[Effect, ...] = ()
    hazards: tuple[Hazard, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    kind: TaskKind = TaskKind.UNKNOWN  # the decision's input
    also_queues: tuple[str, ...] = ()  # queues named at call sites (apply_async(queue=...))
    #: For a task with no effect: calls the advisor could not follow (a method on a value
    #: passed in, a library no table describes), so "nothing found" is not read as "idle".
    unresolved: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem worth a human's attention, with a stable rule ID (``PK201``).

    The one finding type of ``poolkit advise``, ``poolkit doctor`` and the worker's
    start-up guard: every ID is documented in ``docs/rules.rst`` and can be ignored in
    the configuration. ``subject`` names what it is about when that is not a place in
    the code (a driver, a plugin, a hazard's kind); ``fix`` says what to do;
    ``evidence`` lists the lines that show it (``file:line``, a call chain).
    """

    rule: str
    severity: Severity
    message: str
    location: Location | None = None
    queue: str | None = None
    task: str | None = None
    subject: str = ""
    fix: str = ""
    evidence: tuple[str, ...] = ()

    def one_line(self) -> str:
        """``PK804 [psycopg2]: message Fix: ...``, as doctor and the guard print it."""
        subject = f" [{self.subject}]" if self.subject else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{self.rule}{subject}: {self.message}{fix}"


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of the shared ID space: PK1xx-PK7xx are the advisor's, PK8xx the
    worker process's (``poolkit doctor`` and the start-up guard)."""

    id: str
    name: str
    severity: Severity
    summary: str


# --- The runtime plugin protocol's results ---------------------------------------------
# What plugins' runtime hooks return (celery_poolkit.plugins.base.Plugin), recorded by the
# bootstrap and read by ``poolkit doctor`` and the start-up guard.


@dataclass(frozen=True, slots=True)
class PatchHazard:
    """A module imported before patching that kept an unpatched object.

    ``rule`` is its ID (PK803), ``kind`` a stable name (``late-ssl``, ``urllib3-queue``,
    …), ``module`` the module that holds the object, ``problem`` what goes wrong and
    ``fix`` what to do.
    """

    kind: str
    module: str
    problem: str
    fix: str
    rule: str = "PK803"

    def __str__(self) -> str:
        return f"[{self.kind}] {self.module}: {self.problem} Fix: {self.fix}"

    def as_finding(self) -> Finding:
        return Finding(self.rule, Severity.WARNING, f"{self.module}: {self.problem}",
                       subject=self.kind, fix=self.fix)  # fmt: skip


class AdapterStatus(str, enum.Enum):
    APPLIED = "applied"  # the adapter changed something (installed a wait callback, …)
    NOTHING_TO_DO = "nothing_to_do"  # library present and already green
    SKIPPED = "skipped"  # library absent or not applicable to this pool (DidNotEnable)
    FAILED = "failed"  # the adapter raised; the host process was left running


@dataclass(frozen=True, slots=True)
class Adapted:
    """What a plugin's adapter returns: it changed something, or had nothing to do.

    An adapter that cannot make its library green raises instead (``DidNotEnable`` when
    the library is absent or the pool does not apply, any other exception when it failed).
    """

    status: AdapterStatus
    detail: str

    def __post_init__(self) -> None:
        if self.status not in (AdapterStatus.APPLIED, AdapterStatus.NOTHING_TO_DO):
            raise ValueError("an adapter returns APPLIED or NOTHING_TO_DO; it raises otherwise")

    @classmethod
    def applied(cls, detail: str) -> Adapted:
        return cls(AdapterStatus.APPLIED, detail)

    @classmethod
    def nothing_to_do(cls, detail: str) -> Adapted:
        return cls(AdapterStatus.NOTHING_TO_DO, detail)


@dataclass(frozen=True, slots=True)
class AdapterResult:
    """The outcome of one plugin's runtime adapter in this process, as recorded."""

    plugin: str
    status: AdapterStatus
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DriverState:
    """Whether one installed driver cooperates with the green pool in this process."""

    name: str
    green: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Alternative:
    """A pool the advisor considered for a queue, and why it is not the first choice."""

    pool: Pool
    why_not: str


@dataclass(frozen=True, slots=True)
class Split:
    """Move some of a mixed queue's tasks to a new queue with its own pool."""

    new_queue: str
    pool: Pool
    concurrency: int
    tasks: tuple[str, ...]
    routes: tuple[tuple[str, str], ...]  # (task name, queue) pairs for task_routes
    command: str


@dataclass(frozen=True, slots=True)
class QueueAdvice:
    """The recommendation for one queue."""

    name: str
    pool: Pool
    concurrency: int
    processes: int  # worker processes per host for this queue (celery multi / replicas)
    confidence: Confidence
    tasks: tuple[str, ...]
    reasons: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    alternatives: tuple[Alternative, ...]
    command: str
    split: Split | None = None
    current_pool: Pool | None = None  # what the project configures today, when known


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file the advisor could not analyse, and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Advice:
    """Everything ``poolkit advise`` found: the formatters' only input."""

    root: str
    queues: tuple[QueueAdvice, ...]
    tasks: tuple[TaskInfo, ...]
    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...]
    app: str = ""  # the -A argument of the worker commands
    files: int = 0  # Python files analysed
    imported_app: bool = False  # True only in the explicit --import-app mode
