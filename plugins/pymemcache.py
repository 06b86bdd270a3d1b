"""pymemcache: a pure-Python memcached client; cooperative once the socket is patched.

**Knows:** ``pymemcache.client.base.Client`` / ``PooledClient``,
``pymemcache.client.hash.HashClient`` (also exported from ``pymemcache``), and their
commands. Django's ``PyMemcacheCache`` backend uses ``HashClient``.

**Under gevent:** safe after patching. Sharing one non-pooled client between greenlets
interleaves requests on one socket ("File descriptor was closed in another greenlet");
use ``PooledClient`` or ``HashClient(use_pooling=True)``.

**Sources:** pymemcache docs ("Getting started", "Using a client pool"); pymemcache #166;
django PR #14379; green-runtime.md §6.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import ctor
from celery_poolkit.plugins.base import Plugin

_BASE = "pymemcache.client.base.Client"
_POOLED = "pymemcache.client.base.PooledClient"
_HASH = "pymemcache.client.hash.HashClient"

PLUGIN = Plugin(
    name="pymemcache",
    modules=("pymemcache",),
    distributions=("pymemcache",),
    summary="Pure-Python memcached client: cooperative after patching.",
    calls=(
        ctor(_BASE, _BASE),
        ctor("pymemcache.Client", _BASE),
        ctor(_POOLED, _POOLED),
        ctor("pymemcache.PooledClient", _POOLED),
        ctor(_HASH, _HASH),
        ctor("pymemcache.HashClient", _HASH),
        Call(f"{_BASE}.*", Effect.DB_IO),
        Call(f"{_POOLED}.*", Effect.DB_IO),
        Call(f"{_HASH}.*", Effect.DB_IO),
    ),
)
