"""psycopg2: libpq waits in C and blocks the gevent hub unless a wait callback is set.

psycopg2 cannot be monkey patched (psycogreen's README); it offers
``psycopg2.extensions.set_wait_callback``, a process-global hook called whenever libpq
would block. With a green callback, connects and queries yield to other greenlets;
without one, 50 greenlets run one query at a time. Limits in green mode: COPY and large
objects raise ``ProgrammingError``, ``connect_timeout`` is ignored, and an exception in
the callback (``gevent.Timeout``) closes the connection.

The adapter is deliberately one small function so a cancel-aware callback can replace
psycogreen's later without touching the bootstrap.
"""

from __future__ import annotations

import importlib.util

from celery_poolkit.errors import DidNotEnable, PoolkitError
from celery_poolkit.model import Adapted, Call, DriverState, Effect, Green, Pool
from celery_poolkit.plugins.base import Plugin, require

_DB = Effect.DB_IO
_ADAPT = Green.NEEDS_ADAPTER
_CONN = "psycopg2.extensions.connection"
_CUR = "psycopg2.extensions.cursor"

PLUGIN = Plugin(
    name="psycopg2",
    modules=("psycopg2",),
    distributions=("psycopg2", "psycopg2-binary"),
    summary="PostgreSQL driver in C: green under gevent only with a wait callback "
    "(poolkit installs psycogreen's).",
    calls=(
        Call("psycopg2.connect", _DB, _ADAPT, returns=_CONN),
        Call(f"{_CONN}.cursor", None, _ADAPT, returns=_CUR),
        Call(f"{_CONN}.commit", _DB, _ADAPT),
        Call(f"{_CONN}.rollback", _DB, _ADAPT),
        Call(f"{_CUR}.execute", _DB, _ADAPT),
        Call(f"{_CUR}.executemany", _DB, _ADAPT),
        Call(f"{_CUR}.callproc", _DB, _ADAPT),
        Call("psycopg2.extras.execute_values", _DB, _ADAPT),
        Call("psycopg2.extras.execute_batch", _DB, _ADAPT),
        Call(
            f"{_CUR}.copy_expert",
            _DB,
            Green.BLOCKS_HUB,
            note="COPY is refused while a wait callback is set; run it on a threads queue",
        ),
        Call(f"{_CUR}.copy_from", _DB, Green.BLOCKS_HUB, note="COPY: see copy_expert"),
        Call(f"{_CUR}.copy_to", _DB, Green.BLOCKS_HUB, note="COPY: see copy_expert"),
        Call(f"{_CONN}.lobject", _DB, Green.BLOCKS_HUB, note="large objects are not green"),
    ),
    adapter="celery_poolkit.plugins.psycopg2:install_wait_callback",
    driver_state="celery_poolkit.plugins.psycopg2:driver_state",
)


def install_wait_callback(pool: Pool) -> Adapted:
    """Adapter: set psycopg2's process-wide wait callback (and wrap ``psycopg2.connect``)
    so it is cooperative under ``pool``; runs after monkey patching.

    gevent: poolkit's wait callback (:mod:`celery_poolkit.greendb.psycopg2`), built on
    psycogreen's poll loop, which also cancels the server-side query when the greenlet is
    interrupted, enforces ``connect_timeout`` and keeps DNS off the hub. eventlet:
    ``eventlet.monkey_patch()`` already installs its own callback; it is kept.
    A callback the user or another library chose is never replaced; psycogreen's own is,
    because poolkit's does everything it does.
    """
    require("psycopg2", pool, pools=(Pool.GEVENT, Pool.EVENTLET))
    import psycopg2.extensions

    from celery_poolkit.greendb import psycopg2 as green

    current = psycopg2.extensions.get_wait_callback()
    if current is not None and pool is Pool.GEVENT and current is not green.green_wait_callback:
        module = getattr(current, "__module__", "") or ""
        if not module.startswith("psycogreen"):
            name = f"{module}.{getattr(current, '__qualname__', current)!s}"
            return Adapted.nothing_to_do(f"psycopg2 already has a wait callback ({name})")
    try:
        green.install(pool.value)
    except DidNotEnable as exc:
        # psycopg2 is here, so a missing psycogreen/gevent is a broken install, not a
        # plugin to skip: every query would block the hub.
        raise PoolkitError(
            f"psycopg2 is installed but {exc}: under {pool} every query blocks the hub; "
            "`pip install 'celery-poolkit[gevent]'` (it brings psycogreen)"
        ) from None
    if pool is Pool.EVENTLET:
        return Adapted.nothing_to_do("eventlet's own psycopg2 wait callback is kept")
    return Adapted.applied(
        "poolkit's cancel-aware gevent wait callback installed (built on psycogreen)"
    )


def driver_state(pool: Pool) -> DriverState | None:
    """After patching: is a wait callback set? Without one every query blocks the hub."""
    if importlib.util.find_spec("psycopg2") is None:
        return None
    import psycopg2.extensions

    callback = psycopg2.extensions.get_wait_callback()
    return DriverState(
        "psycopg2",
        callback is not None,
        f"wait callback {callback.__module__}.{callback.__qualname__}"
        if callback
        else "no wait callback: queries block the hub",
    )
