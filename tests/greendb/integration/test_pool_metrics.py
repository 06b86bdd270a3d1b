"""The connection pool's metrics, scraped by a real Prometheus from a gevent worker and a
prefork worker whose Django project uses poolkit's pooled backend (issue 14)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from celery import Celery

from harness.procs import free_port
from harness.prometheus import prometheus_server
from harness.servers import PostgresServer
from harness.tasks import run_task, run_tasks
from harness.workers import WorkerProcess

GeventWorker = Callable[..., tuple[WorkerProcess, str]]
POOL = "django:default"
APPS = Path(__file__).resolve().parents[1] / "apps"


def test_prometheus_sees_the_django_pool_fill_wait_and_discard(
    gevent_worker: GeventWorker, client: Celery, postgres_db: PostgresServer
) -> None:
    port = free_port()
    gevent_worker("djapp", postgres_db, DJAPP_ENGINE="poolkit", GREENDB_POOL_SIZE="3",
                  GREENDB_POOL_TIMEOUT="60", DJAPP_METRICS_PORT=str(port))  # fmt: skip
    with prometheus_server({"djapp": f"127.0.0.1:{port}"}) as prom:
        prom.wait_for("up", "job", lambda v: v == {"djapp": 1.0})
        # 30 queries of 0.5 s through 3 connections: at least 5 s of a full pool and a
        # queue of greenlets, over several 1 s scrapes.
        assert run_tasks(client, "djapp.tasks.query", [(0.5,)] * 30, timeout=120) == [0.5] * 30
        run_task(client, "djapp.tasks.orphaned_connection")

        def pool(promql: str) -> float:
            return prom.values(promql, "connection_pool").get(POOL, -1.0)

        prom.wait_for("poolkit_connection_pool_discarded_total", "connection_pool",
                      lambda v: v.get(POOL) == 1.0)  # fmt: skip
        assert pool("poolkit_connection_pool_max_size") == 3
        assert pool("max_over_time(poolkit_connection_pool_in_use[5m])") == 3
        assert pool("max_over_time(poolkit_connection_pool_size[5m])") == 3
        assert pool("max_over_time(poolkit_connection_pool_waiting[5m])") >= 5
        assert pool("poolkit_connection_pool_in_use") == 0  # every task gave its back
        assert pool("poolkit_connection_pool_checkout_timeouts_total") == 0
        saturation = prom.values(
            "max_over_time((poolkit_connection_pool_in_use"
            " / poolkit_connection_pool_max_size)[5m:1s])", "connection_pool")  # fmt: skip
        assert saturation[POOL] == 1.0


def test_prefork_childrens_pools_reach_prometheus_and_leave_with_them(
    worker_factory: Callable[..., WorkerProcess], redis_url: str, client: Celery,
    postgres_db: PostgresServer,
) -> None:  # fmt: skip
    # Each child has its own pool; nothing to set up. Every child is replaced after one
    # task (--max-tasks-per-child 1), and the new ones never query: the gone children's
    # gauges must leave, the recycles be counted.
    port = free_port()
    worker_factory(
        ["celery", "-A", "djapp", "worker", "-P", "prefork", "-c", "2", "-Q", "greendb",
         "--max-tasks-per-child", "1", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "--loglevel=INFO"],
        cwd=APPS,
        env={"CELERY_BROKER_URL": redis_url, "GREENDB_DSN": postgres_db.dsn,
             "DJAPP_ENGINE": "poolkit", "GREENDB_POOL_SIZE": "3",
             "DJAPP_METRICS_PORT": str(port)},
    )  # fmt: skip
    with prometheus_server({"djapp": f"127.0.0.1:{port}"}) as prom:
        prom.wait_for("up", "job", lambda v: v == {"djapp": 1.0})
        # Two queries at once, one per child, each long enough for several reports.
        assert run_tasks(client, "djapp.tasks.query", [(6.0,)] * 2, timeout=120) == [6.0] * 2

        def pool(promql: str) -> float:
            return prom.values(promql, "connection_pool").get(POOL, -1.0)

        # Both children's pools at once, summed: 2 x max_size 3, one connection each.
        prom.wait_for("max_over_time(poolkit_connection_pool_max_size[5m])",
                      "connection_pool", lambda v: v.get(POOL) == 6)  # fmt: skip
        assert pool("max_over_time(poolkit_connection_pool_in_use[5m])") == 2
        assert pool("max_over_time(poolkit_connection_pool_size[5m])") == 2
        # Both children exited (EX_RECYCLE) and said so; their pools left with them.
        prom.wait_for('poolkit_worker_recycles_total{reason="tasks"}', "reason",
                      lambda v: v == {"tasks": 2.0})  # fmt: skip
        prom.wait_for("poolkit_connection_pool_max_size", "connection_pool",
                      lambda v: v.get(POOL, 0.0) == 0)  # fmt: skip
        assert pool("poolkit_connection_pool_in_use") in (0.0, -1.0)
        assert pool("poolkit_connection_pool_checkout_timeouts_total") in (0.0, -1.0)
