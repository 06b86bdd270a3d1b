"""pika: a pure-Python AMQP 0-9-1 client (RabbitMQ), outside Celery's own broker use.

**Knows:** ``pika.BlockingConnection`` (connects on construction), ``channel()`` and the
``BlockingChannel`` operations (``basic_publish``, ``queue_declare``, ``basic_get``,
``start_consuming`` …).

**Under gevent:** safe after patching: ``BlockingConnection`` waits on ``select`` over
Python sockets. A connection is not thread-safe and must not be shared between
greenlets or threads (``THREAD_UNSAFE``): one connection per task or a pool.

**Fix:** for publishing to RabbitMQ from tasks, Celery's own kombu connection pool
(``app.producer_or_acquire()``) avoids a connection per task.

**Sources:** pika docs ("Is Pika thread safe?", BlockingConnection); green-runtime.md §6.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins.base import Plugin

_CONN = "pika.BlockingConnection"
_CHANNEL = "pika.adapters.blocking_connection.BlockingChannel"
_SHARED = frozenset({Hazard.THREAD_UNSAFE})

PLUGIN = Plugin(
    name="pika",
    modules=("pika",),
    distributions=("pika",),
    summary="Pure-Python AMQP client: cooperative after patching; not thread-safe.",
    calls=(
        Call(
            _CONN,
            Effect.NET_IO,
            Green.SAFE_AFTER_PATCH,
            _SHARED,
            _CONN,
            "connects on construction; never share a connection across threads/greenlets",
        ),
        Call(
            "pika.adapters.blocking_connection.BlockingConnection",
            Effect.NET_IO,
            returns=_CONN,
        ),
        Call(f"{_CONN}.channel", Effect.NET_IO, returns=_CHANNEL),
        Call(f"{_CONN}.*", Effect.NET_IO),
        Call(f"{_CHANNEL}.*", Effect.NET_IO),
    ),
)
