"""Prometheus metrics of a worker: per-task CPU and wall time, hub blocks, connection pools.

The extra ``celery-poolkit[metrics]`` installs ``prometheus_client``; without it this
module is never imported and the step says what to install.

What is measured is what the profile measures (:mod:`celery_poolkit.worker.recorder`), in
the process where the profile lives: :class:`TaskMetrics` observes each run and hub block
the recorder's :class:`~celery_poolkit.worker.profile.Profile` records. Under prefork the
children's runs reach the main process through the recorder's pipe and are observed
there, once: children never observe, keep nothing, and a replaced child leaves nothing
behind (no multiprocess directory, no environment variable).

Labels are bounded (:mod:`celery_poolkit.worker.task_labels`): at most 500 task names in a
process, then ``task="(other)"``; hub blocks no task caused carry ``task="(none)"``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from celery_poolkit.worker.profile import Block, Profile
from celery_poolkit.worker.task_labels import TaskLabels

__all__ = ["METRIC_NAMES", "Exporter", "TaskMetrics", "WorkerCollector", "register"]

#: From 1 ms to 10 min: no-op tasks to long batch jobs.
BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
           60.0, 120.0, 300.0, 600.0, float("inf"))  # fmt: skip

#: Every metric family the exporter writes (as Prometheus names them, before the
#: ``_bucket``/``_sum``/``_count``/``_total``/``_info`` sample suffixes).
METRIC_NAMES = (
    "poolkit_task_wall_seconds",
    "poolkit_task_cpu_seconds",
    "poolkit_task_runs",
    "poolkit_task_failures",
    "poolkit_hub_blocks",
    "poolkit_hub_block_seconds",
    "poolkit_profile_dropped",
    "poolkit_worker",
    "poolkit_worker_concurrency",
    "poolkit_connection_pool_max_size",
    "poolkit_connection_pool_size",
    "poolkit_connection_pool_in_use",
    "poolkit_connection_pool_waiting",
    "poolkit_connection_pool_checkout_timeouts",
    "poolkit_connection_pool_discarded",
)


class TaskMetrics:
    """Each run and hub block the profile records, as metrics by task (a
    :class:`~celery_poolkit.worker.profile.ProfileObserver`)."""

    def __init__(self, labels: TaskLabels | None = None) -> None:
        self.label = labels or TaskLabels()
        # registry=None: the metrics belong to WorkerCollector, which registers them
        # together with the gauges it reads at scrape time.
        self.wall = Histogram("poolkit_task_wall_seconds", "Wall time of each task run.",
                              ["task"], buckets=BUCKETS, registry=None)  # fmt: skip
        self.cpu = Histogram(
            "poolkit_task_cpu_seconds",
            "CPU time of each task run (process, thread or greenlet CPU: the profile's clock).",
            ["task"], buckets=BUCKETS, registry=None,
        )  # fmt: skip
        self.runs = Counter("poolkit_task_runs", "Task runs ended.", ["task"], registry=None)
        self.failures = Counter("poolkit_task_failures", "Task runs that failed.", ["task"],
                                registry=None)  # fmt: skip
        self.hub_blocks = Counter("poolkit_hub_blocks", "gevent: times a task blocked the hub.",
                                  ["task"], registry=None)  # fmt: skip
        self.hub_block_seconds = Counter(
            "poolkit_hub_block_seconds", "gevent: seconds the hub was blocked, by task.",
            ["task"], registry=None,
        )  # fmt: skip

    def run(self, name: str, wall: float, cpu: float, failed: bool) -> None:
        task = self.label(name)
        self.wall.labels(task).observe(wall)
        self.cpu.labels(task).observe(cpu)
        self.runs.labels(task).inc()
        failures = self.failures.labels(task)  # a series from the first run: rate() works
        if failed:
            failures.inc()

    def block(self, block: Block) -> None:
        task = self.label(block.task)
        self.hub_blocks.labels(task).inc()
        self.hub_block_seconds.labels(task).inc(block.seconds)

    def families(self) -> Iterable[Metric]:
        for metric in (self.wall, self.cpu, self.runs, self.failures, self.hub_blocks,
                       self.hub_block_seconds):  # fmt: skip
            yield from metric.collect()


class WorkerCollector(Collector):
    """The worker's metrics: the tasks' (:class:`TaskMetrics`), the worker's (pool,
    concurrency, patch state, adapters, lost samples) and this process's connection
    pools, read when Prometheus scrapes."""

    def __init__(self, tasks: TaskMetrics, profile: Profile, pool: str, concurrency: int
                 ) -> None:  # fmt: skip
        self.tasks = tasks
        self.profile = profile
        self.pool = pool
        self.concurrency = concurrency

    def collect(self) -> Iterator[Metric]:
        yield from self.tasks.families()
        dropped = CounterMetricFamily(
            "poolkit_profile_dropped",
            "prefork: task runs a child could not report (its pipe to the main process was full).",
        )
        dropped.add_metric([], self.profile.dropped)
        yield dropped
        yield from self._worker()
        yield from _connection_pools()

    def _worker(self) -> Iterator[Metric]:
        from celery_poolkit.bootstrap import adapter_results, current_pool

        patched = current_pool()
        info = InfoMetricFamily("poolkit_worker", "The worker's pool and monkey-patch state.")
        info.add_metric([], {
            "pool": self.pool,
            "patched": patched.value if patched else "no",
            "adapters": ",".join(f"{a.plugin}={a.status.value}" for a in adapter_results()),
        })  # fmt: skip
        yield info
        concurrency = GaugeMetricFamily(
            "poolkit_worker_concurrency", "The worker's concurrency (-c).", labels=["pool"]
        )
        concurrency.add_metric([self.pool], self.concurrency)
        yield concurrency


_POOL_GAUGES = (
    ("max_size", "poolkit_connection_pool_max_size", "Most connections the pool may hold."),
    ("size", "poolkit_connection_pool_size", "Connections open or opening."),
    ("in_use", "poolkit_connection_pool_in_use", "Connections checked out."),
    ("waiting", "poolkit_connection_pool_waiting", "Callers waiting for a connection."),
)
_POOL_COUNTERS = (
    ("timeouts", "poolkit_connection_pool_checkout_timeouts",
     "Checkouts that gave up (ConnectionPoolTimeout)."),
    ("discarded", "poolkit_connection_pool_discarded", "Broken connections discarded."),
)  # fmt: skip


def _connection_pools() -> Iterator[Metric]:
    """poolkit's connection pools alive in this process, summed by name (two pools may
    share one: a test's, a rebuilt one)."""
    from celery_poolkit.greendb.connection_pool import live_pools

    keys = [key for key, _, _ in (*_POOL_GAUGES, *_POOL_COUNTERS)]
    totals: dict[str, dict[str, int]] = {}
    for pool in live_pools():
        stats = pool.stats()
        row = totals.setdefault(stats.name, dict.fromkeys(keys, 0))
        for key in keys:
            row[key] += getattr(stats, key)
    for key, name, doc in _POOL_GAUGES:
        gauge = GaugeMetricFamily(name, doc, labels=["connection_pool"])
        for pool_name, row in totals.items():
            gauge.add_metric([pool_name], row[key])
        yield gauge
    for key, name, doc in _POOL_COUNTERS:
        counter = CounterMetricFamily(name, doc, labels=["connection_pool"])
        for pool_name, row in totals.items():
            counter.add_metric([pool_name], row[key])
        yield counter


