"""psycopg 3 and SQLAlchemy in a real gevent worker: interruptions leave nothing behind."""

from __future__ import annotations

from collections.abc import Callable

from celery import Celery

from harness.pgstat import wait_for_connections
from harness.servers import PostgresServer
from harness.tasks import run_task
from harness.workers import WorkerProcess

GeventWorker = Callable[..., tuple[WorkerProcess, str]]


def test_psycopg3_is_green_and_an_interrupted_query_is_cancelled(
    gevent_worker: GeventWorker, client: Celery, postgres_db: PostgresServer
) -> None:
    _, name = gevent_worker("pgapp", postgres_db)
    report = run_task(client, "pgapp.tasks.psycopg3_report")
    assert report["green"] is True, report
    assert report["wait_function"] != "wait_c", report
    assert report["cancels_on_interrupt"] is True, report
    out = run_task(client, "pgapp.tasks.psycopg3_interrupted", 60.0)
    # The connection survived the interruption (cancelled, not left ACTIVE) and was
    # closed by the task: nothing left on the server.
    assert out == {"usable": True, "status": 0}
    assert wait_for_connections(postgres_db.dsn, name, total=0, timeout=10) == (0, 0)


def test_sqlalchemy_session_is_invalidated_on_gevent_timeout(
    gevent_worker: GeventWorker, client: Celery, postgres_db: PostgresServer
) -> None:
    url = (
        f"postgresql+psycopg2://{postgres_db.user}@127.0.0.1:{postgres_db.port}/"
        f"{postgres_db.dbname}?application_name=greendb-sqlalchemy"
    )
    gevent_worker("pgapp", postgres_db, GREENDB_SQLALCHEMY_URL=url)
    out = run_task(client, "pgapp.tasks.sqlalchemy_interrupted", 60.0)
    assert out == {"outcome": "timeout", "green": True, "next_query": 1, "checked_out": 0}
    # The interrupted query was cancelled; the one idle pooled connection remains.
    total, active = wait_for_connections(
        postgres_db.dsn, "greendb-sqlalchemy", active=0, total=1, timeout=10
    )
    assert (total, active) == (1, 0)
