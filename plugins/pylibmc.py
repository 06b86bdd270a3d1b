"""pylibmc: memcached through libmemcached (C); blocks the gevent hub.

**Knows:** ``pylibmc.Client`` and every command (``get``, ``set``, ``get_multi``,
``incr``, ``delete`` …), ``pylibmc.ClientPool`` / ``ThreadMappedPool``. Django's
``PyLibMCCache`` backend uses it.

**Under gevent:** blocks the hub: libmemcached talks to the server in C. The Celery
docs say it outright: "pylibmc does not allow cooperation with Eventlet"; gevent is the
same.

**Fix:** under gevent switch to pymemcache (Django: ``PyMemcacheCache``); or keep pylibmc
on prefork/threads queues.

**Sources:** Celery docs, "Concurrency with Eventlet"; pylibmc #172; pymemcache #166;
green-runtime.md §6.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor
from celery_poolkit.plugins.base import Plugin

_NOTE = "libmemcached waits in C: every greenlet stalls; use pymemcache under gevent"

PLUGIN = Plugin(
    name="pylibmc",
    modules=("pylibmc",),
    distributions=("pylibmc",),
    summary="C memcached client: blocks the gevent hub (use pymemcache there).",
    calls=(
        ctor("pylibmc.Client", "pylibmc.Client"),
        Call("pylibmc.Client.*", Effect.DB_IO, Green.BLOCKS_HUB, note=_NOTE),
        ctor("pylibmc.ClientPool", "pylibmc.ClientPool"),
        ctor("pylibmc.ThreadMappedPool", "pylibmc.ClientPool"),
        Call(
            "pylibmc.ClientPool.reserve",
            None,
            Green.SAFE,
            note="a context manager lending a Client",
        ),
    ),
)
