"""kombu: Celery's messaging library, used directly to publish or consume messages.

**Knows:** ``kombu.Connection`` (lazy; ``connect``, ``ensure_connection``,
``drain_events``, ``channel`` do IO), ``Producer.publish`` and
``Connection.Producer()``, ``Consumer``, ``SimpleQueue.put`` / ``get``, and
``Connection.ensure`` wrapper calls.

**Under gevent:** safe after patching with the pure-Python transports (py-amqp, redis-py,
SQS over boto3). Publishing is ``BROKER_IO``: the same broker Celery uses, so the
broker connection pool (``broker_pool_limit``) is the bottleneck under many greenlets.

**Fix:** reuse Celery's pool (``app.pool.acquire()`` / ``app.producer_or_acquire()``)
instead of a new ``Connection`` per task; raise ``broker_pool_limit`` on gevent.

**Sources:** kombu docs (Connection, Producer, Simple interface); Celery docs
("broker_pool_limit"); green-runtime.md §7 (Celery under gevent).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_CONN = "kombu.Connection"
_B = Effect.BROKER_IO

PLUGIN = Plugin(
    name="kombu",
    modules=("kombu",),
    distributions=("kombu",),
    summary="Messaging through the broker: broker IO, cooperative after patching.",
    calls=(
        ctor(_CONN, _CONN, "lazy: connects on first use"),
        ctor("kombu.connection.Connection", _CONN),
        *each(
            _CONN,
            ("connect", "ensure_connection", "drain_events", "channel", "default_channel"),
            _B,
        ),
        ctor(f"{_CONN}.Producer", "kombu.Producer"),
        ctor(f"{_CONN}.Consumer", "kombu.Consumer"),
        ctor(f"{_CONN}.SimpleQueue", "kombu.simple.SimpleQueue"),
        ctor("kombu.Producer", "kombu.Producer"),
        Call("kombu.Producer.publish", _B),
        ctor("kombu.Consumer", "kombu.Consumer"),
        Call("kombu.Consumer.consume", _B),
        *each("kombu.simple.SimpleQueue", ("put", "get", "get_nowait", "clear"), _B),
    ),
)
