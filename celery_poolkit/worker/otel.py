"""OpenTelemetry metrics of a worker: the Prometheus exporter's instruments, for OTel.

The extra ``celery-poolkit[otel]`` installs ``opentelemetry-api``; the worker records into
the global ``MeterProvider`` (set up, with its exporter, by the application: the OTel
SDK's ``metrics.set_meter_provider``), or into the one given. Like the Prometheus metrics
(:mod:`celery_poolkit.worker.metrics`) they observe the recorder's profile in the main
process, so prefork children need no set-up and are counted once.

Names follow the semantic conventions where one exists, and say ``poolkit`` where none
does (docs/metrics.rst lists them):

* ``messaging.process.duration`` (s): each task run's wall time, with
  ``messaging.system=celery``, ``messaging.operation.type=process``,
  ``celery.task_name`` (the attribute OpenTelemetry's Celery instrumentation uses) and
  ``error.type=_OTHER`` for a run that failed;
* ``poolkit.task.cpu_time`` (s): each run's CPU time (no convention for a task's CPU);
* ``poolkit.hub.blocks`` and ``poolkit.hub.block_time`` (s): gevent hub blocks by task;
* ``db.client.connection.count`` (with ``db.client.connection.state`` idle/used),
  ``db.client.connection.max``, ``db.client.connection.pending_requests`` and
  ``db.client.connection.timeouts``, by ``db.client.connection.pool.name``: the database
  client conventions; ``poolkit.connection_pool.discarded`` has none;
* ``poolkit.task.soft_limit_hits`` and ``poolkit.task.hard_limit_hits`` by task, and
  ``poolkit.worker.recycles`` by ``poolkit.recycle.reason`` (tasks, memory, hard-limit):
  no convention (:mod:`celery_poolkit.worker.limit_events` says where they come from);
* ``poolkit.worker.concurrency`` with ``poolkit.pool`` and ``poolkit.patched``.

Under prefork the connection-pool instruments add the children's pools, as they last
reported them (:mod:`celery_poolkit.worker.children`).

The ``celery.task_name`` attribute is bounded like the Prometheus label
(:mod:`celery_poolkit.worker.task_labels`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from celery_poolkit.worker.children import pool_totals
from celery_poolkit.worker.profile import Block
from celery_poolkit.worker.task_labels import TaskLabels

__all__ = ["OtelMetrics"]

_RUN = {"messaging.system": "celery", "messaging.operation.type": "process"}
_POOL = "db.client.connection.pool.name"


class OtelMetrics:
    """The worker's OTel instruments; observes the profile (a ``ProfileObserver``)."""

    def __init__(self, pool: str, concurrency: int,
                 meter_provider: metrics.MeterProvider | None = None) -> None:  # fmt: skip
        meter = metrics.get_meter("celery_poolkit", meter_provider=meter_provider)
        self.label = TaskLabels()
        self.pool, self.concurrency = pool, concurrency
        # A prefork child inherits the provider (the SDK's reader restarts its thread
        # after fork): the process-wide observations are the main process's alone.
        self.pid = os.getpid()
        self.children: Any = None  # prefork: the children's pools (ChildReports)
        self.duration = meter.create_histogram(
            "messaging.process.duration", unit="s", description="Duration of a task run."
        )
        self.cpu = meter.create_histogram(
            "poolkit.task.cpu_time", unit="s", description="CPU time of a task run."
        )
        self.blocks = meter.create_counter(
            "poolkit.hub.blocks", unit="{block}", description="gevent: hub blocks by task."
        )
        self.block_time = meter.create_counter(
            "poolkit.hub.block_time", unit="s", description="gevent: seconds the hub was blocked."
        )
        self.soft_hits = meter.create_counter(
            "poolkit.task.soft_limit_hits", unit="{run}",
            description="Task runs that reached their soft time limit.",
        )  # fmt: skip
        self.hard_hits = meter.create_counter(
            "poolkit.task.hard_limit_hits", unit="{run}",
            description="Task runs that reached their hard time limit.",
        )  # fmt: skip
        self.recycles = meter.create_counter(
            "poolkit.worker.recycles", unit="{process}",
            description="Worker processes replaced (prefork: children), by reason.",
        )  # fmt: skip
        meter.create_observable_up_down_counter(
            "db.client.connection.count", [self._counts], unit="{connection}",
            description="Connections open, by state.",
        )  # fmt: skip
        meter.create_observable_up_down_counter(
            "db.client.connection.max", [self._field("max_size")], unit="{connection}",
            description="Most connections the pool may hold.",
        )  # fmt: skip
        meter.create_observable_up_down_counter(
            "db.client.connection.pending_requests", [self._field("waiting")],
            unit="{request}", description="Callers waiting for a connection.",
        )  # fmt: skip
        meter.create_observable_counter(
            "db.client.connection.timeouts", [self._field("timeouts")], unit="{timeout}",
            description="Checkouts that gave up.",
        )  # fmt: skip
        meter.create_observable_counter(
            "poolkit.connection_pool.discarded", [self._field("discarded")],
            unit="{connection}", description="Broken connections discarded.",
        )  # fmt: skip
        meter.create_observable_gauge(
            "poolkit.worker.concurrency", [self._worker], unit="{slot}",
            description="The worker's concurrency (-c).",
        )  # fmt: skip

    # -- the profile's observer ------------------------------------------------------

    def run(self, name: str, wall: float, cpu: float, failed: bool) -> None:
        task = {"celery.task_name": self.label(name)}
        self.duration.record(wall, {**_RUN, **task, **({"error.type": "_OTHER"} if failed else {})})
        self.cpu.record(cpu, task)

    def block(self, block: Block) -> None:
        task = {"celery.task_name": self.label(block.task)}
        self.blocks.add(1, task)
        self.block_time.add(block.seconds, task)

    # -- limit_events' observer ------------------------------------------------------

    def limit_hit(self, task: str, kind: str, count: int = 1) -> None:
        (self.soft_hits if kind == "soft" else self.hard_hits).add(
            count, {"celery.task_name": self.label(task)}
        )

    def recycled(self, reason: str, count: int = 1) -> None:
        self.recycles.add(count, {"poolkit.recycle.reason": reason})

    # -- read when the reader collects -----------------------------------------------

    def _stats(self) -> dict[str, dict[str, int]]:
        """Pool name -> its numbers: this process's pools and the prefork children's."""
        if os.getpid() != self.pid:
            return {}
        return pool_totals(self.children)

    def _counts(self, options: CallbackOptions) -> Iterable[Observation]:
        for name, s in self._stats().items():
            yield Observation(s["in_use"], {_POOL: name, "db.client.connection.state": "used"})
            yield Observation(s["size"] - s["in_use"],
                              {_POOL: name, "db.client.connection.state": "idle"})  # fmt: skip

    def _field(self, key: str) -> Any:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(s[key], {_POOL: name}) for name, s in self._stats().items()]

        return observe

    def _worker(self, options: CallbackOptions) -> Iterable[Observation]:
        from celery_poolkit.bootstrap import current_pool

        if os.getpid() != self.pid:
            return
        patched = current_pool()
        state = {"poolkit.pool": self.pool, "poolkit.patched": patched.value if patched else "no"}
        yield Observation(self.concurrency, state)


def attach(recorder: Any, meter_provider: metrics.MeterProvider | None = None) -> OtelMetrics:
    """Side effect: the recorder's profile reports to OTel instruments."""
    otel = OtelMetrics(recorder.pool.value if recorder.pool else recorder.pool_name,
                       recorder.concurrency, meter_provider)  # fmt: skip
    recorder.profile.observers.append(otel)
    return otel
