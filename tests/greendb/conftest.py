"""Green database tests: real PostgreSQL, Redis and ``celery -A <app> worker -P gevent``.

The tests in ``integration/`` start the apps of ``apps/`` from there, as users start theirs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery import Celery

from harness.servers import PostgresServer
from harness.workers import WorkerProcess

HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"


@pytest.fixture
def client(redis_url: str) -> Iterator[Celery]:
    """A bare Celery client: the test process never imports the apps' code."""
    app = Celery("client", broker=redis_url, backend=redis_url)
    app.conf.task_default_queue = "greendb"
    yield app
    app.close()


GeventWorker = Callable[..., tuple[WorkerProcess, str]]


@pytest.fixture
def gevent_worker(worker_factory: Callable[..., WorkerProcess], redis_url: str) -> GeventWorker:
    """``gevent_worker(app, db, concurrency=50, **env)`` -> (worker, application_name).

    The worker's connections carry a unique ``application_name``, so the server's
    ``pg_stat_activity`` shows exactly what this worker holds.
    """

    def start(
        app: str,
        db: PostgresServer,
        *,
        concurrency: int = 50,
        loglevel: str = "INFO",
        **env: str,
    ) -> tuple[WorkerProcess, str]:
        name = f"greendb-{uuid.uuid4().hex[:8]}"
        worker = worker_factory(
            ["celery", "-A", app, "worker", "-P", "gevent", "-c", str(concurrency),
             "-Q", "greendb", "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat", f"--loglevel={loglevel}"],
            cwd=APPS,
            env={"CELERY_BROKER_URL": redis_url,
                 "GREENDB_DSN": f"{db.dsn} application_name={name}", **env},
        )  # fmt: skip
        return worker, name

    return start
