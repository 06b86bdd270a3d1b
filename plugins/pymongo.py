"""PyMongo: the MongoDB driver, pure Python over the stdlib socket; not fork-safe.

**Knows:** ``pymongo.MongoClient`` and everything reached through it
(``client.db.collection.find_one(...)``, ``client["db"]`` …), and typed
``Database`` / ``Collection`` / ``Cursor`` objects (``insert_*``, ``find*``,
``update_*``, ``delete_*``, ``aggregate``, ``bulk_write``, ``count_documents`` …).

**Under gevent:** safe after patching: PyMongo's sockets, its monitor threads and its
pool's locks become gevent's (PyMongo documents gevent support). Import it after
patching.

**Prefork:** ``MongoClient`` is not fork-safe: a client created before fork shares
sockets and locks with the children and can deadlock (PyMongo warns "MongoClient opened
before fork"). ``FORK_UNSAFE``: create it per process (``worker_process_init``) or with
``connect=False`` and first use after fork.

**Sources:** PyMongo FAQ ("Is PyMongo fork-safe?", "Does PyMongo support asynchronous
frameworks like Gevent…?"); PyMongo API reference (MongoClient, Collection).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins.base import Plugin

_CLIENT = "pymongo.MongoClient"
_FORK = "not fork-safe: create the client in each worker process, after fork"

PLUGIN = Plugin(
    name="pymongo",
    modules=("pymongo",),
    distributions=("pymongo",),
    summary="MongoDB driver: cooperative after patching; clients are not fork-safe.",
    calls=(
        Call(_CLIENT, None, Green.SAFE, frozenset({Hazard.FORK_UNSAFE}), _CLIENT, _FORK),
        Call(
            "pymongo.mongo_client.MongoClient",
            None,
            Green.SAFE,
            frozenset({Hazard.FORK_UNSAFE}),
            _CLIENT,
            _FORK,
        ),
        # ``client.db.collection.find_one(...)``: databases and collections are attributes
        # (or items) of the client at any depth, and their operations round trips.
        Call(f"{_CLIENT}.**", Effect.DB_IO, note="database.collection.operation round trips"),
        Call("pymongo.database.Database.**", Effect.DB_IO),
        Call("pymongo.collection.Collection.*", Effect.DB_IO),
        Call("pymongo.cursor.Cursor.*", Effect.DB_IO),
    ),
)
