"""A :class:`~celery_poolkit.greendb.connection_pool.ConnectionPool` of PostgreSQL connections.

The pool is driver-agnostic; this module supplies the PostgreSQL parts, written against
what psycopg2 (>= 2.8) and psycopg 3 connections have in common: ``closed``,
``info.transaction_status``, ``fileno()``, ``rollback()`` and ``close()``.
"""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import Any

from celery_poolkit.greendb.connection_pool import ConnectionPool

__all__ = ["check_idle", "pg_pool", "reset_for_reuse"]

# libpq's PGTransactionStatusType; psycopg2's TRANSACTION_STATUS_* and psycopg 3's
# pq.TransactionStatus carry the same numbers.
IDLE, ACTIVE, INTRANS, INERROR, UNKNOWN = range(5)


def check_idle(conn: Any) -> bool:
    """Cheap health check for an idle pooled connection: no round trip to the server.

    An idle connection has nothing to read. If its socket is readable, the server sent
    something unasked -- in practice the "terminating connection" notice and EOF of a
    restart or ``pg_terminate_backend`` -- so the connection is dead even though the
    driver does not know yet. (A connection that LISTENs could have a notification
    waiting; such connections do not belong in a shared pool.)
    """
    if conn.closed or conn.info.transaction_status != IDLE:
        return False
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    return not readable


def reset_for_reuse(conn: Any) -> None:
    """Roll back what the last user left open; raise (so the pool discards the
    connection) when it is closed or in a state a rollback cannot fix."""
    if conn.closed:
        raise ConnectionError("the connection is closed")
    status = conn.info.transaction_status
    if status in (INTRANS, INERROR):
        conn.rollback()
    elif status != IDLE:
        # ACTIVE: a query is still running (the user was interrupted mid-query);
        # UNKNOWN: the connection is broken.
        raise ConnectionError(f"the connection is not idle (transaction status {status})")


def _close(conn: Any) -> None:
    conn.close()


def pg_pool(
    connect: Callable[[], Any],
    *,
    max_size: int = 10,
    timeout: float = 30.0,
    name: str = "postgresql",
) -> ConnectionPool[Any]:
    """A pool of the connections ``connect()`` makes, e.g.
    ``pg_pool(functools.partial(psycopg2.connect, dsn), max_size=10)``."""
    return ConnectionPool(
        connect, close=_close, check=check_idle, reset=reset_for_reuse,
        max_size=max_size, timeout=timeout, name=name,
    )  # fmt: skip
