"""Django under ``-P gevent -c 50``: the pooled psycopg2 backend, and Django's own pool on
psycopg 3, both capped at the pool size, both returning connections when tasks end."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from celery import Celery

from harness.pgstat import ActivitySampler, wait_for_connections
from harness.servers import PostgresServer
from harness.tasks import run_task, run_tasks
from harness.workers import WorkerProcess

GeventWorker = Callable[..., tuple[WorkerProcess, str]]


@pytest.mark.parametrize(("engine", "driver"), [("poolkit", "psycopg2"), ("native", "psycopg")])
def test_fifty_greenlets_share_ten_connections(
    gevent_worker: GeventWorker,
    client: Celery,
    postgres_db: PostgresServer,
    engine: str,
    driver: str,
) -> None:
    worker, name = gevent_worker(
        "djapp", postgres_db, DJAPP_ENGINE=engine, GREENDB_POOL_SIZE="10",
        GREENDB_POOL_TIMEOUT="30",
    )  # fmt: skip
    with ActivitySampler(postgres_db.dsn, name) as sampler:
        started = time.monotonic()
        results = run_tasks(client, "djapp.tasks.query", [(0.05,)] * 400, timeout=120)
        elapsed = time.monotonic() - started
    assert results == [0.05] * 400
    assert sampler.peak <= 10, sampler.peak
    # Queries overlapped: PostgreSQL saw at least five running at once (a count, which a
    # busy host cannot change). Wall time is not asserted: ~2 s quiet, but 15.8 s beside
    # two CPU burners on a loaded two-core machine (PostgreSQL waits for a CPU too),
    # close to the 20 s of one connection at a time.
    assert sampler.peak_active >= 5, sampler.peak_active
    print(f"400 x 0.05 s queries on 10 pooled connections ({engine}): {elapsed:.2f}s")

    info = run_task(client, "djapp.tasks.backend_info")
    assert info["driver"] == driver
    if engine == "poolkit":
        assert info["vendor_module"] == "celery_poolkit.plugins.django.backends.postgresql.base"
        stats = info["stats"]
        assert stats["in_use"] == 0, stats  # every task gave its connection back
        assert stats["created"] <= 10, stats
        assert info["release_connected"] is True  # connected when the pool was built
    else:
        # psycopg 3 was imported after Celery's monkey patching: green wait function.
        assert info["psycopg3"]["green"] is True, info["psycopg3"]

    worker.stop()
    assert wait_for_connections(postgres_db.dsn, name, total=0, timeout=15) == (0, 0)


def test_stock_django_opens_a_connection_per_greenlet(
    gevent_worker: GeventWorker, client: Celery, postgres_db: PostgresServer
) -> None:
    """The problem the pool solves, measured the same way (and proof the cap above is the
    pool's doing, not the workload's)."""
    _, name = gevent_worker("djapp", postgres_db, DJAPP_ENGINE="stock")
    with ActivitySampler(postgres_db.dsn, name) as sampler:
        run_tasks(client, "djapp.tasks.query", [(0.2,)] * 100, timeout=120)
    assert sampler.peak > 10, sampler.peak


def test_a_connection_left_open_by_a_dead_greenlet_is_reclaimed(
    gevent_worker: GeventWorker, client: Celery, postgres_db: PostgresServer
) -> None:
    gevent_worker("djapp", postgres_db, DJAPP_ENGINE="poolkit", GREENDB_POOL_SIZE="2")
    for _ in range(3):  # more orphans than the pool has slots: a leak would exhaust it
        stats = run_task(client, "djapp.tasks.orphaned_connection")
        assert stats["in_use"] == 0, stats
    assert stats["discarded"] == 3, stats
