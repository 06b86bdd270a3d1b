"""Connection budgets: PK307 (the Redis broker's connection pool) and PK308 (PostgreSQL).

A green or threads worker runs ``-c`` tasks at once in one process, and whatever each task
holds a connection for, the process holds ``-c`` of them at once.

PK307. kombu's Redis transport gives each channel one redis-py ``ConnectionPool`` capped
at ``max_connections`` (``Channel.max_connections = 10`` in ``kombu/transport/redis.py``;
``broker_transport_options={"max_connections": N}`` changes it), and redis-py raises
``MaxConnectionsError("Too many connections")`` past the cap instead of waiting. Since
Celery 5.7 (celery #10263, ``Consumer.call_soon_ack``) a gevent worker, which has no event
loop hub, runs a late ack right away in the task's own greenlet: with ``acks_late`` every
greenlet acks through the consumer channel's one pool, and so does the consumer itself
(``QoS.append`` on delivery). Measured on gevent ``-c 50``, 200 tasks of 0.2 s: 60 acks
failed (``Couldn't ack … MaxConnectionsError``, the messages are redelivered later); 0
with ``max_connections`` 50, 0 without ``acks_late``, 0 on threads and eventlet (their acks
go through the consumer's hub). The Redis *result backend* is one backend per thread
unless ``result_backend_thread_safe`` shares it; shared on threads ``-c 50`` with
``redis_max_connections=10``, 26 of 200 results were lost (``MaxConnectionsError`` in
``store_result``).

PK308. Django opens one database connection per thread, and after patching per greenlet;
psycopg2/psycopg ``connect()`` in a task does the same. ``-c 50`` times 2 processes times hosts
passes PostgreSQL's default ``max_connections = 100``. A bounded pool (poolkit's pooled
Django backend, Django 5.1's ``"pool"`` option, ``pg_pool``) caps it at ``max_size`` per
process, so the rule stays quiet when the project configures one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

from celery_poolkit.advisor.config import DEFAULT_DB_BUDGET
from celery_poolkit.advisor.deploy import WorkerCommand
from celery_poolkit.advisor.discovery import Setting, TaskDef
from celery_poolkit.advisor.project import Project
from celery_poolkit.advisor.rules import finding
from celery_poolkit.advisor.values import Evaluator, FromEnv
from celery_poolkit.model import Evidence, Finding, Location, Pool, QueueAdvice, Severity, TaskInfo

#: kombu's ``Channel.max_connections`` for the Redis transport (``kombu/transport/redis.py``).
KOMBU_REDIS_MAX_CONNECTIONS = 10
REDIS_SCHEMES = ("redis://", "rediss://", "redis+socket://", "sentinel://")
_POSTGRES_ENGINES = frozenset(
    {
        "django.db.backends.postgresql",
        "django.db.backends.postgresql_psycopg2",
        "django.contrib.gis.db.backends.postgis",
        "celery_poolkit.plugins.django.backends.postgresql",
    }
)
POOLED_BACKEND = "celery_poolkit.plugins.django.backends.postgresql"
#: Calls that open (or use) one PostgreSQL connection per thread or greenlet.
_PER_CONNECTION = ("django.db.", "psycopg2.", "psycopg.")
_DB_KINDS = frozenset({"db_io", "needs_adapter", "blocks_hub"})
#: Imports that mean the project pools its own psycopg connections.
_POOL_MODULES = (
    "psycopg_pool",
    "psycopg2.pool",
    "celery_poolkit.greendb",
    "celery_poolkit.greendb.connection_pool",
)


class PoolSource(str, enum.Enum):
    """Where a queue's pool comes from: what runs it, or what would."""

    ADVISED = "advised"  # the advice
    DEPLOYED = "deployed"  # a deployment command (Procfile, compose, systemd …)
    CONFIGURED = "configured"  # worker_pool / worker_concurrency


@dataclass(frozen=True, slots=True)
class Run:
    """A pool and concurrency a queue runs on (deployed, configured) or would (advised)."""

    pool: Pool
    concurrency: int
    processes: int  # worker processes per host
    which: PoolSource
    location: Location | None = None

    def describe(self) -> str:
        procs = f" x {self.processes} processes per host" if self.processes > 1 else ""
        return f"{self.which.value} -P {self.pool.value} -c {self.concurrency}{procs}"


def runs(
    advice: QueueAdvice,
    commands: list[WorkerCommand],
    settings: dict[str, Setting],
    evaluator: Evaluator,
    *,
    configured: Pool | None,
    cores: int,
) -> list[Run]:
    """How ``advice``'s queue runs: the advice, then each deployment command consuming it,
    else ``worker_pool`` / ``worker_concurrency`` from the app's configuration."""
    found = [Run(advice.pool, advice.concurrency, advice.processes, PoolSource.ADVISED)]
    default_c = _int(_value(evaluator, settings.get("worker_concurrency"))) or cores
    deployed = False
    for cmd in commands:
        if not cmd.consumes(advice.name):
            continue
        deployed = True
        concurrency = int(cmd.concurrency) if cmd.concurrency.isdigit() else default_c
        found.append(
            Run(cmd.pool or Pool.PREFORK, concurrency, 1, PoolSource.DEPLOYED, cmd.location)
        )
    if not deployed and configured is not None:
        where = settings.get("worker_concurrency") or settings.get("worker_pool")
        found.append(
            Run(configured, default_c, 1, PoolSource.CONFIGURED, where.location if where else None)
        )
    # The advice the project already follows is reported once, as what runs.
    if any((r.pool, r.concurrency) == (advice.pool, advice.concurrency) for r in found[1:]):
        found.pop(0)
    return found


