"""kafka-python: a pure-Python Kafka client; cooperative once gevent has patched.

**Knows:** ``KafkaProducer`` (bootstraps on construction; ``send`` may block on metadata
or a full buffer, ``flush`` waits for acks), ``KafkaConsumer`` (``poll``, ``commit``,
iteration …), ``KafkaAdminClient``.

**Under gevent:** safe after patching: sockets, selectors and the producer's sender
thread all become gevent's.

**Fix:** create one producer per worker process (after fork) and ``flush()`` at the
end of a batch rather than per message.

**Sources:** kafka-python docs (KafkaProducer, KafkaConsumer); kafka-python #1867;
green-runtime.md §6 (confluent-kafka row).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins.base import Plugin

_BOOT = "connects to the bootstrap servers on construction"

PLUGIN = Plugin(
    name="kafka_python",
    modules=("kafka",),
    distributions=("kafka-python", "kafka-python-ng"),
    summary="Pure-Python Kafka client: cooperative after patching.",
    calls=(
        Call("kafka.KafkaProducer", Effect.NET_IO, returns="kafka.KafkaProducer", note=_BOOT),
        Call("kafka.KafkaProducer.*", Effect.NET_IO),
        Call("kafka.KafkaConsumer", Effect.NET_IO, returns="kafka.KafkaConsumer", note=_BOOT),
        Call("kafka.KafkaConsumer.*", Effect.NET_IO),
        Call(
            "kafka.KafkaAdminClient",
            Effect.NET_IO,
            returns="kafka.KafkaAdminClient",
            note=_BOOT,
        ),
        Call("kafka.admin.KafkaAdminClient", Effect.NET_IO, returns="kafka.KafkaAdminClient"),
        Call("kafka.KafkaAdminClient.*", Effect.NET_IO),
    ),
)
