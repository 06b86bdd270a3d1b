"""psycopg 3 (and psycopg_pool): green under gevent by itself, if imported after patching.

psycopg 3 picks its wait function once, when ``psycopg.waiting`` is imported: the C
``wait_c`` when ``select`` is not patched (blocks the hub), a poll-based one when it is
(cooperative; officially supported from 3.1.14). psycopg_pool binds ``threading.Event``,
``Thread`` and ``queue.Queue`` at import, so a pool imported before patching runs native
worker threads. Eventlet is not supported by psycopg 3 at all.
"""

from __future__ import annotations

import importlib.util
import sys

from celery_poolkit.errors import DidNotEnable, PoolkitError
from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins.base import Plugin

_DB = Effect.DB_IO

PLUGIN = Plugin(
    name="psycopg",
    modules=("psycopg", "psycopg_pool"),
    distributions=("psycopg", "psycopg-binary", "psycopg-pool"),
    adapter="celery_poolkit.plugins.psycopg:check_wait_function",
    summary="PostgreSQL driver, green under gevent from 3.1.14 when imported after "
    "patching; not supported under eventlet.",
    calls=(
        Call("psycopg.connect", _DB, returns="psycopg.Connection"),
        Call("psycopg.Connection.connect", _DB, returns="psycopg.Connection"),
        Call("psycopg.Connection.execute", _DB, returns="psycopg.Cursor"),
        Call("psycopg.Connection.cursor", None, returns="psycopg.Cursor"),
        Call("psycopg.Connection.commit", _DB),
        Call("psycopg.Connection.rollback", _DB),
        Call("psycopg.Cursor.execute", _DB),
        Call("psycopg.Cursor.executemany", _DB),
        Call("psycopg.Cursor.copy", _DB),
        Call("psycopg_pool.ConnectionPool", None, returns="psycopg_pool.ConnectionPool"),
        Call("psycopg_pool.ConnectionPool.connection", _DB),
        Call("psycopg_pool.ConnectionPool.getconn", _DB),
    ),
)


def check_wait_function(pool: str) -> str:
    """Report whether psycopg 3 will cooperate; there is nothing to install.

    A wait function chosen before patching cannot be swapped afterwards (psycopg's
    modules bound it at import), so that case is a failure with the fix in its message.
    """
    if importlib.util.find_spec("psycopg") is None:
        raise DidNotEnable("psycopg is not installed")
    if pool == "eventlet":
        raise PoolkitError(
            "psycopg 3 does not support eventlet: every query blocks the hub; use gevent"
        )
    waiting = sys.modules.get("psycopg.waiting")
    if waiting is not None:
        name = getattr(waiting.wait, "__name__", repr(waiting.wait))
        if name == "wait_c":
            raise PoolkitError(
                "psycopg was imported before patching and uses wait_c: every query blocks "
                "the hub; import psycopg after celery_poolkit.patch() (or use `poolkit worker`)"
            )
    # Importing psycopg here, after patching, is what makes it choose its green wait; the
    # install also makes gevent.Timeout/GreenletExit cancel the running query.
    from celery_poolkit.greendb import psycopg as green

    report = green.install(pool)
    if not report.green:
        raise PoolkitError(f"psycopg 3 will block the hub: {report.reason}")
    cancel = "cancels on interrupt" if report.cancels_on_interrupt else "no cancel hook"
    return f"psycopg {report.version} uses {report.wait_function} ({cancel})"
