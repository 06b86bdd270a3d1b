"""asgiref: ``async_to_sync`` runs a coroutine on an event loop from sync code.

**Knows:** ``asgiref.sync.async_to_sync(...)`` (Django Channels' usual
``async_to_sync(channel_layer.group_send)(...)`` inside tasks) and ``sync_to_async``.

**Under gevent:** ``async_to_sync`` starts (or reuses) an asyncio loop in a helper
thread and waits for it: ``RUNS_EVENT_LOOP``. With threading patched, that helper is
a greenlet, and asyncio keeps its running loop per native thread, so concurrent calls
from several greenlets collide ("Cannot run the event loop while another loop is
running"); on CPython >= 3.13.12 executor hand-offs can stall (gevent #2213).

**Fix:** on gevent queues talk to the channel layer's backend synchronously (e.g. the
Redis channel layer's wire format via redis-py), or route those tasks to prefork.

**Sources:** asgiref README ("async_to_sync", "sync_to_async"); Django Channels docs
("Using Outside Of Consumers"); gevent #2026, #2213.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Green, Hazard
from celery_poolkit.plugins.base import Plugin

PLUGIN = Plugin(
    name="asgiref",
    modules=("asgiref",),
    distributions=("asgiref",),
    summary="async_to_sync runs an event loop inside the task.",
    calls=(
        Call(
            "asgiref.sync.async_to_sync",
            None,
            Green.SAFE,
            frozenset({Hazard.RUNS_EVENT_LOOP}),
            note="the wrapped call runs a coroutine on an asyncio loop and waits",
        ),
        Call(
            "asgiref.sync.sync_to_async",
            None,
            Green.SAFE,
            note="only meaningful inside a running loop",
        ),
    ),
)
