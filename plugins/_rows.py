"""Shorthands for writing plugin tables: the few shapes most knowledge rows take.

Plugins are data; these helpers only keep the tables short and uniform. They build
:class:`~celery_poolkit.model.Call` rows and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable

from celery_poolkit.model import Call, Effect, Green, Hazard

#: Verbs of the HTTP clients (requests, httpx, aiohttp sessions).
HTTP_VERBS = ("request", "get", "post", "put", "patch", "delete", "head", "options")

#: The DB-API 2.0 cursor methods that make a round trip (PEP 249).
DBAPI_CURSOR = ("execute", "executemany", "callproc", "fetchone", "fetchmany", "fetchall")

_LOOP_NOTE = "a coroutine: a sync task must run an event loop to await it"


def ctor(qualname: str, returns: str, note: str = "") -> Call:
    """A constructor or factory that does no IO itself; its result's methods may."""
    return Call(qualname, None, Green.SAFE, returns=returns, note=note)


def each(
    owner: str,
    names: Iterable[str],
    effect: Effect | None,
    green: Green = Green.SAFE_AFTER_PATCH,
    *,
    hazards: frozenset[Hazard] = frozenset(),
    returns: str = "",
    note: str = "",
) -> tuple[Call, ...]:
    """The same knowledge for several attributes of one module or class."""
    return tuple(Call(f"{owner}.{name}", effect, green, hazards, returns, note) for name in names)


def cpu(qualname: str, note: str = "", returns: str = "") -> Call:
    """Computation that holds the GIL: only more processes make it scale."""
    return Call(qualname, Effect.CPU, Green.SAFE, returns=returns, note=note)


def gil_free(qualname: str, note: str = "", returns: str = "") -> Call:
    """C computation that releases the GIL: threads scale it, greenlets do not."""
    return Call(qualname, Effect.CPU_RELEASES_GIL, Green.SAFE, returns=returns, note=note)


def coroutines(qualname: str, note: str = _LOOP_NOTE) -> Call:
    """An asyncio API: from a sync Celery task it can only run inside an event loop.

    asyncio keeps its running loop per native thread, so under gevent two greenlets
    running loops collide; the hazard lets the advisor say so.
    """
    return Call(
        qualname,
        Effect.NET_IO,
        Green.SAFE_AFTER_PATCH,
        frozenset({Hazard.RUNS_EVENT_LOOP}),
        note=note,
    )


def dbapi_driver(
    module: str,
    connection: str,
    cursor: str,
    green: Green,
    *,
    connect: tuple[str, ...] = ("connect",),
    connection_methods: tuple[str, ...] = ("commit", "rollback"),
    note: str = "",
) -> tuple[Call, ...]:
    """A PEP 249 driver: ``connect()``, the connection's round trips, its cursors."""
    return (
        *each(module, connect, Effect.DB_IO, green, returns=connection, note=note),
        *each(connection, connection_methods, Effect.DB_IO, green, note=note),
        ctor(f"{connection}.cursor", cursor),
        *each(cursor, DBAPI_CURSOR, Effect.DB_IO, green, note=note),
    )
