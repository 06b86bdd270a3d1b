"""Database access for tasks: plain psycopg2, one short-lived connection per unit of work."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg2

from shop import settings


@contextlib.contextmanager
def connection() -> Iterator[Any]:
    conn = psycopg2.connect(settings.DATABASE_URL, connect_timeout=10, application_name="shop")
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def fetch_all(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with connection() as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())
