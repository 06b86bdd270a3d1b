"""The guard's connection-budget check (PK307) on live app configuration."""

from __future__ import annotations

import types
from typing import Any

import pytest

from celery_poolkit.worker import guard
from celery_poolkit.worker.step import StepOptions


def _worker(pool: str, concurrency: int, **conf: Any) -> Any:
    from celery import Celery
    from celery.concurrency import get_implementation

    app = Celery("t", broker=conf.pop("broker", "redis://127.0.0.1:1/0"))
    app.conf.update(conf)

    @app.task(name="t.late", acks_late=True)
    def late() -> None:
        return None

    return types.SimpleNamespace(
        pool_cls=get_implementation(pool), app=app, concurrency=concurrency
    )


def _topics(worker: Any) -> list[str]:
    facts = guard.facts_of(worker)
    return [f"{f.rule}:{f.subject}" for f in guard.connections(facts, worker.app)]


def test_a_gevent_worker_acking_late_past_kombus_cap_is_refused() -> None:
    worker = _worker("gevent", 50, task_acks_late=True)
    (finding,) = guard.connections(guard.facts_of(worker), worker.app)
    assert finding.rule in guard.REFUSE
    assert "holds 10 connections" in finding.message
    assert "'max_connections': 51" in finding.fix


def test_one_late_task_on_the_consumed_queue_is_enough() -> None:
    # t.late sets acks_late=True on the default queue the worker consumes.
    worker = _worker("gevent", 50)
    (finding,) = guard.connections(guard.facts_of(worker), worker.app)
    assert "acks_late on t.late" in finding.message


@pytest.mark.parametrize(
    ("pool", "concurrency", "conf"),
    [
        (
            "gevent",
            50,
            {"task_acks_late": True, "broker_transport_options": {"max_connections": 51}},
        ),
        ("gevent", 9, {"task_acks_late": True}),  # 9 greenlets + the consumer fit in 10
        ("threads", 50, {"task_acks_late": True}),  # acks go through the consumer's hub
        ("gevent", 50, {"task_acks_late": True, "broker": "amqp://127.0.0.1:1//"}),
    ],
)
def test_quiet_when_the_pool_fits_or_is_not_shared(
    pool: str, concurrency: int, conf: dict[str, Any]
) -> None:
    assert _topics(_worker(pool, concurrency, **conf)) == []


def test_shared_redis_result_backend_on_threads() -> None:
    conf = {"result_backend": "redis://127.0.0.1:1/1", "result_backend_thread_safe": True,
            "redis_max_connections": 10}  # fmt: skip
    assert _topics(_worker("threads", 50, **conf)) == ["PK307:redis-backend"]
    assert _topics(_worker("threads", 10, **conf)) == []


def test_strict_mode_stops_the_worker_on_it() -> None:
    worker = _worker("threads", 50, result_backend="redis://127.0.0.1:1/1",
                     result_backend_thread_safe=True, redis_max_connections=10)  # fmt: skip
    with pytest.raises(SystemExit):
        guard.run(worker, StepOptions(strict=True, advise=False))
