"""The worker's OpenTelemetry metrics, read with the OTel SDK's in-memory reader: the same
runs, blocks and connection pools as the Prometheus metrics, under convention names."""

from __future__ import annotations

import logging
import sys
import types
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from celery_poolkit.greendb.connection_pool import ConnectionPool
from celery_poolkit.worker import otel
from celery_poolkit.worker import step as bootstep
from celery_poolkit.worker.profile import Block, Profile
from celery_poolkit.worker.step import StepOptions


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    assert data is not None
    return {m.name: list(m.data.data_points) for rm in data.resource_metrics
            for sm in rm.scope_metrics for m in sm.metrics}  # fmt: skip


def test_runs_blocks_and_pools_under_convention_names() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    recorder = types.SimpleNamespace(pool=None, pool_name="gevent", concurrency=20,
                                     profile=Profile())  # fmt: skip
    otel.attach(recorder, provider)
    recorder.profile.add("shop.resize", 0.5, 0.4, False)
    recorder.profile.add("shop.resize", 0.25, 0.2, True)
    recorder.profile.add_block(Block("shop.resize", "id", "g", 0.3, (), 0.0))
    pool: ConnectionPool[object] = ConnectionPool(object, close=lambda c: None, max_size=4,
                                                  name="otel-test")  # fmt: skip
    held = pool.getconn()

    points = _points(reader)
    runs = {tuple(sorted(p.attributes.items())): p for p in points["messaging.process.duration"]}
    ok = runs[(("celery.task_name", "shop.resize"), ("messaging.operation.type", "process"),
               ("messaging.system", "celery"))]  # fmt: skip
    assert (ok.count, ok.sum) == (1, 0.5)
    failed = next(p for p in runs.values() if p.attributes.get("error.type") == "_OTHER")
    assert (failed.count, failed.sum) == (1, 0.25)
    (cpu,) = points["poolkit.task.cpu_time"]
    assert cpu.count == 2
    assert cpu.sum == pytest.approx(0.6)
    assert [p.value for p in points["poolkit.hub.blocks"]] == [1]
    assert [p.value for p in points["poolkit.hub.block_time"]] == [pytest.approx(0.3)]
    counts = {p.attributes["db.client.connection.state"]: p.value
              for p in points["db.client.connection.count"]
              if p.attributes["db.client.connection.pool.name"] == "otel-test"}  # fmt: skip
    assert counts == {"used": 1, "idle": 0}
    maxes = {p.attributes["db.client.connection.pool.name"]: p.value
             for p in points["db.client.connection.max"]}  # fmt: skip
    assert maxes["otel-test"] == 4
    (worker,) = points["poolkit.worker.concurrency"]
    assert (worker.value, dict(worker.attributes)) == (
        20, {"poolkit.pool": "gevent", "poolkit.patched": "no"})  # fmt: skip
    pool.putconn(held)
    pool.close()


def test_without_opentelemetry_the_worker_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    monkeypatch.delitem(sys.modules, "celery_poolkit.worker.otel")
    recorder = types.SimpleNamespace(profile=Profile())
    with caplog.at_level(logging.ERROR, logger="celery_poolkit"):
        assert bootstep._otel_metrics(recorder, StepOptions(otel=True)) is None
    assert "pip install 'celery-poolkit[otel]'" in caplog.text
    assert recorder.profile.observers == []
    assert bootstep._otel_metrics(recorder, StepOptions()) is None


def test_limit_hits_recycles_and_childrens_pools(monkeypatch: pytest.MonkeyPatch) -> None:
    from celery_poolkit.model import Pool
    from celery_poolkit.worker.children import ChildReports
    from celery_poolkit.worker.limit_events import CARRIED_ENV, LimitEvents

    monkeypatch.delenv(CARRIED_ENV, raising=False)
    reader = InMemoryMetricReader()
    recorder = types.SimpleNamespace(pool=Pool.PREFORK, pool_name="prefork", concurrency=2,
                                     profile=Profile())  # fmt: skip
    instruments = otel.attach(recorder, MeterProvider(metric_readers=[reader]))
    events = LimitEvents(Pool.PREFORK, [instruments])
    events.on_timeout(types.SimpleNamespace(name="shop.slow"), soft=True)
    events.on_timeout(types.SimpleNamespace(name="shop.slow"), soft=False)  # child killed
    events.recycled("tasks")
    instruments.children = ChildReports(alive=lambda pid, parent: True)
    instruments.children.message({"pid": 9, "pools": [["otel-child", 3, 2, 1, 0, 0, 0]]})

    points = _points(reader)
    assert [(dict(p.attributes), p.value) for p in points["poolkit.task.soft_limit_hits"]] == [
        ({"celery.task_name": "shop.slow"}, 1)]  # fmt: skip
    assert [p.value for p in points["poolkit.task.hard_limit_hits"]] == [1]
    recycles = {p.attributes["poolkit.recycle.reason"]: p.value
                for p in points["poolkit.worker.recycles"]}  # fmt: skip
    assert recycles == {"hard-limit": 1, "tasks": 1}
    counts = {p.attributes["db.client.connection.state"]: p.value
              for p in points["db.client.connection.count"]
              if p.attributes["db.client.connection.pool.name"] == "otel-child"}  # fmt: skip
    assert counts == {"used": 1, "idle": 1}
