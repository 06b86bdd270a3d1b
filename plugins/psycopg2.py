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
from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins.base import Plugin

_DB = Effect.DB_IO
_ADAPT = Green.NEEDS_ADAPTER
_CONN = "psycopg2.extensions.connection"
_CUR = "psycopg2.extensions.cursor"

PLUGIN = Plugin(
    name="psycopg2",
    modules=("psycopg2",),
    distributions=("psycopg2", "psycopg2-binary"),
    adapter="celery_poolkit.plugins.psycopg2:install_wait_callback",
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
)


def install_wait_callback(pool: str) -> str:
    """Make psycopg2 cooperative under ``pool``; runs after monkey patching.

    gevent: psycogreen's wait callback. eventlet: ``eventlet.monkey_patch()`` already
    installs its own (``psycopg=True`` by default), so this only checks it is there.
    An existing callback is never replaced: the user or another library chose it.
    """
    if importlib.util.find_spec("psycopg2") is None:
        raise DidNotEnable("psycopg2 is not installed")
    import psycopg2.extensions

    current = psycopg2.extensions.get_wait_callback()
    if current is not None:
        name = f"{current.__module__}.{current.__qualname__}"
        return f"nothing to do: psycopg2 already has a wait callback ({name})"
    try:
        if pool == "eventlet":
            from psycogreen.eventlet import patch_psycopg
        else:
            from psycogreen.gevent import patch_psycopg
    except ImportError:
        raise PoolkitError(
            f"psycopg2 is installed but psycogreen is not: under {pool} every query blocks "
            "the hub; `pip install 'celery-poolkit[gevent]'` (it brings psycogreen)"
        ) from None
    patch_psycopg()
    return f"psycogreen {pool} wait callback installed"
