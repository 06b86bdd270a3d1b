"""urllib3 (under requests, botocore, …): cooperative sockets, one gevent-unsafe queue.

``ConnectionPool.QueueCls = queue.LifoQueue`` is bound when urllib3 is imported. Imported
before patching, the pool's queue is the stdlib one and greenlets sharing a pool can
deadlock (gevent #1957, urllib3 #3061). gevent >= 25.4.1 patches ``queue.LifoQueue``,
so this only matters for a late patch; the adapter then resets the class attribute
(locust does the same).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator

from celery_poolkit.model import Adapted, Call, DriverState, Effect, PatchHazard, Pool
from celery_poolkit.plugins.base import Plugin, require

_NET = Effect.NET_IO

PLUGIN = Plugin(
    name="urllib3",
    modules=("urllib3",),
    distributions=("urllib3",),
    summary="HTTP client: green after patching; poolkit fixes the pool queue of a late import.",
    calls=(
        Call("urllib3.request", _NET),
        Call("urllib3.PoolManager", None, returns="urllib3.PoolManager"),
        Call("urllib3.PoolManager.request", _NET),
        Call("urllib3.PoolManager.urlopen", _NET),
        Call("urllib3.HTTPConnectionPool", None, returns="urllib3.HTTPConnectionPool"),
        Call("urllib3.HTTPSConnectionPool", None, returns="urllib3.HTTPConnectionPool"),
        Call("urllib3.HTTPConnectionPool.request", _NET),
        Call("urllib3.HTTPConnectionPool.urlopen", _NET),
    ),
    adapter="celery_poolkit.plugins.urllib3:reset_queue_class",
    hazards="celery_poolkit.plugins.urllib3:hazards",
    driver_state="celery_poolkit.plugins.urllib3:driver_state",
)


def _stdlib_queue_class() -> type | None:
    """``ConnectionPool.QueueCls`` if urllib3 is imported and it is the stdlib's queue."""
    connectionpool = sys.modules.get("urllib3.connectionpool")
    queue_cls = getattr(getattr(connectionpool, "ConnectionPool", None), "QueueCls", None)
    if queue_cls is not None and getattr(queue_cls, "__module__", "") == "queue":
        return queue_cls  # type: ignore[no-any-return]
    return None


def hazards(pool: Pool) -> Iterator[PatchHazard]:
    """Before patching: urllib3 bound the stdlib's LifoQueue as its pools' queue class."""
    if _stdlib_queue_class() is not None:
        yield PatchHazard(
            "urllib3-queue",
            "urllib3.connectionpool",
            "ConnectionPool.QueueCls is the stdlib queue.LifoQueue captured at import; "
            "pools shared by greenlets can deadlock (gevent #1957).",
            "poolkit's urllib3 adapter resets QueueCls after patching; import requests/"
            "urllib3 after patching to avoid it entirely",
        )


def reset_queue_class(pool: Pool) -> Adapted:
    """Adapter: set ``urllib3.connectionpool.ConnectionPool.QueueCls`` to gevent's
    LifoQueue if urllib3 was imported before patching."""
    require("urllib3", pool)
    connectionpool = sys.modules.get("urllib3.connectionpool")
    if connectionpool is None:
        return Adapted.nothing_to_do("urllib3 is not imported yet and will bind gevent's queue")
    current = connectionpool.ConnectionPool.QueueCls
    if current.__module__.startswith("gevent"):
        return Adapted.nothing_to_do(f"QueueCls is {current.__module__}.{current.__qualname__}")
    from gevent.queue import LifoQueue

    connectionpool.ConnectionPool.QueueCls = LifoQueue
    return Adapted.applied(
        "ConnectionPool.QueueCls = gevent.queue.LifoQueue (pools created before patching "
        "keep their stdlib queue)"
    )


def driver_state(pool: Pool) -> DriverState | None:
    """After patching, under gevent: the queue class urllib3's pools use."""
    if pool is not Pool.GEVENT or importlib.util.find_spec("urllib3") is None:
        return None
    import urllib3.connectionpool

    queue = urllib3.connectionpool.ConnectionPool.QueueCls
    return DriverState(
        "urllib3",
        queue.__module__.startswith("gevent"),
        f"ConnectionPool.QueueCls is {queue.__module__}.{queue.__qualname__}",
    )
