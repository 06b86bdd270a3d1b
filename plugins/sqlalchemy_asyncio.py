"""SQLAlchemy's asyncio extension: ``AsyncSession``, ``create_async_engine``.

**Knows:** ``sqlalchemy.ext.asyncio.create_async_engine`` (lazy, like
``create_engine``), ``AsyncEngine.connect`` / ``begin``, ``AsyncConnection``'s
``execute`` / ``scalar`` / ``scalars`` / ``stream`` / ``commit``, ``AsyncSession``
(direct, from ``async_sessionmaker()`` or ``async_scoped_session``) and its round trips
(``execute``, ``scalars``, ``scalar``, ``get``, ``commit``, ``flush``, ``refresh``,
``merge``, ``rollback``, ``delete``, ``stream``), awaited; ``add`` only stages.

**Under gevent:** the async drivers (asyncpg, aiomysql, psycopg's async mode) wait on
the event loop a sync task runs (``asyncio.run``): cooperative inside that loop, and
the loop blocks the greenlet running it.

**Sources:** SQLAlchemy 2.0 docs ("Asynchronous I/O (asyncio)": AsyncEngine,
AsyncSession, async_sessionmaker).
"""

from __future__ import annotations

from celery_poolkit.model import Effect
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin
from celery_poolkit.plugins.sqlalchemy import SESSION_ROUND_TRIPS, session_staging

_EXT = "sqlalchemy.ext.asyncio"
_ENGINE = f"{_EXT}.AsyncEngine"
_CONN = f"{_EXT}.AsyncConnection"
_SESSION = f"{_EXT}.AsyncSession"
_MAKER = f"{_EXT}.async_sessionmaker"
_NOTE = "a round trip through the async driver, awaited"

PLUGIN = Plugin(
    name="sqlalchemy_asyncio",
    modules=("sqlalchemy",),
    distributions=("SQLAlchemy",),
    summary="SQLAlchemy's AsyncSession and AsyncEngine: database IO, awaited.",
    calls=(
        ctor(f"{_EXT}.create_async_engine", _ENGINE, "lazy: connects on first use"),
        *each(_ENGINE, ("connect", "begin"), Effect.DB_IO, returns=_CONN, note=_NOTE),
        *each(_ENGINE, ("dispose",), Effect.DB_IO, note=_NOTE),
        *each(
            _CONN,
            ("execute", "scalar", "scalars", "stream", "commit", "rollback", "run_sync"),
            Effect.DB_IO,
            note=_NOTE,
        ),
        ctor(_SESSION, _SESSION),
        ctor(_MAKER, _MAKER),
        ctor(f"{_MAKER}.__call__", _SESSION),
        *each(_MAKER, ("begin",), Effect.DB_IO, returns=_SESSION, note="commits at the end"),
        ctor(f"{_EXT}.async_scoped_session", _SESSION),
        *each(_SESSION, (*SESSION_ROUND_TRIPS, "stream", "begin"), Effect.DB_IO, note=_NOTE),
        *session_staging(_SESSION),
    ),
)
