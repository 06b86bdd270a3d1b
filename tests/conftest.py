"""Fixtures shared by the whole suite: real servers, real workers, the example project.

Servers are session-scoped (one Redis, one PostgreSQL per run); each test that needs
isolation takes a fresh Redis database number or PostgreSQL database from them.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from harness.servers import (
    PostgresServer,
    RabbitServer,
    RedisServer,
    postgres_server,
    rabbitmq_server,
    redis_server,
)
from harness.workers import WorkerProcess, start_worker

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
EXAMPLE_ROOT = REPO / "examples" / "shop"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests mirror the packages (tests/worker/ for celery_poolkit/worker/, ...); the ones
    that talk to real servers or workers sit in an ``integration/`` folder below them."""
    for item in items:
        path = Path(str(item.path)).resolve()
        if TESTS in path.parents and "integration" in path.relative_to(TESTS).parts[:-1]:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def redis_srv() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


_redis_db = itertools.count(1)


@pytest.fixture
def redis_url(redis_srv: RedisServer) -> str:
    """A Redis URL on a database (1-15, round robin) flushed for this test.

    Tests run one at a time, so the flush is all the isolation they need.
    """
    import redis

    db = next(_redis_db) % 15 + 1

    redis.Redis.from_url(redis_srv.url_for(db)).flushdb()
    return redis_srv.url_for(db)


@pytest.fixture(scope="session")
def rabbitmq_srv() -> Iterator[RabbitServer]:
    with rabbitmq_server() as server:
        yield server


_rabbit_vhost = itertools.count(0)


@pytest.fixture
def rabbitmq_url(rabbitmq_srv: RabbitServer) -> str:
    """An AMQP URL on a virtual host no other test has used (made empty at start)."""
    n = next(_rabbit_vhost)
    if n >= len(rabbitmq_srv.vhosts):
        pytest.fail(f"more RabbitMQ tests than virtual hosts ({len(rabbitmq_srv.vhosts)}): "
                    "raise rabbitmq_server(vhosts=...)")  # fmt: skip
    return rabbitmq_srv.url_for(rabbitmq_srv.vhosts[n])


#: The brokers a test taking ``broker_url`` runs on. Results always go to Redis.
BROKERS = ("redis", "rabbitmq")


@pytest.fixture(params=BROKERS)
def broker_url(request: pytest.FixtureRequest) -> str:
    """The test's broker: a fresh Redis database, then a fresh RabbitMQ virtual host."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture(scope="session")
def postgres_srv() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture
def postgres_db(postgres_srv: PostgresServer) -> Iterator[PostgresServer]:
    """A fresh, empty database on the session's server, dropped afterwards."""
    import psycopg2

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(postgres_srv.dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PostgresServer(
            port=postgres_srv.port, pid=postgres_srv.pid, workdir=postgres_srv.workdir, dbname=name
        )
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real worker processes; every one started here is stopped at teardown."""
    started: list[WorkerProcess] = []

    def start(
        argv: Sequence[str],
        *,
        cwd: str | os.PathLike[str] = EXAMPLE_ROOT,
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> WorkerProcess:
        log_dir = tmp_path / f"worker{len(started)}"
        log_dir.mkdir()
        worker = start_worker(argv, cwd=cwd, env=env, timeout=timeout, log_dir=log_dir)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def example_root() -> Path:
    return EXAMPLE_ROOT
