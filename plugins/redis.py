"""redis-py: Redis as a data store, pure Python over the stdlib socket.

**Knows:** ``redis.Redis`` / ``StrictRedis`` / ``from_url`` and every command method
(``get``, ``set``, ``hset``, ``lpush``, ``blpop``, ``eval`` …), ``RedisCluster``,
pipelines (commands are buffered; ``execute`` does the round trip), ``lock()``
(``acquire`` polls with sleeps), ``pubsub()``.

**Under gevent:** safe after patching; hiredis is only a reply parser, so it does not
change that. If redis is imported before patching, its ``BlockingConnectionPool`` uses
the stdlib ``queue``: pass ``queue_class=gevent.queue.LifoQueue``.

**Note:** using Redis as Celery's broker is Celery's business (see the ``celery`` and
``kombu`` plugins); this plugin covers the application's own Redis calls.

**Sources:** redis-py docs (Redis, Pipeline, Lock, PubSub); redis-py #1147, #1136;
eventlet #392; green-runtime.md §6.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_R = "redis.Redis"
_PIPE = "redis.client.Pipeline"

PLUGIN = Plugin(
    name="redis",
    modules=("redis",),
    distributions=("redis", "hiredis"),
    summary="Redis client: cooperative after patching.",
    calls=(
        *(ctor(name, _R) for name in ("redis.Redis", "redis.StrictRedis", "redis.from_url")),
        ctor("redis.Redis.from_url", _R),
        ctor("redis.client.Redis", _R),
        Call(f"{_R}.*", Effect.DB_IO, note="every command is a round trip"),
        ctor(f"{_R}.pipeline", _PIPE),
        Call(f"{_PIPE}.*", None, Green.SAFE, returns=_PIPE, note="buffered until execute()"),
        Call(f"{_PIPE}.execute", Effect.DB_IO),
        ctor(f"{_R}.lock", "redis.lock.Lock"),
        *each("redis.lock.Lock", ("acquire", "release", "extend", "locked"), Effect.DB_IO),
        ctor(f"{_R}.pubsub", "redis.client.PubSub"),
        Call("redis.client.PubSub.*", Effect.DB_IO),
        ctor("redis.cluster.RedisCluster", "redis.cluster.RedisCluster"),
        ctor("redis.RedisCluster", "redis.cluster.RedisCluster"),
        Call("redis.cluster.RedisCluster.*", Effect.DB_IO),
    ),
)
