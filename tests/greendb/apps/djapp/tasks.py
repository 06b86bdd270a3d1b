"""Tasks that query through Django's connection, as application code does."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db import connection, connections

from djapp.celery import app


@app.task
def query(seconds: float) -> float:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_sleep(%s)", [seconds])
    return seconds


@app.task
def backend_info() -> dict[str, Any]:
    from celery import signals

    from celery_poolkit.greendb import psycopg as green_psycopg
    from celery_poolkit.plugins.django.tasks import DISPATCH_UID

    wrapper = connections["default"]  # the real wrapper, not the `connection` proxy
    pool = getattr(wrapper, "connection_pool", None)
    return {
        "vendor_module": type(wrapper).__module__,
        "driver": wrapper.Database.__name__,
        "stats": asdict(pool.stats()) if pool is not None else None,
        "psycopg3": asdict(green_psycopg.check("gevent")),
        "release_connected": any(
            key[0] == DISPATCH_UID for key, _ in signals.task_postrun.receivers
        ),
    }


@app.task
def orphaned_connection() -> dict[str, Any]:
    """A greenlet that is not a task uses the database and ends without closing: its
    wrapper dies with it, and the pool must get the slot back (not leak it)."""
    import gc

    import gevent

    def use_db() -> None:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")

    child = gevent.spawn(use_db)
    child.join()
    del child
    # The hub lets go of a finished greenlet on its next turn; then its greenlet-local
    # wrapper can be collected, and the wrapper's finalizer reports the connection lost.
    gevent.sleep(0.01)
    gc.collect()
    pool = connections["default"].connection_pool
    return asdict(pool.stats())
