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

from celery_poolkit.errors import DidNotEnable
from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins.base import Plugin

_NET = Effect.NET_IO

PLUGIN = Plugin(
    name="urllib3",
    modules=("urllib3",),
    distributions=("urllib3",),
    adapter="celery_poolkit.plugins.urllib3:reset_queue_class",
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
)


def reset_queue_class(pool: str) -> str:
    """Point ``ConnectionPool.QueueCls`` at gevent's LifoQueue if urllib3 came first."""
    if importlib.util.find_spec("urllib3") is None:
        raise DidNotEnable("urllib3 is not installed")
    if pool != "gevent":
        raise DidNotEnable(f"not needed under {pool}")
    connectionpool = sys.modules.get("urllib3.connectionpool")
    if connectionpool is None:
        return "nothing to do: urllib3 is not imported yet and will bind gevent's queue"
    current = connectionpool.ConnectionPool.QueueCls
    if current.__module__.startswith("gevent"):
        return f"nothing to do: QueueCls is {current.__module__}.{current.__qualname__}"
    from gevent.queue import LifoQueue

    connectionpool.ConnectionPool.QueueCls = LifoQueue
    return (
        "ConnectionPool.QueueCls = gevent.queue.LifoQueue (pools created before patching "
        "keep their stdlib queue)"
    )
