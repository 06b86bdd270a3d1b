"""pyodbc: ODBC drivers (SQL Server, Snowflake, …) in C; blocks the gevent hub.

**Knows:** ``pyodbc.connect``, the connection's ``execute`` / ``commit`` / ``rollback``,
cursors' ``execute`` / ``executemany`` / ``fetch*``.

**Under gevent:** blocks the hub: the ODBC driver manager and the vendor driver do their
own socket IO in C. pyodbc releases the GIL around driver calls, so threads scale.

**Fix:** run ODBC-backed tasks on prefork or threads queues.

**Sources:** pyodbc wiki ("Connection", "Cursor"); pyodbc source (``Py_BEGIN_ALLOW_THREADS``
around ``SQLExecute``); green-runtime.md §6 (C drivers).
"""

from __future__ import annotations

from celery_poolkit.model import Effect, Green
from celery_poolkit.plugins._rows import each
from celery_poolkit.plugins.base import Plugin

_CONN = "pyodbc.Connection"
_CURSOR = "pyodbc.Cursor"
_NOTE = "the ODBC driver waits in C: every greenlet stalls"

PLUGIN = Plugin(
    name="pyodbc",
    modules=("pyodbc",),
    distributions=("pyodbc",),
    summary="ODBC databases via C drivers: block the gevent hub; GIL released for threads.",
    calls=(
        *each("pyodbc", ("connect",), Effect.DB_IO, Green.BLOCKS_HUB, returns=_CONN, note=_NOTE),
        *each(
            _CONN,
            ("execute", "commit", "rollback"),
            Effect.DB_IO,
            Green.BLOCKS_HUB,
            returns=_CURSOR,
            note=_NOTE,
        ),
        *each(_CONN, ("cursor",), None, Green.SAFE, returns=_CURSOR),
        *each(
            _CURSOR,
            ("execute", "executemany", "fetchone", "fetchmany", "fetchall", "fetchval"),
            Effect.DB_IO,
            Green.BLOCKS_HUB,
            note=_NOTE,
        ),
    ),
)
