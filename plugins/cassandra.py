"""cassandra-driver: Cassandra/Scylla; its reactor, chosen at import, decides greenness.

**Knows:** ``cassandra.cluster.Cluster`` (``connect`` opens the control connection and
pools), ``Session.execute`` / ``execute_async`` / ``prepare``, ``ResponseFuture.result``,
``Cluster.shutdown``.

**Under gevent:** safe *after patching*: when ``cassandra.cluster`` is imported, the
driver checks whether ``socket.socket`` is gevent's and, if so, uses
``GeventConnection``. Imported before patching it picks the libev reactor (or asyncore),
whose IO runs in its own native thread: ``session.execute()`` then blocks the hub while
it waits. Scylla/DataStax docs: the gevent reactor "assumes all gevent monkey patching is
active".

**Prefork:** a ``Cluster`` connected before fork must not be used in the children
(``FORK_UNSAFE``): connect in ``worker_process_init``.

**Fix:** patch first, or pass
``Cluster(connection_class=cassandra.io.geventreactor.GeventConnection)`` explicitly.

**Sources:** ``cassandra/cluster.py`` (``_is_gevent_monkey_patched``,
``DefaultConnection``); DataStax driver docs ("Performance", "Connection classes",
"Multiprocessing"); green-runtime.md §6.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_CLUSTER = "cassandra.cluster.Cluster"
_SESSION = "cassandra.cluster.Session"
_REACTOR = "cooperative only if cassandra.cluster was imported after patching"

PLUGIN = Plugin(
    name="cassandra",
    modules=("cassandra",),
    distributions=("cassandra-driver", "scylla-driver"),
    summary="Cassandra driver: gevent reactor when imported after patching, else blocks.",
    calls=(
        ctor(_CLUSTER, _CLUSTER),
        Call(
            f"{_CLUSTER}.connect",
            Effect.DB_IO,
            hazards=frozenset({Hazard.FORK_UNSAFE}),
            returns=_SESSION,
            note=f"{_REACTOR}; connect after fork",
        ),
        Call(f"{_CLUSTER}.shutdown", Effect.DB_IO, note=_REACTOR),
        *each(_SESSION, ("execute", "prepare"), Effect.DB_IO, note=_REACTOR),
        Call(
            f"{_SESSION}.execute_async",
            Effect.DB_IO,
            returns="cassandra.cluster.ResponseFuture",
            note=_REACTOR,
        ),
        Call(
            "cassandra.cluster.ResponseFuture.result",
            Effect.DB_IO,
            Green.SAFE_AFTER_PATCH,
            note=_REACTOR,
        ),
    ),
)
