"""Prometheus metrics of a worker: per-task CPU and wall time, hub blocks, connection pools.

The extra ``celery-poolkit[metrics]`` installs ``prometheus_client``; without it this
module is never imported and the step says what to install.

What is measured is what the profile measures (:mod:`celery_poolkit.worker.recorder`), in
the process where the profile lives: :class:`TaskMetrics` observes each run and hub block
the recorder's :class:`~celery_poolkit.worker.profile.Profile` records. Under prefork the
children's runs reach the main process through the recorder's pipe and are observed
there, once: children never observe, keep nothing, and a replaced child leaves nothing
behind (no multiprocess directory, no environment variable). Their connection pools
reach it the same way (:mod:`celery_poolkit.worker.children`). Time-limit hits and
recycles come from :mod:`celery_poolkit.worker.limit_events`, on every pool.

The per-run path costs one ``deque.append``: the runs are summed into plain per-label
numbers when Prometheus scrapes, by :class:`WorkerCollector` (a custom collector), which
is also the one place the task label is capped.

Labels are bounded (:mod:`celery_poolkit.worker.task_labels`): at most 500 task names in a
process, then ``task="(other)"``; hub blocks no task caused carry ``task="(none)"``.
"""

from __future__ import annotations

import contextlib
import threading
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from celery_poolkit.worker.children import ChildReports, pool_totals
from celery_poolkit.worker.limit_events import RECYCLE_REASONS
from celery_poolkit.worker.profile import Block, Profile
from celery_poolkit.worker.task_labels import TaskLabels

__all__ = ["METRIC_NAMES", "Exporter", "TaskMetrics", "WorkerCollector", "register"]

#: From 1 ms to 10 min: no-op tasks to long batch jobs.
BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
           60.0, 120.0, 300.0, 600.0, float("inf"))  # fmt: skip
#: The ``le`` labels, written as prometheus_client writes them ("0.25", "1.0", "+Inf").
_BOUNDS = tuple("+Inf" if b == float("inf") else repr(b) for b in BUCKETS)
#: Runs kept unfolded at most (when nobody scrapes): a few hundred KiB.
FOLD_AT = 4096

