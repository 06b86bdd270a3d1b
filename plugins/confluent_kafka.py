"""confluent-kafka: librdkafka (C); its waits block the gevent hub.

**Knows:** ``Producer`` (``produce`` only enqueues; ``poll(timeout)``, ``flush()``,
``list_topics`` and the transaction calls wait in librdkafka), ``Consumer`` (``poll``,
``consume``, ``commit``, ``close`` wait; ``subscribe`` / ``assign`` do not),
``SerializingProducer`` / ``DeserializingConsumer``.

**Under gevent:** librdkafka runs its own native threads for the network, and the
Python calls that wait for them (``flush``, ``poll(timeout)``, ``consume``, synchronous
``commit``) wait in C: they release the GIL, but under gevent there is only one OS
thread, so the hub stalls for the whole timeout. Its DNS lookups are also outside gevent.

**Fix:** call ``producer.poll(0)`` after ``produce`` (never ``flush()`` per message) and
flush once at shutdown; run unavoidable waits in ``gevent.get_hub().threadpool``; or put
Kafka tasks on a threads/prefork queue. The pure-Python kafka-python is cooperative.

**Sources:** confluent-kafka-python #612 (wontfix: use ``poll(0)``), #412, #100;
green-runtime.md §6.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_P = "confluent_kafka.Producer"
_C = "confluent_kafka.Consumer"
_WAIT = "waits in librdkafka (C): the gevent hub stalls for the whole timeout"

PLUGIN = Plugin(
    name="confluent_kafka",
    modules=("confluent_kafka",),
    distributions=("confluent-kafka",),
    summary="librdkafka binding: flush/poll/consume block the gevent hub.",
    calls=(
        ctor(_P, _P),
        ctor("confluent_kafka.SerializingProducer", _P),
        Call(
            f"{_P}.produce",
            Effect.NET_IO,
            Green.SAFE,
            note="enqueues for librdkafka's own threads and returns; raises BufferError "
            "when the queue is full",
        ),
        Call(
            f"{_P}.*",
            Effect.NET_IO,
            Green.BLOCKS_HUB,
            note=f"{_WAIT} (poll, flush, list_topics, transactions)",
        ),
        ctor(_C, _C),
        ctor("confluent_kafka.DeserializingConsumer", _C),
        Call(f"{_C}.*", Effect.NET_IO, Green.BLOCKS_HUB, note=_WAIT),
        *each(
            _C,
            ("subscribe", "assign", "unsubscribe", "unassign"),
            None,
            Green.SAFE,
            note="takes effect asynchronously, in the next poll()",
        ),
    ),
)
