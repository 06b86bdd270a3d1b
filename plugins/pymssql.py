"""pymssql: SQL Server through FreeTDS (C); blocks the gevent hub.

**Knows:** ``pymssql.connect``, the connection's ``commit`` / ``rollback``, cursors'
``execute`` / ``executemany`` / ``callproc`` / ``fetch*``.

**Under gevent:** blocks the hub: FreeTDS does its socket IO in C. pymssql's ``_mssql``
module has a ``set_wait_callback`` hook for cooperative waits, which poolkit does not
install; with it unset, one query stalls every greenlet.

**Fix:** run SQL Server tasks on prefork or threads; under gevent either install a wait
callback yourself (``set_wait_callback`` with ``gevent.socket.wait_read``) or use a
pure-Python TDS driver (``python-tds``).

**Sources:** pymssql source (``src/pymssql/_mssql.pyx``: ``set_wait_callback``);
green-runtime.md §6 (C drivers).
"""

from __future__ import annotations

from celery_poolkit.model import Green
from celery_poolkit.plugins._rows import dbapi_driver
from celery_poolkit.plugins.base import Plugin

_CONN = "pymssql.Connection"
_CURSOR = "pymssql.Cursor"
_NOTE = "FreeTDS waits in C: every greenlet stalls"

PLUGIN = Plugin(
    name="pymssql",
    modules=("pymssql",),
    distributions=("pymssql",),
    summary="SQL Server via FreeTDS (C): blocks the gevent hub.",
    calls=dbapi_driver("pymssql", _CONN, _CURSOR, Green.BLOCKS_HUB, note=_NOTE),
)
