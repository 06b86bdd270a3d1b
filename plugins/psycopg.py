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
from collections.abc import Iterator

from celery_poolkit.errors import DidNotEnable, PoolkitError
from celery_poolkit.greendb.psycopg import BLOCKING_WAIT, MIN_VERSION, wait_function
from celery_poolkit.model import Adapted, Call, DriverState, Effect, PatchHazard, Pool
from celery_poolkit.plugins.base import PATCH_FIRST, Plugin

_DB = Effect.DB_IO

PLUGIN = Plugin(
    name="psycopg",
    modules=("psycopg", "psycopg_pool"),
    distributions=("psycopg", "psycopg-binary", "psycopg-pool"),
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
    adapter="celery_poolkit.plugins.psycopg:install_cancel_on_interrupt",
    hazards="celery_poolkit.plugins.psycopg:hazards",
    driver_state="celery_poolkit.plugins.psycopg:driver_state",
    min_version=MIN_VERSION,
    min_version_why="psycopg < 3.1.14 blocks the gevent hub (psycopg #527)",
)


def hazards(pool: Pool) -> Iterator[PatchHazard]:
    """Before patching: psycopg already chose wait_c; psycopg_pool bound native threads."""
    if wait_function() == BLOCKING_WAIT:
        yield PatchHazard(
            "psycopg-wait",
            "psycopg.waiting",
            "psycopg chose its C wait function (wait_c) at import, before select was "
            "patched: every query blocks the hub.",
            f"import psycopg after patching; {PATCH_FIRST}",
        )
    acompat = sys.modules.get("psycopg_pool._acompat")
    event = getattr(acompat, "Event", None)
    if event is not None and getattr(event, "__module__", "") == "threading":
        yield PatchHazard(
            "psycopg-pool-threads",
            "psycopg_pool",
            "psycopg_pool bound threading.Event/Thread at import: its workers are native "
            "threads and its waits block the hub.",
            f"import psycopg_pool after patching; {PATCH_FIRST}",
        )


def install_cancel_on_interrupt(pool: Pool) -> Adapted:
    """Adapter: import psycopg 3 after patching (so it picks its green wait function) and
    make ``gevent.Timeout``/``GreenletExit`` cancel the running query, by extending
    psycopg's private ``psycopg.connection._INTERRUPTED`` (see
    :func:`celery_poolkit.greendb.psycopg.install`).

    A wait function chosen before patching cannot be swapped afterwards (psycopg's
    modules bound it at import), so that case is a failure with the fix in its message.
    """
    if importlib.util.find_spec("psycopg") is None:
        raise DidNotEnable("psycopg is not installed")
    if pool is Pool.EVENTLET:
        raise PoolkitError(
            "psycopg 3 does not support eventlet: every query blocks the hub; use gevent"
        )
    if wait_function() == BLOCKING_WAIT:
        raise PoolkitError(
            "psycopg was imported before patching and uses wait_c: every query blocks "
            "the hub; import psycopg after celery_poolkit.patch() (or use `poolkit worker`)"
        )
    from celery_poolkit.greendb import psycopg as green

    report = green.install(pool.value)
    if not report.green:
        raise PoolkitError(f"psycopg 3 will block the hub: {report.reason}")
    cancel = "cancels on interrupt" if report.cancels_on_interrupt else "no cancel hook"
    return Adapted.applied(f"psycopg {report.version} uses {report.wait_function} ({cancel})")


def driver_state(pool: Pool) -> DriverState | None:
    """After patching: the wait function psycopg picked (importing it now is safe)."""
    if importlib.util.find_spec("psycopg") is None:
        return None
    importlib.import_module("psycopg.waiting")  # after patching: picks the green wait
    name = wait_function() or "?"
    return DriverState(
        "psycopg", pool is Pool.GEVENT and name != BLOCKING_WAIT, f"wait function {name}"
    )
