"""What the suite runs: the pool configurations, the workloads, and ``--only`` selection."""

from __future__ import annotations

from dataclasses import dataclass

#: Every waiting task waits this long (HTTP reply delay, ``pg_sleep``, ``time.sleep``);
#: every CPU task is calibrated to about this much work.
LATENCY_S = 0.05


class SpecError(ValueError):
    """A selection or option names something the suite does not have."""


@dataclass(frozen=True)
class PoolConfig:
    """One way to run a worker: the pool, its concurrency and the command that starts it."""

    name: str
    pool: str
    concurrency: int
    launcher: str = "celery"  # or "poolkit": ``poolkit worker …`` instead of ``celery …``
    deprecated: bool = False
    advised: bool = False  # added because the advisor recommended this exact configuration
    # POOLKIT_DISABLE=1: an installed poolkit stays out of the worker (no adapters from
    # gevent's plugin events), so the plain gevent row is a true "without poolkit" control.
    poolkit_disabled: bool = False

    def argv(self, app: str, queue: str, hostname: str) -> list[str]:
        head = ["poolkit", "worker"] if self.launcher == "poolkit" else ["celery"]
        tail = ["worker"] if self.launcher == "celery" else []
        return [
            *head,
            "-A",
            app,
            *tail,
            "-P",
            self.pool,
            "-c",
            str(self.concurrency),
            "-Q",
            queue,
            "-n",
            hostname,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]

    @property
    def env(self) -> dict[str, str]:
        return {"POOLKIT_DISABLE": "1"} if self.poolkit_disabled else {}

    @property
    def key(self) -> tuple[str, int, str, bool]:
        return (self.pool, self.concurrency, self.launcher, self.poolkit_disabled)


@dataclass(frozen=True)
class TaskMix:
    """One task of a workload: its name, how it is called, and its wait and CPU parts."""

    name: str
    wait_s: float
    cpu_s: float
    arg: str  # "latency", "item", "cpu_py_rounds" or "pbkdf2_iterations"


@dataclass(frozen=True)
class Workload:
    name: str
    tasks: tuple[TaskMix, ...]
    summary: str

    @property
    def queue(self) -> str:
        return self.name

    @property
    def kind(self) -> str:
        """``wait``, ``cpu`` or ``mixed``: which theoretical limit applies."""
        if all(t.cpu_s == 0 for t in self.tasks):
            return "wait"
        if all(t.wait_s == 0 for t in self.tasks):
            return "cpu"
        return "mixed"

    @property
    def module_dir(self) -> str:
        """The directory ``poolkit advise`` is pointed at, relative to the app root."""
        return f"benchapp/{self.name}"


def _wait(name: str, arg: str = "latency") -> TaskMix:
    return TaskMix(name, wait_s=LATENCY_S, cpu_s=0.0, arg=arg)


def _cpu(name: str, arg: str) -> TaskMix:
    return TaskMix(name, wait_s=0.0, cpu_s=LATENCY_S, arg=arg)


WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "http_io",
        (_wait("benchapp.http_io.tasks.fetch_quote", "item"),),
        "requests.get to a local server that answers after 50 ms",
    ),
    Workload(
        "db_io",
        (_wait("benchapp.db_io.tasks.monthly_report"),),
        "psycopg2 SELECT pg_sleep(0.05) on reused connections",
    ),
    Workload("sleep", (_wait("benchapp.sleep.tasks.back_off"),), "time.sleep(0.05)"),
    Workload(
        "cpu_py",
        (_cpu("benchapp.cpu_py.tasks.checksum", "cpu_py_rounds"),),
        "a pure-Python loop of ~50 ms",
    ),
    Workload(
        "cpu_nogil",
        (_cpu("benchapp.cpu_nogil.tasks.hash_password", "pbkdf2_iterations"),),
        "hashlib.pbkdf2_hmac of ~50 ms (releases the GIL)",
    ),
    Workload(
        "mixed",
        (
            _wait("benchapp.mixed.tasks.refresh_rates", "item"),
            _wait("benchapp.mixed.tasks.count_orders"),
            _wait("benchapp.mixed.tasks.wait_for_settlement"),
            _cpu("benchapp.mixed.tasks.score_basket", "cpu_py_rounds"),
            _cpu("benchapp.mixed.tasks.sign_receipt", "pbkdf2_iterations"),
        ),
        "the five kinds above in turn on one queue",
    ),
)

#: The grid: concurrency is one process per core for prefork, one for solo, and 50 for
#: the pools that run tasks side by side in one process. gevent runs twice: without
#: poolkit (Celery's own patching only) and through poolkit's launcher.
POOLS: tuple[PoolConfig, ...] = (
    PoolConfig("prefork", "prefork", 2),
    PoolConfig("threads", "threads", 50),
    PoolConfig("gevent", "gevent", 50, poolkit_disabled=True),
    PoolConfig("gevent+poolkit", "gevent", 50, launcher="poolkit"),
    PoolConfig("eventlet", "eventlet", 50, deprecated=True),
    PoolConfig("solo", "solo", 1),
)


def prefork_concurrency(cores: int) -> PoolConfig:
    """The prefork row uses one child per core of the machine it runs on."""
    return PoolConfig("prefork", "prefork", max(1, cores))


def grid(cores: int) -> tuple[PoolConfig, ...]:
    return tuple(prefork_concurrency(cores) if p.name == "prefork" else p for p in POOLS)


@dataclass(frozen=True)
class Selection:
    pools: frozenset[str]
    workloads: frozenset[str]

    def wants(self, pool: str, workload: str) -> bool:
        return pool in self.pools and workload in self.workloads


def parse_only(specs: list[str]) -> Selection:
    """Parse ``--only`` values like ``pool=gevent,threads,workload=db_io``.

    A bare name continues the previous ``key=``; several ``--only`` options add up.
    Unnamed keys select everything.
    """
    valid = {"pool": {p.name for p in POOLS}, "workload": {w.name for w in WORKLOADS}}
    chosen: dict[str, set[str]] = {"pool": set(), "workload": set()}
    for spec in specs:
        key: str | None = None
        for item in filter(None, (part.strip() for part in spec.split(","))):
            if "=" in item:
                key, _, value = item.partition("=")
                key = key.strip()
                value = value.strip()
            elif key is None:
                raise SpecError(
                    f"--only {spec!r}: start with pool=… or workload=… "
                    "(e.g. --only pool=gevent,threads,workload=db_io)"
                )
            else:
                value = item
            if key not in valid:
                raise SpecError(f"--only {spec!r}: unknown key {key!r}; use pool= or workload=")
            if value not in valid[key]:
                names = ", ".join(sorted(valid[key]))
                raise SpecError(f"--only {spec!r}: no {key} named {value!r}; choose from {names}")
            chosen[key].add(value)
    return Selection(
        pools=frozenset(chosen["pool"] or valid["pool"]),
        workloads=frozenset(chosen["workload"] or valid["workload"]),
    )
