"""Real workers of the example project, launched with ``celery -A shop worker …``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
from celery import Celery

from harness.servers import PostgresServer
from harness.tasks import run_task, run_tasks
from harness.workers import WorkerProcess


@pytest.fixture
def client(redis_url: str) -> Iterator[Celery]:
    """A bare Celery client: the test process never imports the example's code."""
    app = Celery("client", broker=redis_url, backend=redis_url)
    yield app
    app.close()


def _base_env(tmp_path: Path) -> dict[str, str]:
    return {"SHOP_DATA_DIR": str(tmp_path / "shop-data")}


def test_threads_worker_runs_tasks_over_redis(
    worker_factory: Callable[..., WorkerProcess],
    client: Celery,
    redis_url: str,
    tmp_path: Path,
) -> None:
    worker = worker_factory(
        ["celery", "-A", "shop", "worker", "-P", "threads", "-c", "4", "-Q", "default",
         "-n", "threads@%h", "--without-gossip", "--without-mingle"],
        env={**_base_env(tmp_path), "CELERY_BROKER_URL": redis_url},
    )  # fmt: skip
    assert run_task(client, "shop.tasks.maintenance.ping", queue="default") == "pong"
    info = run_task(client, "shop.tasks.maintenance.pause", 0.05, queue="default")
    assert info["pid"] == worker.pid
    assert info["socket_patched"] is False
    assert "Task shop.tasks.maintenance.ping[" in worker.output()


def test_gevent_worker_with_celery_early_patching(
    worker_factory: Callable[..., WorkerProcess],
    client: Celery,
    redis_url: str,
    tmp_path: Path,
) -> None:
    """`-P gevent` (space-separated) is the one spelling Celery patches early."""
    worker_factory(
        ["celery", "-A", "shop", "worker", "-P", "gevent", "-c", "20", "-Q", "default",
         "-n", "gevent@%h", "--without-gossip", "--without-mingle"],
        env={**_base_env(tmp_path), "CELERY_BROKER_URL": redis_url},
    )  # fmt: skip
    started = time.monotonic()
    infos = run_tasks(client, "shop.tasks.maintenance.pause", [(0.2,)] * 20, queue="default")
    elapsed = time.monotonic() - started
    assert all(info["socket_patched"] for info in infos)
    # 20 sleeps of 0.2 s at -c 20 overlap; run serially they would take at least their
    # sum. The ratio holds on a busy machine, where a wall-time bound would not.
    slept = sum(float(str(info["slept"])) for info in infos)
    assert slept / elapsed > 2, (slept, elapsed)


def test_db_task_queries_real_postgres(
    worker_factory: Callable[..., WorkerProcess],
    client: Celery,
    redis_url: str,
    postgres_db: PostgresServer,
    tmp_path: Path,
) -> None:
    worker_factory(
        ["celery", "-A", "shop", "worker", "-P", "threads", "-c", "4", "-Q", "db",
         "-n", "db@%h", "--without-gossip", "--without-mingle"],
        env={**_base_env(tmp_path), "CELERY_BROKER_URL": redis_url,
             "SHOP_DATABASE_URL": postgres_db.url},
    )  # fmt: skip
    assert run_tasks(client, "shop.tasks.reports.slow_query", [(0.1,)] * 4, queue="db") == [0.1] * 4
    # The example closes its connections after every unit of work.
    with psycopg2.connect(postgres_db.dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'shop'")
        assert cur.fetchone() == (0,)


def test_example_runs_with_no_server_installed(
    worker_factory: Callable[..., WorkerProcess],
    example_root: Path,
    tmp_path: Path,
) -> None:
    """The default broker is kombu's filesystem transport: no Redis, no RabbitMQ."""
    env = _base_env(tmp_path)
    worker_factory(
        ["celery", "-A", "shop", "worker", "-P", "threads", "-c", "2", "-Q", "default",
         "-n", "fs@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env,
    )  # fmt: skip
    code = "from shop.tasks.maintenance import ping; print(ping.delay().get(timeout=20))"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=example_root, env={**_clean_env(), **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "pong"


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}


def test_gevent_c50_on_redis_keeps_every_ack(
    worker_factory: Callable[..., WorkerProcess],
    client: Celery,
    redis_url: str,
    tmp_path: Path,
) -> None:
    """kombu's Redis pool holds 10 connections by default; with acks_late, 50 greenlets
    acking at once overflow it (MaxConnectionsError, lost acks and results). The example
    sizes the pool; this is the README's recommended command for its IO queues."""
    worker = worker_factory(
        ["celery", "-A", "shop", "worker", "-P", "gevent", "-c", "50", "-Q", "default",
         "-n", "gevent50@%h", "--without-gossip", "--without-mingle"],
        env={**_base_env(tmp_path), "CELERY_BROKER_URL": redis_url},
    )  # fmt: skip
    infos = run_tasks(client, "shop.tasks.maintenance.pause", [(0.2,)] * 200, queue="default",
                      timeout=60)  # fmt: skip
    assert len(infos) == 200
    assert "MaxConnectionsError" not in worker.output()
