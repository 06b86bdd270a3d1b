"""mysqlclient (``MySQLdb``): a C driver over libmysqlclient; blocks the gevent hub.

**Knows:** ``MySQLdb.connect`` (also ``Connect`` / ``Connection``), the connection's
``query`` / ``commit`` / ``rollback`` / ``ping`` / ``select_db``, cursors' ``execute`` /
``executemany`` / ``callproc`` / ``fetch*``.

**Under gevent:** blocks the hub. libmysqlclient reads and writes its socket in C, so
monkey-patching cannot reach it; the old ``waiter`` hook was removed. One slow query
stalls every greenlet in the worker. It releases the GIL, so a threads pool scales.
Django's MySQL backend and SQLAlchemy's ``mysql://`` / ``mysql+mysqldb://`` URLs use it.

**Fix:** under gevent use PyMySQL (``pymysql.install_as_MySQLdb()`` before Django loads
its backend, or ``mysql+pymysql://``); or keep mysqlclient and run the queue on prefork
or threads.

**Sources:** mysqlclient PR #285 (waiter removed: "Even with waiter, mysqlclient will
block gevent"), mysqlclient #464; Celery eventlet docs (C extensions); eventlet's
``green/MySQLdb.py`` runs it in a native thread pool (tpool); green-runtime.md §6.
"""

from __future__ import annotations

import importlib.util

from celery_poolkit.model import DriverState, Green, Pool
from celery_poolkit.plugins._rows import dbapi_driver
from celery_poolkit.plugins.base import Plugin

_CONN = "MySQLdb.connections.Connection"
_CURSOR = "MySQLdb.cursors.Cursor"
_NOTE = "libmysqlclient waits in C: every greenlet stalls; use PyMySQL under gevent"

PLUGIN = Plugin(
    name="mysqlclient",
    modules=("MySQLdb",),
    distributions=("mysqlclient",),
    summary="C MySQL driver: blocks the gevent hub (use PyMySQL there).",
    calls=dbapi_driver(
        "MySQLdb",
        _CONN,
        _CURSOR,
        Green.BLOCKS_HUB,
        connect=("connect", "Connect", "Connection"),
        connection_methods=("query", "commit", "rollback", "ping", "select_db"),
        note=_NOTE,
    ),
    driver_state="celery_poolkit.plugins.mysqlclient:driver_state",
)


def driver_state(pool: Pool) -> DriverState | None:
    """Installed, it is never green: libmysqlclient waits in C."""
    if importlib.util.find_spec("MySQLdb") is None:
        return None
    return DriverState("mysqlclient", False, "C driver: blocks the hub")
