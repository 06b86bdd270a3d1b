"""The worker bootstep: ``celery_poolkit.install(app)`` and the ``--poolkit-*`` options.

Celery has no entry point that registers bootsteps, so ``install(app)`` runs at app import
time (in the user's ``celery.py``) and adds two things to the app: the
``--poolkit-*`` options of ``celery worker`` (``app.user_options['worker']``) and
:class:`PoolkitStep` (``app.steps['worker']``). The step is where poolkit's side effects
in the worker live: the start-up guard (:mod:`celery_poolkit.worker.guard`), the task
recorder (:mod:`celery_poolkit.worker.recorder`) that feeds the per-task profile
(:mod:`celery_poolkit.worker.profile`) and the gevent hub monitor
(:mod:`celery_poolkit.worker.monitor`), the per-task release of Django's pooled
connections, and the start-up restore of a Redis broker's abandoned messages
(:mod:`celery_poolkit.worker.restore_unacked`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, fields
from typing import Any

import click
from celery import Celery, bootsteps

from celery_poolkit.worker.guard import ADVISE_TIMEOUT

logger = logging.getLogger("celery_poolkit")

_INSTALLED = "_celery_poolkit_installed"  # the marker that makes install() idempotent
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class StepOptions:
    """What the bootstep does in this worker. Each field is also an app setting
    (``app.conf.poolkit_<field>``) and a ``celery worker --poolkit-<field>`` option."""

    strict: bool = False  # refuse to start a worker whose pool and patch state disagree
    guard: bool = True  # run the start-up guard at all
    advise: bool = True  # the guard reads the consumed tasks' source with the advisor
    advise_timeout: float = ADVISE_TIMEOUT  # seconds before the worker starts without it
    monitor: bool = True  # gevent: watch the hub for blocking, name the task
    block_threshold: float = 0.1  # seconds the hub may go without switching
    profile: bool = True  # per-task count, wall and CPU time, for `poolkit profile`
    restore_unacked: bool = True  # gevent/eventlet on Redis: restore abandoned messages
    metrics: bool = False  # Prometheus metrics in prometheus_client's default registry
    metrics_port: int = 0  # serve them on this port (implies metrics); 0: not served
    metrics_address: str = "0.0.0.0"  # Prometheus scrapes from another host
    otel: bool = False  # the same metrics as OpenTelemetry instruments (global MeterProvider)
    limits: bool = True  # threads/gevent/solo: time limits and max_*_per_child (limits.py)
    recycle: str = "exec"  # how the worker replaces itself: "exec", "fork" (a keeper), "exit"
    recycle_drain: float = 30.0  # seconds its other running tasks get before that


#: The ``celery worker`` options; ``default=None`` tells "not given" from a value, so the
#: app's configuration applies when an option is left out.
WORKER_OPTIONS = (
    click.Option(
        ("--poolkit-strict/--no-poolkit-strict",),
        default=None,
        help="Refuse to start when the pool and the monkey-patch state disagree.",
    ),
    click.Option(
        ("--poolkit-guard/--no-poolkit-guard",), default=None, help="poolkit's start-up checks."
    ),
    click.Option(
        ("--poolkit-advise/--no-poolkit-advise",),
        default=None,
        help="Let the start-up guard read the consumed tasks' source with poolkit's advisor.",
    ),
    click.Option(
        ("--poolkit-advise-timeout",),
        type=click.FloatRange(min=0.1),
        default=None,
        metavar="SECONDS",
        help="Start without the advisor's view if it takes longer than this [default: 20].",
    ),
    click.Option(
        ("--poolkit-monitor/--no-poolkit-monitor",),
        default=None,
        help="gevent: report tasks that block the hub.",
    ),
    click.Option(
        ("--poolkit-block-threshold",),
        type=click.FloatRange(min=0.005),
        default=None,
        metavar="SECONDS",
        help="gevent: a hub that does not switch for this long is blocked [default: 0.1].",
    ),
    click.Option(
        ("--poolkit-profile/--no-poolkit-profile",),
        default=None,
        help="Record a per-task CPU/wall profile (poolkit profile collect).",
    ),
    click.Option(
        ("--poolkit-restore-unacked/--no-poolkit-restore-unacked",),
        default=None,
        help="gevent/eventlet on Redis: at start, put back on their queues the messages a "
        "dead worker left unacknowledged for longer than visibility_timeout.",
    ),
    click.Option(
        ("--poolkit-metrics/--no-poolkit-metrics",),
        default=None,
        help="Prometheus metrics in prometheus_client's default registry "
        "(pip install 'celery-poolkit[metrics]').",
    ),
    click.Option(
        ("--poolkit-metrics-port",),
        type=click.IntRange(0, 65535),
        default=None,
        metavar="PORT",
        help="Serve Prometheus metrics on this port (pip install 'celery-poolkit[metrics]').",
    ),
    click.Option(
        ("--poolkit-metrics-address",),
        default=None,
        metavar="HOST",
        help="The address --poolkit-metrics-port listens on [default: 0.0.0.0].",
    ),
    click.Option(
        ("--poolkit-limits/--no-poolkit-limits",),
        default=None,
        help="threads/gevent/solo: enforce soft/hard time limits and "
        "max-tasks/max-memory-per-child (the worker recycles itself).",
    ),
    click.Option(
        ("--poolkit-recycle",),
        type=click.Choice(["exec", "fork", "exit"]),
        default=None,
        help="How a recycling worker replaces itself: re-exec with the same argv, fork from "
        "a keeper process that holds the pid, or exit with status 75 for a supervisor to "
        "restart [default: exec].",
    ),
    click.Option(
        ("--poolkit-recycle-drain",),
        type=click.FloatRange(min=0),
        default=None,
        metavar="SECONDS",
        help="How long a recycling worker lets its running tasks finish [default: 30].",
    ),
    click.Option(
        ("--poolkit-otel/--no-poolkit-otel",),
        default=None,
        help="OpenTelemetry metrics in the global MeterProvider "
        "(pip install 'celery-poolkit[otel]').",
    ),
)


#: The options that are durations, and their least value in seconds.
_SECONDS = {"block_threshold": 0.005, "advise_timeout": 0.1}


def _as_bool(value: object, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, str)) and str(value).strip().lower() in (*_TRUE, "0", "false",
                                                                         "no", "off"):  # fmt: skip
        return str(value).strip().lower() in _TRUE
    raise ValueError(f"{key} must be true or false, not {value!r}")


def _as_port(value: object, key: str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) > 65535:
        raise ValueError(f"{key} must be a port number (0-65535), not {value!r}")
    return int(text)


def resolve_options(
    conf: Any, given: dict[str, Any], installed: dict[str, Any], environ: dict[str, str]
) -> StepOptions:
    """The step's options: the command line, then ``install(app, **options)``, then the
    app's configuration (``poolkit_<name>``), then ``POOLKIT_STRICT`` for ``strict``.

    A bad configured value raises ValueError naming the setting; the step logs it and
    keeps the default rather than stopping a worker over a typo.
    """
    values: dict[str, Any] = {}
    from_install = {f"poolkit_{name}": value for name, value in installed.items()}
    for f in fields(StepOptions):
        key = f"poolkit_{f.name}"
        for source in (given, from_install, conf):
            value = source.get(key)
            if value is not None:
                break
        else:
            if f.name == "strict" and environ.get("POOLKIT_STRICT"):
                value = environ["POOLKIT_STRICT"]
            else:
                continue
        if f.name in _SECONDS:
            number = float(value)
            if not number >= _SECONDS[f.name]:
                raise ValueError(
                    f"{key} must be at least {_SECONDS[f.name]} seconds, not {value!r}"
                )
            values[f.name] = number
        elif f.name == "metrics_port":
            values[f.name] = _as_port(value, key)
        elif f.name == "metrics_address":
            values[f.name] = str(value)
        elif f.name == "recycle":
            if str(value) not in ("exec", "fork", "exit"):
                raise ValueError(f"{key} must be exec, fork or exit, not {value!r}")
            values[f.name] = str(value)
        elif f.name == "recycle_drain":
            number = float(value)
            if not number >= 0:
                raise ValueError(f"{key} must be 0 seconds or more, not {value!r}")
            values[f.name] = number
        else:
            values[f.name] = _as_bool(value, key)
    return StepOptions(**values)


def installed_options(app: Any) -> dict[str, Any]:
    """The options given to :func:`install` for ``app`` (empty if never installed)."""
    return dict(getattr(app, _INSTALLED, {}))


class PoolkitStep(bootsteps.StartStopStep):  # type: ignore[misc]  # celery is untyped
    """poolkit in the worker: guard at create, profile and monitor from start to stop.

    ``requires`` the Pool step: the pool object exists when ``create`` runs, and no
    prefork child has been forked yet, so what ``create`` sets up reaches every child.
    """

    label = "poolkit"
    requires = ("celery.worker.components:Pool",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        self.runtime: Any = None
        self.metrics: Any = None
        self.otel: Any = None
        self.limits: Any = None
        self.events: Any = None
        try:
            self.options = resolve_options(
                parent.app.conf,
                kwargs,
                installed_options(parent.app),
                dict(os.environ),
            )
        except (TypeError, ValueError) as exc:
            logger.error("poolkit: %s; using the defaults", exc)
            self.options = StepOptions()
        super().__init__(parent, **kwargs)
        if self.options.recycle == "fork":
            _fork_keeper(parent, self.options)

    def create(self, parent: Any) -> None:
        # Returns None: StartStopStep would otherwise call obj.start() with no arguments.
        from celery_poolkit.worker import guard
        from celery_poolkit.worker.recorder import TaskRecorder
        from celery_poolkit.worker.recycle import recycles

        if recycles():
            _start_as_replacement(parent)
        elif self.options.guard:
            guard.run(parent, self.options)  # may raise SystemExit under --poolkit-strict
        try:
            self.runtime = TaskRecorder.create(parent, self.options)
            self.runtime.open_prefork_pipe()  # before the pool forks its children
            self.runtime.connect_task_signals()
            parent.poolkit = self.runtime  # the remote-control command finds it here
        except Exception:  # never stop a worker over its instrumentation
            logger.exception("poolkit: the profile/monitor could not be set up; continuing")
        else:
            self.metrics = _metrics_exporter(self.runtime, self.options)
            self.otel = _otel_metrics(self.runtime, self.options)
        self.limits = _limit_enforcer(parent, self.options)
        self.events = _limit_events(parent, self.runtime, self.metrics, self.otel, self.limits)

    def start(self, parent: Any) -> None:
        # Before the consumer starts (it is the worker's last step), so this worker holds
        # no message yet and the sweep only sees what others left.
        if self.options.restore_unacked:
            from celery_poolkit.worker import restore_unacked

            restore_unacked.run(parent)
        if self.runtime is not None:
            try:
                self.runtime.start()
            except Exception:
                logger.exception("poolkit: the profile/monitor could not start; continuing")
        if self.limits is not None and self.runtime is not None:
            self.limits.watch_hub(self.runtime.clock)
        if self.metrics is not None:
            try:
                self.metrics.start()
            except Exception:
                logger.exception("poolkit: the metrics could not be served; continuing")
        _connect_green_db_release()

    def stop(self, parent: Any) -> None:
        if self.events is not None:
            self.events.disconnect(self.limits)
            self.events = None
        if self.limits is not None:
            self.limits.disconnect()
            self.limits = None
        if self.runtime is not None:
            self.runtime.stop()
        if self.metrics is not None:
            self.metrics.stop()
            self.metrics = None

    def terminate(self, parent: Any) -> None:
        self.stop(parent)


def _fork_keeper(worker: Any, options: StepOptions) -> None:
    """``--poolkit-recycle=fork`` (:mod:`celery_poolkit.worker.fork_server`): this process
    becomes the keeper and never returns from here; its children return and go on.

    Here, in the step's ``__init__``: every step of the Worker blueprint is constructed
    before any is created (``Blueprint.apply``), so the app and Celery are imported but
    no broker connection, timer thread or pool thread exists yet. Not on prefork (Celery
    recycles its own children) nor where poolkit's limits are off.
    """
    from celery_poolkit.worker.fork_server import run_keeper, under_keeper
    from celery_poolkit.worker.guard import worker_pool
    from celery_poolkit.worker.limits import enforced_on

    if under_keeper():
        # Re-executed by Celery's SIGHUP handler: the keeper already serves and holds
        # the pidfile, which this process must not try to take again.
        worker.pidfile = None
        return
    pool, _name = worker_pool(worker.pool_cls)
    if not options.limits or pool is None or enforced_on(pool) is None:
        return
    run_keeper(worker)


def recycle_mode(options: StepOptions) -> str:
    """The Recycler's mode: "fork" only in a child of a keeper; a worker that asked for it
    and could not fork (other threads at start-up) recycles by exec."""
    from celery_poolkit.worker.fork_server import under_keeper

    if options.recycle == "fork":
        return "fork" if under_keeper() else "exec"
    return options.recycle


def _start_as_replacement(worker: Any) -> None:
    """A worker that replaced itself (``--poolkit-recycle=exec``) starts faster.

    * No guard: the same command line and environment passed it at the first start (the
      advisor's read of the task sources alone costs ~0.2 s of imports).
    * No start-up banner (Celery's ``--quiet``): the first start printed it.
    * No mingle: mingle broadcasts a hello and waits 1 s for the other workers' revoked
      task ids. The predecessor hands over its own revoked ids and clock instead
      (:func:`~celery_poolkit.worker.recycle.take_handover`); what is lost are revokes
      broadcast while no process listened (between the predecessor's stop and this
      start, about a second), which mingle would have fetched from other workers.
    """
    from celery.worker import state

    from celery_poolkit.worker.recycle import take_handover

    options = getattr(worker, "options", None)
    if isinstance(options, dict):  # read by the Consumer step, created after this one
        options["without_mingle"] = True
    # No banner: the first start printed the same one; building it costs ~5 ms of CPU
    # (versions, entry points) on every replacement. Celery reads ``quiet`` in on_start.
    worker.quiet = True
    revoked, clock = take_handover()
    if revoked:
        merge = getattr(state, "merge_revoked", None)  # Celery 5.7; before: the set itself
        merge(revoked) if merge is not None else state.revoked.update(revoked)
    if clock:
        worker.app.clock.adjust(clock)
    logger.info("poolkit: replacement worker: guard and mingle skipped, %d revoked id(s) "
                "taken over", len(revoked))  # fmt: skip


def _metrics_exporter(recorder: Any, options: StepOptions) -> Any:
    """The worker's Prometheus metrics (:mod:`celery_poolkit.worker.metrics`), attached to
    the recorder; None when not asked for, or when prometheus_client is not installed."""
    if not (options.metrics or options.metrics_port):
        return None
    try:
        from celery_poolkit.worker.metrics import Exporter
    except ImportError:
        logger.error("poolkit: metrics need prometheus_client: "
                     "pip install 'celery-poolkit[metrics]'; continuing without them")  # fmt: skip
        return None
    if not options.profile:
        logger.warning("poolkit: --no-poolkit-profile: the metrics have no per-task series")
    try:
        exporter = Exporter(recorder, options)
        exporter.attach(recorder)
    except Exception:
        logger.exception("poolkit: the metrics could not be set up; continuing")
        return None
    return exporter


def _limit_enforcer(worker: Any, options: StepOptions) -> Any:
    """Time limits and recycling on threads, gevent and solo
    (:mod:`celery_poolkit.worker.limits`); None on the other pools, where Celery's own
    limits hold, or under ``--no-poolkit-limits``."""
    from celery import signals

    from celery_poolkit.worker.fork_server import (
        announce_ready,
        announce_recycle,
        wait_for_handoff,
    )
    from celery_poolkit.worker.guard import worker_pool
    from celery_poolkit.worker.limits import LimitEnforcer, enforced_on
    from celery_poolkit.worker.recycle import (
        Recycler,
        consumer_stopper,
        fetch_settler,
        loop_stopper,
        recycles,
    )

    pool, _name = worker_pool(worker.pool_cls)
    enforced = enforced_on(pool)
    if not options.limits or enforced is None or pool is None:
        return None
    try:
        mode = recycle_mode(options)
        recycler = Recycler(mode=mode, drain=options.recycle_drain,
                            stop_consuming=consumer_stopper(worker),
                            stop_in_loop=loop_stopper(worker),
                            fetch_settled=fetch_settler(worker))  # fmt: skip
        if mode == "fork":  # the successor starts, and consumes, before this one stops
            recycler.announce, recycler.handoff = announce_recycle, wait_for_handoff
            signals.worker_ready.connect(announce_ready, weak=False,
                                         dispatch_uid="poolkit-fork-ready")  # fmt: skip
        recycler.connect()
        enforcer = LimitEnforcer.create(worker, pool, recycler)
        enforcer.connect()
    except Exception:
        logger.exception("poolkit: the time limits could not be set up; continuing")
        return None
    logger.info("poolkit: on the %s pool poolkit enforces %s (replaced itself %d time(s))",
                pool.value, enforced.describe(), recycles())  # fmt: skip
    return enforcer


def _limit_events(worker: Any, recorder: Any, exporter: Any, otel: Any, enforcer: Any) -> Any:
    """What the metrics see besides the profile: time-limit hits and recycles
    (:mod:`celery_poolkit.worker.limit_events`) and, under prefork, the children's
    connection pools (:mod:`celery_poolkit.worker.children`). None without metrics."""
    observers = [o for o in (exporter.tasks if exporter else None, otel) if o is not None]
    if not observers or recorder is None:
        return None
    try:
        from celery_poolkit.worker import children, limit_events

        events = limit_events.LimitEvents(recorder.pool, observers)
        events.connect(enforcer)
        attached = children.attach(recorder, worker, events.recycled)
        if attached is not None:
            reporter, reports = attached
            events.closers.append(reporter.disconnect)
            for viewer in (exporter.collector if exporter else None, otel):
                if viewer is not None:
                    viewer.children = reports
    except Exception:
        logger.exception("poolkit: the limit and child metrics could not be set up; continuing")
        return None
    return events


def _otel_metrics(recorder: Any, options: StepOptions) -> Any:
    """The worker's OpenTelemetry instruments (:mod:`celery_poolkit.worker.otel`); None
    when not asked for, or when opentelemetry-api is not installed."""
    if not options.otel:
        return None
    try:
        from celery_poolkit.worker.otel import attach
    except ImportError:
        logger.error("poolkit: --poolkit-otel needs opentelemetry-api: "
                     "pip install 'celery-poolkit[otel]'; continuing without it")  # fmt: skip
        return None
    try:
        return attach(recorder)
    except Exception:
        logger.exception("poolkit: the OpenTelemetry metrics could not be set up; continuing")
        return None


def _connect_green_db_release() -> bool:
    """Return Django's pooled connections at task end (the green-DB integration's hook).

    The hook lives in ``celery_poolkit.plugins.django.tasks``, which may be absent (an
    older poolkit, or Django not installed): then nothing is connected.
    """
    try:
        from celery_poolkit.plugins.django import tasks  # type: ignore[attr-defined,unused-ignore]

        connect = tasks.connect_task_release
    except (ImportError, AttributeError):
        return False
    try:
        return bool(connect())
    except Exception:
        logger.exception("poolkit: connecting the per-task DB connection release failed")
        return False


def install(app: Celery, **options: Any) -> Celery:
    """Add poolkit's worker bootstep and its ``--poolkit-*`` options to ``app``.

    Call it where the app is created (Celery reads worker options and steps at app
    import time)::

        app = Celery("proj")
        celery_poolkit.install(app)  # or install(app, strict=True, block_threshold=0.2)

    ``options`` are :class:`StepOptions` fields; the command line and then they win over
    the app's ``poolkit_*`` settings. Calling it again only updates the options.
    """
    known = {f.name for f in fields(StepOptions)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(
            f"celery_poolkit.install(): unknown option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )
    first = not hasattr(app, _INSTALLED)
    setattr(app, _INSTALLED, {**getattr(app, _INSTALLED, {}), **options})
    if first:
        app.user_options["worker"].update(WORKER_OPTIONS)
        app.steps["worker"].add(PoolkitStep)
        # Registers the `poolkit_profile` remote-control command (a module-level effect).
        import celery_poolkit.worker.control  # noqa: F401
    return app
