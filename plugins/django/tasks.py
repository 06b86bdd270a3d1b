"""Give a task's pooled database connections back when the task ends.

Under a green pool every task runs in a new greenlet, and Django keeps one connection
wrapper per greenlet. A pooled connection is returned by ``connection.close()``; Celery's
Django fixup calls it after each task, but only when the fixup is active and
``CELERY_DB_REUSE_MAX`` is unset, and it closes the pools themselves only under prefork.
:func:`release_task_connections`, connected to ``task_postrun``, makes the return
unconditional for pooled connections: a task that ends, however it ends, holds none.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

__all__ = ["connect_task_release", "release_task_connections"]

log = logging.getLogger(__name__)

DISPATCH_UID = "celery_poolkit.plugins.django.release_task_connections"


def release_task_connections(sender: Any = None, **kwargs: Any) -> None:
    """Return every pooled connection of the current thread/greenlet to its pool.

    A ``task_postrun`` receiver (``sender`` is the task), also callable directly. Skips
    eager tasks (they run inside the caller, whose connection is not the task's) and
    connections inside an ``atomic`` block (closing one would break the transaction).
    Connections without a pool are left to Django and Celery's fixup.
    """
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    # A process that never imported django.db holds no Django connection, and one
    # without Django installed (a worker from `pip install celery-poolkit[gevent]`)
    # must not fail after every task on the import.
    if "django.db" not in sys.modules:
        return
    from django.conf import settings

    # Django installed but not set up (a worker of a project that does not use Django):
    # there are no connections, and touching them would raise ImproperlyConfigured
    # after every task.
    if not settings.configured:
        return
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.connection is None or conn.in_atomic_block or not _pooled(conn):
            continue
        try:
            conn.close()
        except Exception as exc:  # a broken connection: the pool discards it anyway
            log.debug("releasing database connection %r failed: %s", conn.alias, exc)


def _pooled(conn: Any) -> bool:
    if getattr(conn, "green_pool", None) is not None:  # celery-poolkit's backend
        return True
    # Django's own pool (5.1+, psycopg 3): the same OPTIONS key.
    options = conn.settings_dict.get("OPTIONS") or {}
    return bool(options.get("pool"))


def connect_task_release() -> bool:
    """Connect :func:`release_task_connections` to Celery's ``task_postrun``, once.

    Does nothing (returns False) in a process that has not imported Celery: a web
    process using the same backend has no tasks to end.
    """
    if "celery" not in sys.modules:
        return False
    from celery import signals

    signals.task_postrun.connect(release_task_connections, dispatch_uid=DISPATCH_UID, weak=False)
    return True
