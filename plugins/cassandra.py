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

**Runtime:** under gevent, poolkit's adapter does the second for a late import: when
``cassandra.cluster`` was imported before patching, it sets ``Cluster.connection_class``
to ``GeventConnection`` (clusters built afterwards use it; one built before keeps its
reactor). Imported after patching, the driver picks it by itself: nothing to do.

**Sources:** ``cassandra/cluster.py`` (``_is_gevent_monkey_patched``,
``DefaultConnection``); DataStax driver docs ("Performance", "Connection classes",
"Multiprocessing"); green-runtime.md §6.
"""

from __future__ import annotations

import sys

from celery_poolkit.model import Adapted, Call, Effect, Green, Hazard, Pool
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin, require

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
    adapter="celery_poolkit.plugins.cassandra:use_gevent_reactor",
)


def use_gevent_reactor(pool: Pool) -> Adapted:
    """Adapter: set ``cassandra.cluster.Cluster.connection_class`` to the gevent reactor
    when ``cassandra.cluster`` was imported before patching (it chose another one)."""
    require("cassandra", pool, name="cassandra-driver",
            otherwise=f"cassandra-driver has no {pool.value} reactor poolkit can set")  # fmt: skip
    cluster = sys.modules.get("cassandra.cluster")
    if cluster is None:
        return Adapted.nothing_to_do("cassandra.cluster is not imported yet and will pick "
                                     "GeventConnection itself")  # fmt: skip
    from cassandra.io.geventreactor import GeventConnection

    current = cluster.Cluster.connection_class
    if current is GeventConnection:
        return Adapted.nothing_to_do("Cluster.connection_class is GeventConnection")
    cluster.Cluster.connection_class = GeventConnection
    return Adapted.applied(
        f"Cluster.connection_class = GeventConnection (was {current.__module__}."
        f"{current.__qualname__}; clusters built before patching keep theirs)"
    )
