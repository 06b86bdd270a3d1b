"""Time-limit hits and recycles as metrics (issue 14), without a worker: where
celery_poolkit.worker.limit_events sees them, and what the Prometheus series become."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from celery.worker.request import Request
from prometheus_client import CollectorRegistry

from celery_poolkit.model import Pool
from celery_poolkit.worker import limit_events
from celery_poolkit.worker.limit_events import CARRIED_ENV, LimitEvents, carried, recycle_reason
from celery_poolkit.worker.limits import LimitEnforcer, Limits, _Running
from celery_poolkit.worker.metrics import TaskMetrics, WorkerCollector, register
from celery_poolkit.worker.profile import Profile


@pytest.fixture(autouse=True)
def _no_carried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CARRIED_ENV, raising=False)


def _metrics() -> tuple[TaskMetrics, CollectorRegistry]:
    tasks, registry = TaskMetrics(), CollectorRegistry()
    register(registry, WorkerCollector(tasks, Profile(), "prefork", 2))
    return tasks, registry


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_celerys_on_timeout_is_counted_and_put_back(monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[tuple[bool, float]] = []

    def original(request: Any, soft: bool, timeout: float) -> str:
        called.append((soft, timeout))
        return "celery's"

    monkeypatch.setattr(Request, "on_timeout", original)
    tasks, registry = _metrics()
    events = LimitEvents(Pool.PREFORK, [tasks])
    events.connect()
    request = SimpleNamespace(name="shop.resize")
    assert Request.on_timeout(request, True, 1.0) == "celery's"  # type: ignore[arg-type]
    assert Request.on_timeout(request, False, 2.0) == "celery's"  # type: ignore[arg-type]
    assert called == [(True, 1.0), (False, 2.0)]  # Celery's handler still runs
    assert _value(registry, "poolkit_task_soft_limit_hits_total", task="shop.resize") == 1
    assert _value(registry, "poolkit_task_hard_limit_hits_total", task="shop.resize") == 1
    # billiard kills the prefork child that ran past its hard limit: a recycle.
    assert _value(registry, "poolkit_worker_recycles_total", reason="hard-limit") == 1
    assert _value(registry, "poolkit_worker_recycles_total", reason="tasks") == 0
    events.disconnect()
    assert Request.on_timeout is original


def test_a_broken_observer_never_stops_celerys_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Request, "on_timeout", lambda request, soft, timeout: "ran")
    broken = SimpleNamespace(limit_hit=lambda *a: 1 / 0, recycled=lambda *a: None)
    events = LimitEvents(Pool.GEVENT, [broken])  # type: ignore[list-item]
    events.connect()
    try:
        assert Request.on_timeout(SimpleNamespace(name="t"), False, 1.0) == "ran"  # type: ignore[arg-type]
    finally:
        events.disconnect()


class _Recycler:
    """Records what LimitEnforcer asks for instead of replacing the test process."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.on_request: Any = None

    @property
    def requested(self) -> bool:
        return False

    def request(self, reason: str, stuck: Any = ()) -> bool:
        self.reasons.append(reason)
        if self.on_request is not None:
            self.on_request(reason)
        return True


def test_poolkits_soft_limit_and_recycles_reach_the_metrics() -> None:
    tasks, registry = _metrics()
    recycler = _Recycler()
    enforcer = LimitEnforcer(pool=Pool.THREADS, default=Limits(), recycler=recycler,  # type: ignore[arg-type]
                             max_tasks=1, max_memory_kib=1)  # fmt: skip
    events = LimitEvents(Pool.THREADS, [tasks])
    events.connect(enforcer)
    try:
        # A soft limit poolkit enforces (no Request.on_timeout): thread id 1 exists nowhere.
        entry = _Running("id1", "shop.slow", Limits(soft=0.5), started=0.0, thread_id=1)
        enforcer._due(entry, now=1.0)
        enforcer.on_postrun(task_id="id1")  # max_tasks_per_child=1 reached
        enforcer.max_tasks = None
        enforcer.on_postrun(task_id="id2")  # resident memory > 1 KiB
    finally:
        events.disconnect(enforcer)
    assert enforcer.on_limit is None
    assert recycler.on_request is None
    assert [recycle_reason(r) for r in recycler.reasons] == ["tasks", "memory"]
    assert recycle_reason("hard time limit of t[id]") == "hard-limit"
    assert _value(registry, "poolkit_task_soft_limit_hits_total", task="shop.slow") == 1
    assert _value(registry, "poolkit_worker_recycles_total", reason="tasks") == 1
    assert _value(registry, "poolkit_worker_recycles_total", reason="memory") == 1


def test_counts_ride_across_the_replacement(monkeypatch: pytest.MonkeyPatch) -> None:
    first, _ = _metrics()
    events = LimitEvents(Pool.THREADS, [first])
    events.hit("shop.stuck", "hard")
    events.recycle_requested("hard time limit of shop.stuck[id1]")
    carried_text = limit_events.os.environ[CARRIED_ENV]
    assert json.loads(carried_text)["hard"] == {"shop.stuck": 1}
    # The new process (os.execve keeps the environment) starts from them.
    tasks, registry = _metrics()
    LimitEvents(Pool.THREADS, [tasks])
    assert _value(registry, "poolkit_task_hard_limit_hits_total", task="shop.stuck") == 1
    assert _value(registry, "poolkit_worker_recycles_total", reason="hard-limit") == 1


@pytest.mark.parametrize("value", ["{", "[]", '{"soft": {"t": -1, "u": true, "v": "2"}}',
                                   '{"recycles": 5}', "x" * 100_000])  # fmt: skip
def test_a_malformed_carried_value_is_ignored(value: str) -> None:
    counts = carried({CARRIED_ENV: value})
    assert counts == {"recycles": {}, "soft": {}, "hard": {}}
