"""The start-up guard: does this worker's pool agree with its process and its tasks?

It checks, once, before the worker consumes anything:

* the pool in use against the monkey-patch state (a gevent pool in an unpatched process
  runs tasks one at a time or deadlocks: refused under ``--poolkit-strict``);
* the hazards the bootstrap found before patching (modules imported too early);
* the plugins' adapter results recorded when the process was patched, by ``patch()`` or
  by Celery's own ``-P gevent`` (a failed adapter is an error, refused under strict);
* whether the installed database drivers are green in this process (the plugins'
  ``driver_state`` hooks);
* the connection budget of the live configuration: a Redis broker pool capped below what
  a gevent worker that acks late uses at once (PK307, refused under ``--poolkit-strict``);
* the advisor's view of the queues this worker consumes, from the live task registry
  and the tasks' source (a CPU-bound task on a gevent queue, time limits the pool
  ignores, ...), each with its evidence. It reads only the app's project (see
  :func:`project_root`) and runs in a child process killed after a time bound, after
  which the worker starts without it.

:func:`check` returns :class:`~celery_poolkit.model.Finding` values (the advisor's and
doctor's type, with rule IDs from docs/rules.rst); :func:`run` logs them and is the one
place that stops a worker. Any failure of a check itself is logged and never stops a
non-strict worker.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from celery_poolkit.model import Advice, Finding, Pool, Severity
from celery_poolkit.rules import severity
from celery_poolkit.worker.routes import live_routes

logger = logging.getLogger("celery_poolkit")

#: The findings that stop a worker started with ``--poolkit-strict``: a green pool in an
#: unpatched process, a failed adapter, and a Redis pool capped below the concurrency.
REFUSE = frozenset({"PK801", "PK805", "PK307"})


def render(finding: Finding) -> str:
    """The guard's log lines for one finding: ``poolkit guard PK801 [patch-state]: …``."""
    subject = f" [{finding.subject}]" if finding.subject else ""
    lines = [f"poolkit guard {finding.rule}{subject}: {finding.message}"]
    lines += [f"    evidence: {e}" for e in finding.evidence]
    if finding.fix:
        lines.append(f"    fix: {finding.fix}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class WorkerFacts:
    """What the guard needs to know about the worker, read once from Celery."""

    pool: Pool | None  # None: a custom pool poolkit does not know
    pool_name: str
    queues: tuple[str, ...]
    argv: tuple[str, ...]
    concurrency: int | None = None  # -c / worker_concurrency, as the worker resolved it


def worker_pool(pool_cls: object) -> tuple[Pool | None, str]:
    """The :class:`Pool` of Celery's pool class (``celery.concurrency.gevent:TaskPool``)."""
    module = pool_cls if isinstance(pool_cls, str) else getattr(pool_cls, "__module__", "")
    name = f"{module}:{getattr(pool_cls, '__name__', '')}".rstrip(":")
    try:
        return Pool.parse(name), name
    except ValueError:  # a custom pool: nothing poolkit can check
        return None, name


def facts_of(worker: Any) -> WorkerFacts:
    pool, name = worker_pool(worker.pool_cls)
    queues = tuple(sorted(worker.app.amqp.queues.consume_from))
    concurrency = getattr(worker, "concurrency", None)
    return WorkerFacts(
        pool=pool,
        pool_name=name,
        queues=queues,
        argv=tuple(sys.argv),
        concurrency=concurrency if isinstance(concurrency, int) else None,
    )


def patch_state(facts: WorkerFacts) -> Iterator[Finding]:
    from celery_poolkit.bootstrap import current_pool

    patched = current_pool()
    if facts.pool is not None and facts.pool.is_green and patched is not facts.pool:
        argv = " ".join(facts.argv)
        yield Finding(
            "PK801",
            severity("PK801"),
            f"the {facts.pool.value} pool is in use but this process is not monkey patched "
            f"for {facts.pool.value} (argv: {argv}): tasks will run one at a time or hang",
            fix=f"start the worker with `poolkit worker ... -P {facts.pool.value}` (same "
            "options as celery worker), or call `celery_poolkit.patch()` as the first line "
            f"of the worker's entry point; `celery worker -P {facts.pool.value}` with a "
            "space patches too, `-Pgevent`, CELERY_WORKER_POOL and worker_pool do not",
            subject="patch-state",
        )
    elif patched is not None and facts.pool is not None and not facts.pool.is_green:
        yield Finding(
            "PK802",
            severity("PK802"),
            f"this process is monkey patched for {patched.value} but runs the "
            f"{facts.pool.value} pool: blocking calls become greenlet switches nobody runs",
            fix=f"use -P {patched.value}, or stop patching in this worker's entry point",
            subject="patch-state",
        )


def hazards(facts: WorkerFacts) -> Iterator[Finding]:
    """PK803: what the bootstrap found just before this process was patched."""
    from celery_poolkit.bootstrap import hazards_before_patching
    from celery_poolkit.bootstrap.diagnosis import hazard_findings

    yield from hazard_findings(hazards_before_patching())


def adapters(facts: WorkerFacts) -> Iterator[Finding]:
    """PK805: the adapter results recorded when the process was patched, whoever patched
    it (``patch()``, or gevent's plugin events under Celery's own ``-P gevent``)."""
    from celery_poolkit.bootstrap import adapter_results
    from celery_poolkit.bootstrap.diagnosis import adapter_findings

    yield from adapter_findings(adapter_results())


def drivers(facts: WorkerFacts) -> Iterator[Finding]:
    """PK804: the plugins' driver states, but not for a plugin whose adapter failed
    (PK805 already says so)."""
    from celery_poolkit.bootstrap import adapter_results, current_pool
    from celery_poolkit.bootstrap.diagnosis import driver_findings, driver_states
    from celery_poolkit.model import AdapterStatus

    # Unpatched, every driver blocks and patch_state already says so; importing the
    # drivers to ask would only add noise.
    if facts.pool is None or not facts.pool.is_green or current_pool() is not facts.pool:
        return
    failed = {a.plugin for a in adapter_results() if a.status is AdapterStatus.FAILED}
    states = [s for s in driver_states(facts.pool) if s.name not in failed]
    yield from driver_findings(states, facts.pool)


def connections(facts: WorkerFacts, app: Any) -> Iterator[Finding]:
    """PK307 on the live configuration: the Redis pools the worker's tasks share.

    On gevent, Celery 5.7+ (``Consumer.call_soon_ack``) runs a late ack in the task's
    greenlet, through the consumer channel's one redis-py pool, capped at
    ``max_connections`` (kombu's default 10); past the cap redis-py raises
    ``MaxConnectionsError`` and the ack is lost. See :mod:`celery_poolkit.advisor.budget`.
    """
    from celery_poolkit.advisor.budget import KOMBU_REDIS_MAX_CONNECTIONS, REDIS_SCHEMES

    c, conf = facts.concurrency, app.conf
    if c is None or facts.pool not in (Pool.GEVENT, Pool.THREADS):
        return
    broker = str(conf.broker_read_url or conf.broker_url or "")
    if facts.pool is Pool.GEVENT and broker.startswith(REDIS_SCHEMES) and _acks_in_greenlets():
        late = _late_acking(app, facts.queues)
        cap = (conf.broker_transport_options or {}).get("max_connections")
        cap = cap if isinstance(cap, int) else _kombu_cap(KOMBU_REDIS_MAX_CONNECTIONS)
        if late and cap < c + 1:
            yield Finding(
                "PK307",
                Severity.ERROR,
                f"-P gevent -c {c} acks late ({late}) on a Redis broker whose connection "
                f"pool holds {cap} connections: every greenlet acks through it, so past "
                f"{cap} acks at once they fail with MaxConnectionsError and the messages are "
                "redelivered (poolkit advise: PK307)",
                fix=f"set broker_transport_options={{'max_connections': {c + 1}}} "
                "(at least -c + 1, for the consumer), or lower -c",
                subject="redis-broker",
            )
    backend = str(conf.result_backend or "")
    cap = conf.get("redis_max_connections")
    if (
        facts.pool is Pool.THREADS
        and conf.get("result_backend_thread_safe", False)
        and backend.startswith(REDIS_SCHEMES)
        and isinstance(cap, int)
        and cap < c
    ):
        yield Finding(
            "PK307",
            Severity.ERROR,
            f"-P threads -c {c} stores results through one shared Redis backend "
            f"(result_backend_thread_safe) capped at redis_max_connections={cap}: past "
            f"{cap} threads at once, store_result fails with MaxConnectionsError and "
            "results are lost (poolkit advise: PK307)",
            fix=f"set redis_max_connections={c} (or leave it unset)",
            subject="redis-backend",
        )


def _acks_in_greenlets() -> bool:
    """Celery acks late in the task's greenlet (5.7+), not in the consumer's loop."""
    from celery.worker.consumer.consumer import Consumer

    return hasattr(Consumer, "call_soon_ack")


def _kombu_cap(default: int) -> int:
    try:
        from kombu.transport.redis import Channel
    except ImportError:  # redis-py missing: the worker could not start on Redis anyway
        return default
    return int(Channel.max_connections)


def _late_acking(app: Any, queues: tuple[str, ...]) -> str:
    if app.conf.task_acks_late:
        return "task_acks_late"
    late = sorted(
        name
        for name, (qname, task) in live_routes(app).items()
        if qname in queues and getattr(task, "acks_late", False) is True
    )
    return ("acks_late on " + ", ".join(late[:3]) + (" …" if len(late) > 3 else "")) if late else ""


def task_sources(app: Any, queues: tuple[str, ...]) -> tuple[dict[str, str], list[Path]]:
    """The live registry's tasks routed to ``queues`` (name -> queue) and their files."""
    routes: dict[str, str] = {}
    files: set[Path] = set()
    for name, (qname, task) in live_routes(app).items():
        if qname not in queues:
            continue
        routes[name] = qname
        # A task with autoretry_for runs Celery's wrapper (celery/app/autoretry.py); the
        # function the user wrote is kept as _orig_run.
        run = getattr(task, "_orig_run", None) or getattr(task, "run", task)
        try:
            source = inspect.getsourcefile(inspect.unwrap(run))
        except (TypeError, ValueError):
            source = None
        if source:
            files.add(Path(source).resolve())
    return routes, sorted(files)


#: Files or folders that mark a project's top folder.
PROJECT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git", ".hg")
#: How far above the app's import root a marker is looked for (``src/`` layouts,
#: ``services/<name>/`` in a monorepo), so that a ``.git`` in ``$HOME`` is never it.
_MARKER_LEVELS = 2


def _library_dirs() -> set[Path]:
    paths = sysconfig.get_paths()
    return {Path(paths[k]).resolve() for k in ("stdlib", "platstdlib", "purelib", "platlib")
            if k in paths}  # fmt: skip


def _in_library(path: Path, libraries: set[Path]) -> bool:
    return any(p.name in ("site-packages", "dist-packages") or p in libraries
               for p in (path, *path.parents))  # fmt: skip


def _app_file(app: Any, argv: tuple[str, ...]) -> Path | None:
    """The file of the module that defines the app: ``app.main``, ``-A``, or ``__main__``."""
    from celery_poolkit.bootstrap.argv import app_name

    names = [app.main or "", (app_name(argv[1:]) or "").partition(":")[0], "__main__"]
    for given in names:
        name = given
        while name:
            found = getattr(sys.modules.get(name), "__file__", None)
            if found:
                return Path(found).resolve()
            name = name.rpartition(".")[0]  # proj.celery.app -> proj.celery -> proj
    return None


def _import_root(module_file: Path) -> Path:
    """The folder the module's top-level package is imported from."""
    folder = module_file.parent
    while (folder / "__init__.py").exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def project_root(app: Any, argv: tuple[str, ...]) -> Path | None:
    """The folder of the app's project: what the guard reads, and nothing above it.

    From the module that defines the app (``app.main``, ``-A``, the ``__main__`` script):
    the nearest folder with a :data:`PROJECT_MARKERS` entry, at most two levels above the
    app's import root (never ``$HOME``), else the import root. Never a folder of
    installed libraries: an app installed into site-packages is its own package folder.
    None when the app's module has no file.
    """
    anchor = _app_file(app, argv)
    if anchor is None:
        return None
    libraries = _library_dirs()
    top = _import_root(anchor)
    if _in_library(anchor.parent, libraries):
        package = anchor.parent
        while package.parent not in (top, package):
            package = package.parent
        return package
    ceiling = top.parents[_MARKER_LEVELS - 1] if len(top.parents) >= _MARKER_LEVELS else top
    for folder in (anchor.parent, *anchor.parent.parents):
        if folder == folder.parent or folder == Path.home() or _in_library(folder, libraries):
            break
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
        if folder == ceiling:
            break
    return top


#: Seconds the advisor may take at start-up before the worker starts without it.
ADVISE_TIMEOUT = 20.0


def advisor_view(
    facts: WorkerFacts, app: Any, *, timeout: float = ADVISE_TIMEOUT
) -> Iterator[Finding]:
    """The advisor's findings on the consumed queues, from a child process.

    The child reads the task files of the app's project only (never a library's: Celery's
    ``autoretry.py`` is no task of the user), with the live routes and pool. It is a
    process, not a thread, so the time bound holds under gevent (a thread would be a
    greenlet that never yields) and the analysis can be killed; past ``timeout`` it is,
    and the worker starts without it.
    """
    routes, files = task_sources(app, facts.queues)
    root = project_root(app, facts.argv)
    if root is not None:
        outside = [f for f in files if not f.is_relative_to(root)]
        if outside:
            logger.debug("poolkit guard: not reading %s (outside the project %s)",
                         ", ".join(map(str, outside)), root)  # fmt: skip
        files = [f for f in files if f.is_relative_to(root)]
    if not files or facts.pool is None:
        return
    request = {
        "files": [str(f) for f in files],
        "root": str(root) if root is not None else None,
        "routes": routes,
        "pool": facts.pool.value,
        "queues": list(facts.queues),
    }
    started = time.monotonic()
    found = _advise_in_child(request, timeout)
    if found is None:
        logger.warning(
            "poolkit guard: the advisor did not finish reading %d file(s) of %s within "
            "%gs; skipped it, the worker starts without its view (raise "
            "--poolkit-advise-timeout, or turn it off with --no-poolkit-advise)",
            len(files), root or "the project", timeout,
        )  # fmt: skip
        return
    logger.debug("poolkit guard: advisor read %d file(s) in %.2fs", len(files),
                 time.monotonic() - started)  # fmt: skip
    yield from found


# `python -c` puts the working directory first on sys.path: the project's own fnmatch.py
# or json.py must not be imported by the advisor, so it goes.
_CHILD = f"import sys; del sys.path[0]; import {__name__} as g; g.advise_main()"


def _advise_in_child(request: dict[str, Any], timeout: float) -> list[Finding] | None:
    """Run :func:`advise_main` in a fresh interpreter; None when it ran out of time."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=request["root"] or None, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = child.communicate(json.dumps(request).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        # Its own session: the parser's worker processes go with it.
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        return None
    if child.returncode != 0:
        raise RuntimeError(f"the advisor exited {child.returncode}: "
                           f"{err.decode(errors='replace').strip()[-2000:]}")  # fmt: skip
    from celery_poolkit.advisor import serial

    # Read back as the advisor's own types: a finding that does not fit is an error here,
    # never an arbitrary object.
    return [serial.load(Finding, f) for f in json.loads(out)]


def advise_main() -> None:
    """The child of :func:`_advise_in_child`: a request on stdin, findings on stdout."""
    from celery_poolkit.advisor.config import AdvisorConfig
    from celery_poolkit.advisor.engine import LiveConfig
    from celery_poolkit.advisor.engine import analyze as analyze_live  # takes live routes
    from celery_poolkit.advisor.knowledge import plugin_calls

    request = json.load(sys.stdin)
    pool = Pool.parse(request["pool"])
    calls, _errors = plugin_calls()
    advice = analyze_live(
        [Path(f) for f in request["files"]],
        AdvisorConfig(),
        plugin_calls=calls,
        cache_dir=None,
        live=LiveConfig(routes=request["routes"], pool=pool.value),
        root=Path(request["root"]) if request["root"] else None,
    )
    found = _advice_findings(advice, pool, tuple(request["queues"]))
    from celery_poolkit.advisor import serial

    json.dump([serial.dump(f) for f in found], sys.stdout)


def _advice_findings(advice: Advice, pool: Pool, queues: tuple[str, ...]) -> list[Finding]:
    found: list[Finding] = []
    mine = set(queues)
    for queue in advice.queues:
        if queue.name not in mine or queue.pool is pool:
            continue
        found.append(Finding(
            "PK601",
            severity("PK601"),
            f"queue {queue.name!r} runs on {pool.value}; poolkit advise recommends "
            f"{queue.pool.value}: {'; '.join(queue.reasons)}",
            fix=queue.command,
            evidence=tuple(
                f"{e.kind}: {e.call} at {e.location.path}:{e.location.line}"
                + (f" via {' -> '.join(e.via)}" if e.via else "")
                for e in queue.evidence[:5]
            ),
            queue=queue.name,
            subject="advisor",
        ))  # fmt: skip
    for finding in advice.findings:
        if finding.queue is not None and finding.queue not in mine:
            continue
        if finding.rule in _LIVE_RULES:
            continue
        where = finding.location
        evidence = (f"{where.path}:{where.line}",) if where is not None else ()
        found.append(replace(finding, subject="advisor", evidence=finding.evidence or evidence))
    return found


#: Rules the guard checks on the live process instead of from source: PK307 (the
#: connections check reads the live pool sizes) and PK202 (the drivers check sees whether
#: the adapter made the driver green in this very process).
_LIVE_RULES = frozenset({"PK202", "PK307"})


Check = Callable[[WorkerFacts], Iterator[Finding]]


def check(
    worker: Any, *, advise: bool = True, advise_timeout: float = ADVISE_TIMEOUT
) -> tuple[Finding, ...]:
    """Every finding about ``worker``; a check that fails is logged and skipped."""
    facts = facts_of(worker)
    checks: list[tuple[str, Check]] = [
        ("patch-state", patch_state), ("hazards", hazards), ("adapters", adapters),
        ("drivers", drivers), ("connections", lambda f: connections(f, worker.app)),
    ]  # fmt: skip
    if advise:
        checks.append(("advisor", lambda f: advisor_view(f, worker.app, timeout=advise_timeout)))
    found: list[Finding] = []
    for name, one in checks:
        try:
            found.extend(one(facts))
        except Exception as exc:  # the guard's own failure must not stop the worker
            logger.warning("poolkit guard: the %s check failed (%s: %s); skipped", name,
                           type(exc).__name__, exc, exc_info=True)  # fmt: skip
    return tuple(found)


def run(worker: Any, options: Any) -> tuple[Finding, ...]:
    """Log the guard's findings; under ``strict``, stop before the worker consumes."""
    try:
        found = check(worker, advise=options.advise, advise_timeout=options.advise_timeout)
    except Exception:
        logger.exception("poolkit guard failed; continuing without it")
        return ()
    for finding in found:
        log = logger.error if finding.severity is Severity.ERROR else logger.warning
        log("%s", render(finding))
    refusals = [f for f in found if f.rule in REFUSE and f.severity is Severity.ERROR]
    if refusals and options.strict:
        logger.critical(
            "poolkit: refusing to start (--poolkit-strict / poolkit_strict): %s",
            "; ".join(f.message for f in refusals),
        )
        # A clean exit, not a traceback: the message above says what to do.
        raise SystemExit(os.EX_CONFIG)
    if not found:
        logger.info("poolkit guard: pool, patch state and drivers agree")
    return found
