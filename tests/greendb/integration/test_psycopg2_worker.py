"""psycopg2 with celery-poolkit's wait callback, in real gevent workers."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from celery import Celery
from celery.exceptions import TimeLimitExceeded

from harness.pgstat import ActivitySampler, wait_for_connections
from harness.pyjson import run_json
from harness.servers import PostgresServer
from harness.tasks import run_task, run_tasks
from harness.workers import WorkerProcess

APPS = Path(__file__).resolve().parents[1] / "apps"
GeventWorker = Callable[..., tuple[WorkerProcess, str]]


def test_in_process_behaviour(postgres_db: PostgresServer) -> None:
    out = run_json(str(APPS / "probe_psycopg2.py"), postgres_db.dsn)
    assert out["installed"] is True
    assert "connect_timeout=2s" in out["connect_timeout"], out
    # libpq alone would wait forever here (no connect_timeout in non-blocking mode).
    assert 1.5 < out["connect_seconds"] < 20, out
    # The hub kept running while the connect waited: ~40 ticks in 2 s, allow a busy box.
    assert out["ticks_during_connect"] >= 10, out
    assert out["dsn_hostaddr"] in ("127.0.0.1", "::1"), out
    assert out["bad_host"].startswith('could not translate host name "no-such-host.invalid"')
    for key in ("copy", "lobject"):
        name, message = out[key]
        assert name == "GreenModeUnsupported"
        assert "cannot run on a green psycopg2 connection" in message
        assert "psycopg 3" in message
    assert out["after_uninstall"] == [False, "psycopg2"]


def test_queries_overlap_with_poolkit_callback(
    gevent_worker: GeventWorker, client: Celery, postgres_db: PostgresServer
) -> None:
    _, name = gevent_worker("pgapp", postgres_db, GREENDB_MODE="poolkit")
    callback = run_task(client, "pgapp.tasks.wait_callback")
    assert callback == "celery_poolkit.greendb.psycopg2.green_wait_callback"
    with ActivitySampler(postgres_db.dsn, name) as sampler:
        started = time.monotonic()
        results = run_tasks(client, "pgapp.tasks.query", [(0.5,)] * 50, timeout=60)
        elapsed = time.monotonic() - started
    assert results == [0.5] * 50
    # One at a time (a blocked hub) would take 25 s; overlapped it takes ~0.5-2 s.
    assert elapsed < 12, elapsed
    assert sampler.peak >= 10, sampler.peak


@pytest.mark.parametrize("how", ["timeout", "kill"])
def test_interrupted_query_is_cancelled_on_the_server(
    gevent_worker: GeventWorker, client: Celery, postgres_db: PostgresServer, how: str
) -> None:
    _, name = gevent_worker("pgapp", postgres_db, GREENDB_MODE="poolkit")
    outcome = run_task(client, "pgapp.tasks.interrupted_query", how, 60.0)
    assert outcome == {"timeout": "Timeout", "kill": "GreenletExit"}[how]
    total, active = wait_for_connections(postgres_db.dsn, name, total=0, timeout=10)
    assert (total, active) == (0, 0)


def test_hard_time_limit_cancels_the_query(
    gevent_worker: GeventWorker, client: Celery, postgres_db: PostgresServer
) -> None:
    """Celery's gevent pool enforces time_limit with a gevent.Timeout in the task."""
    _, name = gevent_worker("pgapp", postgres_db, GREENDB_MODE="poolkit")
    with pytest.raises(TimeLimitExceeded):
        run_task(client, "pgapp.tasks.limited_query", 60.0)
    assert wait_for_connections(postgres_db.dsn, name, total=0, timeout=10) == (0, 0)


def test_psycogreen_alone_leaves_the_query_running(
    gevent_worker: GeventWorker, client: Celery, postgres_db: PostgresServer
) -> None:
    """The contrast that shows the test above can fail: psycogreen closes the socket but
    sends no cancel, so the server keeps sleeping."""
    _, name = gevent_worker("pgapp", postgres_db, GREENDB_MODE="psycogreen", POOLKIT_DISABLE="1")
    assert run_task(client, "pgapp.tasks.interrupted_query", "timeout", 20.0) == "Timeout"
    time.sleep(1.0)
    assert wait_for_connections(postgres_db.dsn, name, active=0, timeout=2) == (1, 1)
