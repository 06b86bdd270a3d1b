"""The benchmark's cell runner on real workers, Redis and PostgreSQL.

These check the measuring machinery against physics rather than against expected
numbers: no configuration may beat its theoretical limit, a pool that runs tasks side by
side must beat one that runs them in turn, and a gevent worker's psycopg2 throughput must
match the wait callback the worker reports.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from poolbench.cell import Cell, Plan
from poolbench.guard import Guard
from poolbench.results import CellResult
from poolbench.spec import WORKLOADS, PoolConfig

from harness.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.integration

APP_ROOT = Path(__file__).resolve().parents[2] / "benchmarks" / "pools" / "app"
TINY = Plan(repeats=2, batch_seconds=0.5, min_tasks=10, max_tasks=100, warmup_seconds=0.2,
            quiet_wait=0.0, attempts=1, batch_timeout=60.0)  # fmt: skip
BY_NAME = {w.name: w for w in WORKLOADS}


def run_cell(
    config: PoolConfig, workload: str, redis_srv: RedisServer, pg: PostgresServer, tmp: Path
) -> CellResult:
    url = redis_srv.url_for(14)
    cell = Cell(
        config, BY_NAME[workload], app_root=APP_ROOT,
        env={"BENCH_BROKER_URL": url, "BENCH_REDIS_URL": url, "DATABASE_DSN": pg.dsn,
             "PYTHONPATH": str(APP_ROOT)},
        redis_url=url, pg_dsn=pg.dsn, task_args={}, plan=TINY, guard=Guard(),
        log_dir=tmp / "logs", cores=len(os.sched_getaffinity(0)),
        patience_until=time.monotonic() + 60,
    )  # fmt: skip
    result = cell.run()
    assert result.status == "ok", result.reason
    return result


def test_threads_overlap_sleeps_and_stay_under_the_limit(
    redis_srv: RedisServer, postgres_srv: PostgresServer, tmp_path: Path
) -> None:
    threads = run_cell(PoolConfig("threads", "threads", 10), "sleep", redis_srv, postgres_srv,
                       tmp_path)  # fmt: skip
    assert threads.worker["pool_class"].startswith("celery.concurrency.thread.")
    assert threads.limit == pytest.approx(200.0)
    rate = threads.as_dict()["tasks_per_s"]
    # One at a time would be 20/s; ten slots must do clearly better, and never beat 200/s.
    assert 60.0 < rate <= 200.0 * 1.05, rate
    assert all(b.n >= TINY.min_tasks and b.used for b in threads.batches)
    assert threads.peaks is not None
    assert threads.peaks.rss_mib > 10


def test_solo_runs_one_task_at_a_time(
    redis_srv: RedisServer, postgres_srv: PostgresServer, tmp_path: Path
) -> None:
    solo = run_cell(PoolConfig("solo", "solo", 1), "sleep", redis_srv, postgres_srv, tmp_path)
    rate = solo.as_dict()["tasks_per_s"]
    assert 5.0 < rate <= 20.0 * 1.05, rate
    assert solo.as_dict()["median_task_ms"] >= 50.0


def test_plain_gevent_control_blocks_on_psycopg2(
    redis_srv: RedisServer, postgres_srv: PostgresServer, tmp_path: Path
) -> None:
    """The grid's plain gevent row (POOLKIT_DISABLE=1) has no psycopg2 wait callback, so
    libpq blocks the hub: one query at a time, on one connection, whatever -c says."""
    control = PoolConfig("gevent", "gevent", 10, poolkit_disabled=True)
    gevent = run_cell(control, "db_io", redis_srv, postgres_srv, tmp_path)
    facts, d = gevent.worker, gevent.as_dict()
    assert facts["socket_module"].startswith("gevent")
    assert facts["psycopg2_wait_callback"] is None
    assert d["env"] == {"POOLKIT_DISABLE": "1"}
    assert d["tasks_per_s"] <= 20.0 * 1.1, d
    assert d["peak_pg_connections"] == 1, d