def redis_pool(
    advice: QueueAdvice,
    tasks: list[TaskInfo],
    *,
    defs: dict[str, TaskDef],
    settings: dict[str, Setting],
    evaluator: Evaluator,
    queue_runs: list[Run],
) -> Iterator[Finding]:
    """PK307: a Redis connection cap below what the queue's greenlets or threads use."""
    check = _RedisCheck(advice.name, tasks, defs, settings, evaluator, queue_runs)
    yield from _unknown_broker(check)
    yield from _redis_broker_acks(check)
    yield from _redis_result_backend(check)


@dataclass(frozen=True, slots=True)
class _RedisCheck:
    """What each of PK307's checks reads about one queue."""

    q: str
    tasks: list[TaskInfo]
    defs: dict[str, TaskDef]
    settings: dict[str, Setting]
    evaluator: Evaluator
    queue_runs: list[Run]


def _unknown_broker(c: _RedisCheck) -> Iterator[Finding]:
    """PK307 as information: the broker URL cannot be read, and late acks on gevent
    would need more connections than kombu's cap if it is Redis."""
    broker = c.settings.get("broker_url")
    unknown = _unknown_url(c.evaluator, broker)
    if unknown is not None and broker is not None:
        # Not knowing is not the same as "fine": say the check could not run, and when
        # it would matter (late acks on a gevent run past kombu's default cap).
        late = _acks_late(c.tasks, c.defs, c.settings, c.evaluator)
        cap = _cap(c.evaluator, c.settings.get("broker_transport_options"), "max_connections")
        for run in c.queue_runs:
            need = run.concurrency + 1
            if late and run.pool is Pool.GEVENT and cap is not None and cap < need:
                yield finding(
                    "PK307",
                    broker.location,
                    queue=c.q,
                    severity=Severity.INFO,  # could not check: information, not a warning
                    run=run.describe(),
                    problem=(
                        f"could not check it, the broker URL {unknown}; if it is Redis, late "
                        f"acks ({late}) from every greenlet share one pool of "
                        f"max_connections={cap} and fail past it"
                    ),
                    fix=f"broker_transport_options={{'max_connections': {need}}}",
                )
                break


def _redis_broker_acks(c: _RedisCheck) -> Iterator[Finding]:
    broker = c.settings.get("broker_url")
    if _is_redis(_value(c.evaluator, broker)):
        late = _acks_late(c.tasks, c.defs, c.settings, c.evaluator)
        cap = _cap(c.evaluator, c.settings.get("broker_transport_options"), "max_connections")
        if late and cap is not None:
            where = (
                c.settings.get("broker_transport_options")
                or c.settings.get("task_acks_late")
                or c.settings.get("broker_url")
            )
            for run in c.queue_runs:
                need = run.concurrency + 1  # each greenlet's ack, and the consumer's own
                if run.pool is not Pool.GEVENT or cap >= need:
                    continue
                yield finding(
                    "PK307",
                    where.location if where else (run.location or c.tasks[0].location),
                    queue=c.q,
                    run=run.describe(),
                    problem=(
                        f"acks late ({late}) on a Redis broker: every greenlet acks through "
                        f"one connection pool of max_connections={cap}, so past {cap} acks "
                        f"at once they fail with MaxConnectionsError (Celery 5.7+) and the "
                        f"messages are redelivered"
                    ),
                    fix=(
                        f"broker_transport_options={{'max_connections': {need}}} "
                        "(-c + 1, for the consumer)"
                    ),
                )


def _redis_result_backend(c: _RedisCheck) -> Iterator[Finding]:
    backend = c.settings.get("result_backend")
    shared = _value(c.evaluator, c.settings.get("result_backend_thread_safe")) is True
    if shared and _is_redis(_value(c.evaluator, backend)):
        setting = c.settings.get("redis_max_connections")
        cap = _int(_value(c.evaluator, setting))
        for run in c.queue_runs:
            if setting is None or cap is None or run.pool is not Pool.THREADS:
                continue
            if cap >= run.concurrency:
                continue
            yield finding(
                "PK307",
                setting.location,
                queue=c.q,
                run=run.describe(),
                problem=(
                    "stores results through one shared Redis backend "
                    f"(result_backend_thread_safe) capped at redis_max_connections={cap}: past "
                    f"{cap} threads finishing at once, store_result fails with "
                    "MaxConnectionsError and results are lost"
                ),
                fix=f"redis_max_connections={run.concurrency} (or leave it unset)",
            )


