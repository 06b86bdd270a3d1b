"""Slow PostgreSQL queries through psycopg2: the worker mostly waits on libpq."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

import psycopg2
from celery import shared_task

DATABASE_DSN = os.environ.get("DATABASE_DSN", "host=127.0.0.1 dbname=postgres user=postgres")

# Connections are reused across tasks: a task takes an idle one or opens a new one, and
# gives it back afterwards. A process so never holds more connections than tasks it runs
# at once, whatever the pool (a greenlet per task would otherwise mean a connection per
# task).
_idle: list[Any] = []
_lock = threading.Lock()


@contextlib.contextmanager
def connection() -> Iterator[Any]:
    with _lock:
        conn = _idle.pop() if _idle else None
    if conn is None:
        conn = psycopg2.connect(DATABASE_DSN, application_name="benchapp")
        conn.autocommit = True
    try:
        yield conn
    except BaseException:
        conn.close()
        raise
    with _lock:
        _idle.append(conn)


@shared_task(queue="db_io")
def monthly_report(seconds: float) -> int:
    with connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_sleep(%s), 1", (seconds,))
        row = cur.fetchone()
    return int(row[1])
