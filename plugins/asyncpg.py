"""asyncpg: the asyncio PostgreSQL driver (``connect``, ``create_pool``), awaited.

**Knows:** ``asyncpg.connect`` (a round trip: the connection handshake) and the
connection's ``execute`` / ``executemany`` / ``fetch`` / ``fetchrow`` / ``fetchval`` /
``copy_*`` / ``close``; ``asyncpg.create_pool`` and the pool's same methods and
``acquire``; ``transaction()`` builds a transaction (its ``start`` / ``commit`` are
round trips).

**Under gevent:** asyncpg speaks the protocol itself on the event loop's sockets, so it
waits cooperatively only inside the loop a sync task runs (``asyncio.run``); the loop
itself blocks the greenlet that runs it until the coroutine ends.

**Sources:** asyncpg API reference ("Connection", "Connection Pools", "Transactions").
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_CONN = "asyncpg.connection.Connection"
_POOL = "asyncpg.pool.Pool"
_TX = "asyncpg.transaction.Transaction"
_QUERIES = (
    "execute",
    "executemany",
    "fetch",
    "fetchrow",
    "fetchval",
    "copy_from_query",
    "copy_from_table",
    "copy_to_table",
    "copy_records_to_table",
    "close",
)
_NOTE = "a round trip to PostgreSQL, awaited"

PLUGIN = Plugin(
    name="asyncpg",
    modules=("asyncpg",),
    distributions=("asyncpg",),
    summary="PostgreSQL through asyncio: round trips awaited in an event loop.",
    calls=(
        Call("asyncpg.connect", Effect.DB_IO, Green.SAFE_AFTER_PATCH, returns=_CONN, note=_NOTE),
        *each(_CONN, _QUERIES, Effect.DB_IO, note=_NOTE),
        ctor(f"{_CONN}.transaction", _TX),
        *each(_TX, ("start", "commit", "rollback"), Effect.DB_IO, note=_NOTE),
        Call("asyncpg.create_pool", Effect.DB_IO, returns=_POOL, note=_NOTE),
        *each(_POOL, _QUERIES, Effect.DB_IO, note=_NOTE),
        Call(f"{_POOL}.acquire", Effect.DB_IO, Green.SAFE_AFTER_PATCH, returns=_CONN, note=_NOTE),
    ),
)
