"""PyMySQL: a pure-Python MySQL driver, cooperative once gevent has patched the socket.

**Knows:** ``pymysql.connect`` (also ``Connect`` / ``Connection``), the connection's
``query`` / ``commit`` / ``rollback`` / ``ping`` / ``select_db``, and cursors'
``execute`` / ``executemany`` / ``callproc`` / ``fetch*``.

**Under gevent:** safe after patching: every wait is a Python ``socket`` call. This is
the driver mysqlclient's own maintainer recommends for gevent.

**Pitfall:** ``gevent.Timeout`` (Celery's hard time limit on gevent) is a
``BaseException``; interrupting a query leaves the connection mid-protocol. Close it on
timeouts rather than returning it to a pool.

**Fix:** none needed; to switch a Django/SQLAlchemy project from mysqlclient, call
``pymysql.install_as_MySQLdb()`` first or use the ``mysql+pymysql://`` URL.

**Sources:** mysqlclient PR #285 ("PyMySQL is better than mysqlclient for gevent");
PyMySQL #275; SQLAlchemy #3258; green-runtime.md §6.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Green
from celery_poolkit.plugins._rows import dbapi_driver
from celery_poolkit.plugins.base import Plugin

_CONN = "pymysql.connections.Connection"
_CURSOR = "pymysql.cursors.Cursor"

PLUGIN = Plugin(
    name="pymysql",
    modules=("pymysql",),
    distributions=("PyMySQL",),
    summary="Pure-Python MySQL driver: cooperative after patching.",
    calls=(
        *dbapi_driver(
            "pymysql",
            _CONN,
            _CURSOR,
            Green.SAFE_AFTER_PATCH,
            connect=("connect", "Connect", "Connection"),
            connection_methods=("query", "commit", "rollback", "ping", "select_db"),
        ),
        Call(
            "pymysql.install_as_MySQLdb", None, Green.SAFE, note="later MySQLdb imports get PyMySQL"
        ),
    ),
)
