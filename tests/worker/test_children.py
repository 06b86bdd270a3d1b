"""prefork children's connection pools and exits as the main process sees them (issue
14), without a worker: celery_poolkit.worker.children and the recorder's pipe."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from prometheus_client import CollectorRegistry

from celery_poolkit.model import Pool
from celery_poolkit.worker.children import EX_RECYCLE, ChildReporter, ChildReports
from celery_poolkit.worker.metrics import TaskMetrics, WorkerCollector, register
from celery_poolkit.worker.profile import Profile
from celery_poolkit.worker.recorder import TaskRecorder
from celery_poolkit.worker.step import StepOptions

POOL = "django:default"


def _row(*numbers: int) -> list[Any]:
    """A report's pool row: max_size, size, in_use, waiting, timeouts, discarded."""
    return [POOL, *numbers]


def _registry(reports: ChildReports) -> CollectorRegistry:
    collector = WorkerCollector(TaskMetrics(), Profile(), "prefork", 2)
    collector.children = reports
    registry = CollectorRegistry()
    register(registry, collector)
    return registry


def test_children_are_summed_and_a_gone_childs_gauges_vanish() -> None:
    alive = {101, 102}
    recycles: list[str] = []
    reports = ChildReports(recycles.append, alive=lambda pid, parent: pid in alive)
    registry = _registry(reports)

    def value(name: str) -> float | None:
        return registry.get_sample_value(name, {"connection_pool": POOL})

    reports.message({"pid": 101, "pools": [_row(3, 2, 1, 0, 1, 0)]})
    reports.message({"pid": 102, "pools": [_row(3, 3, 3, 2, 0, 1)]})
    assert value("poolkit_connection_pool_max_size") == 6
    assert value("poolkit_connection_pool_in_use") == 4
    assert value("poolkit_connection_pool_waiting") == 2
    assert value("poolkit_connection_pool_checkout_timeouts_total") == 1
    # 101 says goodbye (max_tasks_per_child): its gauges go, its counters stay.
    reports.message({"pid": 101, "gone": True, "recycle": "tasks",
                     "pools": [_row(3, 2, 0, 0, 2, 0)]})  # fmt: skip
    assert recycles == ["tasks"]
    assert value("poolkit_connection_pool_max_size") == 3
    assert value("poolkit_connection_pool_in_use") == 3
    assert value("poolkit_connection_pool_checkout_timeouts_total") == 2
    # 102 is killed (a hard limit): no goodbye, gone from /proc.
    alive.discard(102)
    assert value("poolkit_connection_pool_in_use") == 0
    assert value("poolkit_connection_pool_size") == 0
    assert value("poolkit_connection_pool_discarded_total") == 1
    # Its late lines do not bring it back or count it twice.
    reports.message({"pid": 102, "pools": [_row(3, 3, 3, 0, 0, 1)]})
    reports.message({"pid": 102, "gone": True, "pools": [_row(3, 3, 3, 0, 0, 1)]})
    assert value("poolkit_connection_pool_in_use") == 0
    assert value("poolkit_connection_pool_discarded_total") == 1


def test_malformed_lines_are_ignored() -> None:
    reports = ChildReports(alive=lambda pid, parent: True)
    for message in ({}, {"pid": "1"}, {"pid": True}, {"pid": 5, "pools": "x"},
                    {"pid": 5, "pools": [["p", 1, 2]]}, {"pid": 5, "pools": [["p", *"123456"]]},
                    {"pid": 5, "pools": [["p", 1, 1, 1, 1, 1, -1]]},
                    {"pid": 6, "gone": True, "recycle": "forged"}):  # fmt: skip
        reports.message(message)  # type: ignore[arg-type]
    assert list(reports.pools()) == []


def test_a_child_reports_through_the_recorders_pipe() -> None:
    runtime = TaskRecorder(hostname="w@h", pool=Pool.PREFORK, pool_name="prefork",
                           concurrency=2, queues=("q",), options=StepOptions())  # fmt: skip
    runtime.open_prefork_pipe()
    assert runtime.pipe is not None
    seen: list[dict[str, Any]] = []
    recycles: list[str] = []
    reports = ChildReports(recycles.append, alive=lambda pid, parent: True)
    runtime.listeners += [seen.append, reports.message]
    reporter = ChildReporter(runtime.send_message, max_memory_kib=None)
    reporter.parent = -1  # "in a child"
    reporter.on_exit(pid=os.getpid(), exitcode=EX_RECYCLE)
    runtime.send_message({"pid": 7, "pools": [_row(2, 1, 1, 0, 0, 0)]})
    reader = threading.Thread(target=runtime._read_children)
    reader.start()
    time.sleep(0.5)
    runtime.stopping.set()
    reader.join(timeout=5)
    for fd in runtime.pipe:
        os.close(fd)
    assert seen[0]["gone"] is True
    assert seen[0]["pid"] == os.getpid()
    assert recycles == ["tasks"]  # EX_RECYCLE, no max_memory_per_child: the task count
    assert dict(reports.pools())[POOL]["in_use"] == 1
    assert runtime.profile.tasks() == ()  # not mistaken for a task run


def test_a_childs_counters_outlive_its_closed_pools() -> None:
    import gc

    from celery_poolkit.greendb.connection_pool import ConnectionPool
    from celery_poolkit.worker.children import PoolRows

    rows = PoolRows()

    def mine() -> list[Any]:
        return next((r for r in rows() if r[0] == "rows-test"), [])

    pool: ConnectionPool[object] = ConnectionPool(object, close=lambda c: None, max_size=2,
                                                  name="rows-test")  # fmt: skip
    pool.putconn(pool.getconn(), discard=True)
    held = pool.getconn()
    assert mine() == ["rows-test", 2, 1, 1, 0, 0, 1]
    # Celery's Django fixup closes the pool after a prefork task; a new one is built.
    pool.putconn(held)
    pool.close()
    del pool
    gc.collect()
    assert mine() == ["rows-test", 0, 0, 0, 0, 0, 1]
    again: ConnectionPool[object] = ConnectionPool(object, close=lambda c: None, max_size=2,
                                                   name="rows-test")  # fmt: skip
    again.putconn(again.getconn(), discard=True)
    assert mine() == ["rows-test", 2, 0, 0, 0, 0, 2]
    again.close()