#: Every metric family the exporter writes (as Prometheus names them, before the
#: ``_bucket``/``_sum``/``_count``/``_total``/``_info`` sample suffixes).
METRIC_NAMES = (
    "poolkit_task_wall_seconds",
    "poolkit_task_cpu_seconds",
    "poolkit_task_runs",
    "poolkit_task_failures",
    "poolkit_hub_blocks",
    "poolkit_hub_block_seconds",
    "poolkit_task_soft_limit_hits",
    "poolkit_task_hard_limit_hits",
    "poolkit_worker_recycles",
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


class _Series:
    """One task label's measurements: plain numbers, folded in by :meth:`TaskMetrics.fold`."""

    __slots__ = ("block_seconds", "blocks", "count", "cpu", "cpu_sum", "failures", "hard",
                 "soft", "wall", "wall_sum")  # fmt: skip

    def __init__(self) -> None:
        self.count = self.failures = self.blocks = self.soft = self.hard = 0
        self.wall_sum = self.cpu_sum = self.block_seconds = 0.0
        self.wall = [0] * len(BUCKETS)  # per bucket, not cumulative: one increment a run
        self.cpu = [0] * len(BUCKETS)


class TaskMetrics:
    """Each run and hub block the profile records, as metrics by task (a
    :class:`~celery_poolkit.worker.profile.ProfileObserver`), and each time-limit hit and
    recycle :mod:`~celery_poolkit.worker.limit_events` sees.

    The per-task path is one ``deque.append`` of a tuple (atomic, no lock, no label
    lookup): the runs are folded into plain per-label sums and bucket counts when
    Prometheus scrapes, or every :data:`FOLD_AT` runs so memory stays bounded when nobody
    scrapes. prometheus_client's own Histogram took a lock and a label lookup per
    observation, which a no-op task paid in the worker's hot path (docs/metrics.rst,
    "Overhead").
    """

    def __init__(self, labels: TaskLabels | None = None) -> None:
        self.label = labels or TaskLabels()
        self.pending: deque[tuple[Any, ...]] = deque()
        self.series: dict[str, _Series] = {}
        self.recycles: dict[str, int] = {}
        # Held by whoever folds (the scrape, or a run every FOLD_AT): never by a run itself.
        self.lock = threading.Lock()

    # -- the observers' side: cheap, any thread ------------------------------------------

    def run(self, name: str, wall: float, cpu: float, failed: bool) -> None:
        pending = self.pending
        pending.append((name, wall, cpu, failed))
        if len(pending) >= FOLD_AT:
            self.fold()

    def block(self, block: Block) -> None:
        self.pending.append((block.task, block.seconds))

    def limit_hit(self, task: str, kind: str, count: int = 1) -> None:
        """A task ran past its soft (``kind="soft"``) or hard time limit."""
        self.pending.append((task, kind, count))

    def recycled(self, reason: str, count: int = 1) -> None:
        with self.lock:
            self.recycles[reason] = self.recycles.get(reason, 0) + count

    # -- the scrape's side -----------------------------------------------------------------

    def _series(self, name: str | None) -> _Series:
        label = self.label(name)
        series = self.series.get(label)
        if series is None:
            series = self.series[label] = _Series()
        return series

    def fold(self) -> None:
        """Move the pending runs, blocks and limit hits into the per-label series."""
        with self.lock:
            pending = self.pending
            while True:
                try:
                    item = pending.popleft()
                except IndexError:
                    return
                series = self._series(item[0])
                if len(item) == 4:
                    _, wall, cpu, failed = item
                    series.count += 1
                    series.failures += bool(failed)
                    series.wall_sum += wall
                    series.cpu_sum += cpu
                    series.wall[bisect_left(BUCKETS, wall)] += 1
                    series.cpu[bisect_left(BUCKETS, cpu)] += 1
                elif len(item) == 3:
                    if item[1] == "soft":
                        series.soft += item[2]
                    else:
                        series.hard += item[2]
                else:
                    series.blocks += 1
                    series.block_seconds += item[1]

    def families(self) -> Iterable[Metric]:
        self.fold()
        with self.lock:
            rows = [(label, s.count, s.failures, s.wall_sum, s.cpu_sum, list(s.wall),
                     list(s.cpu), s.blocks, s.block_seconds, s.soft, s.hard)
                    for label, s in sorted(self.series.items())]  # fmt: skip
            recycles = sorted(self.recycles.items())
        wall = HistogramMetricFamily("poolkit_task_wall_seconds", "Wall time of each task run.",
                                     labels=["task"])  # fmt: skip
        cpu = HistogramMetricFamily(
            "poolkit_task_cpu_seconds",
            "CPU time of each task run (process, thread or greenlet CPU: the profile's clock).",
            labels=["task"],
        )
        runs = CounterMetricFamily("poolkit_task_runs", "Task runs ended.", labels=["task"])
        failures = CounterMetricFamily("poolkit_task_failures", "Task runs that failed.",
                                       labels=["task"])  # fmt: skip
        blocks = CounterMetricFamily("poolkit_hub_blocks", "gevent: times a task blocked the hub.",
                                     labels=["task"])  # fmt: skip
        block_seconds = CounterMetricFamily(
            "poolkit_hub_block_seconds", "gevent: seconds the hub was blocked, by task.",
            labels=["task"],
        )  # fmt: skip
        soft = CounterMetricFamily(
            "poolkit_task_soft_limit_hits", "Task runs that reached their soft time limit.",
            labels=["task"],
        )  # fmt: skip
        hard = CounterMetricFamily(
            "poolkit_task_hard_limit_hits",
            "Task runs that reached their hard time limit (failed with TimeLimitExceeded).",
            labels=["task"],
        )  # fmt: skip
        recycled = CounterMetricFamily(
            "poolkit_worker_recycles",
            "Worker processes replaced (prefork: children), by reason: tasks "
            "(max_tasks_per_child), memory (max_memory_per_child), hard-limit.",
            labels=["reason"],
        )  # fmt: skip
        for label, count, failed, wsum, csum, walls, cpus, nblocks, bsec, nsoft, nhard in rows:
            if count:
                wall.add_metric([label], _cumulative(walls), wsum)
                cpu.add_metric([label], _cumulative(cpus), csum)
                runs.add_metric([label], count)
                failures.add_metric([label], failed)  # from the first run: rate() works
            if nblocks:
                blocks.add_metric([label], nblocks)
                block_seconds.add_metric([label], bsec)
            if count or nsoft or nhard:  # a task with no hit yet: 0, so increase() works
                soft.add_metric([label], nsoft)
                hard.add_metric([label], nhard)
        for reason in sorted({*RECYCLE_REASONS, *dict(recycles)}):
            recycled.add_metric([reason], dict(recycles).get(reason, 0))
        return (wall, cpu, runs, failures, blocks, block_seconds, soft, hard, recycled)


def _cumulative(counts: list[int]) -> list[tuple[str, float]]:
    total = 0
    buckets: list[tuple[str, float]] = []
    for bound, count in zip(_BOUNDS, counts, strict=True):
        total += count
        buckets.append((bound, total))
    return buckets


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
        self.children: ChildReports | None = None  # prefork: the children's pools

    def collect(self) -> Iterator[Metric]:
        yield from self.tasks.families()
        dropped = CounterMetricFamily(
            "poolkit_profile_dropped",
            "prefork: task runs a child could not report (its pipe to the main process was full).",
        )
        dropped.add_metric([], self.profile.dropped)
        yield dropped
        yield from self._worker()
        yield from _connection_pools(self.children)

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


def _connection_pools(children: ChildReports | None = None) -> Iterator[Metric]:
    """poolkit's connection pools, this process's and its prefork children's."""
    totals = pool_totals(children)
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
