"""Django's PostgreSQL backend, with one bounded green connection pool per process.

Why: under ``-P gevent`` Django keeps one connection per greenlet, so ``-c 500`` opens
500 PostgreSQL connections. Django 5.1's own pool fixes that, but only for psycopg 3.
This backend does the same for psycopg2 (and works with psycopg 3 too), configured the
same way::

    DATABASES = {"default": {
        "ENGINE": "celery_poolkit.plugins.django.backends.postgresql",
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"pool": {"max_size": 10, "timeout": 30}},
        ...
    }}

``connection.close()`` gives the connection back to the pool (Celery's Django fixup calls
it after every task, and so does :func:`~celery_poolkit.plugins.django.tasks.
release_task_connections`, which the Django plugin's adapter, in a patched worker, and
the worker bootstep connect to ``task_postrun``; this backend connects no signal). Without
``"pool"`` in OPTIONS it is exactly Django's backend.
"""

from __future__ import annotations

import weakref
from functools import partial
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base as django_pg

from celery_poolkit.greendb.connection_pool import ConnectionPool
from celery_poolkit.greendb.pg_connection_pool import pg_pool

__all__ = ["DatabaseWrapper"]

_DEFAULTS: dict[str, Any] = {"max_size": 10, "timeout": 30.0}


def pool_options(alias: str, raw: Any, settings_dict: dict[str, Any]) -> dict[str, Any] | None:
    """Validate ``OPTIONS["pool"]``: ``None``/``False`` (no pool), ``True`` (defaults) or a
    dict of ``max_size`` and ``timeout``. Errors name the alias and say what to change."""
    if not raw:
        return None
    where = f"DATABASES[{alias!r}]"
    if settings_dict.get("CONN_MAX_AGE", 0) != 0:
        raise ImproperlyConfigured(
            f"{where}: pooling doesn't support persistent connections: set CONN_MAX_AGE to 0 "
            f"(the pool keeps the connections open, not each task)."
        )
    if raw is True:
        return dict(_DEFAULTS)
    if not isinstance(raw, dict):
        raise ImproperlyConfigured(
            f'{where}["OPTIONS"]["pool"] must be True or a dict such as '
            f'{{"max_size": 10, "timeout": 30}}, not {raw!r}.'
        )
    unknown = sorted(set(raw) - set(_DEFAULTS))
    if unknown:
        raise ImproperlyConfigured(
            f'{where}["OPTIONS"]["pool"]: {", ".join(map(repr, unknown))} not supported by '
            f"celery-poolkit's pool; it takes max_size (connections per worker process) and "
            f"timeout (seconds to wait for a free one)."
        )
    options = {**_DEFAULTS, **raw}
    size, timeout = options["max_size"], options["timeout"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ImproperlyConfigured(
            f'{where}["OPTIONS"]["pool"]["max_size"] must be a whole number >= 1, not {size!r}.'
        )
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
        raise ImproperlyConfigured(
            f'{where}["OPTIONS"]["pool"]["timeout"] must be a number of seconds >= 0, '
            f"not {timeout!r}."
        )
    return options


class DatabaseWrapper(django_pg.DatabaseWrapper):  # type: ignore[misc]
    """Django's PostgreSQL wrapper whose connections come from a per-process ConnectionPool."""

    #: One pool per alias per process, shared by every thread/greenlet's wrapper.
    _connection_pools: ClassVar[dict[str, ConnectionPool[Any]]] = {}
    #: The DB-API connection (Django's attribute; typed here for mypy, the base is Any).
    connection: Any

    def __init__(self, settings_dict: dict[str, Any], alias: str = "default") -> None:
        options = dict(settings_dict.get("OPTIONS") or {})
        raw = options.pop("pool", None)
        # Django's own pool (5.1+) reads OPTIONS["pool"] too, and refuses it under psycopg2;
        # this wrapper's copy of the settings does not have it.
        super().__init__({**settings_dict, "OPTIONS": options}, alias)
        self._pool_options = pool_options(alias, raw, settings_dict)
        self._checked_out: tuple[ConnectionPool[Any], weakref.finalize[Any, Any]] | None = None

    @property
    def connection_pool(self) -> ConnectionPool[Any] | None:
        """This alias's pool in this process, ``None`` when pooling is off (or not yet used)."""
        if self._pool_options is None:
            return None
        return self._connection_pools.get(self.alias)

    def _get_connection_pool(self, conn_params: dict[str, Any]) -> ConnectionPool[Any]:
        pool = self._connection_pools.get(self.alias)
        if pool is None:
            # A new connection is made the way Django makes one (its isolation level and
            # JSONB setup included), by a wrapper of the pool's own: holding the wrapper
            # that happens to build the pool would keep it alive, and with it the
            # connection it holds, for the life of the process.
            maker = self.copy()
            connect = partial(django_pg.DatabaseWrapper.get_new_connection, maker, conn_params)
            assert self._pool_options is not None
            built = pg_pool(connect, name=f"django:{self.alias}", **self._pool_options)
            # setdefault: two greenlets building at once keep the same (first) pool; a
            # pool opens no connection when built, so the loser costs nothing.
            pool = self._connection_pools.setdefault(self.alias, built)
        return pool

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        if self._pool_options is None:
            return super().get_new_connection(conn_params)
        pool = self._get_connection_pool(conn_params)
        conn = pool.getconn()
        try:
            self._adopt(conn)
        except BaseException:
            pool.putconn(conn, discard=True)
            raise
        # If this wrapper is garbage collected without close() (a greenlet that died
        # outside a task), the pool learns the connection is lost instead of leaking it.
        finalizer = weakref.finalize(self, pool.lost, conn)
        finalizer.atexit = False
        self._checked_out = (pool, finalizer)
        return conn

    def _adopt(self, conn: Any) -> None:
        """Per-wrapper state Django's get_new_connection sets on a fresh connection."""
        level = self.settings_dict["OPTIONS"].get("isolation_level")
        if level is None:
            self.isolation_level = django_pg.IsolationLevel.READ_COMMITTED
        else:
            self.isolation_level = django_pg.IsolationLevel(level)
            conn.isolation_level = self.isolation_level

    def _close(self) -> None:
        if self._checked_out is None or self.connection is None:
            super()._close()
            return
        pool, finalizer = self._checked_out
        conn, self.connection, self._checked_out = self.connection, None, None
        finalizer.detach()
        with self.wrap_database_errors:
            pool.putconn(conn)

    def close_pool(self) -> None:
        """Close this alias's pool (Celery's fixup does it after each prefork task, Django
        when the time zone setting changes); the next connection builds a new one."""
        pool = self._connection_pools.pop(self.alias, None)
        if pool is not None:
            pool.close()
        parent = getattr(super(), "close_pool", None)  # Django >= 5.1
        if parent is not None:
            parent()
