"""Tasks that exercise psycopg2 (new connection or pooled), psycopg 3 and SQLAlchemy."""

from __future__ import annotations

import os
from dataclasses import asdict
from functools import cache, partial
from typing import Any

import gevent
import psycopg2
import psycopg2.extensions
import redis

from celery_poolkit.greendb.connection_pool import ConnectionPool, ConnectionPoolTimeout
from celery_poolkit.greendb.pg_connection_pool import pg_pool
from pgapp.celery import app

DSN = os.environ.get("GREENDB_DSN", "")
POOL_SIZE = int(os.environ.get("GREENDB_POOL_SIZE", "10"))
POOL_TIMEOUT = float(os.environ.get("GREENDB_POOL_TIMEOUT", "30"))


@cache
def pool() -> ConnectionPool[Any]:
    # Built on first use, in the worker, after patching: its locks are gevent's.
    return pg_pool(
        partial(psycopg2.connect, DSN), max_size=POOL_SIZE, timeout=POOL_TIMEOUT, name="pgapp"
    )


@cache
def counter() -> redis.Redis:
    return redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])


@app.task
def wait_callback() -> str:
    callback = psycopg2.extensions.get_wait_callback()
    return f"{callback.__module__}.{callback.__qualname__}" if callback else "None"


@app.task
def query(seconds: float) -> float:
    """A new connection per task (no pool), one ``pg_sleep``."""
    conn = psycopg2.connect(DSN)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(%s)", (seconds,))
        return seconds
    finally:
        conn.close()


#: Idle kept connections. A task takes one (or opens one) and puts it back, so at -c 50
#: the worker keeps at most one per greenlet that ran at the same time, each reused.
#: Celery's gevent pool spawns a new greenlet per task, so a greenlet-local connection
#: would not outlive its task. pop() and append() never yield to another greenlet.
_kept: list[Any] = []


@app.task
def kept_query(seconds: float) -> float:
    """A kept connection (autocommit), one ``pg_sleep``: the steady state of a worker that
    reuses its connections, where the wait callback runs but no connect does."""
    if _kept:
        conn = _kept.pop()
    else:
        conn = psycopg2.connect(DSN)
        conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(%s)", (seconds,))
    except BaseException:
        conn.close()
        raise
    _kept.append(conn)
    return seconds


@app.task
def interrupted_query(how: str, seconds: float = 30.0) -> str:
    """Start a long query and interrupt it: ``timeout`` (gevent.Timeout) or ``kill``
    (GreenletExit in a child greenlet). Returns the exception class name."""
    conn = psycopg2.connect(DSN)

    def run() -> None:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(%s)", (seconds,))

    try:
        if how == "timeout":
            try:
                with gevent.Timeout(0.3):
                    run()
            except gevent.Timeout as exc:
                return type(exc).__name__
            return "finished"
        child = gevent.spawn(run)
        gevent.sleep(0.3)
        child.kill()
        # A killed greenlet ends "successfully", with the GreenletExit as its value.
        return type(child.exception or child.value).__name__
    finally:
        conn.close()


@app.task(time_limit=0.5)
def limited_query(seconds: float = 30.0) -> None:
    """Celery's hard time limit under gevent is a gevent.Timeout in the task's greenlet."""
    query(seconds)


@app.task
def pooled_query(seconds: float, interrupt_after: float | None = None) -> str:
    """A pooled connection. ``interrupt_after`` wraps checkout *and* query in a
    gevent.Timeout, so it can fire while waiting for the pool or mid-query."""
    try:
        with gevent.Timeout(interrupt_after), pool().connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(%s)", (seconds,))
    except gevent.Timeout:
        return "timeout"
    return "ok"


@app.task(ignore_result=True)
def counted_pooled_query(seconds: float, interrupt_after: float | None, key: str) -> None:
    outcome = pooled_query(seconds, interrupt_after)
    counter().hincrby(key, outcome, 1)


@app.task(
    acks_late=True,
    autoretry_for=(psycopg2.OperationalError, psycopg2.InterfaceError, ConnectionPoolTimeout),
    retry_backoff=0.2,
    retry_backoff_max=1,
    retry_jitter=False,
    max_retries=50,
)
def resilient_query(n: int) -> int:
    """Survives a server restart: a broken connection raises, the task retries."""
    with pool().connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT %s::int FROM pg_sleep(0.02)", (n,))
        (value,) = cur.fetchone()
        conn.commit()
        return int(value)


@app.task
def pool_stats() -> dict[str, Any]:
    return asdict(pool().stats())


@app.task
def psycopg3_report() -> dict[str, Any]:
    from celery_poolkit.greendb import psycopg as green_psycopg

    return asdict(green_psycopg.install("gevent"))


@app.task
def psycopg3_interrupted(seconds: float = 30.0) -> dict[str, Any]:
    """psycopg 3: a gevent.Timeout mid-query; with poolkit's install the query is
    cancelled and the connection stays usable."""
    import psycopg

    from celery_poolkit.greendb import psycopg as green_psycopg

    green_psycopg.install("gevent")
    with psycopg.connect(DSN, autocommit=True) as conn:
        try:
            with gevent.Timeout(0.3):
                conn.execute("SELECT pg_sleep(%s)", (seconds,))
        except gevent.Timeout:
            pass
        row = conn.execute("SELECT 1").fetchone()
        return {"usable": row == (1,), "status": int(conn.info.transaction_status)}


@cache
def engine() -> Any:
    import sqlalchemy

    url = sqlalchemy.engine.make_url(os.environ["GREENDB_SQLALCHEMY_URL"])
    return sqlalchemy.create_engine(url, pool_size=5, max_overflow=0, pool_timeout=10)


@app.task
def sqlalchemy_interrupted(seconds: float = 30.0) -> dict[str, Any]:
    import sqlalchemy
    from sqlalchemy.orm import Session

    from celery_poolkit.greendb.sqlalchemy import engine_is_green, invalidate_on_interrupt

    outcome = "finished"
    try:
        with invalidate_on_interrupt(Session(engine())) as session, gevent.Timeout(0.3):
            session.execute(sqlalchemy.text("SELECT pg_sleep(:s)"), {"s": seconds})
    except gevent.Timeout:
        outcome = "timeout"
    with Session(engine()) as session:
        value = session.execute(sqlalchemy.text("SELECT 1")).scalar()
    return {
        "outcome": outcome,
        "green": engine_is_green(engine()),
        "next_query": value,
        "checked_out": engine().pool.checkedout(),
    }
