"""contrib/grafana/celery-poolkit.json: its queries name only series the exporter writes,
and it has the panels a team needs. (tests/worker/integration/test_metrics_prometheus.py
runs every query on a real Prometheus.)"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry

from celery_poolkit.greendb.connection_pool import ConnectionPool
from celery_poolkit.worker.metrics import TaskMetrics, WorkerCollector, register
from celery_poolkit.worker.profile import Block, Profile
from harness.dashboard import dashboard, queries

# A PromQL identifier naming one of poolkit's series.
_NAME = re.compile(r"\b(poolkit_[a-zA-Z0-9_]*)\b")


def exported_series() -> set[str]:
    """The sample names a worker's exporter writes, with every kind of data recorded."""
    profile, tasks, registry = Profile(), TaskMetrics(), CollectorRegistry()
    profile.observers.append(tasks)
    register(registry, WorkerCollector(tasks, profile, "gevent", 10))
    profile.add("t", wall=0.1, cpu=0.1, failed=True)
    profile.add_block(Block("t", "id", "g", 0.2, (), 0.0))
    pool: ConnectionPool[object] = ConnectionPool(object, close=lambda c: None, name="d")
    names = {s.name for m in registry.collect() for s in m.samples}
    pool.close()
    return names


def test_every_metric_a_query_names_is_exported() -> None:
    exported = exported_series()
    named = {name for q in queries(dashboard()) for name in _NAME.findall(q)}
    assert len(named) >= 12, named
    assert named <= exported, sorted(named - exported)


def test_the_panels_a_team_needs() -> None:
    board = dashboard()
    titles = {p["title"] for p in board["panels"]}
    for needed in ("CPU share by task", "Hub blocks by task", "Connection pool saturation",
                   "Tasks on the wrong pool", "Time-limit hits by task",
                   "Worker recycles by reason"):  # fmt: skip
        assert needed in titles, titles
    wrong = next(p for p in board["panels"] if p["title"] == "Tasks on the wrong pool")
    assert 'pool=~"gevent|eventlet|threads"' in wrong["targets"][0]["expr"]
    # Importable as is: the data source is chosen at import, every panel uses it.
    assert board["__inputs"][0]["pluginId"] == "prometheus"
    assert all(p["datasource"]["uid"] == "${datasource}" for p in board["panels"])
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
