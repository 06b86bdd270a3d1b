"""The worker's Prometheus metrics without a worker: what the profile's runs and blocks
become, the bounded task label, connection pools, and a worker without the extra."""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from celery_poolkit.greendb.connection_pool import ConnectionPool
from celery_poolkit.worker import step as bootstep
from celery_poolkit.worker.metrics import (
    METRIC_NAMES,
    Exporter,
    TaskMetrics,
    WorkerCollector,
    register,
)
from celery_poolkit.worker.profile import OTHER, Block, Profile
from celery_poolkit.worker.step import StepOptions, resolve_options
from celery_poolkit.worker.task_labels import TaskLabels


def _profile(limit: int = 500) -> tuple[Profile, CollectorRegistry]:
    """A recorder's profile reporting to the metrics of a fresh registry."""
    profile, tasks, registry = Profile(), TaskMetrics(TaskLabels(limit)), CollectorRegistry()
    profile.observers.append(tasks)
    register(registry, WorkerCollector(tasks, profile, "gevent", 20))
    return profile, registry


def test_runs_and_blocks_become_series_by_task() -> None:
    profile, registry = _profile()
    profile.add("shop.resize", wall=0.5, cpu=0.4, failed=False)
    profile.add("shop.resize", wall=0.25, cpu=0.2, failed=True)
    profile.add_block(Block("shop.resize", "id1", "g", 0.3, (), 0.0))
    profile.add_block(Block(None, None, "g", 0.2, (), 0.0))

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("poolkit_task_cpu_seconds_sum", task="shop.resize") == pytest.approx(0.6)
    assert value("poolkit_task_wall_seconds_sum", task="shop.resize") == pytest.approx(0.75)
    assert value("poolkit_task_wall_seconds_count", task="shop.resize") == 2
    assert value("poolkit_task_wall_seconds_bucket", task="shop.resize", le="0.25") == 1
    assert value("poolkit_task_runs_total", task="shop.resize") == 2
    assert value("poolkit_task_failures_total", task="shop.resize") == 1
    assert value("poolkit_hub_blocks_total", task="shop.resize") == 1
    assert value("poolkit_hub_block_seconds_total", task="shop.resize") == pytest.approx(0.3)
    assert value("poolkit_hub_blocks_total", task="(none)") == 1
    assert value("poolkit_worker_concurrency", pool="gevent") == 20
    assert value("poolkit_worker_info", pool="gevent", patched="no", adapters="") == 1
    # The profile itself still sees everything (poolkit profile collect).
    (task,) = profile.tasks()
    assert (task.count, task.failures, task.blocks) == (2, 1, 1)


def test_the_task_label_is_capped_with_an_other_bucket() -> None:
    profile, registry = _profile(limit=3)
    for i in range(10):
        profile.add(f"t{i}", wall=0.01, cpu=0.01, failed=False)
    profile.add("t1", wall=0.01, cpu=0.01, failed=False)
    tasks = {s.labels["task"] for m in registry.collect() for s in m.samples
             if s.name == "poolkit_task_runs_total"}  # fmt: skip
    assert tasks == {"t0", "t1", "t2", OTHER}
    assert registry.get_sample_value("poolkit_task_runs_total", {"task": OTHER}) == 7
    assert registry.get_sample_value("poolkit_task_runs_total", {"task": "t1"}) == 2


def test_connection_pools_of_the_process_are_read_at_scrape_time() -> None:
    _, registry = _profile()
    pool: ConnectionPool[object] = ConnectionPool(object, close=lambda c: None, max_size=3,
                                                  name="metrics-test")  # fmt: skip
    held = pool.getconn()
    pool.putconn(pool.getconn(), discard=True)

    def value(name: str) -> float | None:
        return registry.get_sample_value(name, {"connection_pool": "metrics-test"})

    assert value("poolkit_connection_pool_in_use") == 1
    assert value("poolkit_connection_pool_size") == 1
    assert value("poolkit_connection_pool_max_size") == 3
    assert value("poolkit_connection_pool_discarded_total") == 1
    assert value("poolkit_connection_pool_checkout_timeouts_total") == 0
    more = [pool.getconn(), pool.getconn()]
    with pytest.raises(Exception, match="no free connection"):
        pool.getconn(timeout=0)
    assert value("poolkit_connection_pool_checkout_timeouts_total") == 1
    for conn in [held, *more]:
        pool.putconn(conn)
    assert value("poolkit_connection_pool_in_use") == 0


def test_every_family_written_is_a_documented_name() -> None:
    profile, registry = _profile()
    profile.add("t", wall=0.01, cpu=0.01, failed=True)
    profile.add_block(Block("t", "id", "g", 0.2, (), 0.0))
    pool: ConnectionPool[object] = ConnectionPool(object, close=lambda c: None, name="names")
    written = {m.name for m in registry.collect()}
    assert written == set(METRIC_NAMES), written ^ set(METRIC_NAMES)
    assert b"poolkit_task_cpu_seconds_bucket" in generate_latest(registry)
    pool.close()


def test_the_exporter_observes_the_recorders_profile_and_unregisters() -> None:
    registry = CollectorRegistry()
    recorder = types.SimpleNamespace(pool=None, pool_name="custom.Pool", concurrency=4,
                                     profile=Profile())  # fmt: skip
    exporter = Exporter(recorder, StepOptions(metrics=True), registry)
    exporter.attach(recorder)
    assert recorder.profile.observers == [exporter.tasks]
    assert registry.get_sample_value("poolkit_worker_concurrency", {"pool": "custom.Pool"}) == 4
    exporter.start()  # no port: nothing served
    assert exporter.server is None
    exporter.stop()
    assert registry.get_sample_value("poolkit_worker_concurrency", {"pool": "custom.Pool"}) is None


@pytest.mark.parametrize("value", ["http", -1, 70000, True])
def test_a_bad_port_names_the_setting(value: object) -> None:
    with pytest.raises(ValueError, match="poolkit_metrics_port must be a port number"):
        resolve_options({"poolkit_metrics_port": value}, {}, {}, {})


def test_port_and_address_from_the_command_line_and_configuration() -> None:
    opts = resolve_options({"poolkit_metrics_address": "127.0.0.1"},
                           {"poolkit_metrics_port": "9808"}, {}, {})  # fmt: skip
    assert (opts.metrics_port, opts.metrics_address, opts.metrics) == (9808, "127.0.0.1", False)


def test_without_prometheus_client_the_worker_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    monkeypatch.delitem(sys.modules, "celery_poolkit.worker.metrics")
    recorder = types.SimpleNamespace(profile=Profile())
    with caplog.at_level(logging.ERROR, logger="celery_poolkit"):
        assert bootstep._metrics_exporter(recorder, StepOptions(metrics_port=9808)) is None
    assert "pip install 'celery-poolkit[metrics]'" in caplog.text
    assert recorder.profile.observers == []
    assert bootstep._metrics_exporter(recorder, StepOptions()) is None


def test_every_worker_option_is_documented() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"
    text = (docs / "bootstep.rst").read_text() + (docs / "metrics.rst").read_text()
    for option in bootstep.WORKER_OPTIONS:
        flag = option.opts[0]
        assert f"``{flag}" in text, flag
        assert f"``{option.name}``" in text, option.name
