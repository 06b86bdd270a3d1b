"""Motor: PyMongo's asyncio driver (``AsyncIOMotorClient``), awaited in coroutines.

**Knows:** ``motor.motor_asyncio.AsyncIOMotorClient`` (and the Tornado client) and
everything reached through it at any depth (``client.db.collection.find_one(...)``,
``insert_one``, ``update_many``, ``aggregate``, cursors' ``to_list``): database round
trips, made where they are awaited.

**Under gevent:** a coroutine needs an event loop: a sync task runs one
(``asyncio.run``), and Motor runs PyMongo's blocking calls in the loop's thread pool,
which gevent's patched threads turn into greenlets.

**Sources:** Motor docs ("Tutorial: Using Motor With asyncio", "Motor and threads").
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor
from celery_poolkit.plugins.base import Plugin

_ASYNCIO = "motor.motor_asyncio.AsyncIOMotorClient"
_TORNADO = "motor.motor_tornado.MotorClient"
_NOTE = "database.collection.operation round trips, awaited"

PLUGIN = Plugin(
    name="motor",
    modules=("motor",),
    distributions=("motor",),
    summary="MongoDB through asyncio: round trips awaited in an event loop.",
    calls=(
        ctor(_ASYNCIO, _ASYNCIO, "no connection until the first operation"),
        Call(f"{_ASYNCIO}.**", Effect.DB_IO, Green.SAFE_AFTER_PATCH, note=_NOTE),
        ctor(_TORNADO, _TORNADO),
        Call(f"{_TORNADO}.**", Effect.DB_IO, Green.SAFE_AFTER_PATCH, note=_NOTE),
    ),
)
