"""Every rule the advisor reports, by stable ID.

IDs never change meaning: PK1xx discovery and routing, PK2xx blocking under green pools,
PK3xx pool feature conflicts, PK4xx thread safety, PK5xx fork safety, PK6xx deployment
mismatches, PK7xx measured evidence (``poolkit advise --profile``). ``docs/rules.rst``
has one entry per ID with an example and the fix, and
``tests/advisor/test_rules_documented.py`` checks that code, docs and tests agree.
PK8xx are the worker process's (``poolkit doctor``, the start-up guard):
:mod:`celery_poolkit.rules` holds them, in the same ID space.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery_poolkit.model import Finding, Location, Rule, Severity

if TYPE_CHECKING:
    from celery_poolkit.advisor.config import AdvisorConfig
    from celery_poolkit.advisor.project import Project

__all__ = ["RULES", "TEMPLATES", "Rule", "finding"]

_W, _E, _I = Severity.WARNING, Severity.ERROR, Severity.INFO

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "PK101",
            "router-not-static",
            _W,
            "task_routes uses a router function or value that only exists at run time",
        ),
        Rule(
            "PK102",
            "queue-not-static",
            _W,
            "a queue name is computed at run time or read from the environment",
        ),
        Rule("PK103", "mixed-queue", _W, "one queue mixes CPU-bound and IO-bound tasks"),
        Rule(
            "PK104",
            "undeclared-queue",
            _W,
            "tasks are routed to a queue task_queues does not declare",
        ),
        Rule(
            "PK201",
            "blocks-gevent-hub",
            _E,
            "a call blocks the gevent hub; the queue runs, or could be advised onto, a green pool",
        ),
        Rule(
            "PK202",
            "needs-green-adapter",
            _I,
            "a driver is green under gevent only with poolkit's adapter installed",
        ),
        Rule(
            "PK203",
            "cpu-on-green-pool",
            _E,
            "CPU-bound work on a queue configured for gevent or eventlet",
        ),
        Rule("PK204", "event-loop-in-task", _W, "a task starts its own asyncio event loop"),
        Rule("PK301", "time-limit-ignored", _W, "time limits the pool does not enforce"),
        Rule("PK302", "autoscale-unsupported", _E, "--autoscale on a pool that cannot grow"),
        Rule(
            "PK303",
            "child-limits-ignored",
            _W,
            "max_tasks_per_child / max_memory_per_child outside prefork",
        ),
        Rule("PK304", "beat-on-green-pool", _E, "embedded beat (-B) on gevent or eventlet"),
        Rule("PK305", "eventlet-deprecated", _W, "eventlet is deprecated: migrate to gevent"),
        Rule(
            "PK306",
            "windows-worker",
            _W,
            "a worker launched on Windows, where prefork is unsupported",
        ),
        Rule(
            "PK307",
            "redis-pool-below-concurrency",
            _W,
            "a Redis connection pool is capped below what a green or threads worker uses at once",
        ),
        Rule(
            "PK308",
            "db-connections-over-budget",
            _W,
            "one PostgreSQL connection per greenlet or thread adds up past the connection budget",
        ),
        Rule(
            "PK401",
            "thread-unsafe-on-threads",
            _W,
            "thread-unsafe state on a queue advised or configured for threads",
        ),
        Rule(
            "PK501",
            "fork-unsafe-at-import",
            _W,
            "fork-unsafe state created at import time, before prefork forks",
        ),
        Rule(
            "PK502",
            "processes-in-prefork-task",
            _E,
            "a task starts processes, which prefork's daemonic children cannot do",
        ),
        Rule(
            "PK601",
            "deployed-pool-differs",
            _W,
            "a deployment runs a queue on a different pool than advised",
        ),
        Rule(
            "PK602",
            "queue-without-worker",
            _W,
            "tasks are routed to a queue no deployment command consumes",
        ),
        Rule(
            "PK701",
            "measured-kind-differs",
            _W,
            "a worker's measured CPU share contradicts the static guess of a task's kind",
        ),
        Rule(
            "PK702",
            "measured-hub-block",
            _E,
            "a worker measured a task blocking the gevent hub",
        ),
    )
}


#: Each rule's message, filled with :func:`finding`'s fields (``queue`` and ``task``
#: among them): one message shape per rule ID, written here and nowhere else.
TEMPLATES: dict[str, str] = {
    "PK101": (
        "task_routes uses {router} ({shown}); tasks it routes cannot be seen statically and "
        "stay on the queue the other routes give them"
    ),
    "PK102": "{what} {source}; {then}",
    "PK103": (
        "queue {queue!r} mixes CPU-bound and IO-bound tasks; move {moved} task(s) to "
        "{new_queue!r} ({pool})"
    ),
    "PK104": "tasks are routed to queue {queue!r}, which task_queues does not declare",
    "PK201": (
        "{call} blocks the gevent hub ({chain}); queue {queue!r} runs on {pool}: every "
        "greenlet stalls while it waits"
    ),
    "PK202": (
        "{call} is green under gevent only with a wait callback: install "
        "celery-poolkit[gevent] so poolkit's adapter sets it"
    ),
    "PK203": (
        "CPU-bound task {task} ({call}) on queue {queue!r}, which runs on {pool}: it starves "
        "heartbeats and every other greenlet"
    ),
    "PK204": (
        "task {task} starts an asyncio event loop ({call}); its concurrency comes from "
        "asyncio, not the pool, and it conflicts with gevent patching"
    ),
    "PK301": "{what} is ignored on {where}{enforced}",
    "PK302": (
        "--autoscale on the {pool} pool: the autoscaler thread crashes (celery #5333); use "
        "prefork or gevent, or a fixed -c"
    ),
    "PK303": "{what} is ignored on {pool}: only prefork recycles processes{enforced}",
    "PK304": (
        "-B (embedded beat) with {pool}: Celery refuses to start (ImproperlyConfigured); run "
        "`celery beat` as its own process"
    ),
    "PK305": (
        "eventlet is deprecated upstream: migrate {what} to -P gevent (poolkit makes "
        "psycopg2 green there too)"
    ),
    "PK306": (
        "a Windows worker: prefork is unsupported there (Celery 4+); use -P threads or -P solo"
    ),
    "PK307": "queue {queue!r} ({run}): {problem}; set {fix}",
    "PK308": (
        "queue {queue!r} ({run}) opens one PostgreSQL connection per {each} ({call} via "
        "{chain}): up to {total} connections per host, above the budget of {budget} "
        "(db-max-connections in [tool.poolkit]; the default, {default}, is PostgreSQL's own "
        "max_connections); bound it with {fix}, or lower -c to {size}"
    ),
    "PK401": "{call} is not thread-safe ({chain}) and queue {queue!r} runs on threads",
    "PK501": (
        "{call} runs at import time in {path}: prefork forks after imports, so every child "
        "inherits it; create it in worker_process_init instead"
    ),
    "PK502": (
        "{call} starts processes inside task {task}; prefork's children are daemonic and "
        "cannot have children"
    ),
    "PK601": "{path} runs queue {queue!r} on {pool}; the advice is {advised} ({command})",
    "PK602": "queue {queue!r} has {count} task(s) but no deployment command consumes it",
    "PK701": "{measurement}: the measurement decides ({kind})",
    "PK702": (
        "task {task} blocked the gevent hub {blocks} time(s) for {seconds:.2f}s in total "
        "on {hosts} (measured)"
    ),
}


def finding(
    rule: str,
    location: Location | None,
    *,
    queue: str | None = None,
    task: str | None = None,
    severity: Severity | None = None,
    **fields: Any,
) -> Finding:
    """The one way the advisor makes a finding: the rule's severity (``severity`` only
    to soften one, as PK307 does when it could not check), and its message from the
    rule's template filled with ``fields``. A missing field is a ``KeyError`` here, not
    a garbled message later."""
    message = TEMPLATES[rule].format(queue=queue, task=task, **fields)
    return Finding(rule, severity or RULES[rule].severity, message, location, queue, task)


def kept(findings: list[Finding], project: Project, config: AdvisorConfig) -> list[Finding]:
    """The findings the configuration enables and no ``# poolkit: ignore`` comment on
    the reported line silences, each once, errors first."""
    ignores: dict[str, dict[int, tuple[str, ...]]] = {
        f.path: dict(f.ignores) for f in project.modules.values() if f.ignores
    }
    kept = []
    seen = set()
    for found in findings:
        if not config.enabled(found.rule):
            continue
        loc = found.location
        if loc is not None:
            rules = ignores.get(loc.path, {}).get(loc.line, ())
            if "" in rules or found.rule in rules:
                continue
        key = (found.rule, found.message, loc)
        if key not in seen:
            seen.add(key)
            kept.append(found)
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(kept, key=lambda f: (order[f.severity.value], f.rule, str(f.location or "")))