def register(registry: CollectorRegistry, collector: WorkerCollector) -> None:
    """Side effect: add the worker's metrics to ``registry`` (the one the user exports, or
    prometheus_client's default)."""
    registry.register(collector)


def serve(port: int, address: str, registry: CollectorRegistry) -> Any:
    """Side effect: serve ``registry`` on ``address:port`` from a daemon thread; returns
    the server (``shutdown()`` stops it)."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=address, registry=registry)
    return server


class Exporter:
    """The metrics of one worker: made in the step's ``create``, served from ``start``."""

    def __init__(self, recorder: Any, options: Any, registry: CollectorRegistry | None = None
                 ) -> None:  # fmt: skip
        from prometheus_client import REGISTRY

        self.options = options
        self.registry = REGISTRY if registry is None else registry
        self.tasks = TaskMetrics()
        self.collector = WorkerCollector(
            self.tasks, recorder.profile,
            recorder.pool.value if recorder.pool else recorder.pool_name, recorder.concurrency,
        )  # fmt: skip
        self.server: Any = None

    def attach(self, recorder: Any) -> None:
        """Side effect: the recorder's profile reports to the metrics, and the registry
        has them."""
        recorder.profile.observers.append(self.tasks)
        register(self.registry, self.collector)

    def start(self) -> None:
        """Side effect: serve the registry on ``--poolkit-metrics-port``, if given. After
        the pool's start, so the first prefork children do not inherit the socket."""
        if self.options.metrics_port:
            self.server = serve(self.options.metrics_port, self.options.metrics_address,
                                self.registry)  # fmt: skip

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        with contextlib.suppress(KeyError):  # never registered, or already gone
            self.registry.unregister(self.collector)