def postgres_connections(
    advice: QueueAdvice,
    tasks: list[TaskInfo],
    *,
    project: Project,
    evaluator: Evaluator,
    queue_runs: list[Run],
    budget: int,
) -> Iterator[Finding]:
    """PK308: one PostgreSQL connection per greenlet/thread, more than the budget."""
    found = _per_connection_evidence(tasks, project, evaluator)
    if found is None:
        return
    task, ev = found
    django = ev.call.startswith("django.")
    for run in queue_runs:
        if run.pool not in (Pool.GEVENT, Pool.EVENTLET, Pool.THREADS):
            continue
        total = run.concurrency * run.processes
        if total <= budget:
            continue
        each = "thread" if run.pool is Pool.THREADS else "greenlet"
        size = max(1, budget // run.processes)
        fix = (
            f"DATABASES ENGINE {POOLED_BACKEND!r} with OPTIONS {{'pool': {{'max_size': {size}}}}}"
            if django
            else f"celery_poolkit.greendb.pg_connection_pool.pg_pool(connect, max_size={size})"
        )
        yield finding(
            "PK308",
            ev.location,
            queue=advice.name,
            task=task.name,
            run=run.describe(),
            each=each,
            call=ev.call,
            chain=" -> ".join(ev.via),
            total=total,
            budget=budget,
            default=DEFAULT_DB_BUDGET,
            fix=fix,
            size=size,
        )


def _per_connection_evidence(
    tasks: list[TaskInfo], project: Project, evaluator: Evaluator
) -> tuple[TaskInfo, Evidence] | None:
    django_ok: bool | None = None
    pools = _imports_pool(project)
    for task in tasks:
        for ev in task.evidence:
            if ev.kind not in _DB_KINDS or not ev.call.startswith(_PER_CONNECTION):
                continue
            if ev.call.startswith("django."):
                if django_ok is None:
                    django_ok = _django_unpooled_postgres(evaluator)
                if django_ok:
                    return task, ev
            elif not pools:
                return task, ev
    return None


def _django_unpooled_postgres(evaluator: Evaluator) -> bool:
    """DATABASES is readable and an alias is PostgreSQL without a bounded pool."""
    value = evaluator.django.get("DATABASES")
    databases = evaluator.eval(value) if value is not None else None
    if not isinstance(databases, dict):
        return False  # unreadable (dj_database_url, env): don't guess
    for alias in databases.values():
        if not isinstance(alias, dict):
            continue
        engine = alias.get("ENGINE")
        if engine not in _POSTGRES_ENGINES:
            continue
        options = alias.get("OPTIONS")
        pool = options.get("pool") if isinstance(options, dict) else None
        if pool is None or pool is False:
            return True
    return False


def _imports_pool(project: Project) -> bool:
    return any(
        target.startswith(_POOL_MODULES)
        for imports in project.imports.values()
        for target in imports.values()
    )


def _acks_late(
    tasks: list[TaskInfo],
    defs: dict[str, TaskDef],
    settings: dict[str, Setting],
    evaluator: Evaluator,
) -> str:
    """Why the queue acks late: ``task_acks_late`` or the tasks that set ``acks_late``."""
    app_wide = _value(evaluator, settings.get("task_acks_late")) is True
    late: list[str] = []
    for task in tasks:
        tdef = defs.get(task.name)
        own = tdef.options.get("acks_late") if tdef else None
        value = evaluator.eval(own) if own is not None else app_wide
        if value is True:
            late.append(task.name)
    if not late:
        return ""
    if app_wide and len(late) == len(tasks):
        return "task_acks_late"
    return "acks_late on " + ", ".join(late[:3]) + (" …" if len(late) > 3 else "")


def _value(evaluator: Evaluator, setting: Setting | None) -> object:
    if setting is None:
        return None
    value = evaluator.eval(setting.value)
    return value.default if isinstance(value, FromEnv) else value


def _unknown_url(evaluator: Evaluator, setting: Setting | None) -> str | None:
    """How a URL is set when reading the code cannot tell it (None when it can)."""
    if setting is None:
        return None
    value = evaluator.eval(setting.value)
    if isinstance(value, FromEnv):
        if isinstance(value.default, str):
            return None  # the default decides, as _value() reads it
        return f"is read from the environment (${value.var})"
    if value is None or isinstance(value, str):
        return None
    return "is computed at run time"


def _is_redis(url: object) -> bool:
    return isinstance(url, str) and url.startswith(REDIS_SCHEMES)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _cap(evaluator: Evaluator, setting: Setting | None, key: str) -> int | None:
    """``key`` of a transport-options dict; kombu's default when unset; None if unreadable."""
    if setting is None:
        return KOMBU_REDIS_MAX_CONNECTIONS
    options = _value(evaluator, setting)
    if not isinstance(options, dict):
        return None
    if key not in options:
        return KOMBU_REDIS_MAX_CONNECTIONS
    return _int(options[key])
